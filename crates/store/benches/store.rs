//! SQLite store benchmark: prints a table of throughput and latencies at 100,000 documents.
//!
//! Run with `cargo bench -p skep-store` (release build). `SKEP_BENCH_DOCUMENTS` changes the
//! corpus size, `SKEP_BENCH_CALLERS` the concurrent callers of the batched inserts (default 1; a
//! list such as `1,4` splits the corpus between runs); `SKEP_BENCH_INSERTS_ONLY=1` stops after
//! the inserts; `SKEP_BENCH_BLOCKS=none` (or `every`) changes which values are kept in posting
//! blocks (default: the frequent ones, as the store does). Numbers go to
//! `docs/benchmarks.md`.

use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};
use skep_store::sqlite::{BlockValues, SqliteOptions, SqliteStore};
use skep_store::{Aggregation, NewDocument, Page, Query, Sort, Store};

const WORDS: [&str; 24] = [
    "phishing",
    "malware",
    "ransomware",
    "beacon",
    "credential",
    "exfiltration",
    "lateral",
    "movement",
    "privilege",
    "escalation",
    "invoice",
    "dropper",
    "payload",
    "persistence",
    "scanner",
    "bruteforce",
    "vpn",
    "gateway",
    "mailbox",
    "spoofing",
    "domain",
    "firewall",
    "endpoint",
    "sandbox",
];
const STATUSES: [&str; 4] = ["Open", "Resolved", "Deleted", "Duplicated"];

/// A small deterministic generator, so runs are comparable.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % below
    }

    fn word(&mut self) -> &'static str {
        WORDS[self.next(WORDS.len() as u64) as usize]
    }

    /// One word of a 5,000-word vocabulary: each is in about 0.6% of descriptions.
    fn rare_word(&mut self) -> String {
        format!("w{}", self.next(5_000))
    }
}

fn case_body(random: &mut Lcg, number: u64) -> Map<String, Value> {
    let title = format!("{} {} case {number}", random.word(), random.word());
    let description: Vec<String> = (0..30).map(|_| random.rare_word()).collect();
    let body = json!({
        "title": title,
        "description": description.join(" "),
        "status": STATUSES[random.next(STATUSES.len() as u64) as usize],
        "severity": random.next(4) + 1,
        "tlp": random.next(4),
        "owner": format!("user{}", random.next(50)),
        "tags": [random.word(), random.word(), format!("src:{}", random.next(10))],
        "createdAt": 1_600_000_000_000_u64 + number * 60_000,
        "flag": random.next(2) == 0,
        "customFields": {"score": {"number": random.next(100)}},
    });
    match body {
        Value::Object(body) => body,
        _ => unreachable!("the body is an object literal"),
    }
}

/// User + system CPU time of this process so far, from `/proc/self/stat` (Linux only).
fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after_name = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // Fields 14 and 15 of the file (utime, stime) are 11 and 12 after the state field.
    let user: f64 = fields.get(11)?.parse().ok()?;
    let system: f64 = fields.get(12)?.parse().ok()?;
    Some((user + system) / 100.0)
}

fn percentile(sorted: &[Duration], percent: usize) -> Duration {
    sorted[(sorted.len() * percent / 100).min(sorted.len() - 1)]
}

fn millis(duration: Duration) -> String {
    format!("{:.3} ms", duration.as_secs_f64() * 1000.0)
}

struct Table(Vec<(String, String, String)>);

impl Table {
    fn latency(&mut self, name: &str, mut samples: Vec<Duration>) {
        samples.sort();
        self.0.push((
            name.to_owned(),
            millis(percentile(&samples, 50)),
            millis(percentile(&samples, 99)),
        ));
    }

    fn print(&self) {
        println!("| measurement | p50 / rate | p99 |");
        println!("|---|---|---|");
        for (name, first, second) in &self.0 {
            println!("| {name} | {first} | {second} |");
        }
    }
}

async fn time<T>(future: impl std::future::Future<Output = T>) -> (Duration, T) {
    let start = Instant::now();
    let value = future.await;
    (start.elapsed(), value)
}

