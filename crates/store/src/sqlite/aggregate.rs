//! `_stats` aggregations over the `field_values` index, in the result shapes of
//! [`crate::aggregation`].
//!
//! The query is evaluated once into a [`RowSet`]; every aggregation, and every bucket's
//! sub-aggregations, work on that set (or a subset of it) rather than on the query again.
//! Index scans keep the set's rows with `skep_member(set, doc)`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};

use chrono::{DateTime, Datelike, NaiveDate};
use rusqlite::Connection;
use rusqlite::types::Value as SqlValue;
use serde_json::{Map, Value};

use super::backend;
use super::documents::{page_rows, read_rows};
use super::evaluate::{self, evaluate};
use super::rows::RowSet;
use super::translate::{Scope, Translator};
use crate::aggregation::{Aggregation, Interval, MetricKind, TermsOrder, merge_into, top_hit};
use crate::{Page, Query, Result};

/// Runs `aggregations` over the documents of `kind` matching `query`.
pub(super) fn run(
    connection: &Connection,
    kind: &str,
    query: &Query,
    aggregations: &[Aggregation],
) -> Result<Map<String, Value>> {
    let (kind_id, set) = match evaluate::matching(connection, kind, query)? {
        Some((kind_id, set)) => (Some(kind_id), set),
        None => (None, RowSet::new()),
    };
    let context = Context {
        connection,
        kind,
        kind_id,
    };
    context.run(&set, aggregations)
}

/// Below this many matching documents, aggregations run one after the other: a second thread
/// and connection cost more than they save.
const PARALLEL_ROWS: u64 = 10_000;

/// [`run`] with the aggregations shared between two connections (two cores), for dashboards
/// that ask for several aggregations of many documents.
///
/// Both connections must read the same snapshot. `generation` is the writer's commit counter,
/// odd while a commit is being made: when it is even and unchanged from before the first read
/// transaction began until after the second began, no commit happened between the two
/// snapshots. Otherwise everything runs on `first` alone.
pub(super) fn run_parallel(
    first: &mut Connection,
    second: &mut Connection,
    generation: &AtomicU64,
    kind: &str,
    query: &Query,
    aggregations: &[Aggregation],
) -> Result<Map<String, Value>> {
    let before = generation.load(AtomicOrdering::Acquire);
    let first = Snapshot::begin(first)?;
    let second = Snapshot::begin(second)?;
    let same = before.is_multiple_of(2) && generation.load(AtomicOrdering::Acquire) == before;
    let heavy: Vec<usize> = (0..aggregations.len())
        .filter(|index| !cheap(&aggregations[*index]))
        .collect();
    let (kind_id, set) = match evaluate::matching(first.connection(), kind, query)? {
        Some((kind_id, set)) => (Some(kind_id), set),
        None => (None, RowSet::new()),
    };
    let context = Context {
        connection: first.connection(),
        kind,
        kind_id,
    };
    if !same || heavy.len() < 2 || set.len() < PARALLEL_ROWS {
        drop(second);
        return context.run(&set, aggregations);
    }
    // Every other costly aggregation goes to the second connection.
    let theirs: Vec<usize> = heavy.iter().copied().skip(1).step_by(2).collect();
    let mut parts: Vec<Option<Result<Map<String, Value>>>> =
        (0..aggregations.len()).map(|_| None).collect();
    let their_parts = std::thread::scope(|scope| {
        let (set, theirs) = (&set, &theirs);
        let helper = scope.spawn(move || {
            let context = Context {
                connection: second.connection(),
                kind,
                kind_id,
            };
            theirs
                .iter()
                .map(|index| (*index, context.part(set, &aggregations[*index])))
                .collect::<Vec<_>>()
        });
        for (index, aggregation) in aggregations.iter().enumerate() {
            if !theirs.contains(&index) {
                parts[index] = Some(context.part(set, aggregation));
            }
        }
        helper.join()
    });
    let their_parts = their_parts.map_err(|_| {
        crate::StoreError::Backend(anyhow::anyhow!("an aggregation thread panicked"))
    })?;
    for (index, part) in their_parts {
        parts[index] = Some(part);
    }
    let mut result = Map::new();
    for part in parts.into_iter().flatten() {
        for (key, value) in part? {
            merge_into(&mut result, &key, value);
        }
    }
    Ok(result)
}

/// Whether [`run_parallel`] may help: at least two aggregations that cost more than a count.
pub(super) fn worth_two_connections(aggregations: &[Aggregation]) -> bool {
    aggregations
        .iter()
        .filter(|aggregation| !cheap(aggregation))
        .count()
        >= 2
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

/// The kind aggregated over; `kind_id` is `None` when it has no documents.
struct Context<'c> {
    connection: &'c Connection,
    kind: &'c str,
    kind_id: Option<i64>,
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

    /// The values of `field` among the documents of `set`: the SQL `FROM … WHERE` and its
    /// parameters. `None` when nothing can match.
    fn values_of(&self, set: &RowSet, field: &str) -> Result<Option<(String, Vec<SqlValue>)>> {
        let (Some(kind_id), Some(path)) = (self.kind_id, self.path_id(field)?) else {
            return Ok(None);
        };
        if set.is_empty() {
            return Ok(None);
        }
        let from = format!("FROM field_values WHERE kind = {kind_id} AND path = {path}");
        if set.is_whole() {
            // The index holds live documents only: no need to filter on the set.
            return Ok(Some((from, Vec::new())));
        }
        Ok(Some((
            format!("{from} AND skep_member(?1, doc)"),
            vec![SqlValue::Blob(set.to_blob())],
        )))
    }

    fn metric(&self, set: &RowSet, metric: MetricKind, field: &str) -> Result<Value> {
        let Some((from, params)) = self.values_of(set, field)? else {
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
        let mut buckets = Map::new();
        let Some((from, params)) = self.values_of(set, field)? else {
            return Ok(buckets);
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
        for (value, count) in rows {
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

    fn time_buckets(
        &self,
        set: &RowSet,
        field: &str,
        interval: Interval,
        sub: &[Aggregation],
        buckets: &mut Map<String, Value>,
    ) -> Result<()> {
        let Some((from, params)) = self.values_of(set, field)? else {
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
}
