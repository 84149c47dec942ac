//! Enabling, reading, updating and disabling analyzers and responders; base configurations.

use md5::{Digest, Md5};
use serde_json::json;

use crate::helpers::status_and_json;
use crate::worker_fixture::{Fixture, org_with_users};

#[tokio::test]
async fn enabling_a_definition_answers_201_with_the_md5_id_and_no_configuration() {
    let fixture = Fixture::spawn().await;

    let response = fixture
        .app
        .post_as(
            &fixture.admin,
            "/api/organization/analyzer/SkepTest_Success_1_0",
            &json!({"name": "SkepTest_Success_1_0", "configuration": {"key": "s3cr3t"}, "jobCache": 5}),
        )
        .await;

    let (status, worker) = status_and_json(response).await;
    assert_eq!(status, 201, "{worker}");
    let expected = hex::encode(Md5::digest(
        json!([fixture.org, "SkepTest_Success_1_0", "analyzer"]).to_string(),
    ));
    assert_eq!(worker["id"], expected);
    assert_eq!(worker["workerDefinitionId"], "SkepTest_Success_1_0");
    assert_eq!(worker["analyzerDefinitionId"], "SkepTest_Success_1_0");
    assert_eq!(worker["jobCache"], 5);
    assert_eq!(worker["type"], "analyzer");
    assert!(worker.get("configuration").is_none(), "{worker}");
}

#[tokio::test]
async fn the_orgadmin_sees_defaults_filled_in_and_the_analyst_sees_no_configuration() {
    let fixture = Fixture::spawn().await;
    let id = fixture
        .enable_analyzer("SkepTest_Success_1_0", json!({"key": "s3cr3t"}))
        .await;

    let (_, as_admin) = status_and_json(
        fixture
            .app
            .get_as(&fixture.admin, &format!("/api/analyzer/{id}"))
            .await,
    )
    .await;
    let (_, as_analyst) = status_and_json(
        fixture
            .app
            .get_as(&fixture.analyst, &format!("/api/analyzer/{id}"))
            .await,
    )
    .await;

    let configuration = &as_admin["configuration"];
    assert_eq!(configuration["key"], "s3cr3t");
    assert_eq!(configuration["count"], 3);
    assert_eq!(configuration["hosts"], json!([]));
    assert_eq!(configuration["jobTimeout"], 30.0);
    assert!(configuration["check_tlp"].is_null());
    assert!(as_analyst.get("configuration").is_none());
}

#[tokio::test]
async fn enabling_the_same_definition_twice_answers_400_conflict() {
    let fixture = Fixture::spawn().await;
    fixture
        .enable_analyzer("SkepTest_Fail_1_0", json!({}))
        .await;

    let response = fixture
        .app
        .post_as(
            &fixture.admin,
            "/api/organization/analyzer/SkepTest_Fail_1_0",
            &json!({"name": "SkepTest_Fail_1_0"}),
        )
        .await;

    let (status, body) = status_and_json(response).await;
    assert_eq!(status, 400);
    assert_eq!(body["type"], "ConflictError");
}

#[tokio::test]
async fn unknown_missing_and_mistyped_configuration_items_answer_400() {
    let fixture = Fixture::spawn().await;

    let response = fixture
        .app
        .post_as(
            &fixture.admin,
            "/api/organization/analyzer/SkepTest_Success_1_0",
            &json!({"configuration": {"colour": "blue", "count": "three"}}),
        )
        .await;

    let (status, body) = status_and_json(response).await;
    assert_eq!(status, 400);
    assert_eq!(body["type"], "AttributeCheckingError");
    let types: Vec<_> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].clone())
        .collect();
    assert!(types.contains(&json!("UnknownAttributeError")), "{body}");
    assert!(types.contains(&json!("MissingAttributeError")), "{body}");
    assert!(
        types.contains(&json!("InvalidFormatAttributeError")),
        "{body}"
    );
}

#[tokio::test]
async fn enabling_an_unknown_definition_answers_404() {
    let fixture = Fixture::spawn().await;

    let response = fixture
        .app
        .post_as(
            &fixture.admin,
            "/api/organization/analyzer/Nope_1_0",
            &json!({}),
        )
        .await;

    assert_eq!(response.status().as_u16(), 404);
}

#[tokio::test]
async fn an_analyst_cannot_enable_a_worker() {
    let fixture = Fixture::spawn().await;

    let response = fixture
        .app
        .post_as(
            &fixture.analyst,
            "/api/organization/analyzer/SkepTest_Fail_1_0",
            &json!({}),
        )
        .await;

    assert_eq!(response.status().as_u16(), 403);
}

