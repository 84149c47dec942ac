//! Activity: audit records of every change, the flow, `/api/audit`, long-poll streams and
//! server-sent events.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{TestApp, json_of};

async fn audits_of(app: &TestApp, object_id: &str) -> Vec<Value> {
    let (_, audits) = app
        .search(
            "/api/audit/_search?range=all&sort=startDate",
            &json!({"query": {"objectId": object_id}}),
        )
        .await;
    audits
}

#[tokio::test]
async fn creating_updating_and_deleting_a_case_is_audited_with_the_caller_and_details() {
    let app = TestApp::spawn().await;
    let case = app.new_case("Audited").await;
    let id = case["id"].as_str().unwrap();

    app.patch(&format!("/api/case/{id}"), &json!({"severity": 3}))
        .await;
    app.delete(&format!("/api/case/{id}")).await;

    let audits = audits_of(&app, id).await;
    let operations: Vec<&str> = audits
        .iter()
        .map(|audit| audit["operation"].as_str().unwrap())
        .collect();
    assert_eq!(operations, vec!["Creation", "Update", "Delete"]);
    assert_eq!(audits[0]["objectType"], "case");
    assert_eq!(audits[0]["rootId"], id);
    assert_eq!(audits[0]["createdBy"], "admin");
    assert_eq!(audits[0]["details"]["title"], "Audited");
    assert_eq!(audits[1]["details"], json!({"severity": 3}));
    assert_eq!(audits[2]["details"]["status"], "Deleted");
    assert!(audits[0].get("object").is_none());
}

#[tokio::test]
async fn operations_of_one_request_share_a_request_id_and_only_the_first_is_base() {
    let app = TestApp::spawn().await;
    let case = json_of(app.create_case(&json!({"title": "With tasks", "description": "d", "tasks": [{"title": "a"}, {"title": "b"}]})).await).await;
    let case_id = case["id"].as_str().unwrap();

    let (total, audits) = app
        .search(
            "/api/audit/_search?range=all",
            &json!({"query": {"rootId": case_id}}),
        )
        .await;

    assert_eq!(total, 3);
    let request_ids: Vec<&Value> = audits.iter().map(|audit| &audit["requestId"]).collect();
    assert!(request_ids.iter().all(|id| *id == request_ids[0]));
    let bases: Vec<&Value> = audits
        .iter()
        .filter(|audit| audit["base"] == true)
        .collect();
    assert_eq!(bases.len(), 1);
    assert_eq!(bases[0]["objectType"], "case");
}

#[tokio::test]
async fn alerts_and_templates_are_audited_too() {
    let app = TestApp::spawn().await;
    let alert = json_of(
        app.post("/api/alert", &json!({"title": "a", "description": "d", "type": "t", "source": "s", "sourceRef": "r"})).await,
    )
    .await;
    let id = alert["id"].as_str().unwrap();
    app.post(&format!("/api/alert/{id}/markAsRead"), &json!({}))
        .await;
    app.delete(&format!("/api/alert/{id}?force=1")).await;

    let operations: Vec<String> = audits_of(&app, id)
        .await
        .iter()
        .map(|a| a["operation"].as_str().unwrap().to_owned())
        .collect();

    assert_eq!(operations, vec!["Creation", "Update", "Delete"]);
}

