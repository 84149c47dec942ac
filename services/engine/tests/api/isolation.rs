//! Workers get only what they need (environment, folder rights, no secret kept in a job), and
//! jobs and workers stay within their organisation (ids, cache, rate limits, data types).
// Test code: a failed step is a failed test.
#![allow(clippy::unwrap_used)]

use serde_json::{Value, json};

use crate::helpers::{status_and_json, unique};
use crate::worker_fixture::Fixture;

/// Variables a worker may receive from the engine's environment, plus the two the engine sets.
fn allowed(name: &str) -> bool {
    matches!(
        name,
        "PATH"
            | "HOME"
            | "LANG"
            | "LANGUAGE"
            | "TZ"
            | "http_proxy"
            | "https_proxy"
            | "no_proxy"
            | "all_proxy"
            | "HTTP_PROXY"
            | "HTTPS_PROXY"
            | "NO_PROXY"
            | "ALL_PROXY"
            | "REQUESTS_CA_BUNDLE"
            | "SKEP_WORKER_OUTBOUND_ALLOW"
    ) || name.starts_with("LC_")
}

#[tokio::test]
async fn workers_run_with_an_allowlisted_environment_in_a_private_folder() {
    let fixture = Fixture::spawn_with(|config| {
        config.workers.outbound_allow = vec!["127.0.0.1".into(), "10.0.0.0/8".into()];
    })
    .await;
    let worker = fixture
        .enable_analyzer("SkepTest_Env_1_0", json!({"api_token": "tok"}))
        .await;

    let report = fixture
        .run_to_end(&worker, json!({"dataType": "ip", "data": "198.51.100.2"}))
        .await;

    assert_eq!(report["status"], "Success", "{report}");
    let full = &report["report"]["full"];
    let environment = full["environment"].as_object().unwrap();
    let leaked: Vec<_> = environment.keys().filter(|name| !allowed(name)).collect();
    assert!(
        leaked.is_empty(),
        "variables leaked to the worker: {leaked:?}"
    );
    assert!(environment.contains_key("PATH"));
    assert_eq!(
        environment["SKEP_WORKER_OUTBOUND_ALLOW"],
        "127.0.0.1,10.0.0.0/8"
    );
    assert_eq!(full["folder"], "0o700");
    assert_eq!(full["input"], "0o700");
    assert_eq!(full["output"], "0o700");
    assert_eq!(full["inputJson"], "0o600");
}

#[tokio::test]
async fn a_failed_job_keeps_no_worker_configuration_in_its_input() {
    let fixture = Fixture::spawn().await;
    let worker = fixture
        .enable_analyzer("SkepTest_Fail_1_0", json!({"api_token": "tok-0123456789"}))
        .await;

    let report = fixture
        .run_to_end(&worker, json!({"dataType": "ip", "data": "198.51.100.3"}))
        .await;

    assert_eq!(report["status"], "Failure", "{report}");
    let input = report["report"]["input"].as_str().unwrap();
    let input: Value = serde_json::from_str(input).unwrap();
    assert_eq!(input["data"], "198.51.100.3");
    assert!(input.get("config").is_none(), "{input}");
    let stored = fixture
        .app
        .state
        .store
        .get("job", report["id"].as_str().unwrap())
        .await
        .unwrap();
    assert!(
        !Value::Object(stored.body)
            .to_string()
            .contains("tok-0123456789")
    );
}

