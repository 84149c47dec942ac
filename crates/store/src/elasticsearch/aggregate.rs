//! Pure translation of [`Aggregation`]s into an Elasticsearch `aggs` request, and of the
//! response back into the TheHive/Cortex `_stats` result shape (see [`crate::aggregation`]).
//!
//! Aggregations of one level are named `a0`, `a1`, … in the request (a `time` aggregation over
//! several fields gives `a<i>_<j>`, one histogram per field), so the response is read back by
//! position and user-chosen names never clash with Elasticsearch's syntax.

use std::cmp::Ordering;

use serde_json::{Map, Value, json};

use super::mapping::ValueType;
use super::translate::{document_from_hit, es_field, hidden_field, to_es_query, to_es_sort};
use crate::aggregation::{Interval, MetricKind, TermsOrder, merge_into, top_hit};
use crate::{Aggregation, Query, StoreError};

/// Most documents a `top` aggregation returns (Elasticsearch's default inner-hits window).
pub const TOP_MAX_SIZE: u64 = 100;

/// Most buckets a `field` aggregation returns.
pub const TERMS_MAX_SIZE: u64 = 10_000;

fn invalid(message: impl Into<String>) -> StoreError {
    StoreError::InvalidQuery(message.into())
}

fn malformed(what: &str) -> StoreError {
    StoreError::Backend(anyhow::anyhow!(
        "elasticsearch aggregation response without {what}"
    ))
}

fn position_name(index: usize) -> String {
    format!("a{index}")
}

fn filter_or_all(query: Option<&Query>) -> Value {
    query.map_or_else(|| json!({"match_all": {}}), to_es_query)
}

/// Builds the `aggs` object of a search request for `aggregations`. Fails with
/// [`StoreError::InvalidQuery`] for time intervals Elasticsearch cannot bucket (several months
/// or years other than a quarter).
pub fn to_es_aggregations(aggregations: &[Aggregation]) -> crate::Result<Map<String, Value>> {
    let mut request = Map::new();
    for (index, aggregation) in aggregations.iter().enumerate() {
        match aggregation {
            Aggregation::Count { query, .. } => {
                request.insert(
                    position_name(index),
                    json!({"filter": filter_or_all(query.as_ref())}),
                );
            }
            Aggregation::Metric {
                kind, field, query, ..
            } => {
                request.insert(
                    position_name(index),
                    json!({
                        "filter": filter_or_all(query.as_ref()),
                        "aggs": {"value": {metric_name(*kind): {"field": es_field(ValueType::Number, field)}}}
                    }),
                );
            }
            Aggregation::Terms {
                field,
                size,
                order,
                select,
                ..
            } => {
                for (suffix, es_field) in terms_fields(field) {
                    let mut terms = json!({"terms": {
                        "field": es_field,
                        "size": (*size).clamp(1, TERMS_MAX_SIZE),
                        "order": terms_order(order)
                    }});
                    add_sub_aggregations(&mut terms, select)?;
                    request.insert(format!("a{index}{suffix}"), terms);
                }
            }
            Aggregation::Time {
                fields,
                interval,
                select,
                ..
            } => {
                let (interval_key, interval_value, offset) = interval_spec(*interval)?;
                for (field_index, field) in fields.iter().enumerate() {
                    let mut histogram = json!({"date_histogram": {
                        "field": es_field(ValueType::Number, field),
                        interval_key: interval_value,
                        "min_doc_count": 1
                    }});
                    if let Some(offset) = offset {
                        histogram["date_histogram"]["offset"] = Value::from(offset);
                    }
                    add_sub_aggregations(&mut histogram, select)?;
                    request.insert(format!("a{index}_{field_index}"), histogram);
                }
            }
            Aggregation::Category {
                categories, select, ..
            } => {
                let filters: Vec<Value> = categories
                    .iter()
                    .map(|(_, query)| to_es_query(query))
                    .collect();
                let mut category = json!({"filters": {"filters": filters}});
                add_sub_aggregations(&mut category, select)?;
                request.insert(position_name(index), category);
            }
            Aggregation::Top { size, order, .. } => {
                request.insert(
                    position_name(index),
                    json!({"top_hits": {
                        "size": (*size).min(TOP_MAX_SIZE),
                        "sort": to_es_sort(order),
                        "seq_no_primary_term": true
                    }}),
                );
            }
        }
    }
    Ok(request)
}

