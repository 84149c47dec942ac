//! Alerts: creation rules, uniqueness and upsert, updates, read/unread, follow, promotion,
//! merge, similarity, search, stats, bulk calls, deletion and roles.

use serde_json::{Value, json};

use crate::helpers::{TestApp, json_of};

fn alert_body(source_ref: &str) -> Value {
    json!({
        "title": format!("Alert {source_ref}"),
        "description": "Something happened",
        "type": "external",
        "source": "siem",
        "sourceRef": source_ref,
        "tags": ["t1"],
        "artifacts": [
            {"dataType": "ip", "data": "10.0.0.1", "message": "source", "tags": []},
            {"dataType": "domain", "data": "evil.example", "message": null, "tags": ["dns"]},
        ],
    })
}

async fn create_alert(app: &TestApp, source_ref: &str) -> Value {
    let response = app.post("/api/alert", &alert_body(source_ref)).await;
    assert_eq!(response.status().as_u16(), 201);
    json_of(response).await
}

fn md5_hex(text: &str) -> String {
    use md5::{Digest, Md5};
    hex::encode(Md5::digest(text.as_bytes()))
}

#[tokio::test]
async fn creating_an_alert_applies_defaults_and_derives_the_id_from_type_source_and_reference() {
    let app = TestApp::spawn().await;

    let response = app.post("/api/alert", &alert_body("r1")).await;

    assert_eq!(response.status().as_u16(), 201);
    let alert = json_of(response).await;
    assert_eq!(alert["id"], md5_hex("external|siem|r1"));
    assert_eq!(alert["_type"], "alert");
    assert_eq!(alert["status"], "New");
    assert_eq!(alert["follow"], true);
    assert_eq!(alert["severity"], 2);
    assert_eq!(alert["tlp"], 2);
    assert_eq!(alert["customFields"], json!({}));
    assert_eq!(alert["createdBy"], "admin");
    assert!(alert["date"].is_i64() && alert["lastSyncDate"].is_i64());
    assert_eq!(
        alert["artifacts"][0],
        json!({"dataType": "ip", "message": "source", "tlp": 2, "tags": [], "ioc": false, "sighted": false, "data": "10.0.0.1"})
    );
}

#[tokio::test]
async fn client_status_case_and_follow_are_discarded_but_unknown_attributes_are_refused() {
    let app = TestApp::spawn().await;
    let mut body = alert_body("r2");
    body["status"] = json!("Imported");
    body["follow"] = json!(false);
    body["case"] = json!("whatever");
    body["pap"] = json!(null);

    let accepted = json_of(app.post("/api/alert", &body).await).await;
    body["sourceRef"] = json!("r3");
    body["pap"] = json!(2);
    let refused = app.post("/api/alert", &body).await;

    assert_eq!(accepted["status"], "New");
    assert_eq!(accepted["follow"], true);
    assert!(accepted.get("case").is_none());
    assert_eq!(refused.status().as_u16(), 400);
    let error = json_of(refused).await;
    assert_eq!(error["type"], "AttributeCheckingError");
    assert_eq!(error["errors"][0]["type"], "UnknownAttributeError");
    assert_eq!(error["errors"][0]["name"], "pap");
}

#[tokio::test]
async fn missing_required_attributes_are_listed() {
    let app = TestApp::spawn().await;

    let response = app
        .post("/api/alert", &json!({"title": "t", "type": "x"}))
        .await;

    assert_eq!(response.status().as_u16(), 400);
    let error = json_of(response).await;
    let missing: Vec<&str> = error["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert!(
        missing.contains(&"description")
            && missing.contains(&"source")
            && missing.contains(&"sourceRef")
    );
}

#[tokio::test]
async fn a_second_alert_with_the_same_identity_is_a_conflict_with_an_empty_object() {
    let app = TestApp::spawn().await;
    create_alert(&app, "dup").await;

    let response = app.post("/api/alert", &alert_body("dup")).await;

    assert_eq!(response.status().as_u16(), 400);
    let error = json_of(response).await;
    assert_eq!(error["type"], "ConflictError");
    assert_eq!(error["object"], json!({}));
}

