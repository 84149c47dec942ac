//! `_stats` aggregations over the `field_values` index, in the result shapes of
//! [`crate::aggregation`].
//!
//! The query is evaluated once into a [`RowSet`]; every aggregation, and every bucket's
//! sub-aggregations, work on that set (or a subset of it) rather than on the query again.
//! Index scans keep the set's rows with `skep_member(set, doc)`.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};

use chrono::{DateTime, Datelike, NaiveDate};
use rusqlite::Connection;
use rusqlite::types::Value as SqlValue;
use serde_json::{Map, Value};

use super::bitmaps::{self, TermBitmaps};
use super::blocks;
use super::documents::{has_long_strings, page_rows, read_rows};
use super::evaluate::{self, evaluate};
use super::rows::RowSet;
use super::schema;
use super::translate::{Scope, Translator, long_strings_from, marker_rows};
use super::values::{MARKER_SQL, compare_sql};
use super::{backend, lock};
use crate::aggregation::{Aggregation, Interval, MetricKind, TermsOrder, merge_into, top_hit};
use crate::{Page, Query, Result};

/// Runs `aggregations` over the documents of `kind` matching `query`.
pub(super) fn run(
    connection: &Connection,
    kind: &str,
    query: &Query,
    aggregations: &[Aggregation],
) -> Result<Map<String, Value>> {
    let (kind_id, set) = match evaluate::matching(connection, kind, query, None)? {
        Some((kind_id, set)) => (Some(kind_id), set),
        None => (None, RowSet::new()),
    };
    let context = Context {
        connection,
        kind,
        kind_id,
        columns: None,
    };
    context.run(&set, aggregations)
}

/// Below this many matching documents, aggregations run one after the other: a second thread
/// and connection cost more than they save.
const PARALLEL_ROWS: u64 = 10_000;

/// [`run`] on two connections (two cores), for dashboards over many documents.
///
/// The work is shared out this way: a term aggregation of a field with few distinct values is
/// counted half on each connection (the documents split at the middle row of the matching
/// set, each value's index range read in two halves); other costly aggregations go to one
/// connection or the other, in turn. Buckets, orders and sub-aggregations are then built from
/// the summed counts exactly as [`run`] builds them.
///
/// Both connections must read the same snapshot. `generation` is the writer's commit counter,
/// odd while a commit is being made: when it is even and unchanged from before the first read
/// transaction began until after the second began, no commit happened between the two
/// snapshots. Otherwise everything runs on `first` alone.
pub(super) fn run_parallel(
    first: &mut Connection,
    second: &mut Connection,
    generation: &AtomicU64,
    columns: &Mutex<TermBitmaps>,
    kind: &str,
    query: &Query,
    aggregations: &[Aggregation],
) -> Result<Map<String, Value>> {
    let before = generation.load(AtomicOrdering::Acquire);
    let first = Snapshot::begin(first)?;
    let second = Snapshot::begin(second)?;
    let same = before.is_multiple_of(2) && generation.load(AtomicOrdering::Acquire) == before;
    // The snapshot is of generation `before` only when `same`.
    let columns = same.then_some((columns, before));
    let (kind_id, set) = match evaluate::matching(first.connection(), kind, query, columns)? {
        Some((kind_id, set)) => (Some(kind_id), set),
        None => (None, RowSet::new()),
    };
    let context = Context {
        connection: first.connection(),
        kind,
        kind_id,
        columns,
    };
    let middle = set
        .descending()
        .nth(usize::try_from(set.len() / 2).unwrap_or(0));
    let (true, Some(middle), true) = (same, middle, set.len() >= PARALLEL_ROWS) else {
        drop(second);
        return context.run(&set, aggregations);
    };
    let mut plans = Vec::with_capacity(aggregations.len());
    // Whole costly aggregations go to one connection and the other in turn.
    let mut next_whole_is_theirs = true;
    let mut alternate = move || {
        let theirs = next_whole_is_theirs;
        next_whole_is_theirs = !theirs;
        theirs
    };
    for aggregation in aggregations {
        let plan = match aggregation {
            // Counted from the column's bitmaps: cheaper than a second thread.
            Aggregation::Terms { field, .. } if context.column_usable(field)? => {
                Plan::Whole { theirs: false }
            }
            Aggregation::Terms { field, .. } => match context.few_values(field)? {
                Some(values) => Plan::Split(values),
                None => Plan::Whole {
                    theirs: alternate(),
                },
            },
            cheap_one if cheap(cheap_one) => Plan::Whole { theirs: false },
            _ => Plan::Whole {
                theirs: alternate(),
            },
        };
        plans.push(plan);
    }
    if plans
        .iter()
        .all(|plan| matches!(plan, Plan::Whole { theirs: false }))
    {
        drop(second);
        return context.run(&set, aggregations);
    }
    // Rows below `middle` are counted here, the others on the second connection.
    let (mine, theirs) = std::thread::scope(|scope| {
        let (set, plans) = (&set, &plans);
        let helper = scope.spawn(move || {
            let context = Context {
                connection: second.connection(),
                kind,
                kind_id,
                columns: None,
            };
            context.share(set, aggregations, plans, true, (middle, i64::MAX))
        });
        let mine = context.share(set, aggregations, plans, false, (0, middle));
        (mine, helper.join())
    });
    let theirs = theirs.map_err(|_| {
        crate::StoreError::Backend(anyhow::anyhow!("an aggregation thread panicked"))
    })?;
    let mut result = Map::new();
    for ((plan, aggregation), (mine, theirs)) in plans
        .iter()
        .zip(aggregations)
        .zip(mine.into_iter().zip(theirs))
    {
        let part = match (plan, aggregation, mine?, theirs?) {
            (
                Plan::Split(values),
                Aggregation::Terms {
                    field,
                    size,
                    order,
                    select: sub,
                    name,
                },
                Share::Counts(low),
                Share::Counts(high),
            ) => {
                let mut counts: Vec<(SqlValue, i64)> = values
                    .iter()
                    .cloned()
                    .zip(low.iter().zip(&high).map(|(low, high)| low + high))
                    .filter(|(_, count)| *count > 0)
                    .collect();
                order_counts(&mut counts, order, *size);
                let mut part = Map::new();
                place(
                    &mut part,
                    name.as_deref(),
                    context.buckets(&set, field, counts, sub)?,
                );
                part
            }
            (_, _, Share::Part(part), _) | (_, _, _, Share::Part(part)) => part,
            _ => {
                return Err(crate::StoreError::Backend(anyhow::anyhow!(
                    "an aggregation was not computed"
                )));
            }
        };
        for (key, value) in part {
            merge_into(&mut result, &key, value);
        }
    }
    Ok(result)
}

