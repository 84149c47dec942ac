//! Term bitmaps of low-cardinality fields, kept in memory so dashboards count buckets without
//! scanning the index.
//!
//! A `_stats` term aggregation over tens of thousands of documents otherwise reads one
//! `field_values` row per document and value, and tests each against the matching set. For a
//! field with few distinct values (status, severity, tags, TLP) the same counts come from one
//! bitmap per value: the bucket's count is the number of bits it shares with the set.
//!
//! A column is built from the index the first time an aggregation needs it, then kept up to
//! date by the writer thread: it records the index rows it adds and removes for the fields
//! that have a column (or are having one built) and applies them when the group commits,
//! before the generation counter turns even again. A reader uses a column only when its own
//! snapshot is of the generation the columns reflect; otherwise it counts from the index as
//! before. A column built on a snapshot older than the columns is brought up to date from the
//! changes of the last commits, when those are all still known.

use std::collections::{HashMap, HashSet, VecDeque};

use std::sync::Mutex;

use rusqlite::Connection;
use rusqlite::types::Value as SqlValue;

use super::rows;
use super::rows::RowSet;
use super::values::is_marker;
use super::{backend, lock};
use crate::Result;

/// A field of a kind: (kind id, path id).
pub(super) type Key = (i64, i64);

/// The path id standing for "the kind's live documents": a column with the one value `NULL`
/// holding every live document (interned path ids start at 1).
pub(super) const LIVE: i64 = 0;

/// Fields with more distinct values than this get no column.
pub(super) const MAX_VALUES: usize = 256;

/// Memory bound of all columns together, in 64-bit words (16 MiB).
const MAX_WORDS: usize = 2 * 1024 * 1024;

/// Commits whose changes are remembered to bring a newly built column up to date.
const RECENT_COMMITS: usize = 64;

/// Most changes remembered across those commits (about 64 MiB): a few huge batches must not
/// keep hundreds of MiB alive. The latest commit is always kept.
const RECENT_CHANGES: usize = 1_000_000;

/// One index row added or removed by a commit.
#[derive(Debug, Clone)]
pub(super) struct Change {
    pub(super) key: Key,
    pub(super) value: SqlValue,
    pub(super) doc: i64,
    pub(super) added: bool,
}

/// The documents holding each value of one field.
#[derive(Debug, Default)]
pub(super) struct Column {
    values: Vec<(SqlValue, RowSet)>,
}

impl Column {
    /// A column of the given (value, documents) pairs.
    pub(super) fn of(values: Vec<(SqlValue, RowSet)>) -> Column {
        Column { values }
    }

    /// Per value, how many documents of `set` hold it; values held by none are left out.
    pub(super) fn counts(&self, set: &RowSet) -> Vec<(SqlValue, i64)> {
        self.values
            .iter()
            .filter_map(|(value, rows)| {
                let count = if set.is_whole() {
                    rows.len()
                } else {
                    rows.intersection_len(set)
                };
                (count > 0).then(|| (value.clone(), i64::try_from(count).unwrap_or(i64::MAX)))
            })
            .collect()
    }

    fn words(&self) -> usize {
        self.values.iter().map(|(_, rows)| rows.words()).sum()
    }

    /// Applies one change; false when the field now has too many values to keep, or a long
    /// string (its marker row stands for values only the bodies know).
    fn apply(&mut self, change: &Change) -> bool {
        if is_marker(&change.value) {
            return false;
        }
        let position = self
            .values
            .iter()
            .position(|(value, _)| same_value(value, &change.value));
        match (position, change.added) {
            (Some(index), true) => self.values[index].1.insert(change.doc),
            (Some(index), false) => self.values[index].1.remove(change.doc),
            (None, true) => {
                if self.values.len() == MAX_VALUES {
                    return false;
                }
                self.values
                    .push((change.value.clone(), std::iter::once(change.doc).collect()));
            }
            // Removing a row the column never had: nothing to do.
            (None, false) => {}
        }
        true
    }
}

