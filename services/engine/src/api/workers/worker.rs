//! Definitions, base configurations and enabled workers (analyzers and responders).

use actix_web::{HttpResponse, web};
use skep_http::search::SearchRequest;
use skep_http::{ApiError, Fields, response};
use skep_store::{Page, Query};

use crate::auth::Caller;
use crate::jobs::worker::{self as workers, WorkerDefaults};
use crate::jobs::{JobRuntime, JobsError, WorkerKind};
use crate::roles::{self, Role};

fn defaults(runtime: &JobRuntime) -> WorkerDefaults {
    WorkerDefaults {
        cache_minutes: runtime.config().default_cache_minutes,
        timeout_minutes: runtime.config().default_job_timeout_minutes,
    }
}

/// `GET /api/analyzerdefinition`: every loaded definition.
pub async fn list_definitions(
    runtime: web::Data<JobRuntime>,
    kind: web::Data<WorkerKind>,
    _caller: Caller<roles::Admin>,
) -> Result<HttpResponse, ApiError> {
    let catalog = runtime.catalogs().of(**kind);
    let definitions: Vec<_> = catalog
        .iter()
        .map(|definition| definition.to_json())
        .collect();
    let total = definitions.len() as u64;
    Ok(response::list(definitions, total))
}

/// `POST /api/analyzerdefinition/scan`: re-reads the catalog folders.
pub async fn scan_definitions(
    runtime: web::Data<JobRuntime>,
    kind: web::Data<WorkerKind>,
    _caller: Caller<roles::Admin>,
) -> Result<HttpResponse, ApiError> {
    let scanned = runtime.clone();
    let kind = **kind;
    tokio::task::spawn_blocking(move || scanned.catalogs().rescan(kind))
        .await
        .map_err(|error| ApiError::internal(&error))?;
    Ok(response::no_content())
}

/// `GET /api/analyzerconfig`: base configurations of the caller's organisation.
pub async fn list_base_configs(
    runtime: web::Data<JobRuntime>,
    kind: web::Data<WorkerKind>,
    caller: Caller<roles::OrgAdmin>,
) -> Result<HttpResponse, ApiError> {
    let catalog = runtime.catalogs().of(**kind);
    let configs = workers::base_configs(
        runtime.store(),
        &caller.organization,
        &catalog,
        **kind,
        defaults(&runtime),
    )
    .await?;
    Ok(response::ok(
        &configs
            .iter()
            .map(|config| config.to_json())
            .collect::<Vec<_>>(),
    ))
}

/// `GET /api/analyzerconfig/{name}`: one base configuration.
pub async fn get_base_config(
    runtime: web::Data<JobRuntime>,
    kind: web::Data<WorkerKind>,
    caller: Caller<roles::OrgAdmin>,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let catalog = runtime.catalogs().of(**kind);
    let config = workers::base_configs(
        runtime.store(),
        &caller.organization,
        &catalog,
        **kind,
        defaults(&runtime),
    )
    .await?
    .into_iter()
    .find(|config| config.name == *name)
    .ok_or_else(|| JobsError::not_found("base configuration", name.as_str()))?;
    Ok(response::ok(&config.to_json()))
}

/// `PATCH /api/analyzerconfig/{name}`: saves the values of one base configuration.
pub async fn update_base_config(
    runtime: web::Data<JobRuntime>,
    kind: web::Data<WorkerKind>,
    caller: Caller<roles::OrgAdmin>,
    name: web::Path<String>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    let catalog = runtime.catalogs().of(**kind);
    let config = workers::save_base_config(
        runtime.store(),
        &caller,
        &catalog,
        **kind,
        &name,
        fields.body(),
        defaults(&runtime),
    )
    .await?;
    Ok(response::ok(&config.to_json()))
}

