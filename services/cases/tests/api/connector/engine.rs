//! [`Engine`]: a real engine over its own SQLite store in a temporary directory, with the
//! built-in workers and the connector test catalog (cortexutils workers), set up through its
//! API with Basic authentication as its superadmin: an organisation `soc`, an orgadmin that
//! enables workers, and the `cases` user (read, analyze) whose key the cases service gets.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};
use skep_cases::config::CortexServerConfig;
use tempfile::TempDir;

const SUPERADMIN: &str = "admin";
const SUPERADMIN_PASSWORD: &str = "engine-admin-password";

/// A running engine and the keys of its organisation's users.
pub struct Engine {
    /// `http://127.0.0.1:<port>`.
    pub address: String,
    /// The bound port.
    port: u16,
    /// Key of the `cases` user (read, analyze): what the cases service is given.
    pub cases_key: String,
    /// Key of the organisation's orgadmin (enables workers).
    pub orgadmin_key: String,
    client: reqwest::Client,
    catalog: TempDir,
    data_dir: TempDir,
    /// The engine process, when it runs as one (see [`Engine::start_process`]).
    process: Option<Child>,
}

/// Where the engine finds `skep-worker` and `skep-engine` from this test binary
/// (`target/debug`, the parent of the test binary's folder).
fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let path = exe.parent().and_then(Path::parent).unwrap().join(name);
    assert!(
        path.is_file(),
        "{} is missing: run `cargo build -p skep-workers -p skep-engine --bins` (scripts/test \
         builds every binary first)",
        path.display()
    );
    path
}

