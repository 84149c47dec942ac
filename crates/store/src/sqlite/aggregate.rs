//! `_stats` aggregations over the `field_values` index, in the result shapes of
//! [`crate::aggregation`].

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Datelike, NaiveDate};
use rusqlite::Connection;
use rusqlite::types::Value as SqlValue;
use serde_json::{Map, Value};

use super::backend;
use super::documents::{Selection, count_selection, page_of, select};
use crate::aggregation::{Aggregation, Interval, MetricKind, TermsOrder, merge_into, top_hit};
use crate::query::RangeOp;
use crate::{Page, Query, Result};

/// Runs `aggregations` over the documents of `kind` matching `query`.
pub(super) fn run(
    connection: &Connection,
    kind: &str,
    query: &Query,
    aggregations: &[Aggregation],
) -> Result<Map<String, Value>> {
    let mut result = Map::new();
    for aggregation in aggregations {
        apply(connection, kind, query, aggregation, &mut result)?;
    }
    Ok(result)
}

fn apply(
    connection: &Connection,
    kind: &str,
    query: &Query,
    aggregation: &Aggregation,
    result: &mut Map<String, Value>,
) -> Result<()> {
    match aggregation {
        Aggregation::Count {
            name,
            query: filter,
        } => {
            let query = with_filter(query, filter.as_ref());
            let count = match select(connection, kind, &query)? {
                Some(selection) => count_selection(connection, &selection)?,
                None => 0,
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
            let query = with_filter(query, filter.as_ref());
            let value = metric_value(connection, kind, &query, *metric, field)?;
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
            let buckets = terms(connection, kind, query, field, *size, order, sub)?;
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
                time_buckets(connection, kind, query, field, *interval, sub, &mut buckets)?;
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
                let query = query.clone().and(filter.clone());
                buckets.insert(
                    category.clone(),
                    Value::Object(run(connection, kind, &query, sub)?),
                );
            }
            place(result, name.as_deref(), buckets);
        }
        Aggregation::Top { size, order, name } => {
            let documents = match select(connection, kind, query)? {
                Some(selection) => page_of(
                    connection,
                    &selection,
                    Page {
                        offset: 0,
                        limit: Some(*size),
                    },
                    order,
                )?,
                None => Vec::new(),
            };
            let hits = documents.iter().map(top_hit).collect();
            merge_into(result, name.as_deref().unwrap_or("top"), Value::Array(hits));
        }
    }
    Ok(())
}

