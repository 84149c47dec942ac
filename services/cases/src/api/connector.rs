//! `/api/connector/cortex/…`: analyzers, jobs, responders, actions and report templates of
//! the engine connector (TheHive 3's Cortex module). Handlers are thin: the rules live in
//! `domain::connector`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde_json::{Map, Value};
use skep_http::{ApiError, Fields};
use skep_store::Query;

use crate::auth::Caller;
use crate::domain::connector::follow::{self, Followed};
use crate::domain::connector::server::WorkerKind;
use crate::domain::connector::{action, job, report_template};
use crate::domain::{entity, migration, observable};
use crate::roles::{Admin, Read, Write};
use crate::state::CasesState;

fn require_enabled(state: &CasesState) -> Result<(), ApiError> {
    if state.connector.enabled() {
        Ok(())
    } else {
        Err(ApiError::not_found("connector cortex not found"))
    }
}

/// `GET /api/connector/cortex/analyzer`: every analyzer of every engine, merged by name.
pub async fn list_analyzers(
    state: web::Data<CasesState>,
    _caller: Caller<Read>,
) -> Result<HttpResponse, ApiError> {
    require_enabled(&state)?;
    let analyzers = state.connector.workers(WorkerKind::Analyzer, None).await;
    let total = analyzers.len() as u64;
    Ok(skep_http::response::list(analyzers, total))
}

/// `GET /api/connector/cortex/analyzer/type/:dataType`.
pub async fn list_analyzers_by_type(
    state: web::Data<CasesState>,
    _caller: Caller<Read>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    require_enabled(&state)?;
    let analyzers = state
        .connector
        .workers(WorkerKind::Analyzer, Some(&path))
        .await;
    let total = analyzers.len() as u64;
    Ok(skep_http::response::list(analyzers, total))
}

/// `GET /api/connector/cortex/analyzer/:id`: one analyzer (by id or name).
pub async fn get_analyzer(
    state: web::Data<CasesState>,
    _caller: Caller<Read>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    require_enabled(&state)?;
    let analyzers = state.connector.workers(WorkerKind::Analyzer, None).await;
    let found = analyzers
        .into_iter()
        .find(|analyzer| analyzer["id"] == path.as_str() || analyzer["name"] == path.as_str())
        .ok_or_else(|| ApiError::not_found(format!("analyzer {path} not found")))?;
    Ok(skep_http::response::ok(&found))
}

