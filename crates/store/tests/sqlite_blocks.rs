//! The conformance suite against SQLite with the other settings of
//! `SqliteOptions::block_values` (the default, frequent values in blocks, runs in `sqlite.rs`):
//! every value in a block, so every query reads through blocks; no blocks at all; and frequent
//! values in blocks with every non-empty string long. A last test checks that a file keeps the
//! setting it was created with.
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

/// The block setting is fixed when a file is created: reopened with another one, the file keeps
/// its own (a value must be removed from where it was written), and every document is found.
#[tokio::test]
async fn a_file_keeps_the_block_setting_it_was_created_with() {
    use serde_json::json;
    use skep_store::{NewDocument, Page, Query};

    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("rows.db");
    let put = |store: SqliteStore, id: &'static str| async move {
        let body = json!({"status": "Open"}).as_object().unwrap().clone();
        let document = NewDocument {
            id: Some(id.into()),
            parent: None,
            body,
        };
        store.put("case", document).await.unwrap();
    };
    let store = open_at(&path, BlockValues::None).await;
    put(store.clone(), "a").await;
    drop(store);

    let store = open_at(&path, BlockValues::Frequent).await;
    put(store.clone(), "b").await;
    let query = Query::parse(&json!({"status": "Open"})).unwrap();
    let hits = store.search("case", &query, Page::ALL, &[]).await.unwrap();
    assert_eq!(hits.total, 2);
    drop(store);
    let tables: i64 = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name IN ('field_blocks', 'field_rows')",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(tables, 0, "a file created without blocks never gets them");
}
