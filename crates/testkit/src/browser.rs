//! The Rust side of the browser tests: runs `node tests/ui/<script>.mjs <base-url>` (real
//! headless Chromium through playwright-core, see `tests/ui/lib.mjs`) and reports its output.
//!
//! Chromium and the node modules are installed by `scripts/test.d/30-chromium.sh`. When they are
//! missing, [`available`] says why: a test then fails under `CI=true` and skips loudly elsewhere.

use std::path::PathBuf;
use std::process::{Command, Output};

use crate::workspace_root;

/// The node modules folder holding playwright-core: `SKEP_TEST_UI_NODE_MODULES`, else
/// `<workspace>/.test-env/node/node_modules`.
pub fn node_modules() -> PathBuf {
    std::env::var_os("SKEP_TEST_UI_NODE_MODULES")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join(".test-env/node/node_modules"))
}

/// The Chromium binary: `SKEP_TEST_CHROMIUM`, else Debian's `/usr/bin/chromium`.
pub fn chromium() -> PathBuf {
    std::env::var_os("SKEP_TEST_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

/// Where screenshots go: `<workspace>/target/ui-screenshots`.
pub fn screenshot_dir() -> PathBuf {
    workspace_root().join("target/ui-screenshots")
}

/// `Ok(())` when node, Chromium and playwright-core are all present, else what is missing.
pub fn available() -> Result<(), String> {
    let mut missing = Vec::new();
    if !chromium().is_file() {
        missing.push(format!("chromium ({})", chromium().display()));
    }
    if !node_modules().join("playwright-core").is_dir() {
        missing.push(format!("playwright-core ({})", node_modules().display()));
    }
    if Command::new("node").arg("--version").output().is_err() {
        missing.push("node".to_owned());
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(missing.join(", "))
    }
}

/// True when the browser tests can run. Otherwise panics under `CI=true` (a browser test must
/// not pass without a browser) and prints a loud SKIPPED line elsewhere, returning false.
pub fn require(test: &str) -> bool {
    match available() {
        Ok(()) => true,
        Err(missing) => {
            let message = format!(
                "{test}: SKIPPED, missing {missing}; run `bash scripts/test.d/30-chromium.sh` as root"
            );
            if std::env::var("CI").is_ok_and(|value| value == "true") {
                panic!("{message} (CI=true: browser tests must run)");
            }
            eprintln!("{message}");
            false
        }
    }
}

/// Runs `tests/ui/<script>` against `base_url` and waits for it; `env` adds variables.
///
/// # Panics
/// Panics when node cannot be started.
pub fn run_script(script: &str, base_url: &str, env: &[(&str, &str)]) -> Output {
    let root = workspace_root();
    let mut command = Command::new("node");
    command
        .arg(root.join("tests/ui").join(script))
        .arg(base_url)
        .current_dir(&root)
        .env("SKEP_TEST_UI_NODE_MODULES", node_modules())
        .env("SKEP_TEST_CHROMIUM", chromium())
        .env("SKEP_UI_SCREENSHOTS", screenshot_dir());
    for (name, value) in env {
        command.env(name, value);
    }
    command
        .output()
        .unwrap_or_else(|error| panic!("cannot run node tests/ui/{script}: {error}"))
}
