//! Tasks (`case_task`, children of cases): defaults, status hooks (InProgress starts,
//! Completed ends and unflags), closing a case's open tasks.

use serde_json::{Map, Value};
use skep_http::ApiError;
use skep_store::{Document, NewDocument, Page, Query, Store};

use super::case;
use super::entity::{self, Attribute, AttributeType, Model};

/// Store kind (and TheHive model name) of tasks.
pub const KIND: &str = "case_task";
/// Task statuses.
pub const STATUSES: &[&str] = &["Waiting", "InProgress", "Completed", "Cancel"];

/// Attributes accepted on task create and update.
pub const MODEL: Model = Model {
    name: KIND,
    attributes: &[
        Attribute::required("title", AttributeType::Text),
        Attribute::optional("description", AttributeType::Text),
        Attribute::optional("owner", AttributeType::Text),
        Attribute::optional("status", AttributeType::Enumeration(STATUSES)),
        Attribute::optional("flag", AttributeType::Boolean),
        Attribute::optional("startDate", AttributeType::Date),
        Attribute::optional("endDate", AttributeType::Date),
        Attribute::optional(
            "order",
            AttributeType::Integer {
                min: i64::MIN,
                max: i64::MAX,
            },
        ),
        Attribute::optional("dueDate", AttributeType::Date),
        Attribute::optional("group", AttributeType::Text),
    ],
};

/// Renders a task.
pub fn render(document: &Document) -> Map<String, Value> {
    entity::render(KIND, document)
}

/// Reads a task or answers `404 case_task <id> not found`.
pub async fn get(store: &dyn Store, id: &str) -> Result<Document, ApiError> {
    store
        .get(KIND, id)
        .await
        .map_err(|error| crate::error::or_not_found(KIND, id, error))
}

/// Creates a task in the case `case_id` (`POST /api/case/:caseId/task`).
pub async fn create(
    store: &dyn Store,
    actor: &str,
    case_id: &str,
    input: Map<String, Value>,
) -> Result<Document, ApiError> {
    let parent = case::get(store, case_id).await?;
    create_in_case(store, actor, &parent, input).await
}

/// Creates a task in an already loaded case. Nested `id: null` keys (thehive4py) are dropped
/// like every null.
pub async fn create_in_case(
    store: &dyn Store,
    actor: &str,
    parent: &Document,
    mut input: Map<String, Value>,
) -> Result<Document, ApiError> {
    if input.get("id").is_some_and(Value::is_null) {
        input.remove("id");
    }
    let mut body = MODEL.check_create(input)?;
    for (key, default) in [
        ("status", Value::from("Waiting")),
        ("flag", Value::Bool(false)),
        ("order", Value::from(0)),
        ("group", Value::from("default")),
    ] {
        body.entry(key).or_insert(default);
    }
    if let Some(owner) = body.get("owner").and_then(Value::as_str) {
        let owner = owner.to_lowercase();
        body.insert("owner".into(), Value::from(owner));
    }
    apply_status_hooks(&mut body);
    entity::stamp_creation(&mut body, actor);
    let document = NewDocument {
        id: None,
        parent: Some(parent.id.clone()),
        body,
    };
    Ok(store.put(KIND, document).await?)
}

fn apply_status_hooks(body: &mut Map<String, Value>) {
    match body.get("status").and_then(Value::as_str) {
        Some("InProgress") if body.get("startDate").is_none_or(Value::is_null) => {
            body.insert("startDate".into(), Value::from(entity::now_ms()));
        }
        Some("Completed") => {
            if body.get("endDate").is_none_or(Value::is_null) {
                body.insert("endDate".into(), Value::from(entity::now_ms()));
            }
            body.insert("flag".into(), Value::Bool(false));
        }
        _ => {}
    }
}

/// Updates a task (`PATCH /api/case/task/:id`). The `user` key some clients send is ignored.
pub async fn update(
    store: &dyn Store,
    actor: &str,
    id: &str,
    mut input: Map<String, Value>,
) -> Result<Document, ApiError> {
    input.remove("user");
    let mut changes = MODEL.check_update(input)?;
    if let Some(owner) = changes.get("owner").and_then(Value::as_str) {
        let owner = owner.to_lowercase();
        changes.insert("owner".into(), Value::from(owner));
    }
    let current = get(store, id).await?;
    let mut body = current.body.clone();
    entity::apply_update(&mut body, &changes);
    if changes.contains_key("status") {
        apply_status_hooks(&mut body);
    }
    entity::stamp_update(&mut body, actor);
    Ok(store.update(KIND, id, Some(current.version), body).await?)
}

/// Moves a Waiting task to InProgress (a log was written on it).
pub async fn start_if_waiting(
    store: &dyn Store,
    actor: &str,
    task: &Document,
) -> Result<(), ApiError> {
    if task.body.get("status").and_then(Value::as_str) != Some("Waiting") {
        return Ok(());
    }
    let mut input = Map::new();
    input.insert("status".into(), Value::from("InProgress"));
    update(store, actor, &task.id, input).await?;
    Ok(())
}

/// Closes the open tasks of a case being resolved: Waiting → Cancel, InProgress → Completed.
pub async fn close_open_tasks(
    store: &dyn Store,
    actor: &str,
    case_id: &str,
) -> Result<(), ApiError> {
    let open = Query::In {
        field: "status".into(),
        values: vec![Value::from("Waiting"), Value::from("InProgress")],
    };
    let query = entity::child_of(case::KIND, case_id).and(open);
    let tasks = store.search(KIND, &query, Page::ALL, &[]).await?;
    for task in tasks.documents {
        let next = match task.body.get("status").and_then(Value::as_str) {
            Some("Waiting") => "Cancel",
            _ => "Completed",
        };
        let mut input = Map::new();
        input.insert("status".into(), Value::from(next));
        update(store, actor, &task.id, input).await?;
    }
    Ok(())
}