fn add_sub_aggregations(aggregation: &mut Value, select: &[Aggregation]) -> crate::Result<()> {
    if !select.is_empty() {
        aggregation["aggs"] = Value::Object(to_es_aggregations(select)?);
    }
    Ok(())
}

/// The fields a `field` aggregation buckets, with the suffix of their request name: a hidden
/// field alone, else the typed field of each JSON type (their buckets are merged back).
fn terms_fields(field: &str) -> Vec<(&'static str, String)> {
    match hidden_field(field) {
        Some(hidden) => vec![("", hidden.to_owned())],
        None => ValueType::ALL
            .into_iter()
            .map(|value_type| (type_suffix(value_type), es_field(value_type, field)))
            .collect(),
    }
}

fn type_suffix(value_type: ValueType) -> &'static str {
    match value_type {
        ValueType::Number => "_n",
        ValueType::Boolean => "_b",
        ValueType::Text => "_s",
    }
}

fn metric_name(kind: MetricKind) -> &'static str {
    match kind {
        MetricKind::Avg => "avg",
        MetricKind::Min => "min",
        MetricKind::Max => "max",
        MetricKind::Sum => "sum",
    }
}

fn terms_order(order: &[TermsOrder]) -> Value {
    let direction = |descending: bool| if descending { "desc" } else { "asc" };
    let mut keys: Vec<Value> = order
        .iter()
        .map(|order| match order {
            TermsOrder::Count { descending } => json!({"_count": direction(*descending)}),
            TermsOrder::Term { descending } => json!({"_key": direction(*descending)}),
        })
        .collect();
    if keys.is_empty() {
        keys.push(json!({"_count": "desc"}));
    }
    // Equal counts are ordered by term, as in the SQLite backend.
    if !order
        .iter()
        .any(|order| matches!(order, TermsOrder::Term { .. }))
    {
        keys.push(json!({"_key": "asc"}));
    }
    Value::Array(keys)
}

/// The `date_histogram` interval parameter, its value and the offset aligning the buckets.
///
/// Minutes, hours and days are fixed intervals aligned on the epoch (midnight UTC); weeks are
/// fixed multiples of 7 days shifted by 4 days so that they start on Mondays (1970-01-05 was a
/// Monday); one month, a quarter and one year are calendar intervals.
pub fn interval_spec(
    interval: Interval,
) -> crate::Result<(&'static str, String, Option<&'static str>)> {
    let fixed = |count: u32, unit: &str| ("fixed_interval", format!("{count}{unit}"), None);
    let spec = match interval {
        Interval::Minutes(0) | Interval::Hours(0) | Interval::Days(0) | Interval::Weeks(0) => {
            return Err(invalid("a time interval must be at least 1"));
        }
        Interval::Minutes(count) => fixed(count, "m"),
        Interval::Hours(count) => fixed(count, "h"),
        Interval::Days(count) => fixed(count, "d"),
        Interval::Weeks(count) => {
            let days = count
                .checked_mul(7)
                .ok_or_else(|| invalid(format!("time interval of {count} weeks is too long")))?;
            ("fixed_interval", format!("{days}d"), Some("+4d"))
        }
        Interval::Months(1) => ("calendar_interval", "1M".to_owned(), None),
        Interval::Months(3) => ("calendar_interval", "1q".to_owned(), None),
        Interval::Years(1) => ("calendar_interval", "1y".to_owned(), None),
        Interval::Months(count) => {
            return Err(invalid(format!(
                "elasticsearch buckets by 1 month or a quarter, not {count} months"
            )));
        }
        Interval::Years(count) => {
            return Err(invalid(format!(
                "elasticsearch buckets by 1 year, not {count} years"
            )));
        }
    };
    Ok(spec)
}

/// Every query nested in `aggregations` (`_query` filters and categories, at every level), so
/// their joins can be resolved before translation.
pub fn queries_mut(aggregations: &mut [Aggregation]) -> Vec<&mut Query> {
    let mut queries = Vec::new();
    collect_queries(aggregations, &mut queries);
    queries
}

