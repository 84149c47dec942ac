//! Flattening a document body into indexed scalar values and full text, and keeping the index
//! rows of a document in step with its body.

use std::collections::{HashMap, HashSet};

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, params};
use serde_json::{Map, Value};

use super::blocks::{self, BlockValues};
use super::columns::{Change, Columns, Key, LIVE};
use super::text::{Link, TextOp};

/// The SQL value a JSON scalar is indexed as: integers (and whole floats) as integers, other
/// numbers as reals, strings as text, booleans as 0/1. `None` for null, arrays and objects.
pub(super) fn sql_scalar(value: &Value) -> Option<SqlValue> {
    match value {
        Value::String(text) => Some(SqlValue::Text(text.clone())),
        Value::Bool(flag) => Some(SqlValue::Integer(i64::from(*flag))),
        Value::Number(number) => Some(sql_number(number)),
        _ => None,
    }
}

pub(super) fn sql_number(number: &serde_json::Number) -> SqlValue {
    if let Some(integer) = number.as_i64() {
        return SqlValue::Integer(integer);
    }
    let real = number.as_f64().unwrap_or(f64::NAN);
    // Whole floats within the exactly-representable range compare and group as integers.
    if real.fract() == 0.0 && real.abs() < 9.0e15 {
        return SqlValue::Integer(real as i64);
    }
    SqlValue::Real(real)
}

/// The value row standing for a string longer than the store's threshold
/// ([`crate::sqlite::SqliteOptions::long_text_bytes`]): an empty blob. No JSON scalar is
/// indexed as a blob, and blobs sort after every number and text, so the markers of a path sit
/// at the end of its rows. Every long string of a field shares that one value, so new documents
/// append their marker rows instead of inserting them at random places of the index.
pub(super) const MARKER_SQL: &str = "X''";

/// The marker value ([`MARKER_SQL`]).
pub(super) fn marker() -> SqlValue {
    SqlValue::Blob(Vec::new())
}

/// Whether an index value is the long-string marker.
pub(super) fn is_marker(value: &SqlValue) -> bool {
    matches!(value, SqlValue::Blob(_))
}

/// The strings longer than `long` bytes at dotted `path` of a JSON body, as a JSON array: what
/// the marker rows of that path stand for. SQL function `skep_strings(body, path, long)`.
pub(super) fn long_strings(body: &str, path: &str, long: usize) -> String {
    let Ok(body) = serde_json::from_str::<Map<String, Value>>(body) else {
        return "[]".to_owned();
    };
    let mut strings = Vec::new();
    strings_at(&body, path, long, &mut strings);
    serde_json::to_string(&strings).unwrap_or_else(|_| "[]".to_owned())
}

/// The strings longer than `long` bytes that [`flatten`] files under `path` in `object`,
/// found by walking down the path instead of flattening the whole body.
fn strings_at<'b>(
    object: &'b Map<String, Value>,
    path: &str,
    long: usize,
    found: &mut Vec<&'b str>,
) {
    // A key may itself hold dots, so every key that is a prefix of the path is a way down.
    for (key, value) in object {
        let Some(rest) = path.strip_prefix(key.as_str()) else {
            continue;
        };
        if rest.is_empty() {
            strings_in(value, long, found, None);
        } else if let Some(rest) = rest.strip_prefix('.') {
            strings_in(value, long, found, Some(rest));
        }
    }
}

/// The long strings of `value` itself (`rest` is `None`) or under `rest` in it, arrays spread.
fn strings_in<'b>(value: &'b Value, long: usize, found: &mut Vec<&'b str>, rest: Option<&str>) {
    match (value, rest) {
        (Value::Array(items), _) => {
            for item in items {
                strings_in(item, long, found, rest);
            }
        }
        (Value::String(text), None) if text.len() > long => found.push(text),
        (Value::Object(object), Some(rest)) => strings_at(object, rest, long, found),
        _ => {}
    }
}

/// Every (dotted path, scalar) of a body, arrays flattened into their parent path, and the
/// text the full-text index gets (strings and numbers); the `skip` fields (and what they hold)
/// are left out.
pub(super) fn flatten(
    body: &Map<String, Value>,
    skip: &[String],
) -> (Vec<(String, SqlValue)>, String) {
    let flat = Flattening::of(body, skip, usize::MAX);
    let values = flat
        .values
        .into_iter()
        .map(|(start, end, value)| (flat.paths[start..end].to_owned(), value))
        .collect();
    (values, flat.text)
}