/// Equality of index values as SQLite compares them (1 and 1.0 are the same value).
fn same_value(left: &SqlValue, right: &SqlValue) -> bool {
    super::values::compare_sql(left, right) == std::cmp::Ordering::Equal
        && matches!(
            (left, right),
            (
                SqlValue::Integer(_) | SqlValue::Real(_),
                SqlValue::Integer(_) | SqlValue::Real(_)
            ) | (SqlValue::Text(_), SqlValue::Text(_))
                | (SqlValue::Null, SqlValue::Null)
        )
}

/// What a reader should do about a field without a usable column.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Want {
    /// Build it (the writer now records the field's changes).
    Build,
    /// Count from the index: the field has too many values, or the columns are of another
    /// generation than the reader's snapshot.
    Skip,
}

/// The columns, shared by the writer thread and the readers.
#[derive(Debug, Default)]
pub(super) struct TermBitmaps {
    /// The generation the columns reflect (always even).
    generation: u64,
    /// Each kept column, with the `wanted` version at which its field was registered.
    columns: HashMap<Key, (u64, Column)>,
    /// Fields whose changes the writer records, with the version that registered them.
    wanted: HashMap<Key, u64>,
    /// Advanced whenever a field is registered.
    version: u64,
    /// Fields known to have too many values.
    too_many: HashSet<Key>,
    /// The changes of the last commits: generation before, generation after, the `wanted`
    /// version the writer recorded them under, and the changes.
    recent: VecDeque<(u64, u64, u64, Vec<Change>)>,
}

impl TermBitmaps {
    /// Bucket counts of `key` over `set`, when the column exists and reflects `generation`.
    pub(super) fn counts(
        &self,
        generation: u64,
        key: Key,
        set: &RowSet,
    ) -> Option<Vec<(SqlValue, i64)>> {
        if self.generation != generation {
            return None;
        }
        self.columns.get(&key).map(|(_, column)| column.counts(set))
    }

    /// Whether the column of `key` exists and reflects `generation`.
    pub(super) fn ready(&self, generation: u64, key: Key) -> bool {
        self.generation == generation && self.columns.contains_key(&key)
    }

    /// The documents whose field `key` holds one of `candidates`, when the column exists and
    /// reflects `generation`.
    pub(super) fn rows_equal(
        &self,
        generation: u64,
        key: Key,
        candidates: &[SqlValue],
    ) -> Option<RowSet> {
        if self.generation != generation {
            return None;
        }
        let (_, column) = self.columns.get(&key)?;
        let mut rows = RowSet::new();
        for (value, holders) in &column.values {
            if candidates
                .iter()
                .any(|candidate| same_value(value, candidate))
            {
                rows.union(holders);
            }
        }
        Some(rows)
    }

    /// Whether a reader whose snapshot is of `generation` should build the column of `key`.
    pub(super) fn want(&mut self, generation: u64, key: Key) -> Want {
        if self.too_many.contains(&key)
            || self.columns.contains_key(&key)
            || generation > self.generation
            || self.words() >= MAX_WORDS
        {
            return Want::Skip;
        }
        if !self.wanted.contains_key(&key) {
            self.version += 1;
            self.wanted.insert(key, self.version);
        }
        Want::Build
    }

    /// Records that `key` cannot have a column: it has more than [`MAX_VALUES`] values, or its
    /// column would not fit under [`MAX_WORDS`]. Until a restart it is counted from the index,
    /// rather than built again and refused on every request.
    pub(super) fn too_many(&mut self, key: Key) {
        self.wanted.remove(&key);
        self.columns.remove(&key);
        self.too_many.insert(key);
    }

