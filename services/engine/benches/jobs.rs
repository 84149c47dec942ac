//! Engine job benchmarks (not tests): submit-to-start overhead, jobs/s with a trivial native
//! worker and with a trivial cortexutils worker at the default parallelism, cache-hit latency,
//! and the process RSS with 10,000 jobs stored.
//!
//! Run with `cargo bench -p skep-engine --bench jobs`; results are printed as a Markdown table.
// Test support: any failed setup step should stop the run with a panic.
#![allow(clippy::unwrap_used)]

#[allow(dead_code)]
#[path = "../tests/api/helpers.rs"]
mod helpers;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Instant;

use futures_util::future::join_all;
use serde_json::{Value, json};
use skep_store::NewDocument;

use helpers::{TestApp, status_and_json};

const NATIVE_JOBS: usize = 1000;
const PYTHON_JOBS: usize = 40;
const CACHE_HITS: usize = 300;
const STORED_JOBS: usize = 10_000;
const CONCURRENT_CLIENTS: usize = 16;

fn write_worker(root: &Path, name: &str, file: &str, script: &str) {
    let folder = root.join("analyzers").join(name);
    std::fs::create_dir_all(&folder).unwrap();
    let definition = json!({"name": name, "version": "1.0", "description": "benchmark worker",
        "author": "Skep", "url": "https://example.org", "license": "AGPL-V3",
        "dataTypeList": ["ip"], "command": format!("{name}/{file}"), "config": {"auto_extract": false}});
    std::fs::write(folder.join(format!("{name}.json")), definition.to_string()).unwrap();
    let path = folder.join(file);
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn percentile(values: &mut [f64], fraction: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    values[((values.len() as f64 * fraction) as usize).min(values.len() - 1)]
}

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

struct Bench {
    app: TestApp,
    admin: String,
    analyst: String,
}

impl Bench {
    async fn enable(&self, definition: &str, body: Value) -> String {
        let (status, worker) = status_and_json(
            self.app
                .post_as(
                    &self.admin,
                    &format!("/api/organization/analyzer/{definition}"),
                    &body,
                )
                .await,
        )
        .await;
        assert_eq!(status, 201, "{worker}");
        worker["id"].as_str().unwrap().to_owned()
    }

    async fn submit(&self, worker: &str, data: String) -> Value {
        let body = json!({"dataType": "ip", "data": data});
        let (status, job) = status_and_json(
            self.app
                .post_as(&self.analyst, &format!("/api/analyzer/{worker}/run"), &body)
                .await,
        )
        .await;
        assert_eq!(status, 200, "{job}");
        job
    }

    /// Submits `count` jobs from concurrent clients and waits for all. Returns the end-to-end
    /// rate (submission included), the execution rate (first start to last end) and the
    /// submit-to-start delays in ms.
    async fn throughput(&self, worker: &str, count: usize, prefix: &str) -> (f64, f64, Vec<f64>) {
        let started = Instant::now();
        let per_client = count / CONCURRENT_CLIENTS;
        let batches = (0..CONCURRENT_CLIENTS).map(|client| async move {
            let mut ids = Vec::new();
            for index in 0..per_client {
                let job = self
                    .submit(worker, format!("{prefix}.{client}.{index}"))
                    .await;
                ids.push(job["id"].as_str().unwrap().to_owned());
            }
            ids
        });
        let ids: Vec<String> = join_all(batches).await.into_iter().flatten().collect();
        let mut delays = Vec::new();
        let (mut first_start, mut last_end) = (i64::MAX, i64::MIN);
        for id in &ids {
            let response = self
                .app
                .request_as(
                    &self.analyst,
                    reqwest::Method::GET,
                    &format!("/api/job/{id}/waitreport"),
                )
                .query(&[("atMost", "5minutes")])
                .send()
                .await
                .unwrap();
            let (_, job) = status_and_json(response).await;
            assert_eq!(job["status"], "Success", "{job}");
            first_start = first_start.min(job["startDate"].as_i64().unwrap());
            last_end = last_end.max(job["endDate"].as_i64().unwrap());
            delays.push(
                (job["startDate"].as_i64().unwrap() - job["createdAt"].as_i64().unwrap()) as f64,
            );
        }
        let elapsed = started.elapsed().as_secs_f64();
        let executing = (last_end - first_start).max(1) as f64 / 1000.0;
        (
            ids.len() as f64 / elapsed,
            ids.len() as f64 / executing,
            delays,
        )
    }
}

async fn run() {
    let catalog = tempfile::TempDir::new().unwrap();
    write_worker(
        catalog.path(),
        "Native",
        "native.sh",
        "#!/bin/sh\necho '{\"success\":true,\"full\":{},\"summary\":{},\"artifacts\":[],\"operations\":[]}' > \"$1/output/output.json\"\n",
    );
    let python = std::env::var("SKEP_TEST_PYTHON").unwrap_or_else(|_| {
        format!(
            "{}/../../.test-env/venv/bin/python",
            env!("CARGO_MANIFEST_DIR")
        )
    });
    write_worker(
        catalog.path(),
        "Trivial",
        "trivial.py",
        &format!(
            "#!{python}\nfrom cortexutils.analyzer import Analyzer\n\nclass Trivial(Analyzer):\n    def run(self):\n        self.report({{\"data\": self.get_data()}})\n\nif __name__ == \"__main__\":\n    Trivial().run()\n"
        ),
    );
    std::fs::create_dir_all(catalog.path().join("responders")).unwrap();
    let root = catalog.path().to_path_buf();
    let app = TestApp::spawn_with(|config| {
        config.workers.analyzer_paths = vec![root.join("analyzers")];
        config.workers.responder_paths = vec![root.join("responders")];
    })
    .await;
    let org = app.new_org().await;
    let admin = app
        .create_user(&org, "bench-admin", &["read", "analyze", "orgadmin"])
        .await;
    let analyst = app
        .create_user(&org, "bench-analyst", &["read", "analyze"])
        .await;
    let bench = Bench {
        app,
        admin,
        analyst,
    };
    let parallelism = bench.app.state.config.workers.effective_parallelism();

    let native = bench
        .enable("Native_1_0", json!({"name": "Native_1_0", "jobCache": 0}))
        .await;
    let (native_rate, native_execution, mut delays) =
        bench.throughput(&native, NATIVE_JOBS, "10.0").await;
    let python = bench
        .enable("Trivial_1_0", json!({"name": "Trivial_1_0", "jobCache": 0}))
        .await;
    let (python_rate, python_execution, _) = bench.throughput(&python, PYTHON_JOBS, "10.1").await;

    // Unloaded submit-to-start: one job at a time on an idle engine.
    let mut idle_delays = Vec::new();
    for index in 0..50 {
        let job = bench.submit(&native, format!("10.2.0.{index}")).await;
        let id = job["id"].as_str().unwrap();
        let (_, done) = status_and_json(
            bench
                .app
                .get_as(
                    &bench.analyst,
                    &format!("/api/job/{id}/waitreport?atMost=1minute"),
                )
                .await,
        )
        .await;
        idle_delays.push(
            (done["startDate"].as_i64().unwrap() - done["createdAt"].as_i64().unwrap()) as f64,
        );
    }

    let cached = bench
        .enable(
            "Native_1_0",
            json!({"name": "Native cached", "jobCache": 10}),
        )
        .await;
    let first = bench.submit(&cached, "192.0.2.1".into()).await;
    bench
        .app
        .get_as(
            &bench.analyst,
            &format!(
                "/api/job/{}/waitreport?atMost=1minute",
                first["id"].as_str().unwrap()
            ),
        )
        .await;
    let mut hits = Vec::new();
    for _ in 0..CACHE_HITS {
        let started = Instant::now();
        let job = bench.submit(&cached, "192.0.2.1".into()).await;
        hits.push(started.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(job["fromCache"], true);
    }

    let store = &bench.app.state.store;
    for chunk in 0..(STORED_JOBS / 1000) {
        let documents = (0..1000)
            .map(|index| {
                let body = json!({"workerId": native, "workerName": "Native_1_0", "workerDefinitionId": "Native_1_0",
                    "organization": org, "type": "analyzer", "status": "Success", "dataType": "ip",
                    "data": format!("10.9.{chunk}.{index}"), "tlp": 2, "pap": 2, "message": "", "parameters": {},
                    "cacheTag": format!("{chunk}-{index}"), "createdBy": "bench", "createdAt": 1_700_000_000_000_i64,
                    "startDate": 1_700_000_000_001_i64, "endDate": 1_700_000_000_002_i64});
                NewDocument { id: None, parent: None, body: body.as_object().unwrap().clone() }
            })
            .collect();
        store.put_many("job", documents).await.unwrap();
    }
    let response = bench
        .app
        .post_as(
            &bench.analyst,
            "/api/job/_search?range=0-100",
            &json!({"query": {}}),
        )
        .await;
    assert_eq!(response.status().as_u16(), 200);
    let rss = rss_kib();

    println!("| measure | value |\n|---|---|");
    println!("| parallelism (default = cores) | {parallelism} |");
    println!(
        "| native worker, end to end ({NATIVE_JOBS} jobs submitted by {CONCURRENT_CLIENTS} clients) | {native_rate:.0} jobs/s |"
    );
    println!(
        "| native worker, execution (first start to last end) | {native_execution:.0} jobs/s |"
    );
    println!("| cortexutils worker, end to end ({PYTHON_JOBS} jobs) | {python_rate:.1} jobs/s |");
    println!("| cortexutils worker, execution | {python_execution:.1} jobs/s |");
    println!(
        "| submit-to-start, idle engine, median / p95 | {:.0} ms / {:.0} ms |",
        median(&mut idle_delays),
        percentile(&mut idle_delays, 0.95)
    );
    println!(
        "| submit-to-start under the native load, median / p95 | {:.0} ms / {:.0} ms |",
        median(&mut delays),
        percentile(&mut delays, 0.95)
    );
    println!(
        "| cache hit round trip (HTTP), median / p95 | {:.2} ms / {:.2} ms |",
        median(&mut hits),
        percentile(&mut hits, 0.95)
    );
    println!(
        "| process RSS with {} jobs stored | {} MiB |",
        STORED_JOBS + NATIVE_JOBS + PYTHON_JOBS + 50,
        rss / 1024
    );
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a Tokio runtime");
    runtime.block_on(run());
}
