// The orgAdmin's catalog pages over the real Cortex-Analyzers catalog (275 analyzers, 156
// responders): totals, the server-side search, paging, and the search box filtering as one
// types. Env: SKEP_UI_LOGIN, SKEP_UI_PASSWORD.
import { run, check, screenshot, assertNoMarker } from "./lib.mjs";

await run("engine_catalog", async ({ base, page, step }) => {
  step("log in as the orgAdmin");
  await page.goto(`${base}/login`);
  await page.fill('input[name="user"]', process.env.SKEP_UI_LOGIN);
  await page.fill('input[name="password"]', process.env.SKEP_UI_PASSWORD);
  await Promise.all([page.waitForNavigation(), page.click('button:has-text("Log in")')]);

  for (const [kind, atLeast] of [["analyzer", 275], ["responder", 156]]) {
    step(`the ${kind} catalog`);
    await page.goto(`${base}/workers/${kind}`);
    const label = await page.locator('label:has(input[data-filter="definitions"])').textContent();
    const total = Number(/Search the (\d+) matching/.exec(label)[1]);
    check(total >= atLeast, `${kind}s: ${total} definitions listed, expected at least ${atLeast}`);
    check((await page.locator("#definitions > li").count()) === 50, "a page holds 50 definitions");
    check((await page.locator('.pager a[rel="next"]').count()) === 1, "a next page exists");
  }

  step("server-side search, then the search box");
  await page.goto(`${base}/workers/analyzer?q=shodan`);
  const names = await page.locator("#definitions h3").allTextContents();
  check(names.length >= 3 && names.every((name) => /shodan/i.test(name)), `only Shodan analyzers: ${names}`);
  await page.goto(`${base}/workers/analyzer`);
  await page.fill('input[data-filter="definitions"]', "abuseipdb");
  const shown = await page.locator("#definitions > li:visible h3").allTextContents();
  check(shown.length >= 1 && shown.every((name) => /abuseipdb/i.test(name)), `the box filters as one types: ${shown}`);
  check((await page.locator("#definitions-count").textContent()).trim() === String(shown.length), "the counter follows");
  await screenshot(page, "engine-catalog-search");
  await assertNoMarker(page, "the catalog");
});
