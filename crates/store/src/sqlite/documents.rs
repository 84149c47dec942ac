//! Document rows: ids, inserts, reads, and the selections that search, count and aggregations
//! share.

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Map, Value};

use super::backend;
use super::blocks;
use super::evaluate;
use super::rows::{self, RowSet};
use super::staging::{self, Staging};
use super::translate::Translator;
use super::values::{self, MARKER_SQL};
use crate::error::DUPLICATE;
use crate::ids::generate_id;
use crate::{Document, Hits, NewDocument, Page, Query, Result, Sort, StoreError, Version};

pub(super) fn to_text(body: &Map<String, Value>) -> Result<String> {
    serde_json::to_string(body).map_err(|error| StoreError::Backend(anyhow::Error::new(error)))
}

pub(super) fn parse_body(text: &str) -> Result<Map<String, Value>> {
    serde_json::from_str(text).map_err(|error| {
        StoreError::Backend(anyhow::Error::new(error).context("stored body is not a JSON object"))
    })
}

pub(super) fn version(seq_no: i64, primary_term: i64) -> Version {
    Version {
        seq_no: u64::try_from(seq_no).unwrap_or(0),
        primary_term: u64::try_from(primary_term).unwrap_or(1),
    }
}

pub(super) fn not_found(kind: &str, id: &str) -> StoreError {
    StoreError::NotFound {
        kind: kind.to_owned(),
        id: id.to_owned(),
    }
}

pub(super) fn conflict(kind: &str, id: &str, reason: &str) -> StoreError {
    StoreError::Conflict {
        kind: kind.to_owned(),
        id: id.to_owned(),
        reason: reason.to_owned(),
    }
}

/// TermBitmaps read for a [`Document`], in [`document_from_row`] order.
const DOCUMENT_COLUMNS: &str = "d.id, d.parent, d.seq_no, d.primary_term, json(d.body)";

pub(super) fn document_from_row(
    row: &rusqlite::Row<'_>,
) -> rusqlite::Result<(String, Option<String>, i64, i64, String)> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
    ))
}

pub(super) fn into_document(
    (id, parent, seq_no, primary_term, body): (String, Option<String>, i64, i64, String),
) -> Result<Document> {
    Ok(Document {
        id,
        parent,
        version: version(seq_no, primary_term),
        body: parse_body(&body)?,
    })
}

/// A new document made ready for the writer by its caller: the body serialised and flattened
/// off the writer thread, which has only the SQL left to do.
pub(super) struct Prepared {
    document: NewDocument,
    text: String,
    flat: values::Flat,
}

impl Prepared {
    /// `skip`: the kind's unindexed fields; `long`: the store's long-string threshold.
    pub(super) fn new(document: NewDocument, skip: &[String], long: usize) -> Result<Prepared> {
        Ok(Prepared {
            text: to_text(&document.body)?,
            flat: values::Flat::of(&document.body, skip, long),
            document,
        })
    }
}

/// Inserts one new document inside a write transaction.
pub(super) fn insert(
    transaction: &Connection,
    staging: &mut Staging,
    kind: &str,
    kind_id: i64,
    prepared: Prepared,
) -> Result<Document> {
    let Prepared {
        document,
        text: body_text,
        flat,
    } = prepared;
    let generated = document.id.is_none();
    let mut id = document.id.unwrap_or_else(generate_id);
    let mut attempts = 0;
    let row = loop {
        let inserted = transaction
            .prepare_cached(
                "INSERT INTO documents (kind, id, parent, seq_no, primary_term, deleted, body) VALUES (?1, ?2, ?3, 0, 1, 0, jsonb(?4))",
            )
            .and_then(|mut statement| statement.execute(params![kind_id, id, document.parent, body_text]));
        match inserted {
            Ok(_) => break transaction.last_insert_rowid(),
            Err(rusqlite::Error::SqliteFailure(error, _))
                if error.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                attempts += 1;
                if !generated || attempts > 3 {
                    return Err(conflict(kind, &id, DUPLICATE));
                }
                id = generate_id();
            }
            Err(error) => return Err(backend(error)),
        }
    };
    staging::add(transaction, staging, kind_id, row, flat).map_err(backend)?;
    Ok(Document {
        id,
        parent: document.parent,
        version: version(0, 1),
        body: document.body,
    })
}

/// The stored state of one document: row, version, parent, deleted flag.
pub(super) struct Stored {
    pub(super) row: i64,
    pub(super) seq_no: i64,
    pub(super) primary_term: i64,
    pub(super) parent: Option<String>,
    pub(super) deleted: bool,
    pub(super) body: String,
}

