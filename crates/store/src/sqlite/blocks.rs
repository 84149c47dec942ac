//! Posting blocks: the documents holding one frequent value, many to a row.
//!
//! A value shared by many documents (a status, a severity, a tag, the long-string marker) costs
//! one `field_values` row per document, and inserting rows is the writer's largest cost. With
//! blocks, a commit rewrites one row per such value instead: `field_blocks (kind, path, value,
//! first, docs)`, where `docs` lists the documents' rows in ascending order. A value's newest
//! documents are in its tail block (`first` = [`TAIL`]), which new documents are appended to;
//! the full parts of a tail are sealed under their first document. Every sealed document is
//! older than the tail's, and a sealed document is in the block with the greatest `first` not
//! above it (a sealed block's `first` is a lower bound of its documents, kept when its first
//! document leaves).
//!
//! The table is a rowid table with its key as a unique index (see [`BLOCKS_TABLE`]), so where a
//! block is stored is up to the writer: a batch's grown tails go to the end of the table,
//! everything else stays where it is ([`Block`]).
//!
//! `docs` is a JSONB array of integers, so SQLite reads a block with `json_each`: the view
//! `field_values` joins `field_rows` (the values kept as rows) with the expanded blocks, and
//! every query written against rows reads both.
//!
//! Which values go to blocks is a pure function of the value and the file's [`BlockValues`]
//! (kept in `meta`), so a write and the removal of what it wrote always agree. Files from before
//! blocks (or with blocks off) keep every value as a row; after a switch, their old rows are
//! still read through the view and removed with the document.

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OptionalExtension, Statement, params};

/// Documents per block: a tail is sealed in parts of this size; a sealed block that regains
/// documents splits past twice that.
const BLOCK_SIZE: usize = 128;

/// The blocks table (created with a file that has blocks on). A rowid table: its inner pages hold
/// only rowids, where a table keyed by value would hold whole blocks in them, and a tail that
/// gains documents can move to its end ([`Block::GrownTail`]).
const BLOCKS_TABLE: &str = "CREATE TABLE IF NOT EXISTS field_blocks (
    kind INTEGER NOT NULL,
    path INTEGER NOT NULL,
    value NOT NULL,
    first INTEGER NOT NULL,
    docs BLOB NOT NULL,
    PRIMARY KEY (kind, path, value, first)
);";

/// The view every query reads values through: rows, and the documents of each block.
const VIEW: &str = "CREATE VIEW field_values AS
    SELECT kind, path, value, doc FROM field_rows
    UNION ALL
    SELECT b.kind, b.path, b.value, j.value AS doc
    FROM field_blocks b, json_each(b.docs) j;";

/// Which index values a file keeps as posting blocks instead of rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BlockValues {
    /// Every value is a row.
    None,
    /// Values likely shared by many documents: whole numbers below a million (and booleans),
    /// strings up to 12 bytes, and the long-string marker (every long string of a field).
    #[default]
    Frequent,
    /// Every value (a test setting: it runs every query through the blocks).
    Every,
}

impl BlockValues {
    /// Whether `value` is kept in blocks.
    pub(super) fn holds(self, value: &SqlValue) -> bool {
        match self {
            BlockValues::None => false,
            BlockValues::Every => true,
            BlockValues::Frequent => match value {
                SqlValue::Integer(number) => number.unsigned_abs() < 1_000_000,
                SqlValue::Text(text) => text.len() <= 12,
                SqlValue::Blob(_) => true,
                SqlValue::Null | SqlValue::Real(_) => false,
            },
        }
    }

    fn code(self) -> i64 {
        match self {
            BlockValues::None => 0,
            BlockValues::Frequent => 1,
            BlockValues::Every => 2,
        }
    }

    fn from_code(code: i64) -> BlockValues {
        match code {
            1 => BlockValues::Frequent,
            2 => BlockValues::Every,
            _ => BlockValues::None,
        }
    }
}

