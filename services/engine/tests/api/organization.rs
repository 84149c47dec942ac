//! Organisations: create, read, search, stats, update, lock; the immutable default organisation;
//! bad input.

use reqwest::Method;
use reqwest::header::CONTENT_TYPE;
use serde_json::json;

use crate::helpers::{TestApp, status_and_json, unique};

#[tokio::test]
async fn creating_an_organization_answers_201_with_the_cortex_shape() {
    let app = TestApp::spawn().await;
    let name = unique("acme");

    let (status, body) = status_and_json(
        app.post(
            "/api/organization",
            &json!({"name": name, "description": "ACME SOC", "status": "Active"}),
        )
        .await,
    )
    .await;

    assert_eq!(status, 201);
    assert_eq!(body["id"], name.as_str());
    assert_eq!(body["_id"], name.as_str());
    assert_eq!(body["_type"], "organization");
    assert_eq!(body["name"], name.as_str());
    assert_eq!(body["description"], "ACME SOC");
    assert_eq!(body["status"], "Active");
    assert_eq!(body["createdBy"], "admin");
    assert!(body["createdAt"].as_i64().unwrap() > 1_600_000_000_000);
}

#[tokio::test]
async fn a_duplicate_organization_answers_400_conflict() {
    let app = TestApp::spawn().await;
    let name = app.new_org().await;

    let (status, body) = status_and_json(
        app.post(
            "/api/organization",
            &json!({"name": name, "description": "again"}),
        )
        .await,
    )
    .await;

    assert_eq!(status, 400);
    assert_eq!(body["type"], "ConflictError");
}

#[tokio::test]
async fn missing_and_unknown_attributes_answer_400_attribute_checking_error() {
    let app = TestApp::spawn().await;

    let (status, body) = status_and_json(
        app.post(
            "/api/organization",
            &json!({"description": "no name", "colour": "red"}),
        )
        .await,
    )
    .await;

    assert_eq!(status, 400);
    assert_eq!(body["type"], "AttributeCheckingError");
    assert_eq!(body["tableName"], "organization");
    let errors = body["errors"].as_array().unwrap();
    assert!(
        errors
            .iter()
            .any(|e| e["name"] == "name" && e["type"] == "MissingAttributeError")
    );
    assert!(
        errors
            .iter()
            .any(|e| e["name"] == "colour" && e["type"] == "UnknownAttributeError")
    );
}

#[tokio::test]
async fn an_invalid_status_or_name_answers_400() {
    let app = TestApp::spawn().await;

    let bad_status = app
        .post(
            "/api/organization",
            &json!({"name": unique("s"), "description": "x", "status": "Sleeping"}),
        )
        .await;
    let bad_name = app
        .post(
            "/api/organization",
            &json!({"name": "has space/slash", "description": "x"}),
        )
        .await;

    assert_eq!(bad_status.status().as_u16(), 400);
    assert_eq!(bad_name.status().as_u16(), 400);
}

