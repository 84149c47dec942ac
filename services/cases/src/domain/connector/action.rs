//! Responder actions (`action`, root documents): a responder run on a case, task, log,
//! observable or alert. The entity is sent with its parents (`thehive:<type>` data type) and
//! the action stored at once as `InProgress`; when the engine ends it, its `operations` are
//! applied to this service's entities ([`super::operations`]) and stored with their outcome.
//! As in TheHive, `report` and `operations` are JSON-encoded strings.

use serde_json::{Map, Value, json};
use skep_http::ApiError;
use skep_store::{Document, NewDocument, Store};

use super::server::WorkerKind;
use super::{Connector, engine_error, operations};
use crate::domain::{alert, case, entity, log, observable, task};

/// Store kind (and TheHive model name) of responder actions.
pub const KIND: &str = "action";

/// Entity types a responder can run on.
const ENTITY_TYPES: &[&str] = &[
    case::KIND,
    task::KIND,
    log::KIND,
    observable::KIND,
    alert::KIND,
];

/// Renders an action (stored fields as they are: `report` and `operations` are strings).
pub fn render(document: &Document) -> Map<String, Value> {
    entity::render(KIND, document)
}

/// Reads an action or answers `404 action <id> not found`.
pub async fn get(store: &dyn Store, id: &str) -> Result<Document, ApiError> {
    store
        .get(KIND, id)
        .await
        .map_err(|error| crate::error::or_not_found(KIND, id, error))
}

/// An entity with what a responder needs of its surroundings.
#[derive(Debug)]
pub struct Target {
    /// The entity rendered, its parents embedded under their model names.
    pub data: Value,
    /// Label sent to the engine.
    pub label: String,
    /// TLP and PAP of the entity (its case's when it has one; 2 by default).
    pub tlp: i64,
    /// PAP.
    pub pap: i64,
}

fn check_type(entity_type: &str) -> Result<(), ApiError> {
    if ENTITY_TYPES.contains(&entity_type) {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "responders do not run on {entity_type:?} (one of {})",
            ENTITY_TYPES.join(", ")
        )))
    }
}

fn render_kind(kind: &str, document: &Document) -> Map<String, Value> {
    match kind {
        case::KIND => case::render(document),
        task::KIND => task::render(document),
        log::KIND => log::render(document),
        observable::KIND => observable::render(document),
        alert::KIND => alert::render(document),
        other => entity::render(other, document),
    }
}

fn parent_kind(kind: &str) -> Option<&'static str> {
    match kind {
        task::KIND | observable::KIND => Some(case::KIND),
        log::KIND => Some(task::KIND),
        _ => None,
    }
}

/// Loads `entity_type`/`entity_id` with its parents (a log gets its task, which gets its case)
/// and the TLP/PAP that decide which responders may run on it.
pub async fn load_target(
    store: &dyn Store,
    entity_type: &str,
    entity_id: &str,
) -> Result<Target, ApiError> {
    check_type(entity_type)?;
    let document = store
        .get(entity_type, entity_id)
        .await
        .map_err(|error| crate::error::or_not_found(entity_type, entity_id, error))?;
    let mut data = render_kind(entity_type, &document);
    let label = label(entity_type, &document.body);
    let mut tlp = document.body.get("tlp").and_then(Value::as_i64);
    let mut pap = document.body.get("pap").and_then(Value::as_i64);
    // Parents, innermost first, then nested: a log's `case_task` holds its `case`.
    let mut chain: Vec<(&str, Map<String, Value>)> = Vec::new();
    let (mut kind, mut parent) = (entity_type, document.parent.clone());
    while let (Some(parent_kind), Some(parent_id)) = (parent_kind(kind), parent.clone()) {
        let Ok(ancestor) = store.get(parent_kind, &parent_id).await else {
            break;
        };
        if parent_kind == case::KIND {
            tlp = tlp.or_else(|| ancestor.body.get("tlp").and_then(Value::as_i64));
            pap = ancestor.body.get("pap").and_then(Value::as_i64).or(pap);
        }
        chain.push((parent_kind, render_kind(parent_kind, &ancestor)));
        kind = parent_kind;
        parent = ancestor.parent.clone();
    }
    let mut nested: Option<(&str, Map<String, Value>)> = None;
    while let Some((kind, mut rendered)) = chain.pop() {
        if let Some((inner_kind, inner)) = nested.take() {
            rendered.insert(inner_kind.into(), Value::Object(inner));
        }
        nested = Some((kind, rendered));
    }
    if let Some((kind, rendered)) = nested {
        data.insert(kind.into(), Value::Object(rendered));
    }
    Ok(Target {
        data: Value::Object(data),
        label,
        tlp: tlp.unwrap_or(2),
        pap: pap.unwrap_or(2),
    })
}