/// How [`run_parallel`] computes one aggregation.
enum Plan {
    /// Term counts of these values, half on each connection.
    Split(Vec<SqlValue>),
    /// The whole aggregation on the second connection (`theirs`) or the first.
    Whole { theirs: bool },
}

/// One connection's share of one aggregation.
enum Share {
    /// Counts of the [`Plan::Split`] values among its half of the rows.
    Counts(Vec<i64>),
    /// The whole result.
    Part(Map<String, Value>),
    /// Done by the other connection.
    None,
}

/// Whether [`run_parallel`] may help: some aggregation costs more than a count.
pub(super) fn worth_two_connections(aggregations: &[Aggregation]) -> bool {
    aggregations.iter().any(|aggregation| !cheap(aggregation))
}

/// Orders term counts as the SQL of [`Context::terms`] does (the given orders, then the value
/// ascending) and keeps the first `size`.
fn order_counts(counts: &mut Vec<(SqlValue, i64)>, order: &[TermsOrder], size: u64) {
    counts.sort_by(|left, right| {
        order
            .iter()
            .map(|order| match order {
                TermsOrder::Count { descending: true } => right.1.cmp(&left.1),
                TermsOrder::Count { descending: false } => left.1.cmp(&right.1),
                TermsOrder::Term { descending: true } => compare_sql(&right.0, &left.0),
                TermsOrder::Term { descending: false } => compare_sql(&left.0, &right.0),
            })
            .fold(std::cmp::Ordering::Equal, std::cmp::Ordering::then)
            .then_with(|| compare_sql(&left.0, &right.0))
    });
    counts.truncate(usize::try_from(size).unwrap_or(usize::MAX));
}

/// Aggregations that cost next to nothing once the query is evaluated.
fn cheap(aggregation: &Aggregation) -> bool {
    matches!(aggregation, Aggregation::Count { query: None, .. })
}