/// Sets up a new file's blocks: records `setting` and, with blocks on, renames the rows table
/// to `field_rows` and creates `field_blocks` and the `field_values` view over both.
pub(super) fn set_up(connection: &Connection, setting: BlockValues) -> rusqlite::Result<()> {
    connection.execute(
        "INSERT INTO meta (key, value) VALUES ('block_values', ?1)",
        [setting.code()],
    )?;
    if setting != BlockValues::None {
        connection.execute_batch(&format!(
            "ALTER TABLE field_values RENAME TO field_rows;
             {BLOCKS_TABLE}
             {VIEW}"
        ))?;
    }
    Ok(())
}

/// The setting recorded when the file was created: a value written to a block must be looked
/// for there when it is removed, so it never changes.
pub(super) fn recorded(connection: &Connection) -> rusqlite::Result<BlockValues> {
    let code: i64 = connection.query_row(
        "SELECT value FROM meta WHERE key = 'block_values'",
        [],
        |row| row.get(0),
    )?;
    Ok(BlockValues::from_code(code))
}

/// The table that holds value rows: `field_values` itself, or `field_rows` behind the view.
pub(super) fn rows_table(setting: BlockValues) -> &'static str {
    match setting {
        BlockValues::None => "field_values",
        _ => "field_rows",
    }
}

/// `docs` (ascending) as a JSONB array of integers. The array's size always takes four bytes,
/// so the header does not depend on the contents.
pub(super) fn encode(docs: &[i64]) -> Vec<u8> {
    let mut out = vec![0xEB, 0, 0, 0, 0];
    for doc in docs {
        let digits = doc.to_string();
        let length = digits.len();
        if length <= 11 {
            out.push(((length as u8) << 4) | 0x03);
        } else {
            out.push(0xC3);
            out.push(length as u8);
        }
        out.extend_from_slice(digits.as_bytes());
    }
    let size = u32::try_from(out.len() - 5).unwrap_or(u32::MAX);
    out[1..5].copy_from_slice(&size.to_be_bytes());
    out
}

/// The documents of a block written by [`encode`]; anything else reads as empty.
pub(super) fn decode(block: &[u8]) -> Vec<i64> {
    let mut docs = Vec::new();
    visit(block, |doc| docs.push(doc));
    docs
}

/// Calls `found` with each document of a block, in order.
pub(super) fn visit(block: &[u8], mut found: impl FnMut(i64)) {
    let Some((&0xEB, rest)) = block.split_first() else {
        return;
    };
    let Some(mut rest) = rest.get(4..) else {
        return;
    };
    while let Some((&header, tail)) = rest.split_first() {
        let (length, tail) = match header {
            0xC3 => match tail.split_first() {
                Some((&length, tail)) => (usize::from(length), tail),
                None => break,
            },
            _ => (usize::from(header >> 4), tail),
        };
        let Some(digits) = tail.get(..length) else {
            break;
        };
        // ASCII digits of a non-negative integer (what encode writes); read by hand, as this
        // runs for every document of every block a query reads.
        let mut doc: i64 = 0;
        let mut valid = !digits.is_empty();
        for digit in digits {
            match digit.checked_sub(b'0').filter(|digit| *digit <= 9) {
                Some(digit) => {
                    doc = doc.wrapping_mul(10).wrapping_add(i64::from(digit));
                }
                None => valid = false,
            }
        }
        if valid {
            found(doc);
        }
        rest = &tail[length..];
    }
}

/// The key of a value's tail block, the one new documents are appended to.
pub(super) const TAIL: i64 = i64::MAX;

/// The SQL of a lookup by exact key (no ordering: with rusqlite's statement cache, SQLite
/// re-prepares a statement that walks an index in order at every use, so the insert path reads
/// only by exact key).
const EXACT: &str = "SELECT docs FROM field_blocks \
     WHERE kind = ?1 AND path = ?2 AND value = ?3 AND first = ?4";