#[tokio::test]
async fn upsert_mode_updates_the_existing_alert_and_says_so() {
    let app = TestApp::spawn().await;
    create_alert(&app, "up").await;
    let mut body = alert_body("up");
    body["title"] = json!("Updated title");
    body["artifacts"] = json!([{"dataType": "ip", "data": "10.0.0.1", "message": "again"}, {"dataType": "url", "data": "http://x", "tags": []}]);

    let response = app.post("/api/alert?upsert=true", &body).await;

    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["X-Skep-Upsert"], "updated");
    let alert = json_of(response).await;
    assert_eq!(alert["title"], "Updated title");
    assert_eq!(alert["artifacts"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn upsert_by_default_is_a_deployment_setting() {
    let app = TestApp::spawn_with(|config| config.alerts.upsert_by_default = true).await;
    create_alert(&app, "cfg").await;

    let again = app.post("/api/alert", &alert_body("cfg")).await;
    let created = app.post("/api/alert", &alert_body("cfg2")).await;

    assert_eq!(again.status().as_u16(), 200);
    assert_eq!(created.status().as_u16(), 201);
    assert_eq!(created.headers()["X-Skep-Upsert"], "created");
}

#[tokio::test]
async fn artifact_rules_drop_unusable_items_remove_duplicates_and_refuse_malformed_ones() {
    let app = TestApp::spawn().await;
    let mut body = alert_body("arts");
    body["artifacts"] = json!([
        {"dataType": "ip", "data": "1.1.1.1", "message": "a"},
        {"dataType": "ip", "data": "1.1.1.1", "message": "duplicate"},
        {"data": "no type", "tags": []},
        {"dataType": "file", "data": "broken", "tags": []},
    ]);
    let mut malformed = alert_body("arts2");
    malformed["artifacts"] = json!([{"dataType": "ip", "data": "1.1.1.1"}]);

    let alert = json_of(app.post("/api/alert", &body).await).await;
    let refused = app.post("/api/alert", &malformed).await;

    assert_eq!(alert["artifacts"].as_array().unwrap().len(), 1);
    assert_eq!(refused.status().as_u16(), 400);
    assert_eq!(json_of(refused).await["errors"][0]["name"], "artifacts");
}

#[tokio::test]
async fn file_artifacts_are_stored_in_the_datastore() {
    let app = TestApp::spawn().await;
    let mut body = alert_body("file");
    body["artifacts"] = json!([{"dataType": "file", "data": "report.txt;text/plain;aGVsbG8gd29ybGQ=", "message": "m"}]);

    let alert = json_of(app.post("/api/alert", &body).await).await;
    let attachment = alert["artifacts"][0]["attachment"].clone();
    let download = app
        .get(&format!(
            "/api/datastore/{}?name=report.txt",
            attachment["id"].as_str().unwrap()
        ))
        .await;

    assert_eq!(attachment["name"], "report.txt");
    assert_eq!(attachment["contentType"], "text/plain");
    assert_eq!(attachment["size"], 11);
    assert!(alert["artifacts"][0].get("data").is_none());
    assert_eq!(download.status().as_u16(), 200);
    assert_eq!(download.bytes().await.unwrap().as_ref(), b"hello world");
}

#[tokio::test]
async fn alert_creation_requires_the_alert_role_even_for_admins_without_it() {
    let app = TestApp::spawn().await;
    let writer = app.create_user("writer", &["read", "write", "admin"]).await;
    let feeder = app.create_user("feeder", &["alert"]).await;

    let refused = app
        .post_as(&writer, "/api/alert", &alert_body("roles"))
        .await;
    let accepted = app
        .post_as(&feeder, "/api/alert", &alert_body("roles"))
        .await;
    let feeder_cannot_read = app.get_as(&feeder, "/api/alert").await;
    let anonymous = app
        .client
        .post(app.url("/api/alert"))
        .json(&alert_body("x"))
        .send()
        .await
        .unwrap();

    assert_eq!(refused.status().as_u16(), 403);
    assert_eq!(accepted.status().as_u16(), 201);
    assert_eq!(feeder_cannot_read.status().as_u16(), 403);
    assert_eq!(anonymous.status().as_u16(), 401);
}

#[tokio::test]
async fn reading_roles_and_writing_roles_are_checked_per_endpoint() {
    let app = TestApp::spawn().await;
    let alert = create_alert(&app, "perm").await;
    let id = alert["id"].as_str().unwrap();
    let reader = app.create_user("reader", &["read"]).await;

    assert_eq!(
        app.get_as(&reader, &format!("/api/alert/{id}"))
            .await
            .status()
            .as_u16(),
        200
    );
    assert_eq!(
        app.post_as(&reader, "/api/alert/_search", &json!({}))
            .await
            .status()
            .as_u16(),
        200
    );
    for path in [
        "markAsRead",
        "markAsUnread",
        "follow",
        "unfollow",
        "createCase",
    ] {
        let response = app
            .post_as(&reader, &format!("/api/alert/{id}/{path}"), &json!({}))
            .await;
        assert_eq!(response.status().as_u16(), 403, "{path}");
    }
    assert_eq!(
        app.patch_as(&reader, &format!("/api/alert/{id}"), &json!({"title": "x"}))
            .await
            .status()
            .as_u16(),
        403
    );
    assert_eq!(
        app.delete_as(&reader, &format!("/api/alert/{id}?force=1"))
            .await
            .status()
            .as_u16(),
        403
    );
    assert_eq!(
        app.post_as(&reader, "/api/alert/delete/_bulk", &json!({"ids": [id]}))
            .await
            .status()
            .as_u16(),
        403
    );
}

#[tokio::test]
async fn an_unknown_alert_answers_404() {
    let app = TestApp::spawn().await;

    let response = app.get("/api/alert/nope").await;

    assert_eq!(response.status().as_u16(), 404);
    assert_eq!(
        json_of(response).await,
        json!({"type": "NotFoundError", "message": "alert nope not found"})
    );
}

#[tokio::test]
async fn updates_refuse_read_only_attributes_and_mark_a_seen_followed_alert_updated() {
    let app = TestApp::spawn().await;
    let id = create_alert(&app, "upd").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post(&format!("/api/alert/{id}/markAsRead"), &json!({}))
        .await;

    let read_only = app
        .patch(&format!("/api/alert/{id}"), &json!({"sourceRef": "other"}))
        .await;
    let updated = json_of(
        app.patch(
            &format!("/api/alert/{id}"),
            &json!({"title": "New title", "status": "New", "severity": 4}),
        )
        .await,
    )
    .await;
    let replaced = json_of(
        app.patch(
            &format!("/api/alert/{id}"),
            &json!({"artifacts": [{"dataType": "ip", "data": "9.9.9.9", "tags": []}]}),
        )
        .await,
    )
    .await;

    assert_eq!(read_only.status().as_u16(), 400);
    assert_eq!(
        json_of(read_only).await["errors"][0]["type"],
        "UpdateReadOnlyAttributeError"
    );
    assert_eq!(updated["title"], "New title");
    assert_eq!(updated["severity"], 4);
    assert_eq!(updated["status"], "Updated");
    assert_eq!(updated["updatedBy"], "admin");
    assert_eq!(replaced["artifacts"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn read_unread_and_follow_set_the_documented_states() {
    let app = TestApp::spawn().await;
    let id = create_alert(&app, "rw").await["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let read = json_of(
        app.post(&format!("/api/alert/{id}/markAsRead"), &json!({}))
            .await,
    )
    .await;
    let unread = json_of(
        app.post(&format!("/api/alert/{id}/markAsUnread"), &json!({}))
            .await,
    )
    .await;
    let unfollowed = json_of(
        app.post(&format!("/api/alert/{id}/unfollow"), &json!({}))
            .await,
    )
    .await;
    let followed = json_of(
        app.post(&format!("/api/alert/{id}/follow"), &json!({}))
            .await,
    )
    .await;

    assert_eq!(read["status"], "Ignored");
    assert_eq!(unread["status"], "New");
    assert_eq!(unfollowed["follow"], false);
    assert_eq!(followed["follow"], true);
}

#[tokio::test]
async fn promoting_an_alert_creates_a_case_with_tagged_observables_and_imports_the_alert() {
    let app = TestApp::spawn().await;
    let alert = create_alert(&app, "promo").await;
    let id = alert["id"].as_str().unwrap();

    let response = app
        .post(&format!("/api/alert/{id}/createCase"), &json!({}))
        .await;

    assert_eq!(response.status().as_u16(), 201);
    let case = json_of(response).await;
    assert_eq!(case["title"], "Alert promo");
    assert_eq!(case["startDate"], alert["date"]);
    assert_eq!(case["tags"], json!(["t1"]));
    let case_id = case["id"].as_str().unwrap();
    let (total, observables) = app
        .search(
            "/api/case/artifact/_search?range=all",
            &json!({"query": {"_parent": {"_type": "case", "_id": case_id}}}),
        )
        .await;
    assert_eq!(total, 2);
    assert!(observables.iter().all(|o| {
        o["tags"]
            .as_array()
            .unwrap()
            .contains(&json!("src:external"))
    }));
    let imported = json_of(app.get(&format!("/api/alert/{id}")).await).await;
    assert_eq!(imported["status"], "Imported");
    assert_eq!(imported["case"], case_id);
    let again = json_of(
        app.post(&format!("/api/alert/{id}/createCase"), &json!({}))
            .await,
    )
    .await;
    assert_eq!(again["id"], case_id);
    let read_again = json_of(
        app.post(&format!("/api/alert/{id}/markAsUnread"), &json!({}))
            .await,
    )
    .await;
    assert_eq!(read_again["status"], "Updated");
}

#[tokio::test]
async fn promoting_with_a_template_applies_it() {
    let app = TestApp::spawn().await;
    let template = json!({"name": "tpl", "titlePrefix": "[T]", "metrics": {}, "tags": ["from-template"], "tasks": [{"title": "Triage", "id": null}]});
    assert_eq!(
        app.post("/api/case/template", &template)
            .await
            .status()
            .as_u16(),
        201
    );
    let id = create_alert(&app, "tpl").await["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let case = json_of(
        app.post(
            &format!("/api/alert/{id}/createCase"),
            &json!({"caseTemplate": "tpl"}),
        )
        .await,
    )
    .await;

    assert_eq!(case["title"], "[T] Alert tpl");
    assert!(
        case["tags"]
            .as_array()
            .unwrap()
            .contains(&json!("from-template"))
    );
    let (tasks, _) = app
        .search(
            "/api/case/task/_search",
            &json!({"query": {"_parent": {"_type": "case", "_id": case["id"]}}}),
        )
        .await;
    assert_eq!(tasks, 1);
}

#[tokio::test]
async fn merging_an_alert_appends_its_description_and_unites_tags() {
    let app = TestApp::spawn().await;
    let case = app.new_case("Target").await;
    let case_id = case["id"].as_str().unwrap();
    let id = create_alert(&app, "merge").await["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let response = app
        .post(&format!("/api/alert/{id}/merge/{case_id}"), &json!({}))
        .await;

    assert_eq!(response.status().as_u16(), 201);
    let merged = json_of(response).await;
    assert_eq!(
        merged["description"],
        "test case\n\n#### Merged with alert #merge Alert merge\n\nSomething happened"
    );
    assert_eq!(merged["tags"], json!(["t1"]));
    assert_eq!(
        json_of(app.get(&format!("/api/alert/{id}")).await).await["case"],
        case_id
    );
}

#[tokio::test]
async fn bulk_merge_imports_every_alert_into_the_case() {
    let app = TestApp::spawn().await;
    let case_id = app.new_case("Bulk target").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let first = create_alert(&app, "bm1").await["id"].clone();
    let second = create_alert(&app, "bm2").await["id"].clone();

    let response = app
        .post(
            "/api/alert/merge/_bulk",
            &json!({"caseId": case_id, "alertIds": [first, second]}),
        )
        .await;

    assert_eq!(response.status().as_u16(), 201);
    let (imported, _) = app
        .search("/api/alert/_search", &json!({"query": {"case": case_id}}))
        .await;
    assert_eq!(imported, 2);
}

#[tokio::test]
async fn a_followed_imported_alert_updated_later_reopens_its_case_with_the_new_artifacts() {
    let app = TestApp::spawn().await;
    let id = create_alert(&app, "follow").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let case = json_of(
        app.post(&format!("/api/alert/{id}/createCase"), &json!({}))
            .await,
    )
    .await;
    let case_id = case["id"].as_str().unwrap();
    app.patch(
        &format!("/api/case/{case_id}"),
        &json!({"status": "Resolved", "resolutionStatus": "Other", "summary": "done"}),
    )
    .await;

    let updated = json_of(
        app.patch(
            &format!("/api/alert/{id}"),
            &json!({"artifacts": [{"dataType": "url", "data": "http://new", "tags": []}]}),
        )
        .await,
    )
    .await;

    assert_eq!(updated["status"], "Updated");
    let reopened = json_of(app.get(&format!("/api/case/{case_id}")).await).await;
    assert_eq!(reopened["status"], "Open");
    let (total, _) = app
        .search("/api/case/artifact/_search", &json!({"query": {"_and": [{"_parent": {"_type": "case", "_id": case_id}}, {"dataType": "url"}]}}))
        .await;
    assert_eq!(total, 1);
}

#[tokio::test]
async fn similarity_lists_cases_sharing_artifacts_and_counts_sightings() {
    let app = TestApp::spawn().await;
    let case_id = app.new_case("Seen before").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.create_observable(
        &case_id,
        &json!({"dataType": "ip", "data": "10.0.0.1", "message": "m", "ioc": true}),
    )
    .await;
    let id = create_alert(&app, "sim").await["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let plain = json_of(app.get(&format!("/api/alert/{id}")).await).await;
    let similar = json_of(app.get(&format!("/api/alert/{id}?similarity=1")).await).await;

    assert!(plain.get("similarCases").is_none());
    let cases = similar["similarCases"].as_array().unwrap();
    assert_eq!(cases.len(), 1);
    assert_eq!(cases[0]["id"], case_id);
    assert_eq!(cases[0]["title"], "Seen before");
    assert_eq!(cases[0]["similarArtifactCount"], 1);
    assert_eq!(cases[0]["similarIocCount"], 1);
    assert_eq!(cases[0]["artifactCount"], 1);
    assert_eq!(similar["artifacts"][0]["seen"], 1);
    assert_eq!(similar["artifacts"][1]["seen"], 0);
}

#[tokio::test]
async fn search_and_stats_follow_the_dsl_and_range() {
    let app = TestApp::spawn().await;
    for reference in ["s1", "s2", "s3"] {
        create_alert(&app, reference).await;
    }
    let id = alert_id("s2");
    app.patch(&format!("/api/alert/{id}"), &json!({"severity": 3}))
        .await;

    let (total, page) = app
        .search(
            "/api/alert/_search?range=0-2&sort=-severity",
            &json!({"query": {"source": "siem"}}),
        )
        .await;
    let listed = app.get("/api/alert?range=all").await;
    let stats = json_of(
        app.post("/api/alert/_stats", &json!({"query": {}, "stats": [{"_agg": "field", "_field": "severity", "_select": [{"_agg": "count"}]}, {"_agg": "count"}]}))
            .await,
    )
    .await;
    let missing_stats = app.post("/api/alert/_stats", &json!({"query": {}})).await;

    assert_eq!(total, 3);
    assert_eq!(page.len(), 2);
    assert_eq!(page[0]["severity"], 3);
    assert_eq!(listed.headers()["X-Total"], "3");
    assert_eq!(
        stats,
        json!({"2": {"count": 2}, "3": {"count": 1}, "count": 3})
    );
    assert_eq!(missing_stats.status().as_u16(), 400);
}

fn alert_id(reference: &str) -> String {
    md5_hex(&format!("external|siem|{reference}"))
}

#[tokio::test]
async fn bulk_updates_answer_the_multi_output_forms() {
    let app = TestApp::spawn().await;
    create_alert(&app, "b1").await;
    create_alert(&app, "b2").await;

    let all_ok = app
        .patch(
            "/api/alert/_bulk",
            &json!({"ids": [alert_id("b1"), alert_id("b2")], "tags": ["bulk"]}),
        )
        .await;
    let mixed = app
        .patch(
            "/api/alert/_bulk",
            &json!({"ids": [alert_id("b1"), "missing"], "severity": 1}),
        )
        .await;
    let all_failed = app
        .patch(
            "/api/alert/_bulk",
            &json!({"ids": ["missing"], "severity": 1}),
        )
        .await;

    assert_eq!(all_ok.status().as_u16(), 200);
    let updated = json_of(all_ok).await;
    assert!(
        updated
            .as_array()
            .unwrap()
            .iter()
            .all(|alert| alert["tags"] == json!(["bulk"]))
    );
    assert_eq!(mixed.status().as_u16(), 207);
    let mixed = json_of(mixed).await;
    assert_eq!(mixed["success"].as_array().unwrap().len(), 1);
    assert_eq!(mixed["failure"][0]["type"], "NotFoundError");
    assert_eq!(all_failed.status().as_u16(), 400);
}

#[tokio::test]
async fn deleting_without_force_marks_unread_and_with_force_removes() {
    let app = TestApp::spawn().await;
    let id = alert_id("del");
    create_alert(&app, "del").await;
    app.post(&format!("/api/alert/{id}/markAsRead"), &json!({}))
        .await;

    let soft = app.delete(&format!("/api/alert/{id}")).await;
    let after_soft = json_of(app.get(&format!("/api/alert/{id}")).await).await;
    let hard = app.delete(&format!("/api/alert/{id}?force=1")).await;
    let after_hard = app.get(&format!("/api/alert/{id}")).await;

    assert_eq!(soft.status().as_u16(), 204);
    assert_eq!(after_soft["status"], "New");
    assert_eq!(hard.status().as_u16(), 204);
    assert_eq!(after_hard.status().as_u16(), 404);
}

#[tokio::test]
async fn bulk_delete_removes_every_listed_alert() {
    let app = TestApp::spawn().await;
    create_alert(&app, "bd1").await;
    create_alert(&app, "bd2").await;

    let response = app
        .post(
            "/api/alert/delete/_bulk",
            &json!({"ids": [alert_id("bd1"), alert_id("bd2")], "force": true}),
        )
        .await;

    assert_eq!(response.status().as_u16(), 204);
    let (total, _) = app.search("/api/alert/_search", &json!({})).await;
    assert_eq!(total, 0);
}

#[tokio::test]
async fn bulk_tag_and_bulk_read_act_on_many_alerts_at_once() {
    let app = TestApp::spawn().await;
    create_alert(&app, "bt1").await;
    create_alert(&app, "bt2").await;
    let ids = json!([alert_id("bt1"), alert_id("bt2")]);

    let tagged = app
        .post(
            "/api/alert/_bulk/tag",
            &json!({"ids": ids, "tags": ["triaged"]}),
        )
        .await;
    let read = app
        .post("/api/alert/_bulk/markAsRead", &json!({"ids": ids}))
        .await;
    let unknown = app
        .post("/api/alert/_bulk/explode", &json!({"ids": ids}))
        .await;

    assert_eq!(tagged.status().as_u16(), 200);
    let tagged = json_of(tagged).await;
    assert!(
        tagged
            .as_array()
            .unwrap()
            .iter()
            .all(|alert| alert["tags"] == json!(["t1", "triaged"]))
    );
    assert_eq!(read.status().as_u16(), 200);
    assert!(
        json_of(read)
            .await
            .as_array()
            .unwrap()
            .iter()
            .all(|alert| alert["status"] == "Ignored")
    );
    assert_eq!(unknown.status().as_u16(), 404);
}

#[tokio::test]
async fn the_observable_count_of_alerts_is_aggregatable_but_not_rendered() {
    let app = TestApp::spawn().await;
    let alert = create_alert(&app, "count").await;

    let stats = json_of(
        app.post(
            "/api/alert/_stats",
            &json!({"query": {}, "stats": [{"_agg": "sum", "_field": "computed.observableCount"}]}),
        )
        .await,
    )
    .await;

    assert!(alert.get("computed").is_none());
    assert_eq!(stats["sum_computed.observableCount"], 2);
}

#[tokio::test]
async fn concurrent_identical_alerts_create_one_and_conflict_for_the_others() {
    let app = TestApp::spawn().await;

    let body = alert_body("race");
    let attempts = (0..8).map(|_| app.post("/api/alert", &body));
    let statuses: Vec<u16> = futures_util::future::join_all(attempts)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();

    assert_eq!(
        statuses.iter().filter(|status| **status == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|status| **status == 400).count(),
        7,
        "{statuses:?}"
    );
}

#[tokio::test]
async fn concurrent_distinct_alerts_are_all_stored_and_audited() {
    let app = TestApp::spawn().await;

    let bodies: Vec<Value> = (0..20).map(|n| alert_body(&format!("many-{n}"))).collect();
    let responses =
        futures_util::future::join_all(bodies.iter().map(|body| app.post("/api/alert", body)))
            .await;

    assert!(
        responses
            .iter()
            .all(|response| response.status().as_u16() == 201)
    );
    let (alerts, _) = app.search("/api/alert/_search", &json!({})).await;
    let (audits, _) = app
        .search(
            "/api/audit/_search",
            &json!({"query": {"objectType": "alert"}}),
        )
        .await;
    assert_eq!((alerts, audits), (20, 20));
}
