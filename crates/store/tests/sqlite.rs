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
