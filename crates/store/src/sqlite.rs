//! The embedded SQLite backend: one file (and the full-text index's own file, text.rs), WAL, one
//! writer connection and a pool of readers, every call run off the async threads (see
//! `docs/adr/0001-storage-backends.md`).
//!
//! Documents live as JSON in `documents`; every scalar of a live document is also a row of
//! `field_values` (kind, path, value, document), which serves equality, ranges, terms
//! aggregations and sorting from indexes (a string over [`SqliteOptions::long_text_bytes`] by a
//! marker row, its value read from the body); FTS5 serves full text. Values many documents
//! share are kept as posting blocks behind that view (blocks.rs, [`SqliteOptions::block_values`]).
//!
//! The modules, leaves first (each imports only those above it, and none imports its importer):
//!
//! - `values`: how a scalar is encoded and ordered, the long-string marker, and how a body is
//!   flattened into (path, value) pairs and full text. Pure; imports no sibling.
//! - `rows`: row sets as bitmaps, and collecting a `SELECT` into one.
//! - `blocks`: posting blocks (many documents to a row) and the `field_values` view.
//! - `bitmaps`: `TermBitmaps`, in-memory term bitmaps of few-valued fields.
//! - `schema`: tables, the file's format version and fixed settings, connection settings, SQL
//!   functions.
//! - `text`: the full-text file and its thread (`TextLink` is the writer's channel to it).
//! - `staging`: the writer's `Staging` (interned ids, the group's rows, sorted at
//!   commit) and add/remove/replace of a document's index rows.
//! - `translate`, `evaluate`: queries to SQL and to row sets; `documents`: reads and writes of
//!   whole documents; `aggregate`: aggregations; `writer`: the writer and syncer threads.
//!
//! A file records its format (`schema::FORMAT_VERSION`) when it is created; a file of another
//! format is refused with an error naming both.

mod aggregate;
mod bitmaps;
mod blocks;
mod documents;
mod evaluate;
mod rows;
mod schema;
mod staging;
mod text;
mod translate;
mod values;
mod writer;

use std::collections::HashMap;

pub use blocks::BlockValues;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Map, Value};

use crate::error::STALE_VERSION;
use crate::unindexed::Unindexed;
use crate::{
    Aggregation, DeleteMode, Document, Hits, NewDocument, Page, Query, Result, Sort, Store,
    StoreError, Version,
};
use documents::{
    Prepared, conflict, insert, not_found, parse_body, search_blocking, stored, to_text, version,
};
use staging::Staging;

/// From this many documents, `put_many` prepares them on another thread while the writer
/// inserts them, [`STREAM_CHUNK`] at a time.
const STREAM_PUT_MANY_FROM: usize = 200;

/// Documents per prepared chunk of a streamed `put_many`.
const STREAM_CHUNK: usize = 100;

/// Documents in the first chunk: a small one, so the writer starts sooner.
const FIRST_STREAM_CHUNK: usize = 16;

/// Most idle reader connections kept open.
const MAX_IDLE_READERS: usize = 8;

/// Settings of a new SQLite store file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SqliteOptions {
    /// Strings longer than this many bytes are indexed by one shared marker row per field
    /// instead of their value (their words are in the full-text index all the same). Exact
    /// matches, ranges, `_like`, `_wildcard`, sorts and term buckets on such strings are
    /// answered from the documents' bodies: equality narrows them with the full-text index
    /// first, the others read every body holding a long string in that field. Long random
    /// strings (descriptions, messages) are what made inserts slow: each one landed on its own
    /// page of the index (`docs/adr/0005-sqlite-insert-throughput.md`).
    ///
    /// Fixed when the file is created; opening an existing file keeps the file's value.
    ///
    /// While the full-text index is behind the documents (a failed text write, until it is
    /// replayed), nothing is narrowed: every body holding a long string in the field is read.
    /// The narrowing finds every `_like` match because the full-text index splits text into
    /// words wherever `_like` does (`words.rs`).
    pub long_text_bytes: usize,
    /// Which index values are kept as posting blocks (many documents to a row) instead of one
    /// row per document (`sqlite/blocks.rs`). Fixed when the file is created; opening an
    /// existing file keeps the file's value.
    pub block_values: BlockValues,
}

