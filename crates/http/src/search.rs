//! Search and stats requests: `query`, `range` and `sort` (body or query string) for `_search`,
//! `query` and `stats` for `_stats`.

use serde_json::Value;
use skep_store::{Aggregation, Page, Query, Sort};

use crate::{ApiError, Fields};

/// A parsed `_search` request.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchRequest {
    /// What to find; `{}` or absent matches everything.
    pub query: Query,
    /// Which window (default `0-10`).
    pub page: Page,
    /// Sort keys, in order.
    pub sort: Vec<Sort>,
}

impl SearchRequest {
    /// Reads `query` (an object, or a JSON string holding one), `range` and `sort` (an array,
    /// or one string) from the request fields.
    pub fn from_fields(fields: &Fields) -> Result<SearchRequest, ApiError> {
        Ok(SearchRequest {
            query: query_of(fields)?,
            page: Page::parse_range(fields.str("range")),
            sort: sort_of(fields.get("sort")),
        })
    }
}

/// A parsed `_stats` request.
#[derive(Debug, Clone, PartialEq)]
pub struct StatsRequest {
    /// Which documents to aggregate.
    pub query: Query,
    /// The aggregations, in request order.
    pub aggregations: Vec<Aggregation>,
}

impl StatsRequest {
    /// Reads `query` and `stats` (required: 400 when missing) from the request fields.
    pub fn from_fields(fields: &Fields) -> Result<StatsRequest, ApiError> {
        let stats = match fields.get("stats") {
            Some(Value::String(text)) => serde_json::from_str::<Value>(text).map_err(|error| {
                ApiError::bad_request(format!("invalid stats parameter: {error}"))
            })?,
            Some(stats) => stats.clone(),
            None => return Err(ApiError::bad_request("the stats parameter is missing")),
        };
        let aggregations = Aggregation::parse_list(&stats)?;
        Ok(StatsRequest {
            query: query_of(fields)?,
            aggregations,
        })
    }
}

fn query_of(fields: &Fields) -> Result<Query, ApiError> {
    match fields.get("query") {
        None | Some(Value::Null) => Ok(Query::All),
        Some(Value::String(text)) if text.trim().is_empty() => Ok(Query::All),
        Some(Value::String(text)) => {
            let value: Value = serde_json::from_str(text).map_err(|error| {
                ApiError::bad_request(format!("invalid query parameter: {error}"))
            })?;
            Ok(Query::parse(&value)?)
        }
        Some(value) => Ok(Query::parse(value)?),
    }
}

fn sort_of(value: Option<&Value>) -> Vec<Sort> {
    match value {
        Some(Value::Array(items)) => Sort::parse_list(items.iter().filter_map(Value::as_str)),
        Some(Value::String(text)) => Sort::parse_list([text.as_str()]),
        _ => Vec::new(),
    }
}