#[tokio::test]
async fn the_flow_lists_recent_base_operations_with_their_summary() {
    let app = TestApp::spawn().await;
    let first = json_of(
        app.create_case(&json!({"title": "One", "description": "d", "tasks": [{"title": "t"}]}))
            .await,
    )
    .await;
    let second = app.new_case("Two").await;

    let response = app.get("/api/flow?count=1").await;
    let scoped = json_of(
        app.get(&format!(
            "/api/flow?rootId={}",
            first["id"].as_str().unwrap()
        ))
        .await,
    )
    .await;

    assert_eq!(response.status().as_u16(), 200);
    let total: u64 = response.headers()["X-Total"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(total >= 2);
    let flow = json_of(response).await;
    assert_eq!(flow.as_array().unwrap().len(), 1);
    assert_eq!(flow[0]["base"]["objectId"], second["id"]);
    assert_eq!(flow[0]["base"]["object"]["title"], "Two");
    assert_eq!(
        scoped[0]["summary"],
        json!({"case": {"Creation": 1}, "case_task": {"Creation": 1}})
    );
}

#[tokio::test]
async fn audit_stats_aggregate_operations() {
    let app = TestApp::spawn().await;
    app.new_case("A").await;
    app.new_case("B").await;

    let stats = json_of(
        app.post("/api/audit/_stats", &json!({"query": {"objectType": "case"}, "stats": [{"_agg": "field", "_field": "operation", "_select": [{"_agg": "count"}]}]}))
            .await,
    )
    .await;

    assert_eq!(stats, json!({"Creation": {"count": 2}}));
}

#[tokio::test]
async fn a_stream_delivers_the_messages_of_requests_made_after_it_was_opened() {
    let app = TestApp::spawn().await;
    let opened = app.post("/api/stream", &json!({})).await;
    assert_eq!(opened.status().as_u16(), 200);
    let stream_id = opened.text().await.unwrap();
    assert_eq!(stream_id.len(), 20);

    let case = app.new_case("Streamed").await;
    let messages = json_of(app.get(&format!("/api/stream/{stream_id}")).await).await;

    let message = messages
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["base"]["objectId"] == case["id"])
        .unwrap();
    assert_eq!(message["base"]["objectType"], "case");
    assert_eq!(message["base"]["operation"], "Creation");
    assert_eq!(message["base"]["user"], "admin");
    assert_eq!(message["base"]["rootId"], case["id"]);
    assert_eq!(message["base"]["object"]["title"], "Streamed");
    assert!(message["base"]["requestId"].is_string());
    assert_eq!(message["summary"], json!({"case": {"Creation": 1}}));
}

#[tokio::test]
async fn an_idle_stream_answers_an_empty_list_after_the_refresh_delay() {
    let app = TestApp::spawn_with(|config| config.stream.refresh_seconds = 1).await;
    let stream_id = app
        .post("/api/stream", &json!({}))
        .await
        .text()
        .await
        .unwrap();

    let response = app.get(&format!("/api/stream/{stream_id}")).await;

    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(json_of(response).await, json!([]));
}

#[tokio::test]
async fn unknown_and_malformed_stream_ids_are_refused() {
    let app = TestApp::spawn().await;

    let unknown = app.get("/api/stream/abcdefghij0123456789").await;
    let malformed = app.get("/api/stream/short").await;

    assert_eq!(unknown.status().as_u16(), 404);
    assert_eq!(
        json_of(unknown).await,
        json!({"type": "StreamNotFound", "message": "Stream abcdefghij0123456789 doesn't exist"})
    );
    assert_eq!(malformed.status().as_u16(), 400);
}