/// The block stored under `first`, if any.
fn block_at(
    connection: &Connection,
    key: (i64, i64, &SqlValue),
    first: i64,
) -> rusqlite::Result<Option<Vec<i64>>> {
    let (kind, path, value) = key;
    let docs: Option<Vec<u8>> = connection
        .prepare_cached(EXACT)?
        .query_row(params![kind, path, value, first], |row| row.get(0))
        .optional()?;
    Ok(docs.map(|docs| decode(&docs)))
}

/// The greatest sealed block starting at or below a document.
const SEALED_BELOW: &str = "SELECT first, docs FROM field_blocks \
     WHERE kind = ?1 AND path = ?2 AND value = ?3 AND first <= ?4 ORDER BY first DESC LIMIT 1";

/// A value's first sealed block.
const FIRST_SEALED: &str = "SELECT first, docs FROM field_blocks \
     WHERE kind = ?1 AND path = ?2 AND value = ?3 AND first < ?4 ORDER BY first ASC LIMIT 1";

/// The writer's access to blocks for one group's flush or one document's removal.
///
/// Documents older than a tail (updates, removals) are found with ordered lookups. SQLite
/// (built with STAT4) re-prepares such a statement whenever its bound values change after
/// rusqlite's cache has cleared them, which is at every use from the cache: these two are
/// prepared once here, outside the cache, and kept for every value the flush or removal
/// touches.
pub(super) struct BlockWriter<'c> {
    connection: &'c Connection,
    below: Option<Statement<'c>>,
    first: Option<Statement<'c>>,
}

impl<'c> BlockWriter<'c> {
    pub(super) fn new(connection: &'c Connection) -> BlockWriter<'c> {
        BlockWriter {
            connection,
            below: None,
            first: None,
        }
    }

    /// Adds `docs` (ascending, without repeats) to the blocks of one value.
    ///
    /// The tail holds the newest documents, so new documents (whose rows are greater than
    /// every row stored) cost one read and one write by exact key. Older documents (an update)
    /// go to the tail when they are not below its first document, else to the sealed block
    /// whose range holds them.
    pub(super) fn add(&mut self, key: (i64, i64, &SqlValue), docs: &[i64]) -> rusqlite::Result<()> {
        let connection = self.connection;
        let tail = block_at(connection, key, TAIL)?;
        let tail_start = tail.as_ref().and_then(|tail| tail.first().copied());
        let split = tail_start.map_or(0, |start| docs.partition_point(|doc| *doc < start));
        let (older, newer) = docs.split_at(split);
        for &doc in older {
            match self.sealed_for(key, doc)? {
                Some((first, held)) => store(
                    connection,
                    key,
                    Some(first),
                    &merge(&held, &[doc]),
                    Block::Sealed,
                )?,
                // No sealed block: the tail has no lower bound.
                None => {
                    let held = block_at(connection, key, TAIL)?.unwrap_or_default();
                    store(
                        connection,
                        key,
                        Some(TAIL),
                        &merge(&held, &[doc]),
                        Block::Tail,
                    )?;
                }
            }
        }
        if !newer.is_empty() {
            let held = if older.is_empty() {
                tail.unwrap_or_default()
            } else {
                block_at(connection, key, TAIL)?.unwrap_or_default()
            };
            // One document more (an update, a single insert) is written where the tail is:
            // moving it would also rewrite its key in the index.
            let block = if newer.len() > 1 {
                Block::GrownTail
            } else {
                Block::Tail
            };
            store(connection, key, Some(TAIL), &merge(&held, newer), block)?;
        }
        Ok(())
    }

    /// Removes `doc` from the blocks of one value (nothing when it is not there).
    pub(super) fn remove(&mut self, key: (i64, i64, &SqlValue), doc: i64) -> rusqlite::Result<()> {
        let connection = self.connection;
        if let Some(held) = block_at(connection, key, TAIL)?
            && held.binary_search(&doc).is_ok()
        {
            let kept: Vec<i64> = held.into_iter().filter(|held| *held != doc).collect();
            return store(connection, key, Some(TAIL), &kept, Block::Tail);
        }
        let Some((first, held)) = self.sealed_for(key, doc)? else {
            return Ok(());
        };
        if held.binary_search(&doc).is_err() {
            return Ok(());
        }
        let kept: Vec<i64> = held.into_iter().filter(|held| *held != doc).collect();
        store(connection, key, Some(first), &kept, Block::Sealed)
    }

    /// The sealed block (not the tail) whose range holds `doc`: the greatest `first` not above
    /// it, else the value's first sealed block.
    fn sealed_for(
        &mut self,
        key: (i64, i64, &SqlValue),
        doc: i64,
    ) -> rusqlite::Result<Option<(i64, Vec<i64>)>> {
        let (kind, path, value) = key;
        let read = |statement: &mut Statement<'_>, bound: i64| {
            statement
                .query_row(params![kind, path, value, bound], |row| {
                    Ok((row.get::<_, i64>(0)?, row.get::<_, Vec<u8>>(1)?))
                })
                .optional()
        };
        let below = match &mut self.below {
            Some(statement) => statement,
            none => none.insert(self.connection.prepare(SEALED_BELOW)?),
        };
        let found = match read(below, doc.min(TAIL - 1))? {
            Some(found) => Some(found),
            None => {
                let first = match &mut self.first {
                    Some(statement) => statement,
                    none => none.insert(self.connection.prepare(FIRST_SEALED)?),
                };
                read(first, TAIL)?
            }
        };
        Ok(found.map(|(first, docs)| (first, decode(&docs))))
    }
}

