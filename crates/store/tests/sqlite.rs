//! The conformance suite against the embedded SQLite backend, each case in a fresh file.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod conformance;

use std::any::Any;
use std::sync::Arc;

use skep_store::Store;
use skep_store::sqlite::SqliteStore;

async fn open_temp_sqlite() -> (Arc<dyn Store>, Box<dyn Any + Send>) {
    let directory = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(directory.path().join("skep.db"))
        .await
        .unwrap();
    (Arc::new(store), Box::new(directory))
}

conformance_suite!(open_temp_sqlite);

/// Writes grouped into one commit see each other's index rows: an insert followed in the same
/// group by an update, a delete and a failing insert leaves exactly the committed state
/// searchable.
#[tokio::test]
async fn grouped_inserts_updates_and_failures_leave_a_consistent_index() {
    use serde_json::{Map, Value, json};
    use skep_store::{DeleteMode, NewDocument, Page, Query};

    fn body(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }
    fn new(id: &str, status: &str) -> NewDocument {
        NewDocument {
            id: Some(id.into()),
            parent: None,
            body: body(json!({"status": status, "title": format!("title of {id}")})),
        }
    }
    let (store, _directory) = open_temp_sqlite().await;
    for round in 0..20 {
        let (a, b, c) = (
            format!("a{round}"),
            format!("b{round}"),
            format!("c{round}"),
        );
        let (put_a, put_b, update_a, delete_b, duplicate, many) = tokio::join!(
            store.put("case", new(&a, "New")),
            store.put("case", new(&b, "New")),
            store.update(
                "case",
                &a,
                None,
                body(json!({"status": "Closed", "title": "closed"}))
            ),
            store.delete("case", &b, DeleteMode::Hard),
            store.put("case", new(&a, "Duplicate")),
            store.put_many("case", vec![new(&c, "Many"), new(&c, "Twice")]),
        );
        put_a.unwrap();
        put_b.unwrap();
        // The update and the delete were queued after the inserts, so they find them.
        update_a.unwrap();
        delete_b.unwrap();
        assert!(duplicate.is_err());
        let many = many.unwrap();
        assert!(many[0].is_ok() && many[1].is_err());
    }
    let count = |query: Query| {
        let store = store.clone();
        async move { store.count("case", &query).await.unwrap() }
    };
    assert_eq!(count(Query::eq("status", json!("Closed"))).await, 20);
    assert_eq!(count(Query::eq("status", json!("New"))).await, 0);
    assert_eq!(count(Query::eq("status", json!("Duplicate"))).await, 0);
    assert_eq!(count(Query::eq("status", json!("Many"))).await, 20);
    assert_eq!(count(Query::eq("status", json!("Twice"))).await, 0);
    assert_eq!(count(Query::FullText("closed".into())).await, 20);
    assert_eq!(count(Query::FullText("title".into())).await, 20);
    let all = store
        .search(
            "case",
            &Query::All,
            Page {
                offset: 0,
                limit: None,
            },
            &[],
        )
        .await
        .unwrap();
    assert_eq!(all.total, 40);
}