/// A flattened body. The paths share one string (each value holds its path's range in it):
/// one allocation per body instead of one per value, which the writer thread would free.
struct Flattening<'s> {
    skip: &'s [String],
    /// Strings longer than this get the [`marker`] instead of their value.
    long: usize,
    paths: String,
    values: Vec<(usize, usize, SqlValue)>,
    text: String,
}

impl<'s> Flattening<'s> {
    fn of(body: &Map<String, Value>, skip: &'s [String], long: usize) -> Flattening<'s> {
        let mut flat = Flattening {
            skip,
            long,
            paths: String::new(),
            values: Vec::new(),
            text: String::new(),
        };
        for (key, value) in body {
            flat.value(key, value);
        }
        flat
    }

    fn push(&mut self, path: &str, value: SqlValue) {
        // Items of one array share their path's range.
        let range = match self.values.last() {
            Some(&(start, end, _)) if self.paths[start..end] == *path => (start, end),
            _ => {
                let start = self.paths.len();
                self.paths.push_str(path);
                (start, self.paths.len())
            }
        };
        self.values.push((range.0, range.1, value));
    }

    fn value(&mut self, path: &str, value: &Value) {
        if !self.skip.is_empty() && crate::unindexed::skipped(self.skip, path) {
            return;
        }
        match value {
            Value::Null => {}
            Value::Object(object) => {
                for (key, inner) in object {
                    self.value(&format!("{path}.{key}"), inner);
                }
            }
            Value::Array(items) => {
                for item in items {
                    self.value(path, item);
                }
            }
            Value::String(string) => {
                super::words::push_for_tokenizer(&mut self.text, string);
                self.text.push('\n');
                let value = if string.len() > self.long {
                    marker()
                } else {
                    SqlValue::Text(string.clone())
                };
                self.push(path, value);
            }
            Value::Number(number) => {
                self.text.push_str(&number.to_string());
                self.text.push('\n');
                self.push(path, sql_number(number));
            }
            Value::Bool(flag) => self.push(path, SqlValue::Integer(i64::from(*flag))),
        }
    }
}

/// The writer thread's state: interned kind and path ids, and the index rows staged by the
/// inserts of the current group.
///
/// Staging: inserts do not write their `field_values` rows (nor send their text) one document at a
/// time; the rows of a whole group are sorted and written just before its commit, so each
/// B-tree page is visited once per group instead of once per row. Any write that reads or
/// deletes index rows runs after a [`Names::flush`], so it sees every staged row.
#[derive(Debug, Default)]
pub(super) struct Names {
    /// The store's long-string threshold, in bytes (see [`marker`]).
    pub(super) long: usize,
    /// Which values the file keeps in posting blocks (blocks.rs).
    blocks: BlockValues,
    kinds: HashMap<String, i64>,
    paths: HashMap<String, i64>,
    /// The paths of the last document staged, by position, with their ids: documents of a
    /// batch mostly share one shape, and comparing a path with the one at its position costs
    /// less than hashing it.
    shape: Vec<(String, i64)>,
    values: Vec<(i64, i64, SqlValue, i64)>,
    /// Full-text changes, in order (text.rs).
    text: Vec<TextOp>,
    /// The fields with an in-memory column (columns.rs), as of `wanted_version`, and the
    /// changes of the current group to their index rows.
    wanted: HashSet<Key>,
    wanted_version: u64,
    changes: Vec<Change>,
}

/// How much was staged when a write started, to drop that write's rows if it rolls back.
#[derive(Debug, Clone, Copy)]
pub(super) struct Mark {
    values: usize,
    text: usize,
    changes: usize,
}

impl Names {
    /// The writer's state for a store whose long-string threshold is `long` bytes and whose
    /// file keeps `blocks` values in posting blocks.
    pub(super) fn new(long: usize, blocks: BlockValues) -> Names {
        Names {
            long,
            blocks,
            ..Names::default()
        }
    }

    /// Forgets the interned ids (ids handed out inside a rolled-back savepoint are gone).
    pub(super) fn clear(&mut self) {
        self.kinds.clear();
        self.paths.clear();
        self.shape.clear();
    }

