//! Responder operations: what a finished responder asks this service to do to its own
//! entities, relative to the entity it ran on (its case, its task, the alert itself). Each is
//! applied through the domain functions (so audited as the requester) and comes back with
//! `status` `Success` or `Failure` and a `message`.

use serde_json::{Map, Value, json};
use skep_http::ApiError;
use skep_store::Store;

use crate::domain::observable::{self, OnDuplicate};
use crate::domain::{alert, case, log, task};

/// Applies `operations` in order for an action on `object_type`/`object_id`.
pub async fn apply_all(
    store: &dyn Store,
    actor: &str,
    object_type: &str,
    object_id: &str,
    operations: Vec<Value>,
) -> Vec<Value> {
    let mut applied = Vec::with_capacity(operations.len());
    for operation in operations {
        let mut outcome = match operation {
            Value::Object(object) => object,
            other => Map::from_iter([("value".to_owned(), other)]),
        };
        let result = apply(store, actor, object_type, object_id, &outcome).await;
        match result {
            Ok(message) => {
                outcome.insert("status".into(), json!("Success"));
                outcome.insert("message".into(), json!(message));
            }
            Err(error) => {
                let message = error
                    .body()
                    .map(|body| body.message.clone())
                    .unwrap_or_else(|| error.to_string());
                outcome.insert("status".into(), json!("Failure"));
                outcome.insert("message".into(), json!(message));
            }
        }
        applied.push(Value::Object(outcome));
    }
    applied
}

fn field<'a>(operation: &'a Map<String, Value>, key: &str) -> Result<&'a str, ApiError> {
    operation
        .get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::bad_request(format!("the operation needs a {key}")))
}

async fn apply(
    store: &dyn Store,
    actor: &str,
    object_type: &str,
    object_id: &str,
    operation: &Map<String, Value>,
) -> Result<String, ApiError> {
    let kind = operation
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    match kind {
        "AddTagToCase" => {
            let tag = field(operation, "tag")?;
            let case_id = case_of(store, object_type, object_id).await?;
            add_tag(store, actor, case::KIND, &case_id, tag).await?;
            Ok(format!("tag {tag} added to case {case_id}"))
        }
        "AddTagToArtifact" => {
            let tag = field(operation, "tag")?;
            expect(object_type, observable::KIND, kind)?;
            add_tag(store, actor, observable::KIND, object_id, tag).await?;
            Ok(format!("tag {tag} added to observable {object_id}"))
        }
        "AddTagToAlert" => {
            let tag = field(operation, "tag")?;
            expect(object_type, alert::KIND, kind)?;
            alert::add_tags(store, actor, object_id, &[tag.to_owned()]).await?;
            Ok(format!("tag {tag} added to alert {object_id}"))
        }
        "MarkAlertAsRead" => {
            expect(object_type, alert::KIND, kind)?;
            alert::mark_read(store, actor, object_id, true).await?;
            Ok(format!("alert {object_id} marked as read"))
        }
        "AddCustomFields" => {
            let name = field(operation, "name")?;
            let tpe = field(operation, "tpe")?;
            let value = operation.get("value").cloned().unwrap_or(Value::Null);
            let case_id = case_of(store, object_type, object_id).await?;
            let current = case::get(store, &case_id).await?;
            let mut fields = current
                .body
                .get("customFields")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            let order = fields.len();
            fields.insert(name.into(), json!({ tpe: value, "order": order }));
            let changes = Map::from_iter([("customFields".to_owned(), Value::Object(fields))]);
            case::update(store, actor, &case_id, changes).await?;
            Ok(format!("custom field {name} set on case {case_id}"))
        }
        "CloseTask" => {
            let task_id = task_of(store, object_type, object_id).await?;
            let changes = Map::from_iter([("status".to_owned(), json!("Completed"))]);
            task::update(store, actor, &task_id, changes).await?;
            Ok(format!("task {task_id} closed"))
        }
        "AddLogToTask" => {
            let content = field(operation, "content")?;
            let task_id = task_of(store, object_type, object_id).await?;
            let mut input = Map::from_iter([("message".to_owned(), json!(content))]);
            if let Some(owner) = operation.get("owner").and_then(Value::as_str) {
                input.insert("owner".into(), json!(owner));
            }
            let created = log::create(store, actor, &task_id, input, None).await?;
            Ok(format!("log {} added to task {task_id}", created.id))
        }
        "AssignCase" => {
            let owner = field(operation, "owner")?;
            let case_id = case_of(store, object_type, object_id).await?;
            let changes = Map::from_iter([("owner".to_owned(), json!(owner))]);
            case::update(store, actor, &case_id, changes).await?;
            Ok(format!("case {case_id} assigned to {owner}"))
        }
        "AddArtifactToCase" => {
            let data = field(operation, "data")?;
            let data_type = field(operation, "dataType")?;
            let case_id = case_of(store, object_type, object_id).await?;
            let message = operation
                .get("message")
                .and_then(Value::as_str)
                .filter(|message| !message.is_empty())
                .unwrap_or("added by a responder");
            let draft = Map::from_iter([
                ("data".to_owned(), json!(data)),
                ("dataType".to_owned(), json!(data_type)),
                ("message".to_owned(), json!(message)),
            ]);
            let created =
                observable::create_one(store, actor, &case_id, draft, OnDuplicate::MergeTags)
                    .await?;
            Ok(format!("observable {} added to case {case_id}", created.id))
        }
        "CreateTask" => {
            let case_id = case_of(store, object_type, object_id).await?;
            let mut input = operation.clone();
            input.remove("type");
            let created = task::create(store, actor, &case_id, input).await?;
            Ok(format!("task {} created in case {case_id}", created.id))
        }
        other => Err(ApiError::bad_request(format!(
            "unknown operation {other:?}"
        ))),
    }
}