fn collect_queries<'a>(aggregations: &'a mut [Aggregation], queries: &mut Vec<&'a mut Query>) {
    for aggregation in aggregations {
        match aggregation {
            Aggregation::Count {
                query: Some(query), ..
            }
            | Aggregation::Metric {
                query: Some(query), ..
            } => {
                queries.push(query);
            }
            Aggregation::Terms { select, .. } | Aggregation::Time { select, .. } => {
                collect_queries(select, queries);
            }
            Aggregation::Category {
                categories, select, ..
            } => {
                queries.extend(categories.iter_mut().map(|(_, query)| query));
                collect_queries(select, queries);
            }
            _ => {}
        }
    }
}

/// Reads the `aggregations` object of a search response into the `_stats` result shape.
pub fn from_es_aggregations(
    aggregations: &[Aggregation],
    response: &Value,
) -> crate::Result<Map<String, Value>> {
    let mut result = Map::new();
    read_level(aggregations, response, &mut result)?;
    Ok(result)
}

/// What a cluster would answer for `aggregations` over no documents at all: the result of a
/// kind whose index does not exist yet (reads never create one).
pub fn empty_aggregations(aggregations: &[Aggregation]) -> crate::Result<Map<String, Value>> {
    from_es_aggregations(aggregations, &empty_level(aggregations))
}

fn empty_level(aggregations: &[Aggregation]) -> Value {
    let mut level = Map::new();
    for (index, aggregation) in aggregations.iter().enumerate() {
        match aggregation {
            Aggregation::Count { .. } => {
                level.insert(position_name(index), json!({"doc_count": 0}));
            }
            Aggregation::Metric { .. } => {
                level.insert(position_name(index), json!({"value": {"value": null}}));
            }
            Aggregation::Terms { field, .. } => {
                for (suffix, _) in terms_fields(field) {
                    level.insert(format!("a{index}{suffix}"), json!({"buckets": []}));
                }
            }
            Aggregation::Time { fields, .. } => {
                for field_index in 0..fields.len() {
                    level.insert(format!("a{index}_{field_index}"), json!({"buckets": []}));
                }
            }
            Aggregation::Category {
                categories, select, ..
            } => {
                let mut bucket = empty_level(select);
                bucket["doc_count"] = json!(0);
                let buckets = vec![bucket; categories.len()];
                level.insert(position_name(index), json!({ "buckets": buckets }));
            }
            Aggregation::Top { .. } => {
                level.insert(position_name(index), json!({"hits": {"hits": []}}));
            }
        }
    }
    Value::Object(level)
}