/// Which block [`store`] writes, and where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Block {
    /// A sealed block: updated where it is.
    Sealed,
    /// A tail that lost a document or gained one: updated where it is.
    Tail,
    /// A tail that gained several documents (a batch): written anew at the end of the table,
    /// where the other tails the same batch rewrites go too, so the batch dirties a few pages
    /// instead of one per value (the table is ordered by rowid, not by key).
    GrownTail,
}

/// Writes the block stored under `old` (a sealed block's first, or [`TAIL`]) as `docs`: gone
/// when empty, re-keyed when a document below its key joined it, split into sealed blocks of
/// [`BLOCK_SIZE`] when it grew past it (a sealed block past twice that; a tail keeps its last
/// part).
fn store(
    connection: &Connection,
    key: (i64, i64, &SqlValue),
    old: Option<i64>,
    docs: &[i64],
    block: Block,
) -> rusqlite::Result<()> {
    let tail = block != Block::Sealed;
    let (kind, path, value) = key;
    // A sealed block that regains documents (updates move a document between values) grows
    // where it is up to twice the size: split at once, nearly every update would add a row.
    let size = if tail || docs.len() > 2 * BLOCK_SIZE {
        BLOCK_SIZE
    } else {
        docs.len().max(1)
    };
    let mut parts: Vec<(i64, &[i64])> = docs.chunks(size).map(|part| (part[0], part)).collect();
    if tail && let Some(last) = parts.last_mut() {
        last.0 = TAIL;
    }
    // A sealed block keeps its key while the key still bounds its documents from below (the
    // rule is only that a document is in the block with the greatest first not above it):
    // re-keyed, the block would move to the end of the table and its key in the index.
    if !tail
        && let (Some(old), Some(first)) = (old, parts.first_mut())
        && old <= first.0
    {
        first.0 = old;
    }
    if let Some(old) = old
        && parts.iter().all(|(first, _)| *first != old)
    {
        connection
            .prepare_cached(
                "DELETE FROM field_blocks WHERE kind = ?1 AND path = ?2 AND value = ?3 AND first = ?4",
            )?
            .execute(params![kind, path, value, old])?;
    }
    for (first, part) in parts {
        let docs = encode(part);
        let in_place = Some(first) == old && !(first == TAIL && block == Block::GrownTail);
        if in_place {
            let mut update = connection.prepare_cached(
                "UPDATE field_blocks SET docs = ?5 WHERE kind = ?1 AND path = ?2 AND value = ?3 AND first = ?4",
            )?;
            if update.execute(params![kind, path, value, first, docs])? > 0 {
                continue;
            }
        }
        connection
            .prepare_cached(
                "INSERT OR REPLACE INTO field_blocks (kind, path, value, first, docs) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![kind, path, value, first, docs])?;
    }
    Ok(())
}

/// Whether this file keeps posting blocks (`field_values` is then a view).
pub(super) fn enabled(connection: &Connection) -> rusqlite::Result<bool> {
    connection
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'field_blocks')",
        )?
        .query_row([], |row| row.get(0))
}