/// Repeated aggregations may be answered from a cache, but never after a write changed them.
#[tokio::test]
async fn repeated_aggregations_follow_every_write() {
    use serde_json::json;
    use skep_store::{Aggregation, NewDocument, Query};

    let (store, _directory) = open_temp_sqlite().await;
    let aggregations = Aggregation::parse_list(&json!([
        {"_agg": "count"},
        {"_agg": "field", "_field": "status", "_select": [{"_agg": "count"}]}
    ]))
    .unwrap();
    for expected in 1..=5u64 {
        let body = json!({"status": "New"}).as_object().unwrap().clone();
        let stored = store
            .put(
                "alert",
                NewDocument {
                    id: None,
                    parent: None,
                    body,
                },
            )
            .await
            .unwrap();
        for _ in 0..3 {
            let result = store
                .aggregate("alert", &Query::All, &aggregations)
                .await
                .unwrap();
            assert_eq!(result["count"], json!(expected));
            assert_eq!(result["New"]["count"], json!(expected));
        }
        let changed = json!({"status": "Ignored"}).as_object().unwrap().clone();
        store
            .update("alert", &stored.id, None, changed)
            .await
            .unwrap();
        let result = store
            .aggregate("alert", &Query::eq("status", "Ignored"), &aggregations)
            .await
            .unwrap();
        assert_eq!(result["count"], json!(1));
        let undo = json!({"status": "New"}).as_object().unwrap().clone();
        store.update("alert", &stored.id, None, undo).await.unwrap();
        let result = store
            .aggregate("alert", &Query::eq("status", "Ignored"), &aggregations)
            .await
            .unwrap();
        assert_eq!(result["count"], json!(0));
    }
}

/// Large results sorted on several body fields (walked through the value indexes) come in the
/// same order as the plain definition: each key in turn, documents lacking a key after those
/// holding it, newest first on ties; and paging cuts that order.
#[tokio::test]
async fn large_results_sort_on_several_keys_through_the_indexes() {
    use serde_json::{Map, Value, json};
    use skep_store::{NewDocument, Page, Query, Sort};

    let (store, _directory) = open_temp_sqlite().await;
    let mut expected: Vec<(usize, Map<String, Value>)> = Vec::new();
    let mut documents = Vec::new();
    for number in 0..700usize {
        let mut body = Map::new();
        body.insert("kept".into(), json!(number % 7 != 0));
        if number % 11 != 0 {
            body.insert("flag".into(), json!(number % 13 == 0));
        }
        if number % 5 != 0 {
            body.insert("severity".into(), json!(1 + number % 3));
        }
        body.insert("startDate".into(), json!((number * 7919) % 1000));
        expected.push((number, body.clone()));
        documents.push(NewDocument {
            id: Some(format!("d{number:04}")),
            parent: None,
            body,
        });
    }
    for result in store.put_many("case", documents).await.unwrap() {
        result.unwrap();
    }
    // Keys: flag descending, severity ascending, startDate descending; then newest first.
    let key = |body: &Map<String, Value>| {
        let flag = body
            .get("flag")
            .map(|flag| if flag == &json!(true) { 0 } else { 1 });
        let severity = body.get("severity").and_then(Value::as_i64);
        let start = body.get("startDate").and_then(Value::as_i64).unwrap();
        (
            flag.unwrap_or(2),
            severity.map_or((1, 0), |s| (0, s)),
            -start,
        )
    };
    expected.retain(|(_, body)| body["kept"] == json!(true));
    expected.sort_by(|(left_number, left), (right_number, right)| {
        key(left)
            .cmp(&key(right))
            .then(right_number.cmp(left_number))
    });
    let sort = vec![
        Sort {
            field: "flag".into(),
            descending: true,
        },
        Sort {
            field: "severity".into(),
            descending: false,
        },
        Sort {
            field: "startDate".into(),
            descending: true,
        },
    ];
    for (offset, limit) in [(0u64, 15u64), (40, 30), (590, 20)] {
        let hits = store
            .search(
                "case",
                &Query::eq("kept", json!(true)),
                Page {
                    offset,
                    limit: Some(limit),
                },
                &sort,
            )
            .await
            .unwrap();
        assert_eq!(hits.total, expected.len() as u64);
        let got: Vec<String> = hits
            .documents
            .iter()
            .map(|document| document.id.clone())
            .collect();
        let want: Vec<String> = expected
            .iter()
            .skip(offset as usize)
            .take(limit as usize)
            .map(|(number, _)| format!("d{number:04}"))
            .collect();
        assert_eq!(got, want, "page {offset}+{limit}");
    }
}