pub(super) fn stored(connection: &Connection, kind: &str, id: &str) -> Result<Option<Stored>> {
    connection
        .prepare_cached(
            "SELECT row, seq_no, primary_term, parent, deleted, json(body) FROM documents \
             WHERE kind = (SELECT id FROM kinds WHERE name = ?1) AND id = ?2",
        )
        .and_then(|mut statement| {
            statement
                .query_row([kind, id], |row| {
                    Ok(Stored {
                        row: row.get(0)?,
                        seq_no: row.get(1)?,
                        primary_term: row.get(2)?,
                        parent: row.get(3)?,
                        deleted: row.get(4)?,
                        body: row.get(5)?,
                    })
                })
                .optional()
        })
        .map_err(backend)
}

pub(super) fn search_blocking(
    connection: &Connection,
    kind: &str,
    query: &Query,
    page: Page,
    sort: &[Sort],
) -> Result<Hits> {
    let transaction = connection.unchecked_transaction().map_err(backend)?;
    let Some((kind_id, matching)) = evaluate::matching(&transaction, kind, query, None)? else {
        return Ok(Hits {
            total: 0,
            documents: Vec::new(),
        });
    };
    let total = matching.len();
    let rows = page_rows(&transaction, kind_id, &matching, page, sort)?;
    let documents = read_rows(&transaction, rows)?;
    transaction.commit().map_err(backend)?;
    Ok(Hits { total, documents })
}

