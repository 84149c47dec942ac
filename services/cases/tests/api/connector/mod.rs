//! The engine connector end to end: a real engine (in this process, or as its own process for
//! the outage test) with its own SQLite store, set up through its API (organisation, an
//! orgadmin enabling workers, a read+analyze user whose key the cases service gets), and a
//! cases service on its own store calling it.

mod analyzers;
mod engine;
mod mailer;
mod recovery;
mod responders;
mod status;
mod templates;

use serde_json::{Value, json};

use crate::helpers::TestApp;
pub use engine::Engine;

/// Name of the engine in the cases configuration.
pub const ENGINE: &str = "ENGINE-1";

/// A cases service configured with `engine`'s connector key.
pub async fn cases_for(engine: &Engine) -> TestApp {
    let server = engine.server_config(ENGINE, &engine.cases_key);
    TestApp::spawn_with(move |config| {
        config.cortex.servers = vec![server];
        config.cortex.refresh_seconds = 2;
    })
    .await
}

/// A case with an observable of `data_type`/`data`; returns (case, observable).
pub async fn case_with_observable(app: &TestApp, data_type: &str, data: &str) -> (Value, Value) {
    let case = app.new_case("Connector").await;
    let response = app
        .post(
            &format!("/api/case/{}/artifact", case["id"].as_str().unwrap()),
            &json!({"dataType": data_type, "data": data, "message": "seen"}),
        )
        .await;
    assert_eq!(response.status().as_u16(), 201);
    (case, response.json().await.unwrap())
}

/// `GET path` as the admin: status and JSON.
pub async fn get(app: &TestApp, path: &str) -> (u16, Value) {
    let response = app.get(path).await;
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// `POST path` as the admin: status and JSON.
pub async fn post(app: &TestApp, path: &str, body: &Value) -> (u16, Value) {
    let response = app.post(path, body).await;
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Waits (generously) until `path` answers an object whose `status` is no longer
/// `InProgress`; returns it.
pub async fn ended(app: &TestApp, path: &str) -> Value {
    let mut last = Value::Null;
    for _ in 0..1200 {
        let (status, body) = get(app, path).await;
        assert_eq!(status, 200, "{path}: {body}");
        if body["status"] != "InProgress" {
            return body;
        }
        last = body;
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{path} never ended: {last}");
}

/// Runs `analyzer` on an observable through the connector; returns the job once ended.
pub async fn run_analyzer(app: &TestApp, analyzer: &str, observable: &Value) -> Value {
    let (status, job) = post(
        app,
        "/api/connector/cortex/job",
        &json!({"analyzerId": analyzer, "artifactId": observable["id"], "cortexId": ENGINE}),
    )
    .await;
    assert_eq!(status, 200, "{job}");
    assert_eq!(job["status"], "InProgress", "{job}");
    ended(
        app,
        &format!("/api/connector/cortex/job/{}", job["id"].as_str().unwrap()),
    )
    .await
}

/// The audits of an object, oldest first.
pub async fn audits_of(app: &TestApp, object_id: &str) -> Vec<Value> {
    let (_, audits) = app
        .search(
            "/api/audit/_search?range=all&sort=startDate",
            &json!({"query": {"objectId": object_id}}),
        )
        .await;
    audits
}