fn with_filter(query: &Query, filter: Option<&Query>) -> Query {
    match filter {
        Some(filter) => query.clone().and(filter.clone()),
        None => query.clone(),
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

/// `AND doc IN (matching documents)`, or nothing when every live document matches (the index
/// holds live documents only).
fn document_filter(selection: &Selection) -> String {
    if selection.condition == "1" {
        return String::new();
    }
    format!(
        " AND doc IN (SELECT d.row FROM documents d WHERE d.kind = {} AND d.deleted = 0 AND ({}))",
        selection.kind_id, selection.condition
    )
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

fn metric_value(
    connection: &Connection,
    kind: &str,
    query: &Query,
    metric: MetricKind,
    field: &str,
) -> Result<Value> {
    let Some(selection) = select(connection, kind, query)? else {
        return Ok(Value::from(0));
    };
    let Some(path) = super::translate::Translator::new(connection).path_id(field)? else {
        return Ok(Value::from(0));
    };
    let function = metric_prefix(metric);
    let sql = format!(
        "SELECT {function}(value) FROM field_values WHERE kind = {} AND path = {path} AND value < ''{}",
        selection.kind_id,
        document_filter(&selection)
    );
    let value: SqlValue = connection
        .prepare_cached(&sql)
        .and_then(|mut statement| {
            statement.query_row(rusqlite::params_from_iter(selection.params.iter()), |row| {
                row.get(0)
            })
        })
        .map_err(backend)?;
    Ok(json_number(value))
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

fn terms(
    connection: &Connection,
    kind: &str,
    query: &Query,
    field: &str,
    size: u64,
    order: &[TermsOrder],
    sub: &[Aggregation],
) -> Result<Map<String, Value>> {
    let mut buckets = Map::new();
    let Some(selection) = select(connection, kind, query)? else {
        return Ok(buckets);
    };
    let Some(path) = super::translate::Translator::new(connection).path_id(field)? else {
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
        "SELECT value, count(*) AS n FROM field_values WHERE kind = {} AND path = {path}{} \
         GROUP BY value ORDER BY {} LIMIT {}",
        selection.kind_id,
        document_filter(&selection),
        order_terms.join(", "),
        i64::try_from(size).unwrap_or(i64::MAX)
    );
    let rows: Vec<(SqlValue, i64)> = connection
        .prepare_cached(&sql)
        .and_then(|mut statement| {
            statement
                .query_map(rusqlite::params_from_iter(selection.params.iter()), |row| {
                    Ok((row.get(0)?, row.get(1)?))
                })?
                .collect()
        })
        .map_err(backend)?;
    for (value, count) in rows {
        let results = if counts_only(sub) {
            count_results(sub, u64::try_from(count).unwrap_or(0))
        } else {
            let bucket_query = query.clone().and(Query::eq(field, bucket_value(&value)));
            run(connection, kind, &bucket_query, sub)?
        };
        buckets.insert(bucket_key(&value), Value::Object(results));
    }
    Ok(buckets)
}

fn time_buckets(
    connection: &Connection,
    kind: &str,
    query: &Query,
    field: &str,
    interval: Interval,
    sub: &[Aggregation],
    buckets: &mut Map<String, Value>,
) -> Result<()> {
    let Some(selection) = select(connection, kind, query)? else {
        return Ok(());
    };
    let Some(path) = super::translate::Translator::new(connection).path_id(field)? else {
        return Ok(());
    };
    let sql = format!(
        "SELECT value, doc FROM field_values WHERE kind = {} AND path = {path} AND value < ''{}",
        selection.kind_id,
        document_filter(&selection)
    );
    let rows: Vec<(f64, i64)> = connection
        .prepare_cached(&sql)
        .and_then(|mut statement| {
            statement
                .query_map(rusqlite::params_from_iter(selection.params.iter()), |row| {
                    Ok((row.get(0)?, row.get(1)?))
                })?
                .collect()
        })
        .map_err(backend)?;
    let mut documents_by_start: BTreeMap<i64, BTreeSet<i64>> = BTreeMap::new();
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
            count_results(sub, documents.len() as u64)
        } else {
            let Some(end) = bucket_end(start, interval) else {
                continue;
            };
            let bucket_query = query
                .clone()
                .and(Query::Range {
                    field: field.to_owned(),
                    op: RangeOp::Gte,
                    value: Value::from(start),
                })
                .and(Query::Range {
                    field: field.to_owned(),
                    op: RangeOp::Lt,
                    value: Value::from(end),
                });
            run(connection, kind, &bucket_query, sub)?
        };
        let mut per_field = Map::new();
        per_field.insert(field.to_owned(), Value::Object(results));
        merge_into(buckets, &start.to_string(), Value::Object(per_field));
    }
    Ok(())
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

/// Start of the bucket after the one starting at `start`.
fn bucket_end(start: i64, interval: Interval) -> Option<i64> {
    match interval {
        Interval::Minutes(count) => Some(start + MINUTE * i64::from(count)),
        Interval::Hours(count) => Some(start + HOUR * i64::from(count)),
        Interval::Days(count) => Some(start + DAY * i64::from(count)),
        Interval::Weeks(count) => Some(start + 7 * DAY * i64::from(count)),
        Interval::Months(count) => {
            let date = DateTime::from_timestamp_millis(start)?;
            month_start(i64::from(date.year()) * 12 + i64::from(date.month0()) + i64::from(count))
        }
        Interval::Years(count) => {
            let date = DateTime::from_timestamp_millis(start)?;
            month_start((i64::from(date.year()) + i64::from(count)) * 12)
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
        assert_eq!(
            bucket_end(1_598_918_400_000, Interval::Months(1)),
            Some(1_601_510_400_000)
        );
        assert_eq!(
            bucket_end(1_577_836_800_000, Interval::Years(1)),
            Some(1_609_459_200_000)
        );
    }
}