#[tokio::test]
async fn stream_status_reports_the_session_lifetime() {
    let app = TestApp::spawn().await;
    let client = skep_testkit::cookie_client();
    let login = client
        .post(app.url("/api/login"))
        .json(&json!({"user": crate::helpers::ADMIN_LOGIN, "password": crate::helpers::ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status().as_u16(), 200);

    let with_session = json_of(
        client
            .get(app.url("/api/stream/status"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let without = json_of(
        app.client
            .get(app.url("/api/stream/status"))
            .send()
            .await
            .unwrap(),
    )
    .await;

    assert!(with_session["remaining"].as_i64().unwrap() > 300);
    assert_eq!(with_session["warning"], false);
    assert_eq!(without, json!({"remaining": 0, "warning": true}));
}

#[tokio::test]
async fn server_sent_events_carry_the_stream_messages() {
    let app = TestApp::spawn().await;
    let mut events = app
        .client
        .get(app.url("/api/stream/sse"))
        .bearer_auth(&app.admin_key)
        .send()
        .await
        .unwrap();
    assert_eq!(events.status().as_u16(), 200);
    assert_eq!(events.headers()["content-type"], "text/event-stream");

    let case = app.new_case("Pushed").await;

    let mut received = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !received.contains(case["id"].as_str().unwrap()) && tokio::time::Instant::now() < deadline
    {
        if let Ok(Ok(Some(chunk))) =
            tokio::time::timeout(Duration::from_secs(20), events.chunk()).await
        {
            received.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
    let line = received
        .lines()
        .find(|line| line.starts_with("data: ") && line.contains("Pushed"))
        .unwrap();
    let message: Value = serde_json::from_str(&line["data: ".len()..]).unwrap();
    assert_eq!(message["base"]["objectType"], "case");
}

#[tokio::test]
async fn activity_routes_need_credentials() {
    let app = TestApp::spawn().await;

    for path in ["/api/flow", "/api/audit", "/api/stream/sse"] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 401, "{path}");
    }
    let response = app
        .client
        .post(app.url("/api/stream"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
}

#[tokio::test]
async fn every_alert_template_list_and_activity_route_answers_401_without_credentials() {
    let app = TestApp::spawn().await;
    let routes = [
        ("POST", "/api/alert"),
        ("GET", "/api/alert"),
        ("POST", "/api/alert/_search"),
        ("POST", "/api/alert/_stats"),
        ("PATCH", "/api/alert/_bulk"),
        ("GET", "/api/alert/_fixStatus"),
        ("POST", "/api/alert/merge/_bulk"),
        ("POST", "/api/alert/delete/_bulk"),
        ("POST", "/api/alert/_bulk/tag"),
        ("POST", "/api/alert/_bulk/markAsRead"),
        ("GET", "/api/alert/x"),
        ("PATCH", "/api/alert/x"),
        ("DELETE", "/api/alert/x"),
        ("POST", "/api/alert/x/markAsRead"),
        ("POST", "/api/alert/x/markAsUnread"),
        ("POST", "/api/alert/x/follow"),
        ("POST", "/api/alert/x/unfollow"),
        ("POST", "/api/alert/x/createCase"),
        ("POST", "/api/alert/x/merge/y"),
        ("POST", "/api/case/template/_search"),
        ("POST", "/api/case/template"),
        ("GET", "/api/case/template/x"),
        ("PATCH", "/api/case/template/x"),
        ("DELETE", "/api/case/template/x"),
        ("GET", "/api/list"),
        ("GET", "/api/list/custom_fields"),
        ("POST", "/api/list/custom_fields"),
        ("POST", "/api/list/custom_fields/_exists"),
        ("PATCH", "/api/list/x"),
        ("DELETE", "/api/list/x"),
        ("GET", "/api/customFields/x"),
        ("GET", "/api/describe/_all"),
        ("GET", "/api/describe/case"),
        ("GET", "/api/dashboard"),
        ("POST", "/api/dashboard"),
        ("POST", "/api/dashboard/_search"),
        ("POST", "/api/dashboard/_stats"),
        ("GET", "/api/dashboard/x"),
        ("PATCH", "/api/dashboard/x"),
        ("DELETE", "/api/dashboard/x"),
        ("GET", "/api/flow"),
        ("GET", "/api/audit"),
        ("POST", "/api/audit/_search"),
        ("POST", "/api/audit/_stats"),
        ("POST", "/api/stream"),
        ("GET", "/api/stream/abcdefghij0123456789"),
        ("GET", "/api/stream/sse"),
    ];

    for (method, path) in routes {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let response = app
            .client
            .request(method.clone(), app.url(path))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 401, "{method} {path}");
    }
    let status = app
        .client
        .get(app.url("/api/stream/status"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        status.status().as_u16(),
        200,
        "stream status needs no credentials"
    );
}

#[tokio::test]
async fn stream_objects_of_tasks_embed_their_case() {
    let app = TestApp::spawn().await;
    let stream_id = app
        .post("/api/stream", &json!({}))
        .await
        .text()
        .await
        .unwrap();
    let case = app.new_case("Parent").await;
    let case_id = case["id"].as_str().unwrap();

    let task = app.new_task(case_id, "Child").await;
    let messages = json_of(app.get(&format!("/api/stream/{stream_id}")).await).await;

    let message = messages
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["base"]["objectId"] == task["id"])
        .unwrap();
    assert_eq!(message["base"]["objectType"], "case_task");
    assert_eq!(message["base"]["rootId"], case_id);
    assert_eq!(message["base"]["object"]["case"]["title"], "Parent");
}

#[tokio::test]
async fn a_force_deleted_case_audits_the_removal_of_each_child() {
    let app = TestApp::spawn().await;
    let case = app.new_case("Force").await;
    let case_id = case["id"].as_str().unwrap();
    let task_id = app.new_task(case_id, "t").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let observable = json_of(
        app.create_observable(
            case_id,
            &json!({"dataType": "ip", "data": "10.7.7.7", "message": "m"}),
        )
        .await,
    )
    .await;
    let observable_id = observable["id"].as_str().unwrap().to_owned();

    let force = app.delete(&format!("/api/case/{case_id}/force")).await;

    assert_eq!(force.status().as_u16(), 204);
    for (id, kind) in [
        (task_id.as_str(), "case_task"),
        (observable_id.as_str(), "case_artifact"),
        (case_id, "case"),
    ] {
        let audits = audits_of(&app, id).await;
        let last = audits
            .last()
            .unwrap_or_else(|| panic!("no audit of {kind} {id}"));
        assert_eq!(last["operation"], "Delete", "{kind}: {last}");
        assert_eq!(last["objectType"], kind);
        assert_eq!(last["rootId"], case_id, "{kind}");
    }
}