/// Dashboards over many documents are computed on two connections: term counts of fields with
/// few values are split between them, other aggregations shared out. The answer must be the
/// one computed here from the data, while writes keep landing.
#[tokio::test]
async fn aggregations_of_many_documents_give_exact_buckets() {
    use std::collections::BTreeMap;

    use serde_json::{Value, json};
    use skep_store::{Aggregation, NewDocument, Query};

    let (store, _directory) = open_temp_sqlite().await;
    let status = |number: u64| {
        if number.is_multiple_of(5) {
            "Closed"
        } else {
            "Open"
        }
    };
    let tags = |number: u64| [format!("t{}", number % 7), format!("u{}", number % 3)];
    let documents: Vec<NewDocument> = (0..15_000)
        .map(|number| NewDocument {
            id: None,
            parent: None,
            body: json!({
                "status": status(number), "severity": number % 4, "tags": tags(number),
                "score": number % 100,
            })
            .as_object()
            .unwrap()
            .clone(),
        })
        .collect();
    for result in store.put_many("case", documents).await.unwrap() {
        result.unwrap();
    }
    // Expected: severity counts, and the 5 most frequent tags (ties by name) with the average
    // score of their documents, among the open ones.
    let open: Vec<u64> = (0..15_000).filter(|n| status(*n) == "Open").collect();
    let mut severities: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_tag: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for number in &open {
        *severities.entry((number % 4).to_string()).or_default() += 1;
        for tag in tags(*number) {
            let entry = by_tag.entry(tag).or_default();
            entry.0 += 1;
            entry.1 += number % 100;
        }
    }
    let mut ranked: Vec<(String, (u64, u64))> = by_tag.into_iter().collect();
    ranked.sort_by(|left, right| right.1.0.cmp(&left.1.0).then(left.0.cmp(&right.0)));
    let mut expected = serde_json::Map::new();
    for (severity, count) in &severities {
        expected.insert(severity.clone(), json!({"count": count}));
    }
    let mut top = serde_json::Map::new();
    for (tag, (count, sum)) in ranked.iter().take(5) {
        top.insert(
            tag.clone(),
            json!({"avg_score": *sum as f64 / *count as f64}),
        );
    }
    expected.insert("top_tags".into(), Value::Object(top));
    expected.insert("count".into(), json!(open.len()));
    expected.insert(
        "sum_score".into(),
        json!(open.iter().map(|n| n % 100).sum::<u64>()),
    );

    let aggregations = Aggregation::parse_list(&json!([
        {"_agg": "field", "_field": "severity", "_select": [{"_agg": "count"}]},
        {"_agg": "field", "_field": "tags", "_size": 5, "_name": "top_tags",
         "_select": [{"_agg": "avg", "_field": "score"}]},
        {"_agg": "count"},
        {"_agg": "sum", "_field": "score"},
    ]))
    .unwrap();
    let query = Query::eq("status", "Open");
    // A writer keeps committing meanwhile (documents no query here matches).
    let writer = {
        let store = store.clone();
        tokio::spawn(async move {
            for number in 0..40 {
                let body = json!({"status": "Other", "severity": 9, "tags": ["t1"], "n": number});
                let document = NewDocument {
                    id: None,
                    parent: None,
                    body: body.as_object().unwrap().clone(),
                };
                store.put("case", document).await.unwrap();
            }
        })
    };
    for _ in 0..5 {
        let together = store
            .aggregate("case", &query, &aggregations)
            .await
            .unwrap();
        assert_eq!(Value::Object(together), Value::Object(expected.clone()));
        for aggregation in &aggregations {
            let alone = store
                .aggregate("case", &query, std::slice::from_ref(aggregation))
                .await
                .unwrap();
            for (key, value) in alone {
                assert_eq!(Some(&value), expected.get(&key), "{key}");
            }
        }
    }
    writer.await.unwrap();
}

