//! The conformance suite against SQLite with the other settings of
//! `SqliteOptions::block_values` (the default, frequent values in blocks, runs in `sqlite.rs`):
//! every value in a block, so every query reads through blocks; no blocks at all; and frequent
//! values in blocks with every non-empty string long. A last test opens a file written with
//! rows only and goes on with blocks.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod conformance;

use std::any::Any;
use std::sync::Arc;

use skep_store::Store;
use skep_store::sqlite::{BlockValues, SqliteOptions, SqliteStore};

/// A store at `path` with `block_values`.
async fn open_at(path: &std::path::Path, block_values: BlockValues) -> SqliteStore {
    let options = SqliteOptions {
        block_values,
        ..SqliteOptions::default()
    };
    SqliteStore::open_with(path, options).await.unwrap()
}

async fn open_with(options: SqliteOptions) -> (Arc<dyn Store>, Box<dyn Any + Send>) {
    let directory = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_with(directory.path().join("skep.db"), options)
        .await
        .unwrap();
    (Arc::new(store), Box::new(directory))
}

async fn open_temp_sqlite_every_value_in_blocks() -> (Arc<dyn Store>, Box<dyn Any + Send>) {
    open_with(SqliteOptions {
        block_values: BlockValues::Every,
        ..SqliteOptions::default()
    })
    .await
}

async fn open_temp_sqlite_frequent_blocks_all_long() -> (Arc<dyn Store>, Box<dyn Any + Send>) {
    open_with(SqliteOptions {
        block_values: BlockValues::Frequent,
        long_text_bytes: 0,
    })
    .await
}

async fn open_temp_sqlite_no_blocks() -> (Arc<dyn Store>, Box<dyn Any + Send>) {
    open_with(SqliteOptions {
        block_values: BlockValues::None,
        ..SqliteOptions::default()
    })
    .await
}

mod every_value {
    use super::*;
    conformance_suite!(open_temp_sqlite_every_value_in_blocks);
}

mod no_blocks {
    use super::*;
    conformance_suite!(open_temp_sqlite_no_blocks);
}

mod frequent_all_long {
    use super::*;
    conformance_suite!(open_temp_sqlite_frequent_blocks_all_long);
}

/// A file written with one row per value, reopened with blocks: the old rows are still found,
/// new documents go to blocks, and updates and deletes take values out of both.
#[tokio::test]
async fn rows_of_older_files_are_found_and_removed_once_blocks_are_on() {
    use serde_json::json;
    use skep_store::{Aggregation, DeleteMode, NewDocument, Page, Query};

    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("old.db");
    let body = |status: &str, n: u64| {
        json!({"status": status, "n": n})
            .as_object()
            .unwrap()
            .clone()
    };
    let old = open_at(&path, BlockValues::None).await;
    for (id, status) in [("a", "Open"), ("b", "Open"), ("c", "Resolved")] {
        let document = NewDocument {
            id: Some(id.into()),
            parent: None,
            body: body(status, 1),
        };
        old.put("case", document).await.unwrap();
    }
    drop(old);

    let store = open_at(&path, BlockValues::Frequent).await;
    let query = |status: &str| Query::parse(&json!({"status": status})).unwrap();
    let ids = |status: &'static str| {
        let store = store.clone();
        async move {
            let hits = store
                .search("case", &query(status), Page::ALL, &[])
                .await
                .unwrap();
            let mut ids: Vec<String> = hits.documents.into_iter().map(|hit| hit.id).collect();
            ids.sort();
            ids
        }
    };
    assert_eq!(ids("Open").await, ["a", "b"]);
    let added = NewDocument {
        id: Some("d".into()),
        parent: None,
        body: body("Open", 2),
    };
    store.put("case", added).await.unwrap();
    store
        .update("case", "a", None, body("Resolved", 3))
        .await
        .unwrap();
    store.delete("case", "b", DeleteMode::Hard).await.unwrap();

    assert_eq!(ids("Open").await, ["d"]);
    assert_eq!(ids("Resolved").await, ["a", "c"]);
    assert_eq!(store.count("case", &query("Open")).await.unwrap(), 1);
    let terms = Aggregation::parse_list(&json!([
        {"_agg": "field", "_field": "status", "_select": [{"_agg": "count"}]}
    ]))
    .unwrap();
    let result = store.aggregate("case", &Query::All, &terms).await.unwrap();
    let mut keys: Vec<String> = result.keys().cloned().collect();
    keys.sort();
    assert_eq!(keys, ["Open", "Resolved"]);
    // The new and the updated documents' values are in blocks, the old ones in rows.
    drop(store);
    let raw = rusqlite::Connection::open(&path).unwrap();
    let in_blocks: i64 = raw
        .query_row("SELECT count(*) FROM field_blocks", [], |row| row.get(0))
        .unwrap();
    let in_rows: i64 = raw
        .query_row("SELECT count(*) FROM field_rows", [], |row| row.get(0))
        .unwrap();
    assert!(
        in_blocks > 0 && in_rows > 0,
        "{in_blocks} blocks, {in_rows} rows"
    );
}