fn read_level(
    aggregations: &[Aggregation],
    container: &Value,
    out: &mut Map<String, Value>,
) -> crate::Result<()> {
    for (index, aggregation) in aggregations.iter().enumerate() {
        let response = &container[position_name(index)];
        match aggregation {
            Aggregation::Count { name, .. } => {
                let count = response["doc_count"]
                    .as_u64()
                    .ok_or_else(|| malformed("doc_count"))?;
                merge_into(out, name.as_deref().unwrap_or("count"), Value::from(count));
            }
            Aggregation::Metric {
                kind, field, name, ..
            } => {
                let value = match &response["value"]["value"] {
                    Value::Number(number) => Value::Number(number.clone()),
                    _ => Value::from(0),
                };
                let key = name
                    .clone()
                    .unwrap_or_else(|| format!("{}_{field}", metric_name(*kind)));
                // Averages stay decimals; a minimum, maximum or sum of whole numbers is whole.
                let value = if *kind == MetricKind::Avg {
                    value
                } else {
                    whole_number(value)
                };
                merge_into(out, &key, value);
            }
            Aggregation::Terms {
                field,
                size,
                order,
                select,
                name,
            } => {
                let mut buckets = Vec::new();
                for (suffix, _) in terms_fields(field) {
                    let response = &container[format!("a{index}{suffix}")];
                    let typed = response["buckets"]
                        .as_array()
                        .ok_or_else(|| malformed("terms buckets"))?;
                    buckets.extend(typed);
                }
                let mut keyed = buckets
                    .into_iter()
                    .map(|bucket| Ok((TermKey::of(&bucket["key"])?, bucket)))
                    .collect::<crate::Result<Vec<_>>>()?;
                keyed.sort_by(|(left_key, left), (right_key, right)| {
                    compare_buckets(order, (left_key, left), (right_key, right))
                });
                keyed.truncate(usize::try_from(*size).unwrap_or(usize::MAX));
                let mut entries = Map::new();
                for (key, bucket) in keyed {
                    let mut sub = Map::new();
                    read_level(select, bucket, &mut sub)?;
                    merge_into(&mut entries, &key.text(), Value::Object(sub));
                }
                merge_named(out, name.as_deref(), entries);
            }
            Aggregation::Time {
                fields,
                select,
                name,
                ..
            } => {
                let mut entries = Map::new();
                for (field_index, field) in fields.iter().enumerate() {
                    let histogram = &container[format!("a{index}_{field_index}")];
                    let buckets = histogram["buckets"]
                        .as_array()
                        .ok_or_else(|| malformed("date histogram buckets"))?;
                    for bucket in buckets {
                        let mut sub = Map::new();
                        read_level(select, bucket, &mut sub)?;
                        let mut per_field = Map::new();
                        per_field.insert(field.clone(), Value::Object(sub));
                        merge_into(
                            &mut entries,
                            &bucket_key(&bucket["key"])?,
                            Value::Object(per_field),
                        );
                    }
                }
                merge_named(out, name.as_deref(), entries);
            }
            Aggregation::Category {
                categories,
                select,
                name,
            } => {
                let buckets = response["buckets"]
                    .as_array()
                    .ok_or_else(|| malformed("category buckets"))?;
                let mut entries = Map::new();
                for ((category, _), bucket) in categories.iter().zip(buckets) {
                    let mut sub = Map::new();
                    read_level(select, bucket, &mut sub)?;
                    merge_into(&mut entries, category, Value::Object(sub));
                }
                merge_named(out, name.as_deref(), entries);
            }
            Aggregation::Top { name, .. } => {
                let hits = response["hits"]["hits"]
                    .as_array()
                    .ok_or_else(|| malformed("top hits"))?;
                let documents = hits
                    .iter()
                    .map(|hit| document_from_hit("", hit).map(|(document, _)| top_hit(&document)))
                    .collect::<crate::Result<Vec<_>>>()?;
                merge_into(
                    out,
                    name.as_deref().unwrap_or("top"),
                    Value::Array(documents),
                );
            }
        }
    }
    Ok(())
}

/// Buckets go straight into the parent object, or under the aggregation's custom name.
fn merge_named(out: &mut Map<String, Value>, name: Option<&str>, entries: Map<String, Value>) {
    match name {
        Some(name) => merge_into(out, name, Value::Object(entries)),
        None => entries
            .into_iter()
            .for_each(|(key, value)| merge_into(out, &key, value)),
    }
}

/// A bucket key, ordered as SQLite orders values: numbers (and booleans, as 1 and 0) before
/// strings.
#[derive(Debug, Clone, PartialEq)]
enum TermKey {
    Number(f64),
    Text(String),
}

impl TermKey {
    fn of(key: &Value) -> crate::Result<TermKey> {
        match key {
            Value::Number(number) => number
                .as_f64()
                .map(TermKey::Number)
                .ok_or_else(|| malformed("bucket key")),
            Value::String(text) => Ok(TermKey::Text(text.clone())),
            Value::Bool(flag) => Ok(TermKey::Number(if *flag { 1.0 } else { 0.0 })),
            _ => Err(malformed("bucket key")),
        }
    }

    fn text(&self) -> String {
        match self {
            TermKey::Number(number) => {
                bucket_key(&json!(number)).unwrap_or_else(|_| number.to_string())
            }
            TermKey::Text(text) => text.clone(),
        }
    }

    fn compare(&self, other: &TermKey) -> Ordering {
        match (self, other) {
            (TermKey::Number(left), TermKey::Number(right)) => left.total_cmp(right),
            (TermKey::Number(_), TermKey::Text(_)) => Ordering::Less,
            (TermKey::Text(_), TermKey::Number(_)) => Ordering::Greater,
            (TermKey::Text(left), TermKey::Text(right)) => left.cmp(right),
        }
    }
}

