//! Jobs: submission (the three body formats, cache, rate limit), reads (job, search, status)
//! and soft delete. Reports live in [`super::report`], execution in [`super::runtime`].

use md5::{Digest, Md5};
use serde_json::{Map, Value, json};
use skep_http::{AttributeError, UploadedFile};
use skep_store::query::RangeOp;
use skep_store::{Document, NewDocument, Page, Query, Sort, Store, StoreError};

use super::catalog::WorkerKind;
use super::error::{JobsError, Result};
use super::runtime::JobRuntime;
use super::worker::{self, Worker};
use crate::auth::Identity;
use crate::domain::{OrgId, now_ms};

/// Store kind of jobs.
pub const JOB_KIND: &str = "job";
/// Store kind of reports (id = job id).
pub const REPORT_KIND: &str = "report";
/// Store kind of artifacts (parent = job id).
pub const ARTIFACT_KIND: &str = "artifact";

/// Job fields kept for the engine's own bookkeeping and never shown.
const INTERNAL_FIELDS: [&str; 1] = ["runnerInstance"];

/// Lifecycle of a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobStatus {
    /// Queued.
    Waiting,
    /// Running.
    InProgress,
    /// Ended with a report.
    Success,
    /// Ended with an error message.
    Failure,
    /// Soft-deleted.
    Deleted,
}

impl JobStatus {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Waiting => "Waiting",
            JobStatus::InProgress => "InProgress",
            JobStatus::Success => "Success",
            JobStatus::Failure => "Failure",
            JobStatus::Deleted => "Deleted",
        }
    }

    /// Parses the wire name.
    pub fn parse(text: &str) -> Option<JobStatus> {
        [
            JobStatus::Waiting,
            JobStatus::InProgress,
            JobStatus::Success,
            JobStatus::Failure,
            JobStatus::Deleted,
        ]
        .into_iter()
        .find(|status| status.as_str() == text)
    }

    /// True once the job will not change any more (by itself).
    pub fn is_final(self) -> bool {
        !matches!(self, JobStatus::Waiting | JobStatus::InProgress)
    }
}

/// Status of a stored job document.
pub fn status_of(body: &Map<String, Value>) -> JobStatus {
    body.get("status")
        .and_then(Value::as_str)
        .and_then(JobStatus::parse)
        .unwrap_or(JobStatus::Waiting)
}

/// What a job runs on.
#[derive(Debug, Clone, PartialEq)]
pub enum JobData {
    /// An observable value.
    Text(String),
    /// A TheHive entity (responders).
    Object(Value),
    /// An uploaded file.
    File(UploadedFile),
}

/// A parsed run request.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRequest {
    /// Observable type (`ip`, `file`, `thehive:case`…).
    pub data_type: String,
    /// The observable, entity or file.
    pub data: JobData,
    /// TLP, 0 to 3.
    pub tlp: u8,
    /// PAP, 0 to 3.
    pub pap: u8,
    /// Free text.
    pub message: String,
    /// Parameters passed to the worker.
    pub parameters: Map<String, Value>,
    /// Optional label.
    pub label: Option<String>,
    /// Skip the cache.
    pub force: bool,
}

fn truthy(value: Option<&Value>) -> bool {
    match value {
        Some(Value::Bool(flag)) => *flag,
        Some(Value::String(text)) => matches!(text.as_str(), "1" | "true" | "True" | "yes"),
        Some(Value::Number(number)) => number.as_f64().is_some_and(|n| n != 0.0),
        Some(Value::Array(values)) => truthy(values.last()),
        _ => false,
    }
}

fn level(attributes: &Map<String, Value>, key: &str, errors: &mut Vec<AttributeError>) -> u8 {
    let value = attributes.get(key);
    let parsed = match value {
        None | Some(Value::Null) => Some(2),
        Some(Value::Number(number)) => number.as_u64(),
        Some(Value::String(text)) => text.trim().parse().ok(),
        _ => None,
    };
    match parsed {
        Some(level @ 0..=3) => level as u8,
        _ => {
            errors.push(AttributeError::invalid(
                key,
                value.cloned().unwrap_or(Value::Null),
                "number 0 to 3",
            ));
            2
        }
    }
}