    /// Keeps a column built on a snapshot of `built_at`, brought up to date when the changes
    /// since are all known; otherwise it is dropped (a later request builds it again).
    pub(super) fn offer(&mut self, built_at: u64, key: Key, mut column: Column) {
        let Some(&registered) = self.wanted.get(&key) else {
            return;
        };
        if self.columns.contains_key(&key) || built_at > self.generation {
            return;
        }
        if built_at < self.generation {
            let Some(first) = self.recent.iter().position(|entry| entry.0 == built_at) else {
                return;
            };
            // Each later commit must have recorded this field's changes.
            if self.recent.range(first..).any(|entry| entry.2 < registered) {
                return;
            }
            for change in self
                .recent
                .range(first..)
                .flat_map(|entry| &entry.3)
                .filter(|change| change.key == key)
            {
                if !column.apply(change) {
                    self.too_many(key);
                    return;
                }
            }
        }
        if self.words() + column.words() > MAX_WORDS {
            self.too_many(key);
            return;
        }
        self.columns.insert(key, (registered, column));
    }

    /// The fields whose changes the writer must record, and their version.
    pub(super) fn wanted(&self) -> (u64, HashSet<Key>) {
        (self.version, self.wanted.keys().copied().collect())
    }

    pub(super) fn version(&self) -> u64 {
        self.version
    }

    /// Applies the changes of the commit that took the store from generation `before` to
    /// `after`, recorded for the fields registered up to `version` (a failed commit changed
    /// nothing and passes no changes).
    pub(super) fn commit(&mut self, before: u64, after: u64, version: u64, changes: Vec<Change>) {
        if self.generation != before {
            // Not expected (every commit passes here); start again rather than trust them.
            self.columns.clear();
            self.recent.clear();
        }
        // TermBitmaps registered after the writer took its list of fields missed this commit.
        self.columns
            .retain(|_, (registered, _)| *registered <= version);
        let mut overflowing = Vec::new();
        let mut emptied = HashSet::new();
        for change in &changes {
            if let Some((_, column)) = self.columns.get_mut(&change.key) {
                if !column.apply(change) {
                    overflowing.push(change.key);
                } else if !change.added {
                    emptied.insert(change.key);
                }
            }
        }
        for key in overflowing {
            self.too_many(key);
        }
        // Values no document holds any more leave the column (and its value count).
        for key in emptied {
            if let Some((_, column)) = self.columns.get_mut(&key) {
                column.values.retain(|(_, rows)| !rows.is_empty());
            }
        }
        // Bitmaps grow with the store's row numbers: keep them all under the memory cap by
        // giving up the largest columns.
        while self.words() > MAX_WORDS {
            let Some(largest) = self
                .columns
                .iter()
                .max_by_key(|(_, (_, column))| column.words())
                .map(|(key, _)| *key)
            else {
                break;
            };
            self.too_many(largest);
        }
        if self.recent.len() == RECENT_COMMITS {
            self.recent.pop_front();
        }
        self.recent.push_back((before, after, version, changes));
        let mut remembered: usize = self.recent.iter().map(|entry| entry.3.len()).sum();
        while remembered > RECENT_CHANGES && self.recent.len() > 1 {
            if let Some(oldest) = self.recent.pop_front() {
                remembered -= oldest.3.len();
            }
        }
        self.generation = after;
    }

    fn words(&self) -> usize {
        self.columns
            .values()
            .map(|(_, column)| column.words())
            .sum()
    }
}

