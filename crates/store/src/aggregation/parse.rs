//! The `_stats` aggregation parser: a pure function from the client's JSON to [`Aggregation`]s.

use serde_json::{Map, Value};

use super::{Aggregation, Interval, MetricKind, TermsOrder};
use crate::query::dsl_type_name as type_name;
use crate::{Query, Result, Sort, StoreError};

/// Deepest nesting of `_select` accepted.
const MAX_DEPTH: usize = 16;
/// Default number of terms buckets and top documents.
const DEFAULT_SIZE: u64 = 10;

fn invalid(message: impl Into<String>) -> StoreError {
    StoreError::InvalidQuery(message.into())
}

pub(super) fn parse_list(json: &Value, depth: usize) -> Result<Vec<Aggregation>> {
    if depth > MAX_DEPTH {
        return Err(invalid(format!(
            "aggregations nested deeper than {MAX_DEPTH} levels"
        )));
    }
    match json {
        Value::Array(items) => items.iter().map(|item| parse_one(item, depth)).collect(),
        Value::Object(_) => Ok(vec![parse_one(json, depth)?]),
        other => Err(invalid(format!(
            "stats must be a list of aggregations, not {}",
            type_name(other)
        ))),
    }
}

pub(super) fn parse_one(json: &Value, depth: usize) -> Result<Aggregation> {
    let Value::Object(object) = json else {
        return Err(invalid(format!(
            "an aggregation must be an object, not {}",
            type_name(json)
        )));
    };
    let agg = match object.get("_agg") {
        Some(Value::String(agg)) => agg.as_str(),
        Some(other) => {
            return Err(invalid(format!(
                "_agg must be a string, not {}",
                type_name(other)
            )));
        }
        None => return Err(invalid("an aggregation needs _agg")),
    };
    let name = optional_string(object, "_name")?;
    match agg {
        "count" => Ok(Aggregation::Count {
            name,
            query: optional_query(object)?,
        }),
        "avg" | "min" | "max" | "sum" => {
            let kind = match agg {
                "avg" => MetricKind::Avg,
                "min" => MetricKind::Min,
                "max" => MetricKind::Max,
                _ => MetricKind::Sum,
            };
            Ok(Aggregation::Metric {
                kind,
                field: required_field(object, agg)?,
                name,
                query: optional_query(object)?,
            })
        }
        "field" => Ok(Aggregation::Terms {
            field: required_field(object, agg)?,
            size: size(object)?,
            order: terms_order(object)?,
            select: select(object, depth)?,
            name,
        }),
        "time" => Ok(Aggregation::Time {
            fields: time_fields(object)?,
            interval: time_interval(object)?,
            select: select(object, depth)?,
            name,
        }),
        "category" => Ok(Aggregation::Category {
            categories: categories(object)?,
            select: select(object, depth)?,
            name,
        }),
        "top" => Ok(Aggregation::Top {
            size: size(object)?,
            order: top_order(object)?,
            name,
        }),
        other => Err(invalid(format!(
            "unknown aggregation {other}; expected count, avg, min, max, sum, field, time, category or top"
        ))),
    }
}

fn optional_string(object: &Map<String, Value>, key: &str) -> Result<Option<String>> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) if !text.is_empty() => Ok(Some(text.clone())),
        Some(other) => Err(invalid(format!(
            "{key} must be a non-empty string, not {}",
            type_name(other)
        ))),
    }
}

fn required_field(object: &Map<String, Value>, agg: &str) -> Result<String> {
    match object.get("_field") {
        Some(Value::String(field)) if !field.trim().is_empty() => Ok(field.clone()),
        Some(other) => Err(invalid(format!(
            "{agg} aggregation: _field must be a field name, not {}",
            type_name(other)
        ))),
        None => Err(invalid(format!("{agg} aggregation needs a _field"))),
    }
}

fn optional_query(object: &Map<String, Value>) -> Result<Option<Query>> {
    match object.get("_query") {
        None | Some(Value::Null) => Ok(None),
        Some(query) => Query::parse(query).map(Some),
    }
}