/// A read transaction on a connection, rolled back when dropped (it only read), so a pooled
/// connection never keeps an old snapshot.
struct Snapshot<'c> {
    connection: &'c mut Connection,
}

impl<'c> Snapshot<'c> {
    /// Begins the transaction and reads once, which fixes its snapshot.
    fn begin(connection: &'c mut Connection) -> Result<Snapshot<'c>> {
        connection.execute_batch("BEGIN").map_err(backend)?;
        let snapshot = Snapshot { connection };
        snapshot
            .connection
            .query_row("SELECT count(*) FROM kinds", [], |_| Ok(()))
            .map_err(backend)?;
        Ok(snapshot)
    }

    fn connection(&self) -> &Connection {
        self.connection
    }
}

impl Drop for Snapshot<'_> {
    fn drop(&mut self) {
        if !self.connection.is_autocommit()
            && let Err(error) = self.connection.execute_batch("ROLLBACK")
        {
            tracing::warn!(%error, "ending a read transaction failed");
        }
    }
}

/// The kind aggregated over; `kind_id` is `None` when it has no documents. `columns` are
/// the in-memory columns and the generation of the connection's snapshot, when known.
struct Context<'c> {
    connection: &'c Connection,
    kind: &'c str,
    kind_id: Option<i64>,
    columns: Option<(&'c Mutex<TermBitmaps>, u64)>,
}

