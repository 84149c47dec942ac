//! Evaluation of a [`Query`] into the [`RowSet`] of live documents it matches.
//!
//! Leaves on body paths read their rows straight from the `field_values` index (which holds
//! live documents only); other leaves (ids, parents, children, full text) run as one SQL
//! condition over `documents`. `AND`, `OR` and `NOT` combine the sets as bitmaps, which is much
//! cheaper than letting SQLite materialise nested `IN (SELECT …)` subqueries when a condition
//! matches tens of thousands of documents.

use std::sync::Mutex;

use rusqlite::Connection;

use super::bitmaps::{self, TermBitmaps};
use super::lock;
use super::rows::{self, RowSet};
use super::translate::{Scope, Translator, column, equal_candidates, fts_expression};
use crate::{Query, Result};

/// The kind's interned id and the rows matching `query`; `None` when the kind has no
/// documents at all.
pub(super) fn matching(
    connection: &Connection,
    kind: &str,
    query: &Query,
    columns: Option<(&Mutex<TermBitmaps>, u64)>,
) -> Result<Option<(i64, RowSet)>> {
    let Some(id) = Translator::new(connection).kind_id(kind)? else {
        return Ok(None);
    };
    let scope = Scope {
        name: kind,
        id,
        columns,
    };
    Ok(Some((id, evaluate(connection, &scope, query)?)))
}

/// The rows of `scope` matching `query`.
pub(super) fn evaluate(
    connection: &Connection,
    scope: &Scope<'_>,
    query: &Query,
) -> Result<RowSet> {
    match query {
        Query::All => live(connection, scope),
        Query::Type(kind) if kind == scope.name => live(connection, scope),
        Query::Type(_) => Ok(RowSet::new()),
        Query::QueryString { parsed, .. } => evaluate(connection, scope, parsed),
        Query::And(parts) => {
            // Positive parts are intersected; `NOT` parts are subtracted from the result
            // instead of being complemented against every live document. Full-text parts are
            // read from the index of every kind, so they come last, and are kept to this kind
            // once at the end when no other part did it.
            let (negative, positive): (Vec<&Query>, Vec<&Query>) =
                parts.iter().partition(|part| matches!(part, Query::Not(_)));
            let (full_text, scoped): (Vec<&Query>, Vec<&Query>) = positive
                .into_iter()
                .partition(|part| matches!(part, Query::FullText(_)));
            let mut result: Option<RowSet> = None;
            for part in scoped.iter().chain(&full_text) {
                let rows = match part {
                    Query::FullText(text) => full_text_rows(connection, text)?,
                    part => evaluate(connection, scope, part)?,
                };
                match result.as_mut() {
                    None => result = Some(rows),
                    Some(result) => result.intersect(&rows),
                }
                if result.as_ref().is_some_and(RowSet::is_empty) {
                    return Ok(RowSet::new());
                }
            }
            let mut result = match result {
                None => live(connection, scope)?,
                Some(result) if scoped.is_empty() => restrict(connection, scope, &result)?,
                Some(result) => result,
            };
            for part in negative {
                if result.is_empty() {
                    break;
                }
                if let Query::Not(inner) = part {
                    result.subtract(&evaluate(connection, scope, inner)?);
                }
            }
            Ok(result)
        }
        Query::Or(parts) => {
            let mut result = RowSet::new();
            for part in parts {
                result.union(&evaluate(connection, scope, part)?);
            }
            Ok(result)
        }
        Query::Not(inner) => {
            let mut result = live(connection, scope)?;
            result.subtract(&evaluate(connection, scope, inner)?);
            Ok(result)
        }
        leaf => leaf_rows(connection, scope, leaf),
    }
}

/// Every live document of the kind.
fn live(connection: &Connection, scope: &Scope<'_>) -> Result<RowSet> {
    if let Some((columns, generation)) = scope.columns {
        let key = (scope.id, bitmaps::LIVE);
        if bitmaps::usable(connection, columns, generation, key)?
            && let Some(rows) =
                lock(columns).rows_equal(generation, key, &[rusqlite::types::Value::Null])
        {
            return Ok(rows.into_whole());
        }
    }
    let set = rows::select(
        connection,
        &format!(
            "SELECT row FROM documents WHERE kind = {} AND deleted = 0",
            scope.id
        ),
        &[],
    )?;
    Ok(set.into_whole())
}