/// The default [`SqliteOptions::long_text_bytes`]: a SHA-512 in hex (128 characters) is still
/// indexed by value.
pub const DEFAULT_LONG_TEXT_BYTES: usize = 128;

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions {
            long_text_bytes: DEFAULT_LONG_TEXT_BYTES,
            block_values: BlockValues::Frequent,
        }
    }
}

/// A [`Store`] in one SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    path: PathBuf,
    /// The full-text index's file (text.rs).
    text_path: PathBuf,
    writer: writer::WriterHandle,
    readers: Mutex<Vec<Connection>>,
    /// Advanced by the writer after every commit.
    generation: Arc<AtomicU64>,
    /// Aggregation results of the current generation (dashboards repeat the same `_stats`).
    aggregations: Mutex<ResultCache>,
    /// Term bitmaps of low-cardinality fields, kept up to date by the writer.
    columns: Arc<Mutex<bitmaps::TermBitmaps>>,
    /// Fields stored without index rows, per kind (shared with the text thread's replays).
    unindexed: Arc<Unindexed>,
    /// The file's long-string threshold ([`SqliteOptions::long_text_bytes`]).
    long: usize,
}

impl Shared {
    /// An idle reader connection, or a new one.
    fn take_reader(&self) -> Result<Connection> {
        match lock(&self.readers).pop() {
            Some(connection) => Ok(connection),
            None => open_connection(&self.path, &self.text_path),
        }
    }

    /// Keeps a reader for later, up to [`MAX_IDLE_READERS`].
    fn give_back(&self, connection: Connection) {
        let mut readers = lock(&self.readers);
        if readers.len() < MAX_IDLE_READERS {
            readers.push(connection);
        }
    }
}

/// Aggregation results keyed by kind, query and aggregations, valid for one write generation
/// (the idea of Elasticsearch's request cache: any write invalidates everything).
///
/// An entry is stored under the generation read before its read transaction started, so it
/// reflects at least that generation's data; it is served only while no later commit exists.
#[derive(Debug, Default)]
struct ResultCache {
    generation: u64,
    entries: HashMap<String, Map<String, Value>>,
}

/// Most aggregation results cached at once.
const MAX_CACHED_RESULTS: usize = 256;

impl ResultCache {
    fn get(&self, generation: u64, key: &str) -> Option<Map<String, Value>> {
        (self.generation == generation)
            .then(|| self.entries.get(key).cloned())
            .flatten()
    }

    fn put(&mut self, generation: u64, key: String, result: &Map<String, Value>) {
        if generation < self.generation {
            return;
        }
        if generation > self.generation || self.entries.len() >= MAX_CACHED_RESULTS {
            self.entries.clear();
            self.generation = generation;
        }
        self.entries.insert(key, result.clone());
    }
}