impl Context<'_> {
    fn run(&self, set: &RowSet, aggregations: &[Aggregation]) -> Result<Map<String, Value>> {
        let mut result = Map::new();
        for aggregation in aggregations {
            self.apply(set, aggregation, &mut result)?;
        }
        Ok(result)
    }

    /// The result of one aggregation on its own (merged into the others' by the caller).
    fn part(&self, set: &RowSet, aggregation: &Aggregation) -> Result<Map<String, Value>> {
        let mut part = Map::new();
        self.apply(set, aggregation, &mut part)?;
        Ok(part)
    }

    /// `set` narrowed to the documents also matching `filter`.
    fn narrowed(&self, set: &RowSet, filter: &Query) -> Result<RowSet> {
        let Some(id) = self.kind_id else {
            return Ok(RowSet::new());
        };
        let mut narrowed = evaluate(
            self.connection,
            &Scope {
                name: self.kind,
                id,
                columns: self.columns,
            },
            filter,
        )?;
        narrowed.intersect(set);
        Ok(narrowed)
    }

    fn path_id(&self, field: &str) -> Result<Option<i64>> {
        Translator::new(self.connection).path_id(field)
    }

    fn apply(
        &self,
        set: &RowSet,
        aggregation: &Aggregation,
        result: &mut Map<String, Value>,
    ) -> Result<()> {
        match aggregation {
            Aggregation::Count {
                name,
                query: filter,
            } => {
                let count = match filter {
                    Some(filter) => self.narrowed(set, filter)?.len(),
                    None => set.len(),
                };
                merge_into(
                    result,
                    name.as_deref().unwrap_or("count"),
                    Value::from(count),
                );
            }
            Aggregation::Metric {
                kind: metric,
                field,
                name,
                query: filter,
            } => {
                let value = match filter {
                    Some(filter) => self.metric(&self.narrowed(set, filter)?, *metric, field)?,
                    None => self.metric(set, *metric, field)?,
                };
                let key = name
                    .clone()
                    .unwrap_or_else(|| format!("{}_{field}", metric_prefix(*metric)));
                merge_into(result, &key, value);
            }
            Aggregation::Terms {
                field,
                size,
                order,
                select: sub,
                name,
            } => {
                let buckets = self.terms(set, field, *size, order, sub)?;
                place(result, name.as_deref(), buckets);
            }
            Aggregation::Time {
                fields,
                interval,
                select: sub,
                name,
            } => {
                let mut buckets = Map::new();
                for field in fields {
                    self.time_buckets(set, field, *interval, sub, &mut buckets)?;
                }
                place(result, name.as_deref(), buckets);
            }
            Aggregation::Category {
                categories,
                select: sub,
                name,
            } => {
                let mut buckets = Map::new();
                for (category, filter) in categories {
                    let subset = self.narrowed(set, filter)?;
                    buckets.insert(category.clone(), Value::Object(self.run(&subset, sub)?));
                }
                place(result, name.as_deref(), buckets);
            }
            Aggregation::Top { size, order, name } => {
                let documents = match self.kind_id {
                    Some(kind_id) => {
                        let page = Page {
                            offset: 0,
                            limit: Some(*size),
                        };
                        let rows = page_rows(self.connection, kind_id, set, page, order)?;
                        read_rows(self.connection, rows)?
                    }
                    None => Vec::new(),
                };
                let hits = documents.iter().map(top_hit).collect();
                merge_into(result, name.as_deref().unwrap_or("top"), Value::Array(hits));
            }
        }
        Ok(())
    }

    /// The values of `field` among the documents of `set`: the SQL `FROM … WHERE` (over
    /// `value` and `doc`) and its parameters. `None` when nothing can match. With `long`, the
    /// long strings that marker rows stand for are read from the bodies (values.rs); without,
    /// the caller must filter the markers out (numbers-only callers do).
    fn values_of(
        &self,
        set: &RowSet,
        field: &str,
        long: bool,
    ) -> Result<Option<(String, Vec<SqlValue>)>> {
        let (Some(kind_id), Some(path)) = (self.kind_id, self.path_id(field)?) else {
            return Ok(None);
        };
        if set.is_empty() {
            return Ok(None);
        }
        // The index holds live documents only: a whole set needs no filter.
        let (mut params, member, member_of_f) = if set.is_whole() {
            (Vec::new(), "", "")
        } else {
            (
                vec![SqlValue::Blob(set.to_blob())],
                " AND skep_member(?1, doc)",
                " AND skep_member(?1, b.row)",
            )
        };
        let table = blocks::source(self.connection, kind_id, path)
            .map_err(backend)?
            .table;
        let from = format!("FROM {table} WHERE kind = {kind_id} AND path = {path}{member}");
        if !long || !has_long_strings(self.connection, kind_id, path)? {
            return Ok(Some((from, params)));
        }
        let bytes = schema::long_text_bytes(self.connection).map_err(backend)?;
        params.push(SqlValue::Text(field.to_owned()));
        let name = format!("?{}", params.len());
        params.push(SqlValue::Blob(
            marker_rows(self.connection, kind_id, path)?.to_blob(),
        ));
        let marked = format!("skep_member(?{}, b.row)", params.len());
        let strings = long_strings_from(kind_id, field, &name, bytes, &marked, false);
        // DISTINCT: a document holding a long string twice counts once, as with index rows.
        Ok(Some((
            format!(
                "FROM (SELECT value, doc {from} AND value < {MARKER_SQL} \
                 UNION ALL SELECT DISTINCT s.value AS value, b.row AS doc {strings}\
                 {member_of_f}) WHERE 1"
            ),
            params,
        )))
    }

    fn metric(&self, set: &RowSet, metric: MetricKind, field: &str) -> Result<Value> {
        let Some((from, params)) = self.values_of(set, field, false)? else {
            return Ok(Value::from(0));
        };
        let function = metric_prefix(metric);
        let sql = format!("SELECT {function}(value) {from} AND value < ''");
        let value: SqlValue = self
            .connection
            .prepare_cached(&sql)
            .and_then(|mut statement| {
                statement.query_row(rusqlite::params_from_iter(&params), |row| row.get(0))
            })
            .map_err(backend)?;
        Ok(json_number(value))
    }

    fn terms(
        &self,
        set: &RowSet,
        field: &str,
        size: u64,
        order: &[TermsOrder],
        sub: &[Aggregation],
    ) -> Result<Map<String, Value>> {
        if let Some(mut counts) = self.column_counts(set, field)? {
            order_counts(&mut counts, order, size);
            return self.buckets(set, field, counts, sub);
        }
        let Some((from, params)) = self.values_of(set, field, true)? else {
            return Ok(Map::new());
        };
        let mut order_terms: Vec<&str> = order
            .iter()
            .map(|order| match order {
                TermsOrder::Count { descending: true } => "n DESC",
                TermsOrder::Count { descending: false } => "n ASC",
                TermsOrder::Term { descending: true } => "value DESC",
                TermsOrder::Term { descending: false } => "value ASC",
            })
            .collect();
        order_terms.push("value ASC");
        let sql = format!(
            "SELECT value, count(*) AS n {from} GROUP BY value ORDER BY {} LIMIT {}",
            order_terms.join(", "),
            i64::try_from(size).unwrap_or(i64::MAX)
        );
        let rows: Vec<(SqlValue, i64)> = self
            .connection
            .prepare_cached(&sql)
            .and_then(|mut statement| {
                statement
                    .query_map(rusqlite::params_from_iter(&params), |row| {
                        Ok((row.get(0)?, row.get(1)?))
                    })?
                    .collect()
            })
            .map_err(backend)?;
        self.buckets(set, field, rows, sub)
    }

    /// The buckets of a term aggregation from its ordered (value, count) pairs.
    fn buckets(
        &self,
        set: &RowSet,
        field: &str,
        counts: Vec<(SqlValue, i64)>,
        sub: &[Aggregation],
    ) -> Result<Map<String, Value>> {
        let mut buckets = Map::new();
        for (value, count) in counts {
            let results = if counts_only(sub) {
                count_results(sub, u64::try_from(count).unwrap_or(0))
            } else {
                let subset = self.narrowed(set, &Query::eq(field, bucket_value(&value)))?;
                self.run(&subset, sub)?
            };
            buckets.insert(bucket_key(&value), Value::Object(results));
        }
        Ok(buckets)
    }

    /// This connection's share of [`run_parallel`]'s work: `theirs` tells which connection it
    /// is, `rows` the half-open range of rows it counts for split aggregations.
    fn share(
        &self,
        set: &RowSet,
        aggregations: &[Aggregation],
        plans: &[Plan],
        theirs: bool,
        rows: (i64, i64),
    ) -> Vec<Result<Share>> {
        plans
            .iter()
            .zip(aggregations)
            .map(|(plan, aggregation)| match (plan, aggregation) {
                (Plan::Split(values), Aggregation::Terms { field, .. }) => self
                    .split_counts(set, field, values, rows)
                    .map(Share::Counts),
                (Plan::Whole { theirs: whose }, _) if *whose == theirs => {
                    self.part(set, aggregation).map(Share::Part)
                }
                _ => Ok(Share::None),
            })
            .collect()
    }

    /// Per value of `field`, how many documents of `set` hold it, from the field's in-memory
    /// column; `None` when it has none usable.
    fn column_counts(&self, set: &RowSet, field: &str) -> Result<Option<Vec<(SqlValue, i64)>>> {
        let Some((columns, generation, key)) = self.usable_column(field)? else {
            return Ok(None);
        };
        Ok(lock(columns).counts(generation, key, set))
    }

    /// Whether `field` has a column of this snapshot's generation (see bitmaps::usable).
    fn column_usable(&self, field: &str) -> Result<bool> {
        Ok(self.usable_column(field)?.is_some())
    }

    /// The columns, the snapshot's generation and the field's key, when the field has a
    /// usable column (built now if it may be).
    fn usable_column(
        &self,
        field: &str,
    ) -> Result<Option<(&Mutex<TermBitmaps>, u64, bitmaps::Key)>> {
        let (Some((columns, generation)), Some(kind_id), Some(path)) =
            (self.columns, self.kind_id, self.path_id(field)?)
        else {
            return Ok(None);
        };
        let key = (kind_id, path);
        Ok(bitmaps::usable(self.connection, columns, generation, key)?
            .then_some((columns, generation, key)))
    }

    /// The distinct values of `field` in the kind, found by successive index seeks; `None`
    /// when there are more than [`bitmaps::MAX_VALUES`].
    fn few_values(&self, field: &str) -> Result<Option<Vec<SqlValue>>> {
        let (Some(kind_id), Some(path)) = (self.kind_id, self.path_id(field)?) else {
            return Ok(Some(Vec::new()));
        };
        bitmaps::distinct_values(self.connection, (kind_id, path))
    }

    /// How many documents of `set` within `rows` (half-open) have each of `values` in `field`.
    fn split_counts(
        &self,
        set: &RowSet,
        field: &str,
        values: &[SqlValue],
        rows: (i64, i64),
    ) -> Result<Vec<i64>> {
        let (Some(kind_id), Some(path)) = (self.kind_id, self.path_id(field)?) else {
            return Ok(vec![0; values.len()]);
        };
        let table = blocks::source(self.connection, kind_id, path)
            .map_err(backend)?
            .table;
        let sql = if set.is_whole() {
            format!(
                "SELECT count(*) FROM {table} WHERE kind = ?1 AND path = ?2 AND value = ?3 \
                 AND doc >= ?4 AND doc < ?5"
            )
        } else {
            format!(
                "SELECT count(*) FROM {table} WHERE kind = ?1 AND path = ?2 AND value = ?3 \
                 AND doc >= ?4 AND doc < ?5 AND skep_member(?6, doc)"
            )
        };
        let mut statement = self.connection.prepare_cached(&sql).map_err(backend)?;
        let blob = SqlValue::Blob(if set.is_whole() {
            Vec::new()
        } else {
            set.to_blob()
        });
        values
            .iter()
            .map(|value| {
                let mut parameters: Vec<&dyn rusqlite::ToSql> =
                    vec![&kind_id, &path, value, &rows.0, &rows.1];
                if !set.is_whole() {
                    parameters.push(&blob);
                }
                statement
                    .query_row(parameters.as_slice(), |row| row.get(0))
                    .map_err(backend)
            })
            .collect()
    }

    fn time_buckets(
        &self,
        set: &RowSet,
        field: &str,
        interval: Interval,
        sub: &[Aggregation],
        buckets: &mut Map<String, Value>,
    ) -> Result<()> {
        let Some((from, params)) = self.values_of(set, field, false)? else {
            return Ok(());
        };
        let sql = format!("SELECT value, doc {from} AND value < ''");
        let rows: Vec<(f64, i64)> = self
            .connection
            .prepare_cached(&sql)
            .and_then(|mut statement| {
                statement
                    .query_map(rusqlite::params_from_iter(&params), |row| {
                        Ok((row.get(0)?, row.get(1)?))
                    })?
                    .collect()
            })
            .map_err(backend)?;
        let mut documents_by_start: BTreeMap<i64, RowSet> = BTreeMap::new();
        for (millis, document) in rows {
            if let Some(start) = bucket_start(millis.floor() as i64, interval) {
                documents_by_start
                    .entry(start)
                    .or_default()
                    .insert(document);
            }
        }
        for (start, documents) in documents_by_start {
            let results = if counts_only(sub) {
                count_results(sub, documents.len())
            } else {
                self.run(&documents, sub)?
            };
            let mut per_field = Map::new();
            per_field.insert(field.to_owned(), Value::Object(results));
            merge_into(buckets, &start.to_string(), Value::Object(per_field));
        }
        Ok(())
    }
}

