//! Secret user fields (password hash, sealed key, key fingerprint) never leave the service and
//! never match: no answer carries them, no query, sort or aggregation may name them, and a
//! `read` user walking every search and stats route obtains none of them.

use serde_json::{Value, json};

use crate::helpers::{TestApp, json_of};

/// Every search and stats route of the service (parameterised ones with real ids).
fn search_routes(case_id: &str, task_id: &str) -> Vec<String> {
    [
        "/api/_search",
        "/api/user/_search",
        "/api/case/_search",
        "/api/case/task/_search",
        "/api/case/task/log/_search",
        "/api/case/artifact/_search",
        "/api/alert/_search",
        "/api/audit/_search",
        "/api/dashboard/_search",
        "/api/case/template/_search",
    ]
    .into_iter()
    .map(str::to_owned)
    .chain([
        format!("/api/case/{case_id}/task/_search"),
        format!("/api/case/{case_id}/artifact/_search"),
        format!("/api/case/task/{task_id}/log/_search"),
    ])
    .collect()
}

const STATS_ROUTES: &[&str] = &[
    "/api/case/_stats",
    "/api/case/task/_stats",
    "/api/case/task/log/_stats",
    "/api/case/artifact/_stats",
    "/api/alert/_stats",
    "/api/audit/_stats",
    "/api/dashboard/_stats",
];

/// What a `read` user must never see: every stored secret of every user.
async fn stored_secrets(app: &TestApp, logins: &[&str]) -> Vec<String> {
    let mut secrets = Vec::new();
    for login in logins {
        let document = app.state.store.get("user", login).await.unwrap();
        for field in ["password", "keySealed", "keyFingerprint"] {
            let value = document.body[field].as_str().unwrap().to_owned();
            secrets.push(value);
        }
    }
    secrets
}

fn assert_no_secret(body: &str, secrets: &[String], context: &str) {
    for secret in secrets {
        assert!(
            !body.contains(secret.as_str()),
            "{context} answered a secret: {body}"
        );
    }
    for name in ["keySealed", "keyFingerprint", "$argon2"] {
        assert!(!body.contains(name), "{context} answered {name}: {body}");
    }
}

#[tokio::test]
async fn global_stats_refuse_the_user_model_and_never_answer_user_documents() {
    let app = TestApp::spawn().await;
    let reader = app.create_user("stats-reader", &["read"]).await;

    let response = app
        .post_as(
            &reader,
            "/api/_stats",
            &json!({"stats": [{"model": "user", "stats": [{"_agg": "top", "_size": 1000}]}]}),
        )
        .await;

    assert_eq!(response.status().as_u16(), 400);
    let body = response.text().await.unwrap();
    assert!(body.contains("model user"), "{body}");
    assert!(!body.contains("keySealed"), "{body}");
}

#[tokio::test]
async fn global_stats_accept_the_models_of_the_global_search_with_its_visibility() {
    let app = TestApp::spawn().await;
    let kept = app.new_case("kept").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let gone = app.new_case("gone").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let deleted = app.delete(&format!("/api/case/{gone}")).await;
    assert!(deleted.status().is_success());

    let stats = app
        .post(
            "/api/_stats",
            &json!({"stats": [{"model": "case", "stats": [{"_agg": "top", "_name": "cases"}]}]}),
        )
        .await;
    let (total, searched) = app
        .search("/api/_search", &json!({"query": {"_type": "case"}}))
        .await;

    assert_eq!(stats.status().as_u16(), 200);
    let stats = json_of(stats).await;
    let ids: Vec<_> = stats["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|hit| hit["_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, vec![kept.clone()]);
    assert_eq!(total, 1);
    assert_eq!(searched[0]["id"], kept.as_str());
    for model in ["audit", "dashboard", "case_artifact_job", "user_key"] {
        let refused = app
            .post(
                "/api/_stats",
                &json!({"stats": [{"model": model, "stats": [{"_agg": "count"}]}]}),
            )
            .await;
        assert_eq!(refused.status().as_u16(), 400, "{model}");
    }
}

#[tokio::test]
async fn queries_sorts_and_aggregations_naming_a_secret_user_field_are_refused() {
    let app = TestApp::spawn().await;
    let reader = app.create_user("oracle-reader", &["read"]).await;

    let refused = [
        json!({"query": {"_gte": {"password": "$argon2id$v=19$m"}}}),
        json!({"query": {"_wildcard": {"_field": "keySealed", "_value": "a*"}}}),
        json!({"query": {"_string": "keyFingerprint:a*"}}),
        json!({"query": {"_contains": "password"}}),
        json!({"query": {"_between": {"_field": "password", "_from": "$", "_to": "$b"}}}),
        json!({"sort": ["+password"]}),
        json!({"sort": ["-keyFingerprint"]}),
    ];
    for body in &refused {
        let response = app.post_as(&reader, "/api/user/_search", body).await;
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        assert_eq!(status, 400, "{body}: {text}");
        assert!(text.contains("secret"), "{text}");
    }
}

