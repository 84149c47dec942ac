//! `POST /api/_search` and `POST /api/_stats`: searches and statistics across models.

use actix_web::{HttpResponse, web};
use serde_json::{Map, Value};
use skep_http::search::SearchRequest;
use skep_http::{ApiError, Fields};
use skep_store::{Aggregation, Page, Query};

use crate::auth::Caller;
use crate::domain::secrets::SECRETS;
use crate::roles::Read;
use crate::state::CasesState;

/// Models a global search or global stats cover (TheHive excludes audit, data, user and
/// connector models); anything else is a 400.
const SEARCHED_MODELS: [&str; 5] = [
    "case",
    "case_task",
    "case_task_log",
    "case_artifact",
    "alert",
];

/// `POST /api/_search`: matching non-Deleted documents of every model, each with its `_type`;
/// unaudited attributes removed.
pub async fn search_all(
    state: web::Data<CasesState>,
    _caller: Caller<Read>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    let request = SearchRequest::from_fields(&fields)?;
    for model in SEARCHED_MODELS {
        SECRETS.check_search(model, &request.query, &request.sort)?;
    }
    let query = request.query.clone().and(visible());
    let wanted = request.page.limit.map(|limit| request.page.offset + limit);
    let mut total = 0;
    let mut found: Vec<Map<String, Value>> = Vec::new();
    for model in SEARCHED_MODELS {
        let page = Page {
            offset: 0,
            limit: wanted,
        };
        let hits = state
            .store
            .search(model, &query, page, &request.sort)
            .await?;
        total += hits.total;
        for document in &hits.documents {
            let mut output = super::render_any(model, document);
            for unaudited in ["reports", "artifacts"] {
                output.remove(unaudited);
            }
            found.push(output);
        }
    }
    sort_merged(&mut found, &request.sort);
    let items = found
        .into_iter()
        .skip(request.page.offset as usize)
        .take(
            request
                .page
                .limit
                .map_or(usize::MAX, |limit| limit as usize),
        )
        .map(Value::Object)
        .collect();
    Ok(skep_http::response::list(items, total))
}

/// What a reader sees of every searched model: everything but deleted objects.
fn visible() -> Query {
    Query::Not(Box::new(Query::eq("status", "Deleted")))
}

fn sort_merged(found: &mut [Map<String, Value>], sort: &[skep_store::Sort]) {
    let default = [skep_store::Sort {
        field: "createdAt".into(),
        descending: true,
    }];
    let keys = if sort.is_empty() { &default[..] } else { sort };
    found.sort_by(|left, right| {
        for key in keys {
            let ordering = compare(left.get(&key.field), right.get(&key.field));
            let ordering = if key.descending {
                ordering.reverse()
            } else {
                ordering
            };
            if ordering.is_ne() {
                return ordering;
            }
        }
        std::cmp::Ordering::Equal
    });
}

fn compare(left: Option<&Value>, right: Option<&Value>) -> std::cmp::Ordering {
    match (left, right) {
        (Some(Value::Number(a)), Some(Value::Number(b))) => a
            .as_f64()
            .unwrap_or(0.0)
            .total_cmp(&b.as_f64().unwrap_or(0.0)),
        (Some(Value::String(a)), Some(Value::String(b))) => a.cmp(b),
        (Some(_), None) => std::cmp::Ordering::Greater,
        (None, Some(_)) => std::cmp::Ordering::Less,
        _ => std::cmp::Ordering::Equal,
    }
}

/// `POST /api/_stats` `{query?, stats: [{model, query?, stats: [...]}, …]}`: the per-model
/// results deep-merged into one object. Models and visibility are those of `/api/_search`.
pub async fn stats_all(
    state: web::Data<CasesState>,
    _caller: Caller<Read>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    let global = match fields.get("query") {
        Some(query) => Query::parse(query)?,
        None => Query::All,
    };
    let entries = fields
        .get("stats")
        .and_then(Value::as_array)
        .ok_or_else(|| ApiError::bad_request("the stats parameter is missing"))?;
    let mut result = Map::new();
    for entry in entries {
        let model = entry
            .get("model")
            .and_then(Value::as_str)
            .ok_or_else(|| ApiError::bad_request("each stats entry needs a model"))?;
        if !SEARCHED_MODELS.contains(&model) {
            return Err(ApiError::bad_request(format!(
                "model {model} has no global statistics (one of {})",
                SEARCHED_MODELS.join(", ")
            )));
        }
        let query = match entry.get("query") {
            Some(query) => global.clone().and(Query::parse(query)?),
            None => global.clone(),
        };
        let aggregations =
            Aggregation::parse_list(entry.get("stats").unwrap_or(&Value::Array(Vec::new())))?;
        SECRETS.check_stats(model, &query, &aggregations)?;
        let query = query.and(visible());
        let mut partial = state.store.aggregate(model, &query, &aggregations).await?;
        SECRETS.strip_aggregations(model, &mut partial);
        deep_merge(&mut result, partial);
    }
    Ok(skep_http::response::ok(&result))
}

fn deep_merge(target: &mut Map<String, Value>, source: Map<String, Value>) {
    for (key, value) in source {
        match (target.get_mut(&key), value) {
            (Some(Value::Object(existing)), Value::Object(incoming)) => {
                deep_merge(existing, incoming)
            }
            (_, value) => {
                target.insert(key, value);
            }
        }
    }
}
