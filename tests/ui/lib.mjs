// Shared helpers of the browser tests: Debian's Chromium driven by playwright-core (found in
// $SKEP_TEST_UI_NODE_MODULES, installed by scripts/test.d/30-chromium.sh), screenshots, and the
// guard that fails a test when anything injected runs (a dialog, or the marker global that the
// XSS payloads set).
import { createRequire } from "node:module";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const modules = process.env.SKEP_TEST_UI_NODE_MODULES;
if (!modules) {
  throw new Error("SKEP_TEST_UI_NODE_MODULES is not set: run scripts/test.d/30-chromium.sh");
}
const require = createRequire(join(modules, "noop.js"));
const { chromium } = require("playwright-core");

/** The global an injected payload sets; its presence means script ran where it must not. */
export const XSS_MARKER = "__skepXss";

const FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

/**
 * Starts Chromium with a fresh profile. Returns { browser, context, newPage, failures, close }.
 * Every page opened through `newPage` is guarded: a dialog (alert/confirm/prompt) or an uncaught
 * page error is recorded in `failures` (and dialogs are dismissed so the page goes on).
 */
export async function launch({ viewport = { width: 1280, height: 800 } } = {}) {
  const profile = mkdtempSync(join(tmpdir(), "skep-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.SKEP_TEST_CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: FLAGS,
    viewport,
  });
  const failures = [];
  const guard = (page) => {
    page.on("dialog", async (dialog) => {
      failures.push(`a ${dialog.type()} dialog opened: ${dialog.message()}`);
      await dialog.dismiss().catch(() => {});
    });
    page.on("pageerror", (error) => failures.push(`page error: ${error.message}`));
  };
  context.on("page", guard);
  context.pages().forEach(guard);
  return {
    context,
    failures,
    async newPage() {
      const page = await context.newPage();
      return page;
    },
    async close() {
      await context.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Fails when the XSS marker global is set in `page`. */
export async function assertNoMarker(page, where) {
  const marker = await page.evaluate((name) => window[name], XSS_MARKER);
  if (marker !== undefined) {
    throw new Error(`injected script ran on ${where}: ${XSS_MARKER}=${JSON.stringify(marker)}`);
  }
}

/** The folder screenshots go to (SKEP_UI_SCREENSHOTS, else target/ui-screenshots). */
export function screenshotDir() {
  const dir = process.env.SKEP_UI_SCREENSHOTS || join(process.cwd(), "target", "ui-screenshots");
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Saves a full-page screenshot as <dir>/<name>.png; returns its path. */
export async function screenshot(page, name) {
  const path = join(screenshotDir(), `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** Throws with `message` unless `condition`. */
export function check(condition, message) {
  if (!condition) throw new Error(message);
}

/**
 * Runs `body(env)` as a test: prints "ok" lines, exits 1 on the first failure or if any guard
 * failure was recorded. `env` = { base, browser, page, step }.
 */
export async function run(name, body) {
  const base = process.argv[2];
  if (!base) {
    console.error(`usage: node ${name}.mjs <base-url>`);
    process.exit(2);
  }
  const browser = await launch();
  let failed = null;
  try {
    const page = await browser.newPage();
    page.setDefaultTimeout(15000);
    const step = (text) => console.log(`step: ${text}`);
    await body({ base, browser, page, step });
  } catch (error) {
    failed = error;
  }
  await browser.close();
  if (failed) {
    console.error(`FAILED ${name}: ${failed.stack || failed}`);
    process.exit(1);
  }
  if (browser.failures.length > 0) {
    console.error(`FAILED ${name}: ${browser.failures.join("; ")}`);
    process.exit(1);
  }
  console.log(`ok ${name}`);
}
