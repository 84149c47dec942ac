//! The HTTP edge: one module per resource; each handler extracts, calls the domain, renders.

pub mod case;
pub mod connector;
pub mod datastore;
pub mod extra;
pub mod log;
pub mod maintenance;
pub mod observable;
pub mod search;
pub mod session;
pub mod status;
pub mod task;
pub mod user;

use skep_http::search::SearchRequest;
use skep_http::{ApiError, Fields};
use skep_store::{Hits, Query, Store};

/// Runs the `_search` of `kind` described by `fields` (`query`, `range`, `sort`), AND-ed with
/// `scope`.
pub async fn search(
    store: &dyn Store,
    kind: &str,
    fields: &Fields,
    scope: Query,
) -> Result<Hits, ApiError> {
    let request = SearchRequest::from_fields(fields)?;
    let query = scope.and(request.query);
    Ok(store
        .search(kind, &query, request.page, &request.sort)
        .await?)
}

/// The "multi output" of bulk calls: all succeeded → `success_status` + array; all failed →
/// 400 + array of errors; mixed → 207 + `{"success": [...], "failure": [...]}`.
pub fn multi_output(
    results: Vec<Result<serde_json::Value, ApiError>>,
    success_status: actix_web::http::StatusCode,
) -> actix_web::HttpResponse {
    let mut success = Vec::new();
    let mut failure = Vec::new();
    for result in results {
        match result {
            Ok(value) => success.push(value),
            Err(error) => failure.push(error_json(&error)),
        }
    }
    if failure.is_empty() {
        actix_web::HttpResponse::build(success_status).json(success)
    } else if success.is_empty() {
        actix_web::HttpResponse::BadRequest().json(failure)
    } else {
        actix_web::HttpResponse::build(actix_web::http::StatusCode::MULTI_STATUS)
            .json(serde_json::json!({ "success": success, "failure": failure }))
    }
}

/// The JSON body of an error, as embedded in multi outputs.
pub fn error_json(error: &ApiError) -> serde_json::Value {
    error
        .body()
        .and_then(|body| serde_json::to_value(body).ok())
        .unwrap_or_else(
            || serde_json::json!({"type": "InternalError", "message": error.to_string()}),
        )
}

/// The parent model of a child model, if any.
fn parent_kind(kind: &str) -> Option<&'static str> {
    match kind {
        "case_task" | "case_artifact" => Some("case"),
        "case_task_log" => Some("case_task"),
        "case_artifact_job" => Some("case_artifact"),
        _ => None,
    }
}

/// Renders a document of any of the case models.
pub fn render_any(
    kind: &str,
    document: &skep_store::Document,
) -> serde_json::Map<String, serde_json::Value> {
    use crate::domain::{case, log, observable, task};
    match kind {
        case::KIND => case::render(document),
        task::KIND => task::render(document),
        log::KIND => log::render(document),
        observable::KIND => observable::render(document),
        other => crate::domain::entity::render(other, document),
    }
}

/// Embeds up to `levels` ancestors of a rendered child under their model names (`nparent`):
/// a log gets `case_task`, which gets `case`.
pub async fn embed_parents(
    store: &dyn Store,
    object: &mut serde_json::Map<String, serde_json::Value>,
    kind: &str,
    parent: Option<&str>,
    levels: u32,
) {
    let mut chain = Vec::new();
    let mut current_kind = kind.to_owned();
    let mut current_parent = parent.map(str::to_owned);
    for _ in 0..levels {
        let (Some(ancestor_kind), Some(ancestor_id)) =
            (parent_kind(&current_kind), current_parent.clone())
        else {
            break;
        };
        let Ok(document) = store.get(ancestor_kind, &ancestor_id).await else {
            break;
        };
        chain.push((ancestor_kind, render_any(ancestor_kind, &document)));
        current_kind = ancestor_kind.to_owned();
        current_parent = document.parent.clone();
    }
    let mut nested: Option<(&str, serde_json::Map<String, serde_json::Value>)> = None;
    while let Some((ancestor_kind, mut rendered)) = chain.pop() {
        if let Some((inner_kind, inner)) = nested.take() {
            rendered.insert(inner_kind.to_owned(), serde_json::Value::Object(inner));
        }
        nested = Some((ancestor_kind, rendered));
    }
    if let Some((ancestor_kind, rendered)) = nested {
        object.insert(
            ancestor_kind.to_owned(),
            serde_json::Value::Object(rendered),
        );
    }
}

/// Runs a `_stats` request on `kind`, AND-ed with `scope`.
pub async fn stats(
    store: &dyn Store,
    kind: &str,
    fields: &Fields,
    scope: Query,
) -> Result<actix_web::HttpResponse, ApiError> {
    let request = skep_http::search::StatsRequest::from_fields(fields)?;
    let query = scope.and(request.query);
    let result = store.aggregate(kind, &query, &request.aggregations).await?;
    Ok(skep_http::response::ok(&result))
}
