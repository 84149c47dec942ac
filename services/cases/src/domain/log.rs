//! Task logs (`case_task_log`, children of tasks): Markdown messages with an optional
//! attachment; writing one on a Waiting task starts the task.

use serde_json::{Map, Value};
use skep_http::{ApiError, UploadedFile};
use skep_store::{Document, NewDocument, Store};

use super::datastore;
use super::entity::{self, Attribute, AttributeType, Model};
use super::task;

/// Store kind (and TheHive model name) of logs.
pub const KIND: &str = "case_task_log";

/// Attributes accepted on log create and update.
pub const MODEL: Model = Model {
    name: KIND,
    attributes: &[
        Attribute::required("message", AttributeType::Text),
        Attribute::optional("startDate", AttributeType::Date),
        Attribute::optional("status", AttributeType::Enumeration(&["Ok", "Deleted"])),
        Attribute::optional("owner", AttributeType::Text),
        Attribute::optional("attachment", AttributeType::Any).readonly(),
    ],
};

/// Renders a log.
pub fn render(document: &Document) -> Map<String, Value> {
    entity::render(KIND, document)
}

/// Reads a log or answers `404 case_task_log <id> not found`.
pub async fn get(store: &dyn Store, id: &str) -> Result<Document, ApiError> {
    store
        .get(KIND, id)
        .await
        .map_err(|error| crate::error::or_not_found(KIND, id, error))
}

/// Creates a log on the task `task_id`, storing `file` in the datastore when given.
pub async fn create(
    store: &dyn Store,
    actor: &str,
    task_id: &str,
    mut input: Map<String, Value>,
    file: Option<UploadedFile>,
) -> Result<Document, ApiError> {
    let parent = task::get(store, task_id).await?;
    input.remove("attachment");
    let mut body = MODEL.check_create(input)?;
    if let Some(file) = file {
        let attachment =
            datastore::put(store, &file.data, &file.filename, &file.content_type).await?;
        body.insert("attachment".into(), attachment.to_json());
    }
    body.entry("startDate")
        .or_insert_with(|| Value::from(entity::now_ms()));
    body.entry("status").or_insert_with(|| Value::from("Ok"));
    body.entry("owner")
        .or_insert_with(|| Value::from(actor.to_lowercase()));
    if let Some(case_id) = &parent.parent {
        body.insert(entity::ROUTING_KEY.into(), Value::from(case_id.clone()));
    }
    entity::stamp_creation(&mut body, actor);
    let document = NewDocument {
        id: None,
        parent: Some(parent.id.clone()),
        body,
    };
    let created = store.put(KIND, document).await?;
    task::start_if_waiting(store, actor, &parent).await?;
    Ok(created)
}

/// Updates a log (`message`, `startDate`, `owner`, `status`).
pub async fn update(
    store: &dyn Store,
    actor: &str,
    id: &str,
    input: Map<String, Value>,
) -> Result<Document, ApiError> {
    let changes = MODEL.check_update(input)?;
    let current = get(store, id).await?;
    let mut body = current.body.clone();
    entity::apply_update(&mut body, &changes);
    entity::stamp_update(&mut body, actor);
    Ok(store.update(KIND, id, Some(current.version), body).await?)
}

/// Soft delete: status `Deleted`.
pub async fn soft_delete(store: &dyn Store, actor: &str, id: &str) -> Result<(), ApiError> {
    let mut input = Map::new();
    input.insert("status".into(), Value::from("Deleted"));
    update(store, actor, id, input).await?;
    Ok(())
}
