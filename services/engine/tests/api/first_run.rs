//! The Cortex first-run flow: 520 until migrate, the `init` pseudo-user, and the unattended
//! bootstrap from configuration.

use reqwest::Method;
use serde_json::json;
use skep_engine::Application;
use tempfile::TempDir;

use crate::helpers::{TestApp, status_and_json, test_config};

#[tokio::test]
async fn status_answers_before_migration_and_names_a_cortex_version() {
    let app = TestApp::spawn_fresh().await;

    let (status, body) = status_and_json(
        app.request(Method::GET, "/api/status")
            .send()
            .await
            .unwrap(),
    )
    .await;

    assert_eq!(status, 200);
    assert_eq!(body["versions"]["Cortex"], "3.1.8-1");
    assert!(body["versions"]["Skep"].is_string());
    assert_eq!(body["config"]["authType"], json!(["local", "key"]));
    assert_eq!(
        body["config"]["capabilities"],
        json!(["changePassword", "setPassword", "authByKey"])
    );
}

#[tokio::test]
async fn every_store_reading_call_answers_520_with_an_empty_body_until_migrated() {
    let app = TestApp::spawn_fresh().await;

    for (method, path) in [
        (Method::POST, "/api/login"),
        (Method::GET, "/api/user/current"),
        (Method::GET, "/api/organization"),
        (Method::POST, "/api/user"),
        (Method::GET, "/api/user/someone"),
    ] {
        let response = app
            .request(method.clone(), path)
            .json(&json!({"user": "x", "password": "y"}))
            .send()
            .await
            .unwrap();

        assert_eq!(response.status().as_u16(), 520, "{method} {path}");
        assert_eq!(response.text().await.unwrap(), "", "{method} {path}");
    }
}

#[tokio::test]
async fn migrate_answers_204_is_idempotent_and_creates_the_default_organization() {
    let app = TestApp::spawn_fresh().await;

    let first = app
        .request(Method::POST, "/api/maintenance/migrate")
        .send()
        .await
        .unwrap();
    let second = app
        .request(Method::POST, "/api/maintenance/migrate")
        .send()
        .await
        .unwrap();
    let (status, cortex) = status_and_json(
        app.request(Method::GET, "/api/organization/cortex")
            .send()
            .await
            .unwrap(),
    )
    .await;

    assert_eq!(first.status().as_u16(), 204);
    assert_eq!(second.status().as_u16(), 204);
    assert_eq!(status, 200);
    assert_eq!(cortex["id"], "cortex");
    assert_eq!(cortex["description"], "Default organization");
    assert_eq!(cortex["status"], "Active");
}

#[tokio::test]
async fn the_first_user_is_created_without_credentials_and_then_that_door_is_shut() {
    let app = TestApp::spawn_fresh().await;
    app.request(Method::POST, "/api/maintenance/migrate")
        .send()
        .await
        .unwrap();
    let admin = json!({"login": "admin", "name": "Admin", "roles": ["superadmin"],
                       "organization": "cortex", "password": "secret-1"});

    let (first_status, first) = status_and_json(
        app.request(Method::POST, "/api/user")
            .json(&admin)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let again = app
        .request(Method::POST, "/api/user")
        .json(&admin)
        .send()
        .await
        .unwrap();
    let anonymous_read = app
        .request(Method::GET, "/api/organization")
        .send()
        .await
        .unwrap();
    let login = app.login("admin", "secret-1").await;

    assert_eq!(first_status, 201);
    assert_eq!(first["id"], "admin");
    assert_eq!(first["roles"], json!(["superadmin"]));
    assert_eq!(first["hasPassword"], true);
    assert_eq!(again.status().as_u16(), 401);
    assert_eq!(anonymous_read.status().as_u16(), 401);
    assert_eq!(login.status().as_u16(), 200);
}

#[tokio::test]
async fn the_configured_bootstrap_creates_a_superadmin_with_a_generated_password_shown_once() {
    let data_dir = TempDir::new().unwrap();
    let mut config = test_config(&data_dir);
    config.bootstrap.admin_login = Some("root".to_owned());

    let first = Application::build(config.clone()).await.unwrap();
    let admin = first.first_admin().cloned().expect("an admin was created");
    let debug_text = format!("{admin:?}");
    drop(first);
    let second = Application::build(config).await.unwrap();

    assert_eq!(admin.login, "root");
    let password = admin.generated_password.expect("a generated password");
    assert_eq!(password.len(), 20);
    assert!(
        second.first_admin().is_none(),
        "the password is shown only at the first start"
    );
    assert!(!debug_text.contains(&password), "{debug_text}");
}

#[tokio::test]
async fn the_generated_server_secret_survives_a_restart_so_keys_keep_working() {
    let data_dir = TempDir::new().unwrap();
    let mut config = test_config(&data_dir);
    config.bootstrap.admin_login = Some("root".to_owned());
    config.bootstrap.admin_password = Some(skep_config::Secret::new("root-password"));
    let first = Application::build(config.clone()).await.unwrap();
    let state = first.state();
    let key = skep_engine::domain::user::renew_key(
        &*state.store,
        &state.keys,
        &skep_engine::auth::Identity::init(),
        "root",
    )
    .await
    .unwrap();
    drop(state);
    drop(first);

    let second = Application::build(config).await.unwrap();
    let port = second.port();
    tokio::spawn(second.run_until_stopped());
    let response = reqwest::Client::builder()
        .build()
        .unwrap()
        .get(format!("http://127.0.0.1:{port}/api/user/current"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status().as_u16(), 200);
}