/// Where the values of one field are read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Source {
    /// The rows table itself when none of the field's values is in a block (the view costs a
    /// second scan per read), else the view.
    pub(super) table: &'static str,
    /// Whether some of the field's values are in blocks.
    pub(super) blocks: bool,
}

/// Where the values of (`kind`, `path`) are read from.
pub(super) fn source(connection: &Connection, kind: i64, path: i64) -> rusqlite::Result<Source> {
    if !enabled(connection)? {
        return Ok(Source {
            table: "field_values",
            blocks: false,
        });
    }
    let blocks: bool = connection
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM field_blocks WHERE kind = ?1 AND path = ?2)")?
        .query_row(params![kind, path], |row| row.get(0))?;
    Ok(Source {
        table: if blocks { "field_values" } else { "field_rows" },
        blocks,
    })
}

/// A walk through the distinct values of (`kind`, `path`) in SQLite's order (descending when
/// asked), looking at the rows and the blocks separately: each step is an index seek per
/// table, where the view would sort every value.
///
/// Its statements are prepared once per walk and kept out of rusqlite's cache: a cached
/// statement that walks an index in order with a bound parameter is re-prepared at every use.
pub(super) struct ValueWalk<'c> {
    /// Per table: the first value, and the next one after a bound value.
    tables: Vec<(rusqlite::Statement<'c>, rusqlite::Statement<'c>)>,
    kind: i64,
    path: i64,
    wanted: std::cmp::Ordering,
}

impl<'c> ValueWalk<'c> {
    pub(super) fn new(
        connection: &'c Connection,
        kind: i64,
        path: i64,
        descending: bool,
    ) -> rusqlite::Result<ValueWalk<'c>> {
        let (beyond, order, wanted) = if descending {
            ("<", "DESC", std::cmp::Ordering::Greater)
        } else {
            (">", "ASC", std::cmp::Ordering::Less)
        };
        let staging: &[&str] = if enabled(connection)? {
            &["field_rows", "field_blocks"]
        } else {
            &["field_values"]
        };
        let mut tables = Vec::with_capacity(staging.len());
        for table in staging {
            tables.push((
                connection.prepare(&format!(
                    "SELECT value FROM {table} WHERE kind = ?1 AND path = ?2 \
                     ORDER BY value {order} LIMIT 1"
                ))?,
                connection.prepare(&format!(
                    "SELECT value FROM {table} WHERE kind = ?1 AND path = ?2 \
                     AND value {beyond} ?3 ORDER BY value {order} LIMIT 1"
                ))?,
            ));
        }
        Ok(ValueWalk {
            tables,
            kind,
            path,
            wanted,
        })
    }

    /// The first value (`after` is `None`) or the one following `after`.
    pub(super) fn next(&mut self, after: Option<&SqlValue>) -> rusqlite::Result<Option<SqlValue>> {
        let (kind, path) = (self.kind, self.path);
        let mut best: Option<SqlValue> = None;
        for (first, next) in &mut self.tables {
            let found: Option<SqlValue> = match after {
                None => first
                    .query_row(params![kind, path], |row| row.get(0))
                    .optional()?,
                Some(after) => next
                    .query_row(params![kind, path, after], |row| row.get(0))
                    .optional()?,
            };
            if let Some(found) = found
                && best
                    .as_ref()
                    .is_none_or(|best| super::values::compare_sql(&found, best) == self.wanted)
            {
                best = Some(found);
            }
        }
        Ok(best)
    }
}

