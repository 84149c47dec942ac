//! `TestApp`: a cases service on port 0 over a fresh SQLite file, migrated, with an admin
//! (roles read, write, admin, alert) holding an API key, and typed request helpers.

use reqwest::Response;
use serde_json::{Value, json};
use skep_cases::{Application, CasesConfig, CasesState};
use skep_config::Secret;

/// Login of the seeded admin.
pub const ADMIN_LOGIN: &str = "admin";
/// Password of the seeded admin.
pub const ADMIN_PASSWORD: &str = "admin-password";

/// A running cases service and a client for it.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub address: String,
    /// API key of the seeded admin.
    pub admin_key: String,
    /// A plain client (no cookies).
    pub client: reqwest::Client,
    /// The service state (for assertions on the store).
    #[allow(dead_code)]
    pub state: actix_web::web::Data<CasesState>,
    data_path: std::path::PathBuf,
    _data_dir: Option<tempfile::TempDir>,
}

/// A reqwest client with a timeout.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .unwrap()
}

impl TestApp {
    /// A migrated service with the seeded admin.
    pub async fn spawn() -> TestApp {
        TestApp::spawn_with(|_| {}).await
    }

    /// A migrated service with the seeded admin, after `adjust` changed the configuration.
    pub async fn spawn_with(adjust: impl FnOnce(&mut CasesConfig)) -> TestApp {
        let admin_key = skep_auth::key::generate();
        let key = admin_key.clone();
        TestApp::start(
            move |config| {
                config.bootstrap.admin_login = Some(ADMIN_LOGIN.into());
                config.bootstrap.admin_password = Some(Secret::new(ADMIN_PASSWORD));
                config.bootstrap.admin_key = Some(Secret::new(key));
                adjust(config);
            },
            admin_key,
        )
        .await
    }

    /// A service on a fresh database: not migrated, no user (the first-run flow).
    pub async fn spawn_fresh() -> TestApp {
        TestApp::start(|_| {}, String::new()).await
    }

    /// A second service over this one's data directory (as after a restart).
    pub async fn another_instance(&self) -> TestApp {
        self.another_instance_with(|_| {}).await
    }

    /// A second service over this one's data directory, configured by `adjust`.
    pub async fn another_instance_with(&self, adjust: impl FnOnce(&mut CasesConfig)) -> TestApp {
        let path = self.data_path.clone();
        TestApp::start_in(None, path, adjust, self.admin_key.clone()).await
    }

    async fn start(adjust: impl FnOnce(&mut CasesConfig), admin_key: String) -> TestApp {
        let data_dir = skep_testkit::temp_dir();
        let path = data_dir.path().to_path_buf();
        TestApp::start_in(Some(data_dir), path, adjust, admin_key).await
    }

    async fn start_in(
        data_dir: Option<tempfile::TempDir>,
        data_path: std::path::PathBuf,
        adjust: impl FnOnce(&mut CasesConfig),
        admin_key: String,
    ) -> TestApp {
        let mut config = CasesConfig::default();
        config.http.host = "127.0.0.1".into();
        config.http.port = 0;
        config.data_dir = data_path.clone();
        adjust(&mut config);
        let application = Application::build(config)
            .await
            .expect("the cases service starts");
        let port = application.port();
        let state = application.state();
        tokio::spawn(application.run_until_stopped());
        TestApp {
            address: format!("http://127.0.0.1:{port}"),
            admin_key,
            client: http_client(),
            state,
            data_path,
            _data_dir: data_dir,
        }
    }

    /// The absolute URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// GET with a bearer key.
    pub async fn get_as(&self, key: &str, path: &str) -> Response {
        self.client
            .get(self.url(path))
            .bearer_auth(key)
            .send()
            .await
            .unwrap()
    }

    /// POST JSON with a bearer key.
    pub async fn post_as(&self, key: &str, path: &str, body: &Value) -> Response {
        self.client
            .post(self.url(path))
            .bearer_auth(key)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// PATCH JSON with a bearer key.
    pub async fn patch_as(&self, key: &str, path: &str, body: &Value) -> Response {
        self.client
            .patch(self.url(path))
            .bearer_auth(key)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// DELETE with a bearer key.
    pub async fn delete_as(&self, key: &str, path: &str) -> Response {
        self.client
            .delete(self.url(path))
            .bearer_auth(key)
            .send()
            .await
            .unwrap()
    }

    /// GET as the admin.
    pub async fn get(&self, path: &str) -> Response {
        self.get_as(&self.admin_key, path).await
    }

    /// POST JSON as the admin.
    pub async fn post(&self, path: &str, body: &Value) -> Response {
        self.post_as(&self.admin_key, path, body).await
    }

    /// PATCH JSON as the admin.
    pub async fn patch(&self, path: &str, body: &Value) -> Response {
        self.patch_as(&self.admin_key, path, body).await
    }

    /// DELETE as the admin.
    pub async fn delete(&self, path: &str) -> Response {
        self.delete_as(&self.admin_key, path).await
    }

    /// Creates a user with `roles` and a password `<login>-password`; returns its API key.
    pub async fn create_user(&self, login: &str, roles: &[&str]) -> String {
        let body = json!({"login": login, "name": login, "roles": roles, "password": format!("{login}-password")});
        let response = self.post("/api/user", &body).await;
        assert_eq!(
            response.status().as_u16(),
            201,
            "{}",
            response.text().await.unwrap()
        );
        let response = self
            .post(&format!("/api/user/{login}/key/renew"), &json!({}))
            .await;
        assert_eq!(response.status().as_u16(), 200);
        response.text().await.unwrap()
    }

    /// `POST /api/case` as the admin.
    pub async fn create_case(&self, body: &Value) -> Response {
        self.post("/api/case", body).await
    }

    /// Creates a case titled `title` and returns its JSON.
    pub async fn new_case(&self, title: &str) -> Value {
        let response = self
            .create_case(&json!({"title": title, "description": "test case"}))
            .await;
        assert_eq!(response.status().as_u16(), 201);
        response.json().await.unwrap()
    }

    /// `POST /api/case/:id/task` as the admin.
    pub async fn create_task(&self, case_id: &str, body: &Value) -> Response {
        self.post(&format!("/api/case/{case_id}/task"), body).await
    }

    /// Creates a task titled `title` in the case and returns its JSON.
    pub async fn new_task(&self, case_id: &str, title: &str) -> Value {
        let response = self.create_task(case_id, &json!({"title": title})).await;
        assert_eq!(response.status().as_u16(), 201);
        response.json().await.unwrap()
    }

    /// `POST /api/case/:id/artifact` as the admin.
    pub async fn create_observable(&self, case_id: &str, body: &Value) -> Response {
        self.post(&format!("/api/case/{case_id}/artifact"), body)
            .await
    }

    /// `POST /api/case/task/:id/log` as the admin.
    pub async fn create_log(&self, task_id: &str, body: &Value) -> Response {
        self.post(&format!("/api/case/task/{task_id}/log"), body)
            .await
    }

    /// `POST <path>` (a `_search`) as the admin with a query; returns (X-Total, items).
    pub async fn search(&self, path: &str, body: &Value) -> (u64, Vec<Value>) {
        let response = self.post(path, body).await;
        assert_eq!(response.status().as_u16(), 200, "search {path}");
        let total = response
            .headers()
            .get("X-Total")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse().ok())
            .expect("an X-Total header");
        (total, response.json().await.unwrap())
    }
}

/// Reads a JSON body.
pub async fn json_of(response: Response) -> Value {
    response.json().await.unwrap()
}