/// The rows of one page of `matching`, in `sort` order (newest first by default and as the
/// last tie-break).
pub(super) fn page_rows(
    connection: &Connection,
    kind_id: i64,
    matching: &RowSet,
    page: Page,
    sort: &[Sort],
) -> Result<Vec<i64>> {
    let keys: Vec<&Sort> = sort
        .iter()
        .filter(|sort| !matches!(sort.field.as_str(), "_doc" | "_score"))
        .collect();
    let total = matching.len();
    if keys.is_empty() {
        return Ok(window(matching.descending(), page));
    }
    let offset = usize::try_from(page.offset).unwrap_or(usize::MAX);
    if total >= INDEX_ORDER_FROM && keys.iter().all(|key| !key.field.starts_with('_')) {
        let wanted = offset
            .saturating_add(page.limit.map_or(usize::MAX, |limit| {
                usize::try_from(limit).unwrap_or(usize::MAX)
            }))
            .min(usize::try_from(total).unwrap_or(usize::MAX));
        let mut budget = GROUP_BUDGET;
        if let Some(rows) =
            rows_in_index_order(connection, kind_id, &keys, matching, wanted, &mut budget)?
        {
            return Ok(rows.into_iter().skip(offset).collect());
        }
    }
    let order = Translator::new(connection).order_by(sort, "d")?;
    let limit = page
        .limit
        .map_or(-1, |limit| i64::try_from(limit).unwrap_or(i64::MAX));
    let offset = i64::try_from(page.offset).unwrap_or(i64::MAX);
    // A small set is listed inline; a large one is filtered from the kind's rows.
    let (filter, params) = if total <= INLINE_ROWS {
        let list = matching
            .descending()
            .map(|row| row.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        (format!("d.row IN ({list})"), Vec::new())
    } else {
        (
            format!("d.kind = {kind_id} AND d.deleted = 0 AND skep_member(?1, d.row)"),
            vec![rusqlite::types::Value::Blob(matching.to_blob())],
        )
    };
    let sql = format!(
        "SELECT d.row FROM documents d WHERE {filter} ORDER BY {order} \
         LIMIT {limit} OFFSET {offset}"
    );
    let mut statement = connection.prepare(&sql).map_err(backend)?;
    statement
        .query_map(rusqlite::params_from_iter(params.iter()), |row| row.get(0))
        .and_then(Iterator::collect)
        .map_err(backend)
}

/// From this many matches on, a page sorted on body fields walks their value indexes in
/// order instead of reading the sort values of every match from its body.
const INDEX_ORDER_FROM: u64 = 300;

/// Up to this many matches, a page sorted in SQL lists the matching rows in its statement.
const INLINE_ROWS: u64 = 2_000;

/// Most value groups of a leading sort key visited before sorting in SQL instead (a leading
/// key with many values that the matches rarely hold would otherwise cost a lookup each).
const GROUP_BUDGET: usize = 500;

fn window(rows: impl Iterator<Item = i64>, page: Page) -> Vec<i64> {
    let offset = usize::try_from(page.offset).unwrap_or(usize::MAX);
    let limit = page.limit.map_or(usize::MAX, |limit| {
        usize::try_from(limit).unwrap_or(usize::MAX)
    });
    rows.skip(offset).take(limit).collect()
}

/// The first `wanted` rows of `matching` sorted on body fields, read in the order of their
/// value indexes: a document's first value in that order places it (its least value
/// ascending, its greatest descending), documents without a key come after those with it,
/// and ties end newest first.
///
/// The last key walks its index in order, keeping the matches. An earlier key is walked value
/// by value (one index seek each); the matches holding each value are ordered by the keys
/// after it. `None` when more than `budget` value groups were needed.
fn rows_in_index_order(
    connection: &Connection,
    kind: i64,
    keys: &[&Sort],
    matching: &RowSet,
    wanted: usize,
    budget: &mut usize,
) -> Result<Option<Vec<i64>>> {
    let Some((key, rest)) = keys.split_first() else {
        return Ok(Some(matching.descending().take(wanted).collect()));
    };
    if wanted == 0 || matching.is_empty() {
        return Ok(Some(Vec::new()));
    }
    let Some(path) = Translator::new(connection).path_id(&key.field)? else {
        // The field was never written: every match lacks it.
        return rows_in_index_order(connection, kind, rest, matching, wanted, budget);
    };
    if has_long_strings(connection, kind, path)? {
        // Long strings are not in the index by value: the caller sorts by the bodies.
        return Ok(None);
    }
    let direction = if key.descending { "DESC" } else { "ASC" };
    let mut placed = RowSet::new();
    let mut rows = Vec::new();
    let source = blocks::source(connection, kind, path).map_err(backend)?;
    // One ordered scan of the rows; a field with values in blocks walks its values instead.
    if rest.is_empty() && !source.blocks {
        let sql = format!(
            "SELECT doc FROM {} WHERE kind = {kind} AND path = {path} \
             ORDER BY value {direction}, doc DESC",
            source.table
        );
        let mut statement = connection.prepare_cached(&sql).map_err(backend)?;
        let mut results = statement.query([]).map_err(backend)?;
        while rows.len() < wanted {
            let Some(result) = results.next().map_err(backend)? else {
                break;
            };
            let row: i64 = result.get(0).map_err(backend)?;
            if matching.contains(row) && !placed.contains(row) {
                placed.insert(row);
                rows.push(row);
            }
        }
    } else {
        let mut walk =
            blocks::ValueWalk::new(connection, kind, path, key.descending).map_err(backend)?;
        let mut value = walk.next(None).map_err(backend)?;
        while let Some(current) = value {
            if rows.len() >= wanted {
                break;
            }
            if *budget == 0 {
                return Ok(None);
            }
            *budget -= 1;
            let mut group = rows::select(
                connection,
                &format!(
                    "SELECT doc FROM field_values WHERE kind = {kind} AND path = {path} AND value = ?1"
                ),
                std::slice::from_ref(&current),
            )?;
            group.intersect(matching);
            group.subtract(&placed);
            if !group.is_empty() {
                let Some(ordered) = rows_in_index_order(
                    connection,
                    kind,
                    rest,
                    &group,
                    wanted - rows.len(),
                    budget,
                )?
                else {
                    return Ok(None);
                };
                placed.union(&group);
                rows.extend(ordered);
            }
            value = walk.next(Some(&current)).map_err(backend)?;
        }
    }
    if rows.len() < wanted {
        // Every value was read: the remaining matches lack this key.
        let mut missing = matching.clone();
        missing.subtract(&placed);
        let Some(ordered) = rows_in_index_order(
            connection,
            kind,
            rest,
            &missing,
            wanted - rows.len(),
            budget,
        )?
        else {
            return Ok(None);
        };
        rows.extend(ordered);
    }
    Ok(Some(rows))
}

/// Whether a field of a kind holds long strings, indexed by their marker only (values.rs).
pub(super) fn has_long_strings(connection: &Connection, kind: i64, path: i64) -> Result<bool> {
    connection
        .prepare_cached(&format!(
            "SELECT 1 FROM field_values WHERE kind = ?1 AND path = ?2 AND value = {MARKER_SQL} \
             LIMIT 1"
        ))
        .and_then(|mut statement| statement.exists(rusqlite::params![kind, path]))
        .map_err(backend)
}

/// Reads the documents of `rows`, in that order.
pub(super) fn read_rows(connection: &Connection, rows: Vec<i64>) -> Result<Vec<Document>> {
    let mut read = connection
        .prepare_cached(&format!(
            "SELECT {DOCUMENT_COLUMNS} FROM documents d WHERE d.row = ?1"
        ))
        .map_err(backend)?;
    rows.into_iter()
        .map(|row| into_document(read.query_row([row], document_from_row).map_err(backend)?))
        .collect()
}