    /// Drops every staged row (the group's transaction was rolled back).
    pub(super) fn discard(&mut self) {
        self.values.clear();
        self.text.clear();
        self.changes.clear();
    }

    pub(super) fn mark(&self) -> Mark {
        Mark {
            values: self.values.len(),
            text: self.text.len(),
            changes: self.changes.len(),
        }
    }

    /// Drops the rows staged since `mark` (their write was rolled back).
    pub(super) fn rewind(&mut self, mark: Mark) {
        self.values.truncate(mark.values);
        self.text.truncate(mark.text);
        self.changes.truncate(mark.changes);
    }

    /// Takes the current list of fields with a column, when it changed.
    pub(super) fn refresh_wanted(&mut self, columns: &Columns) {
        if columns.version() != self.wanted_version {
            (self.wanted_version, self.wanted) = columns.wanted();
        }
    }

    /// Records that document `row` of `kind` became live (`added`) or stopped being live, for
    /// the kind's live-set column (columns.rs).
    fn live(&mut self, kind: i64, row: i64, added: bool) {
        if self.wanted.contains(&(kind, LIVE)) {
            self.changes.push(Change {
                key: (kind, LIVE),
                value: SqlValue::Null,
                doc: row,
                added,
            });
        }
    }

    /// The group's column changes, and the list version they were recorded under.
    pub(super) fn take_changes(&mut self) -> (u64, Vec<Change>) {
        (self.wanted_version, std::mem::take(&mut self.changes))
    }

    pub(super) fn kind(&mut self, connection: &Connection, name: &str) -> rusqlite::Result<i64> {
        intern(&mut self.kinds, connection, "kinds", name)
    }

    pub(super) fn path(&mut self, connection: &Connection, name: &str) -> rusqlite::Result<i64> {
        intern(&mut self.paths, connection, "paths", name)
    }

    /// The id of `name`, the path at `position` in a flattened body (see `shape`).
    fn path_at(
        &mut self,
        connection: &Connection,
        position: usize,
        name: &str,
    ) -> rusqlite::Result<i64> {
        if let Some((known, id)) = self.shape.get(position)
            && known == name
        {
            return Ok(*id);
        }
        let id = self.path(connection, name)?;
        if let Some(entry) = self.shape.get_mut(position) {
            entry.0.clear();
            entry.0.push_str(name);
            entry.1 = id;
        } else if position == self.shape.len() {
            self.shape.push((name.to_owned(), id));
        }
        Ok(id)
    }

    /// Hands the staged text changes to the text thread (text.rs). Called after each write
    /// that succeeded, so the text thread indexes it while this thread goes on with the group.
    pub(super) fn send_text(
        &mut self,
        connection: &Connection,
        text: &mut Link,
    ) -> rusqlite::Result<()> {
        let ops = std::mem::take(&mut self.text);
        if ops.is_empty() {
            return Ok(());
        }
        text.stage(connection, ops)
    }