#[tokio::test]
async fn full_text_never_matches_a_secret_user_field() {
    let app = TestApp::spawn().await;
    let reader = app.create_user("text-reader", &["read"]).await;

    // Every password hash holds the word argon2id; no other user field does.
    let response = app
        .post_as(
            &reader,
            "/api/user/_search",
            &json!({"query": {"_string": "argon2id"}}),
        )
        .await;

    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(json_of(response).await, json!([]));
}

#[tokio::test]
async fn api_keys_still_authenticate_and_stop_when_renewed_or_revoked() {
    let app = TestApp::spawn().await;
    let first = app.create_user("key-holder", &["read"]).await;
    assert_eq!(app.get_as(&first, "/api/user/current").await.status(), 200);

    let renewed = app.post("/api/user/key-holder/key/renew", &json!({})).await;
    let second = renewed.text().await.unwrap();

    assert_eq!(app.get_as(&first, "/api/user/current").await.status(), 401);
    assert_eq!(app.get_as(&second, "/api/user/current").await.status(), 200);
    let revoked = app.delete("/api/user/key-holder/key").await;
    assert!(revoked.status().is_success());
    assert_eq!(app.get_as(&second, "/api/user/current").await.status(), 401);
}

#[tokio::test]
async fn a_read_user_walking_every_search_and_stats_route_obtains_no_secret() {
    let app = TestApp::spawn().await;
    let reader = app.create_user("matrix-walker", &["read"]).await;
    let case_id = app.new_case("walked").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let task_id = app.new_task(&case_id, "walked task").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.create_observable(
        &case_id,
        &json!({"dataType": "ip", "data": "10.0.0.1", "message": "m"}),
    )
    .await;
    let secrets = stored_secrets(&app, &["admin", "matrix-walker"]).await;

    let queries = [
        json!({}),
        json!({"query": {"_string": "*"}, "range": "all"}),
        json!({"query": {"_gte": {"password": "$"}}}),
        json!({"query": {"_parent": {"_type": "user", "_query": {"_gte": {"password": "$"}}}}}),
        json!({"sort": ["+password"]}),
    ];
    for route in search_routes(&case_id, &task_id) {
        for query in &queries {
            let response = app.post_as(&reader, &route, query).await;
            let status = response.status().as_u16();
            let body = response.text().await.unwrap();
            assert!(status < 500, "{route} {query}: {status} {body}");
            assert_no_secret(&body, &secrets, &route);
        }
    }
    let aggregations = [
        json!([{"_agg": "top", "_size": 1000}]),
        json!([{"_agg": "field", "_field": "password", "_select": [{"_agg": "top"}]}]),
        json!([{"_agg": "field", "_field": "keySealed"}]),
    ];
    for route in STATS_ROUTES {
        for stats in &aggregations {
            let response = app.post_as(&reader, route, &json!({"stats": stats})).await;
            let status = response.status().as_u16();
            let body = response.text().await.unwrap();
            assert!(status < 500, "{route} {stats}: {status} {body}");
            assert_no_secret(&body, &secrets, route);
        }
    }
    for model in [
        "user",
        "case",
        "case_task",
        "case_task_log",
        "case_artifact",
        "alert",
        "audit",
        "user_key",
    ] {
        for stats in &aggregations {
            let body = json!({"stats": [{"model": model, "stats": stats}]});
            let response = app.post_as(&reader, "/api/_stats", &body).await;
            let status = response.status().as_u16();
            let text = response.text().await.unwrap();
            assert!(status < 500, "{body}: {status} {text}");
            assert_no_secret(&text, &secrets, "/api/_stats");
        }
    }
    for path in [
        "/api/user/admin".to_owned(),
        "/api/user/current".to_owned(),
        "/api/audit".to_owned(),
        "/api/flow".to_owned(),
        format!("/api/case/{case_id}"),
    ] {
        let response = app.get_as(&reader, &path).await;
        let body = response.text().await.unwrap();
        assert_no_secret(&body, &secrets, &path);
    }
    let user_key = app.get_as(&reader, "/api/user/admin/key").await;
    assert_eq!(user_key.status().as_u16(), 403);
}

#[tokio::test]
async fn stored_users_keep_their_secrets_out_of_the_user_index() {
    let app = TestApp::spawn().await;
    app.create_user("indexed-or-not", &["read"]).await;
    let document = app.state.store.get("user", "indexed-or-not").await.unwrap();
    let hash = document.body["password"].as_str().unwrap();

    let found = app
        .state
        .store
        .count("user", &skep_store::Query::eq("password", hash))
        .await
        .unwrap();

    assert_eq!(found, 0);
    assert_eq!(
        Value::from(document.body.contains_key("keyFingerprint")),
        json!(true)
    );
}
