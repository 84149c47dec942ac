//! Analyzers through the connector: listing, jobs, reports and taxonomies on the observable,
//! artifacts imported as observables, each step in the activity stream.

use serde_json::{Value, json};

use super::{ENGINE, Engine, audits_of, case_with_observable, cases_for, get, post, run_analyzer};

#[tokio::test]
async fn a_builtin_analyzer_runs_on_an_observable_and_its_taxonomies_land_on_the_observable() {
    let engine = Engine::start().await;
    let worker = engine
        .enable("analyzer", "ObservableSanity_1_0", json!({}))
        .await;
    let app = cases_for(&engine).await;
    let (_, observable) = case_with_observable(&app, "domain", "evil[.]example").await;

    let (status, by_type) = get(&app, "/api/connector/cortex/analyzer/type/domain").await;
    let (_, for_files) = get(&app, "/api/connector/cortex/analyzer/type/file").await;
    let job = run_analyzer(&app, "ObservableSanity_1_0", &observable).await;

    assert_eq!(status, 200);
    assert_eq!(
        by_type,
        json!([{"id": worker["id"], "name": "ObservableSanity_1_0", "version": "1.0",
                "description": worker["description"], "dataTypeList": worker["dataTypeList"],
                "cortexIds": [ENGINE]}])
    );
    assert_eq!(for_files, json!([]));
    assert_eq!(job["status"], "Success", "{job}");
    assert_eq!(job["analyzerId"], worker["id"]);
    assert_eq!(job["analyzerName"], "ObservableSanity_1_0");
    assert_eq!(job["analyzerDefinition"], "ObservableSanity_1_0");
    assert_eq!(job["cortexId"], ENGINE);
    assert_eq!(job["artifactId"], observable["id"]);
    assert!(job["endDate"].as_i64().is_some());
    let taxonomies = &job["report"]["summary"]["taxonomies"];
    assert!(!taxonomies.as_array().unwrap().is_empty(), "{job}");
    assert_eq!(job["report"]["success"], true);
    // The observable carries the summary under the definition, and is found by it.
    let (_, observed) = get(
        &app,
        &format!("/api/case/artifact/{}", observable["id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(
        observed["reports"]["ObservableSanity_1_0"]["taxonomies"],
        *taxonomies
    );
    let namespace = taxonomies[0]["namespace"].as_str().unwrap();
    let (total, found) = app
        .search(
            "/api/case/artifact/_search",
            &json!({"query": {"_field": "reports.ObservableSanity_1_0.taxonomies.namespace", "_value": namespace}}),
        )
        .await;
    assert_eq!(total, 1, "{found:?}");
    assert_eq!(found[0]["id"], observable["id"]);
    // The engine's own job says the same.
    let engine_job = engine
        .get(&format!(
            "/api/job/{}",
            job["cortexJobId"].as_str().unwrap()
        ))
        .await;
    assert_eq!(engine_job["status"], "Success");
    assert_eq!(engine_job["data"], "evil[.]example");
    // Jobs are searchable without their reports, with their observable and case on demand.
    let (total, jobs) = app
        .search(
            "/api/connector/cortex/job/_search?nparent=2",
            &json!({"query": {"artifactId": observable["id"]}}),
        )
        .await;
    assert_eq!(total, 1);
    assert!(jobs[0].get("report").is_none());
    assert_eq!(jobs[0]["case_artifact"]["id"], observable["id"]);
    // Each step is in the activity stream: the job created, then ended; the observable updated.
    let job_audits = audits_of(&app, job["id"].as_str().unwrap()).await;
    let operations: Vec<&str> = job_audits
        .iter()
        .map(|a| a["operation"].as_str().unwrap())
        .collect();
    assert_eq!(operations, ["Creation", "Update"], "{job_audits:?}");
    assert_eq!(job_audits[1]["details"]["status"], "Success");
    assert_eq!(job_audits[1]["createdBy"], "admin");
    let observable_audits = audits_of(&app, observable["id"].as_str().unwrap()).await;
    // The observable's update is recorded in the same activity request as the job's end.
    assert!(
        observable_audits
            .iter()
            .any(|a| a["operation"] == "Update" && a["requestId"] == job_audits[1]["requestId"]),
        "{observable_audits:?}"
    );
}

#[tokio::test]
async fn several_analyzers_run_on_several_observables_in_one_call() {
    let engine = Engine::start().await;
    engine
        .enable("analyzer", "ObservableSanity_1_0", json!({}))
        .await;
    engine
        .enable("analyzer", "ConnectorTest_Artifacts_1_0", json!({}))
        .await;
    let app = cases_for(&engine).await;
    let (case, first) = case_with_observable(&app, "ip", "192.0.2.1").await;
    let response = app
        .post(
            &format!("/api/case/{}/artifact", case["id"].as_str().unwrap()),
            &json!({"dataType": "domain", "data": "second.example", "message": "m"}),
        )
        .await;
    let second: Value = response.json().await.unwrap();

    let (status, jobs) = post(
        &app,
        "/api/connector/cortex/job",
        &json!({"analyzerId": ["ObservableSanity_1_0", "ConnectorTest_Artifacts_1_0"],
                "artifactId": [first["id"], second["id"]]}),
    )
    .await;

    assert_eq!(status, 200, "{jobs}");
    assert_eq!(jobs.as_array().unwrap().len(), 4);
    for job in jobs.as_array().unwrap() {
        let ended = super::ended(
            &app,
            &format!("/api/connector/cortex/job/{}", job["id"].as_str().unwrap()),
        )
        .await;
        assert_eq!(ended["status"], "Success", "{ended}");
    }
    let (_, observed) = get(
        &app,
        &format!("/api/case/artifact/{}", first["id"].as_str().unwrap()),
    )
    .await;
    let reports = observed["reports"].as_object().unwrap();
    assert!(
        reports.contains_key("ObservableSanity_1_0")
            && reports.contains_key("ConnectorTest_Artifacts_1_0"),
        "{observed}"
    );
}

#[tokio::test]
async fn an_unknown_analyzer_or_observable_is_refused_clearly() {
    let engine = Engine::start().await;
    engine
        .enable("analyzer", "ObservableSanity_1_0", json!({}))
        .await;
    let app = cases_for(&engine).await;
    let (_, observable) = case_with_observable(&app, "ip", "192.0.2.1").await;

    let (unknown_analyzer, body) = post(
        &app,
        "/api/connector/cortex/job",
        &json!({"analyzerId": "Nope_1_0", "artifactId": observable["id"]}),
    )
    .await;
    let (unknown_observable, _) = post(
        &app,
        "/api/connector/cortex/job",
        &json!({"analyzerId": "ObservableSanity_1_0", "artifactId": "missing"}),
    )
    .await;
    let (missing_field, _) = post(
        &app,
        "/api/connector/cortex/job",
        &json!({"artifactId": observable["id"]}),
    )
    .await;

    assert_eq!(unknown_analyzer, 404);
    assert_eq!(body["message"], "analyzer Nope_1_0 not found");
    assert_eq!(unknown_observable, 404);
    assert_eq!(missing_field, 400);
    let (total, _) = app
        .search("/api/connector/cortex/job/_search", &json!({}))
        .await;
    assert_eq!(total, 0, "no job is stored for a refused request");
}

#[tokio::test]
async fn a_cortexutils_analyzer_returns_artifacts_that_import_as_observables_in_one_call() {
    let engine = Engine::start().await;
    engine
        .enable("analyzer", "ConnectorTest_Artifacts_1_0", json!({}))
        .await;
    let app = cases_for(&engine).await;
    let (case, observable) = case_with_observable(&app, "ip", "192.0.2.10").await;

    let job = run_analyzer(&app, "ConnectorTest_Artifacts_1_0", &observable).await;
    let job_id = job["id"].as_str().unwrap();
    let (_, before) = get(
        &app,
        &format!("/api/connector/cortex/job/{job_id}?nstats=true"),
    )
    .await;
    let (status, imported) = post(
        &app,
        &format!("/api/connector/cortex/job/{job_id}/artifacts/_import"),
        &json!({}),
    )
    .await;
    let (_, after) = get(
        &app,
        &format!("/api/connector/cortex/job/{job_id}?nstats=true"),
    )
    .await;

    assert_eq!(job["status"], "Success", "{job}");
    assert_eq!(
        job["report"]["summary"]["taxonomies"][0],
        json!({"level": "malicious", "namespace": "ConnectorTest", "predicate": "Verdict", "value": "bad"})
    );
    assert_eq!(job["report"]["full"]["message"], case["caseId"].to_string());
    let artifacts = before["report"]["artifacts"].as_array().unwrap();
    assert_eq!(artifacts.len(), 2, "{before}");
    assert!(
        artifacts.iter().all(|artifact| artifact["id"].is_null()),
        "{before}"
    );
    assert_eq!(status, 201, "{imported}");
    let imported = imported.as_array().unwrap();
    assert_eq!(imported.len(), 2);
    assert_eq!(imported[0]["dataType"], "ip");
    assert_eq!(imported[0]["data"], "203.0.113.7");
    assert_eq!(imported[0]["tags"], json!(["c2"]));
    assert_eq!(imported[0]["message"], "contacted");
    assert_eq!(imported[1]["dataType"], "file");
    let attachment = &imported[1]["attachment"];
    assert_eq!(attachment["name"], "dropped.bin");
    let content = app
        .get(&format!(
            "/api/datastore/{}",
            attachment["id"].as_str().unwrap()
        ))
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(&content[..], b"dropped by the analyzer");
    let known: Vec<&Value> = after["report"]["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| &a["id"])
        .collect();
    assert_eq!(known, vec![&imported[0]["id"], &imported[1]["id"]]);
    let (total, _) = app
        .search(
            &format!(
                "/api/case/{}/artifact/_search",
                case["id"].as_str().unwrap()
            ),
            &json!({}),
        )
        .await;
    assert_eq!(total, 3);
}

#[tokio::test]
async fn thehive4py_run_analyzer_works_unchanged_and_reads_the_report() {
    let engine = Engine::start().await;
    engine
        .enable("analyzer", "ObservableSanity_1_0", json!({}))
        .await;
    let app = cases_for(&engine).await;
    let (case, _) = case_with_observable(&app, "domain", "hxxp-free.example").await;
    let script = skep_testkit::workspace_root().join("tests/compat/thehive4py_connector.py");
    let args = [
        app.address.clone(),
        app.admin_key.clone(),
        case["id"].as_str().unwrap().to_owned(),
        ENGINE.to_owned(),
        "ObservableSanity_1_0".to_owned(),
    ];

    let output = tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        skep_testkit::run_python(&script, &args, &[])
    })
    .await
    .unwrap();

    assert!(
        output.status.success(),
        "{}",
        skep_testkit::describe_output(&output)
    );
}