/// Term counts stay exact through every kind of write between dashboards: inserts, updates
/// that change or drop values, soft and hard deletes, restores, failed writes and a writer
/// committing while the dashboards run (term counts of few-valued fields come from in-memory
/// bitmaps the writer keeps up to date).
#[tokio::test]
async fn term_counts_follow_updates_deletes_restores_and_failed_writes() {
    use std::collections::BTreeMap;

    use serde_json::{Map, Value, json};
    use skep_store::{Aggregation, DeleteMode, NewDocument, Query, StoreError};

    const STATUSES: [&str; 4] = ["New", "Open", "Closed", "Held"];
    let (store, _directory) = open_temp_sqlite().await;
    let body = |status: &str, tags: &[String]| -> Map<String, Value> {
        json!({"status": status, "tags": tags})
            .as_object()
            .unwrap()
            .clone()
    };
    // Model: id -> (status, tags, soft-deleted).
    let mut model: BTreeMap<String, (String, Vec<String>, bool)> = BTreeMap::new();
    let mut seed = 7u64;
    let mut next = move |below: u64| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) % below
    };
    let aggregations = Aggregation::parse_list(&json!([
        {"_agg": "field", "_field": "status", "_name": "statuses", "_size": 10,
         "_select": [{"_agg": "count"}]},
        {"_agg": "field", "_field": "tags", "_name": "tags", "_size": 50,
         "_select": [{"_agg": "count"}]},
        {"_agg": "count"},
    ]))
    .unwrap();
    let not_closed = Query::parse(&json!({"_not": {"status": "Closed"}})).unwrap();
    let new_or_held =
        Query::parse(&json!({"_in": {"_field": "status", "_values": ["New", "Held"]}})).unwrap();
    let background = {
        let store = store.clone();
        tokio::spawn(async move {
            for number in 0..200 {
                let body = json!({"status": "Open", "tags": ["bg"], "n": number});
                let document = NewDocument {
                    id: None,
                    parent: None,
                    body: body.as_object().unwrap().clone(),
                };
                store.put("other", document).await.unwrap();
            }
        })
    };

    for round in 0..30 {
        // A batch of new documents, one of which repeats an existing id and fails alone.
        let mut batch = Vec::new();
        let mut new_ids = Vec::new();
        for index in 0..40 {
            let id = format!("c{round}-{index}");
            let status = STATUSES[next(4) as usize].to_owned();
            let tags: Vec<String> = (0..next(3)).map(|_| format!("t{}", next(6))).collect();
            batch.push(NewDocument {
                id: Some(id.clone()),
                parent: None,
                body: body(&status, &tags),
            });
            new_ids.push((id, status, tags));
        }
        if let Some(existing) = model.keys().next().cloned() {
            batch.push(NewDocument {
                id: Some(existing),
                parent: None,
                body: body("New", &["dup".to_owned()]),
            });
        }
        let results = store.put_many("case", batch).await.unwrap();
        for ((id, status, tags), result) in new_ids.into_iter().zip(&results) {
            assert!(result.is_ok(), "{result:?}");
            model.insert(id, (status, tags, false));
        }
        if results.len() > 40 {
            assert!(matches!(results[40], Err(StoreError::Conflict { .. })));
        }
        // Updates, deletes and restores of random documents.
        let ids: Vec<String> = model.keys().cloned().collect();
        for _ in 0..15 {
            let id = &ids[next(ids.len() as u64) as usize];
            let Some((status, tags, deleted)) = model.get(id).cloned() else {
                continue; // removed for good earlier in the round
            };
            match next(5) {
                0 | 1 if !deleted => {
                    let status = STATUSES[next(4) as usize].to_owned();
                    let tags: Vec<String> = (0..next(3)).map(|_| format!("t{}", next(6))).collect();
                    store
                        .update("case", id, None, body(&status, &tags))
                        .await
                        .unwrap();
                    model.insert(id.clone(), (status, tags, false));
                }
                2 if !deleted => {
                    store.delete("case", id, DeleteMode::Soft).await.unwrap();
                    model.insert(id.clone(), (status, tags, true));
                }
                3 if deleted => {
                    store.restore("case", id).await.unwrap();
                    model.insert(id.clone(), (status, tags, false));
                }
                4 => {
                    store.delete("case", id, DeleteMode::Hard).await.unwrap();
                    model.remove(id);
                }
                _ => {
                    // A stale version: the update fails and changes nothing.
                    let stale = store.get("case", id).await.ok();
                    if let Some(document) = stale {
                        store
                            .update("case", id, None, body(&status, &tags))
                            .await
                            .unwrap();
                        let refused = store
                            .update("case", id, Some(document.version), body("Held", &[]))
                            .await;
                        assert!(matches!(refused, Err(StoreError::Conflict { .. })));
                    }
                }
            }
        }
        let everything = |_: &str| true;
        let open = |status: &str| status != "Closed";
        let new_or_held_only = |status: &str| status == "New" || status == "Held";
        type Keep<'a> = &'a dyn Fn(&str) -> bool;
        let cases: [(&Query, Keep); 3] = [
            (&Query::All, &everything),
            (&not_closed, &open),
            (&new_or_held, &new_or_held_only),
        ];
        for (query, keep) in cases {
            let live = model
                .values()
                .filter(|(status, _, deleted)| !deleted && keep(status));
            let mut statuses: BTreeMap<String, u64> = BTreeMap::new();
            let mut tags: BTreeMap<String, u64> = BTreeMap::new();
            let mut count = 0;
            for (status, document_tags, _) in live {
                count += 1;
                *statuses.entry(status.clone()).or_default() += 1;
                let distinct: std::collections::BTreeSet<&String> = document_tags.iter().collect();
                for tag in distinct {
                    *tags.entry(tag.clone()).or_default() += 1;
                }
            }
            let buckets = |counts: BTreeMap<String, u64>| -> Value {
                counts
                    .into_iter()
                    .map(|(key, count)| (key, json!({"count": count})))
                    .collect::<Map<String, Value>>()
                    .into()
            };
            let result = store.aggregate("case", query, &aggregations).await.unwrap();
            assert_eq!(result["statuses"], buckets(statuses), "round {round}");
            assert_eq!(result["tags"], buckets(tags), "round {round}");
            assert_eq!(result["count"], json!(count), "round {round}");
        }
    }
    background.await.unwrap();
}

