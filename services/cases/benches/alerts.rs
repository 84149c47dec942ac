//! Alert ingestion benchmark (not a test): alerts/s created over HTTP with 10 artifacts each by
//! concurrent feeders, the p50/p99 latency of a sorted, filtered alert list and of an alert
//! `_stats` query once they are stored, and the process RSS before and after.
//!
//! Run with `cargo bench -p skep-cases --bench alerts`; `SKEP_BENCH_ALERTS` sets how many alerts
//! (default 100,000). Results are printed as a Markdown table.
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

const CONCURRENT_FEEDERS: usize = 16;
const QUERY_SAMPLES: usize = 200;

fn alert(number: usize) -> Value {
    let artifacts: Vec<Value> = (0..10)
        .map(|index| json!({"dataType": "ip", "data": format!("10.{}.{}.{index}", number / 250 % 250, number % 250), "message": "seen", "tags": ["bench"]}))
        .collect();
    json!({
        "title": format!("Benchmark alert {number}"), "description": "generated", "type": "bench",
        "source": "benchmark", "sourceRef": format!("ref-{number}"), "severity": 1 + number % 4,
        "tags": ["bench", format!("batch-{}", number % 10)], "artifacts": artifacts,
    })
}

async fn latencies(app: &TestApp, path: &str, body: &Value) -> (f64, f64) {
    latencies_of(app, path, |_| body.clone()).await
}

/// Latencies of `QUERY_SAMPLES` requests, the `n`th with body `body(n)`.
async fn latencies_of(app: &TestApp, path: &str, body: impl Fn(usize) -> Value) -> (f64, f64) {
    let mut samples = Vec::with_capacity(QUERY_SAMPLES);
    for sample in 0..QUERY_SAMPLES {
        let body = body(sample);
        let started = Instant::now();
        let response = app.post(path, &body).await;
        assert_eq!(response.status().as_u16(), 200);
        response.bytes().await.unwrap();
        samples.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    (
        percentile(&mut samples, 0.5),
        percentile(&mut samples, 0.99),
    )
}

#[tokio::main]
async fn main() {
    let total: usize = std::env::var("SKEP_BENCH_ALERTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(100_000);
    let app = Arc::new(TestApp::spawn().await);
    let rss_at_rest = rss_mib();

    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let feeders: Vec<_> = (0..CONCURRENT_FEEDERS)
        .map(|_| {
            let (app, next) = (app.clone(), next.clone());
            tokio::spawn(async move {
                loop {
                    let number = next.fetch_add(1, Ordering::Relaxed);
                    if number >= total {
                        break;
                    }
                    let response = app.post("/api/alert", &alert(number)).await;
                    assert_eq!(response.status().as_u16(), 201);
                }
            })
        })
        .collect();
    for feeder in feeders {
        feeder.await.unwrap();
    }
    let seconds = started.elapsed().as_secs_f64();
    let rss_after_ingest = rss_mib();

    let list = json!({"query": {"_and": [{"status": "New"}, {"_in": {"_field": "severity", "_values": [2, 3]}}]}});
    let (list_p50, list_p99) =
        latencies(&app, "/api/alert/_search?range=0-15&sort=-date", &list).await;
    let stats = json!({"query": {"status": "New"}, "stats": [
        {"_agg": "field", "_field": "severity", "_select": [{"_agg": "count"}]},
        {"_agg": "field", "_field": "tags", "_size": 20, "_select": [{"_agg": "count"}]},
        {"_agg": "count"}]});
    let (stats_p50, stats_p99) = latencies(&app, "/api/alert/_stats", &stats).await;
    // Each request differs (a uniquely named count), so none is answered from the store's
    // aggregation cache: the cost of computing the dashboard after every write.
    let (cold_p50, cold_p99) = latencies_of(&app, "/api/alert/_stats", |sample| {
        let mut stats = stats.clone();
        stats["stats"][2]["_name"] = json!(format!("count{sample}"));
        stats
    })
    .await;
    let rss_after_queries = rss_mib();

    println!("| measure | value |");
    println!("|---|---|");
    println!("| alerts created (10 artifacts each, {CONCURRENT_FEEDERS} feeders) | {total} |");
    println!("| alerts/s | {:.0} |", total as f64 / seconds);
    println!(
        "| alert list (filtered, sorted, 15 rows) p50 / p99 ms | {list_p50:.1} / {list_p99:.1} |"
    );
    println!(
        "| alert `_stats` (2 term aggregations + count), repeated, p50 / p99 ms | {stats_p50:.1} / {stats_p99:.1} |"
    );
    println!(
        "| alert `_stats`, every request different (not cached), p50 / p99 ms | {cold_p50:.1} / {cold_p99:.1} |"
    );
    println!(
        "| RSS at rest / after ingest / after queries MiB (service and client in one process) | {rss_at_rest:.0} / {rss_after_ingest:.0} / {rss_after_queries:.0} |"
    );
}
