//! `/api/case/artifact…` and `/api/case/:caseId/artifact…`: observables.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde_json::Value;
use skep_http::{ApiError, Fields};
use skep_store::Query;

use crate::auth::Caller;
use crate::domain::observable::{self, OnDuplicate};
use crate::domain::{case, entity, migration, similarity};
use crate::roles::{Read, Write};
use crate::state::CasesState;

async fn respond_with_search(
    state: &CasesState,
    fields: &Fields,
    scope: Query,
) -> Result<HttpResponse, ApiError> {
    let hits = super::search(&*state.store, observable::KIND, fields, scope).await?;
    let levels = entity::count_param(fields.get("nparent"));
    let with_stats = entity::flag(fields.get("nstats"));
    let mut items = Vec::with_capacity(hits.documents.len());
    for document in &hits.documents {
        let mut output = observable::render(document);
        super::embed_parents(
            &*state.store,
            &mut output,
            observable::KIND,
            document.parent.as_deref(),
            levels,
        )
        .await;
        if with_stats {
            output.insert(
                "stats".into(),
                observable::stats(&*state.store, document).await?,
            );
        }
        items.push(Value::Object(output));
    }
    Ok(skep_http::response::list(items, hits.total))
}

/// `POST /api/case/artifact/_search` (`nparent`, `nstats`).
pub async fn search_observables(
    state: web::Data<CasesState>,
    _caller: Caller<Read>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    respond_with_search(&state, &fields, Query::All).await
}

/// `POST /api/case/:caseId/artifact/_search`: the observables of one case.
pub async fn search_case_observables(
    state: web::Data<CasesState>,
    _caller: Caller<Read>,
    path: web::Path<String>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    respond_with_search(&state, &fields, entity::child_of(case::KIND, &path)).await
}

/// `POST /api/case/artifact/_stats`.
pub async fn observable_stats(
    state: web::Data<CasesState>,
    _caller: Caller<Read>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    super::stats(&*state.store, observable::KIND, &fields, Query::All).await
}

/// `POST /api/case/:caseId/artifact`: one value → 201 object; several values or any file →
/// multi output (201 array / 207 / 400).
pub async fn create_observables(
    state: web::Data<CasesState>,
    caller: Caller<Write>,
    path: web::Path<String>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    let parent = case::get(&*state.store, &path).await?;
    let (body, files) = fields.into_parts();
    let data_types = migration::observable_data_types(&state).await?;
    let password = &state.config.datastore.zip_password;
    let request = observable::prepare(&*state.store, &data_types, password, body, files).await?;
    let results = observable::create_many(
        &*state.store,
        &caller.login,
        &parent.id,
        request.drafts,
        OnDuplicate::Reject,
    )
    .await;
    let rendered: Vec<Result<Value, ApiError>> = results
        .into_iter()
        .map(|result| result.map(|document| Value::Object(observable::render(&document))))
        .collect();
    if request.multi {
        return Ok(super::multi_output(rendered, StatusCode::CREATED));
    }
    match rendered.into_iter().next() {
        Some(Ok(output)) => Ok(skep_http::response::created(&output)),
        Some(Err(error)) => Err(error),
        None => Err(ApiError::bad_request("no observable to create")),
    }
}

/// `GET /api/case/artifact/:id`.
pub async fn get_observable(
    state: web::Data<CasesState>,
    _caller: Caller<Read>,
    path: web::Path<String>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    let document = observable::get(&*state.store, &path).await?;
    let mut output = observable::render(&document);
    if entity::flag(fields.get("nstats")) {
        output.insert(
            "stats".into(),
            observable::stats(&*state.store, &document).await?,
        );
    }
    Ok(skep_http::response::ok(&output))
}

/// `PATCH /api/case/artifact/:id`: 200 observable.
pub async fn update_observable(
    state: web::Data<CasesState>,
    caller: Caller<Write>,
    path: web::Path<String>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    let document =
        observable::update(&*state.store, &caller.login, &path, fields.body().clone()).await?;
    Ok(skep_http::response::ok(&observable::render(&document)))
}

/// `PATCH /api/case/artifact/_bulk` `{ids, <fields>}`: multi output.
pub async fn bulk_update_observables(
    state: web::Data<CasesState>,
    caller: Caller<Write>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    let (ids, changes) = super::case::split_bulk(fields.body().clone())?;
    let mut results = Vec::with_capacity(ids.len());
    for id in ids {
        let result = observable::update(&*state.store, &caller.login, &id, changes.clone()).await;
        results.push(result.map(|document| Value::Object(observable::render(&document))));
    }
    Ok(super::multi_output(results, StatusCode::OK))
}

/// `DELETE /api/case/artifact/:id`: soft delete, 204.
pub async fn delete_observable(
    state: web::Data<CasesState>,
    caller: Caller<Write>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    observable::soft_delete(&*state.store, &caller.login, &path).await?;
    Ok(skep_http::response::no_content())
}

/// `GET /api/case/artifact/:id/similar`: similar observables of other live cases, each with
/// its `case`; `range` from the query string; `X-Total`.
pub async fn similar_observables(
    state: web::Data<CasesState>,
    _caller: Caller<Read>,
    path: web::Path<String>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    let document = observable::get(&*state.store, &path).await?;
    let similar = similarity::similar_in_other_cases(&*state.store, &document).await?;
    let total = similar.len() as u64;
    let page = skep_store::Page::parse_range(fields.str("range"));
    let items = similar
        .into_iter()
        .skip(page.offset as usize)
        .take(page.limit.map_or(usize::MAX, |limit| limit as usize))
        .map(|(other, parent)| {
            let mut output = observable::render(&other);
            output.remove("reports");
            output.insert("case".into(), Value::Object(case::render(&parent)));
            Value::Object(output)
        })
        .collect();
    Ok(skep_http::response::list(items, total))
}