#[tokio::main]
async fn main() {
    let documents: u64 = std::env::var("SKEP_BENCH_DOCUMENTS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(100_000);
    let directory = tempfile::tempdir().expect("a temporary directory");
    // SKEP_BENCH_DB keeps the database for inspection (e.g. EXPLAIN QUERY PLAN).
    let path = std::env::var("SKEP_BENCH_DB")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| directory.path().join("bench.db"));
    // SKEP_BENCH_BLOCKS=none|every changes which index values are in posting blocks.
    let block_values = match std::env::var("SKEP_BENCH_BLOCKS").as_deref() {
        Ok("none") => BlockValues::None,
        Ok("every") => BlockValues::Every,
        _ => BlockValues::Frequent,
    };
    let options = SqliteOptions {
        block_values,
        ..SqliteOptions::default()
    };
    let store = SqliteStore::open_with(path, options)
        .await
        .expect("the store opens");
    let mut random = Lcg(42);
    let mut table = Table(Vec::new());

    // Single inserts: one transaction and one WAL sync each.
    let singles = 1_000;
    let start = Instant::now();
    for number in 0..singles {
        let body = case_body(&mut random, number);
        store
            .put(
                "single",
                NewDocument {
                    id: None,
                    parent: None,
                    body,
                },
            )
            .await
            .expect("put");
    }
    let rate = singles as f64 / start.elapsed().as_secs_f64();
    table.0.push((
        "single inserts (durable, one per call)".into(),
        format!("{rate:.0} /s"),
        "".into(),
    ));

    // Batched inserts of the corpus.
    let batch: u64 = std::env::var("SKEP_BENCH_BATCH")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(1_000);
    // Several callers, as concurrent feeders would: while one batch commits (and syncs), the
    // next is built and queued, so the writer is never idle waiting for a caller. With a list
    // in SKEP_BENCH_CALLERS (e.g. "1,4") the corpus is split evenly between the runs, in order
    // (later runs insert into a larger file).
    let runs: Vec<u64> = std::env::var("SKEP_BENCH_CALLERS")
        .unwrap_or_else(|_| "1".to_owned())
        .split(',')
        .filter_map(|callers| callers.trim().parse().ok())
        .filter(|callers| *callers > 0)
        .collect();
    let runs = if runs.is_empty() { vec![1] } else { runs };
    let mut number = 0;
    for (index, callers) in runs.iter().enumerate() {
        let share = (documents - number) / (runs.len() - index) as u64;
        let batches: Vec<Vec<NewDocument>> = {
            let mut batches = Vec::new();
            let end = number + share;
            while number < end {
                let bodies: Vec<NewDocument> = (number..(number + batch).min(end))
                    .map(|n| NewDocument {
                        id: None,
                        parent: None,
                        body: case_body(&mut random, n),
                    })
                    .collect();
                number += bodies.len() as u64;
                batches.push(bodies);
            }
            batches
        };
        let queue = std::sync::Arc::new(std::sync::Mutex::new(batches.into_iter()));
        let start = Instant::now();
        let cpu_start = process_cpu_seconds();
        let mut tasks = Vec::new();
        for _ in 0..*callers {
            let (store, queue) = (store.clone(), queue.clone());
            tasks.push(tokio::spawn(async move {
                loop {
                    let next = queue.lock().expect("the queue").next();
                    let Some(bodies) = next else { break };
                    for result in store.put_many("case", bodies).await.expect("put_many") {
                        result.expect("each put");
                    }
                }
            }));
        }
        for task in tasks {
            task.await.expect("a caller");
        }
        let rate = share as f64 / start.elapsed().as_secs_f64();
        if let (Some(before), Some(after)) = (cpu_start, process_cpu_seconds()) {
            // On a shared machine wall time includes waiting for a core; this is the rate the
            // process sustains per CPU-second it was given.
            let cpu_rate = share as f64 / (after - before);
            table.0.push((
                format!("batched inserts per CPU-second of the process, {callers} caller(s)"),
                format!("{cpu_rate:.0} /s"),
                "".into(),
            ));
        }
        table.0.push((
            format!(
                "batched inserts ({batch} per put_many, {callers} caller(s), {share} documents)"
            ),
            format!("{rate:.0} /s"),
            "".into(),
        ));
    }

    // SKEP_BENCH_INSERTS_ONLY=1 stops here (for profiling the write path).
    if std::env::var_os("SKEP_BENCH_INSERTS_ONLY").is_some() {
        table.print();
        return;
    }

    let ids: Vec<String> = store
        .search(
            "case",
            &Query::All,
            Page {
                offset: 0,
                limit: Some(1_000),
            },
            &[],
        )
        .await
        .expect("ids")
        .documents
        .into_iter()
        .map(|document| document.id)
        .collect();

    let mut samples = Vec::new();
    for index in 0..2_000 {
        let id = &ids[(random.next(ids.len() as u64) as usize + index) % ids.len()];
        let (elapsed, _) = time(store.get("case", id)).await;
        samples.push(elapsed);
    }
    table.latency("get by id", samples);

    let first_page = Page::parse_range(None);
    let newest = Sort::parse_list(["-createdAt"]);
    let mut samples = Vec::new();
    let mut total = 0;
    for _ in 0..500 {
        let query =
            Query::parse(&json!({"owner": format!("user{}", random.next(50))})).expect("query");
        let (elapsed, hits) = time(store.search("case", &query, first_page, &[])).await;
        total = hits.expect("search").total;
        samples.push(elapsed);
    }
    table.latency(
        &format!("equality search, first page + total (~{total} hits)"),
        samples,
    );

    let mut samples = Vec::new();
    for _ in 0..200 {
        let query =
            Query::parse(&json!({"_and": [{"status": "Open"}, {"severity": random.next(4) + 1}]}))
                .expect("query");
        let (elapsed, hits) = time(store.search("case", &query, first_page, &newest)).await;
        total = hits.expect("search").total;
        samples.push(elapsed);
    }
    table.latency(
        &format!("two equalities sorted by -createdAt (~{total} hits)"),
        samples,
    );

    let mut samples = Vec::new();
    for _ in 0..300 {
        let query = Query::parse(&json!({"_string": random.rare_word()})).expect("query");
        let (elapsed, hits) = time(store.search("case", &query, first_page, &[])).await;
        total = hits.expect("search").total;
        samples.push(elapsed);
    }
    table.latency(
        &format!("_string full text, one word (~{total} hits)"),
        samples,
    );

    let mut samples = Vec::new();
    for _ in 0..100 {
        let text = format!("{} AND {}", random.word(), random.word());
        let query = Query::parse(&json!({"_string": text})).expect("query");
        let (elapsed, hits) = time(store.search("case", &query, first_page, &[])).await;
        total = hits.expect("search").total;
        samples.push(elapsed);
    }
    table.latency(
        &format!("_string full text, two common title words (~{total} hits)"),
        samples,
    );

    // Descriptions are over the store's long-string threshold: exact matches and `_like` are
    // narrowed by the full-text index, other leaves read every body holding a long description.
    let descriptions: Vec<Value> = store
        .search(
            "case",
            &Query::All,
            Page {
                offset: 0,
                limit: Some(100),
            },
            &[],
        )
        .await
        .expect("documents")
        .documents
        .into_iter()
        .map(|document| document.body["description"].clone())
        .collect();
    let mut samples = Vec::new();
    for index in 0..300 {
        let description = &descriptions[index % descriptions.len()];
        let query = Query::parse(&json!({"description": description})).expect("query");
        let (elapsed, hits) = time(store.search("case", &query, first_page, &[])).await;
        total = hits.expect("search").total;
        samples.push(elapsed);
    }
    table.latency(
        &format!("equality on a long string (description, ~{total} hit)"),
        samples,
    );
    let mut samples = Vec::new();
    for _ in 0..10 {
        let words = format!("{} {}", random.rare_word(), random.rare_word());
        let query = Query::parse(&json!({"_like": {"_field": "description", "_value": words}}))
            .expect("query");
        let (elapsed, hits) = time(store.search("case", &query, first_page, &[])).await;
        total = hits.expect("search").total;
        samples.push(elapsed);
    }
    table.latency(
        &format!("_like on a long-string field, two words (~{total} hits)"),
        samples,
    );
    let mut samples = Vec::new();
    for _ in 0..5 {
        let pattern = format!("{} *", random.rare_word());
        let query =
            Query::parse(&json!({"_wildcard": {"_field": "description", "_value": pattern}}))
                .expect("query");
        let (elapsed, hits) = time(store.search("case", &query, first_page, &[])).await;
        total = hits.expect("search").total;
        samples.push(elapsed);
    }
    table.latency(
        &format!("_wildcard on a long-string field (~{total} hits, every long body read)"),
        samples,
    );

    // Every aggregation sample is named differently, so none is answered from the store's
    // cache of repeated aggregations: these are computing costs.
    let named = |sample: usize, aggregation: Value| {
        let mut aggregation = aggregation;
        aggregation["_name"] = json!(format!("sample{sample}"));
        Aggregation::parse_list(&json!([aggregation])).expect("aggregation")
    };
    let mut samples = Vec::new();
    for sample in 0..50 {
        let terms = named(
            sample,
            json!({"_agg": "field", "_field": "status", "_select": [{"_agg": "count"}]}),
        );
        let (elapsed, result) = time(store.aggregate("case", &Query::All, &terms)).await;
        result.expect("aggregate");
        samples.push(elapsed);
    }
    table.latency("terms aggregation on status, all documents", samples);

    let open = Query::parse(&json!({"status": "Open"})).expect("query");
    let mut samples = Vec::new();
    for sample in 0..50 {
        let tags = named(
            sample,
            json!({"_agg": "field", "_field": "tags", "_size": 10, "_select": [{"_agg": "count"}]}),
        );
        let (elapsed, result) = time(store.aggregate("case", &open, &tags)).await;
        result.expect("aggregate");
        samples.push(elapsed);
    }
    table.latency("terms aggregation on tags, status = Open", samples);

    // A dashboard: two term aggregations and a count in one request, as `_stats` sends them
    // (run on two connections at once).
    let mut samples = Vec::new();
    for sample in 0..50 {
        let dashboard = Aggregation::parse_list(&json!([
            {"_agg": "field", "_field": "severity", "_select": [{"_agg": "count"}]},
            {"_agg": "field", "_field": "tags", "_size": 20, "_select": [{"_agg": "count"}]},
            {"_agg": "count", "_name": format!("count{sample}")},
        ]))
        .expect("aggregations");
        let not_deleted = Query::parse(&json!({"_not": {"status": "Deleted"}})).expect("query");
        let (elapsed, result) = time(store.aggregate("case", &not_deleted, &dashboard)).await;
        result.expect("aggregate");
        samples.push(elapsed);
    }
    table.latency(
        "dashboard: 2 term aggregations + count, status != Deleted",
        samples,
    );

    // The same dashboard right after a write (an update changing a document's severity and
    // tags): what a SOC screen refreshing on every change pays.
    let mut samples = Vec::new();
    let dashboard = Aggregation::parse_list(&json!([
        {"_agg": "field", "_field": "severity", "_select": [{"_agg": "count"}]},
        {"_agg": "field", "_field": "tags", "_size": 20, "_select": [{"_agg": "count"}]},
        {"_agg": "count"},
    ]))
    .expect("aggregations");
    let not_deleted = Query::parse(&json!({"_not": {"status": "Deleted"}})).expect("query");
    let target = store
        .search(
            "case",
            &Query::All,
            Page {
                offset: 0,
                limit: Some(1),
            },
            &[],
        )
        .await
        .expect("search");
    let target = &target.documents[0];
    for sample in 0..200_u64 {
        let mut body = target.body.clone();
        body.insert("severity".into(), json!(sample % 4 + 1));
        body.insert("tags".into(), json!([format!("w{}", sample % 3), "src:1"]));
        store
            .update("case", &target.id, None, body)
            .await
            .expect("update");
        let (elapsed, result) = time(store.aggregate("case", &not_deleted, &dashboard)).await;
        result.expect("aggregate");
        samples.push(elapsed);
    }
    table.latency(
        "the same dashboard right after a write (200 samples)",
        samples,
    );

    let mut samples = Vec::new();
    for sample in 0..20 {
        let histogram = named(
            sample,
            json!({"_agg": "time", "_fields": ["createdAt"], "_interval": "1w", "_select": [{"_agg": "count"}]}),
        );
        let (elapsed, result) = time(store.aggregate("case", &Query::All, &histogram)).await;
        result.expect("aggregate");
        samples.push(elapsed);
    }
    table.latency("weekly time histogram, all documents", samples);

    let repeated = named(
        0,
        json!({"_agg": "field", "_field": "tags", "_size": 10, "_select": [{"_agg": "count"}]}),
    );
    let mut samples = Vec::new();
    for _ in 0..50 {
        let (elapsed, result) = time(store.aggregate("case", &open, &repeated)).await;
        result.expect("aggregate");
        samples.push(elapsed);
    }
    table.latency(
        "the same aggregation repeated, no write between (cached)",
        samples,
    );

    // Updates of the 1,000 newest documents (the first page of the default order, as the ids
    // above were read), the ones analysts work on: each changes one field (the status), or
    // rewrites the whole body (every value leaves its posting block and joins another). One
    // caller, each update durable on its own; then four callers, whose updates share commits.
    // Last, as they change the documents the reads above measured.
    for (whole, callers) in [(false, 1_usize), (false, 4), (true, 1), (true, 4)] {
        let count = 1_000;
        let start = Instant::now();
        let mut tasks = Vec::new();
        for caller in 0..callers {
            let (store, ids) = (store.clone(), ids.clone());
            let mut random = Lcg(1_000 + caller as u64);
            tasks.push(tokio::spawn(async move {
                for index in 0..count / callers {
                    let id = &ids[(index * callers + caller) % ids.len()];
                    let body = if whole {
                        case_body(&mut random, index as u64)
                    } else {
                        let mut body = store.get("case", id).await.expect("get").body;
                        let status = STATUSES[random.next(STATUSES.len() as u64) as usize];
                        body.insert("status".into(), json!(status));
                        body
                    };
                    store.update("case", id, None, body).await.expect("update");
                }
            }));
        }
        for task in tasks {
            task.await.expect("an updater");
        }
        let rate = count as f64 / start.elapsed().as_secs_f64();
        table.0.push((
            format!(
                "updates of the newest documents, {} (durable, {callers} caller(s))",
                if whole { "whole body" } else { "status only" }
            ),
            format!("{rate:.0} /s"),
            "".into(),
        ));
    }

    println!("\nSkep store benchmark: SQLite, {documents} documents\n");
    table.print();
}
