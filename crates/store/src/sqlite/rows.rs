//! Sets of document rows as bitmaps: what a query matches, combined with `AND`/`OR`/`NOT` in
//! memory instead of nested SQL subqueries, and handed back to SQLite as a blob for
//! `skep_member(set, row)` when an aggregation or a sort needs to filter an index scan.

use rusqlite::Connection;

use super::backend;
use crate::Result;

/// A set of `documents.row` numbers (positive integers), one bit each.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct RowSet {
    words: Vec<u64>,
    /// Known to hold every live document of its kind, so scans need not filter on it.
    whole: bool,
}

impl RowSet {
    pub(super) fn new() -> RowSet {
        RowSet::default()
    }

    /// Marks the set as every live document of its kind.
    pub(super) fn into_whole(mut self) -> RowSet {
        self.whole = true;
        self
    }

    pub(super) fn is_whole(&self) -> bool {
        self.whole
    }

    pub(super) fn insert(&mut self, row: i64) {
        let Ok(row) = usize::try_from(row) else {
            return;
        };
        let word = row / 64;
        if word >= self.words.len() {
            self.words.resize(word + 1, 0);
        }
        self.words[word] |= 1 << (row % 64);
    }

    pub(super) fn remove(&mut self, row: i64) {
        if let Ok(row) = usize::try_from(row)
            && let Some(word) = self.words.get_mut(row / 64)
        {
            *word &= !(1 << (row % 64));
        }
    }

    /// How many rows this set shares with `other`.
    pub(super) fn intersection_len(&self, other: &RowSet) -> u64 {
        self.words
            .iter()
            .zip(&other.words)
            .map(|(mine, theirs)| u64::from((mine & theirs).count_ones()))
            .sum()
    }

    /// Its size in 64-bit words.
    pub(super) fn words(&self) -> usize {
        self.words.len()
    }

    pub(super) fn contains(&self, row: i64) -> bool {
        usize::try_from(row).is_ok_and(|row| {
            self.words
                .get(row / 64)
                .is_some_and(|word| word & (1 << (row % 64)) != 0)
        })
    }

    pub(super) fn len(&self) -> u64 {
        self.words
            .iter()
            .map(|word| u64::from(word.count_ones()))
            .sum()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.words.iter().all(|word| *word == 0)
    }

    pub(super) fn intersect(&mut self, other: &RowSet) {
        self.whole &= other.whole;
        self.words.truncate(other.words.len());
        for (word, other) in self.words.iter_mut().zip(&other.words) {
            *word &= other;
        }
    }

    pub(super) fn union(&mut self, other: &RowSet) {
        // Every set holds live documents of one kind: adding them all gives them all.
        self.whole |= other.whole;
        if other.words.len() > self.words.len() {
            self.words.resize(other.words.len(), 0);
        }
        for (word, other) in self.words.iter_mut().zip(&other.words) {
            *word |= other;
        }
    }

    pub(super) fn subtract(&mut self, other: &RowSet) {
        self.whole &= other.is_empty();
        for (word, other) in self.words.iter_mut().zip(&other.words) {
            *word &= !other;
        }
    }

    /// The rows, highest (newest) first.
    pub(super) fn descending(&self) -> impl Iterator<Item = i64> + '_ {
        self.words
            .iter()
            .enumerate()
            .rev()
            .flat_map(|(index, word)| {
                let mut bits = *word;
                std::iter::from_fn(move || {
                    if bits == 0 {
                        return None;
                    }
                    let high = 63 - bits.leading_zeros();
                    bits &= !(1 << high);
                    i64::try_from(index * 64 + high as usize).ok()
                })
            })
    }

    /// The set as the blob `skep_member` reads: bit `row % 8` of byte `row / 8`.
    pub(super) fn to_blob(&self) -> Vec<u8> {
        self.words
            .iter()
            .flat_map(|word| word.to_le_bytes())
            .collect()
    }
}

impl FromIterator<i64> for RowSet {
    fn from_iter<T: IntoIterator<Item = i64>>(rows: T) -> RowSet {
        let mut set = RowSet::new();
        for row in rows {
            set.insert(row);
        }
        set
    }
}

impl RowSet {
    /// The set encoded by [`RowSet::to_blob`].
    pub(super) fn from_blob(blob: &[u8]) -> RowSet {
        let words = blob
            .chunks(8)
            .map(|chunk| {
                let mut bytes = [0u8; 8];
                bytes[..chunk.len()].copy_from_slice(chunk);
                u64::from_le_bytes(bytes)
            })
            .collect();
        RowSet {
            words,
            whole: false,
        }
    }
}

