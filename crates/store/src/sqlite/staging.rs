//! The writer thread's staging: interned kind and path ids, and the index rows and text
//! changes of the current group, written sorted just before its commit; and the functions
//! that keep a document's index rows in step with its body (add, remove, replace).

use std::collections::{HashMap, HashSet};

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, params};
use serde_json::{Map, Value};

use super::bitmaps::{Change, Key, LIVE, TermBitmaps};
use super::blocks::{self, BlockValues};
use super::text::{TextLink, TextOp};
use super::values::{Flat, compare_sql, flatten, is_marker, marker};

/// The writer thread's state: interned kind and path ids, and the index rows staged by the
/// inserts of the current group.
///
/// Staging: inserts do not write their `field_values` rows (nor send their text) one document at a
/// time; the rows of a whole group are sorted and written just before its commit, so each
/// B-tree page is visited once per group instead of once per row. Any write that reads or
/// deletes index rows runs after a [`Staging::flush`], so it sees every staged row.
#[derive(Debug, Default)]
pub(super) struct Staging {
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
    /// The fields with an in-memory column (bitmaps.rs), as of `wanted_version`, and the
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

impl Staging {
    /// The writer's state for a store whose long-string threshold is `long` bytes and whose
    /// file keeps `blocks` values in posting blocks.
    pub(super) fn new(long: usize, blocks: BlockValues) -> Staging {
        Staging {
            long,
            blocks,
            ..Staging::default()
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
    pub(super) fn refresh_wanted(&mut self, columns: &TermBitmaps) {
        if columns.version() != self.wanted_version {
            (self.wanted_version, self.wanted) = columns.wanted();
        }
    }

    /// Records that document `row` of `kind` became live (`added`) or stopped being live, for
    /// the kind's live-set column (bitmaps.rs).
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
        text: &mut TextLink,
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
        text: &mut TextLink,
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

/// Stages the index rows of a live document (written by the next [`Staging::flush`]).
pub(super) fn add(
    connection: &Connection,
    staging: &mut Staging,
    kind: i64,
    row: i64,
    flat: Flat,
) -> rusqlite::Result<()> {
    staging.live(kind, row, true);
    stage(connection, staging, kind, row, flat)
}

/// Stages the rows and text of `flat` for document `row`.
fn stage(
    connection: &Connection,
    staging: &mut Staging,
    kind: i64,
    row: i64,
    flat: Flat,
) -> rusqlite::Result<()> {
    staging.values.reserve(flat.values.len());
    for (position, (start, end, value)) in flat.values.into_iter().enumerate() {
        let path = staging.path_at(connection, position, &flat.paths[start..end])?;
        staging.values.push((kind, path, value, row));
    }
    if !flat.text.is_empty() {
        staging.text.push((row, Some(flat.text)));
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
    staging: &mut Staging,
    kind: i64,
    row: i64,
    body: &Map<String, Value>,
) -> rusqlite::Result<()> {
    staging.live(kind, row, false);
    let (values, _) = flatten(body, &[]);
    remove_values(connection, staging, kind, row, values, &[])?;
    staging.text.push((row, None));
    Ok(())
}

/// Replaces the index rows of a live document written from `old` by those of `flat`. A value
/// both bodies hold at the same path keeps its row or block entry: an update that changes one
/// field rewrites that field's entries only (with posting blocks, every entry removed or added
/// rewrites a block). Long strings are always rewritten: files from before markers may hold
/// their exact rows.
pub(super) fn replace(
    connection: &Connection,
    staging: &mut Staging,
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
                !is_long(value, staging.long)
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
    remove_values(connection, staging, kind, row, values, &kept)?;
    staging.text.push((row, None));
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
        staging,
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
    staging: &mut Staging,
    kind: i64,
    row: i64,
    values: Vec<(String, SqlValue)>,
    kept: &[(String, SqlValue)],
) -> rusqlite::Result<()> {
    debug_assert!(
        staging.values.is_empty(),
        "index rows removed while rows are staged"
    );
    // Every path, unindexed ones too: rows written before a field was declared unindexed go
    // as well (deleting a row that is not there costs one lookup).
    let mut delete = connection.prepare_cached(&format!(
        "DELETE FROM {} WHERE kind = ?1 AND path = ?2 AND value = ?3 AND doc = ?4",
        blocks::rows_table(staging.blocks)
    ))?;
    let mut block_writer = blocks::BlockWriter::new(connection);
    for (path, value) in values {
        if kept
            .binary_search_by(|(kept_path, kept)| compare_pairs((kept_path, kept), (&path, &value)))
            .is_ok()
        {
            continue;
        }
        let path = staging.path(connection, &path)?;
        // A long string's row is the field's marker (values.rs).
        let value = if is_long(&value, staging.long) {
            marker()
        } else {
            value
        };
        // The file's block setting is fixed when it is created, so a value is in a block
        // exactly when the setting holds it.
        if staging.blocks.holds(&value) {
            block_writer.remove((kind, path, &value), row)?;
        } else {
            delete.execute(params![kind, path, value, row])?;
        }
        if staging.wanted.contains(&(kind, path)) {
            staging.changes.push(Change {
                key: (kind, path),
                value,
                doc: row,
                added: false,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn paths_are_interned_again_after_a_rolled_back_write() {
        let connection = Connection::open_in_memory().unwrap();
        let layout = super::super::schema::Layout {
            long_text_bytes: 128,
            blocks: BlockValues::None,
        };
        super::super::schema::open_layout(&connection, layout).unwrap();
        let mut staging = Staging::new(128, BlockValues::None);
        let body = |value: i64| {
            let Value::Object(body) = json!({"a": 1, "b": {"c": value}}) else {
                panic!("object")
            };
            Flat::of(&body, &[], 128)
        };
        let staged_paths = |staging: &Staging| -> Vec<String> {
            staging
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
        let mark = staging.mark();
        add(&connection, &mut staging, 1, 1, body(1)).unwrap();
        connection
            .execute_batch("ROLLBACK TO w; RELEASE w")
            .unwrap();
        staging.rewind(mark);
        staging.clear();
        // The next documents of the same shape get ids that exist.
        add(&connection, &mut staging, 1, 2, body(2)).unwrap();
        add(&connection, &mut staging, 1, 3, body(3)).unwrap();

        assert_eq!(staged_paths(&staging), ["a", "b.c", "a", "b.c"]);
    }
}