/// Merges buckets into the result, or nests them under a custom name.
fn place(result: &mut Map<String, Value>, name: Option<&str>, buckets: Map<String, Value>) {
    match name {
        Some(name) => merge_into(result, name, Value::Object(buckets)),
        None => {
            for (key, value) in buckets {
                merge_into(result, &key, value);
            }
        }
    }
}

fn metric_prefix(metric: MetricKind) -> &'static str {
    match metric {
        MetricKind::Avg => "avg",
        MetricKind::Min => "min",
        MetricKind::Max => "max",
        MetricKind::Sum => "sum",
    }
}

fn json_number(value: SqlValue) -> Value {
    match value {
        SqlValue::Integer(integer) => Value::from(integer),
        SqlValue::Real(real) => {
            serde_json::Number::from_f64(real).map_or(Value::from(0), Value::Number)
        }
        _ => Value::from(0),
    }
}

/// The text of a bucket key: numbers as `2`/`2.5`, strings as they are.
fn bucket_key(value: &SqlValue) -> String {
    match value {
        SqlValue::Integer(integer) => integer.to_string(),
        SqlValue::Real(real) => real.to_string(),
        SqlValue::Text(text) => text.clone(),
        SqlValue::Blob(_) | SqlValue::Null => String::new(),
    }
}

