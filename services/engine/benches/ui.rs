//! Engine UI benchmark (not a test): server time of the main pages with 10,000 jobs and 100
//! users stored, measured as the wall time of a loopback request by a signed-in browser-like
//! client (an upper bound of the server's time). Target: 50 ms per page.
//!
//! Run with `cargo bench -p skep-engine --bench ui`; results are printed as a Markdown table.
// Test support: any failed setup step should stop the run with a panic.
#![allow(clippy::unwrap_used)]

#[allow(dead_code)]
#[path = "../tests/api/helpers.rs"]
mod helpers;

use std::time::Instant;

use serde_json::json;
use skep_store::NewDocument;

use helpers::TestApp;

const JOBS: usize = 10_000;
const USERS: usize = 100;
const SAMPLES: usize = 40;

fn percentile(values: &mut [f64], fraction: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    values[((values.len() as f64 * fraction) as usize).min(values.len() - 1)]
}

/// The `_csrf` value of the first form of a page.
fn csrf_of(html: &str) -> String {
    let start = html.find("name=\"_csrf\" value=\"").unwrap() + "name=\"_csrf\" value=\"".len();
    html[start..start + 64].to_owned()
}

async fn run() {
    let app = TestApp::spawn().await;
    let org = "bench";
    app.create_org(org).await;
    app.create_user(org, "lead", &["read", "analyze", "orgadmin"])
        .await;
    app.set_password("lead", "lead-password").await;
    for index in 1..USERS {
        app.create_user(org, &format!("user{index:03}"), &["read", "analyze"])
            .await;
    }
    let store = &*app.state.store;
    for chunk in 0..(JOBS / 1000) {
        let documents = (0..1000)
            .map(|index| {
                let status = match index % 10 {
                    0 => "Failure",
                    1 => "InProgress",
                    _ => "Success",
                };
                let body = json!({"workerId": "w", "workerName": format!("Analyzer{}_1_0", index % 7),
                    "workerDefinitionId": "Analyzer_1_0", "organization": org, "type": "analyzer",
                    "status": status, "dataType": if index % 3 == 0 { "domain" } else { "ip" },
                    "data": format!("10.0.{chunk}.{index}"), "tlp": 2, "pap": 2, "message": "",
                    "createdBy": "lead", "createdAt": 1_700_000_000_000_i64 + (chunk * 1000 + index) as i64 * 1000,
                    "startDate": 1_700_000_000_001_i64, "endDate": 1_700_000_000_002_i64});
                NewDocument { id: None, parent: None, body: body.as_object().unwrap().clone() }
            })
            .collect();
        store.put_many("job", documents).await.unwrap();
    }
    // One job with a report of realistic size (300 keys, nested) for the job page.
    let job = store
        .put(
            "job",
            NewDocument {
                id: None,
                parent: None,
                body: json!({"workerId": "w", "workerName": "Big_1_0", "organization": org,
                    "type": "analyzer", "status": "Success", "dataType": "ip", "data": "10.255.0.1",
                    "tlp": 2, "pap": 2, "createdAt": 1_800_000_000_000_i64})
                .as_object()
                .unwrap()
                .clone(),
            },
        )
        .await
        .unwrap();
    let full: serde_json::Map<String, serde_json::Value> = (0..300)
        .map(|index| {
            (
                format!("key{index}"),
                json!({"value": index, "text": "x".repeat(40), "list": [1, 2, 3]}),
            )
        })
        .collect();
    store
        .put(
            "report",
            NewDocument {
                id: Some(job.id.clone()),
                parent: None,
                body: json!({"jobId": job.id, "summary": {"taxonomies": [
                    {"level": "malicious", "namespace": "Big", "predicate": "Score", "value": "9/10"}]},
                    "full": full}).as_object().unwrap().clone(),
            },
        )
        .await
        .unwrap();

    let client = skep_testkit::cookie_client();
    let login_page = client
        .get(app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let response = client
        .post(app.url("/login"))
        .form(&[
            ("user", "lead"),
            ("password", "lead-password"),
            ("_csrf", &csrf_of(&login_page)),
        ])
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "login: {}",
        response.status()
    );

    let pages = [
        ("jobs, first page".to_owned(), "/jobs".to_owned()),
        ("jobs, page 300".to_owned(), "/jobs?page=300".to_owned()),
        (
            "jobs, status=Failure".to_owned(),
            "/jobs?status=Failure".to_owned(),
        ),
        (
            "jobs, data filter (exact)".to_owned(),
            "/jobs?data=10.0.5.17".to_owned(),
        ),
        (
            "jobs, data filter (partial, *)".to_owned(),
            "/jobs?data=10.0.5*".to_owned(),
        ),
        (
            "jobs, sorted by status".to_owned(),
            "/jobs?sort=status".to_owned(),
        ),
        (
            "job page, 300-key report".to_owned(),
            format!("/jobs/{}", job.id),
        ),
        ("users, first page".to_owned(), "/users".to_owned()),
        ("users, page 4".to_owned(), "/users?page=4".to_owned()),
        (
            "analyzers catalog".to_owned(),
            "/workers/analyzer".to_owned(),
        ),
        ("New Analysis".to_owned(), "/analyze".to_owned()),
    ];
    println!("| page ({JOBS} jobs, {USERS} users) | median ms | p95 ms | bytes |");
    println!("|---|---:|---:|---:|");
    for (name, path) in pages {
        let mut times = Vec::with_capacity(SAMPLES);
        let mut bytes = 0;
        for sample in 0..SAMPLES + 3 {
            let started = Instant::now();
            let response = client.get(app.url(&path)).send().await.unwrap();
            assert_eq!(response.status().as_u16(), 200, "{path}");
            let body = response.bytes().await.unwrap();
            let elapsed = started.elapsed().as_secs_f64() * 1000.0;
            bytes = body.len();
            if sample >= 3 {
                times.push(elapsed);
            }
        }
        let median = percentile(&mut times, 0.5);
        let p95 = percentile(&mut times, 0.95);
        println!("| {name} | {median:.1} | {p95:.1} | {bytes} |");
    }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a Tokio runtime");
    runtime.block_on(run());
}
