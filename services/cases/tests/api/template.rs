//! Case templates, lists, custom fields and describe.

use serde_json::{Value, json};

use crate::helpers::{TestApp, json_of};

fn template_body(name: &str) -> Value {
    json!({"name": name, "titlePrefix": "[P]", "description": "d", "severity": 3, "flag": false, "tlp": 2, "pap": 2,
           "tags": ["x"], "metrics": {}, "customFields": {}, "tasks": [{"id": null, "title": "Triage", "status": "Waiting"}]})
}

#[tokio::test]
async fn a_template_is_created_found_by_name_updated_and_deleted_for_good() {
    let app = TestApp::spawn().await;

    let created = app
        .post("/api/case/template", &template_body("phishing"))
        .await;
    assert_eq!(created.status().as_u16(), 201);
    let template = json_of(created).await;
    let id = template["id"].as_str().unwrap().to_owned();
    assert_eq!(template["_type"], "caseTemplate");
    assert_eq!(template["status"], "Ok");
    assert_eq!(
        template["tasks"],
        json!([{"title": "Triage", "status": "Waiting"}])
    );

    let (total, found) = app
        .search("/api/case/template/_search", &json!({"query": {"_and": [{"_field": "name", "_value": "phishing"}, {"_field": "status", "_value": "Ok"}]}}))
        .await;
    assert_eq!((total, found[0]["id"].clone()), (1, json!(id)));

    let updated = json_of(
        app.patch(
            &format!("/api/case/template/{id}"),
            &json!({"titlePrefix": "[Q]"}),
        )
        .await,
    )
    .await;
    assert_eq!(updated["titlePrefix"], "[Q]");
    assert_eq!(
        json_of(app.get(&format!("/api/case/template/{id}")).await).await["titlePrefix"],
        "[Q]"
    );

    assert_eq!(
        app.delete(&format!("/api/case/template/{id}"))
            .await
            .status()
            .as_u16(),
        204
    );
    assert_eq!(
        app.get(&format!("/api/case/template/{id}"))
            .await
            .status()
            .as_u16(),
        404
    );
}

#[tokio::test]
async fn a_template_needs_name_and_metrics_and_admin_rights() {
    let app = TestApp::spawn().await;
    let writer = app.create_user("writer", &["read", "write"]).await;

    let missing = app.post("/api/case/template", &json!({"name": "x"})).await;
    let forbidden = app
        .post_as(&writer, "/api/case/template", &template_body("y"))
        .await;
    let reader_can_search = app
        .post_as(&writer, "/api/case/template/_search", &json!({}))
        .await;

    assert_eq!(missing.status().as_u16(), 400);
    assert_eq!(json_of(missing).await["errors"][0]["name"], "metrics");
    assert_eq!(forbidden.status().as_u16(), 403);
    assert_eq!(reader_can_search.status().as_u16(), 200);
}

#[tokio::test]
async fn a_case_created_from_a_template_takes_its_prefix_and_tasks() {
    let app = TestApp::spawn().await;
    app.post("/api/case/template", &template_body("incident"))
        .await;

    let case = json_of(
        app.create_case(&json!({"title": "Outage", "description": "x", "template": "incident"}))
            .await,
    )
    .await;

    assert_eq!(case["title"], "[P] Outage");
    assert_eq!(case["severity"], 3);
}

#[tokio::test]
async fn lists_add_check_replace_and_remove_items() {
    let app = TestApp::spawn().await;

    let names = json_of(app.get("/api/list").await).await;
    let added = app
        .post(
            "/api/list/ui_settings",
            &json!({"value": {"key": "theme", "dark": true}}),
        )
        .await;
    assert_eq!(added.status().as_u16(), 200);
    let item_id: String = json_of(added).await.as_str().unwrap().to_owned();
    let again: Value = json_of(
        app.post(
            "/api/list/ui_settings",
            &json!({"value": {"key": "theme", "dark": true}}),
        )
        .await,
    )
    .await;
    let list = json_of(app.get("/api/list/ui_settings").await).await;
    let found = json_of(
        app.post(
            "/api/list/ui_settings/_exists",
            &json!({"key": "key", "value": "theme"}),
        )
        .await,
    )
    .await;
    let not_found = json_of(
        app.post(
            "/api/list/ui_settings/_exists",
            &json!({"key": "key", "value": "other"}),
        )
        .await,
    )
    .await;
    let no_value = app.post("/api/list/ui_settings", &json!({})).await;
    let replaced = json_of(
        app.patch(
            &format!("/api/list/{item_id}"),
            &json!({"value": {"key": "theme", "dark": false}}),
        )
        .await,
    )
    .await;
    let after_replace = json_of(app.get("/api/list/ui_settings").await).await;
    let deleted = app
        .delete(&format!("/api/list/{}", replaced.as_str().unwrap()))
        .await;

    assert!(
        names
            .as_array()
            .unwrap()
            .contains(&json!("list_artifactDataType"))
    );
    assert_eq!(again, json!(item_id));
    assert_eq!(
        list,
        json!({item_id.clone(): {"key": "theme", "dark": true}})
    );
    assert_eq!(found, json!({"found": true}));
    assert_eq!(not_found, json!({"found": false}));
    assert_eq!(no_value.status().as_u16(), 204);
    assert_ne!(replaced, json!(item_id));
    assert_eq!(after_replace.as_object().unwrap().len(), 1);
    assert_eq!(deleted.status().as_u16(), 204);
    assert_eq!(
        json_of(app.get("/api/list/ui_settings").await).await,
        json!({})
    );
}