/// `skep_rows(row)`: the SQL aggregate collecting rows into a [`RowSet`] blob, so a query
/// returns one value instead of stepping once per matching row.
pub(super) struct Collect;

impl rusqlite::functions::Aggregate<RowSet, Vec<u8>> for Collect {
    fn init(&self, _: &mut rusqlite::functions::Context<'_>) -> rusqlite::Result<RowSet> {
        Ok(RowSet::new())
    }

    fn step(
        &self,
        context: &mut rusqlite::functions::Context<'_>,
        set: &mut RowSet,
    ) -> rusqlite::Result<()> {
        match context.get_raw(0) {
            rusqlite::types::ValueRef::Integer(row) => set.insert(row),
            // A posting block's documents (blocks.rs).
            rusqlite::types::ValueRef::Blob(block) => {
                super::blocks::visit(block, |row| set.insert(row))
            }
            _ => {}
        }
        Ok(())
    }

    fn finalize(
        &self,
        _: &mut rusqlite::functions::Context<'_>,
        set: Option<RowSet>,
    ) -> rusqlite::Result<Vec<u8>> {
        Ok(set.map(|set| set.to_blob()).unwrap_or_default())
    }
}

/// True when `row` is in the set encoded by [`RowSet::to_blob`].
pub(super) fn blob_contains(blob: &[u8], row: i64) -> bool {
    usize::try_from(row).is_ok_and(|row| {
        blob.get(row / 8)
            .is_some_and(|byte| byte & (1 << (row % 8)) != 0)
    })
}

/// Runs `sql` (`SELECT <row> FROM …`) and collects the rows it lists.
pub(super) fn select(
    connection: &Connection,
    sql: &str,
    params: &[rusqlite::types::Value],
) -> Result<RowSet> {
    // A leaf over the index view: rows and posting blocks are collected separately, each by
    // an index search, and the blocks decoded here rather than expanded by SQLite.
    if let Some(filter) = sql.strip_prefix("SELECT doc FROM field_values WHERE ")
        && !filter.contains("doc")
        && !filter.contains("SELECT")
        && super::blocks::enabled(connection).map_err(backend)?
    {
        let mut set = collect(
            connection,
            &format!("SELECT skep_rows(doc) FROM field_rows WHERE {filter}"),
            params,
        )?;
        set.union(&collect(
            connection,
            &format!("SELECT skep_rows(docs) FROM field_blocks WHERE {filter}"),
            params,
        )?);
        return Ok(set);
    }
    // Collected inside SQLite by the skep_rows aggregate: one result instead of one per row.
    let collected = ["doc", "d.row", "rowid", "row"].iter().find_map(|column| {
        sql.strip_prefix(&format!("SELECT {column} FROM "))
            .map(|rest| format!("SELECT skep_rows({column}) FROM {rest}"))
    });
    let Some(collected) = collected else {
        return Err(crate::StoreError::Backend(anyhow::anyhow!(
            "cannot collect the rows of {sql}"
        )));
    };
    collect(connection, &collected, params)
}

/// Runs a `SELECT skep_rows(...)` statement.
fn collect(
    connection: &Connection,
    collected: &str,
    params: &[rusqlite::types::Value],
) -> Result<RowSet> {
    let blob: Vec<u8> = connection
        .prepare_cached(collected)
        .and_then(|mut statement| {
            statement.query_row(rusqlite::params_from_iter(params.iter()), |row| row.get(0))
        })
        .map_err(backend)?;
    Ok(RowSet::from_blob(&blob))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_operations_match_their_definitions() {
        let a: RowSet = [1, 5, 64, 65, 200].into_iter().collect();
        let b: RowSet = [5, 65, 300].into_iter().collect();

        let mut and = a.clone();
        and.intersect(&b);
        let mut or = a.clone();
        or.union(&b);
        let mut minus = a.clone();
        minus.subtract(&b);

        assert_eq!(and.descending().collect::<Vec<_>>(), vec![65, 5]);
        assert_eq!(
            or.descending().collect::<Vec<_>>(),
            vec![300, 200, 65, 64, 5, 1]
        );
        assert_eq!(minus.descending().collect::<Vec<_>>(), vec![200, 64, 1]);
        assert_eq!((a.len(), and.len(), or.len()), (5, 2, 6));
        assert!(a.contains(64) && !a.contains(63) && !a.contains(-1) && !a.contains(10_000));
        let blob = a.to_blob();
        assert!(blob_contains(&blob, 200) && !blob_contains(&blob, 201));
        assert!(!blob_contains(&blob, 1 << 40));
        assert!(RowSet::new().is_empty() && !a.is_empty());
    }
}