/// Orders merged buckets by the requested keys (default: most documents first), then by key.
fn compare_buckets(
    order: &[TermsOrder],
    left: (&TermKey, &Value),
    right: (&TermKey, &Value),
) -> Ordering {
    let count = |bucket: &Value| bucket["doc_count"].as_u64().unwrap_or(0);
    let default = [TermsOrder::Count { descending: true }];
    let order = if order.is_empty() {
        &default[..]
    } else {
        order
    };
    order
        .iter()
        .map(|order| match order {
            TermsOrder::Count { descending } => {
                let ordering = count(left.1).cmp(&count(right.1));
                if *descending {
                    ordering.reverse()
                } else {
                    ordering
                }
            }
            TermsOrder::Term { descending } => {
                let ordering = left.0.compare(right.0);
                if *descending {
                    ordering.reverse()
                } else {
                    ordering
                }
            }
        })
        .find(|ordering| ordering.is_ne())
        .unwrap_or_else(|| left.0.compare(right.0))
}

/// A bucket key as TheHive writes it: strings as is, whole numbers without a fraction (so
/// booleans, bucketed as 1 and 0, give `"1"`/`"0"` and dates their epoch milliseconds).
pub fn bucket_key(key: &Value) -> crate::Result<String> {
    match whole_number(key.clone()) {
        Value::String(text) => Ok(text),
        Value::Number(number) => Ok(number.to_string()),
        Value::Bool(flag) => Ok(if flag { "1" } else { "0" }.to_owned()),
        _ => Err(malformed("bucket key")),
    }
}