    /// Writes the staged rows, in index order; the text changes go to the text thread first, so
    /// it indexes them while this thread inserts the value rows.
    pub(super) fn flush(
        &mut self,
        connection: &Connection,
        text: &mut Link,
    ) -> rusqlite::Result<()> {
        self.send_text(connection, text)?;
        text.flush();
        let mut values = std::mem::take(&mut self.values);
        values.sort_unstable_by(|left, right| {
            (left.0, left.1)
                .cmp(&(right.0, right.1))
                .then_with(|| compare_sql(&left.2, &right.2))
                .then(left.3.cmp(&right.3))
        });
        if !self.wanted.is_empty() {
            self.changes.extend(
                values
                    .iter()
                    .filter(|(kind, path, _, _)| self.wanted.contains(&(*kind, *path)))
                    .map(|(kind, path, value, doc)| Change {
                        key: (*kind, *path),
                        value: value.clone(),
                        doc: *doc,
                        added: true,
                    }),
            );
        }
        if self.blocks != BlockValues::None {
            add_to_blocks(connection, self.blocks, &mut values)?;
        }
        let table = blocks::rows_table(self.blocks);
        let mut rest = values.as_slice();
        for size in CHUNKS {
            while rest.len() >= size {
                let (chunk, tail) = rest.split_at(size);
                insert_chunk(connection, table, chunk)?;
                rest = tail;
            }
        }
        // The next group stages into the same allocation.
        values.clear();
        self.values = values;
        Ok(())
    }
}

/// SQLite's order of two indexed scalars: NULL, then numbers (by value), then text (by
/// bytes), then blobs (the long-string marker).
pub(super) fn compare_sql(left: &SqlValue, right: &SqlValue) -> std::cmp::Ordering {
    fn class(value: &SqlValue) -> u8 {
        match value {
            SqlValue::Null => 0,
            SqlValue::Integer(_) | SqlValue::Real(_) => 1,
            SqlValue::Text(_) => 2,
            SqlValue::Blob(_) => 3,
        }
    }
    fn number(value: &SqlValue) -> f64 {
        match value {
            SqlValue::Integer(integer) => *integer as f64,
            SqlValue::Real(real) => *real,
            _ => f64::NAN,
        }
    }
    match (left, right) {
        (SqlValue::Integer(left), SqlValue::Integer(right)) => left.cmp(right),
        (SqlValue::Text(left), SqlValue::Text(right)) => left.as_bytes().cmp(right.as_bytes()),
        (SqlValue::Blob(left), SqlValue::Blob(right)) => left.cmp(right),
        _ => class(left).cmp(&class(right)).then_with(|| {
            if class(left) == 1 {
                number(left).total_cmp(&number(right))
            } else {
                std::cmp::Ordering::Equal
            }
        }),
    }
}

fn intern(
    cache: &mut HashMap<String, i64>,
    connection: &Connection,
    table: &str,
    name: &str,
) -> rusqlite::Result<i64> {
    if let Some(id) = cache.get(name) {
        return Ok(*id);
    }
    connection
        .prepare_cached(&format!("INSERT OR IGNORE INTO {table} (name) VALUES (?1)"))?
        .execute([name])?;
    let id: i64 = connection
        .prepare_cached(&format!("SELECT id FROM {table} WHERE name = ?1"))?
        .query_row([name], |row| row.get(0))?;
    cache.insert(name.to_owned(), id);
    Ok(id)
}

/// Rows written per `INSERT` statement: several rows per statement save most of the per-call
/// overhead, and a few fixed sizes keep the prepared-statement cache small.
const CHUNKS: [usize; 3] = [64, 8, 1];

/// A body flattened for the index: its (dotted path, scalar) values and its full text.
/// Computed by the caller before a write is queued, so the writer thread only interns paths.
#[derive(Debug)]
pub(super) struct Flat {
    /// Every value's path, one after the other.
    paths: String,
    /// Each value with its path's range in `paths`.
    values: Vec<(usize, usize, SqlValue)>,
    text: String,
}

impl Flat {
    /// The index rows of `body`, without those of the `skip` fields; strings longer than
    /// `long` bytes get the [`marker`] (their words are in the full text all the same).
    pub(super) fn of(body: &Map<String, Value>, skip: &[String], long: usize) -> Flat {
        let Flattening {
            paths,
            values,
            text,
            ..
        } = Flattening::of(body, skip, long);
        Flat {
            paths,
            values,
            text,
        }
    }