#[tokio::test]
async fn workers_are_listed_by_type_and_searched_by_name() {
    let fixture = Fixture::spawn().await;
    let id = fixture
        .enable_analyzer("SkepTest_Success_1_0", json!({"key": "k"}))
        .await;
    fixture
        .enable_analyzer("SkepTest_Fail_1_0", json!({}))
        .await;

    let (_, by_type) = status_and_json(
        fixture
            .app
            .get_as(&fixture.reader, "/api/analyzer/type/domain")
            .await,
    )
    .await;
    let (_, by_name) = status_and_json(
        fixture
            .app
            .post_as(
                &fixture.reader,
                "/api/analyzer/_search?range=0-1",
                &json!({"query": {"_field": "name", "_value": "SkepTest_Success_1_0"}}),
            )
            .await,
    )
    .await;
    let (_, all) = status_and_json(
        fixture
            .app
            .get_as(&fixture.reader, "/api/analyzer?range=all")
            .await,
    )
    .await;

    assert_eq!(by_type.as_array().unwrap().len(), 1);
    assert_eq!(by_type[0]["id"], id.as_str());
    assert_eq!(by_name[0]["id"], id.as_str());
    assert_eq!(all.as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_worker_is_updated_then_disabled() {
    let fixture = Fixture::spawn().await;
    let id = fixture
        .enable_analyzer("SkepTest_Success_1_0", json!({"key": "k"}))
        .await;

    let (status, updated) = status_and_json(
        fixture
            .app
            .patch_as(
                &fixture.admin,
                &format!("/api/analyzer/{id}"),
                &json!({"configuration": {"count": 9}, "rate": 5, "rateUnit": "Hour"}),
            )
            .await,
    )
    .await;
    let disabled = fixture
        .app
        .delete_as(&fixture.admin, &format!("/api/analyzer/{id}"))
        .await;
    let after = fixture
        .app
        .get_as(&fixture.admin, &format!("/api/analyzer/{id}"))
        .await;

    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["configuration"]["count"], 9);
    assert_eq!(updated["configuration"]["key"], "k");
    assert_eq!(updated["rate"], 5);
    assert_eq!(disabled.status().as_u16(), 204);
    assert_eq!(after.status().as_u16(), 404);
}

#[tokio::test]
async fn a_worker_of_another_organisation_answers_404() {
    let fixture = Fixture::spawn().await;
    let id = fixture
        .enable_analyzer("SkepTest_Fail_1_0", json!({}))
        .await;
    let (_, other_admin, _, _) = org_with_users(&fixture.app).await;

    let response = fixture
        .app
        .get_as(&other_admin, &format!("/api/analyzer/{id}"))
        .await;

    assert_eq!(response.status().as_u16(), 404);
}

#[tokio::test]
async fn base_configurations_list_global_first_and_save_values() {
    let fixture = Fixture::spawn().await;

    let (status, saved) = status_and_json(
        fixture
            .app
            .patch_as(
                &fixture.admin,
                "/api/analyzerconfig/SkepTest",
                &json!({"config": {"count": 7}}),
            )
            .await,
    )
    .await;
    let (_, configs) = status_and_json(
        fixture
            .app
            .get_as(&fixture.admin, "/api/analyzerconfig")
            .await,
    )
    .await;
    let refused = fixture
        .app
        .patch_as(
            &fixture.admin,
            "/api/analyzerconfig/SkepTest",
            &json!({"config": {"nope": 1}}),
        )
        .await;

    assert_eq!(status, 200, "{saved}");
    assert_eq!(saved["config"], json!({"count": 7}));
    assert_eq!(configs[0]["name"], "global");
    let skep = configs
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "SkepTest")
        .unwrap();
    assert_eq!(skep["config"]["count"], 7);
    assert_eq!(skep["configurationItems"][0]["required"], false);
    assert_eq!(refused.status().as_u16(), 400);
}

#[tokio::test]
async fn a_responder_is_enabled_with_its_maximum_tlp_and_pap() {
    let fixture = Fixture::spawn().await;

    let response = fixture
        .app
        .post_as(
            &fixture.admin,
            "/api/organization/responder/SkepResponder_1_0",
            &json!({"name": "SkepResponder_1_0", "configuration": {"max_tlp": 3, "max_pap": 2}}),
        )
        .await;

    let (status, responder) = status_and_json(response).await;
    assert_eq!(status, 201, "{responder}");
    assert_eq!(responder["maxTlp"], 3);
    assert_eq!(responder["maxPap"], 2);
    assert!(responder.get("analyzerDefinitionId").is_none());
}