/// Two ascending lists as one, without repeats.
fn merge(left: &[i64], right: &[i64]) -> Vec<i64> {
    let mut merged = Vec::with_capacity(left.len() + right.len());
    let (mut i, mut j) = (0, 0);
    while i < left.len() || j < right.len() {
        let next = match (left.get(i), right.get(j)) {
            (Some(a), Some(b)) if a <= b => {
                i += 1;
                if a == b {
                    j += 1;
                }
                *a
            }
            (Some(_), Some(b)) | (None, Some(b)) => {
                j += 1;
                *b
            }
            (Some(a), None) => {
                i += 1;
                *a
            }
            (None, None) => break,
        };
        if merged.last() != Some(&next) {
            merged.push(next);
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn blocks_are_jsonb_arrays_sqlite_reads() {
        let connection = Connection::open_in_memory().unwrap();
        let docs = [1, 9, 10, 99_999, 123_456_789_012_345];
        let block = encode(&docs);
        assert_eq!(decode(&block), docs);
        let (valid, length, text): (i64, i64, String) = connection
            .query_row(
                "SELECT json_valid(?1, 8), json_array_length(?1), json(?1)",
                [&block],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
            )
            .unwrap();
        assert_eq!((valid, length), (1, 5));
        assert_eq!(text, "[1,9,10,99999,123456789012345]");
        let expanded: Vec<i64> = connection
            .prepare("SELECT value FROM json_each(?1)")
            .unwrap()
            .query_map([&block], |row| row.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(expanded, docs);
        assert_eq!(decode(&encode(&[])), Vec::<i64>::new());
    }

    #[test]
    fn a_value_walk_merges_rows_and_blocks_in_order_without_re_preparing() {
        let connection = Connection::open_in_memory().unwrap();
        connection
            .execute_batch(&format!(
                "CREATE TABLE field_rows (kind INTEGER NOT NULL, path INTEGER NOT NULL, \
                 value NOT NULL, doc INTEGER NOT NULL, PRIMARY KEY (kind, path, value, doc)) \
                 WITHOUT ROWID;
                 {BLOCKS_TABLE}
                 INSERT INTO field_rows VALUES (1, 2, 5, 1), (1, 2, 'b', 2), (1, 2, 'd', 3), (1, 3, 'a', 4);"
            ))
            .unwrap();
        for value in [
            SqlValue::Text("a".into()),
            SqlValue::Text("c".into()),
            SqlValue::Blob(Vec::new()),
        ] {
            BlockWriter::new(&connection)
                .add((1, 2, &value), &[10])
                .unwrap();
        }
        for descending in [false, true] {
            let mut walk = ValueWalk::new(&connection, 1, 2, descending).unwrap();
            let mut seen = Vec::new();
            let mut current = walk.next(None).unwrap();
            while let Some(value) = current {
                current = walk.next(Some(&value)).unwrap();
                seen.push(value);
            }
            let mut expected = vec![
                SqlValue::Integer(5),
                SqlValue::Text("a".into()),
                SqlValue::Text("b".into()),
                SqlValue::Text("c".into()),
                SqlValue::Text("d".into()),
                SqlValue::Blob(Vec::new()),
            ];
            if descending {
                expected.reverse();
            }
            assert_eq!(seen, expected);
            // Six steps over two tables: a statement re-prepared at each step would count 12.
            let prepared: i32 = walk
                .tables
                .iter()
                .map(|(_, next)| next.get_status(rusqlite::StatementStatus::RePrepare))
                .sum();
            assert!(prepared <= 4, "re-prepared {prepared} times");
        }
    }

    /// A connection holding only the blocks table.
    fn blocks_table() -> Connection {
        let connection = Connection::open_in_memory().unwrap();
        connection.execute_batch(BLOCKS_TABLE).unwrap();
        connection
    }

    /// Every stored block as (rowid, first, documents), by key.
    fn stored(connection: &Connection) -> Vec<(i64, i64, Vec<i64>)> {
        connection
            .prepare("SELECT rowid, first, docs FROM field_blocks ORDER BY first")
            .unwrap()
            .query_map([], |row| {
                Ok((row.get(0)?, row.get(1)?, decode(&row.get::<_, Vec<u8>>(2)?)))
            })
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    #[test]
    fn a_sealed_block_keeps_its_key_and_place_when_its_first_document_leaves() {
        let connection = blocks_table();
        let value = SqlValue::Text("Open".into());
        let key = (1, 2, &value);
        let mut blocks = BlockWriter::new(&connection);
        let even: Vec<i64> = (1..=300).map(|n| n * 2).collect();
        blocks.add(key, &even).unwrap();
        let rows = || stored(&connection);
        let before = rows();
        let keys = |rows: &[(i64, i64, Vec<i64>)]| -> Vec<(i64, i64)> {
            rows.iter()
                .map(|(rowid, first, _)| (*rowid, *first))
                .collect()
        };
        assert_eq!(
            before
                .iter()
                .map(|(_, first, _)| *first)
                .collect::<Vec<_>>(),
            [2, 258, TAIL]
        );

        blocks.remove(key, 258).unwrap();
        let after = rows();
        assert_eq!(
            keys(&after),
            keys(&before),
            "the block kept its key and place"
        );
        assert_eq!(after[1].2, (130..=256).map(|n| n * 2).collect::<Vec<i64>>());

        // Back in, the document finds the same block; an odd one grows a full block in place.
        blocks.add(key, &[258, 3]).unwrap();
        let again = rows();
        assert_eq!(keys(&again), keys(&before));
        assert_eq!(again[0].2.len(), BLOCK_SIZE + 1);
        assert_eq!(again[1].2, before[1].2);
    }

    #[test]
    fn documents_land_in_one_block_each_and_leave_it() {
        let connection = blocks_table();
        let value = SqlValue::Text("Open".into());
        let key = (1, 2, &value);
        let all: Vec<i64> = (1..=2_500).map(|n| n * 2).collect();
        let mut blocks = BlockWriter::new(&connection);
        blocks.add(key, &all[..1_200]).unwrap();
        blocks.add(key, &all[1_200..]).unwrap();
        // An older document comes back (an update), and one below every block.
        blocks.add(key, &[1, 3]).unwrap();
        blocks.remove(key, 2).unwrap();
        blocks.remove(key, 4_000).unwrap();
        blocks.remove(key, 7).unwrap();
        // The ordered lookups were prepared once and kept, not re-prepared at each use.
        let prepared: Vec<i32> = [&blocks.below, &blocks.first]
            .into_iter()
            .map(|statement| {
                let statement = statement.as_ref().expect("the lookup is kept");
                statement.get_status(rusqlite::StatementStatus::RePrepare)
            })
            .collect();
        assert!(prepared.iter().all(|count| *count <= 1), "{prepared:?}");
        drop(blocks);
        let blocks: Vec<(i64, Vec<i64>)> = stored(&connection)
            .into_iter()
            .map(|(_, first, docs)| (first, docs))
            .collect();
        let mut expected: Vec<i64> = all
            .iter()
            .copied()
            .filter(|doc| ![2, 4_000].contains(doc))
            .collect();
        expected.extend([1, 3]);
        expected.sort_unstable();
        let held: Vec<i64> = blocks.iter().flat_map(|(_, docs)| docs.clone()).collect();
        assert_eq!(held, expected);
        let (tail, sealed) = blocks.split_last().unwrap();
        assert_eq!(tail.0, TAIL, "the newest documents are in the tail");
        for (index, (first, docs)) in sealed.iter().enumerate() {
            assert!(
                docs.first().is_some_and(|doc| first <= doc),
                "a sealed block's key bounds its documents from below"
            );
            // Each document is in the block with the greatest key not above it.
            let next = match sealed.get(index + 1) {
                Some((next, _)) => Some(next),
                None => tail.1.first(),
            };
            assert!(docs.last() < next, "block {first} reaches into the next");
            assert!(docs.len() <= 2 * BLOCK_SIZE);
        }
        assert!(blocks.len() >= 3);
    }
}
