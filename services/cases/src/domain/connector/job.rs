//! Analysis jobs (`case_artifact_job`, children of observables): submitted to an engine,
//! stored at once as `InProgress`, followed by [`super::follow`] until the engine ends them;
//! then the report is kept on the job, its summary taxonomies in the observable's `reports`,
//! and its artifacts can be imported as observables of the case.

use serde_json::{Map, Value, json};
use skep_http::ApiError;
use skep_store::{Document, NewDocument, Store};

use super::server::WorkerKind;
use super::{Connector, engine_error};
use crate::domain::observable::{self, OnDuplicate};
use crate::domain::{case, datastore, entity};

/// Store kind (and TheHive model name) of analysis jobs.
pub const KIND: &str = "case_artifact_job";

/// Status of a job the engine has not ended yet.
pub const IN_PROGRESS: &str = "InProgress";

/// Renders a job: `report` as an object (`{}` until the engine ends the job).
pub fn render(document: &Document) -> Map<String, Value> {
    let mut output = entity::render(KIND, document);
    let report = match output.remove("report") {
        Some(Value::Object(report)) => Value::Object(report),
        Some(Value::String(text)) => serde_json::from_str(&text).unwrap_or_else(|_| json!({})),
        _ => json!({}),
    };
    output.insert("report".into(), report);
    output
}

/// Reads a job or answers `404 case_artifact_job <id> not found`.
pub async fn get(store: &dyn Store, id: &str) -> Result<Document, ApiError> {
    store
        .get(KIND, id)
        .await
        .map_err(|error| crate::error::or_not_found(KIND, id, error))
}

/// Submits `analyzer` (a worker id or name) on the observable `artifact_id`, on `cortex_id`
/// when given, and stores the job as `InProgress`; the caller starts its follower.
pub async fn submit(
    store: &dyn Store,
    connector: &Connector,
    actor: &str,
    analyzer: &str,
    artifact_id: &str,
    cortex_id: Option<&str>,
) -> Result<Document, ApiError> {
    let observable = observable::get(store, artifact_id).await?;
    let case_id = observable
        .parent
        .clone()
        .ok_or_else(|| ApiError::bad_request("the observable belongs to no case"))?;
    let parent = case::get(store, &case_id).await?;
    let (server, worker) = connector
        .find_worker(WorkerKind::Analyzer, analyzer, cortex_id)
        .await?;
    let client = server.client()?;
    let worker_id = worker["id"].as_str().unwrap_or(analyzer).to_owned();
    let body = &observable.body;
    let data_type = body.get("dataType").cloned().unwrap_or(Value::Null);
    let mut attributes = json!({
        "dataType": data_type,
        "tlp": body.get("tlp").cloned().unwrap_or(json!(2)),
        "pap": parent.body.get("pap").cloned().unwrap_or(json!(2)),
        "message": parent.body.get("caseId").map(|id| id.to_string()).unwrap_or_default(),
        "parameters": {"user": actor},
    });
    let engine_job = match body.get("attachment") {
        Some(attachment) if !attachment.is_null() => {
            let attachment = datastore::Attachment::from_json(attachment).ok_or_else(|| {
                ApiError::bad_request("the observable's attachment is unreadable")
            })?;
            let bytes = datastore::read(store, &attachment.id).await?;
            attributes["attachment"] = attachment.to_json();
            client
                .run_analyzer_file(
                    &worker_id,
                    &attributes,
                    &attachment.name,
                    &attachment.content_type,
                    bytes,
                )
                .await
        }
        _ => {
            attributes["data"] = body.get("data").cloned().unwrap_or(Value::Null);
            client.run_analyzer(&worker_id, &attributes).await
        }
    }
    .map_err(|error| engine_error(&server.name, &error))?;
    let cortex_job_id = engine_job["id"]
        .as_str()
        .ok_or_else(|| {
            ApiError::new(
                502,
                "CortexError",
                format!("engine {} answered a job without id", server.name),
            )
        })?
        .to_owned();
    let name = worker["name"].as_str().unwrap_or(analyzer).to_owned();
    let definition = worker["workerDefinitionId"]
        .as_str()
        .or_else(|| worker["analyzerDefinitionId"].as_str())
        .unwrap_or(&name)
        .to_owned();
    let mut job = Map::new();
    job.insert("analyzerId".into(), json!(worker_id));
    job.insert("analyzerName".into(), json!(name));
    job.insert("analyzerDefinition".into(), json!(definition));
    job.insert("artifactId".into(), json!(observable.id));
    job.insert("cortexId".into(), json!(server.name));
    job.insert("cortexJobId".into(), json!(cortex_job_id));
    job.insert("status".into(), json!(IN_PROGRESS));
    job.insert("startDate".into(), json!(entity::now_ms()));
    job.insert(entity::ROUTING_KEY.into(), json!(case_id));
    entity::stamp_creation(&mut job, actor);
    Ok(store
        .put(
            KIND,
            NewDocument {
                id: None,
                parent: Some(observable.id.clone()),
                body: job,
            },
        )
        .await?)
}

