//! Case metrics: time to detect, acknowledge and resolve, searchable and aggregatable.

use serde_json::json;

use crate::helpers::{TestApp, json_of};

const HOUR: i64 = 3_600_000;

#[tokio::test]
async fn metrics_are_computed_and_can_be_searched_and_aggregated() {
    let app = TestApp::spawn().await;
    let start = 1_700_000_000_000_i64;
    let case = json_of(
        app.create_case(&json!({"title": "Measured", "description": "d", "startDate": start}))
            .await,
    )
    .await;
    let case_id = case["id"].as_str().unwrap();
    let alert = json!({"title": "a", "description": "d", "type": "t", "source": "s", "sourceRef": "m1", "date": start - 120_000});
    let alert_id = json_of(app.post("/api/alert", &alert).await).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post(
        &format!("/api/alert/{alert_id}/merge/{case_id}"),
        &json!({}),
    )
    .await;
    app.patch(&format!("/api/case/{case_id}"), &json!({"status": "Resolved", "resolutionStatus": "TruePositive", "summary": "s", "endDate": start + HOUR})).await;
    app.new_case("Unmeasured").await;

    let (total, found) = app
        .search(
            "/api/case/_search",
            &json!({"query": {"_gte": {"computed.timeToResolveSeconds": 3600}}}),
        )
        .await;
    let (detected, _) = app
        .search(
            "/api/case/_search",
            &json!({"query": {"_field": "computed.timeToDetectSeconds", "_value": 120}}),
        )
        .await;
    let (acknowledged, _) = app
        .search(
            "/api/case/_search",
            &json!({"query": {"_contains": "computed.timeToAcknowledgeSeconds"}}),
        )
        .await;
    let stats = json_of(
        app.post("/api/case/_stats", &json!({"query": {}, "stats": [{"_agg": "max", "_field": "computed.timeToResolveSeconds"}]})).await,
    )
    .await;

    assert_eq!(total, 1);
    assert_eq!(found[0]["id"], case_id);
    assert_eq!(detected, 1);
    assert_eq!(acknowledged, 1);
    assert_eq!(stats["max_computed.timeToResolveSeconds"], 3600);
}

#[tokio::test]
async fn a_started_task_acknowledges_the_case() {
    let app = TestApp::spawn().await;
    let case = app.new_case("Ack").await;
    let case_id = case["id"].as_str().unwrap();
    let task = app.new_task(case_id, "Look").await;

    app.patch(
        &format!("/api/case/task/{}", task["id"].as_str().unwrap()),
        &json!({"status": "InProgress"}),
    )
    .await;

    let (acknowledged, _) = app
        .search(
            "/api/case/_search",
            &json!({"query": {"_contains": "computed.timeToAcknowledgeSeconds"}}),
        )
        .await;
    let (detected, _) = app
        .search(
            "/api/case/_search",
            &json!({"query": {"_contains": "computed.timeToDetectSeconds"}}),
        )
        .await;
    assert_eq!(acknowledged, 1);
    assert_eq!(detected, 0);
}
