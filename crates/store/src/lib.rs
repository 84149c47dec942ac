//! The document store: one small [`Store`] trait, the query DSL shared by TheHive and Cortex
//! ([`Query`], [`Aggregation`]), and two backends chosen by configuration (embedded SQLite, the
//! default, and Elasticsearch).
//!
//! The store knows nothing of cases, jobs or users: it keeps JSON documents of a *kind* (a
//! collection name such as `case` or `job`), each with an id, an optional parent id (for the
//! `_parent`/`_child` joins) and an optimistic-concurrency [`Version`]. Services hold an
//! `Arc<dyn Store>` and never name a backend; [`open`] is the only place a backend is picked.
//!
//! Start reading at [`Store`], then [`query`] for the DSL.
#![warn(missing_docs)]

pub mod aggregation;
mod document;
pub mod elasticsearch;
mod error;
mod ids;
pub mod query;
pub mod sqlite;
mod unindexed;
mod words;

use std::sync::Arc;

pub use aggregation::Aggregation;
pub use document::{Document, Hits, NewDocument, Page, Sort, Version};
pub use error::{Result, StoreError};

/// The reason texts of [`StoreError::Conflict`].
pub mod error_reasons {
    pub use crate::error::{DUPLICATE, STALE_VERSION};
}
pub use query::Query;

/// How a document is removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteMode {
    /// The document is hidden from `get`, `search` and `aggregate` but kept on disk and can be
    /// brought back with [`Store::restore`].
    Soft,
    /// The document is removed for good.
    Hard,
}

/// When the writes of a kind become visible to searches (see [`Store::set_visibility`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Visibility {
    /// A search started after the write returned finds it (the default).
    #[default]
    Immediate,
    /// A search may miss the write for a moment after it returned (up to a second on
    /// Elasticsearch, where waiting for the refresh costs each write up to that second). `get`
    /// by id still reads it at once. For rows nobody searches right after writing them: audit
    /// entries, webhook deliveries.
    Eventual,
}

/// A store of JSON documents grouped by kind.
///
/// Every call is durable when it returns, and a caller reads its own writes (the Elasticsearch
/// backend waits for a refresh as needed), except searches over kinds declared
/// [`Visibility::Eventual`].
#[async_trait::async_trait]
pub trait Store: Send + Sync + std::fmt::Debug + 'static {
    /// Stores a new document. Uses the caller's id when given, otherwise generates a 20-character
    /// URL-safe id. A duplicate id gives [`StoreError::Conflict`].
    async fn put(&self, kind: &str, document: NewDocument) -> Result<Document>;

    /// Declares fields of `kind` that are stored but not indexed, like an Elasticsearch object
    /// with `enabled: false`: a query, sort or aggregation on them (or on anything inside them)
    /// finds nothing, and full text skips them. For large copies nobody searches, such as the
    /// snapshot of an object kept with its audit entry. Declare at startup: documents written
    /// before keep their index entries until they are next written. The SQLite store records
    /// the declaration, so that full text it indexes again when it next opens leaves the fields
    /// out too.
    fn set_unindexed(&self, kind: &str, fields: &[&str]);

    /// Declares when searches see the writes of `kind` (at startup, like
    /// [`Store::set_unindexed`]). The SQLite store makes every write visible at once and
    /// ignores it.
    fn set_visibility(&self, kind: &str, visibility: Visibility) {
        let _ = (kind, visibility);
    }

    /// Stores many new documents in one batch; each gets its own result, in input order.
    async fn put_many(
        &self,
        kind: &str,
        documents: Vec<NewDocument>,
    ) -> Result<Vec<Result<Document>>>;

    /// Reads one document. Missing or soft-deleted: [`StoreError::NotFound`].
    async fn get(&self, kind: &str, id: &str) -> Result<Document>;

    /// Replaces a document's body (the parent cannot change). With `expected` set, the write
    /// succeeds only if the stored version still equals it, else [`StoreError::Conflict`].
    async fn update(
        &self,
        kind: &str,
        id: &str,
        expected: Option<Version>,
        body: serde_json::Map<String, serde_json::Value>,
    ) -> Result<Document>;

    /// Removes a document, softly or for good.
    async fn delete(&self, kind: &str, id: &str, mode: DeleteMode) -> Result<()>;

    /// Brings back a soft-deleted document.
    async fn restore(&self, kind: &str, id: &str) -> Result<Document>;

    /// Removes for good every document of `kind` matching `query`; returns how many.
    async fn delete_by_query(&self, kind: &str, query: &Query) -> Result<u64>;

    /// Finds documents of `kind` matching `query`, sorted by `sort` (then newest first), the
    /// `page` window of them, with the total number of matches.
    async fn search(&self, kind: &str, query: &Query, page: Page, sort: &[Sort]) -> Result<Hits>;

    /// Counts documents of `kind` matching `query`.
    async fn count(&self, kind: &str, query: &Query) -> Result<u64>;

    /// Runs aggregations over the documents matching `query` and returns the result object in
    /// the TheHive/Cortex `_stats` shape (see [`aggregation`]).
    async fn aggregate(
        &self,
        kind: &str,
        query: &Query,
        aggregations: &[Aggregation],
    ) -> Result<serde_json::Map<String, serde_json::Value>>;
}

/// Which backend a deployment uses, and how to reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// One SQLite file (created if missing).
    Sqlite {
        /// Path of the database file.
        path: std::path::PathBuf,
    },
    /// An Elasticsearch cluster.
    Elasticsearch(elasticsearch::EsSettings),
}

/// Opens the configured backend. The only place a backend is chosen.
pub async fn open(backend: &Backend) -> Result<Arc<dyn Store>> {
    match backend {
        Backend::Sqlite { path } => Ok(Arc::new(sqlite::SqliteStore::open(path).await?)),
        Backend::Elasticsearch(settings) => {
            Ok(Arc::new(elasticsearch::ElasticStore::open(settings).await?))
        }
    }
}