/// `report.artifacts` of a job, each with `id`: the id of the case observable holding the
/// same value (`null` when the case has none) — TheHive's `nstats`.
pub async fn mark_known_artifacts(
    store: &dyn Store,
    job: &Document,
    output: &mut Map<String, Value>,
) -> Result<(), ApiError> {
    let Some(case_id) = case_of(store, job).await? else {
        return Ok(());
    };
    let Some(Value::Array(artifacts)) = output
        .get_mut("report")
        .and_then(|report| report.get_mut("artifacts"))
    else {
        return Ok(());
    };
    for artifact in artifacts.iter_mut() {
        let Some(object) = artifact.as_object_mut() else {
            continue;
        };
        let mut probe = Map::new();
        for key in ["data", "dataType", "attachment"] {
            if let Some(value) = object.get(key) {
                probe.insert(key.into(), value.clone());
            }
        }
        let id = observable::observable_id(&probe, &case_id);
        let known = match store.get(observable::KIND, &id).await {
            Ok(found) => found.body.get("status").and_then(Value::as_str) != Some("Deleted"),
            Err(_) => false,
        };
        object.insert("id".into(), if known { json!(id) } else { Value::Null });
    }
    Ok(())
}

/// The case a job's observable belongs to.
async fn case_of(store: &dyn Store, job: &Document) -> Result<Option<String>, ApiError> {
    let Some(observable_id) = job.parent.as_deref() else {
        return Ok(None);
    };
    Ok(observable::get(store, observable_id).await?.parent)
}

/// Imports the artifacts of an ended job's report as observables of the job's case, in one
/// call: all of them, or those at the `positions` given. File artifacts are copied from the
/// engine's datastore. Each artifact gets its own result, in order; a value the case already
/// holds gets the artifact's tags added.
pub async fn import_artifacts(
    store: &dyn Store,
    connector: &Connector,
    actor: &str,
    job: &Document,
    positions: Option<Vec<usize>>,
    data_types: &[String],
) -> Result<Vec<Result<Document, ApiError>>, ApiError> {
    let case_id = case_of(store, job)
        .await?
        .ok_or_else(|| ApiError::bad_request("the job's observable belongs to no case"))?;
    let rendered = render(job);
    let artifacts = rendered["report"]["artifacts"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if artifacts.is_empty() {
        return Err(ApiError::bad_request("the job's report has no artifacts"));
    }
    let chosen: Vec<Value> = match positions {
        None => artifacts,
        Some(positions) => positions
            .into_iter()
            .map(|at| {
                artifacts.get(at).cloned().ok_or_else(|| {
                    ApiError::bad_request(format!("the report has no artifact at position {at}"))
                })
            })
            .collect::<Result<_, _>>()?,
    };
    let analyzer = job
        .body
        .get("analyzerName")
        .and_then(Value::as_str)
        .unwrap_or("analyzer");
    let mut results = Vec::with_capacity(chosen.len());
    for artifact in chosen {
        results.push(
            import_one(
                store, connector, actor, job, &case_id, analyzer, artifact, data_types,
            )
            .await,
        );
    }
    Ok(results)
}

#[allow(clippy::too_many_arguments)]
async fn import_one(
    store: &dyn Store,
    connector: &Connector,
    actor: &str,
    job: &Document,
    case_id: &str,
    analyzer: &str,
    artifact: Value,
    data_types: &[String],
) -> Result<Document, ApiError> {
    let data_type = artifact["dataType"].as_str().unwrap_or_default().to_owned();
    if !data_types.contains(&data_type) {
        return Err(ApiError::bad_request(format!(
            "the observable data type {data_type:?} is not in list_artifactDataType"
        )));
    }
    let mut draft = Map::new();
    draft.insert("dataType".into(), json!(data_type));
    let message = artifact["message"]
        .as_str()
        .filter(|message| !message.is_empty())
        .map_or_else(|| format!("Found by {analyzer}"), str::to_owned);
    draft.insert("message".into(), json!(message));
    if let Some(tags) = artifact.get("tags").filter(|tags| tags.is_array()) {
        draft.insert("tags".into(), tags.clone());
    }
    if let Some(tlp) = artifact.get("tlp").filter(|tlp| tlp.is_number()) {
        draft.insert("tlp".into(), tlp.clone());
    }
    match artifact.get("attachment").filter(|a| !a.is_null()) {
        Some(reference) => {
            let wanted = datastore::Attachment::from_json(reference)
                .ok_or_else(|| ApiError::bad_request("a file artifact has no attachment id"))?;
            let server_name = job
                .body
                .get("cortexId")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let server = connector
                .server(server_name)
                .ok_or_else(|| ApiError::bad_request(format!("unknown engine {server_name}")))?;
            let bytes = server
                .client()?
                .download(&wanted.id)
                .await
                .map_err(|error| engine_error(server_name, &error))?;
            let name = if wanted.name.is_empty() {
                wanted.id.clone()
            } else {
                wanted.name.clone()
            };
            let stored = datastore::put(store, &bytes, &name, &wanted.content_type).await?;
            draft.insert("attachment".into(), stored.to_json());
        }
        None => {
            let data = artifact["data"]
                .as_str()
                .unwrap_or_default()
                .trim()
                .to_owned();
            if data.is_empty() {
                return Err(ApiError::bad_request("an artifact has no data"));
            }
            draft.insert("data".into(), json!(data));
        }
    }
    observable::create_one(store, actor, case_id, draft, OnDuplicate::MergeTags).await
}
