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
