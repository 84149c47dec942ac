#![allow(clippy::unwrap_used)]
use serde_json::json;
use skep_store::sqlite::SqliteStore;
use skep_store::{Aggregation, NewDocument, Query, Store};
use std::time::Instant;

#[tokio::main]
async fn main() {
    let path = std::env::var("PROBE_DB").unwrap();
    let fresh = !std::path::Path::new(&path).exists();
    let store = SqliteStore::open(&path).await.unwrap();
    if fresh {
        for batch in 0..100 {
            let docs = (0..1000).map(|i| { let n = batch*1000+i;
                let artifacts: Vec<_> = (0..10).map(|index| json!({"dataType": "ip", "data": format!("10.{}.{}.{index}", n / 250 % 250, n % 250), "message": "seen", "tags": ["bench"]})).collect();
                NewDocument{id: None, parent: None, body: json!({"title": format!("Benchmark alert {n}"), "description": "generated", "type": "bench", "source": "benchmark", "sourceRef": format!("ref-{n}"), "severity": 1 + n % 4, "status": "New", "date": 1_700_000_000_000i64 + n as i64,
                "tags": ["bench", format!("batch-{}", n % 10)], "artifacts": artifacts}).as_object().unwrap().clone()}}).collect();
            store.put_many("alert", docs).await.unwrap();
        }
    }
    let q = Query::eq("status", "New");
    let aggs = Aggregation::parse_list(&json!([
        {"_agg": "field", "_field": "severity", "_select": [{"_agg": "count"}]},
        {"_agg": "field", "_field": "tags", "_size": 20, "_select": [{"_agg": "count"}]},
        {"_agg": "count"}]))
    .unwrap();
    for (name, query, aggs) in [
        ("count status=New", q.clone(), vec![aggs[2].clone()]),
        ("terms severity", q.clone(), vec![aggs[0].clone()]),
        ("terms tags", q.clone(), vec![aggs[1].clone()]),
        ("all three", q.clone(), aggs.clone()),
        ("terms severity on All", Query::All, vec![aggs[0].clone()]),
        ("count All", Query::All, vec![aggs[2].clone()]),
    ] {
        let mut times = vec![];
        for _ in 0..30 {
            let t = Instant::now();
            store.aggregate("alert", &query, &aggs).await.unwrap();
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        times.sort_by(f64::total_cmp);
        println!("{name}: p50 {:.1} ms", times[15]);
    }
}
