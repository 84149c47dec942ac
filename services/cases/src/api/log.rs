//! `/api/case/task/log…` and `/api/case/task/:taskId/log…`: task logs.

use actix_web::{HttpResponse, web};
use serde_json::Value;
use skep_http::{ApiError, Fields};
use skep_store::Query;

use crate::auth::Caller;
use crate::domain::{entity, log, task};
use crate::roles::{Read, Write};
use crate::state::CasesState;

async fn respond_with_search(
    state: &CasesState,
    fields: &Fields,
    scope: Query,
) -> Result<HttpResponse, ApiError> {
    let hits = super::search(&*state.store, log::KIND, fields, scope).await?;
    let levels = entity::count_param(fields.get("nparent"));
    let mut items = Vec::with_capacity(hits.documents.len());
    for document in &hits.documents {
        let mut output = log::render(document);
        super::embed_parents(
            &*state.store,
            &mut output,
            log::KIND,
            document.parent.as_deref(),
            levels,
        )
        .await;
        items.push(Value::Object(output));
    }
    Ok(skep_http::response::list(items, hits.total))
}

/// `POST /api/case/task/log/_search`.
pub async fn search_logs(
    state: web::Data<CasesState>,
    _caller: Caller<Read>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    respond_with_search(&state, &fields, Query::All).await
}

/// `GET /api/case/task/:taskId/log`, `POST /api/case/task/:taskId/log/_search`.
pub async fn search_task_logs(
    state: web::Data<CasesState>,
    _caller: Caller<Read>,
    path: web::Path<String>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    respond_with_search(&state, &fields, entity::child_of(task::KIND, &path)).await
}

/// `POST /api/case/task/log/_stats`.
pub async fn log_stats(
    state: web::Data<CasesState>,
    _caller: Caller<Read>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    super::stats(&*state.store, log::KIND, &fields, Query::All).await
}

/// `POST /api/case/task/:taskId/log` (JSON, or multipart `_json` + file part `attachment`):
/// 201 log. Needs only `read`, as in TheHive.
pub async fn create_log(
    state: web::Data<CasesState>,
    caller: Caller<Read>,
    path: web::Path<String>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    let (body, mut files) = fields.into_parts();
    let position = files.iter().position(|file| file.field == "attachment");
    let file = position.map(|position| files.swap_remove(position));
    let document = log::create(&*state.store, &caller.login, &path, body, file).await?;
    Ok(skep_http::response::created(&log::render(&document)))
}

/// `GET /api/case/task/log/:id`.
pub async fn get_log(
    state: web::Data<CasesState>,
    _caller: Caller<Read>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let document = log::get(&*state.store, &path).await?;
    Ok(skep_http::response::ok(&log::render(&document)))
}

/// `PATCH /api/case/task/log/:id`: 200 log.
pub async fn update_log(
    state: web::Data<CasesState>,
    caller: Caller<Write>,
    path: web::Path<String>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    let document = log::update(&*state.store, &caller.login, &path, fields.body().clone()).await?;
    Ok(skep_http::response::ok(&log::render(&document)))
}

/// `DELETE /api/case/task/log/:id`: soft delete, 200 with an empty body (TheHive's quirk).
pub async fn delete_log(
    state: web::Data<CasesState>,
    caller: Caller<Write>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    log::soft_delete(&*state.store, &caller.login, &path).await?;
    Ok(HttpResponse::Ok().finish())
}
