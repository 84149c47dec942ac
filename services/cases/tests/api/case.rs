//! Cases: create, defaults, templates, numbering, update side effects, delete, search, stats,
//! links, merge, bulk; roles.

use serde_json::{Value, json};

use crate::helpers::{TestApp, json_of};

#[tokio::test]
async fn a_created_case_has_the_thehive_defaults_and_metadata() {
    let app = TestApp::spawn().await;

    let response = app.create_case(&json!({"title": "Phishing", "description": "from mail", "tags": ["mail"], "owner": null})).await;

    assert_eq!(response.status().as_u16(), 201);
    let case = json_of(response).await;
    assert_eq!(case["_type"], "case");
    assert_eq!(case["id"], case["_id"]);
    assert_eq!(case["_routing"], case["_id"]);
    assert_eq!(case["_parent"], Value::Null);
    assert_eq!(case["severity"], 2);
    assert_eq!(case["tlp"], 2);
    assert_eq!(case["pap"], 2);
    assert_eq!(case["flag"], false);
    assert_eq!(case["status"], "Open");
    assert_eq!(case["owner"], "admin");
    assert_eq!(case["metrics"], json!({}));
    assert_eq!(case["customFields"], json!({}));
    assert_eq!(case["tags"], json!(["mail"]));
    assert_eq!(case["createdBy"], "admin");
    assert!(case["startDate"].is_i64() && case["createdAt"].is_i64());
    assert!(case["caseId"].is_i64());
    assert!(case.get("computed").is_none());
}

#[tokio::test]
async fn case_numbers_are_sequential_from_one() {
    let app = TestApp::spawn().await;

    let first = app.new_case("one").await;
    let second = app.new_case("two").await;

    assert_eq!(first["caseId"], 1);
    assert_eq!(second["caseId"], 2);
}

#[tokio::test]
async fn case_numbers_stay_unique_under_concurrent_creation() {
    let app = TestApp::spawn().await;

    let creations =
        (0..12).map(|index| app.new_case(Box::leak(format!("c{index}").into_boxed_str())));
    let cases = futures_util::future::join_all(creations).await;

    let mut numbers: Vec<i64> = cases
        .iter()
        .map(|case| case["caseId"].as_i64().unwrap())
        .collect();
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=12).collect::<Vec<i64>>());
}

