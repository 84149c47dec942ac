//! `TestApp`: a real engine on port 0 over a fresh SQLite store in a temporary directory, with a
//! migrated store and a superadmin holding an API key, plus typed request helpers.

use std::sync::atomic::{AtomicU64, Ordering};

use reqwest::{Method, RequestBuilder, Response};
use serde_json::{Value, json};
use skep_engine::auth::Identity;
use skep_engine::config::EngineConfig;
use skep_engine::domain::user;
use skep_engine::{Application, state::EngineState};
use tempfile::TempDir;

/// Login of the superadmin every `TestApp` starts with.
pub const ADMIN_LOGIN: &str = "admin";
/// Its password.
pub const ADMIN_PASSWORD: &str = "admin-password";

/// A running engine and a client for it.
#[allow(dead_code)] // Not every test module reads every field.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub address: String,
    /// The bound port.
    pub port: u16,
    /// A plain HTTP client (no cookie store).
    pub client: reqwest::Client,
    /// API key of the superadmin `admin` (empty for `spawn_fresh`).
    pub admin_key: String,
    /// The engine's shared state (store, configuration).
    pub state: actix_web::web::Data<EngineState>,
    /// The data directory; removed when the app is dropped.
    pub data_dir: TempDir,
}

/// A name unique within this test run, e.g. `unique("org")` → `org-17-3`.
pub fn unique(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// The configuration of a test engine over `data_dir`: port 0, loopback, default sections.
pub fn test_config(data_dir: &TempDir) -> EngineConfig {
    let mut config = EngineConfig::default();
    config.http.host = "127.0.0.1".to_owned();
    config.http.port = 0;
    config.data_dir = data_dir.path().to_path_buf();
    config
}

fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a default reqwest client builds")
}

impl TestApp {
    /// A migrated engine with the superadmin `admin` (password and API key).
    pub async fn spawn() -> TestApp {
        TestApp::spawn_with(|_| {}).await
    }

    /// Like [`TestApp::spawn`], after `configure` adjusts the configuration.
    pub async fn spawn_with(configure: impl FnOnce(&mut EngineConfig)) -> TestApp {
        let data_dir = TempDir::new().expect("a temporary directory");
        let mut config = test_config(&data_dir);
        config.bootstrap.admin_login = Some(ADMIN_LOGIN.to_owned());
        config.bootstrap.admin_password = Some(skep_config::Secret::new(ADMIN_PASSWORD));
        configure(&mut config);
        let mut app = TestApp::start(config, data_dir).await;
        app.admin_key = user::renew_key(
            &*app.state.store,
            &app.state.keys,
            &Identity::init(),
            ADMIN_LOGIN,
        )
        .await
        .expect("the admin key can be created");
        app
    }

    /// An engine on a fresh, unmigrated store with no user (the first-run flow).
    pub async fn spawn_fresh() -> TestApp {
        let data_dir = TempDir::new().expect("a temporary directory");
        let config = test_config(&data_dir);
        TestApp::start(config, data_dir).await
    }

    async fn start(config: EngineConfig, data_dir: TempDir) -> TestApp {
        let application = Application::build(config).await.expect("the engine builds");
        let port = application.port();
        let state = application.state();
        tokio::spawn(application.run_until_stopped());
        TestApp {
            address: format!("http://127.0.0.1:{port}"),
            port,
            client: http_client(),
            admin_key: String::new(),
            state,
            data_dir,
        }
    }