fn expect(object_type: &str, wanted: &str, operation: &str) -> Result<(), ApiError> {
    if object_type == wanted {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "{operation} applies only to {wanted}, not to {object_type}"
        )))
    }
}

async fn add_tag(
    store: &dyn Store,
    actor: &str,
    kind: &str,
    id: &str,
    tag: &str,
) -> Result<(), ApiError> {
    let current = store
        .get(kind, id)
        .await
        .map_err(|error| crate::error::or_not_found(kind, id, error))?;
    let mut tags = current
        .body
        .get("tags")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if tags.iter().any(|existing| existing == tag) {
        return Ok(());
    }
    tags.push(json!(tag));
    let changes = Map::from_iter([("tags".to_owned(), Value::Array(tags))]);
    match kind {
        case::KIND => case::update(store, actor, id, changes).await.map(drop),
        _ => observable::update(store, actor, id, changes)
            .await
            .map(drop),
    }
}

/// The case an entity belongs to (the case itself; an alert's imported case).
async fn case_of(
    store: &dyn Store,
    object_type: &str,
    object_id: &str,
) -> Result<String, ApiError> {
    let parent = |kind: &str, id: &str| {
        let (kind, id) = (kind.to_owned(), id.to_owned());
        async move {
            store
                .get(&kind, &id)
                .await
                .map_err(|error| crate::error::or_not_found(&kind, &id, error))
                .map(|document| document.parent)
        }
    };
    let missing = || ApiError::bad_request(format!("{object_type} {object_id} belongs to no case"));
    match object_type {
        case::KIND => Ok(object_id.to_owned()),
        task::KIND | observable::KIND => parent(object_type, object_id).await?.ok_or_else(missing),
        log::KIND => {
            let task_id = parent(object_type, object_id).await?.ok_or_else(missing)?;
            parent(task::KIND, &task_id).await?.ok_or_else(missing)
        }
        alert::KIND => alert::load(store, object_id)
            .await?
            .body
            .get("case")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(missing),
        _ => Err(missing()),
    }
}

/// The task an entity is or belongs to (a task; a log's task).
async fn task_of(
    store: &dyn Store,
    object_type: &str,
    object_id: &str,
) -> Result<String, ApiError> {
    match object_type {
        task::KIND => Ok(object_id.to_owned()),
        log::KIND => log::get(store, object_id)
            .await?
            .parent
            .ok_or_else(|| ApiError::bad_request("the log belongs to no task")),
        other => Err(ApiError::bad_request(format!(
            "task operations apply to a task or a log, not to a {other}"
        ))),
    }
}
