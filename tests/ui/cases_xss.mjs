// Stored XSS in the cases UI: services/cases/tests/ui.rs stores a case, a task log with an
// attachment, observables and an alert whose every mail-fillable field carries script payloads
// (title, Markdown description with raw HTML and javascript: links, tags, observable data,
// attachment names), logs in and passes the pages to visit. On each page nothing may run (no
// dialog, no page error, no marker global), no javascript: link may exist, and the payload
// text of the title must be shown as text (escaped, not dropped).
// Run: node cases_xss.mjs <base-url> <login> <password> <path> [<path> …]
import { run, check, assertNoMarker } from "./lib.mjs";

run("cases_xss", async ({ base, page, step }) => {
  const [login, password, ...paths] = process.argv.slice(3);
  check(paths.length > 0, "pages to visit are given");
  await page.goto(`${base}/login`);
  await page.fill('input[name="user"]', login);
  await page.fill('input[name="password"]', password);
  await Promise.all([page.waitForNavigation(), page.click("form[action='/login'] button[type=submit]")]);
  check(page.url().endsWith("/cases"), `logged in (${page.url()})`);
  for (const path of paths) {
    step(`visit ${path}`);
    const response = await page.goto(`${base}${path}`);
    check(response.status() === 200, `${path} answers 200 (${response.status()})`);
    // Give deferred scripts, event handlers and the live feed a moment to run anything injected.
    await page.waitForLoadState("load");
    await page.waitForTimeout(300);
    await assertNoMarker(page, path);
    const javascriptLinks = await page.locator('a[href^="javascript:" i], [href*="javascript:" i]').count();
    check(javascriptLinks === 0, `${path} has no javascript: link`);
    const handlers = await page.evaluate(() =>
      Array.from(document.querySelectorAll("*")).flatMap((element) =>
        Array.from(element.attributes).filter((attribute) => attribute.name.startsWith("on")).map((attribute) => `${element.tagName} ${attribute.name}`)));
    check(handlers.length === 0, `${path} has no event handler attribute: ${handlers.join(", ")}`);
    const scripts = await page.evaluate(() => Array.from(document.scripts).filter((s) => !s.src).length);
    check(scripts === 0, `${path} has no inline script element`);
    // Every link that runs the payloads' click targets, clicked: still nothing runs.
    for (const link of await page.locator("main a[href^='https://example.org/xss']").all()) {
      await link.click({ modifiers: ["Control"] }).catch(() => {});
    }
    await assertNoMarker(page, `${path} after clicks`);
    if (path === "/cases" || path.startsWith("/cases/") || path.startsWith("/alerts")) {
      const text = await page.textContent("main");
      check(text.includes("<img src=x onerror"), `${path} shows the payload as text`);
    }
  }
});
