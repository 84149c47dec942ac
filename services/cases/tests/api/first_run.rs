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
