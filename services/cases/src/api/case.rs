//! `/api/case…`: cases.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde_json::{Map, Value};
use skep_http::{ApiError, Fields};
use skep_store::Query;

use crate::auth::Caller;
use crate::domain::{case, entity, similarity};
use crate::roles::{Admin, Read, Write};
use crate::state::CasesState;

/// Renders a case, with `stats` when `nstats` is set.
async fn render(
    state: &CasesState,
    document: &skep_store::Document,
    with_stats: bool,
) -> Result<Value, ApiError> {
    let mut output = case::render(document);
    if with_stats {
        output.insert("stats".into(), case::stats(&*state.store, document).await?);
    }
    Ok(Value::Object(output))
}

/// `GET /api/case`, `POST /api/case/_search`: cases matching `query` (`range`, `sort`,
/// `nstats`).
pub async fn search_cases(
    state: web::Data<CasesState>,
    _caller: Caller<Read>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    let hits = super::search(&*state.store, case::KIND, &fields, Query::All).await?;
    let with_stats = entity::flag(fields.get("nstats"));
    let mut items = Vec::with_capacity(hits.documents.len());
    for document in &hits.documents {
        items.push(render(&state, document, with_stats).await?);
    }
    Ok(skep_http::response::list(items, hits.total))
}

/// `POST /api/case/_stats`.
pub async fn case_stats(
    state: web::Data<CasesState>,
    _caller: Caller<Read>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    super::stats(&*state.store, case::KIND, &fields, Query::All).await
}

/// `POST /api/case`: 201 case.
pub async fn create_case(
    state: web::Data<CasesState>,
    caller: Caller<Write>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    let document = case::create(&*state.store, &caller.login, fields.body().clone()).await?;
    Ok(skep_http::response::created(&case::render(&document)))
}

/// `GET /api/case/:id` (`?nstats=true` adds `stats`).
pub async fn get_case(
    state: web::Data<CasesState>,
    _caller: Caller<Read>,
    path: web::Path<String>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    let document = case::get(&*state.store, &path).await?;
    let output = render(&state, &document, entity::flag(fields.get("nstats"))).await?;
    Ok(skep_http::response::ok(&output))
}

/// `PATCH /api/case/:id`: 200 case (closing side effects in the domain).
pub async fn update_case(
    state: web::Data<CasesState>,
    caller: Caller<Write>,
    path: web::Path<String>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    let document = case::update(&*state.store, &caller.login, &path, fields.body().clone()).await?;
    Ok(skep_http::response::ok(&case::render(&document)))
}

/// `PATCH /api/case/_bulk` `{ids, <fields>}`: multi output.
pub async fn bulk_update_cases(
    state: web::Data<CasesState>,
    caller: Caller<Write>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    let (ids, changes) = split_bulk(fields.body().clone())?;
    let mut results = Vec::with_capacity(ids.len());
    for id in ids {
        let result = case::update(&*state.store, &caller.login, &id, changes.clone()).await;
        results.push(result.map(|document| Value::Object(case::render(&document))));
    }
    Ok(super::multi_output(results, StatusCode::OK))
}

/// Splits a bulk body into its `ids` and the attributes to set.
pub fn split_bulk(
    mut body: Map<String, Value>,
) -> Result<(Vec<String>, Map<String, Value>), ApiError> {
    let ids: Vec<String> = body
        .remove("ids")
        .and_then(|ids| ids.as_array().cloned())
        .ok_or_else(|| ApiError::bad_request("ids is missing"))?
        .iter()
        .filter_map(|id| id.as_str().map(str::to_owned))
        .collect();
    Ok((ids, body))
}

/// `DELETE /api/case/:id` (admin): soft delete, 204.
pub async fn delete_case(
    state: web::Data<CasesState>,
    caller: Caller<Admin>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    case::soft_delete(&*state.store, &caller.login, &path).await?;
    Ok(skep_http::response::no_content())
}

/// `DELETE /api/case/:id/force` (admin): the case and everything in it, 204.
pub async fn force_delete_case(
    state: web::Data<CasesState>,
    _caller: Caller<Admin>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    case::force_delete(&*state.store, &path).await?;
    Ok(skep_http::response::no_content())
}

/// `GET /api/case/:id/links`: cases sharing observables with this one.
pub async fn case_links(
    state: web::Data<CasesState>,
    _caller: Caller<Read>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    case::get(&*state.store, &path).await?;
    let links = similarity::linked_cases(&*state.store, &path).await?;
    Ok(skep_http::response::ok(&links))
}

/// `POST /api/case/:id1/_merge/:id2`: merges two cases into a new one, 200 new case.
pub async fn merge_cases(
    state: web::Data<CasesState>,
    caller: Caller<Write>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (first, second) = path.into_inner();
    let document = case::merge(&*state.store, &caller.login, &first, &second).await?;
    Ok(skep_http::response::ok(&case::render(&document)))
}
