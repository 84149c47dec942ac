//! The `skep` binary as an operator runs it: first start on a fresh data directory, logins with
//! the printed passwords, a graceful stop on SIGINT, a second start that re-creates nothing,
//! `--help`/`--check-config`, and `skep backup` of a running platform.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::{Value, json};

/// A launcher process and the lines it printed up to `ready`.
struct Launcher {
    child: Child,
    lines: Vec<String>,
    rest: mpsc::Receiver<String>,
}

impl Launcher {
    /// Starts `skep` on `data_dir` with both services on free ports, and waits until it says
    /// it is ready.
    fn start(data_dir: &Path, extra: &[(&str, &str)]) -> Launcher {
        let mut command = Command::new(env!("CARGO_BIN_EXE_skep"));
        command
            .env_remove("SKEP_CONFIG")
            .env("SKEP_DATA_DIR", data_dir)
            .env("SKEP_CASES__HTTP__PORT", "0")
            .env("SKEP_ENGINE__HTTP__PORT", "0")
            .env("SKEP_CASES__HTTP__BASIC_AUTH", "true")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped());
        for (name, value) in extra {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("the skep binary starts");
        let stdout = child.stdout.take().expect("stdout is piped");
        let (sender, receiver) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let mut lines = Vec::new();
        loop {
            let line = receiver
                .recv_timeout(Duration::from_secs(120))
                .unwrap_or_else(|_| panic!("skep never said ready; it printed {lines:?}"));
            let ready = line.starts_with("ready");
            lines.push(line);
            if ready {
                break;
            }
        }
        Launcher {
            child,
            lines,
            rest: receiver,
        }
    }

    fn url(&self, service: &str) -> String {
        let prefix = format!("skep {service}");
        let line = self
            .lines
            .iter()
            .find(|line| line.starts_with(&prefix) && line.contains("http://"))
            .unwrap_or_else(|| panic!("no {service} URL in {:?}", self.lines));
        line[line.find("http://").unwrap()..].trim().to_owned()
    }

    /// The password printed for `service` (`cases` or `engine`), if any.
    fn password(&self, service: &str) -> Option<String> {
        let prefix = format!("skep {service}: first");
        let line = self.lines.iter().find(|line| line.starts_with(&prefix))?;
        let after = line.split("password `").nth(1)?;
        Some(after.split('`').next()?.to_owned())
    }

    /// Sends `signal` and waits for the process to end; returns whether it exited with 0 and
    /// what it printed after `ready`.
    fn stop(mut self, signal: Signal) -> (bool, Vec<String>) {
        kill(Pid::from_raw(self.child.id() as i32), signal).unwrap();
        let status = self.child.wait().unwrap();
        (status.success(), self.rest.try_iter().collect())
    }
}

