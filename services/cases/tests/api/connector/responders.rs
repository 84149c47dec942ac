//! Responders through the connector: those applicable to an entity, actions, and the
//! operations of a finished responder applied to this service's entities and audited.

use serde_json::{Value, json};

use super::{ENGINE, Engine, audits_of, case_with_observable, cases_for, ended, get, post};
use crate::helpers::TestApp;

/// Runs `ConnectorResponder_1_0` on an entity; returns the action once ended.
async fn respond(app: &TestApp, object_type: &str, object_id: &Value) -> Value {
    let (status, action) = post(
        app,
        "/api/connector/cortex/action",
        &json!({"responderId": "ConnectorResponder_1_0", "objectType": object_type, "objectId": object_id}),
    )
    .await;
    assert_eq!(status, 200, "{action}");
    assert_eq!(action["status"], "InProgress");
    ended(
        app,
        &format!(
            "/api/connector/cortex/action/{}",
            action["id"].as_str().unwrap()
        ),
    )
    .await
}

fn operations(action: &Value) -> Vec<Value> {
    serde_json::from_str(action["operations"].as_str().unwrap()).unwrap()
}

#[tokio::test]
async fn a_responder_on_a_case_has_its_operations_applied_and_audited() {
    let engine = Engine::start().await;
    let responder = engine
        .enable("responder", "ConnectorResponder_1_0", json!({}))
        .await;
    let app = cases_for(&engine).await;
    app.create_user("analyst", &["read", "write"]).await;
    let (case, _) = case_with_observable(&app, "ip", "192.0.2.5").await;
    let case_id = case["id"].as_str().unwrap();

    let (status, applicable) = get(
        &app,
        &format!("/api/connector/cortex/responder/case/{case_id}"),
    )
    .await;
    let action = respond(&app, "case", &case["id"]).await;
    let (_, listed) = get(
        &app,
        &format!("/api/connector/cortex/action/case/{case_id}"),
    )
    .await;
    let (_, updated) = get(&app, &format!("/api/case/{case_id}")).await;

    assert_eq!(status, 200);
    assert_eq!(applicable[0]["id"], responder["id"]);
    assert_eq!(applicable[0]["name"], "ConnectorResponder_1_0");
    assert_eq!(applicable[0]["cortexIds"], json!([ENGINE]));
    assert_eq!(action["status"], "Success", "{action}");
    assert_eq!(action["responderName"], "ConnectorResponder_1_0");
    assert_eq!(action["objectType"], "case");
    let report: Value = serde_json::from_str(action["report"].as_str().unwrap()).unwrap();
    assert_eq!(report["full"]["message"], "responded on thehive:case");
    assert!(report.get("operations").is_none());
    let outcome: Vec<(String, String)> = operations(&action)
        .iter()
        .map(|op| {
            (
                op["type"].as_str().unwrap().to_owned(),
                op["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        outcome,
        [
            ("AddTagToCase", "Success"),
            ("AddCustomFields", "Success"),
            ("AssignCase", "Success"),
            ("AddArtifactToCase", "Success"),
            ("AddTagToAlert", "Failure"),
        ]
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
    assert_eq!(
        operations(&action)[4]["message"],
        "AddTagToAlert applies only to alert, not to case"
    );
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["id"], action["id"]);
    assert!(
        updated["tags"]
            .as_array()
            .unwrap()
            .contains(&json!("responded"))
    );
    assert_eq!(updated["customFields"]["verdict"]["string"], "phishing");
    assert_eq!(updated["owner"], "analyst");
    let (total, added) = app
        .search(
            &format!("/api/case/{case_id}/artifact/_search"),
            &json!({"query": {"data": "198.51.100.9"}}),
        )
        .await;
    assert_eq!(total, 1);
    assert_eq!(added[0]["message"], "from the responder");
    // The changes are in the activity stream, under the requester, with the action's end.
    let case_audits = audits_of(&app, case_id).await;
    let action_audits = audits_of(&app, action["id"].as_str().unwrap()).await;
    let end = action_audits.last().unwrap();
    assert_eq!(end["details"]["status"], "Success");
    let from_responder: Vec<&Value> = case_audits
        .iter()
        .filter(|audit| audit["requestId"] == end["requestId"])
        .collect();
    assert!(from_responder.len() >= 3, "{case_audits:?}");
    assert!(
        from_responder
            .iter()
            .all(|audit| audit["createdBy"] == "admin")
    );
    assert!(
        from_responder
            .iter()
            .any(|audit| audit["details"]["owner"] == "analyst")
    );
}

#[tokio::test]
async fn responder_operations_reach_tasks_observables_and_alerts() {
    let engine = Engine::start().await;
    engine
        .enable("responder", "ConnectorResponder_1_0", json!({}))
        .await;
    let app = cases_for(&engine).await;
    let (case, observable) = case_with_observable(&app, "ip", "192.0.2.6").await;
    let (_, task) = post(
        &app,
        &format!("/api/case/{}/task", case["id"].as_str().unwrap()),
        &json!({"title": "Contain"}),
    )
    .await;
    let (_, alert) = post(
        &app,
        "/api/alert",
        &json!({"type": "mail", "source": "ingest", "sourceRef": "r-1", "title": "Reported", "description": "d"}),
    )
    .await;

    let on_task = respond(&app, "case_task", &task["id"]).await;
    let on_observable = respond(&app, "case_artifact", &observable["id"]).await;
    let on_alert = respond(&app, "alert", &alert["id"]).await;

    for action in [&on_task, &on_observable, &on_alert] {
        assert_eq!(action["status"], "Success", "{action}");
        assert!(
            operations(action)
                .iter()
                .all(|op| op["status"] == "Success"),
            "{action}"
        );
    }
    let (_, task_after) = get(
        &app,
        &format!("/api/case/task/{}", task["id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(task_after["status"], "Completed");
    let (_, logs) = get(
        &app,
        &format!("/api/case/task/{}/log", task["id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(logs[0]["message"], "responder was here");
    let (_, observable_after) = get(
        &app,
        &format!("/api/case/artifact/{}", observable["id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(observable_after["tags"], json!(["checked"]));
    let (_, alert_after) = get(
        &app,
        &format!("/api/alert/{}", alert["id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(alert_after["tags"], json!(["triaged"]));
    assert_eq!(alert_after["status"], "Ignored");
    let alert_audits = audits_of(&app, alert["id"].as_str().unwrap()).await;
    assert!(
        alert_audits
            .iter()
            .any(|audit| audit["details"]["status"] == "Ignored"),
        "{alert_audits:?}"
    );
}

#[tokio::test]
async fn a_responder_request_for_an_unknown_entity_or_responder_is_refused() {
    let engine = Engine::start().await;
    engine
        .enable("responder", "ConnectorResponder_1_0", json!({}))
        .await;
    let app = cases_for(&engine).await;
    let (case, _) = case_with_observable(&app, "ip", "192.0.2.7").await;

    let (missing_entity, _) = post(
        &app,
        "/api/connector/cortex/action",
        &json!({"responderId": "ConnectorResponder_1_0", "objectType": "case", "objectId": "nope"}),
    )
    .await;
    let (bad_type, body) = post(&app, "/api/connector/cortex/action",
        &json!({"responderId": "ConnectorResponder_1_0", "objectType": "user", "objectId": "admin"})).await;
    let (unknown_responder, _) = post(
        &app,
        "/api/connector/cortex/action",
        &json!({"responderId": "Nope", "objectType": "case", "objectId": case["id"]}),
    )
    .await;

    assert_eq!(missing_entity, 404);
    assert_eq!(bad_type, 400, "{body}");
    assert_eq!(unknown_responder, 404);
    let (total, _) = app
        .search("/api/connector/cortex/action/_search", &json!({}))
        .await;
    assert_eq!(total, 0);
}
