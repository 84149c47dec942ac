// The analyst's case workflow in the cases UI, on a fresh service: first run, a case template,
// a case from it, an ip and a mail observable, the `mail:` tag, the description edited in place,
// an alert promoted to a case, and every step seen in the activity feed of a second tab that is
// never reloaded. Screenshots of the case list, a case page and the dashboard (1280×800) and of
// the case list at 390 px. Run by services/cases/tests/ui.rs: node cases_workflow.mjs <base-url>.
import { run, check, screenshot } from "./lib.mjs";

const ADMIN = { login: "admin", password: "correct horse battery" };

async function submit(page, button) {
  await Promise.all([page.waitForNavigation(), page.click(button)]);
}

async function flash(page) {
  const text = await page.locator(".flash").first().textContent().catch(() => "");
  return (text || "").trim();
}

run("cases_workflow", async ({ base, browser, page, step }) => {
  step("first run: Update Database");
  await page.goto(`${base}/`);
  check(page.url().endsWith("/first-run"), `a fresh service opens the first run, not ${page.url()}`);
  await submit(page, "#update-database");
  check((await flash(page)).includes("database is ready"), "the database was initialised");

  step("first run: the first administrator");
  await page.fill('input[name="login"]', ADMIN.login);
  await page.fill('input[name="name"]', "Ada Admin");
  await page.fill('input[name="password"]', ADMIN.password);
  await page.fill('input[name="password_again"]', ADMIN.password);
  await submit(page, "form[action='/first-run/admin'] button[type=submit]");
  check(page.url().includes("/login"), `after the first admin comes the login, not ${page.url()}`);

  step("login");
  await page.fill('input[name="user"]', ADMIN.login);
  await page.fill('input[name="password"]', ADMIN.password);
  await submit(page, "form[action='/login'] button[type=submit]");
  check(page.url().endsWith("/cases"), `login leads to the case list, not ${page.url()}`);
  check((await page.textContent("header")).includes("Ada Admin"), "the header names the user");

  step("the activity feed opens in a second tab, live");
  const feed = await browser.newPage();
  feed.setDefaultTimeout(15000);
  await feed.goto(`${base}/activity`);
  await feed.evaluate(() => { window.__notReloaded = true; });
  await feed.waitForFunction(() => document.getElementById("feed-state").textContent === "live");
  const feedHas = async (text) => {
    await feed.waitForFunction(
      (wanted) => Array.from(document.querySelectorAll("#feed .feed-item")).some((item) => item.textContent.includes(wanted)),
      text,
    );
  };

  step("a case template with tasks");
  await page.goto(`${base}/admin/templates`);
  await page.fill('input[name="name"]', "Phishing");
  await page.fill('input[name="titlePrefix"]', "[Phishing]");
  await page.fill('input[name="tags"]', "phishing");
  await page.fill('textarea[name="tasks"]', "Triage the mail\nBlock the sender");
  await submit(page, "form[action='/admin/templates'] button[type=submit]");
  check((await page.textContent("#template-list")).includes("Block the sender"), "the template lists its tasks");

  step("a case from the template");
  await page.goto(`${base}/cases/new`);
  await page.selectOption("#template", "Phishing");
  await page.fill("#title", "Reported mail from reporter");
  await page.fill('textarea[name="description"]', "A user reported a **suspicious** mail.");
  await submit(page, "form[action='/cases'] button[type=submit]");
  const caseUrl = page.url();
  check(/\/cases\/[^/]+$/.test(caseUrl), `creating a case shows it, not ${caseUrl}`);
  check((await page.textContent("h1")).includes("[Phishing] Reported mail from reporter"), "the template's prefix is in the title");
  check((await page.textContent("#description strong")) === "suspicious", "the description is rendered from Markdown");
  check((await page.textContent("nav.tabs")).includes("Tasks 2"), "the template's two tasks were created");
  await feedHas("created case #1 [Phishing] Reported mail from reporter");

  step("an ip and a mail observable");
  await page.goto(`${caseUrl}/observables`);
  await page.selectOption("#data-type", "ip");
  await page.fill("#observable-values", "203.0.113.7");
  await page.fill('#observable-form input[name="tags"]', "sender-ip");
  await submit(page, "#observable-form button[type=submit]");
  check((await flash(page)).includes("1 observable(s) added"), `the ip was added: ${await flash(page)}`);
  await page.selectOption("#data-type", "mail");
  await page.fill("#observable-values", "reporter@example.org\nattacker@example.net");
  await page.fill('#observable-form input[name="message"]', "addresses of the mail");
  await page.check('#observable-form input[name="ioc"]');
  await submit(page, "#observable-form button[type=submit]");
  check((await flash(page)).includes("2 observable(s) added"), `the mails were added: ${await flash(page)}`);
  const observables = await page.textContent("#observable-list");
  check(observables.includes("203.0.113.7") && observables.includes("reporter@example.org"), "both observables are listed");
  check((await page.textContent("nav.tabs")).includes("Observables 3"), "the tab counts the observables");
  await feedHas("created observable ip 203.0.113.7");
  await feedHas("created observable mail");

  step("the mail: tag");
  await page.goto(caseUrl);
  const tags = await page.inputValue("#tags");
  await page.fill("#tags", `${tags}, mail:reporter@example.org`);
  await submit(page, "#tags-form button[type=submit]");
  check((await page.textContent(".case-meta + p")).includes("mail:reporter@example.org"), "the case shows the new tag");
  await feedHas("(tags)");

  step("the description edited in place");
  await page.click("#description");
  check(await page.evaluate(() => document.getElementById("description-edit").open), "clicking the description opens its editor");
  await page.fill("#description-source", "Reply sent to the reporter: *not* a threat, [see](https://example.org/faq).");
  await submit(page, "#description-edit button[type=submit]");
  check((await page.textContent("#description em")) === "not", "the new description is rendered");
  await feedHas("(description)");
  await screenshot(page, "cases-case-page");

  step("an alert arrives and is promoted to a case");
  const created = await page.evaluate(async () => {
    const token = document.cookie.split("; ").find((c) => c.startsWith("THE-HIVE-XSRF-TOKEN=")).split("=")[1];
    const response = await fetch("/api/alert", {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-THE-HIVE-XSRF-TOKEN": token },
      body: JSON.stringify({
        title: "Mail reported by reporter@example.org", description: "Forwarded by the **mail** feeder",
        type: "external", source: "mail", sourceRef: "msg-1", severity: 3, tags: ["reported"],
        artifacts: [{ dataType: "ip", data: "203.0.113.7", message: "sender" }],
      }),
    });
    return response.status;
  });
  check(created === 201, `the alert was created (${created})`);
  await feedHas("created alert Mail reported by reporter@example.org");
  await page.goto(`${base}/alerts`);
  await submit(page, "#alert-list a");
  check((await page.textContent("#similar-cases")).includes("Reported mail from reporter"), "the preview shows the similar case");
  await page.selectOption('form[action$="/import"] select[name="template"]', "Phishing");
  await submit(page, "#import-alert");
  check((await page.textContent("h1")).includes("[Phishing] Mail reported by reporter@example.org"), "the alert became a case from the template");
  await feedHas("created case #2 [Phishing] Mail reported by reporter@example.org");

  step("the feed was never reloaded");
  check(await feed.evaluate(() => window.__notReloaded === true), "the activity tab was not reloaded");
  const feedItems = await feed.locator("#feed .feed-item").count();
  check(feedItems >= 7, `the feed shows every step (${feedItems} items)`);
  await screenshot(feed, "cases-activity");

  step("screenshots: case list, dashboard, narrow screen");
  await page.goto(`${base}/cases`);
  check((await page.textContent("#case-list")).includes("Reported mail from reporter"), "the list shows the case");
  await screenshot(page, "cases-case-list");
  await page.goto(`${base}/dashboard`);
  check((await page.locator("figure.chart svg").count()) === 4, "the dashboard draws four charts");
  check((await page.textContent("#kpi-open-cases")).trim() === "2", "two cases are open");
  await screenshot(page, "cases-dashboard");
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`${base}/cases`);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(overflow <= 1, `the case list fits a 390 px screen (overflow ${overflow} px)`);
  await screenshot(page, "cases-case-list-390");
});