async fn login(url: &str, password: &str) -> reqwest::Client {
    let client = skep_testkit::cookie_client();
    let response = client
        .post(format!("{url}/api/login"))
        .json(&json!({"user": "admin", "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "login at {url}");
    client
}

async fn get_json(client: &reqwest::Client, url: String) -> Value {
    let response = client.get(&url).send().await.unwrap();
    assert_eq!(response.status(), 200, "GET {url}");
    response.json().await.unwrap()
}

#[tokio::test]
async fn a_second_start_reuses_the_data_directory_and_prints_no_password() {
    let data_dir = skep_testkit::temp_dir();

    let first = Launcher::start(data_dir.path(), &[]);
    let (cases_url, engine_url) = (first.url("cases"), first.url("engine"));
    let cases_password = first.password("cases").expect("cases password printed");
    let engine_password = first.password("engine").expect("engine password printed");
    let cases = login(&cases_url, &cases_password).await;
    let engine = login(&engine_url, &engine_password).await;
    let cases_admin = get_json(&cases, format!("{cases_url}/api/user/current")).await;
    let engine_admin = get_json(&engine, format!("{engine_url}/api/user/current")).await;
    let created: Value = skep_testkit::cookie_client()
        .post(format!("{cases_url}/api/case"))
        .basic_auth("admin", Some(&cases_password))
        .json(&json!({"title": "kept across restarts", "description": "d"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let case_id = created["_id"]
        .as_str()
        .expect("the case has an id")
        .to_owned();
    let (clean, after) = first.stop(Signal::SIGINT);
    assert!(clean, "skep exits with 0 on SIGINT");
    assert!(after.iter().any(|line| line == "stopped"), "{after:?}");

    let second = Launcher::start(data_dir.path(), &[]);
    let (cases_url, engine_url) = (second.url("cases"), second.url("engine"));
    assert!(
        !second.lines.iter().any(|line| line.contains("password")),
        "a second start prints no password: {:?}",
        second.lines
    );
    let cases = login(&cases_url, &cases_password).await;
    let engine = login(&engine_url, &engine_password).await;
    let cases_admin_again = get_json(&cases, format!("{cases_url}/api/user/current")).await;
    let engine_admin_again = get_json(&engine, format!("{engine_url}/api/user/current")).await;
    assert_eq!(cases_admin_again["createdAt"], cases_admin["createdAt"]);
    assert_eq!(engine_admin_again["createdAt"], engine_admin["createdAt"]);
    let case = get_json(&cases, format!("{cases_url}/api/case/{case_id}")).await;
    assert_eq!(case["title"], "kept across restarts");
    let users = skep_testkit::cookie_client()
        .post(format!("{cases_url}/api/user/_search"))
        .basic_auth("admin", Some(&cases_password))
        .json(&json!({"query": {}}))
        .send()
        .await
        .unwrap();
    let users: Value = users.json().await.unwrap();
    assert_eq!(users.as_array().map(Vec::len), Some(1), "{users}");
    let (clean, _) = second.stop(Signal::SIGTERM);
    assert!(clean, "skep exits with 0 on SIGTERM");
}

#[tokio::test]
async fn a_request_in_flight_when_ctrl_c_arrives_is_answered_before_the_stop() {
    let data_dir = skep_testkit::temp_dir();
    let launcher = Launcher::start(
        data_dir.path(),
        &[("SKEP_CASES__STREAM__REFRESH_SECONDS", "3")],
    );
    let cases_url = launcher.url("cases");
    let password = launcher.password("cases").unwrap();
    let client = skep_testkit::cookie_client();
    let stream = client
        .post(format!("{cases_url}/api/stream"))
        .basic_auth("admin", Some(&password))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let stream = stream.trim_matches('"').to_owned();

    // A long poll: the service holds it for up to `refresh_seconds` before answering `[]`.
    let poll = tokio::spawn(
        client
            .get(format!("{cases_url}/api/stream/{stream}"))
            .basic_auth("admin", Some(&password))
            .send(),
    );
    tokio::time::sleep(Duration::from_millis(700)).await;
    let stopper = tokio::task::spawn_blocking(move || launcher.stop(Signal::SIGINT));

    let response = poll.await.unwrap().expect("the poll is answered, not cut");
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "[]");
    let (clean, _) = stopper.await.unwrap();
    assert!(clean);
    assert!(
        skep_testkit::cookie_client()
            .get(format!("{cases_url}/api/status"))
            .send()
            .await
            .is_err(),
        "the service no longer listens"
    );
}

#[test]
fn help_lists_the_options_the_backup_command_and_the_keys() {
    let output = Command::new(env!("CARGO_BIN_EXE_skep"))
        .arg("--help")
        .output()
        .unwrap();

    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    for expected in [
        "--check-config FILE",
        "backup DEST-DIR",
        "cases.webhooks.max_attempts",
        "SKEP_ENGINE__WORKERS__PARALLELISM",
        "data_dir",
    ] {
        assert!(text.contains(expected), "{expected} missing:\n{text}");
    }
}

#[test]
fn check_config_names_every_bad_key_and_starts_nothing() {
    let dir = skep_testkit::temp_dir();
    let file = dir.path().join("skep.toml");
    std::fs::write(
        &file,
        "colour = \"blue\"\n[cases.http]\nport = 70000\n[cases.auth]\nsession_ttl = 5\n\
         [engine.workers]\nanalyzer_paths = [\"/nonexistent/analyzers\"]\n",
    )
    .unwrap();

    let output = Command::new(env!("CARGO_BIN_EXE_skep"))
        .arg("--check-config")
        .arg(&file)
        .env_remove("SKEP_CONFIG")
        .output()
        .unwrap();

    assert_eq!(output.status.code(), Some(1));
    let errors = String::from_utf8(output.stderr).unwrap();
    for key in [
        "`colour`",
        "`cases.http.port`",
        "`cases.auth.session_ttl`",
        "`engine.workers.analyzer_paths`",
    ] {
        assert!(errors.contains(key), "{key} missing:\n{errors}");
    }
    assert!(!dir.path().join("cases.db").exists());
}

#[test]
fn check_config_accepts_the_example_files_of_every_binary() {
    let root = skep_testkit::workspace_root();
    let launcher = Path::new(env!("CARGO_BIN_EXE_skep"));
    for (binary, example) in [
        (launcher.to_path_buf(), "deploy/skep.example.toml"),
        (
            launcher.with_file_name("skep-cases"),
            "deploy/cases.example.toml",
        ),
        (
            launcher.with_file_name("skep-engine"),
            "deploy/engine.example.toml",
        ),
    ] {
        let binary = binary.display().to_string();
        let output = Command::new(&binary)
            .arg("--check-config")
            .arg(root.join(example))
            .env_remove("SKEP_CONFIG")
            .output()
            .unwrap_or_else(|error| panic!("{binary}: {error} (build it: cargo build --bins)"));

        assert!(
            output.status.success(),
            "{binary} --check-config {example}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(String::from_utf8_lossy(&output.stdout).ends_with(": ok\n"));
    }
}

#[tokio::test]
async fn a_backup_of_a_running_platform_opens_with_the_data_in_it() {
    let data_dir = skep_testkit::temp_dir();
    let launcher = Launcher::start(data_dir.path(), &[]);
    let cases_url = launcher.url("cases");
    let password = launcher.password("cases").unwrap();
    let client = skep_testkit::cookie_client();
    let created: Value = client
        .post(format!("{cases_url}/api/case"))
        .basic_auth("admin", Some(&password))
        .json(&json!({"title": "in the backup", "description": "d"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let case_id = created["_id"].as_str().unwrap().to_owned();
    let backup_dir = skep_testkit::temp_dir();
    let destination = backup_dir.path().join("copy");

    let output = Command::new(env!("CARGO_BIN_EXE_skep"))
        .args(["backup"])
        .arg(&destination)
        .env_remove("SKEP_CONFIG")
        .env("SKEP_DATA_DIR", data_dir.path())
        .output()
        .unwrap();

    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for file in [
        "cases.db",
        "cases.db-text",
        "engine.db",
        "cases.secret",
        "engine.secret",
    ] {
        assert!(destination.join(file).exists(), "{file} not backed up");
    }
    let (clean, _) = launcher.stop(Signal::SIGTERM);
    assert!(clean);

    // The copy is a data directory: the platform starts on it with the admin and the case.
    let restored = Launcher::start(&destination, &[]);
    assert!(restored.password("cases").is_none(), "{:?}", restored.lines);
    let cases_url = restored.url("cases");
    let case: Value = skep_testkit::cookie_client()
        .get(format!("{cases_url}/api/case/{case_id}"))
        .basic_auth("admin", Some(&password))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(case["title"], "in the backup");
    let (clean, _) = restored.stop(Signal::SIGTERM);
    assert!(clean);
}

#[test]
fn a_backup_refuses_a_directory_that_is_not_empty() {
    let data_dir = skep_testkit::temp_dir();
    let destination = skep_testkit::temp_dir();
    std::fs::write(destination.path().join("old"), "x").unwrap();

    let output = Command::new(env!("CARGO_BIN_EXE_skep"))
        .arg("backup")
        .arg(destination.path())
        .env_remove("SKEP_CONFIG")
        .env("SKEP_DATA_DIR", data_dir.path())
        .output()
        .unwrap();

    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("not empty"));
}
