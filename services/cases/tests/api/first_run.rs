//! First run: 520 until migration, the `init` pseudo-user, the first admin.

use serde_json::json;

use crate::helpers::{TestApp, http_client};

#[tokio::test]
async fn before_migration_the_api_answers_520_with_an_empty_body() {
    let app = TestApp::spawn_fresh().await;

    let current = app
        .client
        .get(app.url("/api/user/current"))
        .send()
        .await
        .unwrap();
    let login = app
        .client
        .post(app.url("/api/login"))
        .json(&json!({"user": "a", "password": "b"}))
        .send()
        .await
        .unwrap();

    assert_eq!(current.status().as_u16(), 520);
    assert_eq!(login.status().as_u16(), 520);
    assert!(login.text().await.unwrap().is_empty());
}

#[tokio::test]
async fn migration_needs_no_credentials_and_seeds_the_default_data_types() {
    let app = TestApp::spawn_fresh().await;

    let migrate = app
        .client
        .post(app.url("/api/maintenance/migrate"))
        .send()
        .await
        .unwrap();
    let list = app
        .client
        .get(app.url("/api/list/list_artifactDataType"))
        .send()
        .await
        .unwrap();

    assert_eq!(migrate.status().as_u16(), 204);
    assert_eq!(list.status().as_u16(), 200);
    let list: serde_json::Value = list.json().await.unwrap();
    let values: Vec<&str> = list
        .as_object()
        .unwrap()
        .values()
        .filter_map(|v| v.as_str())
        .collect();
    assert_eq!(values.len(), 15);
    assert!(values.contains(&"ip") && values.contains(&"autonomous-system"));
}

