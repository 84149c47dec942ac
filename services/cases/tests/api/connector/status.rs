//! `/api/status` lists each configured engine with its state; a broken one never stops the
//! cases service.

use serde_json::json;

use super::{ENGINE, Engine, get};
use crate::helpers::TestApp;

#[tokio::test]
async fn the_status_lists_each_engine_ok_or_in_error_with_a_reason_and_cases_keep_working() {
    let engine = Engine::start().await;
    let unreachable = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let servers = vec![
        engine.server_config(ENGINE, &engine.cases_key),
        engine.server_config("WRONG-KEY", "not-the-key"),
        {
            let mut down = engine.server_config("DOWN", "k");
            down.url = format!("http://127.0.0.1:{unreachable}");
            down
        },
    ];
    let app = TestApp::spawn_with(move |config| config.cortex.servers = servers).await;

    let (status, body) = get(&app, "/api/status").await;

    assert_eq!(status, 200);
    let cortex = &body["connectors"]["cortex"];
    assert_eq!(cortex["enabled"], true);
    assert_eq!(cortex["status"], "WARNING");
    let servers = cortex["servers"].as_array().unwrap();
    assert_eq!(servers[0]["name"], ENGINE);
    assert_eq!(servers[0]["status"], "OK");
    assert!(
        servers[0]["version"].as_str().unwrap().starts_with('3'),
        "{}",
        servers[0]
    );
    assert!(servers[0].get("reason").is_none());
    assert_eq!(servers[1]["name"], "WRONG-KEY");
    assert_eq!(servers[1]["status"], "ERROR");
    assert_eq!(servers[1]["reason"], "the engine refused the API key");
    assert_eq!(servers[2]["name"], "DOWN");
    assert_eq!(servers[2]["status"], "ERROR");
    assert_eq!(servers[2]["version"], "");
    assert!(
        servers[2]["reason"]
            .as_str()
            .unwrap()
            .starts_with("unreachable"),
        "{}",
        servers[2]
    );
    assert!(
        !body.to_string().contains(&engine.cases_key),
        "the key never shows"
    );
    // The cases service keeps working with an engine in error.
    let case = app.new_case("Still working").await;
    assert_eq!(case["title"], "Still working");
    let health = app.get("/api/health").await.text().await.unwrap();
    assert_eq!(health, "Warning");
}

#[tokio::test]
async fn without_engines_there_is_no_connector_and_its_routes_answer_404() {
    let app = TestApp::spawn().await;

    let (_, body) = get(&app, "/api/status").await;
    let (status, error) = get(&app, "/api/connector/cortex/analyzer").await;

    assert_eq!(body["connectors"], json!({}));
    assert_eq!(status, 404);
    assert_eq!(error["message"], "connector cortex not found");
}
