//! A test catalog of real cortexutils analyzers and responders (copied from
//! `tests/fixtures/catalog` with the test Python as interpreter), an engine pointed at it, and an
//! organisation with an orgadmin, an analyst and a reader.
// Test support: any failed setup step should stop the run with a panic.
#![allow(clippy::unwrap_used)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use skep_engine::config::EngineConfig;
use tempfile::TempDir;

use crate::helpers::{TestApp, status_and_json, unique};

/// Copies the fixture catalog into a fresh folder, making every script executable with the
/// test Python as its interpreter.
pub fn write_catalog() -> TempDir {
    let target = TempDir::new().expect("a temporary directory");
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/catalog");
    copy_tree(&source, target.path());
    target
}

fn copy_tree(source: &Path, target: &Path) {
    std::fs::create_dir_all(target).unwrap();
    for entry in std::fs::read_dir(source).unwrap() {
        let entry = entry.unwrap();
        let destination = target.join(entry.file_name());
        if entry.path().is_dir() {
            copy_tree(&entry.path(), &destination);
        } else if entry.path().extension().is_some_and(|ext| ext == "py") {
            let python = skep_testkit::python();
            let script = std::fs::read_to_string(entry.path()).unwrap().replacen(
                "#!PYTHON",
                &format!("#!{}", python.display()),
                1,
            );
            std::fs::write(&destination, script).unwrap();
            std::fs::set_permissions(&destination, std::fs::Permissions::from_mode(0o755)).unwrap();
        } else {
            std::fs::copy(entry.path(), &destination).unwrap();
        }
    }
}

/// Points the engine at `catalog` with a short heartbeat.
pub fn use_catalog(config: &mut EngineConfig, catalog: &Path) {
    config.workers.analyzer_paths = vec![catalog.join("analyzers")];
    config.workers.responder_paths = vec![catalog.join("responders")];
    config.workers.heartbeat_seconds = 0.2;
}

/// An engine over the fixture catalog, and an organisation with three users.
pub struct Fixture {
    /// The engine.
    pub app: TestApp,
    /// The catalog folder (kept alive for the engine).
    pub catalog: TempDir,
    /// The organisation.
    pub org: String,
    /// Key of a `read, analyze, orgadmin` user.
    pub admin: String,
    /// Key of a `read, analyze` user.
    pub analyst: String,
    /// Key of a `read` user.
    pub reader: String,
}

impl Fixture {
    /// Spawns the engine over a fresh copy of the fixture catalog.
    pub async fn spawn() -> Fixture {
        Fixture::spawn_with(|_| {}).await
    }

    /// Like [`Fixture::spawn`], after `configure` adjusts the configuration.
    pub async fn spawn_with(configure: impl FnOnce(&mut EngineConfig)) -> Fixture {
        let catalog = write_catalog();
        let path = catalog.path().to_path_buf();
        let app = TestApp::spawn_with(|config| {
            use_catalog(config, &path);
            configure(config);
        })
        .await;
        let (org, admin, analyst, reader) = org_with_users(&app).await;
        Fixture {
            app,
            catalog,
            org,
            admin,
            analyst,
            reader,
        }
    }

    /// Enables a definition as the orgadmin; panics unless 201; returns the worker id.
    pub async fn enable(&self, kind: &str, definition: &str, body: Value) -> String {
        let response = self
            .app
            .post_as(
                &self.admin,
                &format!("/api/organization/{kind}/{definition}"),
                &body,
            )
            .await;
        let (status, worker) = status_and_json(response).await;
        assert_eq!(status, 201, "enable {definition}: {worker}");
        worker["id"].as_str().unwrap().to_owned()
    }

    /// Enables an analyzer with a configuration.
    pub async fn enable_analyzer(&self, definition: &str, configuration: Value) -> String {
        self.enable(
            "analyzer",
            definition,
            json!({"name": definition, "configuration": configuration}),
        )
        .await
    }

    /// Runs a worker as the analyst with a JSON body; panics unless 200; returns the job.
    pub async fn run(&self, kind: &str, worker: &str, body: Value) -> Value {
        let response = self
            .app
            .post_as(&self.analyst, &format!("/api/{kind}/{worker}/run"), &body)
            .await;
        let (status, job) = status_and_json(response).await;
        assert_eq!(status, 200, "run {worker}: {job}");
        job
    }

    /// Waits (through `waitreport`) for a job to end and returns the job with its report.
    pub async fn report(&self, job_id: &str) -> Value {
        let response = self
            .app
            .request_as(
                &self.analyst,
                Method::GET,
                &format!("/api/job/{job_id}/waitreport"),
            )
            .query(&[("atMost", "2minutes")])
            .timeout(Duration::from_secs(150))
            .send()
            .await
            .expect("request sent");
        let (status, report) = status_and_json(response).await;
        assert_eq!(status, 200, "waitreport {job_id}: {report}");
        report
    }

    /// Runs an analyzer on an IP and waits for the report.
    pub async fn run_to_end(&self, worker: &str, body: Value) -> Value {
        let job = self.run("analyzer", worker, body).await;
        self.report(job["id"].as_str().unwrap()).await
    }
}

/// Creates an organisation with an orgadmin, an analyst and a reader; returns their keys.
pub async fn org_with_users(app: &TestApp) -> (String, String, String, String) {
    let org = app.new_org().await;
    let admin = app
        .create_user(&org, &unique("orgadmin"), &["read", "analyze", "orgadmin"])
        .await;
    let analyst = app
        .create_user(&org, &unique("analyst"), &["read", "analyze"])
        .await;
    let reader = app.create_user(&org, &unique("reader"), &["read"]).await;
    (org, admin, analyst, reader)
}
