//! Engine connector benchmark (not a test): analyses per second through the connector (cases →
//! engine → the native `skep-worker` → report and taxonomies on the observable) with
//! concurrent analysts, and the latency one analysis adds over the same job sent to the engine
//! directly (submit, then `waitreport`), at the median and p90.
//!
//! Run with `cargo bench -p skep-cases --bench connector` (build the workers first:
//! `cargo build --release -p skep-workers --bins`); `SKEP_BENCH_ANALYSES` sets how many
//! analyses the throughput run makes (default 400). Results are printed as a Markdown table.
// Benchmark support: any failed setup step should stop the run with a panic.
#![allow(clippy::unwrap_used)]

#[allow(dead_code)]
#[path = "../tests/api/connector/engine.rs"]
mod engine;
#[allow(dead_code)]
#[path = "../tests/api/helpers.rs"]
mod helpers;
#[allow(dead_code)]
mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use engine::Engine;
use helpers::TestApp;
use support::percentile;

const ANALYSTS: usize = 32;
const LATENCY_SAMPLES: usize = 60;
const ANALYZER: &str = "ObservableSanity_1_0";

/// Creates a case with `count` domain observables; returns their ids.
async fn observables(app: &TestApp, prefix: &str, count: usize) -> Vec<String> {
    let case = app.new_case("Benchmark").await;
    let data: Vec<String> = (0..count)
        .map(|n| format!("{prefix}-{n}.example"))
        .collect();
    let response = app
        .post(
            &format!("/api/case/{}/artifact", case["id"].as_str().unwrap()),
            &json!({"dataType": "domain", "data": data, "message": "bench"}),
        )
        .await;
    let created: Vec<Value> = response.json().await.unwrap();
    created
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_owned())
        .collect()
}

/// One analysis through the connector, until its report is on the job.
async fn through_connector(app: &TestApp, observable: &str) -> Duration {
    let started = Instant::now();
    let job: Value = app
        .post(
            "/api/connector/cortex/job",
            &json!({"analyzerId": ANALYZER, "artifactId": observable}),
        )
        .await
        .json()
        .await
        .unwrap();
    let path = format!("/api/connector/cortex/job/{}", job["id"].as_str().unwrap());
    loop {
        let current: Value = app.get(&path).await.json().await.unwrap();
        match current["status"].as_str() {
            Some("Success") => return started.elapsed(),
            Some("InProgress") => tokio::time::sleep(Duration::from_millis(1)).await,
            other => panic!("analysis ended {other:?}: {current}"),
        }
    }
}

/// The same analysis sent to the engine directly: run, then `waitreport`.
async fn direct(engine: &Engine, client: &reqwest::Client, worker: &str, data: &str) -> Duration {
    let started = Instant::now();
    let job: Value = client
        .post(format!("{}/api/analyzer/{worker}/run", engine.address))
        .bearer_auth(&engine.cases_key)
        .json(&json!({"data": data, "dataType": "domain", "tlp": 2, "pap": 2}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let report: Value = client
        .get(format!(
            "{}/api/job/{}/waitreport?atMost=1minute",
            engine.address,
            job["id"].as_str().unwrap()
        ))
        .bearer_auth(&engine.cases_key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(report["status"], "Success", "{report}");
    started.elapsed()
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    let total: usize = std::env::var("SKEP_BENCH_ANALYSES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(400);
    let engine = Engine::start().await;
    let worker = engine.enable("analyzer", ANALYZER, json!({})).await;
    let worker_id = worker["id"].as_str().unwrap().to_owned();
    let server = engine.server_config("ENGINE-1", &engine.cases_key);
    let app = TestApp::spawn_with(move |config| config.cortex.servers = vec![server]).await;
    let client = helpers::http_client();

    // Latency, one analysis at a time, alternating direct and connector runs.
    let singles = observables(&app, "latency", LATENCY_SAMPLES).await;
    let (mut direct_ms, mut connector_ms) = (Vec::new(), Vec::new());
    for (n, observable) in singles.iter().enumerate() {
        direct_ms.push(ms(direct(
            &engine,
            &client,
            &worker_id,
            &format!("direct-{n}.example"),
        )
        .await));
        connector_ms.push(ms(through_connector(&app, observable).await));
    }

    // Throughput with concurrent analysts.
    let many = Arc::new(observables(&app, "throughput", total).await);
    let next = Arc::new(AtomicUsize::new(0));
    let app = Arc::new(app);
    let started = Instant::now();
    let mut analysts = Vec::new();
    for _ in 0..ANALYSTS {
        let (app, many, next) = (app.clone(), many.clone(), next.clone());
        analysts.push(tokio::spawn(async move {
            loop {
                let at = next.fetch_add(1, Ordering::Relaxed);
                let Some(observable) = many.get(at) else {
                    break;
                };
                through_connector(&app, observable).await;
            }
        }));
    }
    for analyst in analysts {
        analyst.await.unwrap();
    }
    let rate = total as f64 / started.elapsed().as_secs_f64();

    let (direct_p50, connector_p50) = (
        percentile(&mut direct_ms, 0.5),
        percentile(&mut connector_ms, 0.5),
    );
    println!("| measure | value |");
    println!("|---|---|");
    println!(
        "| analyses/s through the connector, {ANALYSTS} analysts, {total} analyses | {rate:.0} /s |"
    );
    println!(
        "| one analysis, direct engine job, p50 / p90 | {direct_p50:.1} / {:.1} ms |",
        percentile(&mut direct_ms, 0.9)
    );
    println!(
        "| one analysis through the connector, p50 / p90 | {connector_p50:.1} / {:.1} ms |",
        percentile(&mut connector_ms, 0.9)
    );
    println!(
        "| added by the connector at the median | {:.1} ms |",
        connector_p50 - direct_p50
    );
}