fn size(object: &Map<String, Value>) -> Result<u64> {
    match object.get("_size") {
        None | Some(Value::Null) => Ok(DEFAULT_SIZE),
        Some(Value::Number(number)) => number
            .as_u64()
            .ok_or_else(|| invalid(format!("_size must be a whole number ≥ 0, not {number}"))),
        Some(Value::String(text)) => text
            .trim()
            .parse::<u64>()
            .map_err(|_| invalid(format!("_size must be a whole number ≥ 0, not {text:?}"))),
        Some(other) => Err(invalid(format!(
            "_size must be a number, not {}",
            type_name(other)
        ))),
    }
}

/// `_order` as a list of strings (a single string is accepted).
fn order_texts(object: &Map<String, Value>) -> Result<Vec<String>> {
    match object.get("_order") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(text)) => Ok(vec![text.clone()]),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::String(text) => Ok(text.clone()),
                other => Err(invalid(format!(
                    "_order entries must be strings, not {}",
                    type_name(other)
                ))),
            })
            .collect(),
        Some(other) => Err(invalid(format!(
            "_order must be a list of strings, not {}",
            type_name(other)
        ))),
    }
}

fn terms_order(object: &Map<String, Value>) -> Result<Vec<TermsOrder>> {
    let mut orders = Vec::new();
    for text in order_texts(object)? {
        let Some(sort) = Sort::parse(&text) else {
            continue;
        };
        let descending = sort.descending;
        let order = match sort.field.as_str() {
            "_count" | "count" => TermsOrder::Count { descending },
            "_term" | "term" | "_key" | "key" => TermsOrder::Term { descending },
            other => {
                return Err(invalid(format!(
                    "field aggregation: cannot order buckets by {other}; use _count or _term"
                )));
            }
        };
        orders.push(order);
    }
    if orders.is_empty() {
        orders.push(TermsOrder::Count { descending: true });
    }
    Ok(orders)
}

fn top_order(object: &Map<String, Value>) -> Result<Vec<Sort>> {
    let texts = order_texts(object)?;
    Ok(Sort::parse_list(texts.iter().map(String::as_str)))
}

fn select(object: &Map<String, Value>, depth: usize) -> Result<Vec<Aggregation>> {
    match object.get("_select") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(value) => parse_list(value, depth + 1),
    }
}

fn time_fields(object: &Map<String, Value>) -> Result<Vec<String>> {
    let fields = match (object.get("_fields"), object.get("_field")) {
        (Some(Value::Array(items)), _) => items
            .iter()
            .map(|item| match item {
                Value::String(field) if !field.trim().is_empty() => Ok(field.clone()),
                other => Err(invalid(format!(
                    "time aggregation: _fields entries must be field names, not {}",
                    type_name(other)
                ))),
            })
            .collect::<Result<Vec<_>>>()?,
        (Some(Value::String(field)), _) | (None, Some(Value::String(field))) => vec![field.clone()],
        (Some(other), _) => {
            return Err(invalid(format!(
                "time aggregation: _fields must be a list of field names, not {}",
                type_name(other)
            )));
        }
        (None, _) => return Err(invalid("time aggregation needs _fields")),
    };
    if fields.is_empty() {
        return Err(invalid(
            "time aggregation needs at least one field in _fields",
        ));
    }
    Ok(fields)
}

fn time_interval(object: &Map<String, Value>) -> Result<Interval> {
    match object.get("_interval") {
        Some(Value::String(text)) => interval(text).ok_or_else(|| {
            invalid(format!(
                "time aggregation: unknown _interval {text:?}; use e.g. 30m, 1h, 1d, 1w, 1M or 1y"
            ))
        }),
        Some(other) => Err(invalid(format!(
            "time aggregation: _interval must be a string, not {}",
            type_name(other)
        ))),
        None => Err(invalid("time aggregation needs an _interval")),
    }
}

fn categories(object: &Map<String, Value>) -> Result<Vec<(String, Query)>> {
    match object.get("_categories") {
        Some(Value::Object(categories)) => categories
            .iter()
            .map(|(name, query)| Ok((name.clone(), Query::parse(query)?)))
            .collect(),
        Some(other) => Err(invalid(format!(
            "category aggregation: _categories must be an object, not {}",
            type_name(other)
        ))),
        None => Err(invalid("category aggregation needs _categories")),
    }
}