#[tokio::test]
async fn malformed_json_answers_400_and_an_oversized_body_413() {
    let app = TestApp::spawn_with(|config| config.http.max_body_bytes = 1024).await;

    let malformed = app
        .request_as(&app.admin_key, Method::POST, "/api/organization")
        .header(CONTENT_TYPE, "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    let oversized = app
        .post(
            "/api/organization",
            &json!({"name": unique("big"), "description": "x".repeat(4096)}),
        )
        .await;

    let (malformed_status, malformed_body) = status_and_json(malformed).await;
    assert_eq!(malformed_status, 400);
    assert!(malformed_body["type"].is_string());
    assert_eq!(oversized.status().as_u16(), 413);
}

#[tokio::test]
async fn listing_answers_a_bare_array_with_x_total_and_honours_range() {
    let app = TestApp::spawn().await;
    for _ in 0..3 {
        app.new_org().await;
    }

    let all = app.get("/api/organization?range=all").await;
    let total: usize = all.headers()["X-Total"].to_str().unwrap().parse().unwrap();
    let (_, all_body) = status_and_json(all).await;
    let (_, page) = status_and_json(app.get("/api/organization?range=0-2").await).await;

    assert_eq!(total, 4);
    assert_eq!(all_body.as_array().unwrap().len(), 4);
    assert_eq!(page.as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn search_filters_by_query_and_sorts() {
    let app = TestApp::spawn().await;
    let name = app.new_org().await;

    let (status, body) = status_and_json(
        app.post(
            "/api/organization/_search?range=all&sort=-name",
            &json!({"query": {"_field": "name", "_value": name}}),
        )
        .await,
    )
    .await;
    let (_, sorted) = status_and_json(
        app.post(
            "/api/organization/_search?range=all&sort=%2Bname",
            &json!({"query": {}}),
        )
        .await,
    )
    .await;

    assert_eq!(status, 200);
    assert_eq!(body.as_array().unwrap().len(), 1);
    assert_eq!(body[0]["id"], name.as_str());
    let names: Vec<&str> = sorted
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    let mut expected = names.clone();
    expected.sort();
    assert_eq!(names, expected);
}

#[tokio::test]
async fn stats_count_organizations_matching_a_query() {
    let app = TestApp::spawn().await;
    let name = app.new_org().await;
    app.new_org().await;

    let (status, all) = status_and_json(
        app.post(
            "/api/organization/_stats",
            &json!({"query": {}, "stats": [{"_agg": "count"}]}),
        )
        .await,
    )
    .await;
    let (_, one) = status_and_json(
        app.post(
            "/api/organization/_stats",
            &json!({"query": {"name": name}, "stats": [{"_agg": "count"}]}),
        )
        .await,
    )
    .await;
    let missing_stats = app
        .post("/api/organization/_stats", &json!({"query": {}}))
        .await;

    assert_eq!(status, 200);
    assert_eq!(all, json!({"count": 3}));
    assert_eq!(one, json!({"count": 1}));
    assert_eq!(missing_stats.status().as_u16(), 400);
}

#[tokio::test]
async fn an_organization_is_read_and_updated_by_id() {
    let app = TestApp::spawn().await;
    let name = app.new_org().await;

    let (get_status, got) =
        status_and_json(app.get(&format!("/api/organization/{name}")).await).await;
    let (patch_status, patched) = status_and_json(
        app.patch(
            &format!("/api/organization/{name}"),
            &json!({"description": "renamed"}),
        )
        .await,
    )
    .await;

    assert_eq!(get_status, 200);
    assert_eq!(got["id"], name.as_str());
    assert_eq!(patch_status, 200);
    assert_eq!(patched["description"], "renamed");
    assert_eq!(patched["updatedBy"], "admin");
    assert!(patched["updatedAt"].is_i64());
}

#[tokio::test]
async fn an_unknown_organization_answers_404() {
    let app = TestApp::spawn().await;

    for response in [
        app.get("/api/organization/nope").await,
        app.patch("/api/organization/nope", &json!({"description": "x"}))
            .await,
        app.delete("/api/organization/nope").await,
        app.get("/api/organization/nope/user").await,
    ] {
        let (status, body) = status_and_json(response).await;
        assert_eq!(status, 404);
        assert_eq!(body["type"], "NotFoundError");
    }
}

#[tokio::test]
async fn the_default_organization_cannot_be_changed_or_deleted() {
    let app = TestApp::spawn().await;

    let patch = app
        .patch("/api/organization/cortex", &json!({"description": "mine"}))
        .await;
    let delete = app.delete("/api/organization/cortex").await;
    let (_, cortex) = status_and_json(app.get("/api/organization/cortex").await).await;

    assert_eq!(patch.status().as_u16(), 400);
    assert_eq!(delete.status().as_u16(), 400);
    assert_eq!(cortex["description"], "Default organization");
    assert_eq!(cortex["status"], "Active");
}

#[tokio::test]
async fn deleting_an_organization_locks_it_and_refuses_its_users() {
    let app = TestApp::spawn().await;
    let name = app.new_org().await;
    let key = app.create_user(&name, &unique("member"), &["read"]).await;
    assert_eq!(
        app.get_as(&key, "/api/user/current")
            .await
            .status()
            .as_u16(),
        200
    );

    let delete = app.delete(&format!("/api/organization/{name}")).await;
    let (_, locked) = status_and_json(app.get(&format!("/api/organization/{name}")).await).await;
    let (member_status, member_body) =
        status_and_json(app.get_as(&key, "/api/user/current").await).await;

    assert_eq!(delete.status().as_u16(), 204);
    assert_eq!(locked["status"], "Locked");
    assert_eq!(member_status, 403);
    assert_eq!(member_body["message"], "Your account is locked");
}

#[tokio::test]
async fn users_cannot_be_created_in_a_locked_organization() {
    let app = TestApp::spawn().await;
    let name = app.new_org().await;
    app.patch(
        &format!("/api/organization/{name}"),
        &json!({"status": "Locked"}),
    )
    .await;

    let response = app
        .post(
            "/api/user",
            &json!({"login": unique("late"), "name": "x", "roles": ["read"], "organization": name}),
        )
        .await;

    assert_eq!(response.status().as_u16(), 400);
}

#[tokio::test]
async fn malformed_search_and_stats_requests_answer_400_never_500() {
    let app = TestApp::spawn().await;
    let bodies = [
        json!({"query": {"_gt": 5}}),
        json!({"query": "{not json"}),
        json!({"query": {"_and": "nope"}}),
        json!({"query": [1, 2]}),
        json!({"query": {"_between": {"_field": "name"}}}),
    ];
    let mut statuses = Vec::new();

    for body in &bodies {
        for path in [
            "/api/organization/_search",
            "/api/user/_search",
            "/api/organization/cortex/user/_search",
        ] {
            statuses.push((
                path,
                body.clone(),
                app.post(path, body).await.status().as_u16(),
            ));
        }
    }
    let bad_stats = app
        .post(
            "/api/organization/_stats",
            &json!({"stats": [{"_agg": "nonsense"}]}),
        )
        .await;
    let odd_range = app.get("/api/organization?range=x-y&sort=5").await;

    for (path, body, status) in statuses {
        assert_eq!(status, 400, "{path} {body}");
    }
    assert_eq!(bad_stats.status().as_u16(), 400);
    assert_eq!(odd_range.status().as_u16(), 200);
}

#[tokio::test]
async fn nstats_adds_user_counts_by_status_and_the_analyzer_count_to_each_organization() {
    let app = TestApp::spawn().await;
    let name = app.new_org().await;
    let active = unique("active");
    let locked = unique("locked");
    app.create_user(&name, &active, &["read"]).await;
    app.create_user(&name, &locked, &["read"]).await;
    let lock = app
        .patch(&format!("/api/user/{locked}"), &json!({"status": "Locked"}))
        .await;
    assert_eq!(lock.status(), 200);

    let (status, body) = status_and_json(
        app.post(
            "/api/organization/_search?nstats=true&range=all",
            &json!({"query": {"_field": "name", "_value": name}}),
        )
        .await,
    )
    .await;

    assert_eq!(status, 200);
    assert_eq!(
        body[0]["stats"],
        json!({"users": {"Ok": 1, "Locked": 1, "total": 2}, "analyzers": {"total": 0}})
    );

    let (_, plain) = status_and_json(
        app.post(
            "/api/organization/_search",
            &json!({"query": {"_field": "name", "_value": name}}),
        )
        .await,
    )
    .await;
    assert!(plain[0].get("stats").is_none());
}
