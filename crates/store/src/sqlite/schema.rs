//! The SQLite schema, connection settings and the SQL functions the store registers.

use rusqlite::functions::FunctionFlags;
use rusqlite::{Connection, OptionalExtension};

use super::blocks::BlockValues;
use crate::unindexed::Unindexed;

/// Tables and indexes of a new file (blocks.rs adds its own).
///
/// - `documents`: one row per document; `row` orders documents by insertion (the "newest first"
///   tie-break), `deleted` marks soft-deleted rows.
/// - `field_values`: one row per distinct scalar of a live document, keyed by interned kind and
///   dotted path (and nothing else: a second index would double the cost of every insert; rows
///   are removed by recomputing them from the stored body). Numbers are stored as numbers,
///   strings as text, booleans as 0/1, so SQLite's own ordering (numbers before text) gives ranges and sorts. Long strings have a marker (an
///   empty blob, after all text) instead of their value (values.rs). Soft-deleted documents have no
///   rows here, so queries need not look at `deleted` to filter values. With posting blocks on
///   (the default), this table is renamed `field_rows` and `field_values` becomes
///   a view over it and `field_blocks`, which holds the frequent values many documents to a
///   row (blocks.rs).
/// - `text_queue`, `meta`: the rows whose text recent groups changed; and the file's format
///   ([`FORMAT_VERSION`]), its fixed settings (`long_text_bytes`, `block_values`), the last
///   group's number and the unindexed fields last declared per kind (`unindexed:<kind>`). The
///   full-text index itself is in its own file (text.rs).
const SCHEMA: &str = "
CREATE TABLE kinds (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE paths (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE documents (
    row INTEGER PRIMARY KEY,
    kind INTEGER NOT NULL,
    id TEXT NOT NULL,
    parent TEXT,
    seq_no INTEGER NOT NULL,
    primary_term INTEGER NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0,
    body BLOB NOT NULL
);
CREATE UNIQUE INDEX documents_by_id ON documents (kind, id);
CREATE INDEX documents_live ON documents (kind, deleted);
CREATE INDEX documents_by_parent ON documents (kind, parent) WHERE parent IS NOT NULL;
CREATE TABLE field_values (
    kind INTEGER NOT NULL,
    path INTEGER NOT NULL,
    value NOT NULL,
    doc INTEGER NOT NULL,
    PRIMARY KEY (kind, path, value, doc)
) WITHOUT ROWID;
CREATE TABLE text_queue (
    seq INTEGER PRIMARY KEY,
    grp INTEGER NOT NULL,
    row INTEGER NOT NULL
);
CREATE TABLE meta (key TEXT PRIMARY KEY, value NOT NULL) WITHOUT ROWID;
";

/// The layout of the store's file that this code reads and writes, recorded in `meta` when a
/// file is created. An existing file of another format is refused with an error naming both;
/// when the layout changes, this number goes up and [`open_layout`] migrates older files.
pub(super) const FORMAT_VERSION: i64 = 1;

/// The fixed settings of an opened file.
#[derive(Debug, Clone, Copy)]
pub(super) struct Layout {
    /// Strings longer than this many bytes are indexed by the field's marker (values.rs).
    pub(super) long_text_bytes: usize,
    /// Which values are kept in posting blocks (blocks.rs).
    pub(super) blocks: BlockValues,
}

/// Creates the schema of a new file with `requested` settings, or checks an existing file's
/// format; answers the file's settings (an existing file keeps the ones it was created with).
pub(super) fn open_layout(connection: &Connection, requested: Layout) -> crate::Result<Layout> {
    let backend = |error: rusqlite::Error| crate::StoreError::Backend(error.into());
    let exists: bool = connection
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'meta')",
            [],
            |row| row.get(0),
        )
        .map_err(backend)?;
    if !exists {
        create(connection, requested).map_err(backend)?;
    }
    let version: Option<i64> = connection
        .query_row(
            "SELECT value FROM meta WHERE key = 'format_version'",
            [],
            |row| row.get(0),
        )
        .optional()
        .map_err(backend)?;
    match version {
        Some(FORMAT_VERSION) => {}
        Some(newer) if newer > FORMAT_VERSION => {
            return Err(crate::StoreError::Unavailable(anyhow::anyhow!(
                "the store file has format {newer}, written by a newer Skep; this one reads \
                 format {FORMAT_VERSION}"
            )));
        }
        other => {
            return Err(crate::StoreError::Unavailable(anyhow::anyhow!(
                "the store file has no format Skep reads (found {}, expected {FORMAT_VERSION}): \
                 it was written by a development build; move it away to start afresh",
                other.map_or_else(|| "none".to_owned(), |version| version.to_string())
            )));
        }
    }
    Ok(Layout {
        long_text_bytes: long_text_bytes(connection).map_err(backend)?,
        blocks: super::blocks::recorded(connection).map_err(backend)?,
    })
}

