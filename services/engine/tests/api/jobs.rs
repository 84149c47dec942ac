//! Jobs run by real cortexutils analyzers and responders, through the REST API.

use reqwest::Method;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use skep_store::NewDocument;

use crate::helpers::status_and_json;
use crate::worker_fixture::{Fixture, org_with_users};

fn ip(data: &str) -> Value {
    json!({"dataType": "ip", "data": data, "tlp": 2, "pap": 2, "message": "m"})
}

#[tokio::test]
async fn a_successful_job_has_taxonomies_artifacts_and_a_stored_file_artifact() {
    let fixture = Fixture::spawn().await;
    let worker = fixture
        .enable_analyzer("SkepTest_Success_1_0", json!({"key": "k", "count": 4}))
        .await;

    let job = fixture
        .run(
            "analyzer",
            &worker,
            json!({"dataType": "ip", "data": "198.51.100.7", "parameters": {"user": "u"}}),
        )
        .await;
    let report = fixture.report(job["id"].as_str().unwrap()).await;

    assert_eq!(job["status"], "Waiting");
    assert_eq!(job["workerId"], worker.as_str());
    assert_eq!(job["analyzerId"], worker.as_str());
    assert_eq!(job["organization"], fixture.org.as_str());
    assert_eq!(job["type"], "analyzer");
    assert!(job["date"].is_number() && job["cacheTag"].is_string());
    assert_eq!(report["status"], "Success", "{report}");
    let body = &report["report"];
    assert_eq!(body["success"], true);
    assert_eq!(body["full"]["data"], "198.51.100.7");
    assert_eq!(body["full"]["count"], 4);
    assert_eq!(body["full"]["service"], "success");
    assert_eq!(body["full"]["parameters"], json!({"user": "u"}));
    let taxonomies = body["summary"]["taxonomies"].as_array().unwrap();
    assert_eq!(taxonomies.len(), 2);
    assert_eq!(taxonomies[1]["level"], "malicious");
    let artifacts = body["artifacts"].as_array().unwrap();
    assert_eq!(
        artifacts[0],
        json!({"data": "8.8.8.8", "dataType": "ip", "message": "resolver", "tags": ["test"], "tlp": 2})
    );
    let file = &artifacts[1]["attachment"];
    assert_eq!(file["name"], "dropped.bin");
    assert_eq!(artifacts[1]["tlp"], 1);
    let download = fixture
        .app
        .get_as(
            &fixture.reader,
            &format!("/api/datastore/{}", file["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(download.status().as_u16(), 200);
    assert_eq!(
        download.bytes().await.unwrap().as_ref(),
        b"dropped by the analyzer"
    );
    let (status, entities) = status_and_json(
        fixture
            .app
            .get_as(
                &fixture.reader,
                &format!("/api/job/{}/artifacts", job["id"].as_str().unwrap()),
            )
            .await,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(entities.as_array().unwrap().len(), 2);
    assert_eq!(entities[0]["_type"], "artifact");
}

#[tokio::test]
async fn a_file_is_analyzed_from_a_multipart_upload_and_served_zipped() {
    let fixture = Fixture::spawn().await;
    let worker = fixture
        .enable_analyzer("SkepTest_Success_1_0", json!({"key": "k"}))
        .await;
    let content = b"MZ fake executable".to_vec();
    let form = reqwest::multipart::Form::new()
        .text(
            "_json",
            json!({"dataType": "file", "tlp": 1, "attachment": {"name": "ignored"}}).to_string(),
        )
        .part(
            "data",
            reqwest::multipart::Part::bytes(content.clone())
                .file_name("sample.exe")
                .mime_str("application/x-dosexec")
                .unwrap(),
        );

    let response = fixture
        .app
        .request_as(
            &fixture.analyst,
            Method::POST,
            &format!("/api/analyzer/{worker}/run"),
        )
        .multipart(form)
        .send()
        .await
        .unwrap();
    let (status, job) = status_and_json(response).await;
    let report = fixture.report(job["id"].as_str().unwrap()).await;

    assert_eq!(status, 200, "{job}");
    let sha256 = hex::encode(Sha256::digest(&content));
    assert_eq!(job["attachment"]["id"], sha256.as_str());
    assert_eq!(job["attachment"]["name"], "sample.exe");
    assert_eq!(job["attachment"]["size"], content.len());
    assert_eq!(report["report"]["full"]["data"], "sample.exe", "{report}");
    assert_eq!(report["report"]["full"]["sha256"], sha256.as_str());
    assert_eq!(
        report["report"]["full"]["contentType"],
        "application/x-dosexec"
    );
    let zipped = fixture
        .app
        .get_as(
            &fixture.reader,
            &format!("/api/datastorezip/{sha256}?name=sample.exe"),
        )
        .await;
    assert_eq!(zipped.status().as_u16(), 200);
    let archive = crate::helpers::unique("zip");
    let path = fixture.catalog.path().join(format!("{archive}.zip"));
    std::fs::write(&path, zipped.bytes().await.unwrap()).unwrap();
    let script = fixture.catalog.path().join("unzip.py");
    std::fs::write(
        &script,
        "import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\nsys.stdout.write(z.read('sample.exe', pwd=b'malware').decode())\n",
    )
    .unwrap();
    let output = skep_testkit::run_python(&script, &[path.to_str().unwrap()], &[]);
    assert!(
        output.status.success(),
        "{}",
        skep_testkit::describe_output(&output)
    );
    assert_eq!(output.stdout, content);
}

#[tokio::test]
async fn the_legacy_body_with_attributes_is_accepted() {
    let fixture = Fixture::spawn().await;
    let worker = fixture
        .enable_analyzer("SkepTest_Success_1_0", json!({"key": "k"}))
        .await;

    let job = fixture
        .run("analyzer", &worker, json!({"data": "example.org", "attributes": {"dataType": "domain", "tlp": 1, "pap": 0, "message": "case 7"}}))
        .await;
    let report = fixture.report(job["id"].as_str().unwrap()).await;

    assert_eq!(job["dataType"], "domain");
    assert_eq!(
        (job["tlp"].clone(), job["pap"].clone()),
        (json!(1), json!(0))
    );
    assert_eq!(report["report"]["full"]["message"], "case 7");
}

#[tokio::test]
async fn a_worker_error_ends_the_job_as_failure_with_its_message_and_redacted_input() {
    let fixture = Fixture::spawn().await;
    let worker = fixture
        .enable_analyzer("SkepTest_Fail_1_0", json!({}))
        .await;

    let report = fixture.run_to_end(&worker, ip("192.0.2.1")).await;

    assert_eq!(report["status"], "Failure");
    assert_eq!(report["errorMessage"], "intentional failure for 192.0.2.1");
    assert_eq!(report["report"]["success"], false);
    assert_eq!(
        report["report"]["errorMessage"],
        "intentional failure for 192.0.2.1"
    );
    let input: Value = serde_json::from_str(report["report"]["input"].as_str().unwrap()).unwrap();
    assert_eq!(input["data"], "192.0.2.1");
}

#[tokio::test]
async fn a_tlp_above_the_maximum_is_refused_by_the_engine() {
    let fixture = Fixture::spawn().await;
    let worker = fixture
        .enable_analyzer(
            "SkepTest_Success_1_0",
            json!({"key": "k", "check_tlp": true, "max_tlp": 1}),
        )
        .await;

    let report = fixture
        .run_to_end(
            &worker,
            json!({"dataType": "ip", "data": "10.0.0.1", "tlp": 3}),
        )
        .await;

    assert_eq!(report["status"], "Failure");
    assert_eq!(report["errorMessage"], "TLP is higher than allowed.");
}

#[tokio::test]
async fn a_worker_running_past_its_timeout_is_killed() {
    let fixture = Fixture::spawn().await;
    let worker = fixture
        .enable(
            "analyzer",
            "SkepTest_Sleep_1_0",
            json!({"name": "SkepTest_Sleep_1_0", "jobTimeout": 0.02}),
        )
        .await;

    let report = fixture.run_to_end(&worker, ip("10.0.0.2")).await;

    assert_eq!(report["status"], "Failure");
    let message = report["errorMessage"].as_str().unwrap();
    assert!(
        message.starts_with("job timed out after 1.2 seconds and was killed"),
        "{message}"
    );
}

#[tokio::test]
async fn a_crash_without_output_reports_the_end_of_stderr() {
    let fixture = Fixture::spawn().await;
    let worker = fixture
        .enable_analyzer("SkepTest_Crash_1_0", json!({}))
        .await;

    let report = fixture.run_to_end(&worker, ip("10.0.0.3")).await;

    assert_eq!(report["status"], "Failure");
    let message = report["errorMessage"].as_str().unwrap();
    assert!(
        message.starts_with("worker produced no output (exit status: 1)"),
        "{message}"
    );
    assert!(
        message.contains("RuntimeError: the analyzer crashed on purpose"),
        "{message}"
    );
}

#[tokio::test]
async fn invalid_json_output_is_a_failure_that_says_so() {
    let fixture = Fixture::spawn().await;
    let worker = fixture
        .enable_analyzer("SkepTest_Invalid_1_0", json!({}))
        .await;

    let report = fixture.run_to_end(&worker, ip("10.0.0.4")).await;

    assert_eq!(report["status"], "Failure");
    let message = report["errorMessage"].as_str().unwrap();
    assert!(
        message.starts_with("invalid worker output: output.json is not valid JSON"),
        "{message}"
    );
}

#[tokio::test]
async fn a_10_mb_report_is_stored_and_returned() {
    let fixture = Fixture::spawn().await;
    let worker = fixture
        .enable_analyzer("SkepTest_Large_1_0", json!({}))
        .await;

    let report = fixture.run_to_end(&worker, ip("10.0.0.5")).await;

    assert_eq!(report["status"], "Success", "{}", report["errorMessage"]);
    assert_eq!(
        report["report"]["full"]["blob"].as_str().unwrap().len(),
        10 * 1024 * 1024
    );
}

#[tokio::test]
async fn a_definition_whose_command_is_absent_fails_with_a_clear_message() {
    let fixture = Fixture::spawn().await;
    let worker = fixture
        .enable_analyzer("SkepTest_Missing_1_0", json!({}))
        .await;

    let report = fixture.run_to_end(&worker, ip("10.0.0.6")).await;

    assert_eq!(report["status"], "Failure");
    let message = report["errorMessage"].as_str().unwrap();
    assert!(
        message.contains("command `SkepTest/missing.py` of SkepTest_Missing_1_0 not found"),
        "{message}"
    );
}

#[tokio::test]
async fn a_responder_returns_operations_and_keeps_its_entity_as_an_object() {
    let fixture = Fixture::spawn().await;
    let responder = fixture
        .enable(
            "responder",
            "SkepResponder_1_0",
            json!({"name": "SkepResponder_1_0"}),
        )
        .await;
    let case = json!({"_type": "case", "id": "c1", "title": "Phishing", "tags": []});

    let job = fixture
        .run("responder", &responder, json!({"dataType": "thehive:case", "data": case, "tlp": 2, "pap": 2, "label": "tag it"}))
        .await;
    let report = fixture.report(job["id"].as_str().unwrap()).await;

    assert_eq!(job["data"], case);
    assert_eq!(job["label"], "tag it");
    assert_eq!(report["status"], "Success", "{report}");
    assert_eq!(report["report"]["full"]["message"], "tagged Phishing");
    assert_eq!(
        report["report"]["operations"],
        json!([{"type": "AddTagToCase", "tag": "skep:responded"}, {"type": "AddLogToTask", "content": "done"}])
    );
}

#[tokio::test]
async fn the_same_observable_is_served_from_the_cache_unless_forced() {
    let fixture = Fixture::spawn().await;
    let worker = fixture
        .enable_analyzer("SkepTest_Success_1_0", json!({"key": "k"}))
        .await;
    let first = fixture.run_to_end(&worker, ip("203.0.113.9")).await;

    let cached = fixture.run("analyzer", &worker, ip("203.0.113.9")).await;
    let forced = fixture
        .app
        .post_as(
            &fixture.analyst,
            &format!("/api/analyzer/{worker}/run?force=1"),
            &ip("203.0.113.9"),
        )
        .await;

    assert_eq!(cached["id"], first["id"]);
    assert_eq!(cached["fromCache"], true);
    let (status, forced) = status_and_json(forced).await;
    assert_eq!(status, 200);
    assert_ne!(forced["id"], first["id"]);
    assert!(forced.get("fromCache").is_none());
}

#[tokio::test]
async fn the_rate_limit_answers_429_once_reached() {
    let fixture = Fixture::spawn().await;
    let worker = fixture
        .enable(
            "analyzer",
            "SkepTest_Fail_1_0",
            json!({"name": "SkepTest_Fail_1_0", "rate": 1, "rateUnit": "Minute"}),
        )
        .await;
    fixture.run("analyzer", &worker, ip("10.1.1.1")).await;

    let response = fixture
        .app
        .post_as(
            &fixture.analyst,
            &format!("/api/analyzer/{worker}/run?force=1"),
            &ip("10.1.1.2"),
        )
        .await;

    let (status, body) = status_and_json(response).await;
    assert_eq!(status, 429);
    assert_eq!(body["type"], "RateLimitExceeded");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .starts_with("Rate of 1 per Minute reached"),
        "{body}"
    );
}

#[tokio::test]
async fn a_reader_cannot_run_a_worker() {
    let fixture = Fixture::spawn().await;
    let worker = fixture
        .enable_analyzer("SkepTest_Fail_1_0", json!({}))
        .await;

    let response = fixture
        .app
        .post_as(
            &fixture.reader,
            &format!("/api/analyzer/{worker}/run"),
            &ip("10.2.2.2"),
        )
        .await;

    assert_eq!(response.status().as_u16(), 403);
}

#[tokio::test]
async fn a_run_without_data_answers_400_attribute_checking_error() {
    let fixture = Fixture::spawn().await;
    let worker = fixture
        .enable_analyzer("SkepTest_Fail_1_0", json!({}))
        .await;

    let response = fixture
        .app
        .post_as(
            &fixture.analyst,
            &format!("/api/analyzer/{worker}/run"),
            &json!({"dataType": "ip"}),
        )
        .await;

    let (status, body) = status_and_json(response).await;
    assert_eq!(status, 400);
    assert_eq!(body["type"], "AttributeCheckingError");
}

#[tokio::test]
async fn jobs_and_workers_of_another_organisation_answer_404() {
    let fixture = Fixture::spawn().await;
    let worker = fixture
        .enable_analyzer("SkepTest_Fail_1_0", json!({}))
        .await;
    let job = fixture.run("analyzer", &worker, ip("10.3.3.3")).await;
    let (_, _, other_analyst, _) = org_with_users(&fixture.app).await;
    let id = job["id"].as_str().unwrap();

    let get = fixture
        .app
        .get_as(&other_analyst, &format!("/api/job/{id}"))
        .await;
    let report = fixture
        .app
        .get_as(&other_analyst, &format!("/api/job/{id}/report"))
        .await;
    let run = fixture
        .app
        .post_as(
            &other_analyst,
            &format!("/api/analyzer/{worker}/run"),
            &ip("10.3.3.4"),
        )
        .await;

    assert_eq!(get.status().as_u16(), 404);
    assert_eq!(report.status().as_u16(), 404);
    assert_eq!(run.status().as_u16(), 404);
}

#[tokio::test]
async fn waitreport_accepts_every_duration_form_and_answers_running_jobs_in_time() {
    let fixture = Fixture::spawn().await;
    let sleeper = fixture
        .enable_analyzer("SkepTest_Sleep_1_0", json!({}))
        .await;
    let job = fixture.run("analyzer", &sleeper, ip("10.4.4.4")).await;
    let id = job["id"].as_str().unwrap();

    let mut seen = Vec::new();
    for at_most in ["1 second", "1second", "500ms", "0s"] {
        let response = fixture
            .app
            .request_as(
                &fixture.reader,
                Method::GET,
                &format!("/api/job/{id}/waitreport"),
            )
            .query(&[("atMost", at_most)])
            .send()
            .await
            .unwrap();
        let (status, body) = status_and_json(response).await;
        assert_eq!(status, 200, "{at_most}: {body}");
        seen.push(body["report"].clone());
    }
    let garbage = fixture
        .app
        .get_as(
            &fixture.reader,
            &format!("/api/job/{id}/waitreport?atMost=soon"),
        )
        .await;
    let huge = fixture
        .app
        .get_as(
            &fixture.reader,
            &format!("/api/job/{id}/waitreport?atMost=100000000000000000000s"),
        )
        .await;
    let (huge_status, huge_body) = status_and_json(huge).await;

    assert!(
        seen.iter()
            .all(|report| report == "Running" || report == "Waiting"),
        "{seen:?}"
    );
    assert_eq!(garbage.status().as_u16(), 400);
    assert_eq!(huge_status, 400, "{huge_body}");
    assert!(
        huge_body["message"].as_str().unwrap().contains("atMost"),
        "{huge_body}"
    );
}

#[tokio::test]
async fn out_of_range_job_limits_are_refused_naming_the_field() {
    let fixture = Fixture::spawn().await;

    let mut answers = Vec::new();
    for (field, value) in [
        ("jobTimeout", json!(1e18)),
        ("jobCache", json!(1e18)),
        ("rate", json!(1e18)),
        ("jobTimeout", json!(-1)),
    ] {
        let response = fixture
            .app
            .post_as(
                &fixture.admin,
                "/api/organization/analyzer/SkepTest_Sleep_1_0",
                &json!({"name": "SkepTest_Sleep_1_0", field: value}),
            )
            .await;
        let (status, body) = status_and_json(response).await;
        answers.push((field, status, body));
    }

    for (field, status, body) in answers {
        assert_eq!(status, 400, "{field}: {body}");
        assert!(body.to_string().contains(field), "{field}: {body}");
    }
}

#[tokio::test]
async fn job_statuses_search_and_soft_delete() {
    let fixture = Fixture::spawn().await;
    let worker = fixture
        .enable_analyzer("SkepTest_Fail_1_0", json!({}))
        .await;
    let kept = fixture.run_to_end(&worker, ip("10.5.5.5")).await;
    let deleted = fixture.run_to_end(&worker, ip("10.5.5.6")).await;
    let (kept, deleted) = (
        kept["id"].as_str().unwrap().to_owned(),
        deleted["id"].as_str().unwrap().to_owned(),
    );

    let removal = fixture
        .app
        .delete_as(&fixture.analyst, &format!("/api/job/{deleted}"))
        .await;
    let (_, statuses) = status_and_json(
        fixture
            .app
            .post_as(
                &fixture.reader,
                "/api/job/status",
                &json!({"jobIds": [kept, deleted, "nope"]}),
            )
            .await,
    )
    .await;
    let (_, found) = status_and_json(
        fixture
            .app
            .post_as(
                &fixture.reader,
                "/api/job/_search?range=all",
                &json!({"query": {}}),
            )
            .await,
    )
    .await;
    let (_, listed) = status_and_json(
        fixture
            .app
            .get_as(
                &fixture.reader,
                &format!("/api/job?analyzerFilter={worker}&range=all"),
            )
            .await,
    )
    .await;
    let reader_delete = fixture
        .app
        .delete_as(&fixture.reader, &format!("/api/job/{kept}"))
        .await;

    assert_eq!(removal.status().as_u16(), 204);
    assert_eq!(
        statuses,
        json!({kept.clone(): "Failure", deleted.clone(): "Deleted", "nope": "NotFound"})
    );
    let found: Vec<_> = found
        .as_array()
        .unwrap()
        .iter()
        .map(|job| job["id"].clone())
        .collect();
    assert_eq!(found, vec![json!(kept)]);
    assert_eq!(listed.as_array().unwrap().len(), 2);
    assert_eq!(reader_delete.status().as_u16(), 403);
}

#[tokio::test]
async fn waiting_jobs_run_and_jobs_orphaned_by_a_dead_engine_fail_after_a_restart() {
    let fixture = Fixture::spawn().await;
    let worker = fixture
        .enable_analyzer("SkepTest_Fail_1_0", json!({}))
        .await;
    let store = &fixture.app.state.store;
    let job = |status: &str, data: &str| {
        let mut body = json!({
            "workerId": worker, "workerName": "SkepTest_Fail_1_0", "workerDefinitionId": "SkepTest_Fail_1_0",
            "organization": fixture.org, "type": "analyzer", "status": status, "dataType": "ip", "data": data,
            "tlp": 2, "pap": 2, "message": "", "parameters": {}, "cacheTag": "x", "createdBy": "someone",
            "createdAt": 1_700_000_000_000_i64,
        });
        if status == "InProgress" {
            body["startDate"] = json!(1_700_000_000_001_i64);
            body["runnerInstance"] = json!("an-engine-that-died");
        }
        NewDocument {
            id: None,
            parent: None,
            body: body.as_object().unwrap().clone(),
        }
    };

    let orphan = store
        .put("job", job("InProgress", "10.6.6.6"))
        .await
        .unwrap();
    let waiting = store.put("job", job("Waiting", "10.6.6.7")).await.unwrap();
    let orphan_report = fixture.report(&orphan.id).await;
    let waiting_report = fixture.report(&waiting.id).await;

    assert_eq!(orphan_report["status"], "Failure");
    assert_eq!(
        orphan_report["errorMessage"],
        "engine restarted while the job was running"
    );
    assert_eq!(waiting_report["status"], "Failure");
    assert_eq!(
        waiting_report["errorMessage"],
        "intentional failure for 10.6.6.7"
    );
}

#[tokio::test]
async fn two_engines_on_one_store_run_each_job_once() {
    let first = Fixture::spawn().await;
    let data_dir = first.app.data_dir.path().to_path_buf();
    let catalog = first.catalog.path().to_path_buf();
    let _second = crate::helpers::TestApp::spawn_with(|config| {
        crate::worker_fixture::use_catalog(config, &catalog);
        config.data_dir = data_dir.clone();
    })
    .await;
    let log = first.catalog.path().join("runs.log");
    let worker = first
        .enable_analyzer("SkepTest_Count_1_0", json!({"log": log}))
        .await;

    let mut ids = Vec::new();
    for index in 0..8 {
        let job = first
            .run("analyzer", &worker, ip(&format!("10.7.7.{index}")))
            .await;
        ids.push(job["id"].as_str().unwrap().to_owned());
    }
    for id in &ids {
        assert_eq!(first.report(id).await["status"], "Success");
    }

    let runs = std::fs::read_to_string(&log).unwrap();
    assert_eq!(runs.lines().count(), 8, "{runs}");
}

#[tokio::test]
async fn the_built_in_observable_sanity_worker_is_listed_and_runs_from_a_fresh_install() {
    let worker_binary = skep_testkit::workspace_root().join("target/debug/skep-worker");
    assert!(
        worker_binary.is_file(),
        "the built-in worker binary is missing: run `cargo build -p skep-workers` first"
    );
    let app = crate::helpers::TestApp::spawn().await;
    let (_, admin, analyst, _) = org_with_users(&app).await;
    let (_, definitions) =
        status_and_json(app.get_as(&admin, "/api/analyzerdefinition").await).await;
    assert!(
        definitions
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["id"] == "ObservableSanity_1_0"),
        "{definitions}"
    );
    let (status, worker) = status_and_json(
        app.post_as(
            &admin,
            "/api/organization/analyzer/ObservableSanity_1_0",
            &json!({"name": "ObservableSanity_1_0"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{worker}");

    let (_, job) = status_and_json(
        app.post_as(
            &analyst,
            &format!("/api/analyzer/{}/run", worker["id"].as_str().unwrap()),
            &ip("8.8.8.8"),
        )
        .await,
    )
    .await;
    let (_, report) = status_and_json(
        app.get_as(
            &analyst,
            &format!(
                "/api/job/{}/waitreport?atMost=1minute",
                job["id"].as_str().unwrap()
            ),
        )
        .await,
    )
    .await;

    assert_eq!(report["status"], "Success", "{report}");
    assert_eq!(
        report["report"]["summary"]["taxonomies"][0]["namespace"],
        "Sanity"
    );
}

#[tokio::test]
async fn a_pap_above_the_maximum_is_refused_by_the_engine() {
    let fixture = Fixture::spawn().await;
    let worker = fixture
        .enable_analyzer(
            "SkepTest_Success_1_0",
            json!({"key": "k", "check_pap": true, "max_pap": 1}),
        )
        .await;

    let report = fixture
        .run_to_end(
            &worker,
            json!({"dataType": "ip", "data": "10.8.8.8", "pap": 2}),
        )
        .await;

    assert_eq!(report["status"], "Failure");
    assert_eq!(report["errorMessage"], "PAP is higher than allowed.");
}

#[tokio::test]
async fn job_folders_are_removed_unless_the_job_asks_to_keep_them() {
    let fixture = Fixture::spawn().await;
    let worker = fixture
        .enable_analyzer("SkepTest_Fail_1_0", json!({}))
        .await;
    let jobs_folder = fixture.app.data_dir.path().join("jobs");

    fixture.run_to_end(&worker, ip("10.9.9.1")).await;
    let after_plain_job = std::fs::read_dir(&jobs_folder).unwrap().count();
    fixture
        .run_to_end(
            &worker,
            json!({"dataType": "ip", "data": "10.9.9.2", "parameters": {"keepJobFolder": true}}),
        )
        .await;
    let kept: Vec<_> = std::fs::read_dir(&jobs_folder)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();

    assert_eq!(after_plain_job, 0);
    assert_eq!(kept.len(), 1);
    assert!(kept[0].join("input/input.json").is_file());
}

#[tokio::test]
async fn a_file_of_another_organisation_cannot_be_downloaded() {
    let fixture = Fixture::spawn().await;
    let worker = fixture
        .enable_analyzer("SkepTest_Success_1_0", json!({"key": "k"}))
        .await;
    let form = reqwest::multipart::Form::new()
        .text("_json", json!({"dataType": "file"}).to_string())
        .part(
            "attachment",
            reqwest::multipart::Part::bytes(b"private".to_vec()).file_name("p.txt"),
        );
    let response = fixture
        .app
        .request_as(
            &fixture.analyst,
            Method::POST,
            &format!("/api/analyzer/{worker}/run"),
        )
        .multipart(form)
        .send()
        .await
        .unwrap();
    let (_, job) = status_and_json(response).await;
    let sha256 = job["attachment"]["id"].as_str().unwrap().to_owned();
    let (_, _, _, other_reader) = org_with_users(&fixture.app).await;

    let own = fixture
        .app
        .get_as(&fixture.reader, &format!("/api/datastore/{sha256}"))
        .await;
    let foreign = fixture
        .app
        .get_as(&other_reader, &format!("/api/datastore/{sha256}"))
        .await;
    let foreign_zip = fixture
        .app
        .get_as(&other_reader, &format!("/api/datastorezip/{sha256}"))
        .await;

    assert_eq!(own.status().as_u16(), 200);
    assert_eq!(foreign.status().as_u16(), 404);
    assert_eq!(foreign_zip.status().as_u16(), 404);
}