#[tokio::test]
async fn missing_title_unknown_attributes_and_bad_values_answer_attribute_errors() {
    let app = TestApp::spawn().await;

    let response = app
        .create_case(&json!({"description": "d", "caseId": 4, "severity": 7}))
        .await;

    assert_eq!(response.status().as_u16(), 400);
    let error = json_of(response).await;
    assert_eq!(error["type"], "AttributeCheckingError");
    assert_eq!(error["tableName"], "case");
    let types: Vec<&str> = error["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert!(types.contains(&"MissingAttributeError"), "{types:?}");
    assert!(types.contains(&"UnknownAttributeError"), "{types:?}");
    assert!(types.contains(&"InvalidFormatAttributeError"), "{types:?}");
}

#[tokio::test]
async fn inline_tasks_are_created_and_id_null_is_accepted() {
    let app = TestApp::spawn().await;

    let case = json_of(
        app.create_case(&json!({"title": "t", "description": "d", "tasks": [
            {"id": null, "title": "Triage", "group": "g1", "owner": null},
            {"title": "Contain"}
        ]}))
        .await,
    )
    .await;
    let (total, tasks) = app
        .search(
            "/api/case/task/_search?range=all",
            &json!({"query": {"_parent": {"_type": "case", "_query": {"_id": case["id"]}}}}),
        )
        .await;

    assert_eq!(total, 2);
    let triage = tasks.iter().find(|task| task["title"] == "Triage").unwrap();
    assert_eq!(triage["group"], "g1");
    assert_eq!(triage["status"], "Waiting");
    assert_eq!(triage["_parent"], case["id"]);
}

#[tokio::test]
async fn a_template_prefixes_the_title_fills_defaults_and_adds_tasks_and_tags() {
    let app = TestApp::spawn().await;
    let template = app
        .post(
            "/api/case/template",
            &json!({"name": "phish", "titlePrefix": "[PHISH]", "severity": 3, "tags": ["phishing"], "metrics": {},
                    "description": "template description", "tasks": [{"title": "Analyse headers"}]}),
        )
        .await;
    assert_eq!(
        template.status().as_u16(),
        201,
        "{}",
        template.text().await.unwrap()
    );

    let case = json_of(
        app.create_case(
            &json!({"title": "Mail", "description": "d", "template": "phish", "tags": ["x"]}),
        )
        .await,
    )
    .await;
    let ignored = app
        .create_case(&json!({"title": "Other", "description": "d", "template": "nope"}))
        .await;
    let (total, _) = app
        .search(
            &format!("/api/case/{}/task/_search", case["id"].as_str().unwrap()),
            &json!({}),
        )
        .await;

    assert_eq!(case["title"], "[PHISH] Mail");
    assert_eq!(case["severity"], 3);
    assert_eq!(case["description"], "d");
    assert_eq!(case["tags"], json!(["x", "phishing"]));
    assert_eq!(total, 1);
    assert_eq!(ignored.status().as_u16(), 201);
}

#[tokio::test]
async fn resolving_a_case_sets_end_date_unflags_and_closes_open_tasks() {
    let app = TestApp::spawn().await;
    let case = app.new_case("to close").await;
    let id = case["id"].as_str().unwrap();
    let waiting = app.new_task(id, "waiting").await;
    let started = json_of(
        app.create_task(
            id,
            &json!({"title": "started", "status": "InProgress", "flag": true}),
        )
        .await,
    )
    .await;
    app.patch(&format!("/api/case/{id}"), &json!({"flag": true}))
        .await;

    let response = app
        .patch(&format!("/api/case/{id}"), &json!({"status": "Resolved", "resolutionStatus": "TruePositive", "impactStatus": "WithImpact", "summary": "done"}))
        .await;

    assert_eq!(response.status().as_u16(), 200);
    let closed = json_of(response).await;
    assert_eq!(closed["status"], "Resolved");
    assert_eq!(closed["flag"], false);
    assert!(closed["endDate"].is_i64());
    assert_eq!(closed["updatedBy"], "admin");
    let waiting = json_of(
        app.get(&format!(
            "/api/case/task/{}",
            waiting["id"].as_str().unwrap()
        ))
        .await,
    )
    .await;
    let started = json_of(
        app.get(&format!(
            "/api/case/task/{}",
            started["id"].as_str().unwrap()
        ))
        .await,
    )
    .await;
    assert_eq!(waiting["status"], "Cancel");
    assert_eq!(started["status"], "Completed");
    assert_eq!(started["flag"], false);
    assert!(started["endDate"].is_i64());

    let reopened = json_of(
        app.patch(&format!("/api/case/{id}"), &json!({"status": "Open"}))
            .await,
    )
    .await;
    assert!(reopened.get("endDate").is_none());
}

#[tokio::test]
async fn updates_lowercase_the_owner_and_refuse_managed_attributes() {
    let app = TestApp::spawn().await;
    let id = app.new_case("owned").await["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let owner = json_of(
        app.patch(&format!("/api/case/{id}"), &json!({"owner": "Jane"}))
            .await,
    )
    .await;
    let managed = app
        .patch(&format!("/api/case/{id}"), &json!({"caseId": 99}))
        .await;
    let custom = json_of(
        app.patch(
            &format!("/api/case/{id}"),
            &json!({"customFields.cvss.number": 7}),
        )
        .await,
    )
    .await;

    assert_eq!(owner["owner"], "jane");
    assert_eq!(managed.status().as_u16(), 400);
    assert_eq!(custom["customFields"], json!({"cvss": {"number": 7}}));
}

#[tokio::test]
async fn get_with_nstats_counts_tasks_and_observables() {
    let app = TestApp::spawn().await;
    let id = app.new_case("stats").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.new_task(&id, "a").await;
    app.create_task(&id, &json!({"title": "b", "status": "Cancel"}))
        .await;
    app.create_observable(
        &id,
        &json!({"dataType": "ip", "data": "10.1.1.1", "message": "m"}),
    )
    .await;

    let plain = json_of(app.get(&format!("/api/case/{id}")).await).await;
    let with_stats = json_of(app.get(&format!("/api/case/{id}?nstats=true")).await).await;

    assert!(plain.get("stats").is_none());
    assert_eq!(
        with_stats["stats"]["tasks"],
        json!({"Waiting": 1, "total": 1})
    );
    assert_eq!(with_stats["stats"]["artifacts"], json!({"count": 1}));
}

#[tokio::test]
async fn soft_delete_needs_admin_and_force_delete_removes_everything() {
    let app = TestApp::spawn().await;
    let writer = app.create_user("case-writer", &["read", "write"]).await;
    let id = app.new_case("delete me").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let task = app.new_task(&id, "t").await;
    app.create_observable(
        &id,
        &json!({"dataType": "ip", "data": "10.9.9.9", "message": "m"}),
    )
    .await;

    let forbidden = app.delete_as(&writer, &format!("/api/case/{id}")).await;
    let soft = app.delete(&format!("/api/case/{id}")).await;
    let after_soft = json_of(app.get(&format!("/api/case/{id}")).await).await;
    let force = app.delete(&format!("/api/case/{id}/force")).await;
    let after_force = app.get(&format!("/api/case/{id}")).await;
    let task_after = app
        .get(&format!("/api/case/task/{}", task["id"].as_str().unwrap()))
        .await;

    assert_eq!(forbidden.status().as_u16(), 403);
    assert_eq!(soft.status().as_u16(), 204);
    assert_eq!(after_soft["status"], "Deleted");
    assert_eq!(force.status().as_u16(), 204);
    assert_eq!(after_force.status().as_u16(), 404);
    assert_eq!(
        json_of(after_force).await,
        json!({"type": "NotFoundError", "message": format!("case {id} not found")})
    );
    assert_eq!(task_after.status().as_u16(), 404);
}

#[tokio::test]
async fn search_returns_an_array_with_x_total_and_honours_range_and_sort() {
    let app = TestApp::spawn().await;
    for title in ["alpha", "bravo", "charlie"] {
        app.new_case(title).await;
    }

    let (total, page) = app
        .search(
            "/api/case/_search?range=0-2&sort=%2Btitle",
            &json!({"query": {}}),
        )
        .await;
    let (_, open) = app.search("/api/case/_search", &json!({"query": {"_and": [{"_field": "status", "_value": "Open"}, {"_string": "title:bravo"}]}})).await;
    let list = app.get("/api/case?range=all").await;

    assert_eq!(total, 3);
    assert_eq!(page.len(), 2);
    assert_eq!(page[0]["title"], "alpha");
    assert_eq!(page[1]["title"], "bravo");
    assert_eq!(open.len(), 1);
    assert_eq!(list.status().as_u16(), 200);
    assert_eq!(json_of(list).await.as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn case_stats_aggregate_by_field_and_on_handling_duration() {
    let app = TestApp::spawn().await;
    let id = app.new_case("s1").await["id"].as_str().unwrap().to_owned();
    app.create_case(&json!({"title": "s2", "description": "d", "severity": 3}))
        .await;
    app.patch(
        &format!("/api/case/{id}"),
        &json!({"status": "Resolved", "startDate": 1_000, "endDate": 7_201_000}),
    )
    .await;

    let by_severity = json_of(
        app.post("/api/case/_stats", &json!({"query": {}, "stats": [{"_agg": "field", "_field": "severity", "_select": [{"_agg": "count"}]}, {"_agg": "count"}]}))
            .await,
    )
    .await;
    let duration = json_of(
        app.post("/api/case/_stats", &json!({"query": {"status": "Resolved"}, "stats": [{"_agg": "avg", "_field": "computed.handlingDurationInHours"}]}))
            .await,
    )
    .await;
    let missing = app.post("/api/case/_stats", &json!({"query": {}})).await;

    assert_eq!(by_severity["count"], 2);
    assert_eq!(by_severity["2"]["count"], 1);
    assert_eq!(by_severity["3"]["count"], 1);
    assert_eq!(
        duration["avg_computed.handlingDurationInHours"].as_f64(),
        Some(2.0)
    );
    assert_eq!(missing.status().as_u16(), 400);
}

#[tokio::test]
async fn links_list_other_cases_sharing_observables_without_description() {
    let app = TestApp::spawn().await;
    let first = app.new_case("first").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let second = app.new_case("second").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let third = app.new_case("third").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for case in [&first, &second] {
        app.create_observable(
            case,
            &json!({"dataType": "domain", "data": "evil.example", "message": "m"}),
        )
        .await;
    }
    app.create_observable(
        &third,
        &json!({"dataType": "domain", "data": "fine.example", "message": "m"}),
    )
    .await;

    let links = json_of(app.get(&format!("/api/case/{first}/links")).await).await;

    let links = links.as_array().unwrap();
    assert_eq!(links.len(), 1);
    assert_eq!(links[0]["id"], second.as_str());
    assert!(links[0].get("description").is_none());
    assert_eq!(links[0]["linksCount"], 1);
    assert_eq!(links[0]["linkedWith"][0]["data"], "evil.example");
}

#[tokio::test]
async fn merging_two_cases_creates_a_new_case_and_resolves_the_sources_as_duplicated() {
    let app = TestApp::spawn().await;
    let first = json_of(
        app.create_case(&json!({"title": "A", "description": "da", "severity": 1, "tags": ["a"]}))
            .await,
    )
    .await;
    let second = json_of(
        app.create_case(&json!({"title": "B", "description": "db", "severity": 3, "tags": ["b"]}))
            .await,
    )
    .await;
    let (a, b) = (
        first["id"].as_str().unwrap(),
        second["id"].as_str().unwrap(),
    );
    app.new_task(a, "task of A").await;
    app.create_observable(
        b,
        &json!({"dataType": "ip", "data": "1.2.3.4", "message": "m"}),
    )
    .await;

    let response = app
        .post(&format!("/api/case/{a}/_merge/{b}"), &json!({}))
        .await;

    assert_eq!(response.status().as_u16(), 200);
    let merged = json_of(response).await;
    let id = merged["id"].as_str().unwrap();
    assert_eq!(merged["title"], "A / B");
    assert_eq!(merged["severity"], 3);
    assert_eq!(merged["tags"], json!(["a", "b"]));
    assert_eq!(merged["mergeFrom"], json!([a, b]));
    let (tasks, _) = app
        .search(&format!("/api/case/{id}/task/_search"), &json!({}))
        .await;
    let (observables, _) = app
        .search(&format!("/api/case/{id}/artifact/_search"), &json!({}))
        .await;
    assert_eq!((tasks, observables), (1, 1));
    let source = json_of(app.get(&format!("/api/case/{a}?nstats=true")).await).await;
    assert_eq!(source["status"], "Resolved");
    assert_eq!(source["resolutionStatus"], "Duplicated");
    assert_eq!(source["mergeInto"], id);
    assert_eq!(source["stats"]["mergeInto"]["caseId"], merged["caseId"]);
}

#[tokio::test]
async fn bulk_update_answers_the_multi_output() {
    let app = TestApp::spawn().await;
    let a = app.new_case("bulk a").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let b = app.new_case("bulk b").await["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let all_ok = app
        .patch("/api/case/_bulk", &json!({"ids": [a, b], "severity": 4}))
        .await;
    let mixed = app
        .patch(
            "/api/case/_bulk",
            &json!({"ids": [a, "missing"], "severity": 1}),
        )
        .await;
    let all_bad = app
        .patch(
            "/api/case/_bulk",
            &json!({"ids": ["missing"], "severity": 1}),
        )
        .await;

    assert_eq!(all_ok.status().as_u16(), 200);
    assert_eq!(json_of(all_ok).await.as_array().unwrap().len(), 2);
    assert_eq!(mixed.status().as_u16(), 207);
    let mixed = json_of(mixed).await;
    assert_eq!(mixed["success"].as_array().unwrap().len(), 1);
    assert_eq!(mixed["failure"][0]["type"], "NotFoundError");
    assert_eq!(all_bad.status().as_u16(), 400);
}

#[tokio::test]
async fn roles_are_a_set_readers_read_writers_write_and_admin_alone_reads_nothing() {
    let app = TestApp::spawn().await;
    let reader = app.create_user("only-reader", &["read"]).await;
    let admin_only = app.create_user("only-admin", &["admin"]).await;
    let alert_only = app.create_user("only-alert", &["alert"]).await;
    let id = app.new_case("roles").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let body = json!({"title": "t", "description": "d"});

    assert_eq!(
        app.get_as(&reader, &format!("/api/case/{id}"))
            .await
            .status()
            .as_u16(),
        200
    );
    assert_eq!(
        app.post_as(&reader, "/api/case", &body)
            .await
            .status()
            .as_u16(),
        403
    );
    assert_eq!(
        app.patch_as(&reader, &format!("/api/case/{id}"), &json!({"severity": 1}))
            .await
            .status()
            .as_u16(),
        403
    );
    assert_eq!(
        app.get_as(&admin_only, &format!("/api/case/{id}"))
            .await
            .status()
            .as_u16(),
        403
    );
    assert_eq!(
        app.post_as(&alert_only, "/api/case/_search", &json!({}))
            .await
            .status()
            .as_u16(),
        403
    );
    assert_eq!(
        app.post_as(&alert_only, "/api/case", &body)
            .await
            .status()
            .as_u16(),
        403
    );
}

#[tokio::test]
async fn form_encoded_bodies_and_query_strings_are_accepted() {
    let app = TestApp::spawn().await;

    let response = app
        .client
        .post(app.url("/api/case?severity=4"))
        .bearer_auth(&app.admin_key)
        .form(&[("title", "form"), ("description", "d"), ("severity", "1")])
        .send()
        .await
        .unwrap();

    assert_eq!(response.status().as_u16(), 201);
    assert_eq!(json_of(response).await["severity"], 4);
}

#[tokio::test]
async fn merging_cases_needs_the_write_role() {
    let app = TestApp::spawn().await;
    let reader = app.create_user("reader", &["read"]).await;
    let first = json_of(
        app.create_case(&json!({"title": "A", "description": "d"}))
            .await,
    )
    .await;
    let second = json_of(
        app.create_case(&json!({"title": "B", "description": "d"}))
            .await,
    )
    .await;
    let path = format!(
        "/api/case/{}/_merge/{}",
        first["id"].as_str().unwrap(),
        second["id"].as_str().unwrap()
    );

    let response = app.post_as(&reader, &path, &json!({})).await;

    assert_eq!(response.status().as_u16(), 403);
}