/// The format version a new file records, and what a file of another format gets.
fn format_of(path: &std::path::Path) -> Option<i64> {
    rusqlite::Connection::open(path)
        .unwrap()
        .query_row(
            "SELECT value FROM meta WHERE key = 'format_version'",
            [],
            |row| row.get(0),
        )
        .ok()
}

/// An error with its causes, as a service prints it when it cannot start.
fn chain(error: skep_store::StoreError) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

#[tokio::test]
async fn a_new_file_records_its_format_and_reopens() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("skep.db");
    drop(SqliteStore::open(&path).await.unwrap());
    assert_eq!(format_of(&path), Some(1));
    drop(SqliteStore::open(&path).await.unwrap());
    assert_eq!(format_of(&path), Some(1));
}

#[tokio::test]
async fn a_file_of_another_format_is_refused_with_an_error_naming_both() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("skep.db");
    drop(SqliteStore::open(&path).await.unwrap());
    let set = |sql: &str| {
        rusqlite::Connection::open(&path)
            .unwrap()
            .execute_batch(sql)
            .unwrap()
    };

    set("UPDATE meta SET value = 2 WHERE key = 'format_version'");
    let error = chain(SqliteStore::open(&path).await.unwrap_err());
    assert!(
        error.contains("format 2") && error.contains("newer Skep") && error.contains("format 1"),
        "{error}"
    );

    set("DELETE FROM meta WHERE key = 'format_version'");
    let error = chain(SqliteStore::open(&path).await.unwrap_err());
    assert!(
        error.contains("found none") && error.contains("expected 1"),
        "{error}"
    );
}