/// Creates a new file's tables and records its format and settings, in one transaction.
fn create(connection: &Connection, layout: Layout) -> rusqlite::Result<()> {
    connection.execute_batch("BEGIN IMMEDIATE")?;
    let created = (|| {
        connection.execute_batch(SCHEMA)?;
        connection.execute(
            "INSERT INTO meta (key, value) VALUES ('format_version', ?1), \
             ('long_text_bytes', ?2)",
            rusqlite::params![
                FORMAT_VERSION,
                i64::try_from(layout.long_text_bytes).unwrap_or(i64::MAX)
            ],
        )?;
        super::blocks::set_up(connection, layout.blocks)
    })();
    match created {
        Ok(()) => connection.execute_batch("COMMIT"),
        Err(error) => {
            let _ = connection.execute_batch("ROLLBACK");
            Err(error)
        }
    }
}

/// The file's long-string threshold, as recorded when it was created.
pub(super) fn long_text_bytes(connection: &Connection) -> rusqlite::Result<usize> {
    let bytes: i64 = connection
        .prepare_cached("SELECT value FROM meta WHERE key = 'long_text_bytes'")?
        .query_row([], |row| row.get(0))?;
    Ok(usize::try_from(bytes).unwrap_or(usize::MAX))
}

/// The unindexed fields each kind last declared in this file (see [`record_unindexed`]).
pub(super) fn recorded_unindexed(connection: &Connection) -> rusqlite::Result<Unindexed> {
    let recorded = Unindexed::default();
    let mut select =
        connection.prepare("SELECT key, value FROM meta WHERE key LIKE 'unindexed:%'")?;
    let mut rows = select.query([])?;
    while let Some(row) = rows.next()? {
        let (key, value): (String, String) = (row.get(0)?, row.get(1)?);
        let Some(kind) = key.strip_prefix(UNINDEXED_KEY) else {
            continue;
        };
        match serde_json::from_str::<Vec<String>>(&value) {
            Ok(fields) => {
                recorded.set(kind, &fields.iter().map(String::as_str).collect::<Vec<_>>())
            }
            Err(error) => tracing::warn!(%error, kind, "unreadable unindexed fields in meta"),
        }
    }
    Ok(recorded)
}

/// Records the unindexed fields `kind` declares, so that text indexed again when the file
/// next opens (before the declarations are made again) leaves them out as the writes did.
pub(super) fn record_unindexed(
    connection: &Connection,
    kind: &str,
    fields: &[String],
) -> rusqlite::Result<()> {
    let key = format!("{UNINDEXED_KEY}{kind}");
    if fields.is_empty() {
        connection.execute("DELETE FROM meta WHERE key = ?1", [key])?;
    } else {
        let value = serde_json::to_string(fields)
            .map_err(|error| rusqlite::Error::ToSqlConversionFailure(Box::new(error)))?;
        connection.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            rusqlite::params![key, value],
        )?;
    }
    Ok(())
}