pub(crate) fn backend(error: rusqlite::Error) -> StoreError {
    StoreError::Backend(anyhow::Error::new(error))
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves no half-done SQL behind (the transaction rolls back
    // on drop), so the connection is still usable.
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn join_error(error: tokio::task::JoinError) -> StoreError {
    StoreError::Backend(anyhow::anyhow!("store task failed: {error}"))
}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path`, with its schema.
    pub async fn open(path: impl AsRef<Path>) -> Result<SqliteStore> {
        SqliteStore::open_with(path, SqliteOptions::default()).await
    }

    /// [`SqliteStore::open`] with `options` for a file it creates.
    pub async fn open_with(path: impl AsRef<Path>, options: SqliteOptions) -> Result<SqliteStore> {
        let path = path.as_ref().to_path_buf();
        tokio::task::spawn_blocking(move || SqliteStore::open_blocking(path, options))
            .await
            .map_err(join_error)?
    }

    fn open_blocking(path: PathBuf, options: SqliteOptions) -> Result<SqliteStore> {
        if let Some(directory) = path
            .parent()
            .filter(|directory| !directory.as_os_str().is_empty())
        {
            std::fs::create_dir_all(directory).map_err(|error| {
                StoreError::Unavailable(
                    anyhow::Error::new(error)
                        .context(format!("cannot create {}", directory.display())),
                )
            })?;
        }
        let connection = open_file(&path)?;
        schema::configure_writer(&connection).map_err(backend)?;
        let schema::Layout {
            long_text_bytes: long,
            blocks,
        } = schema::open_layout(
            &connection,
            schema::Layout {
                long_text_bytes: options.long_text_bytes,
                blocks: options.block_values,
            },
        )?;
        let text_path = text::path_for(&path);
        let unindexed = Arc::new(Unindexed::default());
        let recorded = schema::recorded_unindexed(&connection).map_err(backend)?;
        let text = text::start(
            &path,
            &text_path,
            &connection,
            Arc::clone(&unindexed),
            &recorded,
        )?;
        let checkpointer = open_connection(&path, &text_path)?;
        let generation = Arc::new(AtomicU64::new(0));
        let columns = Arc::new(Mutex::new(bitmaps::TermBitmaps::default()));
        let writer = writer::WriterHandle::start(
            connection,
            checkpointer,
            [
                text::suffixed(&path, "-wal"),
                text::suffixed(&text_path, "-wal"),
            ],
            text,
            Arc::clone(&generation),
            Arc::clone(&columns),
            Staging::new(long, blocks),
        )?;
        Ok(SqliteStore {
            shared: Arc::new(Shared {
                path,
                text_path,
                writer,
                readers: Mutex::new(Vec::new()),
                generation,
                aggregations: Mutex::new(ResultCache::default()),
                columns,
                unindexed,
                long,
            }),
        })
    }

    /// Runs `work` on a reader connection, off the async threads.
    async fn read<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let shared = Arc::clone(&self.shared);
        tokio::task::spawn_blocking(move || {
            let connection = shared.take_reader()?;
            let result = work(&connection);
            shared.give_back(connection);
            result
        })
        .await
        .map_err(join_error)?
    }

    /// [`SqliteStore::read`] with two reader connections.
    async fn read_pair<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection, &mut Connection) -> Result<T> + Send + 'static,
    {
        let shared = Arc::clone(&self.shared);
        tokio::task::spawn_blocking(move || {
            let mut first = shared.take_reader()?;
            let mut second = shared.take_reader()?;
            let result = work(&mut first, &mut second);
            shared.give_back(first);
            shared.give_back(second);
            result
        })
        .await
        .map_err(join_error)?
    }

    /// Runs `work` on the writer thread, grouped with concurrent writes into one transaction
    /// (in its own savepoint); answers once that transaction is committed.
    async fn write<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&rusqlite::Transaction<'_>, &mut Staging) -> Result<T> + Send + 'static,
    {
        self.shared.writer.submit(false, work).await
    }

    /// [`SqliteStore::write`] for work that only inserts new documents: their index rows are
    /// staged and written, sorted, with the rest of the group's.
    async fn write_inserts<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&rusqlite::Transaction<'_>, &mut Staging) -> Result<T> + Send + 'static,
    {
        self.shared.writer.submit(true, work).await
    }
}

/// A connection to the store's file alone (the writer's).
fn open_file(path: &Path) -> Result<Connection> {
    let connection = Connection::open(path).map_err(|error| {
        StoreError::Unavailable(
            anyhow::Error::new(error).context(format!("cannot open {}", path.display())),
        )
    })?;
    schema::configure(&connection).map_err(backend)?;
    Ok(connection)
}

/// A connection to the store's file with the text file attached as `fts` (readers and the
/// checkpointer).
fn open_connection(path: &Path, text_path: &Path) -> Result<Connection> {
    let connection = open_file(path)?;
    text::attach(&connection, text_path, "fts").map_err(|error| {
        StoreError::Unavailable(
            anyhow::Error::new(error).context(format!("cannot open {}", text_path.display())),
        )
    })?;
    Ok(connection)
}

#[async_trait::async_trait]
impl Store for SqliteStore {
    fn set_unindexed(&self, kind: &str, fields: &[&str]) {
        self.shared.unindexed.set(kind, fields);
        // Recorded on every declaration, even one the file holds already: the file may hold
        // another one from an earlier run, and declarations are made once, at startup.
        let (kind, fields) = (kind.to_owned(), self.shared.unindexed.of(kind));
        let recorded = self.shared.writer.send(move |transaction, _| {
            schema::record_unindexed(transaction, &kind, &fields).map_err(backend)
        });
        // Only the file's next rebuild of its text needs the record; the writes follow the
        // declaration from now on either way.
        if let Err(error) = recorded {
            tracing::warn!(%error, "the unindexed fields could not be recorded in the file");
        }
    }

    async fn put(&self, kind: &str, document: NewDocument) -> Result<Document> {
        let prepared = Prepared::new(document, &self.shared.unindexed.of(kind), self.shared.long)?;
        let kind = kind.to_owned();
        self.write_inserts(move |transaction, staging| {
            let kind_id = staging.kind(transaction, &kind).map_err(backend)?;
            insert(transaction, staging, &kind, kind_id, prepared)
        })
        .await
    }

    async fn put_many(
        &self,
        kind: &str,
        documents: Vec<NewDocument>,
    ) -> Result<Vec<Result<Document>>> {
        let (skip, long) = (self.shared.unindexed.of(kind), self.shared.long);
        let count = documents.len();
        let streamed = count >= STREAM_PUT_MANY_FROM;
        // Preparing a document (serialising and flattening it) costs about as much as the
        // writer's inserts of it. A large batch is prepared on a blocking thread, chunk by
        // chunk, while the writer inserts the chunks already prepared, so the two overlap
        // instead of taking turns (and the async thread is not held up). A small one is
        // prepared here, in one chunk: a thread hop would cost more than it saves.
        let (first, chunk) = if streamed {
            (FIRST_STREAM_CHUNK, STREAM_CHUNK)
        } else {
            (count.max(1), count.max(1))
        };
        let (chunks, prepared) = std::sync::mpsc::sync_channel::<Vec<Result<Prepared>>>(8);
        let mut documents = documents.into_iter();
        let mut prepare = move || {
            let mut size = first;
            loop {
                let next: Vec<_> = documents
                    .by_ref()
                    .take(std::mem::replace(&mut size, chunk))
                    .map(|document| Prepared::new(document, &skip, long))
                    .collect();
                // A send fails when the writer stopped early; it answers with the reason.
                if next.is_empty() || chunks.send(next).is_err() {
                    break;
                }
            }
        };
        let preparing = if streamed {
            Some(tokio::task::spawn_blocking(prepare))
        } else {
            prepare();
            // Its end of the channel must go now: the writer reads until it is gone.
            drop(prepare);
            None
        };
        let kind = kind.to_owned();
        let written = self
            .write_inserts(move |transaction, staging| {
                let kind_id = staging.kind(transaction, &kind).map_err(backend)?;
                let mut results = Vec::with_capacity(count);
                // Ends when every chunk is in, or when the preparing thread is gone.
                for document in prepared.iter().flatten() {
                    let result = document.and_then(|document| {
                        insert(transaction, staging, &kind, kind_id, document)
                    });
                    if let Err(error @ (StoreError::Backend(_) | StoreError::Unavailable(_))) =
                        result
                    {
                        return Err(error);
                    }
                    results.push(result);
                }
                if results.len() < count {
                    return Err(StoreError::Backend(anyhow::anyhow!(
                        "only {} of {count} documents could be prepared",
                        results.len()
                    )));
                }
                Ok(results)
            })
            .await;
        if let Some(preparing) = preparing {
            preparing.await.map_err(join_error)?;
        }
        written
    }

    async fn get(&self, kind: &str, id: &str) -> Result<Document> {
        let (kind, id) = (kind.to_owned(), id.to_owned());
        self.read(move |connection| match stored(connection, &kind, &id)? {
            Some(stored) if !stored.deleted => Ok(Document {
                id,
                parent: stored.parent,
                version: version(stored.seq_no, stored.primary_term),
                body: parse_body(&stored.body)?,
            }),
            _ => Err(not_found(&kind, &id)),
        })
        .await
    }

    async fn update(
        &self,
        kind: &str,
        id: &str,
        expected: Option<Version>,
        body: Map<String, Value>,
    ) -> Result<Document> {
        // Serialised and flattened here, off the writer thread.
        let text = to_text(&body)?;
        let flat = values::Flat::of(&body, &self.shared.unindexed.of(kind), self.shared.long);
        let (kind, id) = (kind.to_owned(), id.to_owned());
        self.write(move |transaction, staging| {
            let current = match stored(transaction, &kind, &id)? {
                Some(current) if !current.deleted => current,
                _ => return Err(not_found(&kind, &id)),
            };
            if let Some(expected) = expected
                && expected != version(current.seq_no, current.primary_term)
            {
                return Err(conflict(&kind, &id, STALE_VERSION));
            }
            let kind_id = staging.kind(transaction, &kind).map_err(backend)?;
            let seq_no = current.seq_no + 1;
            transaction
                .prepare_cached("UPDATE documents SET body = jsonb(?1), seq_no = ?2 WHERE row = ?3")
                .and_then(|mut statement| statement.execute(params![text, seq_no, current.row]))
                .map_err(backend)?;
            let old_body = parse_body(&current.body)?;
            staging::replace(transaction, staging, kind_id, current.row, &old_body, flat)
                .map_err(backend)?;
            Ok(Document {
                id,
                parent: current.parent,
                version: version(seq_no, current.primary_term),
                body,
            })
        })
        .await
    }

    async fn delete(&self, kind: &str, id: &str, mode: DeleteMode) -> Result<()> {
        let (kind, id) = (kind.to_owned(), id.to_owned());
        self.write(move |transaction, staging| {
            let current = match stored(transaction, &kind, &id)? {
                Some(current) if mode == DeleteMode::Hard || !current.deleted => current,
                _ => return Err(not_found(&kind, &id)),
            };
            match mode {
                DeleteMode::Soft => transaction
                    .prepare_cached(
                        "UPDATE documents SET deleted = 1, seq_no = seq_no + 1 WHERE row = ?1",
                    )
                    .and_then(|mut statement| statement.execute([current.row])),
                DeleteMode::Hard => transaction
                    .prepare_cached("DELETE FROM documents WHERE row = ?1")
                    .and_then(|mut statement| statement.execute([current.row])),
            }
            .map_err(backend)?;
            if !current.deleted {
                let kind_id = staging.kind(transaction, &kind).map_err(backend)?;
                let body = parse_body(&current.body)?;
                staging::remove(transaction, staging, kind_id, current.row, &body)
                    .map_err(backend)?;
            }
            Ok(())
        })
        .await
    }

    async fn restore(&self, kind: &str, id: &str) -> Result<Document> {
        let skip = self.shared.unindexed.of(kind);
        let (kind, id) = (kind.to_owned(), id.to_owned());
        self.write(move |transaction, staging| {
            let Some(current) = stored(transaction, &kind, &id)? else {
                return Err(not_found(&kind, &id));
            };
            let body = parse_body(&current.body)?;
            if !current.deleted {
                let version = version(current.seq_no, current.primary_term);
                return Ok(Document {
                    id,
                    parent: current.parent,
                    version,
                    body,
                });
            }
            let kind_id = staging.kind(transaction, &kind).map_err(backend)?;
            let seq_no = current.seq_no + 1;
            transaction
                .prepare_cached("UPDATE documents SET deleted = 0, seq_no = ?1 WHERE row = ?2")
                .and_then(|mut statement| statement.execute(params![seq_no, current.row]))
                .map_err(backend)?;
            let flat = values::Flat::of(&body, &skip, staging.long);
            staging::add(transaction, staging, kind_id, current.row, flat).map_err(backend)?;
            Ok(Document {
                id,
                parent: current.parent,
                version: version(seq_no, current.primary_term),
                body,
            })
        })
        .await
    }

    async fn delete_by_query(&self, kind: &str, query: &Query) -> Result<u64> {
        // The matches are found on a reader: the writer's connection does not attach the
        // full-text file, which full-text leaves and long strings read (text.rs, values.rs). A
        // document changed between the two steps is left alone, as Elasticsearch's
        // delete-by-query skips version conflicts.
        let (owned_kind, query) = (kind.to_owned(), query.clone());
        let matched = self
            .read(move |connection| {
                let transaction = connection.unchecked_transaction().map_err(backend)?;
                let Some((kind_id, rows)) =
                    evaluate::matching(&transaction, &owned_kind, &query, None)?
                else {
                    return Ok(None);
                };
                let mut statement = transaction
                    .prepare_cached("SELECT id, seq_no FROM documents WHERE row = ?1")
                    .map_err(backend)?;
                let versions = rows
                    .descending()
                    .map(|row| {
                        statement
                            .query_row([row], |result| {
                                Ok((row, result.get::<_, String>(0)?, result.get::<_, i64>(1)?))
                            })
                            .map_err(backend)
                    })
                    .collect::<Result<Vec<_>>>()?;
                Ok(Some((kind_id, versions)))
            })
            .await?;
        let Some((kind_id, versions)) = matched.filter(|(_, versions)| !versions.is_empty()) else {
            return Ok(0);
        };
        self.write(move |transaction, staging| {
            let mut removed = 0;
            for (row, id, seq_no) in &versions {
                let body: Option<String> = transaction
                    .prepare_cached(
                        "SELECT json(body) FROM documents WHERE row = ?1 AND kind = ?2 \
                         AND id = ?3 AND seq_no = ?4 AND deleted = 0",
                    )
                    .and_then(|mut statement| {
                        statement
                            .query_row(params![row, kind_id, id, seq_no], |result| result.get(0))
                            .optional()
                    })
                    .map_err(backend)?;
                let Some(body) = body else {
                    continue;
                };
                transaction
                    .prepare_cached("DELETE FROM documents WHERE row = ?1")
                    .and_then(|mut statement| statement.execute([row]))
                    .map_err(backend)?;
                staging::remove(transaction, staging, kind_id, *row, &parse_body(&body)?)
                    .map_err(backend)?;
                removed += 1;
            }
            Ok(removed)
        })
        .await
    }

    async fn search(&self, kind: &str, query: &Query, page: Page, sort: &[Sort]) -> Result<Hits> {
        let (kind, query, sort) = (kind.to_owned(), query.clone(), sort.to_vec());
        self.read(move |connection| search_blocking(connection, &kind, &query, page, &sort))
            .await
    }

    async fn count(&self, kind: &str, query: &Query) -> Result<u64> {
        let (kind, query) = (kind.to_owned(), query.clone());
        self.read(
            move |connection| match evaluate::matching(connection, &kind, &query, None)? {
                Some((_, rows)) => Ok(rows.len()),
                None => Ok(0),
            },
        )
        .await
    }

    async fn aggregate(
        &self,
        kind: &str,
        query: &Query,
        aggregations: &[Aggregation],
    ) -> Result<Map<String, Value>> {
        let key = format!("{kind}\u{0}{query:?}\u{0}{aggregations:?}");
        let generation = self.shared.generation.load(Ordering::Acquire);
        if let Some(result) = lock(&self.shared.aggregations).get(generation, &key) {
            return Ok(result);
        }
        let (kind, query, aggregations) = (kind.to_owned(), query.clone(), aggregations.to_vec());
        let result = if aggregate::worth_two_connections(&aggregations) {
            let shared = Arc::clone(&self.shared);
            self.read_pair(move |first, second| {
                aggregate::run_parallel(
                    first,
                    second,
                    &shared.generation,
                    &shared.columns,
                    &kind,
                    &query,
                    &aggregations,
                )
            })
            .await?
        } else {
            self.read(move |connection| {
                let transaction = connection.unchecked_transaction().map_err(backend)?;
                let result = aggregate::run(&transaction, &kind, &query, &aggregations)?;
                transaction.commit().map_err(backend)?;
                Ok(result)
            })
            .await?
        };
        lock(&self.shared.aggregations).put(generation, key, &result);
        Ok(result)
    }
}
