//! Helpers for Skep's tests, and only tests (a dev-dependency, never a normal one): temporary
//! data directories, polling with a deadline instead of sleeping, a cookie-keeping HTTP client,
//! the test Python interpreter that runs the real client libraries, and [`stand_in`] servers for
//! third-party services no test machine can reach, and [`browser`]: running the Chromium tests
//! of `tests/ui/`.
#![warn(missing_docs)]

pub mod browser;
pub mod stand_in;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

/// How often [`wait_until`] re-checks its condition.
const POLL_INTERVAL: Duration = Duration::from_millis(20);

/// Variable that points at the Python interpreter to use instead of the workspace venv.
pub const PYTHON_VARIABLE: &str = "SKEP_TEST_PYTHON";

/// A fresh temporary directory, deleted when dropped: a data directory for one test.
pub fn temp_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("skep-test-")
        .tempdir()
        .expect("the system temporary directory is writable")
}

/// Polls `check` every 20 ms until it answers `true` (returns `true`) or `deadline` has passed
/// (returns `false`). The condition is always checked at least once, and once more at the end.
pub async fn wait_until<F, Fut>(deadline: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let end = tokio::time::Instant::now() + deadline;
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() >= end {
            return false;
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// An HTTP client that keeps cookies between requests, like a browser session.
pub fn cookie_client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .timeout(Duration::from_secs(60))
        .user_agent(concat!("skep-testkit/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("a reqwest client with a cookie store can always be built")
}

/// The raw `Set-Cookie` headers of a response, attributes included (`Secure`, `HttpOnly`, …).
pub fn set_cookie_headers(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .map(|value| value.to_str().expect("cookies are ASCII").to_owned())
        .collect()
}

/// The root of the Cargo workspace.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("skep-testkit lives at <workspace>/crates/testkit")
        .to_path_buf()
}

/// The Python interpreter for the compatibility tests: `SKEP_TEST_PYTHON` if set, else the
/// workspace venv `<workspace>/.test-env/venv/bin/python`.
///
/// # Panics
/// Panics when the interpreter does not exist, telling how to install it.
pub fn python() -> PathBuf {
    let python = std::env::var_os(PYTHON_VARIABLE)
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join(".test-env/venv/bin/python"));
    assert!(
        python.exists(),
        "test Python missing: run ./scripts/test to install it (looked for {})",
        python.display()
    );
    python
}

/// Runs a Python script with the test interpreter and waits for it; `env` adds variables.
///
/// # Panics
/// Panics when the interpreter is missing or cannot be started.
pub fn run_python(script: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let interpreter = python();
    let mut command = Command::new(&interpreter);
    command.arg(script).args(args);
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().unwrap_or_else(|error| {
        panic!(
            "cannot run {} {}: {error}",
            interpreter.display(),
            script.display()
        )
    })
}

/// Formats a process's output for an assertion message.
pub fn describe_output(output: &Output) -> String {
    format!(
        "exit status: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[test]
    fn temp_dirs_exist_and_are_distinct() {
        let first = temp_dir();
        let second = temp_dir();

        assert!(first.path().is_dir());
        assert_ne!(first.path(), second.path());
    }

    #[test]
    fn the_workspace_root_holds_the_workspace_manifest() {
        let manifest = std::fs::read_to_string(workspace_root().join("Cargo.toml")).unwrap();

        assert!(manifest.contains("[workspace]"));
    }

    #[tokio::test]
    async fn wait_until_returns_true_once_the_condition_holds() {
        let calls = Arc::new(AtomicU32::new(0));

        let met = wait_until(Duration::from_secs(10), || {
            let calls = calls.clone();
            async move { calls.fetch_add(1, Ordering::SeqCst) >= 2 }
        })
        .await;

        assert!(met);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn wait_until_returns_false_when_the_deadline_passes() {
        let met = wait_until(Duration::from_millis(50), || async { false }).await;

        assert!(!met);
    }

    #[test]
    fn a_cookie_client_can_be_built() {
        let _client = cookie_client();
    }

    #[test]
    fn the_test_python_runs_scripts_with_arguments_and_environment() {
        let dir = temp_dir();
        let script = dir.path().join("echo.py");
        std::fs::write(
            &script,
            "import os, sys\nprint(sys.argv[1], os.environ['SKEP_X'])\n",
        )
        .unwrap();

        let output = run_python(&script, &["hello"], &[("SKEP_X", "world")]);

        assert!(output.status.success(), "{}", describe_output(&output));
        assert_eq!(
            String::from_utf8_lossy(&output.stdout).trim(),
            "hello world"
        );
    }
}