/// Reads a run request in any of the three formats: flat JSON, the legacy
/// `{data, attributes}` form, or multipart with a `data`/`attachment` file part.
pub fn parse_run_request(
    kind: WorkerKind,
    mut body: Map<String, Value>,
    files: Vec<UploadedFile>,
) -> Result<RunRequest> {
    let force = truthy(body.get("force"));
    let mut attributes = match body.remove("attributes") {
        Some(Value::Object(attributes)) => {
            let mut attributes = attributes;
            if let Some(data) = body.remove("data") {
                attributes.insert("data".into(), data);
            }
            attributes
        }
        Some(Value::String(text)) => match serde_json::from_str(&text) {
            Ok(Value::Object(mut attributes)) => {
                if let Some(data) = body.remove("data") {
                    attributes.insert("data".into(), data);
                }
                attributes
            }
            _ => body,
        },
        _ => body,
    };
    let mut errors = Vec::new();
    let file = files
        .into_iter()
        .find(|file| file.field == "data" || file.field == "attachment");
    let data_type = match attributes.get("dataType") {
        Some(Value::String(data_type)) if !data_type.is_empty() => data_type.clone(),
        _ if file.is_some() => "file".to_owned(),
        _ => {
            errors.push(AttributeError::missing("dataType"));
            String::new()
        }
    };
    let data = match (file, attributes.remove("data")) {
        (Some(file), _) => Some(JobData::File(file)),
        (None, Some(Value::String(text))) if kind == WorkerKind::Responder => {
            Some(match serde_json::from_str::<Value>(&text) {
                Ok(entity @ Value::Object(_)) => JobData::Object(entity),
                _ => JobData::Text(text),
            })
        }
        (None, Some(Value::String(text))) => Some(JobData::Text(text)),
        (None, Some(entity @ Value::Object(_))) if kind == WorkerKind::Responder => {
            Some(JobData::Object(entity))
        }
        (None, Some(Value::Number(number))) => Some(JobData::Text(number.to_string())),
        (None, Some(Value::Null) | None) => {
            errors.push(AttributeError::missing("data"));
            None
        }
        (None, Some(other)) => {
            errors.push(AttributeError::invalid("data", other, "string"));
            None
        }
    };
    let tlp = level(&attributes, "tlp", &mut errors);
    let pap = level(&attributes, "pap", &mut errors);
    let message = match attributes.get("message") {
        Some(Value::String(message)) => message.clone(),
        _ => String::new(),
    };
    let parameters = match attributes.get("parameters") {
        Some(Value::Object(parameters)) => parameters.clone(),
        _ => Map::new(),
    };
    let label = attributes
        .get("label")
        .and_then(Value::as_str)
        .map(str::to_owned);
    match data {
        Some(data) if errors.is_empty() => Ok(RunRequest {
            data_type,
            data,
            tlp,
            pap,
            message,
            parameters,
            label,
            force: force || truthy(attributes.get("force")),
        }),
        _ => Err(JobsError::InvalidAttributes {
            table: "job",
            errors,
        }),
    }
}

/// The cache key of a job: md5 of `workerId|dataType|tlp|data or sha256|parameters`.
pub fn cache_tag(
    worker_id: &str,
    data_type: &str,
    tlp: u8,
    data: &str,
    parameters: &Map<String, Value>,
) -> String {
    let parameters = Value::Object(parameters.clone()).to_string();
    hex::encode(Md5::digest(format!(
        "{worker_id}|{data_type}|{tlp}|{data}|{parameters}"
    )))
}

/// A job as clients see it.
pub fn job_json(document: &Document) -> Value {
    let mut out = Map::new();
    out.insert("id".into(), json!(document.id));
    out.insert("_id".into(), json!(document.id));
    out.insert("_type".into(), json!("job"));
    out.insert("_parent".into(), Value::Null);
    for (key, value) in &document.body {
        if !INTERNAL_FIELDS.contains(&key.as_str()) {
            out.insert(key.clone(), value.clone());
        }
    }
    for (alias, source) in [
        ("analyzerId", "workerId"),
        ("analyzerName", "workerName"),
        ("analyzerDefinitionId", "workerDefinitionId"),
        ("date", "createdAt"),
    ] {
        if let Some(value) = document.body.get(source) {
            out.insert(alias.into(), value.clone());
        }
    }
    Value::Object(out)
}

