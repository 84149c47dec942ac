//! `/api/case/task…` and `/api/case/:caseId/task…`: tasks.

use actix_web::{HttpResponse, web};
use serde_json::Value;
use skep_http::{ApiError, Fields};
use skep_store::Query;

use crate::auth::Caller;
use crate::domain::{case, entity, task};
use crate::roles::{Read, Write};
use crate::state::CasesState;

/// `with_stats` (the `stats` flag of the global task search, as TheHive names it there): each
/// task gets `stats` (tasks have none: `{}`), and an embedded case its own statistics.
async fn respond_with_search(
    state: &CasesState,
    fields: &Fields,
    scope: Query,
    with_stats: bool,
) -> Result<HttpResponse, ApiError> {
    let hits = super::search(&*state.store, task::KIND, fields, scope).await?;
    let levels = entity::count_param(fields.get("nparent"));
    let mut items = Vec::with_capacity(hits.documents.len());
    for document in &hits.documents {
        let mut output = task::render(document);
        super::embed_parents(
            &*state.store,
            &mut output,
            task::KIND,
            document.parent.as_deref(),
            levels,
        )
        .await;
        if with_stats {
            output.insert("stats".into(), Value::Object(serde_json::Map::new()));
            if let (Some(Value::Object(embedded)), Some(case_id)) =
                (output.get_mut(case::KIND), document.parent.as_deref())
            {
                let parent = state.store.get(case::KIND, case_id).await?;
                embedded.insert("stats".into(), case::stats(&*state.store, &parent).await?);
            }
        }
        items.push(Value::Object(output));
    }
    Ok(skep_http::response::list(items, hits.total))
}

/// `POST /api/case/task/_search` (`nparent` embeds the case, `stats` adds statistics).
pub async fn search_tasks(
    state: web::Data<CasesState>,
    _caller: Caller<Read>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    let with_stats = entity::flag(fields.get("stats"));
    respond_with_search(&state, &fields, Query::All, with_stats).await
}

/// `POST /api/case/:caseId/task/_search`: the tasks of one case.
pub async fn search_case_tasks(
    state: web::Data<CasesState>,
    _caller: Caller<Read>,
    path: web::Path<String>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    respond_with_search(&state, &fields, entity::child_of(case::KIND, &path), false).await
}

/// `POST /api/case/task/_stats`.
pub async fn task_stats(
    state: web::Data<CasesState>,
    _caller: Caller<Read>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    super::stats(&*state.store, task::KIND, &fields, Query::All).await
}

/// `POST /api/case/:caseId/task`: 201 task.
pub async fn create_task(
    state: web::Data<CasesState>,
    caller: Caller<Write>,
    path: web::Path<String>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    let document = task::create(&*state.store, &caller.login, &path, fields.body().clone()).await?;
    Ok(skep_http::response::created(&task::render(&document)))
}

/// `GET /api/case/task/:id`.
pub async fn get_task(
    state: web::Data<CasesState>,
    _caller: Caller<Read>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let document = task::get(&*state.store, &path).await?;
    Ok(skep_http::response::ok(&task::render(&document)))
}

/// `PATCH /api/case/task/:id`: 200 task.
pub async fn update_task(
    state: web::Data<CasesState>,
    caller: Caller<Write>,
    path: web::Path<String>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    let document = task::update(&*state.store, &caller.login, &path, fields.body().clone()).await?;
    Ok(skep_http::response::ok(&task::render(&document)))
}
