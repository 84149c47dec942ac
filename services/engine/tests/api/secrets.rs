//! Secret fields (worker configurations, password hashes, sealed keys and fingerprints) never
//! leave the engine and never match; a `read` user walking the whole API obtains no secret and
//! no object of another organisation.
// Test code: a failed step is a failed test.
#![allow(clippy::unwrap_used)]

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, status_and_json, unique};
use crate::worker_fixture::{Fixture, org_with_users};

const WORKER_SECRET: &str = "vt-secret-0123456789abcdef";

#[tokio::test]
async fn worker_searches_naming_the_configuration_are_refused() {
    let fixture = Fixture::spawn().await;
    fixture
        .enable_analyzer("SkepTest_Success_1_0", json!({"key": WORKER_SECRET}))
        .await;

    for body in [
        json!({"query": {"_gte": {"configuration.key": "m"}}}),
        json!({"query": {"_wildcard": {"_field": "configuration.key", "_value": "vt-*"}}}),
        json!({"query": {"_string": "configuration.key:vt*"}}),
        json!({"query": {"_contains": "configuration"}}),
        json!({"sort": ["+configuration.key"]}),
    ] {
        for caller in [&fixture.reader, &fixture.admin] {
            let response = fixture
                .app
                .post_as(caller, "/api/analyzer/_search", &body)
                .await;
            let (status, answer) = status_and_json(response).await;
            assert_eq!(status, 400, "{body}: {answer}");
            assert!(
                answer["message"].as_str().unwrap().contains("secret"),
                "{answer}"
            );
        }
    }
}

#[tokio::test]
async fn full_text_never_matches_a_worker_secret() {
    let fixture = Fixture::spawn().await;
    fixture
        .enable_analyzer("SkepTest_Success_1_0", json!({"key": WORKER_SECRET}))
        .await;

    let response = fixture
        .app
        .post_as(
            &fixture.reader,
            "/api/analyzer/_search",
            &json!({"query": {"_string": WORKER_SECRET}}),
        )
        .await;

    let (status, found) = status_and_json(response).await;
    assert_eq!(status, 200);
    assert_eq!(found, json!([]));
}

#[tokio::test]
async fn user_searches_and_stats_refuse_and_never_answer_secret_fields() {
    let app = TestApp::spawn().await;
    let org = app.new_org().await;
    let login = unique("secret-holder");
    app.create_user(&org, &login, &["read"]).await;
    app.set_password(&login, "a-password-1").await;

    for body in [
        json!({"query": {"_gte": {"password": "$argon2"}}}),
        json!({"query": {"_wildcard": {"_field": "keySealed", "_value": "a*"}}}),
        json!({"sort": ["-keyFingerprint"]}),
    ] {
        let (status, answer) = status_and_json(app.post("/api/user/_search", &body).await).await;
        assert_eq!(status, 400, "{body}: {answer}");
    }
    let refused = app
        .post(
            "/api/user/_stats",
            &json!({"stats": [{"_agg": "field", "_field": "password"}]}),
        )
        .await;
    assert_eq!(refused.status().as_u16(), 400);
    let top = app
        .post(
            "/api/user/_stats",
            &json!({"stats": [{"_agg": "top", "_size": 1000}]}),
        )
        .await;
    assert_eq!(top.status().as_u16(), 200);
    let text = top.text().await.unwrap();
    assert!(text.contains(&login), "{text}");
    for secret in ["password", "keySealed", "keyFingerprint", "$argon2"] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
}

#[tokio::test]
async fn api_keys_stop_working_when_renewed_or_revoked() {
    let app = TestApp::spawn().await;
    let org = app.new_org().await;
    let login = unique("rotating");
    let first = app.create_user(&org, &login, &["read"]).await;
    assert_eq!(app.get_as(&first, "/api/user/current").await.status(), 200);

    let second = app.renew_key(&login).await;

    assert_eq!(app.get_as(&first, "/api/user/current").await.status(), 401);
    assert_eq!(app.get_as(&second, "/api/user/current").await.status(), 200);
    let revoked = app.delete(&format!("/api/user/{login}/key")).await;
    assert!(revoked.status().is_success());
    assert_eq!(app.get_as(&second, "/api/user/current").await.status(), 401);
}

/// What a read user must never see: every stored secret of every user, and the worker secret.
async fn stored_secrets(app: &TestApp) -> Vec<String> {
    let users = app
        .state
        .store
        .search("user", &skep_store::Query::All, skep_store::Page::ALL, &[])
        .await
        .unwrap();
    let mut secrets = vec![WORKER_SECRET.to_owned()];
    for user in users.documents {
        for field in ["password", "keySealed", "keyFingerprint"] {
            if let Some(value) = user.body.get(field).and_then(Value::as_str) {
                secrets.push(value.to_owned());
            }
        }
    }
    secrets
}

