//! Case templates (`caseTemplate`): name, defaults and tasks applied when a case is created
//! from a template (spec §3.7, §4.7). Deletion is for good, as in TheHive.

use serde_json::{Map, Value, json};
use skep_http::ApiError;
use skep_http::search::SearchRequest;
use skep_store::{DeleteMode, Document, NewDocument, Page, Query, Store};

use crate::domain::entity::{self, Attribute, AttributeType, Model};
use crate::error::or_not_found;

/// Store kind (and TheHive model name) of case templates.
pub const KIND: &str = "caseTemplate";

/// Attributes accepted on template create and update.
pub const MODEL: Model = Model {
    name: KIND,
    attributes: &[
        Attribute::required("name", AttributeType::Text),
        Attribute::optional("titlePrefix", AttributeType::Text),
        Attribute::optional("description", AttributeType::Text),
        Attribute::optional("severity", AttributeType::Integer { min: 1, max: 4 }),
        Attribute::optional("tags", AttributeType::StringList),
        Attribute::optional("flag", AttributeType::Boolean),
        Attribute::optional("tlp", AttributeType::Integer { min: 0, max: 3 }),
        Attribute::optional("pap", AttributeType::Integer { min: 0, max: 3 }),
        Attribute::optional("status", AttributeType::Enumeration(&["Ok", "Deleted"])),
        Attribute::required("metrics", AttributeType::Object),
        Attribute::optional("customFields", AttributeType::Object),
        Attribute::optional("tasks", AttributeType::Any),
    ],
};

/// Renders a stored template.
pub fn render(document: &Document) -> Map<String, Value> {
    entity::render(KIND, document)
}

/// Checks the `tasks` of a template: an array of objects, `null`-valued keys (thehive4py's
/// `id: null`) dropped.
fn check_tasks(value: Value) -> Result<Value, ApiError> {
    let invalid = |value: Value| {
        ApiError::attribute_errors(
            KIND,
            vec![skep_http::AttributeError::invalid(
                "tasks",
                value,
                "an array of tasks",
            )],
        )
    };
    let Value::Array(items) = value else {
        return Err(invalid(value));
    };
    let mut tasks = Vec::with_capacity(items.len());
    for item in items {
        let Value::Object(task) = item else {
            return Err(invalid(item));
        };
        let task: Map<String, Value> = task
            .into_iter()
            .filter(|(_, value)| !value.is_null())
            .collect();
        tasks.push(Value::Object(task));
    }
    Ok(Value::Array(tasks))
}

/// Creates a template (`POST /api/case/template`).
pub async fn create(
    store: &dyn Store,
    actor: &str,
    mut input: Map<String, Value>,
) -> Result<Map<String, Value>, ApiError> {
    let tasks = input
        .remove("tasks")
        .filter(|tasks| !tasks.is_null())
        .map(check_tasks)
        .transpose()?;
    let mut body = MODEL.check_create(input)?;
    body.insert("tasks".into(), tasks.unwrap_or(json!([])));
    body.entry("status").or_insert(json!("Ok"));
    body.entry("tags").or_insert(json!([]));
    body.entry("customFields").or_insert(json!({}));
    entity::stamp_creation(&mut body, actor);
    let document = store
        .put(
            KIND,
            NewDocument {
                id: None,
                parent: None,
                body,
            },
        )
        .await?;
    Ok(render(&document))
}

/// Reads a template by id.
pub async fn get(store: &dyn Store, id: &str) -> Result<Map<String, Value>, ApiError> {
    let document = store
        .get(KIND, id)
        .await
        .map_err(|error| or_not_found(KIND, id, error))?;
    Ok(render(&document))
}

/// The template named `name` with status `Ok` (what case creation and alert promotion use);
/// `None` when there is none.
pub async fn find_by_name(
    store: &dyn Store,
    name: &str,
) -> Result<Option<Map<String, Value>>, ApiError> {
    let query = Query::eq("name", name).and(Query::eq("status", "Ok"));
    let hits = store
        .search(
            KIND,
            &query,
            Page {
                offset: 0,
                limit: Some(1),
            },
            &[],
        )
        .await?;
    Ok(hits.documents.first().map(render))
}

/// Updates a template (`PATCH /api/case/template/:id`); `tasks` replaces the list.
pub async fn update(
    store: &dyn Store,
    actor: &str,
    id: &str,
    mut input: Map<String, Value>,
) -> Result<Map<String, Value>, ApiError> {
    let existing = store
        .get(KIND, id)
        .await
        .map_err(|error| or_not_found(KIND, id, error))?;
    let tasks = input
        .remove("tasks")
        .map(|tasks| {
            if tasks.is_null() {
                Ok(json!([]))
            } else {
                check_tasks(tasks)
            }
        })
        .transpose()?;
    let mut changes = MODEL.check_update(input)?;
    if let Some(tasks) = tasks {
        changes.insert("tasks".into(), tasks);
    }
    let mut body = existing.body.clone();
    entity::apply_update(&mut body, &changes);
    entity::stamp_update(&mut body, actor);
    let document = store
        .update(KIND, id, Some(existing.version), body)
        .await
        .map_err(|error| or_not_found(KIND, id, error))?;
    Ok(render(&document))
}

/// Deletes a template for good.
pub async fn delete(store: &dyn Store, id: &str) -> Result<(), ApiError> {
    store
        .delete(KIND, id, DeleteMode::Hard)
        .await
        .map_err(|error| or_not_found(KIND, id, error))?;
    Ok(())
}

/// Searches templates.
pub async fn search(
    store: &dyn Store,
    request: &SearchRequest,
) -> Result<(Vec<Value>, u64), ApiError> {
    let hits = store
        .search(KIND, &request.query, request.page, &request.sort)
        .await?;
    Ok((
        hits.documents
            .iter()
            .map(|document| Value::Object(render(document)))
            .collect(),
        hits.total,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_tasks_drop_null_keys_and_must_be_objects() {
        let tasks = check_tasks(json!([{"id": null, "title": "Triage"}])).unwrap();

        assert_eq!(tasks, json!([{"title": "Triage"}]));
        assert!(check_tasks(json!(["Triage"])).is_err());
        assert!(check_tasks(json!({"title": "x"})).is_err());
    }
}
