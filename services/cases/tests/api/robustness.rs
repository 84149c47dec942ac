//! Every protected route refuses anonymous callers; malformed input answers 4xx with the
//! TheHive error body, never 500.

use serde_json::{Value, json};

use crate::helpers::{TestApp, http_client, json_of};

/// Every case, task, log, observable, user, datastore and global route (not the public ones).
const PROTECTED: &[(&str, &str)] = &[
    ("GET", "/api/user/current"),
    ("POST", "/api/user/_search"),
    ("POST", "/api/user"),
    ("GET", "/api/user/someone"),
    ("PATCH", "/api/user/someone"),
    ("DELETE", "/api/user/someone"),
    ("POST", "/api/user/someone/password/set"),
    ("POST", "/api/user/someone/password/change"),
    ("GET", "/api/user/someone/key"),
    ("POST", "/api/user/someone/key/renew"),
    ("DELETE", "/api/user/someone/key"),
    ("GET", "/api/case"),
    ("POST", "/api/case"),
    ("POST", "/api/case/_search"),
    ("POST", "/api/case/_stats"),
    ("PATCH", "/api/case/_bulk"),
    ("GET", "/api/case/x"),
    ("PATCH", "/api/case/x"),
    ("DELETE", "/api/case/x"),
    ("DELETE", "/api/case/x/force"),
    ("GET", "/api/case/x/links"),
    ("POST", "/api/case/x/_merge/y"),
    ("POST", "/api/case/x/task"),
    ("POST", "/api/case/x/task/_search"),
    ("POST", "/api/case/task/_search"),
    ("POST", "/api/case/task/_stats"),
    ("GET", "/api/case/task/x"),
    ("PATCH", "/api/case/task/x"),
    ("POST", "/api/case/task/x/log"),
    ("GET", "/api/case/task/x/log"),
    ("POST", "/api/case/task/x/log/_search"),
    ("POST", "/api/case/task/log/_search"),
    ("POST", "/api/case/task/log/_stats"),
    ("GET", "/api/case/task/log/x"),
    ("PATCH", "/api/case/task/log/x"),
    ("DELETE", "/api/case/task/log/x"),
    ("POST", "/api/case/x/artifact"),
    ("POST", "/api/case/x/artifact/_search"),
    ("POST", "/api/case/artifact/_search"),
    ("POST", "/api/case/artifact/_stats"),
    ("PATCH", "/api/case/artifact/_bulk"),
    ("GET", "/api/case/artifact/x"),
    ("PATCH", "/api/case/artifact/x"),
    ("DELETE", "/api/case/artifact/x"),
    ("GET", "/api/case/artifact/x/similar"),
    ("GET", "/api/datastore/x"),
    ("GET", "/api/datastorezip/x"),
    ("POST", "/api/_search"),
    ("POST", "/api/_stats"),
];

#[tokio::test]
async fn every_protected_route_answers_401_without_credentials() {
    let app = TestApp::spawn().await;
    let client = http_client();

    for (method, path) in PROTECTED {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let response = client
            .request(method.clone(), app.url(path))
            .json(&json!({}))
            .send()
            .await
            .unwrap();

        assert_eq!(response.status().as_u16(), 401, "{method} {path}");
        assert_eq!(
            json_of(response).await["type"],
            "AuthenticationError",
            "{method} {path}"
        );
    }
}

#[tokio::test]
async fn malformed_bodies_and_queries_answer_400_never_500() {
    let app = TestApp::spawn().await;
    let case_id = app.new_case("robust").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let raw = |path: &str, body: &'static str| {
        app.client
            .post(app.url(path))
            .bearer_auth(&app.admin_key)
            .header("Content-Type", "application/json")
            .body(body)
            .send()
    };

    let invalid_json = raw("/api/case", "{not json").await.unwrap();
    let not_an_object = raw("/api/case", "[1, 2]").await.unwrap();
    let bad_query = app
        .post(
            "/api/case/_search",
            &json!({"query": {"_between": {"_field": "severity"}}}),
        )
        .await;
    let bad_agg = app
        .post(
            "/api/case/_stats",
            &json!({"stats": [{"_agg": "nonsense"}]}),
        )
        .await;
    let bad_string = app
        .post(
            "/api/case/_search",
            &json!({"query": {"_string": "title:(unclosed"}}),
        )
        .await;
    let wrong_types = app
        .post(
            &format!("/api/case/{case_id}/task"),
            &json!({"title": ["a"], "order": "x"}),
        )
        .await;
    let bad_date = app
        .patch(
            &format!("/api/case/{case_id}"),
            &json!({"startDate": "yesterday"}),
        )
        .await;

    for (name, response) in [
        ("invalid JSON", invalid_json),
        ("non-object JSON", not_an_object),
        ("bad query", bad_query),
        ("bad aggregation", bad_agg),
        ("bad query string", bad_string),
        ("wrong types", wrong_types),
        ("bad date", bad_date),
    ] {
        assert_eq!(response.status().as_u16(), 400, "{name}");
        let body: Value = response.json().await.unwrap();
        assert!(body["type"].is_string(), "{name}: {body}");
    }
}