fn bucket_value(value: &SqlValue) -> Value {
    match value {
        SqlValue::Integer(integer) => Value::from(*integer),
        SqlValue::Real(real) => {
            serde_json::Number::from_f64(*real).map_or(Value::Null, Value::Number)
        }
        SqlValue::Text(text) => Value::String(text.clone()),
        SqlValue::Blob(_) | SqlValue::Null => Value::Null,
    }
}

/// True when the sub-aggregations are plain counts, answerable from the bucket sizes.
fn counts_only(sub: &[Aggregation]) -> bool {
    sub.iter()
        .all(|aggregation| matches!(aggregation, Aggregation::Count { query: None, .. }))
}

fn count_results(sub: &[Aggregation], count: u64) -> Map<String, Value> {
    let mut result = Map::new();
    for aggregation in sub {
        if let Aggregation::Count { name, .. } = aggregation {
            result.insert(
                name.clone().unwrap_or_else(|| "count".into()),
                Value::from(count),
            );
        }
    }
    result
}

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;
/// 1970-01-01 was a Thursday; weeks start on Monday, four days later.
const FIRST_MONDAY: i64 = 4 * DAY;

/// Start (epoch ms, UTC) of the bucket holding `millis`.
pub(crate) fn bucket_start(millis: i64, interval: Interval) -> Option<i64> {
    let fixed = |width: i64| Some(millis.div_euclid(width) * width);
    match interval {
        Interval::Minutes(count) => fixed(MINUTE * i64::from(count)),
        Interval::Hours(count) => fixed(HOUR * i64::from(count)),
        Interval::Days(count) => fixed(DAY * i64::from(count)),
        Interval::Weeks(count) => {
            let width = 7 * DAY * i64::from(count);
            Some((millis - FIRST_MONDAY).div_euclid(width) * width + FIRST_MONDAY)
        }
        Interval::Months(count) => {
            let date = DateTime::from_timestamp_millis(millis)?;
            let months = i64::from(date.year()) * 12 + i64::from(date.month0());
            let start = months.div_euclid(i64::from(count)) * i64::from(count);
            month_start(start)
        }
        Interval::Years(count) => {
            let year = i64::from(DateTime::from_timestamp_millis(millis)?.year());
            month_start(year.div_euclid(i64::from(count)) * i64::from(count) * 12)
        }
    }
}