    /// The absolute URL of `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// A request without credentials.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, self.url(path))
    }

    /// A request authenticated with an API key.
    pub fn request_as(&self, key: &str, method: Method, path: &str) -> RequestBuilder {
        self.request(method, path).bearer_auth(key)
    }

    /// `GET` with an API key.
    pub async fn get_as(&self, key: &str, path: &str) -> Response {
        self.request_as(key, Method::GET, path)
            .send()
            .await
            .expect("request sent")
    }

    /// `POST` of a JSON body with an API key.
    pub async fn post_as(&self, key: &str, path: &str, body: &Value) -> Response {
        self.request_as(key, Method::POST, path)
            .json(body)
            .send()
            .await
            .expect("request sent")
    }

    /// `PATCH` of a JSON body with an API key.
    pub async fn patch_as(&self, key: &str, path: &str, body: &Value) -> Response {
        self.request_as(key, Method::PATCH, path)
            .json(body)
            .send()
            .await
            .expect("request sent")
    }

    /// `DELETE` with an API key.
    pub async fn delete_as(&self, key: &str, path: &str) -> Response {
        self.request_as(key, Method::DELETE, path)
            .send()
            .await
            .expect("request sent")
    }

    /// `GET` as the superadmin.
    pub async fn get(&self, path: &str) -> Response {
        self.get_as(&self.admin_key, path).await
    }

    /// `POST` of JSON as the superadmin.
    pub async fn post(&self, path: &str, body: &Value) -> Response {
        self.post_as(&self.admin_key, path, body).await
    }

    /// `PATCH` of JSON as the superadmin.
    pub async fn patch(&self, path: &str, body: &Value) -> Response {
        self.patch_as(&self.admin_key, path, body).await
    }

    /// `DELETE` as the superadmin.
    pub async fn delete(&self, path: &str) -> Response {
        self.delete_as(&self.admin_key, path).await
    }

    /// Creates an organisation as the superadmin; panics unless 201.
    pub async fn create_org(&self, name: &str) {
        let response = self
            .post(
                "/api/organization",
                &json!({"name": name, "description": format!("{name} SOC")}),
            )
            .await;
        let status = response.status().as_u16();
        assert_eq!(
            status,
            201,
            "create org {name}: {}",
            response.text().await.unwrap_or_default()
        );
    }

    /// Creates a fresh organisation with a unique name and returns the name.
    pub async fn new_org(&self) -> String {
        let name = unique("org");
        self.create_org(&name).await;
        name
    }

    /// Creates a user as the superadmin and returns its new API key; panics on failure.
    pub async fn create_user(&self, org: &str, login: &str, roles: &[&str]) -> String {
        let response = self
            .post(
                "/api/user",
                &json!({"login": login, "name": login, "roles": roles, "organization": org}),
            )
            .await;
        let status = response.status().as_u16();
        assert_eq!(
            status,
            201,
            "create user {login}: {}",
            response.text().await.unwrap_or_default()
        );
        self.renew_key(login).await
    }

    /// Renews a user's key as the superadmin and returns it.
    pub async fn renew_key(&self, login: &str) -> String {
        let response = self
            .post(&format!("/api/user/{login}/key/renew"), &json!({}))
            .await;
        assert_eq!(response.status().as_u16(), 200, "renew key of {login}");
        response.text().await.expect("key text")
    }

    /// Sets a user's password as the superadmin.
    pub async fn set_password(&self, login: &str, password: &str) {
        let response = self
            .post(
                &format!("/api/user/{login}/password/set"),
                &json!({"password": password}),
            )
            .await;
        assert_eq!(response.status().as_u16(), 204, "set password of {login}");
    }

    /// Logs in with a password; returns the response (cookies in `Set-Cookie`).
    pub async fn login(&self, login: &str, password: &str) -> Response {
        self.request(Method::POST, "/api/login")
            .json(&json!({"user": login, "password": password}))
            .send()
            .await
            .expect("request sent")
    }
}

/// Status code and parsed JSON body of a response (`Value::Null` for an empty or non-JSON body).
pub async fn status_and_json(response: Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// The value of cookie `name` among a response's `Set-Cookie` headers.
pub fn set_cookie(response: &Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find_map(|header| {
            let pair = header.split(';').next()?;
            let (key, value) = pair.split_once('=')?;
            (key.trim() == name).then(|| value.trim().to_owned())
        })
}