fn label(entity_type: &str, body: &Map<String, Value>) -> String {
    let text = |key: &str| {
        body.get(key)
            .map(|value| match value {
                Value::String(text) => text.clone(),
                Value::Null => String::new(),
                other => other.to_string(),
            })
            .unwrap_or_default()
    };
    match entity_type {
        case::KIND => format!("#{} {}", text("caseId"), text("title")),
        observable::KIND => {
            let value = match body.get("data").and_then(Value::as_str) {
                Some(data) => data.to_owned(),
                None => body
                    .get("attachment")
                    .and_then(|a| a.get("name"))
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
            };
            format!("[{}] {value}", text("dataType"))
        }
        alert::KIND => format!(
            "[{}:{}] {}",
            text("source"),
            text("sourceRef"),
            text("title")
        ),
        task::KIND => format!("{} ({})", text("title"), text("status")),
        _ => text("message"),
    }
}

/// The responders of every engine applicable to an entity: accepting `thehive:<type>` and
/// allowing its TLP and PAP (`maxTlp`/`maxPap`, when the engine gives them).
pub async fn applicable(
    store: &dyn Store,
    connector: &Connector,
    entity_type: &str,
    entity_id: &str,
) -> Result<Vec<Value>, ApiError> {
    let target = load_target(store, entity_type, entity_id).await?;
    let data_type = format!("thehive:{entity_type}");
    let responders = connector
        .workers(WorkerKind::Responder, Some(&data_type))
        .await;
    Ok(responders
        .into_iter()
        .filter(|responder| {
            let allows =
                |key: &str, level: i64| responder[key].as_i64().is_none_or(|max| level <= max);
            allows("maxTlp", target.tlp) && allows("maxPap", target.pap)
        })
        .collect())
}

/// What `POST /api/connector/cortex/action` asks for.
#[derive(Debug)]
pub struct ActionRequest {
    /// Responder id or name.
    pub responder: String,
    /// Entity type (model name).
    pub object_type: String,
    /// Entity id.
    pub object_id: String,
    /// Engine to use, when the caller names one.
    pub cortex_id: Option<String>,
    /// Message passed to the responder.
    pub message: Option<String>,
    /// Parameters passed to the responder (the caller's login is added as `user`).
    pub parameters: Map<String, Value>,
    /// TLP overriding the entity's.
    pub tlp: Option<i64>,
}

impl ActionRequest {
    /// Reads the request body (`responderId` or `responderName`, `objectType`, `objectId`,
    /// `cortexId?`, `message?`, `parameters?`, `tlp?`).
    pub fn from_body(body: &Map<String, Value>) -> Result<ActionRequest, ApiError> {
        let text = |key: &str| body.get(key).and_then(Value::as_str).map(str::to_owned);
        let responder = text("responderId")
            .or_else(|| text("responderName"))
            .ok_or_else(|| ApiError::bad_request("responderId or responderName is required"))?;
        let object_type =
            text("objectType").ok_or_else(|| ApiError::bad_request("objectType is required"))?;
        let object_id =
            text("objectId").ok_or_else(|| ApiError::bad_request("objectId is required"))?;
        Ok(ActionRequest {
            responder,
            object_type,
            object_id,
            cortex_id: text("cortexId"),
            message: text("message"),
            parameters: body
                .get("parameters")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default(),
            tlp: body.get("tlp").and_then(Value::as_i64),
        })
    }
}