/// Submits a job to a worker of the caller's organisation. Returns the new job, or the cached
/// one (marked `fromCache`).
pub async fn submit(
    runtime: &JobRuntime,
    caller: &Identity,
    kind: WorkerKind,
    worker_id: &str,
    request: RunRequest,
) -> Result<Value> {
    let store = runtime.store();
    let worker = worker::get(store, &caller.organization, kind, worker_id).await?;
    let (data_field, cache_data) = match &request.data {
        JobData::Text(text) => (("data", json!(text)), text.clone()),
        JobData::Object(entity) => (("data", entity.clone()), entity.to_string()),
        JobData::File(file) => {
            let attachment = runtime.store_attachment(file.clone()).await?;
            let id = attachment.id.clone();
            (
                (
                    "attachment",
                    serde_json::to_value(attachment).unwrap_or(Value::Null),
                ),
                id,
            )
        }
    };
    let tag = cache_tag(
        &worker.id,
        &request.data_type,
        request.tlp,
        &cache_data,
        &request.parameters,
    );
    if kind == WorkerKind::Analyzer && !request.force {
        let window = worker
            .job_cache_minutes()
            .unwrap_or(runtime.config().default_cache_minutes);
        if let Some(cached) = cached_job(store, &tag, window).await? {
            let mut job = job_json(&cached);
            job["fromCache"] = json!(true);
            return Ok(job);
        }
    }
    check_rate(store, &worker).await?;

    let now = now_ms();
    let mut body = Map::new();
    body.insert("workerId".into(), json!(worker.id));
    body.insert("workerName".into(), json!(worker.name()));
    body.insert("workerDefinitionId".into(), json!(worker.definition_id()));
    body.insert("organization".into(), json!(caller.organization));
    body.insert("type".into(), json!(kind.as_str()));
    body.insert("status".into(), json!(JobStatus::Waiting.as_str()));
    body.insert("dataType".into(), json!(request.data_type));
    body.insert(data_field.0.into(), data_field.1);
    body.insert("tlp".into(), json!(request.tlp));
    body.insert("pap".into(), json!(request.pap));
    body.insert("message".into(), json!(request.message));
    body.insert("parameters".into(), Value::Object(request.parameters));
    if let Some(label) = request.label {
        body.insert("label".into(), json!(label));
    }
    body.insert("cacheTag".into(), json!(tag));
    body.insert("createdBy".into(), json!(caller.login));
    body.insert("createdAt".into(), json!(now));
    let document = store
        .put(
            JOB_KIND,
            NewDocument {
                id: None,
                parent: None,
                body,
            },
        )
        .await?;
    tracing::info!(job_id = %document.id, worker_id = %worker.id, "job submitted");
    runtime.enqueue(document.id.clone());
    Ok(job_json(&document))
}

async fn cached_job(store: &dyn Store, tag: &str, window_minutes: f64) -> Result<Option<Document>> {
    if window_minutes.is_nan() || window_minutes <= 0.0 {
        return Ok(None);
    }
    // `as` saturates; the subtraction must too.
    let since = now_ms().saturating_sub((window_minutes * 60_000.0) as i64);
    let query = Query::eq("cacheTag", tag)
        .and(Query::Not(Box::new(Query::In {
            field: "status".into(),
            values: vec![json!("Failure"), json!("Deleted")],
        })))
        .and(Query::Range {
            field: "startDate".into(),
            op: RangeOp::Gte,
            value: json!(since),
        });
    let sort = [Sort {
        field: "createdAt".into(),
        descending: true,
    }];
    let hits = store
        .search(
            JOB_KIND,
            &query,
            Page {
                offset: 0,
                limit: Some(1),
            },
            &sort,
        )
        .await?;
    Ok(hits.documents.into_iter().next())
}

async fn check_rate(store: &dyn Store, worker: &Worker) -> Result<()> {
    let Some((rate, unit)) = worker.rate_limit() else {
        return Ok(());
    };
    let since = now_ms() - unit.seconds() * 1000;
    let query = Query::eq("workerId", worker.id.as_str()).and(Query::Range {
        field: "createdAt".into(),
        op: RangeOp::Gte,
        value: json!(since),
    });
    let count = store.count(JOB_KIND, &query).await?;
    if count >= rate {
        let unit = worker
            .body
            .get("rateUnit")
            .and_then(Value::as_str)
            .unwrap_or_default();
        return Err(JobsError::RateLimitExceeded(format!(
            "Rate of {rate} per {unit} reached for the {} {}. Job cannot be started",
            worker.kind().as_str(),
            worker.name()
        )));
    }
    Ok(())
}

/// Reads a job of the caller's organisation (404 otherwise).
pub async fn get(store: &dyn Store, organization: &OrgId, id: &str) -> Result<Document> {
    let document = match store.get(JOB_KIND, id).await {
        Ok(document) => document,
        Err(StoreError::NotFound { .. }) => return Err(JobsError::not_found("job", id)),
        Err(error) => return Err(error.into()),
    };
    if document.body.get("organization").and_then(Value::as_str) != Some(organization.as_str()) {
        return Err(JobsError::not_found("job", id));
    }
    Ok(document)
}

/// Searches the jobs of the organisation.
pub async fn search(
    store: &dyn Store,
    organization: &OrgId,
    query: Query,
    page: Page,
    sort: &[Sort],
) -> Result<(Vec<Value>, u64)> {
    let scoped = Query::eq("organization", organization.as_str()).and(query);
    let hits = store.search(JOB_KIND, &scoped, page, sort).await?;
    Ok((hits.documents.iter().map(job_json).collect(), hits.total))
}