#[tokio::test]
async fn only_orgadmins_may_keep_a_job_folder() {
    let fixture = Fixture::spawn().await;
    let worker = fixture
        .enable_analyzer("SkepTest_Fail_1_0", json!({}))
        .await;
    let jobs_folder = fixture.app.data_dir.path().join("jobs");
    let body = json!({"dataType": "ip", "data": "10.9.9.2", "parameters": {"keepJobFolder": true}});

    let refused = fixture
        .app
        .post_as(
            &fixture.analyst,
            &format!("/api/analyzer/{worker}/run"),
            &body,
        )
        .await;
    let (status, answer) = status_and_json(refused).await;
    assert_eq!(status, 403, "{answer}");
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .contains("keepJobFolder")
    );

    let accepted = fixture
        .app
        .post_as(
            &fixture.admin,
            &format!("/api/analyzer/{worker}/run"),
            &body,
        )
        .await;
    let (status, job) = status_and_json(accepted).await;
    assert_eq!(status, 200, "{job}");
    assert!(job.get("keepJobFolder").is_none(), "{job}");
    fixture.report(job["id"].as_str().unwrap()).await;
    let kept: Vec<_> = std::fs::read_dir(&jobs_folder)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    assert_eq!(kept.len(), 1);
    assert!(kept[0].join("input/input.json").is_file());
}

#[tokio::test]
async fn a_job_on_a_data_type_the_worker_does_not_list_is_refused() {
    let fixture = Fixture::spawn().await;
    let worker = fixture
        .enable_analyzer("SkepTest_Fail_1_0", json!({}))
        .await;

    let response = fixture
        .app
        .post_as(
            &fixture.analyst,
            &format!("/api/analyzer/{worker}/run"),
            &json!({"dataType": "domain", "data": "example.org"}),
        )
        .await;

    let (status, answer) = status_and_json(response).await;
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer["message"].as_str().unwrap().contains("domain"),
        "{answer}"
    );
}

#[tokio::test]
async fn the_rate_limit_holds_under_concurrent_submissions() {
    let fixture = Fixture::spawn().await;
    let worker = fixture
        .enable(
            "analyzer",
            "SkepTest_Fail_1_0",
            json!({"name": "SkepTest_Fail_1_0", "rate": 3, "rateUnit": "Day"}),
        )
        .await;

    let submissions = (0..12).map(|n| {
        let app = &fixture.app;
        let key = fixture.analyst.clone();
        let path = format!("/api/analyzer/{worker}/run");
        async move {
            let body = json!({"dataType": "ip", "data": format!("10.1.1.{n}"), "force": true});
            app.post_as(&key, &path, &body).await.status().as_u16()
        }
    });
    let statuses = futures_util::future::join_all(submissions).await;

    let accepted = statuses.iter().filter(|status| **status == 200).count();
    let limited = statuses.iter().filter(|status| **status == 429).count();
    assert_eq!((accepted, limited), (3, 9), "{statuses:?}");
}

#[tokio::test]
async fn worker_ids_of_organisations_whose_names_run_together_never_collide() {
    let fixture = Fixture::spawn().await;
    let app = &fixture.app;
    let base = unique("acme").replace('-', "_");
    let (first_org, second_org) = (format!("{base}_a"), format!("{base}_a_b"));
    let mut admins = Vec::new();
    for org in [&first_org, &second_org] {
        app.create_org(org).await;
        admins.push(
            app.create_user(org, &unique("orgadmin"), &["read", "analyze", "orgadmin"])
                .await,
        );
    }

    let mut ids = Vec::new();
    for (admin, name, key) in [
        (&admins[0], "b_Fail", "first-org-key"),
        (&admins[1], "Fail", "second-org-key"),
    ] {
        let response = app
            .post_as(
                admin,
                "/api/organization/analyzer/SkepTest_Fail_1_0",
                &json!({"name": name, "configuration": {"api_token": key}}),
            )
            .await;
        let (status, worker) = status_and_json(response).await;
        assert_eq!(status, 201, "{worker}");
        ids.push(worker["id"].as_str().unwrap().to_owned());
    }

    assert_ne!(ids[0], ids[1]);
    let foreign = app
        .get_as(&admins[1], &format!("/api/analyzer/{}", ids[0]))
        .await;
    assert_eq!(foreign.status().as_u16(), 404);
    let own = app
        .get_as(&admins[0], &format!("/api/analyzer/{}", ids[0]))
        .await;
    let (status, worker) = status_and_json(own).await;
    assert_eq!(status, 200);
    assert_eq!(worker["configuration"]["api_token"], "first-org-key");
}