/// Parses an interval such as `1d` or `month`.
pub(super) fn interval(text: &str) -> Option<Interval> {
    let text = text.trim();
    let named = match text {
        "minute" => Some(Interval::Minutes(1)),
        "hour" => Some(Interval::Hours(1)),
        "day" => Some(Interval::Days(1)),
        "week" => Some(Interval::Weeks(1)),
        "month" => Some(Interval::Months(1)),
        "quarter" => Some(Interval::Months(3)),
        "year" => Some(Interval::Years(1)),
        _ => None,
    };
    if named.is_some() {
        return named;
    }
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (count, unit) = text.split_at(split);
    let count = if count.is_empty() {
        1
    } else {
        count.parse::<u32>().ok()?
    };
    if count == 0 {
        return None;
    }
    match unit {
        "m" => Some(Interval::Minutes(count)),
        "h" => Some(Interval::Hours(count)),
        "d" => Some(Interval::Days(count)),
        "w" => Some(Interval::Weeks(count)),
        "M" => Some(Interval::Months(count)),
        "q" => Some(Interval::Months(count.checked_mul(3)?)),
        "y" => Some(Interval::Years(count)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parse_ok(json: Value) -> Vec<Aggregation> {
        match Aggregation::parse_list(&json) {
            Ok(aggregations) => aggregations,
            Err(error) => panic!("{json} should parse: {error}"),
        }
    }

    fn count() -> Aggregation {
        Aggregation::Count {
            name: None,
            query: None,
        }
    }

    #[test]
    fn count_and_metrics_parse_with_names_and_queries() {
        assert_eq!(parse_ok(json!([{"_agg": "count"}])), vec![count()]);
        assert_eq!(
            parse_ok(json!([{"_agg": "count", "_name": "open", "_query": {"status": "Open"}}])),
            vec![Aggregation::Count {
                name: Some("open".into()),
                query: Some(Query::eq("status", "Open"))
            }]
        );
        for (agg, kind) in [
            ("avg", MetricKind::Avg),
            ("min", MetricKind::Min),
            ("max", MetricKind::Max),
            ("sum", MetricKind::Sum),
        ] {
            assert_eq!(
                parse_ok(json!([{"_agg": agg, "_field": "severity"}])),
                vec![Aggregation::Metric {
                    kind,
                    field: "severity".into(),
                    name: None,
                    query: None
                }]
            );
        }
    }

    #[test]
    fn field_aggregations_take_size_order_and_select() {
        assert_eq!(
            parse_ok(json!([{"_agg": "field", "_field": "status", "_size": 5,
                "_order": ["_term"], "_select": [{"_agg": "count"}], "_name": "s"}])),
            vec![Aggregation::Terms {
                field: "status".into(),
                size: 5,
                order: vec![TermsOrder::Term { descending: false }],
                select: vec![count()],
                name: Some("s".into())
            }]
        );
        assert_eq!(
            parse_ok(json!([{"_agg": "field", "_field": "tags", "_size": "3"}])),
            vec![Aggregation::Terms {
                field: "tags".into(),
                size: 3,
                order: vec![TermsOrder::Count { descending: true }],
                select: vec![],
                name: None
            }]
        );
        let [Aggregation::Terms { order, .. }] =
            &parse_ok(json!([{"_agg": "field", "_field": "x", "_order": "-_count"}]))[..]
        else {
            panic!("one terms aggregation expected")
        };
        assert_eq!(order, &vec![TermsOrder::Count { descending: true }]);
    }

    #[test]
    fn time_category_and_top_parse() {
        assert_eq!(
            parse_ok(
                json!([{"_agg": "time", "_fields": ["createdAt", "startDate"],
                "_interval": "1w", "_select": [{"_agg": "count"}]}])
            ),
            vec![Aggregation::Time {
                fields: vec!["createdAt".into(), "startDate".into()],
                interval: Interval::Weeks(1),
                select: vec![count()],
                name: None
            }]
        );
        assert_eq!(
            parse_ok(
                json!([{"_agg": "category", "_categories": {"open": {"status": "Open"}, "all": {}},
                "_select": [{"_agg": "count"}]}])
            ),
            vec![Aggregation::Category {
                categories: vec![
                    ("open".into(), Query::eq("status", "Open")),
                    ("all".into(), Query::All)
                ],
                select: vec![count()],
                name: None
            }]
        );
        assert_eq!(
            parse_ok(json!([{"_agg": "top", "_size": 2, "_order": ["-createdAt"]}])),
            vec![Aggregation::Top {
                size: 2,
                order: vec![Sort {
                    field: "createdAt".into(),
                    descending: true
                }],
                name: None
            }]
        );
    }

    #[test]
    fn intervals_cover_calendar_units() {
        assert_eq!(interval("1d"), Some(Interval::Days(1)));
        assert_eq!(interval("30m"), Some(Interval::Minutes(30)));
        assert_eq!(interval("1h"), Some(Interval::Hours(1)));
        assert_eq!(interval("1M"), Some(Interval::Months(1)));
        assert_eq!(interval("1y"), Some(Interval::Years(1)));
        assert_eq!(interval("w"), Some(Interval::Weeks(1)));
        assert_eq!(interval("month"), Some(Interval::Months(1)));
        assert_eq!(interval("quarter"), Some(Interval::Months(3)));
        assert_eq!(interval("0d"), None);
        assert_eq!(interval("1x"), None);
        assert_eq!(interval("12"), None);
        assert_eq!(interval("99999999999d"), None);
    }

    #[test]
    fn malformed_aggregations_are_refused_with_a_message() {
        let cases = [
            (json!(1), "stats must be a list"),
            (json!([1]), "must be an object"),
            (json!([{}]), "needs _agg"),
            (json!([{"_agg": 1}]), "_agg must be a string"),
            (json!([{"_agg": "median"}]), "unknown aggregation median"),
            (json!([{"_agg": "avg"}]), "avg aggregation needs a _field"),
            (
                json!([{"_agg": "sum", "_field": 3}]),
                "_field must be a field name",
            ),
            (
                json!([{"_agg": "field", "_field": "a", "_size": -1}]),
                "_size must be a whole number",
            ),
            (
                json!([{"_agg": "field", "_field": "a", "_size": "x"}]),
                "_size must be a whole number",
            ),
            (
                json!([{"_agg": "field", "_field": "a", "_order": ["-title"]}]),
                "cannot order buckets",
            ),
            (
                json!([{"_agg": "field", "_field": "a", "_order": [1]}]),
                "_order entries",
            ),
            (
                json!([{"_agg": "field", "_field": "a", "_select": 1}]),
                "stats must be a list",
            ),
            (
                json!([{"_agg": "time", "_interval": "1d"}]),
                "needs _fields",
            ),
            (
                json!([{"_agg": "time", "_fields": [], "_interval": "1d"}]),
                "at least one field",
            ),
            (
                json!([{"_agg": "time", "_fields": ["a"]}]),
                "needs an _interval",
            ),
            (
                json!([{"_agg": "time", "_fields": ["a"], "_interval": "fortnight"}]),
                "unknown _interval",
            ),
            (json!([{"_agg": "category"}]), "needs _categories"),
            (
                json!([{"_agg": "category", "_categories": {"x": 1}}]),
                "must be a JSON object",
            ),
            (
                json!([{"_agg": "count", "_query": {"_bad": 1}}]),
                "unknown query operator",
            ),
            (json!([{"_agg": "count", "_name": 3}]), "_name must be"),
        ];
        for (json, expected) in cases {
            match Aggregation::parse_list(&json) {
                Ok(parsed) => panic!("{json} should be refused, parsed as {parsed:?}"),
                Err(error) => {
                    let message = error.to_string();
                    assert!(
                        message.contains(expected),
                        "{json}: {message:?} lacks {expected:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn deeply_nested_selects_are_refused() {
        let mut json = json!({"_agg": "count"});
        for _ in 0..40 {
            json = json!({"_agg": "field", "_field": "a", "_select": [json]});
        }
        assert!(Aggregation::parse_list(&json!([json])).is_err());
    }
}
