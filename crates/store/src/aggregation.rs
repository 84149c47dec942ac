//! Aggregations for `_stats` dashboards, and the shape of their results.
//!
//! Result shapes follow TheHive 3 (see `docs/` and the spec): `count` gives `{"count": n}`;
//! `avg|min|max|sum` give `{"<kind>_<field>": x}` (0 when empty); `field` merges one entry per
//! term (bucket keys are strings: numbers as `"2"`, booleans as `"1"`/`"0"`) into the parent
//! object, each holding its sub-aggregation results; `time` gives
//! `{"<bucketStartEpochMs>": {"<dateField>": {…}}}`; `category` gives `{"<name>": {…}}`; `top`
//! gives `{"top": [documents]}`. A custom `_name` replaces the result key.

use crate::Query;

/// One aggregation of a `_stats` request.
#[derive(Debug, Clone, PartialEq)]
pub enum Aggregation {
    /// Number of matching documents (`_agg: count`).
    Count {
        /// Custom result key.
        name: Option<String>,
        /// Extra filter (`_query`).
        query: Option<Query>,
    },
    /// A metric over a numeric field (`avg`, `min`, `max`, `sum`).
    Metric {
        /// Which metric.
        kind: MetricKind,
        /// Dotted field path.
        field: String,
        /// Custom result key.
        name: Option<String>,
        /// Extra filter (`_query`).
        query: Option<Query>,
    },
    /// Terms buckets on a field (`_agg: field`).
    Terms {
        /// Dotted field path.
        field: String,
        /// Maximum number of buckets (`_size`, default 10).
        size: u64,
        /// Bucket order (`_order`, default `-_count`).
        order: Vec<TermsOrder>,
        /// Sub-aggregations per bucket (`_select`).
        select: Vec<Aggregation>,
        /// Custom result key; when set, buckets are nested under it.
        name: Option<String>,
    },
    /// Date histogram over one or more date fields (`_agg: time`).
    Time {
        /// Date fields (epoch milliseconds).
        fields: Vec<String>,
        /// Bucket width.
        interval: Interval,
        /// Sub-aggregations per bucket.
        select: Vec<Aggregation>,
        /// Custom result key.
        name: Option<String>,
    },
    /// Named buckets, each defined by a query (`_agg: category`).
    Category {
        /// Bucket name and its query, in request order.
        categories: Vec<(String, Query)>,
        /// Sub-aggregations per bucket.
        select: Vec<Aggregation>,
        /// Custom result key.
        name: Option<String>,
    },
    /// The first documents (`_agg: top`).
    Top {
        /// How many (`_size`, default 10).
        size: u64,
        /// Their order.
        order: Vec<crate::Sort>,
        /// Custom result key.
        name: Option<String>,
    },
}

/// Which numeric metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    /// Mean.
    Avg,
    /// Minimum.
    Min,
    /// Maximum.
    Max,
    /// Sum.
    Sum,
}

/// Order of terms buckets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TermsOrder {
    /// By document count.
    Count {
        /// True for descending.
        descending: bool,
    },
    /// By the term itself.
    Term {
        /// True for descending.
        descending: bool,
    },
}

/// Width of a time bucket: calendar units as Elasticsearch's calendar intervals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interval {
    /// Fixed minutes (`1m`, `30m`).
    Minutes(u32),
    /// Fixed hours (`1h`).
    Hours(u32),
    /// Days (`1d`).
    Days(u32),
    /// Weeks starting Monday (`1w`).
    Weeks(u32),
    /// Calendar months (`1M`).
    Months(u32),
    /// Calendar years (`1y`).
    Years(u32),
}

mod parse;

impl Aggregation {
    /// Parses the `stats` list of a `_stats` request. Malformed entries (unknown `_agg`,
    /// missing `_field`, bad `_interval`, …) give
    /// [`StoreError::InvalidQuery`](crate::StoreError::InvalidQuery) naming the entry.
    pub fn parse_list(json: &serde_json::Value) -> crate::Result<Vec<Aggregation>> {
        parse::parse_list(json, 0)
    }

    /// Parses one aggregation object.
    pub fn parse(json: &serde_json::Value) -> crate::Result<Aggregation> {
        parse::parse_one(json, 0)
    }
}

impl Interval {
    /// Parses `1d`, `1w`, `1M`, `1y`, `6h`, `30m` (also `day`, `week`, `month`, `quarter`,
    /// `year`, `hour`, `minute`).
    pub fn parse(text: &str) -> Option<Interval> {
        parse::interval(text)
    }
}

/// The JSON of one document in a `top` result: `_id`, `_parent` when it has one, then its body.
pub fn top_hit(document: &crate::Document) -> serde_json::Value {
    use serde_json::Value;
    let mut object = serde_json::Map::new();
    object.insert("_id".into(), Value::String(document.id.clone()));
    if let Some(parent) = &document.parent {
        object.insert("_parent".into(), Value::String(parent.clone()));
    }
    for (key, value) in &document.body {
        object.insert(key.clone(), value.clone());
    }
    Value::Object(object)
}

/// Inserts `value` under `key`, merging objects deeply into one already there (results of
/// several aggregations share one object, and time buckets of several fields share a key).
pub fn merge_into(
    target: &mut serde_json::Map<String, serde_json::Value>,
    key: &str,
    value: serde_json::Value,
) {
    use serde_json::Value;
    match (target.get_mut(key), value) {
        (Some(Value::Object(existing)), Value::Object(incoming)) => {
            for (inner_key, inner_value) in incoming {
                merge_into(existing, &inner_key, inner_value);
            }
        }
        (_, value) => {
            target.insert(key.to_owned(), value);
        }
    }
}
