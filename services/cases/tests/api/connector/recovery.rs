//! Jobs survive an engine outage (retried with backoff, then shown in their real final state)
//! and a restart of the cases service (pending jobs are followed again).

use serde_json::{Value, json};

use super::{ENGINE, Engine, case_with_observable, cases_for, ended, get, post, run_analyzer};
use crate::helpers::TestApp;

/// Submits `analyzer` on `observable`; returns the job as answered (InProgress).
async fn submit(app: &TestApp, analyzer: &str, observable: &Value) -> Value {
    let (status, job) = post(
        app,
        "/api/connector/cortex/job",
        &json!({"analyzerId": analyzer, "artifactId": observable["id"]}),
    )
    .await;
    assert_eq!(status, 200, "{job}");
    job
}

/// Waits until the engine's own job reaches `status`.
async fn engine_job_reaches(engine: &Engine, job: &Value, status: &str) {
    let path = format!("/api/job/{}", job["cortexJobId"].as_str().unwrap());
    let reached = skep_testkit::wait_until(std::time::Duration::from_secs(60), || {
        let path = path.clone();
        async move { engine.get(&path).await["status"] == status }
    })
    .await;
    assert!(reached, "the engine job never reached {status}");
}

#[tokio::test]
async fn jobs_survive_an_engine_outage_and_end_in_their_real_final_state() {
    let gate = tempfile::tempdir().unwrap();
    let gate_file = gate.path().join("open");
    let mut engine = Engine::start_process().await;
    engine
        .enable(
            "analyzer",
            "ConnectorTest_Gate_1_0",
            json!({"gate": gate_file}),
        )
        .await;
    engine
        .enable("analyzer", "ObservableSanity_1_0", json!({}))
        .await;
    let app = cases_for(&engine).await;
    let (_, observable) = case_with_observable(&app, "ip", "192.0.2.44").await;
    // With one job at a time, the gated job runs and the second one waits in the engine queue.
    let running = submit(&app, "ConnectorTest_Gate_1_0", &observable).await;
    engine_job_reaches(&engine, &running, "InProgress").await;
    let queued = submit(&app, "ObservableSanity_1_0", &observable).await;
    engine_job_reaches(&engine, &queued, "Waiting").await;

    engine.kill();
    let running_path = format!(
        "/api/connector/cortex/job/{}",
        running["id"].as_str().unwrap()
    );
    let queued_path = format!(
        "/api/connector/cortex/job/{}",
        queued["id"].as_str().unwrap()
    );
    let (_, during_running) = get(&app, &running_path).await;
    let (_, during_queued) = get(&app, &queued_path).await;
    let (_, status_during) = get(&app, "/api/status").await;
    let case_during = app.new_case("During the outage").await;
    engine.restart().await;
    std::fs::write(&gate_file, b"").unwrap();
    let running_after = ended(&app, &running_path).await;
    let queued_after = ended(&app, &queued_path).await;

    assert_eq!(during_running["status"], "InProgress");
    assert_eq!(during_queued["status"], "InProgress");
    assert_eq!(
        status_during["connectors"]["cortex"]["servers"][0]["status"],
        "ERROR"
    );
    assert_eq!(case_during["title"], "During the outage");
    // The job the engine was running when it died ends as the engine recorded it.
    let engine_running = engine
        .get(&format!(
            "/api/job/{}",
            running["cortexJobId"].as_str().unwrap()
        ))
        .await;
    assert_eq!(
        running_after["status"], engine_running["status"],
        "{running_after}"
    );
    assert_eq!(running_after["status"], "Failure");
    assert_eq!(
        running_after["report"]["errorMessage"],
        engine_running["errorMessage"]
    );
    // The queued job ran once the engine was back, and its result reached the observable.
    assert_eq!(queued_after["status"], "Success", "{queued_after}");
    let (_, observed) = get(
        &app,
        &format!("/api/case/artifact/{}", observable["id"].as_str().unwrap()),
    )
    .await;
    assert!(
        observed["reports"]["ObservableSanity_1_0"]["taxonomies"].is_array(),
        "{observed}"
    );
    let (_, status_after) = get(&app, "/api/status").await;
    assert_eq!(
        status_after["connectors"]["cortex"]["servers"][0]["status"],
        "OK"
    );
}

#[tokio::test]
async fn a_job_pending_when_the_cases_service_stops_is_completed_by_the_next_start() {
    let gate = tempfile::tempdir().unwrap();
    let gate_file = gate.path().join("open");
    let engine = Engine::start().await;
    engine
        .enable(
            "analyzer",
            "ConnectorTest_Gate_1_0",
            json!({"gate": gate_file}),
        )
        .await;
    let first = cases_for(&engine).await;
    let (_, observable) = case_with_observable(&first, "domain", "pending.example").await;
    let job = submit(&first, "ConnectorTest_Gate_1_0", &observable).await;
    engine_job_reaches(&engine, &job, "InProgress").await;

    // The first instance stops following; the second one starts over the same store.
    first.state.connector.shut_down();
    let server = engine.server_config(ENGINE, &engine.cases_key);
    let second = first
        .another_instance_with(move |config| {
            config.cortex.servers = vec![server];
            config.cortex.refresh_seconds = 2;
        })
        .await;
    std::fs::write(&gate_file, b"").unwrap();
    let path = format!("/api/connector/cortex/job/{}", job["id"].as_str().unwrap());
    let completed = ended(&second, &path).await;

    assert_eq!(completed["status"], "Success", "{completed}");
    assert_eq!(completed["report"]["full"]["data"], "pending.example");
    let (_, observed) = get(
        &second,
        &format!("/api/case/artifact/{}", observable["id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(
        observed["reports"]["ConnectorTest_Gate_1_0"]["taxonomies"][0]["value"],
        "bad"
    );
    let (total, _) = second
        .search("/api/connector/cortex/job/_search", &json!({}))
        .await;
    assert_eq!(total, 1, "no job record is lost or doubled");
    // An analysis started after the restart works too.
    let again = run_analyzer(&second, "ConnectorTest_Gate_1_0", &observable).await;
    assert_eq!(again["status"], "Success");
}