#[tokio::test]
async fn list_changes_need_admin() {
    let app = TestApp::spawn().await;
    let reader = app.create_user("reader", &["read", "write"]).await;

    let add = app
        .post_as(
            &reader,
            "/api/list/custom_fields",
            &json!({"value": {"reference": "x"}}),
        )
        .await;
    let read = app.get_as(&reader, "/api/list/list_artifactDataType").await;

    assert_eq!(add.status().as_u16(), 403);
    assert_eq!(read.status().as_u16(), 200);
    assert_eq!(json_of(read).await.as_object().unwrap().len(), 15);
}

#[tokio::test]
async fn custom_field_usage_counts_cases_alerts_and_templates() {
    let app = TestApp::spawn().await;
    let definition = json!({"value": {"name": "cvss", "reference": "cvss", "description": "score", "type": "number", "options": [], "mandatory": false}});
    app.post("/api/list/custom_fields", &definition).await;
    app.create_case(&json!({"title": "a", "description": "b", "customFields": {"cvss": {"number": 7, "order": 0}}})).await;
    app.create_case(&json!({"title": "c", "description": "d"}))
        .await;

    let usage = app.get("/api/customFields/cvss").await;
    let unknown = app.get("/api/customFields/nope").await;

    assert_eq!(usage.status().as_u16(), 200);
    assert_eq!(
        json_of(usage).await,
        json!({"case": 1, "alert": 0, "caseTemplate": 0, "total": 1})
    );
    assert_eq!(unknown.status().as_u16(), 404);
}

#[tokio::test]
async fn describe_lists_the_models_with_custom_fields_and_data_types() {
    let app = TestApp::spawn().await;
    app.post("/api/list/custom_fields", &json!({"value": {"name": "Unit", "reference": "unit", "type": "string", "options": ["a", "b"]}})).await;

    let all = json_of(app.get("/api/describe/_all").await).await;
    let case = json_of(app.get("/api/describe/case").await).await;
    let unknown = app.get("/api/describe/nothing").await;

    for model in [
        "case",
        "case_artifact",
        "case_task",
        "case_task_log",
        "alert",
        "case_artifact_job",
        "audit",
        "action",
    ] {
        assert!(all[model]["attributes"].is_array(), "{model}");
    }
    let attributes = case["attributes"].as_array().unwrap();
    let unit = attributes
        .iter()
        .find(|a| a["name"] == "customFields.unit.string")
        .unwrap();
    assert_eq!(unit["values"], json!(["a", "b"]));
    let data_type = all["case_artifact"]["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "dataType")
        .unwrap()
        .clone();
    assert!(
        data_type["values"]
            .as_array()
            .unwrap()
            .contains(&json!("ip"))
    );
    assert_eq!(unknown.status().as_u16(), 404);
}

#[tokio::test]
async fn dashboards_are_private_to_their_owner_until_shared_and_deleted_softly() {
    let app = TestApp::spawn().await;
    let other = app.create_user("analyst", &["read", "write"]).await;
    let body = json!({"title": "SOC", "description": "d", "definition": {"items": []}});

    let created = app.post("/api/dashboard", &body).await;
    assert_eq!(created.status().as_u16(), 201);
    let dashboard = json_of(created).await;
    let id = dashboard["id"].as_str().unwrap().to_owned();
    assert_eq!(dashboard["status"], "Private");
    assert_eq!(dashboard["definition"], "{\"items\":[]}");

    assert_eq!(
        app.get_as(&other, &format!("/api/dashboard/{id}"))
            .await
            .status()
            .as_u16(),
        404
    );
    app.patch(
        &format!("/api/dashboard/{id}"),
        &json!({"status": "Shared"}),
    )
    .await;
    assert_eq!(
        app.get_as(&other, &format!("/api/dashboard/{id}"))
            .await
            .status()
            .as_u16(),
        200
    );
    assert_eq!(
        app.delete_as(&other, &format!("/api/dashboard/{id}"))
            .await
            .status()
            .as_u16(),
        403
    );
    let (visible, _) = app.search("/api/dashboard/_search", &json!({})).await;
    assert_eq!(visible, 1);

    assert_eq!(
        app.delete(&format!("/api/dashboard/{id}"))
            .await
            .status()
            .as_u16(),
        204
    );
    assert_eq!(
        app.get(&format!("/api/dashboard/{id}"))
            .await
            .status()
            .as_u16(),
        404
    );
    let (after, _) = app.search("/api/dashboard/_search", &json!({})).await;
    assert_eq!(after, 0);
}