const UNINDEXED_KEY: &str = "unindexed:";

/// Applies the per-connection settings and registers the store's SQL functions.
///
/// Durability: WAL with `synchronous = FULL` syncs the log on every commit, so a write that
/// returned survives a power cut, not only a process crash (`NORMAL` would risk the last
/// commits). The writer connection leaves that sync to its syncer thread (configure_writer).
/// Readers never block the writer and see the last committed state.
pub(super) fn configure(connection: &Connection) -> rusqlite::Result<()> {
    connection.busy_timeout(std::time::Duration::from_secs(10))?;
    connection.pragma_update(None, "journal_mode", "WAL")?;
    connection.pragma_update(None, "synchronous", "FULL")?;
    connection.pragma_update(None, "foreign_keys", "OFF")?;
    connection.pragma_update(None, "temp_store", "MEMORY")?;
    // Memory: each connection keeps its own page cache, and mapped pages count in the
    // process's resident set, so readers keep a small cache and nothing is mapped; the OS
    // page cache still holds the file. The writer keeps the same size: a larger cache made
    // every commit slower (SQLite walks the whole cache when a transaction ends) by more than
    // it saved in reads.
    connection.pragma_update(None, "cache_size", -8_192)?;
    connection.create_scalar_function(
        "skep_words",
        2,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |context| {
            let value = context.get_raw(0);
            let words = context.get_raw(1);
            let value = match value {
                rusqlite::types::ValueRef::Text(text) => String::from_utf8_lossy(text).into_owned(),
                rusqlite::types::ValueRef::Integer(number) => number.to_string(),
                rusqlite::types::ValueRef::Real(number) => number.to_string(),
                _ => return Ok(false),
            };
            let words = match words {
                rusqlite::types::ValueRef::Text(text) => String::from_utf8_lossy(text).into_owned(),
                _ => return Ok(false),
            };
            Ok(crate::words::contains_words(&value, &words))
        },
    )?;
    // skep_member(set, row): whether `row` is in a row set passed as a blob (see rows.rs).
    connection.create_scalar_function(
        "skep_member",
        2,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |context| {
            let rusqlite::types::ValueRef::Blob(set) = context.get_raw(0) else {
                return Ok(false);
            };
            let rusqlite::types::ValueRef::Integer(row) = context.get_raw(1) else {
                return Ok(false);
            };
            Ok(super::rows::blob_contains(set, row))
        },
    )?;
    // skep_strings(body, path, long): the long strings a path's marker rows stand for.
    connection.create_scalar_function(
        "skep_strings",
        3,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |context| {
            let body: String = context.get(0)?;
            let path: String = context.get(1)?;
            let long: i64 = context.get(2)?;
            Ok(super::values::long_strings(
                &body,
                &path,
                usize::try_from(long).unwrap_or(0),
            ))
        },
    )?;
    connection.create_aggregate_function(
        "skep_rows",
        1,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        super::rows::Collect,
    )?;
    Ok(())
}

/// Settings of the writer connection only.
///
/// Checkpoints normally run on a background thread; the writer checkpoints itself only when
/// the log has grown past 32,000 pages (readers holding old snapshots can stall the passive
/// background checkpoint). The text file's connection has the same settings (text.rs).
pub(super) fn configure_writer(connection: &Connection) -> rusqlite::Result<()> {
    // Commits do not sync the log: the syncer thread does, before any caller is answered
    // (writer.rs), so a write that returned is as durable as with `FULL`. Checkpoints still
    // sync the log before copying it and the database after.
    connection.pragma_update(None, "synchronous", "NORMAL")?;
    connection.pragma_update(None, "wal_autocheckpoint", 32_000)?;
    // Every statement the writer runs stays prepared (rusqlite keeps 16 by default, fewer than
    // the writer's statements with the posting blocks' per-type variants, blocks.rs).
    connection.set_prepared_statement_cache_capacity(128);
    Ok(())
}