/// Whether field `key` has a column of `generation` (the snapshot `connection` reads),
/// building it from the index the first time and keeping it when it can be kept up to date.
pub(super) fn usable(
    connection: &Connection,
    columns: &Mutex<TermBitmaps>,
    generation: u64,
    key: Key,
) -> Result<bool> {
    {
        let mut columns = lock(columns);
        if columns.ready(generation, key) {
            return Ok(true);
        }
        if columns.want(generation, key) == Want::Skip {
            return Ok(false);
        }
    }
    let (kind, path) = key;
    let built = if path == LIVE {
        let sql = format!("SELECT row FROM documents WHERE kind = {kind} AND deleted = 0");
        vec![(SqlValue::Null, rows::select(connection, &sql, &[])?)]
    } else {
        let Some(values) = distinct_values(connection, key)? else {
            lock(columns).too_many(key);
            return Ok(false);
        };
        let sql = format!(
            "SELECT doc FROM field_values WHERE kind = {kind} AND path = {path} AND value = ?1"
        );
        let mut built = Vec::with_capacity(values.len());
        for value in values {
            let rows = rows::select(connection, &sql, std::slice::from_ref(&value))?;
            built.push((value, rows));
        }
        built
    };
    let mut columns = lock(columns);
    columns.offer(generation, key, Column::of(built));
    Ok(columns.ready(generation, key))
}

