// The seed's engine steps, clicked in the engine UI on a fresh engine: Update Database, first
// superadmin, organisation `soc` and its orgAdmin, an analyst with an API key used against the
// API, Analyzers Config, enabling a built-in analyzer and the Mailer, a New Analysis and its
// taxonomy; then a `read` user sees no Analyze button and another organisation's orgAdmin sees
// none of `soc`'s objects. Screenshots of the main pages go to the screenshot folder.
import { run, check, screenshot, assertNoMarker } from "./lib.mjs";

await run("engine_walk", async ({ base, page, step }) => {
  const flash = async () => (await page.locator(".flash").first().textContent()).trim();
  const submit = (form) => Promise.all([page.waitForNavigation(), form.locator('button[type="submit"]').first().click()]);
  const login = async (user, password) => {
    await page.goto(`${base}/login`);
    await page.fill('input[name="user"]', user);
    await page.fill('input[name="password"]', password);
    await Promise.all([page.waitForNavigation(), page.click('button:has-text("Log in")')]);
    check(!(await page.url()).endsWith("/login"), `login as ${user} failed: ${await page.content()}`);
  };
  const logout = async () => {
    await Promise.all([page.waitForNavigation(), page.click('button:has-text("Log out")')]);
    check(page.url().endsWith("/login"), `logout leads to the login page, not ${page.url()}`);
  };

  step("first run: Update Database");
  await page.goto(base + "/");
  await screenshot(page, "engine-first-run");
  await Promise.all([page.waitForNavigation(), page.click('button:has-text("Update Database")')]);
  check((await flash()).includes("up to date"), "the database update is confirmed");

  step("first run: the superadmin");
  await page.fill('input[name="login"]', "admin");
  await page.fill('input[name="name"]', "Administrator");
  await page.fill('input[name="password"]', "admin-password");
  await page.fill('input[name="confirm"]', "admin-password");
  await Promise.all([page.waitForNavigation(), page.click('button:has-text("Create the administrator")')]);
  check(page.url().endsWith("/login"), `after creating the admin: ${page.url()}`);
  await login("admin", "admin-password");
  check(page.url().endsWith("/organizations"), `a superadmin starts on organisations: ${page.url()}`);

  step("organisation soc and its orgAdmin; organisation other and its orgAdmin");
  for (const [org, admin] of [["soc", "soc-admin"], ["other", "other-admin"]]) {
    await page.goto(`${base}/organizations`);
    const form = page.locator('form[action="/organizations"]');
    await form.locator('input[name="name"]').fill(org);
    await form.locator('input[name="description"]').fill(`${org} team`);
    await submit(form);
    check(page.url().endsWith(`/organizations/${org}`), `organisation page of ${org}: ${page.url()}`);
    const userForm = page.locator('form[action="/users"][method="post"]');
    await userForm.locator('input[name="login"]').fill(admin);
    await userForm.locator('input[name="name"]').fill(`${org} admin`);
    await userForm.locator('select[name="preset"]').selectOption("orgadmin");
    await userForm.locator('input[name="password"]').fill(`${admin}-pw`);
    await submit(userForm);
    check((await flash()).includes(`User ${admin} created`), `user ${admin} created: ${await flash()}`);
    check((await page.locator("dl.props").first().textContent()).includes("read, analyze, orgadmin"), "orgadmin roles");
  }
  await page.goto(`${base}/organizations`);
  await screenshot(page, "engine-organizations");
  await logout();

  step("orgAdmin of soc creates an analyst and a reader");
  await login("soc-admin", "soc-admin-pw");
  check(page.url().endsWith("/users"), `an orgadmin starts on users: ${page.url()}`);
  for (const [login_, preset] of [["analyst", "analyze"], ["reader", "read"]]) {
    await page.goto(`${base}/users`);
    const form = page.locator('form[action="/users"][method="post"]');
    await form.locator('input[name="login"]').fill(login_);
    await form.locator('input[name="name"]').fill(`The ${login_}`);
    await form.locator('select[name="preset"]').selectOption(preset);
    await form.locator('input[name="password"]').fill(`${login_}-pw`);
    await submit(form);
    check(page.url().endsWith(`/users/${login_}`), `user page of ${login_}: ${page.url()}`);
  }

  step("Create API key, then Reveal, and use it against the API");
  await page.goto(`${base}/users/analyst`);
  await Promise.all([page.waitForNavigation(), page.click('button:has-text("Create API key")')]);
  const created = (await page.locator("#api-key").textContent()).trim();
  check(created.length >= 20, `a key is shown: ${created}`);
  await page.goto(`${base}/users/analyst`);
  check((await page.locator("#api-key").count()) === 0, "the key is not shown until revealed");
  await Promise.all([page.waitForNavigation(), page.click('button:has-text("Reveal")')]);
  const revealed = (await page.locator("#api-key").textContent()).trim();
  check(revealed === created, "Reveal shows the key that was created");
  await screenshot(page, "engine-user");
  await page.goto(`${base}/users/reader`);
  await Promise.all([page.waitForNavigation(), page.click('button:has-text("Create API key")')]);
  await Promise.all([page.waitForNavigation(), page.click('button:has-text("Revoke")')]);
  check((await flash()).includes("API key revoked"), `revoked: ${await flash()}`);
  check((await page.locator("main").textContent()).includes("This user has no API key."), "the key is gone");
  const me = await fetch(`${base}/api/user/current`, { headers: { Authorization: `Bearer ${revealed}` } });
  check(me.status === 200, `the revealed key authenticates: ${me.status}`);
  const meJson = await me.json();
  check(meJson.id === "analyst" || meJson.login === "analyst", `the key is the analyst's: ${JSON.stringify(meJson)}`);
  check(meJson.organization === "soc", "the analyst belongs to soc");
  await page.goto(`${base}/users`);
  await screenshot(page, "engine-users");

  step("Analyzers Config: the VirusTotal key once for the family");
  await page.goto(`${base}/workers/analyzer/config`);
  const vt = page.locator('form[data-config="VirusTotal"]');
  await vt.locator('input[name="cfg.key"]').fill("vt-family-key");
  await submit(vt);
  check((await flash()).includes("Configuration VirusTotal saved"), `base config saved: ${await flash()}`);
  check((await page.locator('form[data-config="VirusTotal"] input[name="cfg.key"]').inputValue()) === "vt-family-key", "the saved value is shown");
  await screenshot(page, "engine-analyzers-config");

  step("enable built-in analyzers: the catalog search box, the generated form");
  await page.goto(`${base}/workers/analyzer`);
  await page.fill('input[data-filter="definitions"]', "virustotal getreport");
  check(await page.locator('#definitions li:has-text("VirusTotal_GetReport")').isVisible(), "the search keeps VirusTotal_GetReport");
  check(!(await page.locator('#definitions li:has-text("ObservableSanity")').isVisible()), "the search hides the others");
  await screenshot(page, "engine-analyzers-catalog");
  await Promise.all([page.waitForNavigation(), page.click('a[aria-label="Enable VirusTotal_GetReport"]')]);
  check((await page.locator('input[name="cfg.key"]').inputValue()) === "vt-family-key", "the enable form inherits the family's key");
  check((await page.locator('label:has(input[name="cfg.key"]) .required').count()) === 1, "required items are marked");
  check((await page.locator('input[name="cfg.check_tlp"]').count()) === 1, "TLP limits are offered");
  await page.fill('input[name="rate"]', "100");
  await page.selectOption('select[name="rateUnit"]', "Day");
  await screenshot(page, "engine-enable-form");
  await Promise.all([page.waitForNavigation(), page.click('button:has-text("Enable")')]);
  check((await flash()).includes("enabled"), `VirusTotal enabled: ${await flash()}`);
  await Promise.all([page.waitForNavigation(), page.click('a[aria-label="Enable ObservableSanity"]')]);
  await Promise.all([page.waitForNavigation(), page.click('button:has-text("Enable")')]);
  check(/ObservableSanity\S* enabled/.test(await flash()), `ObservableSanity enabled: ${await flash()}`);
  const enabledText = await page.locator("#enabled-workers").textContent();
  check(enabledText.includes("ObservableSanity") && enabledText.includes("VirusTotal_GetReport"), "both are listed as enabled");

  step("edit a worker's rate limit, then enable and disable a second one");
  await Promise.all([page.waitForNavigation(), page.click('#enabled-workers tr:has-text("VirusTotal_GetReport") a:has-text("Edit")')]);
  check((await page.locator('input[name="rate"]').inputValue()) === "100", "the edit form shows the saved rate");
  await page.fill('input[name="rate"]', "250");
  await Promise.all([page.waitForNavigation(), page.click('button:has-text("Save")')]);
  check((await flash()).includes("saved"), `worker saved: ${await flash()}`);
  await Promise.all([page.waitForNavigation(), page.click('#enabled-workers tr:has-text("VirusTotal_GetReport") a:has-text("Edit")')]);
  check((await page.locator('input[name="rate"]').inputValue()) === "250", "the new rate is stored");
  await page.goto(`${base}/workers/analyzer`);
  await Promise.all([page.waitForNavigation(), page.click('a[aria-label="Enable AbuseIPDB"]')]);
  await page.fill('input[name="cfg.key"]', "abuse-key");
  await Promise.all([page.waitForNavigation(), page.click('button:has-text("Enable")')]);
  await Promise.all([page.waitForNavigation(), page.click('button[aria-label^="Disable AbuseIPDB"]')]);
  check((await flash()).includes("Disabled"), `disabled: ${await flash()}`);
  check(!(await page.locator("#enabled-workers").textContent()).includes("AbuseIPDB"), "a disabled worker leaves the list");

  step("enable the Mailer responder");
  await page.goto(`${base}/workers/responder`);
  await Promise.all([page.waitForNavigation(), page.click('a[aria-label="Enable SkepMailer"]')]);
  await page.fill('input[name="cfg.from"]', "soc@example.org");
  await page.fill('input[name="cfg.smtp_host"]', "127.0.0.1");
  await page.fill('input[name="cfg.smtp_port"]', "2525");
  await Promise.all([page.waitForNavigation(), page.click('button:has-text("Enable")')]);
  check(/SkepMailer\S* enabled/.test(await flash()), `Mailer enabled: ${await flash()}`);
  await logout();

  step("the analyst changes their password");
  await login("analyst", "analyst-pw");
  check(page.url().endsWith("/jobs"), `an analyst starts on jobs: ${page.url()}`);
  await page.goto(`${base}/account`);
  await page.fill('input[name="current"]', "analyst-pw");
  await page.fill('input[name="password"]', "analyst-pw-2");
  await page.fill('input[name="confirm"]', "analyst-pw-2");
  await Promise.all([page.waitForNavigation(), page.click('button:has-text("Change password")')]);
  check((await flash()).includes("Password changed"), `password changed: ${await flash()}`);
  await logout();
  await page.goto(`${base}/login`);
  await page.fill('input[name="user"]', "analyst");
  await page.fill('input[name="password"]', "analyst-pw");
  await Promise.all([page.waitForNavigation(), page.click('button:has-text("Log in")')]);
  check((await flash()).includes("Wrong login or password"), "the old password no longer works");
  await login("analyst", "analyst-pw-2");

  step("the analyst runs a New Analysis and sees its taxonomy");
  await page.goto(`${base}/analyze?dataType=ip`);
  check((await page.locator('input[type="checkbox"][name^="analyzer_"]').count()) === 2, "two analyzers accept ip");
  await page.fill('textarea[name="data"]', "10.1.2.3");
  await page.check('label:has-text("ObservableSanity") input[type="checkbox"]');
  await screenshot(page, "engine-new-analysis");
  await Promise.all([page.waitForNavigation(), page.click('button:has-text("Start")')]);
  check(/\/jobs\/[^/]+$/.test(page.url()), `one job leads to its page: ${page.url()}`);
  const jobUrl = page.url();
  // The page refreshes itself while the job runs (data-live); wait for the label to appear.
  await page.locator(".taxonomies .tax").first().waitFor({ timeout: 60000 });
  const label = await page.locator(".taxonomies .tax").first();
  const labelText = await label.textContent();
  check(labelText.includes("ObservableSanity") || labelText.includes(":"), `a taxonomy label: ${labelText}`);
  check(/tax-(info|safe|suspicious|malicious)/.test(await label.getAttribute("class")), "the label is coloured by level");
  check((await page.locator(".status").first().textContent()).trim() === "Success", "the job succeeded");
  check((await page.locator(".json-view .jv-row").count()) > 0, "the full report is shown as a JSON view");
  await page.fill("input[data-json-search]", "10.1.2.3");
  check((await page.locator(".json-view .jv-hit").count()) > 0, "the report search finds the value");
  await screenshot(page, "engine-job");
  await page.setViewportSize({ width: 390, height: 844 });
  await page.reload();
  await screenshot(page, "engine-job-390px");
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.goto(`${base}/jobs`);
  check((await page.locator("#jobs tbody tr").count()) === 1, "the history lists the job");
  await screenshot(page, "engine-jobs");
  await logout();

  step("a read-only user sees no Analyze button");
  await login("reader", "reader-pw");
  await page.goto(`${base}/jobs`);
  check((await page.locator("#jobs tbody tr").count()) === 1, "the reader sees the organisation's job");
  check((await page.locator('a[href="/analyze"]').count()) === 0, "no New Analysis link for read");
  const refused = await page.goto(`${base}/analyze`);
  check(refused.status() === 403, `New Analysis is refused to read: ${refused.status()}`);
  await page.goto(`${base}/jobs`);
  await logout();

  step("the orgAdmin of another organisation sees none of soc's objects");
  await login("other-admin", "other-admin-pw");
  await page.goto(`${base}/users`);
  const users = await page.locator("#user-list").textContent();
  check(!users.includes("analyst") && !users.includes("soc-admin"), `no soc user listed: ${users}`);
  for (const path of ["/users/analyst", "/organizations/soc", new URL(jobUrl).pathname]) {
    const response = await page.goto(base + path);
    check(response.status() === 404, `${path} answers 404 to another organisation: ${response.status()}`);
  }
  await page.goto(`${base}/jobs`);
  check((await page.locator("#jobs tbody tr").count()) === 0, "no soc job listed");
  await page.goto(`${base}/workers/analyzer`);
  check((await page.locator("#enabled-workers").count()) === 0, "no soc worker listed");
  await assertNoMarker(page, "the walk");
});