/// Live documents of every kind matching a full-text query.
fn full_text_rows(connection: &Connection, text: &str) -> Result<RowSet> {
    let Some(expression) = fts_expression(text) else {
        return Ok(RowSet::new());
    };
    rows::select(
        connection,
        "SELECT rowid FROM fts.full_text WHERE full_text MATCH ?1",
        &[rusqlite::types::Value::Text(expression)],
    )
}

/// Up to this many rows, [`restrict`] looks each one up; beyond, it scans the kind.
const LOOKUP_ROWS: u64 = 2_000;

/// The rows of `set` that are live documents of the kind.
fn restrict(connection: &Connection, scope: &Scope<'_>, set: &RowSet) -> Result<RowSet> {
    if set.is_empty() {
        return Ok(RowSet::new());
    }
    if set.len() <= LOOKUP_ROWS {
        // The rows travel as one JSON array, so the statement stays the same (and cached).
        let list = set
            .descending()
            .map(|row| row.to_string())
            .collect::<Vec<_>>()
            .join(",");
        return rows::select(
            connection,
            &format!(
                "SELECT row FROM documents WHERE row IN (SELECT value FROM json_each(?1)) \
                 AND kind = {} AND deleted = 0",
                scope.id
            ),
            &[rusqlite::types::Value::Text(format!("[{list}]"))],
        );
    }
    rows::select(
        connection,
        &format!(
            "SELECT row FROM documents WHERE kind = {} AND deleted = 0 AND skep_member(?1, row)",
            scope.id
        ),
        &[rusqlite::types::Value::Blob(set.to_blob())],
    )
}

fn leaf_rows(connection: &Connection, scope: &Scope<'_>, leaf: &Query) -> Result<RowSet> {
    if let Query::FullText(text) = leaf {
        return restrict(connection, scope, &full_text_rows(connection, text)?);
    }
    if let Some(rows) = column_rows(connection, scope, leaf)? {
        return Ok(rows);
    }
    let mut translator = Translator::new(connection);
    let on_path = match leaf {
        Query::Eq { field, .. }
        | Query::In { field, .. }
        | Query::Range { field, .. }
        | Query::Between { field, .. }
        | Query::Like { field, .. }
        | Query::Wildcard { field, .. }
        | Query::Exists(field) => column(field).is_none(),
        _ => false,
    };
    translator.rows_only = on_path;
    let condition = translator.condition(leaf, scope, "d")?;
    match condition.as_str() {
        "0" => return Ok(RowSet::new()),
        "1" => return live(connection, scope),
        _ => {}
    }
    let sql = if on_path {
        condition
    } else {
        format!(
            "SELECT d.row FROM documents d WHERE d.kind = {} AND d.deleted = 0 AND ({condition})",
            scope.id
        )
    };
    rows::select(connection, &sql, &translator.params)
}

/// An equality leaf on a few-valued field, read from its in-memory column when the scope
/// has columns of the snapshot's generation: the same rows as the index gives, without
/// reading one index row per document.
fn column_rows(connection: &Connection, scope: &Scope<'_>, leaf: &Query) -> Result<Option<RowSet>> {
    let Some((columns, generation)) = scope.columns else {
        return Ok(None);
    };
    let (field, candidates) = match leaf {
        Query::Eq { field, value } => (field, equal_candidates(value)),
        Query::In { field, values } => (field, values.iter().flat_map(equal_candidates).collect()),
        _ => return Ok(None),
    };
    if column(field).is_some() {
        return Ok(None);
    }
    let Some(path) = Translator::new(connection).path_id(field)? else {
        return Ok(None);
    };
    let key = (scope.id, path);
    if !bitmaps::usable(connection, columns, generation, key)? {
        return Ok(None);
    }
    Ok(lock(columns).rows_equal(generation, key, &candidates))
}