/// A string or an array of strings of the body, as a list.
fn one_or_many(body: &Map<String, Value>, key: &str) -> Result<Vec<String>, ApiError> {
    let values: Vec<String> = match body.get(key) {
        Some(Value::String(text)) => vec![text.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    };
    if values.is_empty() {
        return Err(ApiError::bad_request(format!("{key} is required")));
    }
    Ok(values)
}

/// `POST /api/connector/cortex/job` `{analyzerId, artifactId, cortexId?}`: 200 with the job
/// (`InProgress`). `analyzerId` and `artifactId` may also be arrays: every analyzer runs on
/// every observable, and the answer is the multi output (200 array / 207 / 400).
pub async fn create_job(
    state: web::Data<CasesState>,
    caller: Caller<Write>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    require_enabled(&state)?;
    let body = fields.body();
    let analyzers = one_or_many(body, "analyzerId")?;
    let artifacts = one_or_many(body, "artifactId")?;
    let cortex_id = body.get("cortexId").and_then(Value::as_str);
    let multi = analyzers.len() > 1
        || artifacts.len() > 1
        || body.get("analyzerId").is_some_and(Value::is_array)
        || body.get("artifactId").is_some_and(Value::is_array);
    let mut results = Vec::new();
    for artifact in &artifacts {
        for analyzer in &analyzers {
            let submitted = job::submit(
                &*state.store,
                &state.connector,
                &caller.login,
                analyzer,
                artifact,
                cortex_id,
            )
            .await;
            results.push(submitted.map(|document| {
                follow::spawn(state.clone(), Followed::Job, document.id.clone());
                Value::Object(job::render(&document))
            }));
        }
    }
    if multi {
        return Ok(super::multi_output(results, StatusCode::OK));
    }
    match results.into_iter().next() {
        Some(Ok(output)) => Ok(skep_http::response::ok(&output)),
        Some(Err(error)) => Err(error),
        None => Err(ApiError::bad_request("no job to create")),
    }
}

/// `GET /api/connector/cortex/job/:id` (`nstats=true` adds each report artifact's `id` in the
/// case, or null).
pub async fn get_job(
    state: web::Data<CasesState>,
    _caller: Caller<Read>,
    path: web::Path<String>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    let document = job::get(&*state.store, &path).await?;
    let mut output = job::render(&document);
    if entity::flag(fields.get("nstats")) {
        job::mark_known_artifacts(&*state.store, &document, &mut output).await?;
    }
    Ok(skep_http::response::ok(&output))
}

/// `POST /api/connector/cortex/job/_search`: jobs without their reports (`nparent` embeds the
/// observable and its case).
pub async fn search_jobs(
    state: web::Data<CasesState>,
    _caller: Caller<Read>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    let hits = super::search(&*state.store, job::KIND, &fields, Query::All).await?;
    let levels = entity::count_param(fields.get("nparent"));
    let mut items = Vec::with_capacity(hits.documents.len());
    for document in &hits.documents {
        let mut output = job::render(document);
        output.remove("report");
        super::embed_parents(
            &*state.store,
            &mut output,
            job::KIND,
            document.parent.as_deref(),
            levels,
        )
        .await;
        items.push(Value::Object(output));
    }
    Ok(skep_http::response::list(items, hits.total))
}

/// `POST /api/connector/cortex/job/_stats`.
pub async fn job_stats(
    state: web::Data<CasesState>,
    _caller: Caller<Read>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    super::stats(&*state.store, job::KIND, &fields, Query::All).await
}

/// `POST /api/connector/cortex/job/:id/artifacts/_import` `{positions?: [n…]}`: the report's
/// artifacts (all, or those at `positions`) become observables of the job's case in one call;
/// multi output (201 array / 207 / 400).
pub async fn import_job_artifacts(
    state: web::Data<CasesState>,
    caller: Caller<Write>,
    path: web::Path<String>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    let document = job::get(&*state.store, &path).await?;
    let positions = match fields.get("positions") {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) => Some(
            items
                .iter()
                .map(|item| {
                    item.as_u64()
                        .map(|n| n as usize)
                        .ok_or_else(|| ApiError::bad_request("positions must be a list of numbers"))
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
        Some(_) => return Err(ApiError::bad_request("positions must be a list of numbers")),
    };
    let data_types = migration::observable_data_types(&state).await?;
    let results = job::import_artifacts(
        &*state.store,
        &state.connector,
        &caller.login,
        &document,
        positions,
        &data_types,
    )
    .await?;
    let rendered = results
        .into_iter()
        .map(|result| result.map(|document| Value::Object(observable::render(&document))))
        .collect();
    Ok(super::multi_output(rendered, StatusCode::CREATED))
}

/// `GET /api/connector/cortex/responder`: every responder of every engine, merged by name.
pub async fn list_responders(
    state: web::Data<CasesState>,
    _caller: Caller<Read>,
) -> Result<HttpResponse, ApiError> {
    require_enabled(&state)?;
    let responders = state.connector.workers(WorkerKind::Responder, None).await;
    let total = responders.len() as u64;
    Ok(skep_http::response::list(responders, total))
}

/// `GET /api/connector/cortex/responder/:entityType/:entityId`: the responders that may run on
/// that entity.
pub async fn applicable_responders(
    state: web::Data<CasesState>,
    _caller: Caller<Read>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    require_enabled(&state)?;
    let (entity_type, entity_id) = path.into_inner();
    let responders =
        action::applicable(&*state.store, &state.connector, &entity_type, &entity_id).await?;
    let total = responders.len() as u64;
    Ok(skep_http::response::list(responders, total))
}

/// `POST /api/connector/cortex/action`: runs a responder; 200 with the action (`InProgress`).
pub async fn create_action(
    state: web::Data<CasesState>,
    caller: Caller<Write>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    require_enabled(&state)?;
    let request = action::ActionRequest::from_body(fields.body())?;
    let document = action::submit(&*state.store, &state.connector, &caller.login, request).await?;
    follow::spawn(state.clone(), Followed::Action, document.id.clone());
    Ok(skep_http::response::ok(&action::render(&document)))
}

/// `GET|POST /api/connector/cortex/action[/_search]`.
pub async fn search_actions(
    state: web::Data<CasesState>,
    _caller: Caller<Read>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    let hits = super::search(&*state.store, action::KIND, &fields, Query::All).await?;
    let items = hits
        .documents
        .iter()
        .map(|document| Value::Object(action::render(document)))
        .collect();
    Ok(skep_http::response::list(items, hits.total))
}

/// `POST /api/connector/cortex/action/_stats`.
pub async fn action_stats(
    state: web::Data<CasesState>,
    _caller: Caller<Read>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    super::stats(&*state.store, action::KIND, &fields, Query::All).await
}

/// `GET /api/connector/cortex/action/:entityType/:entityId`: the actions run on an entity
/// (`range`, `sort` from the query string), newest first.
pub async fn entity_actions(
    state: web::Data<CasesState>,
    _caller: Caller<Read>,
    path: web::Path<(String, String)>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    let (entity_type, entity_id) = path.into_inner();
    let scope = Query::eq("objectType", entity_type.as_str())
        .and(Query::eq("objectId", entity_id.as_str()));
    let hits = super::search(&*state.store, action::KIND, &fields, scope).await?;
    let items = hits
        .documents
        .iter()
        .map(|document| Value::Object(action::render(document)))
        .collect();
    Ok(skep_http::response::list(items, hits.total))
}

/// `GET /api/connector/cortex/action/:id`.
pub async fn get_action(
    state: web::Data<CasesState>,
    _caller: Caller<Read>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let document = action::get(&*state.store, &path).await?;
    Ok(skep_http::response::ok(&action::render(&document)))
}

/// `POST /api/connector/cortex/report/template/_search`.
pub async fn search_report_templates(
    state: web::Data<CasesState>,
    _caller: Caller<Read>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    let hits = super::search(&*state.store, report_template::KIND, &fields, Query::All).await?;
    let items = hits
        .documents
        .iter()
        .map(|document| Value::Object(report_template::render(document)))
        .collect();
    Ok(skep_http::response::list(items, hits.total))
}

/// `POST /api/connector/cortex/report/template` `{analyzerId, reportType, content}`: 201.
pub async fn create_report_template(
    state: web::Data<CasesState>,
    caller: Caller<Admin>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    let text = |key: &str| {
        fields
            .str(key)
            .map(str::to_owned)
            .ok_or_else(|| ApiError::bad_request(format!("{key} is required")))
    };
    let document = report_template::put(
        &*state.store,
        &caller.login,
        &text("analyzerId")?,
        &text("reportType")?,
        &text("content")?,
    )
    .await?;
    Ok(skep_http::response::created(&report_template::render(
        &document,
    )))
}

/// `POST /api/connector/cortex/report/template/_import`: multipart, file part `templates` =
/// a zip of `<analyzerId>/<short|long>.html`; answers `{"<analyzerId>_<type>": true|false}`.
pub async fn import_report_templates(
    state: web::Data<CasesState>,
    caller: Caller<Write>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    let archive = fields
        .file("templates")
        .ok_or_else(|| ApiError::bad_request("the zip file part `templates` is required"))?;
    let outcome = report_template::import_zip(&*state.store, &caller.login, &archive.data).await?;
    Ok(skep_http::response::ok(&Value::Object(outcome)))
}

/// `GET /api/connector/cortex/report/template/:id`.
pub async fn get_report_template(
    state: web::Data<CasesState>,
    _caller: Caller<Read>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let document = report_template::get(&*state.store, &path).await?;
    Ok(skep_http::response::ok(&report_template::render(&document)))
}

/// `DELETE /api/connector/cortex/report/template/:id`: 204.
pub async fn delete_report_template(
    state: web::Data<CasesState>,
    _caller: Caller<Admin>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    report_template::delete(&*state.store, &path).await?;
    Ok(skep_http::response::no_content())
}

/// `GET /api/connector/cortex/report/template/content/:analyzerId/:reportType`: the HTML as
/// stored (`text/html`, never executed here; the UI renders it sandboxed); 404 when none.
pub async fn report_template_content(
    state: web::Data<CasesState>,
    _caller: Caller<Read>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (analyzer_id, report_type) = path.into_inner();
    let id = report_template::template_id(&analyzer_id, &report_type);
    match state.store.get(report_template::KIND, &id).await {
        Ok(document) => {
            let content = document
                .body
                .get("content")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            Ok(HttpResponse::Ok()
                .content_type("text/html; charset=utf-8")
                .insert_header(("Content-Security-Policy", "sandbox"))
                .insert_header(("X-Content-Type-Options", "nosniff"))
                .body(content))
        }
        Err(skep_store::StoreError::NotFound { .. }) => Ok(HttpResponse::NotFound().finish()),
        Err(error) => Err(error.into()),
    }
}