/// Runs a responder on an entity and stores the action as `InProgress`; the caller starts its
/// follower.
pub async fn submit(
    store: &dyn Store,
    connector: &Connector,
    actor: &str,
    request: ActionRequest,
) -> Result<Document, ApiError> {
    let target = load_target(store, &request.object_type, &request.object_id).await?;
    let (server, responder) = connector
        .find_worker(
            WorkerKind::Responder,
            &request.responder,
            request.cortex_id.as_deref(),
        )
        .await?;
    let worker_id = responder["id"]
        .as_str()
        .unwrap_or(&request.responder)
        .to_owned();
    let mut parameters = request.parameters;
    parameters.insert("user".into(), json!(actor));
    let body = json!({
        "label": target.label,
        "data": target.data,
        "dataType": format!("thehive:{}", request.object_type),
        "tlp": request.tlp.unwrap_or(target.tlp),
        "pap": target.pap,
        "message": request.message.unwrap_or_default(),
        "parameters": parameters,
    });
    let engine_job = server
        .client()?
        .run_responder(&worker_id, &body)
        .await
        .map_err(|error| engine_error(&server.name, &error))?;
    let cortex_job_id = engine_job["id"].as_str().ok_or_else(|| {
        ApiError::new(
            502,
            "CortexError",
            format!("engine {} answered a job without id", server.name),
        )
    })?;
    let name = responder["name"]
        .as_str()
        .unwrap_or(&request.responder)
        .to_owned();
    let definition = responder["workerDefinitionId"]
        .as_str()
        .unwrap_or(&name)
        .to_owned();
    let mut action = Map::new();
    action.insert("responderId".into(), json!(worker_id));
    action.insert("responderName".into(), json!(name));
    action.insert("responderDefinition".into(), json!(definition));
    action.insert("cortexId".into(), json!(server.name));
    action.insert("cortexJobId".into(), json!(cortex_job_id));
    action.insert("objectType".into(), json!(request.object_type));
    action.insert("objectId".into(), json!(request.object_id));
    action.insert("status".into(), json!(super::job::IN_PROGRESS));
    action.insert("startDate".into(), json!(entity::now_ms()));
    action.insert("operations".into(), json!("[]"));
    entity::stamp_creation(&mut action, actor);
    Ok(store
        .put(
            KIND,
            NewDocument {
                id: None,
                parent: None,
                body: action,
            },
        )
        .await?)
}

/// Ends an action: applies the report's operations (each with its `status` and `message`),
/// stores them and the report without them (both JSON-encoded), the status and `endDate`.
pub async fn finish(
    store: &dyn Store,
    actor: &str,
    document: &Document,
    status: &str,
    mut report: Value,
) -> Result<(), ApiError> {
    let requested = match report.as_object_mut().and_then(|r| r.remove("operations")) {
        Some(Value::Array(operations)) => operations,
        _ => Vec::new(),
    };
    let object_type = document
        .body
        .get("objectType")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let object_id = document
        .body
        .get("objectId")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let applied = if status == "Success" {
        operations::apply_all(store, actor, object_type, object_id, requested).await
    } else {
        Vec::new()
    };
    let mut body = document.body.clone();
    body.insert("status".into(), json!(status));
    body.insert("endDate".into(), json!(entity::now_ms()));
    body.insert("report".into(), json!(report.to_string()));
    body.insert(
        "operations".into(),
        json!(Value::Array(applied).to_string()),
    );
    entity::stamp_update(&mut body, actor);
    store
        .update(KIND, &document.id, Some(document.version), body)
        .await?;
    Ok(())
}