#[tokio::test]
async fn an_empty_body_with_a_json_content_type_is_an_empty_object() {
    let app = TestApp::spawn().await;
    app.new_case("empty body").await;

    let response = app
        .client
        .post(app.url("/api/case/_search"))
        .bearer_auth(&app.admin_key)
        .header("Content-Type", "application/json")
        .send()
        .await
        .unwrap();

    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["x-total"], "1");
}

#[tokio::test]
async fn unknown_api_routes_answer_404_not_found_error() {
    let app = TestApp::spawn().await;

    let response = app.get("/api/nothing/here").await;

    assert_eq!(response.status().as_u16(), 404);
    assert_eq!(json_of(response).await["type"], "NotFoundError");
}

#[tokio::test]
async fn the_global_search_spans_models_and_skips_deleted_documents() {
    let app = TestApp::spawn().await;
    let kept = app.new_case("global needle").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let dropped = app.new_case("global needle too").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.new_task(&kept, "needle task").await;
    app.delete(&format!("/api/case/{dropped}")).await;

    let (total, found) = app
        .search(
            "/api/_search?range=all",
            &json!({"query": {"_like": {"_field": "title", "_value": "needle"}}}),
        )
        .await;

    assert_eq!(total, 2);
    let mut types: Vec<&str> = found
        .iter()
        .map(|item| item["_type"].as_str().unwrap())
        .collect();
    types.sort_unstable();
    assert_eq!(types, vec!["case", "case_task"]);
}

#[tokio::test]
async fn the_global_stats_merge_the_results_of_each_model() {
    let app = TestApp::spawn().await;
    let case_id = app.new_case("stats").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.new_task(&case_id, "a").await;
    app.new_task(&case_id, "b").await;

    let response = app
        .post(
            "/api/_stats",
            &json!({"stats": [
                {"model": "case", "stats": [{"_agg": "count", "_name": "cases"}]},
                {"model": "case_task", "query": {"status": "Waiting"}, "stats": [{"_agg": "count", "_name": "waitingTasks"}]}
            ]}),
        )
        .await;

    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        json_of(response).await,
        json!({"cases": 1, "waitingTasks": 2})
    );
}

#[tokio::test]
async fn writes_on_tasks_logs_and_observables_need_write_while_reads_need_read() {
    let app = TestApp::spawn().await;
    let reader = app.create_user("matrix-reader", &["read"]).await;
    let alert_only = app.create_user("matrix-feeder", &["alert"]).await;
    let case_id = app.new_case("matrix").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let task_id = app.new_task(&case_id, "t").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let log = json_of(app.create_log(&task_id, &json!({"message": "m"})).await).await;
    let log_id = log["id"].as_str().unwrap();
    let item = json_of(
        app.create_observable(
            &case_id,
            &json!({"dataType": "ip", "data": "5.5.5.5", "message": "m"}),
        )
        .await,
    )
    .await;
    let item_id = item["id"].as_str().unwrap();

    let writes = [
        app.post_as(
            &reader,
            &format!("/api/case/{case_id}/task"),
            &json!({"title": "x"}),
        )
        .await,
        app.patch_as(
            &reader,
            &format!("/api/case/task/{task_id}"),
            &json!({"title": "x"}),
        )
        .await,
        app.patch_as(
            &reader,
            &format!("/api/case/task/log/{log_id}"),
            &json!({"message": "x"}),
        )
        .await,
        app.delete_as(&reader, &format!("/api/case/task/log/{log_id}"))
            .await,
        app.post_as(
            &reader,
            &format!("/api/case/{case_id}/artifact"),
            &json!({"dataType": "ip", "data": "6.6.6.6", "message": "m"}),
        )
        .await,
        app.patch_as(
            &reader,
            &format!("/api/case/artifact/{item_id}"),
            &json!({"message": "x"}),
        )
        .await,
        app.delete_as(&reader, &format!("/api/case/artifact/{item_id}"))
            .await,
        app.delete_as(&reader, &format!("/api/case/{case_id}/force"))
            .await,
    ];
    let reads = [
        app.get_as(&alert_only, &format!("/api/case/task/{task_id}"))
            .await,
        app.get_as(&alert_only, &format!("/api/case/task/log/{log_id}"))
            .await,
        app.get_as(&alert_only, &format!("/api/case/artifact/{item_id}"))
            .await,
        app.get_as(&alert_only, "/api/datastore/abc").await,
        app.post_as(&alert_only, "/api/_search", &json!({})).await,
    ];

    for response in writes.into_iter().chain(reads) {
        let url = response.url().to_string();
        assert_eq!(response.status().as_u16(), 403, "{url}");
        assert_eq!(
            json_of(response).await["type"],
            "AuthorizationError",
            "{url}"
        );
    }
    assert_eq!(
        app.get_as(&reader, &format!("/api/case/artifact/{item_id}"))
            .await
            .status()
            .as_u16(),
        200
    );
}
