//! The conformance suite against SQLite with every non-empty string indexed as a long string:
//! by its marker row only, answered from the documents' bodies (see
//! `SqliteOptions::long_text_bytes`). The default threshold leaves most test strings short, so
//! this run is what proves the long-string paths give the same answers.
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