/// The distinct values of a field, found by successive index seeks; `None` when there are
/// more than [`MAX_VALUES`].
pub(super) fn distinct_values(connection: &Connection, key: Key) -> Result<Option<Vec<SqlValue>>> {
    let (kind, path) = key;
    let mut values: Vec<SqlValue> = Vec::new();
    let mut walk = super::blocks::ValueWalk::new(connection, kind, path, false).map_err(backend)?;
    let mut current = walk.next(None).map_err(backend)?;
    while let Some(value) = current {
        // Long strings (their marker row) are not listed in the index.
        if values.len() == MAX_VALUES || is_marker(&value) {
            return Ok(None);
        }
        current = walk.next(Some(&value)).map_err(backend)?;
        values.push(value);
    }
    Ok(Some(values))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(value: &str) -> SqlValue {
        SqlValue::Text(value.to_owned())
    }

    fn change(value: &str, doc: i64, added: bool) -> Change {
        Change {
            key: (1, 2),
            value: text(value),
            doc,
            added,
        }
    }

    /// TermBitmaps holding an empty column for field (1, 2) at generation 0, and the list version
    /// the writer records its changes under.
    fn with_empty_column() -> (TermBitmaps, u64) {
        let mut columns = TermBitmaps::default();
        assert_eq!(columns.want(0, (1, 2)), Want::Build);
        columns.offer(0, (1, 2), Column::default());
        let (version, _) = columns.wanted();
        (columns, version)
    }

    fn counts(columns: &TermBitmaps, generation: u64) -> Option<Vec<(SqlValue, i64)>> {
        let all: RowSet = (0..100).collect();
        columns.counts(generation, (1, 2), &all)
    }

    #[test]
    fn a_column_built_before_some_commits_catches_up_with_them() {
        let mut columns = TermBitmaps::default();
        assert_eq!(columns.want(0, (1, 2)), Want::Build);
        let (version, wanted) = columns.wanted();
        assert!(wanted.contains(&(1, 2)));
        columns.commit(
            0,
            2,
            version,
            vec![change("a", 7, true), change("b", 3, false)],
        );

        let built = Column::of(vec![(text("b"), [3].into_iter().collect())]);
        columns.offer(0, (1, 2), built);

        assert_eq!(
            counts(&columns, 0),
            None,
            "an older snapshot counts from the index"
        );
        assert_eq!(counts(&columns, 2), Some(vec![(text("a"), 1)]));
        columns.commit(
            2,
            4,
            version,
            vec![change("a", 8, true), change("c", 9, true)],
        );
        assert_eq!(
            counts(&columns, 4),
            Some(vec![(text("a"), 2), (text("c"), 1)])
        );
    }

    #[test]
    fn changes_not_recorded_for_a_field_keep_its_column_out() {
        let mut columns = TermBitmaps::default();
        columns.commit(0, 2, 0, Vec::new());
        assert_eq!(columns.want(2, (1, 2)), Want::Build);
        // The writer's group started before the field was registered.
        columns.commit(2, 4, 0, vec![change("x", 1, true)]);

        columns.offer(2, (1, 2), Column::default());

        assert_eq!(counts(&columns, 4), None);
        assert_eq!(columns.want(4, (1, 2)), Want::Build, "built again later");
        columns.offer(
            4,
            (1, 2),
            Column::of(vec![(text("x"), [1].into_iter().collect())]),
        );
        assert_eq!(counts(&columns, 4), Some(vec![(text("x"), 1)]));
    }

    #[test]
    fn a_field_growing_past_the_value_limit_loses_its_column() {
        let (mut columns, version) = with_empty_column();
        let many = (0..=MAX_VALUES as i64)
            .map(|doc| change(&format!("v{doc}"), doc, true))
            .collect();

        columns.commit(0, 2, version, many);

        assert_eq!(counts(&columns, 2), None);
        assert_eq!(columns.want(2, (1, 2)), Want::Skip);
        assert!(!columns.wanted().1.contains(&(1, 2)));
    }

    #[test]
    fn a_column_that_would_pass_the_memory_cap_is_refused_once_not_rebuilt() {
        let mut columns = TermBitmaps::default();
        assert_eq!(columns.want(0, (1, 2)), Want::Build);
        // One document row far out makes a bitmap of more than MAX_WORDS words.
        let far = i64::try_from(MAX_WORDS * 64).expect("fits");
        let built = Column::of(vec![(text("x"), [far].into_iter().collect())]);

        columns.offer(0, (1, 2), built);

        assert_eq!(counts(&columns, 0), None);
        assert_eq!(columns.want(0, (1, 2)), Want::Skip, "not built again");
    }

    #[test]
    fn columns_growing_past_the_memory_cap_are_dropped_at_commit() {
        let (mut columns, version) = with_empty_column();
        let far = i64::try_from(MAX_WORDS * 64).expect("fits");

        columns.commit(0, 2, version, vec![change("x", far, true)]);

        assert_eq!(counts(&columns, 2), None);
        assert_eq!(columns.want(2, (1, 2)), Want::Skip);
        assert_eq!(columns.words(), 0);
    }

    #[test]
    fn huge_commits_are_forgotten_so_a_column_built_before_them_is_dropped() {
        let mut columns = TermBitmaps::default();
        assert_eq!(columns.want(0, (1, 2)), Want::Build);
        let (version, _) = columns.wanted();
        let many = |first: i64| {
            (first..first + RECENT_CHANGES as i64 / 2 + 1)
                .map(|doc| change("x", doc, true))
                .collect::<Vec<_>>()
        };
        columns.commit(0, 2, version, many(0));
        columns.commit(2, 4, version, many(1_000_000));

        // Built on generation 0: the first commit's changes were let go, so it cannot catch up.
        columns.offer(0, (1, 2), Column::default());

        assert_eq!(counts(&columns, 4), None);
        assert_eq!(columns.recent.len(), 1);
    }

    #[test]
    fn values_no_document_holds_leave_the_column() {
        let (mut columns, version) = with_empty_column();
        columns.commit(0, 2, version, vec![change("old", 1, true)]);

        columns.commit(
            2,
            4,
            version,
            vec![change("old", 1, false), change("new", 1, true)],
        );

        let column = &columns.columns[&(1, 2)].1;
        assert_eq!(column.values.len(), 1, "{:?}", column.values);
        assert_eq!(counts(&columns, 4), Some(vec![(text("new"), 1)]));
    }

    #[test]
    fn integer_and_real_forms_of_a_number_share_a_bucket() {
        let mut column = Column::default();
        for (value, doc) in [(SqlValue::Integer(2), 1), (SqlValue::Real(2.0), 2)] {
            assert!(column.apply(&Change {
                key: (1, 2),
                value,
                doc,
                added: true
            }));
        }
        let all: RowSet = [1, 2].into_iter().collect();
        assert_eq!(column.counts(&all), vec![(SqlValue::Integer(2), 2)]);
    }
}