    /// The (path, value) pairs, in body order.
    fn pairs(&self) -> Vec<(&str, &SqlValue)> {
        self.values
            .iter()
            .map(|(start, end, value)| (&self.paths[*start..*end], value))
            .collect()
    }
}

/// Stages the index rows of a live document (written by the next [`Names::flush`]).
pub(super) fn add(
    connection: &Connection,
    names: &mut Names,
    kind: i64,
    row: i64,
    flat: Flat,
) -> rusqlite::Result<()> {
    names.live(kind, row, true);
    stage(connection, names, kind, row, flat)
}

/// Stages the rows and text of `flat` for document `row`.
fn stage(
    connection: &Connection,
    names: &mut Names,
    kind: i64,
    row: i64,
    flat: Flat,
) -> rusqlite::Result<()> {
    names.values.reserve(flat.values.len());
    for (position, (start, end, value)) in flat.values.into_iter().enumerate() {
        let path = names.path_at(connection, position, &flat.paths[start..end])?;
        names.values.push((kind, path, value, row));
    }
    if !flat.text.is_empty() {
        names.text.push((row, Some(flat.text)));
    }
    Ok(())
}

/// Writes the staged `values` (in index order) that `setting` keeps in blocks, one block
/// update per value, and leaves the others in `values`, in order.
fn add_to_blocks(
    connection: &Connection,
    setting: BlockValues,
    values: &mut Vec<(i64, i64, SqlValue, i64)>,
) -> rusqlite::Result<()> {
    let mut kept = 0;
    let mut block_writer = blocks::BlockWriter::new(connection);
    let mut docs: Vec<i64> = Vec::new();
    let mut current: Option<(i64, i64, SqlValue)> = None;
    for index in 0..values.len() {
        let (kind, path, ref value, doc) = values[index];
        if !setting.holds(value) {
            values.swap(kept, index);
            kept += 1;
            continue;
        }
        let same = matches!(&current, Some((k, p, v)) if *k == kind && *p == path && v == value);
        if !same {
            if let Some((k, p, v)) = current.take() {
                block_writer.add((k, p, &v), &docs)?;
            }
            docs.clear();
            current = Some((
                kind,
                path,
                std::mem::replace(&mut values[index].2, SqlValue::Null),
            ));
        }
        if docs.last() != Some(&doc) {
            docs.push(doc);
        }
    }
    if let Some((k, p, v)) = current {
        block_writer.add((k, p, &v), &docs)?;
    }
    values.truncate(kept);
    Ok(())
}

fn insert_chunk(
    connection: &Connection,
    table: &str,
    chunk: &[(i64, i64, SqlValue, i64)],
) -> rusqlite::Result<()> {
    static SQL: std::sync::OnceLock<[[String; CHUNKS.len()]; 2]> = std::sync::OnceLock::new();
    let texts = SQL.get_or_init(|| {
        ["field_values", "field_rows"].map(|table| CHUNKS.map(|rows| insert_sql(table, rows)))
    });
    let owned;
    let sql = match CHUNKS.iter().position(|size| *size == chunk.len()) {
        Some(index) => &texts[usize::from(table == "field_rows")][index],
        None => {
            owned = insert_sql(table, chunk.len());
            &owned
        }
    };
    let mut statement = connection.prepare_cached(sql)?;
    for (index, (kind, path, value, doc)) in chunk.iter().enumerate() {
        statement.raw_bind_parameter(4 * index + 1, kind)?;
        statement.raw_bind_parameter(4 * index + 2, path)?;
        statement.raw_bind_parameter(4 * index + 3, value)?;
        statement.raw_bind_parameter(4 * index + 4, doc)?;
    }
    statement.raw_execute()?;
    Ok(())
}

/// `INSERT OR IGNORE` of `rows` index rows into `table`.
fn insert_sql(table: &str, rows: usize) -> String {
    let placeholders = (0..rows)
        .map(|index| {
            let first = 4 * index;
            format!(
                "(?{}, ?{}, ?{}, ?{})",
                first + 1,
                first + 2,
                first + 3,
                first + 4
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    format!("INSERT OR IGNORE INTO {table} (kind, path, value, doc) VALUES {placeholders}")
}

/// Removes the index rows of a document, given the body they were written from.
pub(super) fn remove(
    connection: &Connection,
    names: &mut Names,
    kind: i64,
    row: i64,
    body: &Map<String, Value>,
) -> rusqlite::Result<()> {
    names.live(kind, row, false);
    let (values, _) = flatten(body, &[]);
    remove_values(connection, names, kind, row, values, &[])?;
    names.text.push((row, None));
    Ok(())
}

/// Replaces the index rows of a live document written from `old` by those of `flat`. A value
/// both bodies hold at the same path keeps its row or block entry: an update that changes one
/// field rewrites that field's entries only (with posting blocks, every entry removed or added
/// rewrites a block). Long strings are always rewritten: files from before markers may hold
/// their exact rows.
pub(super) fn replace(
    connection: &Connection,
    names: &mut Names,
    kind: i64,
    row: i64,
    old: &Map<String, Value>,
    flat: Flat,
) -> rusqlite::Result<()> {
    let (values, _) = flatten(old, &[]);
    // The (path, value) pairs both bodies hold, sorted for lookups.
    let kept = {
        let mut after: Vec<(&str, &SqlValue)> = flat
            .pairs()
            .into_iter()
            .filter(|(_, value)| !is_marker(value))
            .collect();
        after.sort_by(|left, right| compare_pairs(*left, *right));
        let mut kept: Vec<(String, SqlValue)> = values
            .iter()
            .filter(|(path, value)| {
                !is_long(value, names.long)
                    && after
                        .binary_search_by(|other| compare_pairs(*other, (path, value)))
                        .is_ok()
            })
            .cloned()
            .collect();
        kept.sort_by(|left, right| compare_pairs((&left.0, &left.1), (&right.0, &right.1)));
        kept.dedup_by(|left, right| {
            compare_pairs((&left.0, &left.1), (&right.0, &right.1)).is_eq()
        });
        kept
    };
    remove_values(connection, names, kind, row, values, &kept)?;
    names.text.push((row, None));
    let Flat {
        paths,
        values,
        text,
    } = flat;
    let values = values
        .into_iter()
        .filter(|(start, end, value)| {
            kept.binary_search_by(|(path, kept)| {
                compare_pairs((path, kept), (&paths[*start..*end], value))
            })
            .is_err()
        })
        .collect();
    stage(
        connection,
        names,
        kind,
        row,
        Flat {
            paths,
            values,
            text,
        },
    )
}

/// Whether `value` is a string the index keeps as the [`marker`] (longer than `long` bytes).
fn is_long(value: &SqlValue, long: usize) -> bool {
    matches!(value, SqlValue::Text(text) if text.len() > long)
}

/// Orders (path, value) pairs by path, then value as SQLite orders values.
fn compare_pairs(left: (&str, &SqlValue), right: (&str, &SqlValue)) -> std::cmp::Ordering {
    left.0
        .cmp(right.0)
        .then_with(|| compare_sql(left.1, right.1))
}

/// Deletes the rows and block entries of `values` (a flattened body) but those in `kept`
/// (sorted by [`compare_pairs`]).
fn remove_values(
    connection: &Connection,
    names: &mut Names,
    kind: i64,
    row: i64,
    values: Vec<(String, SqlValue)>,
    kept: &[(String, SqlValue)],
) -> rusqlite::Result<()> {
    debug_assert!(
        names.values.is_empty(),
        "index rows removed while rows are staged"
    );
    // Every path, unindexed ones too: rows written before a field was declared unindexed go
    // as well (deleting a row that is not there costs one lookup).
    let mut delete = connection.prepare_cached(&format!(
        "DELETE FROM {} WHERE kind = ?1 AND path = ?2 AND value = ?3 AND doc = ?4",
        blocks::rows_table(names.blocks)
    ))?;
    let mut block_writer = blocks::BlockWriter::new(connection);
    for (path, value) in values {
        if kept
            .binary_search_by(|(kept_path, kept)| compare_pairs((kept_path, kept), (&path, &value)))
            .is_ok()
        {
            continue;
        }
        let path = names.path(connection, &path)?;
        // A long string's row is its marker; files written before markers existed may hold
        // its exact row instead, so both go.
        let long = is_long(&value, names.long);
        let rows = if long {
            vec![marker(), value]
        } else {
            vec![value]
        };
        for value in rows {
            // Rows written before the file kept this value in blocks go too.
            delete.execute(params![kind, path, value, row])?;
            if names.blocks.holds(&value) {
                block_writer.remove((kind, path, &value), row)?;
            }
            if names.wanted.contains(&(kind, path)) {
                names.changes.push(Change {
                    key: (kind, path),
                    value,
                    doc: row,
                    added: false,
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn bodies_flatten_into_dotted_paths_with_arrays_spread() {
        let body = json!({"a": 1, "b": {"c": "x", "d": [true, {"e": 2.5}]}, "n": null, "w": 3.0});
        let Value::Object(body) = body else {
            panic!("object")
        };

        let (values, text) = flatten(&body, &[]);

        assert_eq!(
            values,
            vec![
                ("a".into(), SqlValue::Integer(1)),
                ("b.c".into(), SqlValue::Text("x".into())),
                ("b.d".into(), SqlValue::Integer(1)),
                ("b.d.e".into(), SqlValue::Real(2.5)),
                ("w".into(), SqlValue::Integer(3)),
            ]
        );
        assert_eq!(text, "1\nx\n2.5\n3.0\n");
    }

    #[test]
    fn long_strings_become_the_marker_and_are_read_back_from_the_body() {
        let body =
            json!({"a": "short", "b": ["x".repeat(10), "y".repeat(3)], "c": {"d": "z".repeat(10)}});
        let Value::Object(body) = body else {
            panic!("object")
        };

        let flat = Flat::of(&body, &[], 5);

        assert_eq!(
            flat.pairs(),
            vec![
                ("a", &SqlValue::Text("short".into())),
                ("b", &marker()),
                ("b", &SqlValue::Text("yyy".into())),
                ("c.d", &marker()),
            ]
        );
        assert_eq!(flat.paths, "abc.d", "an array's items share their path");
        let text = serde_json::to_string(&body).expect("serialises");
        assert_eq!(
            long_strings(&text, "b", 5),
            format!("[\"{}\"]", "x".repeat(10))
        );
        assert_eq!(
            long_strings(&text, "c.d", 5),
            format!("[\"{}\"]", "z".repeat(10))
        );
        assert_eq!(long_strings(&text, "a", 5), "[]");
        assert_eq!(long_strings("not json", "a", 5), "[]");
        // The same paths flatten gives: arrays of objects, and keys holding dots.
        let nested =
            json!({"x": [{"y": "q".repeat(9)}, {"y": ["r".repeat(9), 7]}], "x.y": "s".repeat(9)});
        let text = serde_json::to_string(&nested).expect("serialises");
        let Value::Object(nested) = nested else {
            panic!("object")
        };
        let flattened: Vec<String> = flatten(&nested, &[])
            .0
            .into_iter()
            .filter_map(|(path, value)| match value {
                SqlValue::Text(text) if path == "x.y" => Some(text),
                _ => None,
            })
            .collect();
        assert_eq!(
            long_strings(&text, "x.y", 5),
            serde_json::to_string(&flattened).expect("json")
        );
        assert_eq!(flattened.len(), 3);
    }

    #[test]
    fn the_marker_sorts_after_numbers_and_text_as_in_sqlite() {
        use std::cmp::Ordering::{Equal, Greater, Less};
        let (number, real, text) = (
            SqlValue::Integer(2),
            SqlValue::Real(1.5),
            SqlValue::Text("a".into()),
        );
        assert_eq!(compare_sql(&real, &number), Less);
        assert_eq!(compare_sql(&number, &text), Less);
        assert_eq!(compare_sql(&text, &marker()), Less);
        assert_eq!(compare_sql(&marker(), &number), Greater);
        assert_eq!(compare_sql(&marker(), &marker()), Equal);
        assert_eq!(compare_sql(&SqlValue::Null, &number), Less);
        assert!(is_marker(&marker()) && !is_marker(&text));
    }

    #[test]
    fn paths_are_interned_again_after_a_rolled_back_write() {
        let connection = Connection::open_in_memory().unwrap();
        super::super::schema::create(&connection).unwrap();
        let mut names = Names::new(128, BlockValues::None);
        let body = |value: i64| {
            let Value::Object(body) = json!({"a": 1, "b": {"c": value}}) else {
                panic!("object")
            };
            Flat::of(&body, &[], 128)
        };
        let staged_paths = |names: &Names| -> Vec<String> {
            names
                .values
                .iter()
                .map(|(_, path, _, _)| {
                    connection
                        .query_row("SELECT name FROM paths WHERE id = ?1", [path], |row| {
                            row.get(0)
                        })
                        .unwrap()
                })
                .collect()
        };

        // A write interns the paths, then rolls back: their rows are gone.
        connection.execute_batch("SAVEPOINT w").unwrap();
        let mark = names.mark();
        add(&connection, &mut names, 1, 1, body(1)).unwrap();
        connection
            .execute_batch("ROLLBACK TO w; RELEASE w")
            .unwrap();
        names.rewind(mark);
        names.clear();
        // The next documents of the same shape get ids that exist.
        add(&connection, &mut names, 1, 2, body(2)).unwrap();
        add(&connection, &mut names, 1, 3, body(3)).unwrap();

        assert_eq!(staged_paths(&names), ["a", "b.c", "a", "b.c"]);
    }
}
