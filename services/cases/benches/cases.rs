//! Case list and dashboard benchmark (not a test): cases and their observables are created over
//! HTTP by concurrent clients (by default 100,000 cases with 10 observables each, 1,000,000
//! observables), a quarter of the cases closed, then the p50/p99 latency of case lists, case
//! `_stats` dashboards and an observable search is measured, with the process RSS.
//!
//! Run with `cargo bench -p skep-cases --bench cases`; `SKEP_BENCH_CASES` and
//! `SKEP_BENCH_OBSERVABLES` (per case) change the size. Results are printed as a Markdown table.
// Benchmark support: any failed setup step should stop the run with a panic.
#![allow(clippy::unwrap_used)]

#[allow(dead_code)]
#[path = "../tests/api/helpers.rs"]
mod helpers;
mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use serde_json::{Value, json};

use helpers::TestApp;
use support::{percentile, rss_mib};

const CONCURRENT_CLIENTS: usize = 16;
const QUERY_SAMPLES: usize = 200;

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

/// p50 and p99 of `QUERY_SAMPLES` requests, the `n`th with body `body(n)`; also the last total.
async fn latencies(app: &TestApp, path: &str, body: impl Fn(usize) -> Value) -> (f64, f64, String) {
    let mut samples = Vec::with_capacity(QUERY_SAMPLES);
    let mut total = String::new();
    for sample in 0..QUERY_SAMPLES {
        let body = body(sample);
        let started = Instant::now();
        let response = app.post(path, &body).await;
        assert_eq!(response.status().as_u16(), 200, "{path}");
        total = response
            .headers()
            .get("X-Total")
            .and_then(|value| value.to_str().ok())
            .unwrap_or("")
            .to_owned();
        response.bytes().await.unwrap();
        samples.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    (
        percentile(&mut samples, 0.5),
        percentile(&mut samples, 0.99),
        total,
    )
}

fn case(number: usize) -> Value {
    json!({
        "title": format!("Benchmark case {number}"),
        "description": format!("Phishing wave {} reported by users", number % 97),
        "severity": 1 + number % 3, "tlp": number % 4, "flag": number.is_multiple_of(50),
        "tags": ["bench", format!("campaign-{}", number % 20)],
    })
}

#[tokio::main]
async fn main() {
    let cases = env_number("SKEP_BENCH_CASES", 100_000);
    let per_case = env_number("SKEP_BENCH_OBSERVABLES", 10);
    let app = Arc::new(TestApp::spawn().await);
    let rss_at_rest = rss_mib();

    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let clients: Vec<_> = (0..CONCURRENT_CLIENTS)
        .map(|_| {
            let (app, next) = (app.clone(), next.clone());
            tokio::spawn(async move {
                loop {
                    let number = next.fetch_add(1, Ordering::Relaxed);
                    if number >= cases {
                        break;
                    }
                    let response = app.create_case(&case(number)).await;
                    assert_eq!(response.status().as_u16(), 201);
                    let created: Value = response.json().await.unwrap();
                    let id = created["id"].as_str().unwrap().to_owned();
                    if per_case > 0 {
                        let values: Vec<String> = (0..per_case)
                            .map(|index| {
                                format!("10.{}.{}.{index}", number / 250 % 250, number % 250)
                            })
                            .collect();
                        let response = app
                            .create_observable(
                                &id,
                                &json!({"dataType": "ip", "data": values, "message": "seen",
                                        "tags": ["bench"], "ioc": number.is_multiple_of(10)}),
                            )
                            .await;
                        assert_eq!(response.status().as_u16(), 201);
                    }
                    if number % 4 == 3 {
                        let response = app
                            .patch(
                                &format!("/api/case/{id}"),
                                &json!({"status": "Resolved", "resolutionStatus": "TruePositive",
                                        "impactStatus": "NoImpact", "summary": "closed by the benchmark"}),
                            )
                            .await;
                        assert_eq!(response.status().as_u16(), 200);
                    }
                }
            })
        })
        .collect();
    for client in clients {
        client.await.unwrap();
    }
    let seconds = started.elapsed().as_secs_f64();
    let rss_after_load = rss_mib();

    let open_high =
        json!({"_and": [{"status": "Open"}, {"_in": {"_field": "severity", "_values": [2, 3]}}]});
    let (list_p50, list_p99, list_total) = latencies(
        &app,
        "/api/case/_search?range=0-15&sort=-startDate",
        |_| json!({"query": open_high}),
    )
    .await;
    // The case list of the web UI: flagged first, then newest.
    let (ui_p50, ui_p99, ui_total) = latencies(
        &app,
        "/api/case/_search?range=0-15&sort=-flag&sort=-startDate",
        |_| json!({"query": {"status": "Open"}}),
    )
    .await;
    let stats = |sample: Option<usize>| {
        let mut body = json!({"query": {"status": "Open"}, "stats": [
            {"_agg": "field", "_field": "severity", "_select": [{"_agg": "count"}]},
            {"_agg": "field", "_field": "tags", "_size": 20, "_select": [{"_agg": "count"}]},
            {"_agg": "count"}]});
        if let Some(sample) = sample {
            body["stats"][2]["_name"] = json!(format!("count{sample}"));
        }
        body
    };
    let (stats_p50, stats_p99, _) = latencies(&app, "/api/case/_stats", |_| stats(None)).await;
    let (cold_p50, cold_p99, _) =
        latencies(&app, "/api/case/_stats", |sample| stats(Some(sample))).await;
    let (observable_p50, observable_p99, observable_total) =
        latencies(&app, "/api/case/artifact/_search?range=0-15", |sample| {
            let number = sample * 487 % cases;
            json!({"query": {"data": format!("10.{}.{}.3", number / 250 % 250, number % 250)}})
        })
        .await;
    let rss_after_queries = rss_mib();

    println!("| measure | value |");
    println!("|---|---|");
    println!(
        "| cases / observables created ({CONCURRENT_CLIENTS} clients, every 4th case closed) | {cases} / {} |",
        cases * per_case
    );
    println!(
        "| creation rate: cases/s (each with its observables) | {:.0} |",
        cases as f64 / seconds
    );
    println!(
        "| case list, Open and severity 2–3, sorted by -startDate ({list_total} hits) p50 / p99 ms | {list_p50:.1} / {list_p99:.1} |"
    );
    println!(
        "| case list of the UI, Open, sorted by -flag, -startDate ({ui_total} hits) p50 / p99 ms | {ui_p50:.1} / {ui_p99:.1} |"
    );
    println!(
        "| case `_stats` (2 term aggregations + count), repeated, p50 / p99 ms | {stats_p50:.1} / {stats_p99:.1} |"
    );
    println!(
        "| case `_stats`, every request different (not cached), p50 / p99 ms | {cold_p50:.1} / {cold_p99:.1} |"
    );
    println!(
        "| observable search by value ({observable_total} hits) p50 / p99 ms | {observable_p50:.1} / {observable_p99:.1} |"
    );
    println!(
        "| RSS at rest / after load / after queries MiB (service and client in one process) | {rss_at_rest:.0} / {rss_after_load:.0} / {rss_after_queries:.0} |"
    );
}
