//! The conformance suite against SQLite with every non-empty string indexed as a long string:
//! by its marker row only, answered from the documents' bodies (see
//! `SqliteOptions::long_text_bytes`). The default threshold leaves most test strings short, so
//! this run is what proves the long-string paths give the same answers. A last test opens a
//! file written before markers existed.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod conformance;

use std::any::Any;
use std::sync::Arc;

use skep_store::Store;
use skep_store::sqlite::{SqliteOptions, SqliteStore};

async fn open_temp_sqlite_all_long() -> (Arc<dyn Store>, Box<dyn Any + Send>) {
    let directory = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_with(
        directory.path().join("skep.db"),
        SqliteOptions {
            long_text_bytes: 0,
            ..SqliteOptions::default()
        },
    )
    .await
    .unwrap();
    (Arc::new(store), Box::new(directory))
}

conformance_suite!(open_temp_sqlite_all_long);

/// A file from before long strings had markers holds their exact rows: every leaf still finds
/// them, and an update or a delete takes them away.
#[tokio::test]
async fn exact_rows_of_long_strings_in_older_files_are_found_and_removed() {
    use serde_json::{Value, json};
    use skep_store::{Aggregation, DeleteMode, NewDocument, Page, Query};

    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("old.db");
    let long = |word: &str| format!("{word} ") + &"words of an old long description ".repeat(6);
    let body = |word: &str| {
        json!({"description": long(word)})
            .as_object()
            .unwrap()
            .clone()
    };
    // Written with no string long, as before markers existed...
    let old = SqliteStore::open_with(
        &path,
        SqliteOptions {
            long_text_bytes: 1 << 20,
            ..SqliteOptions::default()
        },
    )
    .await
    .unwrap();
    for (id, word) in [("a", "alpha"), ("b", "bravo"), ("c", "charlie")] {
        let document = NewDocument {
            id: Some(id.into()),
            parent: None,
            body: body(word),
        };
        old.put("case", document).await.unwrap();
    }
    drop(old);
    // ...and without a threshold in the file, as such files are.
    let raw = rusqlite::Connection::open(&path).unwrap();
    raw.busy_timeout(std::time::Duration::from_secs(10))
        .unwrap();
    raw.execute("DELETE FROM meta WHERE key = 'long_text_bytes'", [])
        .unwrap();
    drop(raw);
    let store = SqliteStore::open(&path).await.unwrap();

    let ids = |query: Value| {
        let store = store.clone();
        async move {
            let query = Query::parse(&query).unwrap();
            let hits = store.search("case", &query, Page::ALL, &[]).await.unwrap();
            let mut ids: Vec<String> = hits.documents.into_iter().map(|hit| hit.id).collect();
            ids.sort();
            ids
        }
    };
    let buckets = || {
        let store = store.clone();
        async move {
            let terms = Aggregation::parse_list(&json!([
                {"_agg": "field", "_field": "description", "_select": [{"_agg": "count"}]}
            ]))
            .unwrap();
            let result = store.aggregate("case", &Query::All, &terms).await.unwrap();
            let mut keys: Vec<String> = result.keys().cloned().collect();
            keys.sort();
            keys
        }
    };
    assert_eq!(ids(json!({"description": long("alpha")})).await, ["a"]);
    assert_eq!(
        ids(json!({"_like": {"_field": "description", "_value": "bravo"}})).await,
        ["b"]
    );
    assert_eq!(ids(json!({"_gte": {"description": "c"}})).await, ["c"]);
    assert_eq!(
        buckets().await,
        [long("alpha"), long("bravo"), long("charlie")]
    );

    store
        .update("case", "a", None, body("delta"))
        .await
        .unwrap();
    store.delete("case", "b", DeleteMode::Hard).await.unwrap();

    assert!(ids(json!({"description": long("alpha")})).await.is_empty());
    assert_eq!(ids(json!({"description": long("delta")})).await, ["a"]);
    assert!(
        ids(json!({"_like": {"_field": "description", "_value": "bravo"}}))
            .await
            .is_empty()
    );
    assert_eq!(ids(json!({"_gte": {"description": "c"}})).await, ["a", "c"]);
    assert_eq!(buckets().await, [long("charlie"), long("delta")]);
}