/// Copies the connector test catalog, its scripts run by the test Python.
fn write_catalog() -> TempDir {
    let target = TempDir::new().unwrap();
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

/// The engine configuration of a test: loopback, Basic auth on, the superadmin bootstrapped,
/// the built-in workers plus the test catalog, a short heartbeat.
fn config(data_dir: &Path, catalog: &Path, port: u16) -> skep_engine::EngineConfig {
    let mut config = skep_engine::EngineConfig::default();
    config.http.host = "127.0.0.1".into();
    config.http.port = port;
    config.http.basic_auth = true;
    config.data_dir = data_dir.to_path_buf();
    config.bootstrap.admin_login = SUPERADMIN.into();
    config.bootstrap.admin_password = skep_config::Secret::new(SUPERADMIN_PASSWORD);
    config
        .workers
        .analyzer_paths
        .push(catalog.join("analyzers"));
    config
        .workers
        .responder_paths
        .push(catalog.join("responders"));
    config.workers.heartbeat_seconds = 0.2;
    config
}

impl Engine {
    /// An engine in this process on port 0, set up through its API.
    pub async fn start() -> Engine {
        binary("skep-worker");
        let (catalog, data_dir) = (write_catalog(), TempDir::new().unwrap());
        let application =
            skep_engine::Application::build(config(data_dir.path(), catalog.path(), 0))
                .await
                .expect("the engine starts");
        let port = application.port();
        tokio::spawn(application.run_until_stopped());
        let mut engine = Engine::unset(port, catalog, data_dir, None);
        engine.set_up().await;
        engine
    }

    /// An engine as its own `skep-engine` process on a free port, so that a test can stop it
    /// and start it again over the same store and port.
    pub async fn start_process() -> Engine {
        binary("skep-worker");
        let (catalog, data_dir) = (write_catalog(), TempDir::new().unwrap());
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut engine = Engine::unset(port, catalog, data_dir, None);
        engine.spawn_process().await;
        engine.set_up().await;
        engine
    }

    fn unset(port: u16, catalog: TempDir, data_dir: TempDir, process: Option<Child>) -> Engine {
        Engine {
            address: format!("http://127.0.0.1:{port}"),
            port,
            cases_key: String::new(),
            orgadmin_key: String::new(),
            client: crate::helpers::http_client(),
            catalog,
            data_dir,
            process,
        }
    }

    /// Writes the process's configuration file and starts `skep-engine` with it.
    async fn spawn_process(&mut self) {
        let config = config(self.data_dir.path(), self.catalog.path(), self.port);
        let paths = |paths: &[PathBuf]| {
            paths
                .iter()
                .map(|path| format!("{:?}", path.display().to_string()))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let file = self.data_dir.path().join("engine.toml");
        std::fs::write(
            &file,
            format!(
                "data_dir = {:?}\n[http]\nhost = \"127.0.0.1\"\nport = {}\nbasic_auth = true\n\
                 [bootstrap]\nadmin_login = {SUPERADMIN:?}\nadmin_password = {SUPERADMIN_PASSWORD:?}\n\
                 [workers]\nanalyzer_paths = [{}]\nresponder_paths = [{}]\nheartbeat_seconds = 0.2\n\
                 parallelism = 1\nbuiltin_bin_dir = {:?}\n",
                self.data_dir.path().display().to_string(),
                self.port,
                paths(&config.workers.analyzer_paths),
                paths(&config.workers.responder_paths),
                binary("skep-worker").parent().unwrap().display().to_string(),
            ),
        )
        .unwrap();
        let child = Command::new(binary("skep-engine"))
            .arg("--config")
            .arg(&file)
            .env_remove("RUST_LOG")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.process = Some(child);
        let address = self.address.clone();
        let up = skep_testkit::wait_until(std::time::Duration::from_secs(60), || {
            let url = format!("{address}/api/status");
            async move {
                reqwest::get(url)
                    .await
                    .is_ok_and(|r| r.status().is_success())
            }
        })
        .await;
        assert!(up, "skep-engine did not start on port {}", self.port);
    }

    /// Kills the engine process (as a crash or a host going away would).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.process.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the engine process again over the same store and port.
    pub async fn restart(&mut self) {
        self.kill();
        self.spawn_process().await;
    }

    async fn superadmin(&self, path: &str, body: &Value) -> (u16, String) {
        let response = self
            .client
            .post(format!("{}{path}", self.address))
            .basic_auth(SUPERADMIN, Some(SUPERADMIN_PASSWORD))
            .json(body)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    async fn user_with_key(&self, login: &str, roles: &[&str]) -> String {
        let (status, body) = self
            .superadmin(
                "/api/user",
                &json!({"login": login, "name": login, "roles": roles, "organization": "soc"}),
            )
            .await;
        assert_eq!(status, 201, "create engine user {login}: {body}");
        let (status, key) = self
            .superadmin(&format!("/api/user/{login}/key/renew"), &json!({}))
            .await;
        assert_eq!(status, 200, "renew the key of {login}: {key}");
        key
    }

    async fn set_up(&mut self) {
        let (status, body) = self
            .superadmin(
                "/api/organization",
                &json!({"name": "soc", "description": "The SOC", "status": "Active"}),
            )
            .await;
        assert_eq!(status, 201, "create the organisation: {body}");
        self.orgadmin_key = self
            .user_with_key("soc-admin", &["read", "analyze", "orgadmin"])
            .await;
        self.cases_key = self.user_with_key("cases", &["read", "analyze"]).await;
    }

    /// Enables a worker definition in the organisation; returns the worker.
    pub async fn enable(&self, kind: &str, definition: &str, configuration: Value) -> Value {
        let response = self
            .client
            .post(format!(
                "{}/api/organization/{kind}/{definition}",
                self.address
            ))
            .bearer_auth(&self.orgadmin_key)
            .json(&json!({"name": definition, "configuration": configuration}))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let worker: Value = response.json().await.unwrap();
        assert_eq!(status, 201, "enable {definition}: {worker}");
        worker
    }

    /// `GET path` on the engine with the cases user's key.
    pub async fn get(&self, path: &str) -> Value {
        self.client
            .get(format!("{}{path}", self.address))
            .bearer_auth(&self.cases_key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// The connector configuration of this engine under `name` with `key`.
    pub fn server_config(&self, name: &str, key: &str) -> CortexServerConfig {
        CortexServerConfig {
            name: name.into(),
            url: self.address.clone(),
            key: skep_config::Secret::new(key),
            ca_file: None,
            tls_insecure: false,
            timeout_seconds: 30,
        }
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.kill();
    }
}