/// Numbers that are whole (Elasticsearch reports every number of a `double` field as a float)
/// become integers.
fn whole_number(value: Value) -> Value {
    const EXACT_LIMIT: f64 = 9_007_199_254_740_992.0; // 2^53
    match &value {
        Value::Number(number) if number.is_f64() => match number.as_f64() {
            Some(float) if float.fract() == 0.0 && float.abs() <= EXACT_LIMIT => {
                // The guard keeps the value inside i64's exact range.
                Value::from(float as i64)
            }
            _ => value,
        },
        _ => value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Sort;

    fn count() -> Aggregation {
        Aggregation::Count {
            name: None,
            query: None,
        }
    }

    fn eq(field: &str, value: Value) -> Query {
        Query::Eq {
            field: field.into(),
            value,
        }
    }

    fn build(aggregations: &[Aggregation]) -> Value {
        Value::Object(to_es_aggregations(aggregations).unwrap())
    }

    fn read(aggregations: &[Aggregation], response: Value) -> Value {
        Value::Object(from_es_aggregations(aggregations, &response).unwrap())
    }

    #[test]
    fn count_is_a_filter_and_reads_its_document_count() {
        let aggregations = [
            count(),
            Aggregation::Count {
                name: Some("open".into()),
                query: Some(eq("status", json!("Open"))),
            },
        ];

        assert_eq!(
            build(&aggregations),
            json!({
                "a0": {"filter": {"match_all": {}}},
                "a1": {"filter": {"term": {"s~status": {"value": "Open"}}}}
            })
        );
        assert_eq!(
            read(
                &aggregations,
                json!({"a0": {"doc_count": 13}, "a1": {"doc_count": 4}})
            ),
            json!({"count": 13, "open": 4})
        );
    }

    #[test]
    fn metrics_are_keyed_by_kind_and_field_and_give_zero_when_empty() {
        let metric = |kind, name: Option<&str>| Aggregation::Metric {
            kind,
            field: "severity".into(),
            name: name.map(Into::into),
            query: None,
        };
        let aggregations = [
            metric(MetricKind::Avg, None),
            metric(MetricKind::Min, None),
            metric(MetricKind::Max, None),
            metric(MetricKind::Sum, Some("total")),
        ];

        let request = build(&aggregations);
        let result = read(
            &aggregations,
            json!({
                "a0": {"doc_count": 2, "value": {"value": 2.5}},
                "a1": {"doc_count": 0, "value": {"value": null}},
                "a2": {"doc_count": 2, "value": {"value": 3.0}},
                "a3": {"doc_count": 2, "value": {"value": 5.0}}
            }),
        );

        assert_eq!(
            request["a0"],
            json!({"filter": {"match_all": {}}, "aggs": {"value": {"avg": {"field": "n~severity"}}}})
        );
        assert_eq!(
            request["a1"]["aggs"]["value"],
            json!({"min": {"field": "n~severity"}})
        );
        assert_eq!(
            request["a2"]["aggs"]["value"],
            json!({"max": {"field": "n~severity"}})
        );
        assert_eq!(
            request["a3"]["aggs"]["value"],
            json!({"sum": {"field": "n~severity"}})
        );
        assert_eq!(
            result,
            json!({"avg_severity": 2.5, "min_severity": 0, "max_severity": 3, "total": 5})
        );
        assert_eq!(
            read(
                &aggregations[..1],
                json!({"a0": {"doc_count": 2, "value": {"value": 2.0}}})
            ),
            json!({"avg_severity": 2.0})
        );
    }

    fn no_buckets() -> Value {
        json!({"buckets": []})
    }

    #[test]
    fn terms_buckets_of_every_type_merge_into_the_parent_keyed_by_string() {
        let aggregations = [
            Aggregation::Terms {
                field: "severity".into(),
                size: 10,
                order: vec![],
                select: vec![count()],
                name: None,
            },
            count(),
        ];

        let request = build(&aggregations);
        let result = read(
            &aggregations,
            json!({
                "a0_n": {"buckets": [
                    {"key": 2.0, "doc_count": 10, "a0": {"doc_count": 10}},
                    {"key": 1.0, "doc_count": 3, "a0": {"doc_count": 3}}
                ]},
                "a0_b": no_buckets(),
                "a0_s": {"buckets": [{"key": "high", "doc_count": 3, "a0": {"doc_count": 3}}]},
                "a1": {"doc_count": 16}
            }),
        );

        assert_eq!(
            request["a0_n"],
            json!({
                "terms": {"field": "n~severity", "size": 10, "order": [{"_count": "desc"}, {"_key": "asc"}]},
                "aggs": {"a0": {"filter": {"match_all": {}}}}
            })
        );
        assert_eq!(request["a0_b"]["terms"]["field"], "b~severity");
        assert_eq!(request["a0_s"]["terms"]["field"], "s~severity");
        assert_eq!(
            result,
            json!({"2": {"count": 10}, "1": {"count": 3}, "high": {"count": 3}, "count": 16})
        );
        assert_eq!(
            result.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["2", "1", "high", "count"],
            "equal counts: numbers before strings"
        );
    }

    #[test]
    fn merged_buckets_keep_the_requested_order_and_size() {
        let aggregations = [Aggregation::Terms {
            field: "tags".into(),
            size: 2,
            order: vec![TermsOrder::Term { descending: false }],
            select: vec![],
            name: Some("tags".into()),
        }];

        let result = read(
            &aggregations,
            json!({
                "a0_n": {"buckets": [{"key": 7.0, "doc_count": 1}]},
                "a0_b": no_buckets(),
                "a0_s": {"buckets": [{"key": "mail", "doc_count": 1}, {"key": "malware", "doc_count": 1}]}
            }),
        );

        assert_eq!(
            result["tags"]
                .as_object()
                .unwrap()
                .keys()
                .collect::<Vec<_>>(),
            ["7", "mail"]
        );
    }

    #[test]
    fn named_terms_nest_their_buckets_and_booleans_become_one_and_zero() {
        let aggregations = [Aggregation::Terms {
            field: "ioc".into(),
            size: 5,
            order: vec![
                TermsOrder::Term { descending: false },
                TermsOrder::Count { descending: true },
            ],
            select: vec![],
            name: Some("iocs".into()),
        }];

        let request = build(&aggregations);
        let result = read(
            &aggregations,
            json!({"a0_n": no_buckets(), "a0_s": no_buckets(), "a0_b": {"buckets": [
                {"key": 0, "key_as_string": "false", "doc_count": 1},
                {"key": 1, "key_as_string": "true", "doc_count": 2}
            ]}}),
        );

        assert_eq!(
            request["a0_b"]["terms"],
            json!({"field": "b~ioc", "size": 5, "order": [{"_key": "asc"}, {"_count": "desc"}]})
        );
        assert_eq!(result, json!({"iocs": {"0": {}, "1": {}}}));
    }

    #[test]
    fn a_size_of_zero_gives_no_buckets() {
        let aggregations = [Aggregation::Terms {
            field: "status".into(),
            size: 0,
            order: vec![],
            select: vec![],
            name: None,
        }];

        let request = build(&aggregations);
        let result = read(
            &aggregations,
            json!({"a0_n": no_buckets(), "a0_b": no_buckets(),
                   "a0_s": {"buckets": [{"key": "Open", "doc_count": 1}]}}),
        );

        assert_eq!(
            request["a0_s"]["terms"]["size"], 1,
            "elasticsearch needs at least one"
        );
        assert_eq!(result, json!({}));
    }

    #[test]
    fn terms_on_the_id_bucket_the_hidden_id_field() {
        let aggregations = [Aggregation::Terms {
            field: "_id".into(),
            size: 5,
            order: vec![],
            select: vec![],
            name: None,
        }];

        let request = build(&aggregations);
        let result = read(
            &aggregations,
            json!({"a0": {"buckets": [{"key": "x1", "doc_count": 1}]}}),
        );

        assert_eq!(request["a0"]["terms"]["field"], "_skep_id");
        assert_eq!(result, json!({"x1": {}}));
    }

    #[test]
    fn time_histograms_key_buckets_by_epoch_milliseconds_then_field() {
        let aggregations = [Aggregation::Time {
            fields: vec!["createdAt".into(), "updatedAt".into()],
            interval: Interval::Weeks(1),
            select: vec![count()],
            name: None,
        }];

        let request = build(&aggregations);
        let result = read(
            &aggregations,
            json!({
                "a0_0": {"buckets": [{"key": 1599436800000.0, "key_as_string": "x", "doc_count": 4,
                                       "a0": {"doc_count": 4}}]},
                "a0_1": {"buckets": [{"key": 1599436800000_u64, "doc_count": 1, "a0": {"doc_count": 1}}]}
            }),
        );

        assert_eq!(
            request["a0_0"],
            json!({
                "date_histogram": {"field": "n~createdAt", "fixed_interval": "7d", "min_doc_count": 1,
                                   "offset": "+4d"},
                "aggs": {"a0": {"filter": {"match_all": {}}}}
            })
        );
        assert_eq!(request["a0_1"]["date_histogram"]["field"], "n~updatedAt");
        assert_eq!(
            result,
            json!({"1599436800000": {"createdAt": {"count": 4}, "updatedAt": {"count": 1}}})
        );
    }

    #[test]
    fn intervals_map_to_fixed_or_calendar_buckets() {
        assert_eq!(
            interval_spec(Interval::Minutes(30)).unwrap(),
            ("fixed_interval", "30m".into(), None)
        );
        assert_eq!(
            interval_spec(Interval::Hours(1)).unwrap(),
            ("fixed_interval", "1h".into(), None)
        );
        assert_eq!(
            interval_spec(Interval::Days(2)).unwrap(),
            ("fixed_interval", "2d".into(), None)
        );
        assert_eq!(
            interval_spec(Interval::Weeks(2)).unwrap(),
            ("fixed_interval", "14d".into(), Some("+4d"))
        );
        assert_eq!(
            interval_spec(Interval::Months(1)).unwrap(),
            ("calendar_interval", "1M".into(), None)
        );
        assert_eq!(
            interval_spec(Interval::Months(3)).unwrap(),
            ("calendar_interval", "1q".into(), None)
        );
        assert_eq!(
            interval_spec(Interval::Years(1)).unwrap(),
            ("calendar_interval", "1y".into(), None)
        );
        assert!(matches!(
            interval_spec(Interval::Months(2)),
            Err(StoreError::InvalidQuery(_))
        ));
        assert!(matches!(
            interval_spec(Interval::Years(5)),
            Err(StoreError::InvalidQuery(_))
        ));
        assert!(matches!(
            interval_spec(Interval::Days(0)),
            Err(StoreError::InvalidQuery(_))
        ));
    }

    #[test]
    fn categories_are_anonymous_filters_read_back_in_request_order() {
        let aggregations = [Aggregation::Category {
            categories: vec![
                ("open".into(), eq("status", json!("Open"))),
                ("all".into(), Query::All),
            ],
            select: vec![count()],
            name: None,
        }];

        let request = build(&aggregations);
        let result = read(
            &aggregations,
            json!({"a0": {"buckets": [
                {"doc_count": 2, "a0": {"doc_count": 2}},
                {"doc_count": 5, "a0": {"doc_count": 5}}
            ]}}),
        );

        assert_eq!(
            request["a0"],
            json!({
                "filters": {"filters": [{"term": {"s~status": {"value": "Open"}}}, {"match_all": {}}]},
                "aggs": {"a0": {"filter": {"match_all": {}}}}
            })
        );
        assert_eq!(result, json!({"open": {"count": 2}, "all": {"count": 5}}));
    }

    #[test]
    fn top_lists_the_first_documents_in_the_requested_order() {
        let aggregations = [Aggregation::Top {
            size: 500,
            order: vec![Sort {
                field: "createdAt".into(),
                descending: true,
            }],
            name: None,
        }];

        let request = build(&aggregations);
        let result = read(
            &aggregations,
            json!({"a0": {"hits": {"total": {"value": 1}, "hits": [
                {"_id": "d1", "_seq_no": 0, "_primary_term": 1,
                 "_source": {"_skep_body": {"title": "x"}, "_skep_seq": 1, "_skep_deleted": false}}
            ]}}}),
        );

        assert_eq!(request["a0"]["top_hits"]["size"], 100);
        assert_eq!(
            request["a0"]["top_hits"]["sort"][0],
            json!({"s~createdAt": {"order": "desc", "missing": "_last", "unmapped_type": "keyword"}})
        );
        assert_eq!(result, json!({"top": [{"_id": "d1", "title": "x"}]}));
    }

    #[test]
    fn nested_selects_fill_each_bucket() {
        let aggregations = [Aggregation::Terms {
            field: "status".into(),
            size: 5,
            order: vec![],
            select: vec![Aggregation::Terms {
                field: "severity".into(),
                size: 5,
                order: vec![],
                select: vec![count()],
                name: None,
            }],
            name: None,
        }];

        let result = read(
            &aggregations,
            json!({"a0_n": no_buckets(), "a0_b": no_buckets(), "a0_s": {"buckets": [
                {"key": "Open", "doc_count": 3, "a0_b": no_buckets(), "a0_s": no_buckets(), "a0_n": {"buckets": [
                    {"key": 2.0, "doc_count": 3, "a0": {"doc_count": 3}}
                ]}}
            ]}}),
        );

        assert_eq!(result, json!({"Open": {"2": {"count": 3}}}));
    }

    #[test]
    fn nested_filter_queries_are_all_reachable_for_join_resolution() {
        let mut aggregations = vec![
            Aggregation::Count {
                name: None,
                query: Some(eq("a", json!(1))),
            },
            Aggregation::Terms {
                field: "f".into(),
                size: 1,
                order: vec![],
                select: vec![Aggregation::Category {
                    categories: vec![("c".into(), eq("b", json!(2)))],
                    select: vec![Aggregation::Metric {
                        kind: MetricKind::Sum,
                        field: "x".into(),
                        name: None,
                        query: Some(eq("c", json!(3))),
                    }],
                    name: None,
                }],
                name: None,
            },
        ];

        let queries = queries_mut(&mut aggregations);

        let fields: Vec<String> = queries
            .iter()
            .map(|query| match &**query {
                Query::Eq { field, .. } => field.clone(),
                other => format!("{other:?}"),
            })
            .collect();
        assert_eq!(fields, ["a", "b", "c"]);
    }

    #[test]
    fn malformed_responses_are_backend_errors() {
        let error = from_es_aggregations(&[count()], &json!({})).unwrap_err();

        assert!(matches!(error, StoreError::Backend(_)));
    }
}