/// A file whose blocks table is keyed by value (as files were before rowid blocks) gets the
/// current table when it opens, with every block: its documents are found, updated and removed.
#[tokio::test]
async fn blocks_keyed_by_value_move_to_the_current_table_when_the_file_opens() {
    use serde_json::json;
    use skep_store::{DeleteMode, NewDocument, Page, Query};

    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("keyed.db");
    let body = |status: &str| json!({"status": status}).as_object().unwrap().clone();
    let store = open_at(&path, BlockValues::Frequent).await;
    for number in 0..300 {
        let status = if number % 3 == 0 { "Resolved" } else { "Open" };
        let document = NewDocument {
            id: Some(format!("c{number}")),
            parent: None,
            body: body(status),
        };
        store.put("case", document).await.unwrap();
    }
    drop(store);
    let table_sql = |path: &std::path::Path| -> String {
        rusqlite::Connection::open(path)
            .unwrap()
            .query_row(
                "SELECT sql FROM sqlite_master WHERE name = 'field_blocks'",
                [],
                |row| row.get(0),
            )
            .unwrap()
    };
    assert!(!table_sql(&path).contains("WITHOUT ROWID"));
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch(
            "BEGIN;
             CREATE TABLE keyed (kind INTEGER NOT NULL, path INTEGER NOT NULL, value NOT NULL,
                 first INTEGER NOT NULL, docs BLOB NOT NULL,
                 PRIMARY KEY (kind, path, value, first)) WITHOUT ROWID;
             INSERT INTO keyed SELECT kind, path, value, first, docs FROM field_blocks;
             DROP VIEW field_values;
             DROP TABLE field_blocks;
             ALTER TABLE keyed RENAME TO field_blocks;
             CREATE VIEW field_values AS
                 SELECT kind, path, value, doc FROM field_rows
                 UNION ALL
                 SELECT b.kind, b.path, b.value, j.value AS doc
                 FROM field_blocks b, json_each(b.docs) j;
             COMMIT;",
        )
        .unwrap();
    assert!(table_sql(&path).contains("WITHOUT ROWID"));

    let store = open_at(&path, BlockValues::Frequent).await;
    assert!(!table_sql(&path).contains("WITHOUT ROWID"));
    let count = |status: &'static str| {
        let store = store.clone();
        async move {
            let query = Query::parse(&json!({"status": status})).unwrap();
            let hits = store.search("case", &query, Page::ALL, &[]).await.unwrap();
            assert_eq!(hits.total, store.count("case", &query).await.unwrap());
            hits.total
        }
    };
    assert_eq!((count("Open").await, count("Resolved").await), (200, 100));
    store
        .update("case", "c1", None, body("Resolved"))
        .await
        .unwrap();
    store.delete("case", "c0", DeleteMode::Hard).await.unwrap();
    assert_eq!((count("Open").await, count("Resolved").await), (199, 100));
}