#[tokio::test]
async fn with_no_user_the_first_admin_is_created_without_credentials_then_init_is_gone() {
    let app = TestApp::spawn_fresh().await;
    app.client
        .post(app.url("/api/maintenance/migrate"))
        .send()
        .await
        .unwrap();
    let empty = app
        .client
        .post(app.url("/api/user/_search"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(empty.status().as_u16(), 200);
    assert_eq!(empty.json::<serde_json::Value>().await.unwrap(), json!([]));

    let created = app
        .client
        .post(app.url("/api/user"))
        .json(&json!({"login": "Admin", "name": "Admin", "roles": ["read", "write", "admin"], "password": "pw"}))
        .send()
        .await
        .unwrap();
    let again = app
        .client
        .post(app.url("/api/user"))
        .json(&json!({"login": "other", "name": "Other", "roles": ["read"]}))
        .send()
        .await
        .unwrap();

    assert_eq!(created.status().as_u16(), 201);
    let user: serde_json::Value = created.json().await.unwrap();
    assert_eq!(user["_id"], "admin");
    assert_eq!(user["id"], "admin");
    assert_eq!(user["createdBy"], "init");
    assert_eq!(user["roles"], json!(["read", "write", "admin"]));
    assert_eq!(user["hasKey"], false);
    assert!(user.get("password").is_none());
    assert_eq!(again.status().as_u16(), 401);
}

#[tokio::test]
async fn a_bootstrapped_service_is_migrated_and_its_admin_key_works() {
    let app = TestApp::spawn().await;

    let response = app.get("/api/user/current").await;

    assert_eq!(response.status().as_u16(), 200);
    let user: serde_json::Value = response.json().await.unwrap();
    assert_eq!(user["id"], "admin");
    assert_eq!(user["roles"], json!(["read", "write", "admin", "alert"]));
    assert_eq!(user["preferences"], json!({}));
    assert_eq!(user["hasKey"], true);
}

#[tokio::test]
async fn status_and_health_answer_without_credentials() {
    let app = TestApp::spawn().await;
    let client = http_client();

    let status = client.get(app.url("/api/status")).send().await.unwrap();
    let health = client.get(app.url("/api/health")).send().await.unwrap();

    assert_eq!(status.status().as_u16(), 200);
    let status: serde_json::Value = status.json().await.unwrap();
    assert!(
        status["versions"]["TheHive"]
            .as_str()
            .unwrap()
            .starts_with("3.5")
    );
    assert_eq!(status["connectors"], json!({}));
    assert_eq!(status["config"]["authType"], json!(["key", "local"]));
    assert_eq!(status["config"]["protectDownloadsWith"], "malware");
    assert_eq!(health.status().as_u16(), 200);
    assert_eq!(health.text().await.unwrap(), "Ok");
}

#[tokio::test]
async fn the_generated_secret_is_kept_so_keys_and_sessions_survive_a_restart() {
    let app = TestApp::spawn().await;
    let key = app.create_user("survivor", &["read"]).await;
    let login = http_client()
        .post(app.url("/api/login"))
        .json(&json!({"user": "survivor", "password": "survivor-password"}))
        .send()
        .await
        .unwrap();
    let session = login
        .cookies()
        .find(|c| c.name() == "THE_HIVE_SESSION")
        .unwrap()
        .value()
        .to_owned();

    let restarted = app.another_instance().await;
    let with_key = restarted.get_as(&key, "/api/user/current").await;
    let with_session = http_client()
        .get(restarted.url("/api/user/current"))
        .header("Cookie", format!("THE_HIVE_SESSION={session}"))
        .send()
        .await
        .unwrap();

    assert_eq!(with_key.status().as_u16(), 200);
    assert_eq!(with_session.status().as_u16(), 200);
}

#[tokio::test]
async fn migration_is_idempotent_and_remembered_across_restarts() {
    let app = TestApp::spawn_fresh().await;
    app.client
        .post(app.url("/api/maintenance/migrate"))
        .send()
        .await
        .unwrap();

    let again = app
        .client
        .post(app.url("/api/maintenance/migrate"))
        .send()
        .await
        .unwrap();
    let restarted = app.another_instance().await;
    let search = restarted
        .client
        .post(restarted.url("/api/user/_search"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();

    assert_eq!(again.status().as_u16(), 204);
    assert_eq!(search.status().as_u16(), 200);
    let types = restarted
        .client
        .get(restarted.url("/api/list/list_artifactDataType"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        types
            .json::<serde_json::Value>()
            .await
            .unwrap()
            .as_object()
            .unwrap()
            .len(),
        15
    );
}

/// A stand-in engine answering `/api/status` and, for the key `good-key`, `/api/user/current`.
async fn fake_engine() -> String {
    use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
    async fn status() -> HttpResponse {
        HttpResponse::Ok().json(json!({"versions": {"Cortex": "3.1.1-skep"}}))
    }
    async fn current(request: HttpRequest) -> HttpResponse {
        match request
            .headers()
            .get("Authorization")
            .and_then(|v| v.to_str().ok())
        {
            Some("Bearer good-key") => HttpResponse::Ok().json(json!({"id": "cases"})),
            _ => HttpResponse::Unauthorized().json(json!({"type": "AuthenticationError"})),
        }
    }
    let server = HttpServer::new(|| {
        App::new()
            .route("/api/status", web::get().to(status))
            .route("/api/user/current", web::get().to(current))
    })
    .workers(1)
    .bind(("127.0.0.1", 0))
    .unwrap();
    let port = server.addrs()[0].port();
    tokio::spawn(server.run());
    format!("http://127.0.0.1:{port}")
}

fn engine(url: &str, key: &str) -> skep_cases::config::EngineConnectorConfig {
    skep_cases::config::EngineConnectorConfig {
        name: "ENGINE-1".into(),
        url: url.into(),
        key: Some(skep_config::Secret::new(key)),
    }
}

#[tokio::test]
async fn a_configured_engine_is_reported_as_a_cortex_connector_with_its_health() {
    let url = fake_engine().await;
    let good = TestApp::spawn_with(|config| config.engine = Some(engine(&url, "good-key"))).await;
    let bad_key = TestApp::spawn_with(|config| config.engine = Some(engine(&url, "bad-key"))).await;
    let down =
        TestApp::spawn_with(|config| config.engine = Some(engine("http://127.0.0.1:9", "k"))).await;
    let status = |app: &TestApp| {
        let url = app.url("/api/status");
        async move {
            http_client()
                .get(url)
                .send()
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()
        }
    };
    let health = |app: &TestApp| {
        let url = app.url("/api/health");
        async move {
            http_client()
                .get(url)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };

    assert_eq!(
        status(&good).await["connectors"],
        json!({"cortex": {"enabled": true, "status": "OK", "servers": [{"name": "ENGINE-1", "version": "3.1.1-skep", "status": "OK"}]}})
    );
    assert_eq!(
        status(&bad_key).await["connectors"]["cortex"]["servers"][0]["status"],
        "AUTH_ERROR"
    );
    assert_eq!(
        status(&down).await["connectors"]["cortex"]["servers"][0],
        json!({"name": "ENGINE-1", "version": "", "status": "ERROR"})
    );
    assert_eq!(health(&good).await, "Ok");
    assert_eq!(health(&down).await, "Warning");
}