/// The query of `GET /api/job`'s filters (`dataTypeFilter`, `dataFilter`, `analyzerFilter`).
pub fn filter_query(data_type: Option<&str>, data: Option<&str>, analyzer: Option<&str>) -> Query {
    let mut query = Query::All;
    if let Some(data_type) = data_type.filter(|text| !text.is_empty()) {
        query = query.and(Query::eq("dataType", data_type));
    }
    if let Some(data) = data.filter(|text| !text.is_empty()) {
        query = query.and(Query::Like {
            field: "data".into(),
            text: data.into(),
        });
    }
    if let Some(analyzer) = analyzer.filter(|text| !text.is_empty()) {
        query = query.and(Query::Or(vec![
            Query::eq("workerId", analyzer),
            Query::eq("workerName", analyzer),
        ]));
    }
    query
}

/// Excludes soft-deleted jobs.
pub fn not_deleted() -> Query {
    Query::Not(Box::new(Query::eq("status", JobStatus::Deleted.as_str())))
}

/// Status of several jobs by id; unknown or foreign ones are `NotFound`.
pub async fn statuses(
    store: &dyn Store,
    organization: &OrgId,
    ids: &[String],
) -> Result<Map<String, Value>> {
    let mut out = Map::new();
    for id in ids {
        let status = match get(store, organization, id).await {
            Ok(document) => json!(status_of(&document.body).as_str()),
            Err(JobsError::NotFound { .. }) => json!("NotFound"),
            Err(error) => return Err(error),
        };
        out.insert(id.clone(), status);
    }
    Ok(out)
}

/// Soft-deletes a job: its status becomes `Deleted`.
pub async fn delete(store: &dyn Store, caller: &Identity, id: &str) -> Result<()> {
    let document = get(store, &caller.organization, id).await?;
    let mut body = document.body;
    body.insert("status".into(), json!(JobStatus::Deleted.as_str()));
    body.insert("updatedBy".into(), json!(caller.login));
    body.insert("updatedAt".into(), json!(now_ms()));
    store.update(JOB_KIND, id, None, body).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn the_flat_format_parses_with_defaults() {
        let body = object(json!({"dataType": "ip", "data": "1.2.3.4"}));

        let request = parse_run_request(WorkerKind::Analyzer, body, Vec::new()).unwrap();

        assert_eq!(request.data, JobData::Text("1.2.3.4".into()));
        assert_eq!((request.tlp, request.pap, request.force), (2, 2, false));
    }

    #[test]
    fn the_legacy_format_reads_attributes_and_top_level_force() {
        let body = object(json!({"data": "x.org", "force": "1",
            "attributes": {"dataType": "domain", "tlp": 3, "message": "m"}}));

        let request = parse_run_request(WorkerKind::Analyzer, body, Vec::new()).unwrap();

        assert_eq!(request.data_type, "domain");
        assert_eq!(
            (request.tlp, request.message.as_str(), request.force),
            (3, "m", true)
        );
    }

    #[test]
    fn a_file_part_wins_over_an_attachment_object() {
        let body = object(json!({"dataType": "file", "attachment": {"name": "ignored"}}));
        let file = UploadedFile {
            field: "data".into(),
            filename: "a.bin".into(),
            content_type: "application/octet-stream".into(),
            data: b"abc".to_vec(),
        };

        let request = parse_run_request(WorkerKind::Analyzer, body, vec![file.clone()]).unwrap();

        assert_eq!(request.data, JobData::File(file));
    }

    #[test]
    fn responder_data_given_as_json_text_becomes_an_object() {
        let body = object(json!({"dataType": "thehive:case", "data": "{\"title\":\"t\"}"}));

        let request = parse_run_request(WorkerKind::Responder, body, Vec::new()).unwrap();

        assert_eq!(request.data, JobData::Object(json!({"title": "t"})));
    }

    #[test]
    fn missing_data_and_bad_tlp_are_attribute_errors() {
        let body = object(json!({"dataType": "ip", "tlp": 7}));

        let error = parse_run_request(WorkerKind::Analyzer, body, Vec::new()).unwrap_err();

        let JobsError::InvalidAttributes { errors, .. } = error else {
            panic!("{error:?}")
        };
        let names: Vec<_> = errors.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["data", "tlp"]);
    }

    #[test]
    fn the_cache_tag_ignores_pap_and_message() {
        let parameters = Map::new();
        let tag = cache_tag("w", "ip", 2, "1.2.3.4", &parameters);

        assert_eq!(tag, hex::encode(Md5::digest("w|ip|2|1.2.3.4|{}")));
    }
}
