//! The analyst's pages: New Analysis (TLP, PAP, data type, one or several values or a file,
//! a choice among the enabled analyzers for that type), the jobs history (filters, server-side
//! paging and sorting, live refresh while jobs run), and the job page (summary taxonomies as
//! coloured labels, the full report as a JSON view, artifacts, the error of a failed job).

use actix_web::{HttpRequest, web};
use askama::Template;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use skep_store::{Page, Query, Sort};
use skep_web::Html;
use skep_web::flash::Flash;
use skep_web::pagination::{self, Paging};

use super::forms::UiForm;
use super::{Ui, UiError, UiResult, done};
use crate::jobs::job::{self, JobStatus};
use crate::jobs::worker as workers;
use crate::jobs::{JobRuntime, WorkerKind, report};
use crate::roles::Role;
use crate::state::EngineState;

const TLP: [(&str, &str); 4] = [("0", "WHITE"), ("1", "GREEN"), ("2", "AMBER"), ("3", "RED")];

fn level_name(value: Option<&Value>) -> &'static str {
    match value.and_then(Value::as_u64) {
        Some(0) => "WHITE",
        Some(1) => "GREEN",
        Some(2) => "AMBER",
        Some(3) => "RED",
        _ => "",
    }
}

fn text(value: Option<&Value>) -> String {
    match value {
        Some(Value::String(text)) => text.clone(),
        None | Some(Value::Null) => String::new(),
        Some(other) => other.to_string(),
    }
}

fn date(value: Option<&Value>) -> String {
    value
        .and_then(Value::as_i64)
        .and_then(chrono::DateTime::from_timestamp_millis)
        .map(|date| date.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_default()
}

/// An enabled analyzer offered by New Analysis.
pub struct AnalyzerChoice {
    id: String,
    name: String,
    data_types: String,
}

#[derive(Template)]
#[template(path = "ui/analyze.html")]
struct Analyze<'a> {
    csrf: &'a str,
    data_types: Vec<String>,
    data_type: String,
    analyzers: Vec<AnalyzerChoice>,
    tlp: &'a [(&'a str, &'a str)],
}

/// Query of New Analysis.
#[derive(Debug, Deserialize)]
pub struct AnalyzeQuery {
    #[serde(rename = "dataType")]
    data_type: Option<String>,
}