/// Epoch ms of the first day of a month counted from year 0.
fn month_start(months: i64) -> Option<i64> {
    let year = i32::try_from(months.div_euclid(12)).ok()?;
    let month = u32::try_from(months.rem_euclid(12)).ok()? + 1;
    Some(
        NaiveDate::from_ymd_opt(year, month, 1)?
            .and_hms_opt(0, 0, 0)?
            .and_utc()
            .timestamp_millis(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_align_on_utc_calendar_boundaries() {
        // 2020-09-10T13:45:00Z, a Thursday.
        let millis = 1_599_745_500_000;
        assert_eq!(
            bucket_start(millis, Interval::Weeks(1)),
            Some(1_599_436_800_000)
        );
        assert_eq!(
            bucket_start(millis, Interval::Days(1)),
            Some(1_599_696_000_000)
        );
        assert_eq!(
            bucket_start(millis, Interval::Hours(1)),
            Some(1_599_742_800_000)
        );
        assert_eq!(
            bucket_start(millis, Interval::Months(1)),
            Some(1_598_918_400_000)
        );
        assert_eq!(
            bucket_start(millis, Interval::Years(1)),
            Some(1_577_836_800_000)
        );
    }

    #[test]
    fn split_term_counts_are_ordered_like_the_sql_with_numbers_before_text() {
        let counts = || {
            vec![
                (SqlValue::Text("b".into()), 2),
                (SqlValue::Integer(10), 2),
                (SqlValue::Text("a".into()), 5),
                (SqlValue::Real(2.5), 1),
            ]
        };
        let keys = |counts: Vec<(SqlValue, i64)>| -> Vec<String> {
            counts.iter().map(|(value, _)| bucket_key(value)).collect()
        };

        let mut by_count = counts();
        order_counts(&mut by_count, &[TermsOrder::Count { descending: true }], 3);
        assert_eq!(keys(by_count), ["a", "10", "b"]);

        let mut by_term = counts();
        order_counts(&mut by_term, &[TermsOrder::Term { descending: true }], 10);
        assert_eq!(keys(by_term), ["b", "a", "10", "2.5"]);

        let mut rare_first = counts();
        order_counts(
            &mut rare_first,
            &[TermsOrder::Count { descending: false }],
            10,
        );
        assert_eq!(keys(rare_first), ["2.5", "10", "b", "a"]);
    }
}