/// `POST /api/organization/analyzer/{definition_id}`: enables a definition in the organisation.
pub async fn enable_worker(
    runtime: web::Data<JobRuntime>,
    kind: web::Data<WorkerKind>,
    caller: Caller<roles::OrgAdmin>,
    definition_id: web::Path<String>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    let definition = runtime
        .catalogs()
        .of(**kind)
        .get(&definition_id)
        .ok_or_else(|| JobsError::not_found("worker definition", definition_id.as_str()))?;
    let worker = workers::enable(
        runtime.store(),
        &caller,
        &definition,
        fields.body(),
        defaults(&runtime),
    )
    .await?;
    let mut json = worker.to_json(false);
    if **kind == WorkerKind::Responder {
        let configuration = worker.configuration();
        json["maxTlp"] = configuration
            .get("max_tlp")
            .cloned()
            .unwrap_or(serde_json::Value::Null);
        json["maxPap"] = configuration
            .get("max_pap")
            .cloned()
            .unwrap_or(serde_json::Value::Null);
    }
    Ok(response::created(&json))
}

/// `GET /api/analyzer`: enabled workers of the organisation.
pub async fn list_workers(
    runtime: web::Data<JobRuntime>,
    kind: web::Data<WorkerKind>,
    caller: Caller<roles::Read>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    search(&runtime, **kind, &caller, &fields).await
}

/// `POST /api/analyzer/_search`: searches enabled workers of the organisation.
pub async fn search_workers(
    runtime: web::Data<JobRuntime>,
    kind: web::Data<WorkerKind>,
    caller: Caller<roles::Read>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    search(&runtime, **kind, &caller, &fields).await
}

async fn search(
    runtime: &JobRuntime,
    kind: WorkerKind,
    caller: &Caller<roles::Read>,
    fields: &Fields,
) -> Result<HttpResponse, ApiError> {
    let request = SearchRequest::from_fields(fields)?;
    let (found, total) = workers::search(
        runtime.store(),
        &caller.organization,
        kind,
        request.query,
        request.page,
        &request.sort,
    )
    .await?;
    let show = caller.has(Role::OrgAdmin);
    Ok(response::list(
        found.iter().map(|worker| worker.to_json(show)).collect(),
        total,
    ))
}

/// `GET /api/analyzer/type/{data_type}`: enabled workers accepting a data type.
pub async fn list_workers_by_type(
    runtime: web::Data<JobRuntime>,
    kind: web::Data<WorkerKind>,
    caller: Caller<roles::Read>,
    data_type: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let query = Query::eq("dataTypeList", data_type.as_str());
    let (found, total) = workers::search(
        runtime.store(),
        &caller.organization,
        **kind,
        query,
        Page::ALL,
        &[],
    )
    .await?;
    Ok(response::list(
        found.iter().map(|worker| worker.to_json(false)).collect(),
        total,
    ))
}

/// `GET /api/analyzer/{id}`: one enabled worker.
pub async fn get_worker(
    runtime: web::Data<JobRuntime>,
    kind: web::Data<WorkerKind>,
    caller: Caller<roles::Read>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let worker = workers::get(runtime.store(), &caller.organization, **kind, &id).await?;
    Ok(response::ok(&worker.to_json(caller.has(Role::OrgAdmin))))
}

/// `PATCH /api/analyzer/{id}`: updates name, configuration and limits.
pub async fn update_worker(
    runtime: web::Data<JobRuntime>,
    kind: web::Data<WorkerKind>,
    caller: Caller<roles::OrgAdmin>,
    id: web::Path<String>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    let current = workers::get(runtime.store(), &caller.organization, **kind, &id).await?;
    let definition = runtime.catalogs().of(**kind).get(current.definition_id());
    let worker = workers::update(
        runtime.store(),
        &caller,
        **kind,
        &id,
        fields.body(),
        definition.as_deref(),
        defaults(&runtime),
    )
    .await?;
    Ok(response::ok(&worker.to_json(true)))
}

/// `DELETE /api/analyzer/{id}`: disables (removes) a worker; its jobs remain.
pub async fn disable_worker(
    runtime: web::Data<JobRuntime>,
    kind: web::Data<WorkerKind>,
    caller: Caller<roles::Admin>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    workers::disable(runtime.store(), &caller, **kind, &id).await?;
    Ok(response::no_content())
}