/// `GET /analyze`: the form; `?dataType=` narrows the analyzers to those accepting it.
pub async fn new_analysis(
    state: web::Data<EngineState>,
    runtime: web::Data<JobRuntime>,
    request: HttpRequest,
    query: web::Query<AnalyzeQuery>,
) -> UiResult {
    let ui = Ui::of(&state, &request).await?;
    ui.require(&[Role::Analyze])?;
    let (found, _) = workers::search(
        runtime.store(),
        &ui.identity.organization,
        WorkerKind::Analyzer,
        Query::All,
        Page::ALL,
        &[Sort {
            field: "name".into(),
            descending: false,
        }],
    )
    .await?;
    let data_type = query.data_type.clone().unwrap_or_default();
    let mut data_types: Vec<String> = Vec::new();
    let mut analyzers = Vec::new();
    for worker in &found {
        let types: Vec<String> = worker
            .body
            .get("dataTypeList")
            .and_then(Value::as_array)
            .map(|types| {
                types
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        for t in &types {
            if !data_types.contains(t) {
                data_types.push(t.clone());
            }
        }
        if data_type.is_empty() || types.contains(&data_type) {
            analyzers.push(AnalyzerChoice {
                id: worker.id.clone(),
                name: worker.name().to_owned(),
                data_types: types.join(", "),
            });
        }
    }
    data_types.sort();
    let body = Analyze {
        csrf: ui.csrf(),
        data_types,
        data_type,
        analyzers,
        tlp: &TLP,
    }
    .render()?;
    Ok(ui.page(&request, "New Analysis", &body))
}

/// `POST /analyze`: one job per value (or the file) and per chosen analyzer.
pub async fn submit(
    state: web::Data<EngineState>,
    runtime: web::Data<JobRuntime>,
    request: HttpRequest,
    fields: UiForm,
) -> UiResult {
    let ui = Ui::posting(&state, &request, &fields).await?;
    ui.require(&[Role::Analyze])?;
    let (body, files) = fields.into_parts();
    let get = |name: &str| text(body.get(name));
    let data_type = get("dataType");
    let back = format!("/analyze?dataType={}", urlencoding_value(&data_type));
    let chosen: Vec<String> = body
        .keys()
        .filter_map(|key| key.strip_prefix("analyzer_"))
        .map(str::to_owned)
        .collect();
    if chosen.is_empty() {
        return Ok(done(&back, Flash::error("Choose at least one analyzer")));
    }
    let file = files
        .into_iter()
        .find(|file| (file.field == "attachment" || file.field == "data") && !file.data.is_empty());
    let values: Vec<String> = get("data")
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect();
    if data_type.is_empty() {
        return Ok(done(&back, Flash::error("Choose a data type")));
    }
    if data_type == "file" && file.is_none() {
        return Ok(done(&back, Flash::error("Choose a file to analyse")));
    }
    if data_type != "file" && values.is_empty() {
        return Ok(done(&back, Flash::error("Enter at least one value")));
    }
    let mut base = Map::new();
    base.insert("dataType".into(), json!(data_type));
    base.insert("tlp".into(), json!(get("tlp")));
    base.insert("pap".into(), json!(get("pap")));
    base.insert("message".into(), json!(get("message")));
    let inputs: Vec<(Map<String, Value>, Vec<skep_http::UploadedFile>)> = match file {
        Some(file) if data_type == "file" => vec![(base.clone(), vec![file])],
        _ => values
            .iter()
            .map(|value| {
                let mut one = base.clone();
                one.insert("data".into(), json!(value));
                (one, Vec::new())
            })
            .collect(),
    };
    let mut ids = Vec::new();
    let mut errors = Vec::new();
    for analyzer in &chosen {
        for (attributes, files) in &inputs {
            let submitted = async {
                let run = job::parse_run_request(
                    WorkerKind::Analyzer,
                    attributes.clone(),
                    files.clone(),
                )?;
                job::submit(&runtime, &ui.identity, WorkerKind::Analyzer, analyzer, run).await
            }
            .await;
            match submitted {
                Ok(job) => ids.push(text(job.get("id"))),
                Err(error) => errors.push(match UiError::from(error) {
                    UiError::Page(_, message) => message,
                    UiError::Redirect(..) => "not allowed".to_owned(),
                }),
            }
        }
    }
    if ids.is_empty() {
        return Ok(done(&back, Flash::error(errors.join("; "))));
    }
    let flash = if errors.is_empty() {
        Flash::success(format!("{} analysis job(s) submitted", ids.len()))
    } else {
        Flash::error(format!(
            "{} job(s) submitted; refused: {}",
            ids.len(),
            errors.join("; ")
        ))
    };
    let to = if ids.len() == 1 {
        format!("/jobs/{}", ids[0])
    } else {
        "/jobs".to_owned()
    };
    Ok(done(&to, flash))
}

fn urlencoding_value(text: &str) -> String {
    text.bytes()
        .map(|byte| {
            if byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'_' | b'-') {
                (byte as char).to_string()
            } else {
                format!("%{byte:02X}")
            }
        })
        .collect()
}

/// A job row of the history.
pub struct JobRow {
    id: String,
    created: String,
    analyzer: String,
    data_type: String,
    data: String,
    tlp: &'static str,
    status: String,
}

fn job_row(job: &Value) -> JobRow {
    let data = match job.get("data") {
        Some(Value::String(data)) => data.clone(),
        _ => job
            .pointer("/attachment/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
    };
    JobRow {
        id: text(job.get("id")),
        created: date(job.get("createdAt")),
        analyzer: text(job.get("workerName")),
        data_type: text(job.get("dataType")),
        data: data.chars().take(120).collect(),
        tlp: level_name(job.get("tlp")),
        status: text(job.get("status")),
    }
}

/// Query of the jobs history.
#[derive(Debug, Deserialize)]
pub struct JobsQuery {
    page: Option<u64>,
    per_page: Option<u64>,
    sort: Option<String>,
    status: Option<String>,
    #[serde(rename = "dataType")]
    data_type: Option<String>,
    data: Option<String>,
    analyzer: Option<String>,
}

#[derive(Template)]
#[template(path = "ui/jobs.html")]
struct Jobs<'a> {
    rows: Vec<JobRow>,
    pager: Html,
    live: bool,
    url: &'a str,
    status: String,
    statuses: [&'static str; 4],
    data_type: String,
    data: String,
    analyzer: String,
    sort: String,
    can_analyze: bool,
}

/// `GET /jobs`: the organisation's jobs, newest first, filtered, paged; refreshed live while
/// any shown job still runs.
pub async fn list(
    state: web::Data<EngineState>,
    runtime: web::Data<JobRuntime>,
    request: HttpRequest,
    query: web::Query<JobsQuery>,
) -> UiResult {
    let ui = Ui::of(&state, &request).await?;
    ui.require(&[Role::Read])?;
    let paging = Paging::new(query.page, query.per_page);
    let (field, ascending) = pagination::sort(
        query.sort.as_deref(),
        &["createdAt", "status", "dataType", "workerName"],
        ("createdAt", false),
    );
    // An exact value is an indexed lookup; a partial match (`*`) reads every job's data, which
    // costs about half a second per 10,000 jobs, so it is asked for explicitly.
    let data = query.data.as_deref().map(str::trim).unwrap_or_default();
    let partial = data.contains('*');
    let mut filter = job::filter_query(
        query.data_type.as_deref(),
        partial.then(|| data.trim_matches('*')),
        query.analyzer.as_deref(),
    )
    .and(job::not_deleted());
    if !partial && !data.is_empty() {
        filter = filter.and(Query::eq("data", data));
    }
    let status = query.status.clone().unwrap_or_default();
    if let Some(status) = JobStatus::parse(&status) {
        filter = filter.and(Query::eq("status", status.as_str()));
    }
    let (jobs, total) = job::search(
        runtime.store(),
        &ui.identity.organization,
        filter,
        Page {
            offset: paging.offset(),
            limit: Some(paging.per_page),
        },
        &[Sort {
            field: field.to_owned(),
            descending: !ascending,
        }],
    )
    .await?;
    let rows: Vec<JobRow> = jobs.iter().map(job_row).collect();
    let live = rows
        .iter()
        .any(|row| row.status == "Waiting" || row.status == "InProgress");
    let data_type = query.data_type.clone().unwrap_or_default();
    let data = query.data.clone().unwrap_or_default();
    let analyzer = query.analyzer.clone().unwrap_or_default();
    let sort = query.sort.clone().unwrap_or_default();
    let pager = paging.nav(
        "/jobs",
        &[
            ("status", &status),
            ("dataType", &data_type),
            ("data", &data),
            ("analyzer", &analyzer),
            ("sort", &sort),
        ],
        total,
    );
    let url = match request.query_string() {
        "" => "/jobs".to_owned(),
        query => format!("/jobs?{query}"),
    };
    let body = Jobs {
        rows,
        pager,
        live,
        url: &url,
        status,
        statuses: ["Waiting", "InProgress", "Success", "Failure"],
        data_type,
        data,
        analyzer,
        sort,
        can_analyze: ui.identity.has(Role::Analyze),
    }
    .render()?;
    Ok(ui.page(&request, "Jobs", &body))
}

/// An artifact of a report.
pub struct ArtifactRow {
    data_type: String,
    data: String,
    message: String,
    tags: String,
}

#[derive(Template)]
#[template(path = "ui/job.html")]
struct JobPage {
    row: JobRow,
    message: String,
    started: String,
    ended: String,
    pap: &'static str,
    live: bool,
    taxonomies: Html,
    error: Option<String>,
    report: Option<Html>,
    artifacts: Vec<ArtifactRow>,
}

/// `GET /jobs/{id}`: one job with its report.
pub async fn job(
    state: web::Data<EngineState>,
    runtime: web::Data<JobRuntime>,
    request: HttpRequest,
    id: web::Path<String>,
) -> UiResult {
    let ui = Ui::of(&state, &request).await?;
    ui.require(&[Role::Read])?;
    let job = report::report(runtime.store(), &ui.identity.organization, &id).await?;
    let row = job_row(&job);
    let report = job.get("report");
    let taxonomies = report
        .and_then(|report| report.pointer("/summary/taxonomies"))
        .and_then(Value::as_array)
        .map(|taxonomies| skep_web::taxonomy::labels(taxonomies))
        .unwrap_or_default();
    let error = (row.status == "Failure").then(|| {
        let message = text(report.and_then(|report| report.get("errorMessage")));
        if message.is_empty() {
            text(job.get("errorMessage"))
        } else {
            message
        }
    });
    let full = report
        .and_then(|report| report.get("full"))
        .filter(|full| !full.is_null());
    let artifacts = report
        .and_then(|report| report.get("artifacts"))
        .and_then(Value::as_array)
        .map(|artifacts| {
            artifacts
                .iter()
                .map(|artifact| ArtifactRow {
                    data_type: text(artifact.get("dataType")),
                    data: match artifact.get("data") {
                        Some(Value::String(data)) => data.clone(),
                        _ => artifact
                            .pointer("/attachment/name")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_owned(),
                    },
                    message: text(artifact.get("message")),
                    tags: artifact
                        .get("tags")
                        .and_then(Value::as_array)
                        .map(|tags| {
                            tags.iter()
                                .map(|tag| text(Some(tag)))
                                .collect::<Vec<_>>()
                                .join(", ")
                        })
                        .unwrap_or_default(),
                })
                .collect()
        })
        .unwrap_or_default();
    let live = row.status == "Waiting" || row.status == "InProgress";
    let title = format!("{} on {}", row.analyzer, row.data_type);
    let body = JobPage {
        message: text(job.get("message")),
        started: date(job.get("startDate")),
        ended: date(job.get("endDate")),
        pap: level_name(job.get("pap")),
        live,
        taxonomies,
        error,
        report: full.map(|full| skep_web::json::render(full, "the report")),
        artifacts,
        row,
    }
    .render()?;
    Ok(ui.page(&request, &title, &body))
}
