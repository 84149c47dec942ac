//! Page render benchmark of the cases web UI (not a test): the store is filled directly (by
//! default 10,000 cases with 10 observables each, 100,000 observables; a quarter of the cases
//! closed), then each page is requested `SKEP_BENCH_SAMPLES` times (default 50) over loopback
//! and its p50/p99 time to the last byte is printed as a Markdown table.
//!
//! Run with `cargo bench -p skep-cases --bench ui`; the size of issue 22's target (100,000
//! cases, 1,000,000 observables) is `SKEP_BENCH_UI_CASES=100000 cargo bench -p skep-cases
//! --bench ui` (about 5 minutes of filling on 2 cores).
// Benchmark support: any failed setup step should stop the run with a panic.
#![allow(clippy::unwrap_used)]

#[allow(dead_code)]
#[path = "../tests/api/helpers.rs"]
mod helpers;
mod support;

use std::time::Instant;

use serde_json::{Value, json};
use skep_store::NewDocument;

use helpers::TestApp;
use support::{percentile, rss_mib};

/// Documents per `put_many`.
const BATCH: usize = 5_000;

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

fn case_body(number: usize, now: i64) -> serde_json::Map<String, Value> {
    let started = now - (number as i64 % 60) * 86_400_000;
    let closed = number.is_multiple_of(4);
    let mut body = json!({
        "caseId": number,
        "title": format!("Reported phishing wave {} mail {number}", number % 97),
        "description": format!("A user reported a **suspicious** mail of campaign {}.", number % 20),
        "severity": 1 + number % 4, "tlp": number % 4, "pap": 2, "flag": false,
        "owner": if number.is_multiple_of(3) { "admin" } else { "analyst" },
        "status": if closed { "Resolved" } else { "Open" },
        "tags": ["bench", format!("campaign-{}", number % 20)],
        "startDate": started, "createdAt": started, "createdBy": "admin",
        "metrics": {}, "customFields": {},
        "computed": {"timeToAcknowledgeSeconds": 60 + number % 3600},
    });
    if closed {
        body["resolutionStatus"] = json!("TruePositive");
        body["endDate"] = json!(started + 7_200_000);
        body["computed"]["timeToResolveSeconds"] = json!(7_200);
    }
    body.as_object().cloned().unwrap()
}

fn observable_body(case: usize, index: usize, now: i64) -> serde_json::Map<String, Value> {
    let (data_type, data) = match index % 4 {
        0 => (
            "ip",
            format!("10.{}.{}.{}", case % 250, index, (case / 250) % 250),
        ),
        1 => ("mail", format!("sender{}@example.org", case % 5_000)),
        2 => ("domain", format!("host{}.example.net", case % 10_000)),
        _ => ("url", format!("https://example.com/{case}/{index}")),
    };
    json!({
        "dataType": data_type, "data": data, "message": "from the reported mail",
        "tags": ["bench"], "tlp": 2, "ioc": index == 0, "sighted": false, "status": "Ok",
        "reports": {}, "startDate": now, "createdAt": now, "createdBy": "admin",
    })
    .as_object()
    .cloned()
    .unwrap()
}

/// p50 and p99 of `samples` GETs of `path`, in milliseconds.
async fn time_page(app: &TestApp, path: &str, samples: usize) -> (f64, f64, usize) {
    let mut times = Vec::with_capacity(samples);
    let mut size = 0;
    for _ in 0..samples {
        let started = Instant::now();
        let response = app.get(path).await;
        assert_eq!(response.status().as_u16(), 200, "{path}");
        size = response.bytes().await.unwrap().len();
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    (
        percentile(&mut times, 0.5),
        percentile(&mut times, 0.99),
        size,
    )
}

#[tokio::main]
async fn main() {
    let cases = env_number("SKEP_BENCH_UI_CASES", 10_000);
    let per_case = env_number("SKEP_BENCH_OBSERVABLES", 10);
    let samples = env_number("SKEP_BENCH_SAMPLES", 50);
    let app = TestApp::spawn().await;
    let store = app.state.store.clone();
    let now = chrono::Utc::now().timestamp_millis();

    let started = Instant::now();
    let mut case_ids = Vec::with_capacity(cases);
    for chunk in (1..=cases).collect::<Vec<_>>().chunks(BATCH) {
        let documents = chunk
            .iter()
            .map(|number| NewDocument {
                id: None,
                parent: None,
                body: case_body(*number, now),
            })
            .collect();
        for stored in store.put_many("case", documents).await.unwrap() {
            case_ids.push(stored.unwrap().id);
        }
    }
    let case_seconds = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let mut batch = Vec::with_capacity(BATCH);
    for (number, case_id) in case_ids.iter().enumerate() {
        for index in 0..per_case {
            batch.push(NewDocument {
                id: None,
                parent: Some(case_id.clone()),
                body: observable_body(number + 1, index, now),
            });
        }
        if batch.len() >= BATCH {
            store
                .put_many("case_artifact", std::mem::take(&mut batch))
                .await
                .unwrap();
        }
    }
    if !batch.is_empty() {
        store.put_many("case_artifact", batch).await.unwrap();
    }
    let observable_seconds = started.elapsed().as_secs_f64();
    let middle = &case_ids[case_ids.len() / 2];

    println!(
        "Filled {cases} cases in {case_seconds:.1} s and {} observables in {observable_seconds:.1} s; RSS {:.0} MiB.\n",
        cases * per_case,
        rss_mib()
    );
    println!("| page | p50 | p99 | bytes |\n|---|---|---|---|");
    let pages = [
        ("case list (Open, by -startDate)", "/cases".to_owned()),
        (
            "case list, severity 3, by title",
            "/cases?severity=3&sort=title".to_owned(),
        ),
        (
            "case list, full text, page 3",
            "/cases?status=any&q=phishing+wave&page=3".to_owned(),
        ),
        (
            "case list, tag and assignee",
            "/cases?tag=campaign-7&owner=admin".to_owned(),
        ),
        ("case page (details)", format!("/cases/{middle}")),
        ("case tasks tab", format!("/cases/{middle}/tasks")),
        (
            "case observables tab",
            format!("/cases/{middle}/observables"),
        ),
        ("alert list", "/alerts".to_owned()),
        ("activity", "/activity".to_owned()),
        ("dashboard", "/dashboard".to_owned()),
    ];
    // One warm-up of each page (first aggregations build their in-memory term bitmaps).
    for (_, path) in &pages {
        time_page(&app, path, 1).await;
    }
    for (name, path) in &pages {
        let (p50, p99, bytes) = time_page(&app, path, samples).await;
        println!("| {name} | {p50:.1} ms | {p99:.1} ms | {bytes} |");
    }
    println!("\nRSS after the pages: {:.0} MiB", rss_mib());
}
