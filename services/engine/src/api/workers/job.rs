//! Running workers and reading jobs, reports and artifacts.

use actix_web::{HttpResponse, web};
use serde_json::Value;
use skep_http::search::SearchRequest;
use skep_http::{ApiError, Fields, response};
use skep_store::{Page, Sort};

use crate::auth::Caller;
use crate::jobs::duration::{WaitBound, parse_wait_bound};
use crate::jobs::{JobRuntime, WorkerKind};
use crate::jobs::{job, report};
use crate::roles;

fn newest_first(sort: Vec<Sort>) -> Vec<Sort> {
    if sort.is_empty() {
        vec![Sort {
            field: "createdAt".into(),
            descending: true,
        }]
    } else {
        sort
    }
}

/// `POST /api/analyzer/{id}/run`: submits a job (JSON, legacy or multipart body); 200 with it.
pub async fn run_worker(
    runtime: web::Data<JobRuntime>,
    kind: web::Data<WorkerKind>,
    caller: Caller<roles::Analyze>,
    id: web::Path<String>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    let (body, files) = fields.into_parts();
    let request = job::parse_run_request(**kind, body, files)?;
    let job = job::submit(&runtime, &caller, **kind, &id, request).await?;
    Ok(response::ok(&job))
}

/// `GET /api/job`: jobs of the organisation, with the `…Filter` parameters.
pub async fn list_jobs(
    runtime: web::Data<JobRuntime>,
    caller: Caller<roles::Read>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    let query = job::filter_query(
        fields.str("dataTypeFilter"),
        fields.str("dataFilter"),
        fields.str("analyzerFilter"),
    );
    let page = Page::parse_range(fields.str("range"));
    let sort = newest_first(SearchRequest::from_fields(&fields)?.sort);
    let (jobs, total) =
        job::search(runtime.store(), &caller.organization, query, page, &sort).await?;
    Ok(response::list(jobs, total))
}

/// `POST /api/job/_search`: searches jobs of the organisation, deleted ones excluded.
pub async fn search_jobs(
    runtime: web::Data<JobRuntime>,
    caller: Caller<roles::Read>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    let request = SearchRequest::from_fields(&fields)?;
    let query = request.query.and(job::not_deleted());
    let sort = newest_first(request.sort);
    let (jobs, total) = job::search(
        runtime.store(),
        &caller.organization,
        query,
        request.page,
        &sort,
    )
    .await?;
    Ok(response::list(jobs, total))
}

/// `GET /api/job/{id}`: one job.
pub async fn get_job(
    runtime: web::Data<JobRuntime>,
    caller: Caller<roles::Read>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let document = job::get(runtime.store(), &caller.organization, &id).await?;
    Ok(response::ok(&job::job_json(&document)))
}

/// `GET /api/job/{id}/report`: the job with its report.
pub async fn get_report(
    runtime: web::Data<JobRuntime>,
    caller: Caller<roles::Read>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let report = report::report(runtime.store(), &caller.organization, &id).await?;
    Ok(response::ok(&report))
}

/// `GET /api/job/{id}/waitreport?atMost=`: waits for the job to end (or `atMost`), then
/// answers like `/report`. Accepts `Inf` and Scala-style durations.
pub async fn wait_report(
    runtime: web::Data<JobRuntime>,
    caller: Caller<roles::Read>,
    id: web::Path<String>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    let bound = match fields.str("atMost") {
        None => WaitBound::Infinite,
        Some(text) => parse_wait_bound(text).ok_or_else(|| {
            ApiError::bad_request(format!(
                "atMost: `{text}` is not a duration of at most one day (e.g. `1minute`, `30s`, `Inf`)"
            ))
        })?,
    };
    let report = report::wait_report(&runtime, &caller.organization, &id, bound).await?;
    Ok(response::ok(&report))
}

/// `GET /api/job/{id}/artifacts`: artifacts extracted by the job.
pub async fn list_artifacts(
    runtime: web::Data<JobRuntime>,
    caller: Caller<roles::Read>,
    id: web::Path<String>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    let request = SearchRequest::from_fields(&fields)?;
    let (artifacts, total) = report::artifacts(
        runtime.store(),
        &caller.organization,
        &id,
        request.query,
        request.page,
        &request.sort,
    )
    .await?;
    Ok(response::list(artifacts, total))
}

/// `POST /api/job/status`: statuses of several jobs (`{"jobIds": [...]}`).
pub async fn job_statuses(
    runtime: web::Data<JobRuntime>,
    caller: Caller<roles::Read>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    let ids: Vec<String> = match fields.get("jobIds") {
        Some(Value::Array(ids)) => ids
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        Some(Value::String(id)) => vec![id.clone()],
        _ => Vec::new(),
    };
    let statuses = job::statuses(runtime.store(), &caller.organization, &ids).await?;
    Ok(response::ok(&statuses))
}

/// `DELETE /api/job/{id}`: soft-deletes a job.
pub async fn delete_job(
    runtime: web::Data<JobRuntime>,
    caller: Caller<roles::AnalyzeOrOrgAdmin>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    job::delete(runtime.store(), &caller, &id).await?;
    Ok(response::no_content())
}
