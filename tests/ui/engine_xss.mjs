// Stored XSS: a job whose data, taxonomies, report and artifacts carry script payloads
// (<script>, onerror=, javascript: links, Markdown links) is viewed in the jobs history and on
// its page, its report searched; nothing may execute (no dialog, no marker global, no page
// error) and every payload must show as text. Env: SKEP_UI_LOGIN, SKEP_UI_PASSWORD, SKEP_UI_JOB.
import { run, check, screenshot, assertNoMarker } from "./lib.mjs";

await run("engine_xss", async ({ base, page, step }) => {
  const job = process.env.SKEP_UI_JOB;
  step("log in");
  await page.goto(`${base}/login`);
  await page.fill('input[name="user"]', process.env.SKEP_UI_LOGIN);
  await page.fill('input[name="password"]', process.env.SKEP_UI_PASSWORD);
  await Promise.all([page.waitForNavigation(), page.click('button:has-text("Log in")')]);

  step("the jobs history");
  await page.goto(`${base}/jobs`);
  const row = await page.locator("#jobs tbody").textContent();
  check(row.includes("<script>"), `the payload shows as text in the list: ${row}`);
  await assertNoMarker(page, "/jobs");

  step("the job page, its taxonomies, artifacts and report");
  const response = await page.goto(`${base}/jobs/${job}`);
  check(response.status() === 200, `job page: ${response.status()}`);
  const csp = response.headers()["content-security-policy"] || "";
  check(csp.includes("script-src 'self'"), `a strict CSP is sent: ${csp}`);
  await page.waitForTimeout(500);
  const text = await page.locator("main").textContent();
  for (const payload of ["<script>", "onerror=", "javascript:", "[click](javascript:"]) {
    check(text.includes(payload), `the payload ${payload} shows as text`);
  }
  check((await page.locator('main script, main img, main iframe, main [onerror], main [onclick]').count()) === 0, "no payload became an element");
  check((await page.locator('a[href^="javascript:"]').count()) === 0, "no javascript: link exists");
  await page.fill("input[data-json-search]", "script");
  check((await page.locator(".json-view .jv-hit").count()) > 0, "the search finds the payloads");
  await page.locator(".json-view summary").first().click();
  await page.locator(".json-view summary").first().click();
  await screenshot(page, "engine-xss-job");
  await assertNoMarker(page, `/jobs/${job}`);

  step("a failed job's error");
  await page.goto(`${base}/jobs/${process.env.SKEP_UI_FAILED_JOB}`);
  const error = await page.locator("pre.error").textContent();
  check(error.includes("worker failed: <script>") && error.includes("onerror="), `the error shows as text: ${error}`);
  check((await page.locator("main script, main img").count()) === 0, "no payload became an element");
  await assertNoMarker(page, "the failed job");
});