#[tokio::test]
async fn a_read_user_walking_the_api_obtains_no_secret_and_no_foreign_object() {
    let fixture = Fixture::spawn().await;
    let app = &fixture.app;
    app.set_password("admin", "admin-password-2").await;
    let worker = fixture
        .enable_analyzer("SkepTest_Success_1_0", json!({"key": WORKER_SECRET}))
        .await;
    let job = fixture
        .run_to_end(&worker, json!({"dataType": "ip", "data": "198.51.100.1"}))
        .await;
    let job_id = job["id"].as_str().unwrap().to_owned();
    // Another organisation with its own worker and job, which the reader must never see.
    let (other_org, other_admin, other_analyst, _) = org_with_users(app).await;
    let enabled = app
        .post_as(
            &other_admin,
            "/api/organization/analyzer/SkepTest_Success_1_0",
            &json!({"name": "SkepTest_Success_1_0", "configuration": {"key": "other-org-secret"}}),
        )
        .await;
    let (status, other_worker) = status_and_json(enabled).await;
    assert_eq!(status, 201, "{other_worker}");
    let other_worker = other_worker["id"].as_str().unwrap().to_owned();
    let ran = app
        .post_as(
            &other_analyst,
            &format!("/api/analyzer/{other_worker}/run"),
            &json!({"dataType": "ip", "data": "203.0.113.99"}),
        )
        .await;
    let (status, other_job) = status_and_json(ran).await;
    assert_eq!(status, 200, "{other_job}");
    let other_job = other_job["id"].as_str().unwrap().to_owned();
    let mut secrets = stored_secrets(app).await;
    // Ids a request names come back in its 404 message; the other organisation's data never.
    secrets.extend(["other-org-secret".to_owned(), "203.0.113.99".to_owned()]);

    let reader = &fixture.reader;
    let queries = [
        json!({}),
        json!({"query": {"_string": "*"}, "range": "all"}),
        json!({"query": {"_gte": {"configuration.key": "a"}}}),
        json!({"query": {"_gte": {"password": "$"}}}),
        json!({"query": {"organization": other_org}}),
        json!({"sort": ["+configuration.key"]}),
    ];
    let mut walked = 0;
    for (method, path) in [
        (Method::POST, "/api/analyzer/_search".to_owned()),
        (Method::GET, "/api/analyzer/_search".to_owned()),
        (
            Method::POST,
            "/api/organization/analyzer/_search".to_owned(),
        ),
        (Method::POST, "/api/responder/_search".to_owned()),
        (Method::POST, "/api/job/_search".to_owned()),
        (Method::GET, "/api/job".to_owned()),
        (Method::GET, "/api/analyzer".to_owned()),
        (Method::GET, "/api/organization/analyzer".to_owned()),
        (Method::GET, "/api/analyzer/type/ip".to_owned()),
        (Method::GET, format!("/api/analyzer/{worker}")),
        (Method::GET, format!("/api/analyzer/{other_worker}")),
        (Method::GET, format!("/api/job/{job_id}")),
        (Method::GET, format!("/api/job/{job_id}/report")),
        (Method::GET, format!("/api/job/{job_id}/artifacts")),
        (Method::GET, format!("/api/job/{other_job}")),
        (Method::GET, format!("/api/job/{other_job}/report")),
        (Method::POST, "/api/job/status".to_owned()),
        (Method::GET, "/api/user/current".to_owned()),
        (Method::GET, "/api/user/admin".to_owned()),
        (Method::POST, "/api/user/_search".to_owned()),
        (Method::POST, "/api/organization/user/_search".to_owned()),
        (
            Method::POST,
            format!("/api/organization/{}/user/_search", fixture.org),
        ),
        (
            Method::POST,
            format!("/api/organization/{other_org}/user/_search"),
        ),
        (Method::POST, "/api/organization/_search".to_owned()),
        (Method::GET, format!("/api/organization/{other_org}")),
        (Method::GET, "/api/analyzerdefinition".to_owned()),
        (Method::GET, "/api/analyzerconfig".to_owned()),
        (Method::GET, "/api/analyzerconfig/SkepTest".to_owned()),
    ] {
        for query in &queries {
            let mut body = query.clone();
            body["jobIds"] = json!([job_id, other_job]);
            let response = app
                .request_as(reader, method.clone(), &path)
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let text = response.text().await.unwrap();
            assert!(status < 500, "{method} {path} {query}: {status} {text}");
            for secret in &secrets {
                assert!(
                    !text.contains(secret.as_str()),
                    "{method} {path} {query} answered {secret}: {text}"
                );
            }
            walked += 1;
        }
    }
    for (path, stats) in [
        ("/api/user/_stats", json!([{"_agg": "top", "_size": 1000}])),
        (
            "/api/organization/_stats",
            json!([{"_agg": "top", "_size": 1000}]),
        ),
    ] {
        let response = app.post_as(reader, path, &json!({"stats": stats})).await;
        assert_eq!(response.status().as_u16(), 403, "{path}");
    }
    assert_eq!(walked, 28 * queries.len());
}
