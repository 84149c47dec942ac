//! Dashboards (`dashboard`): saved `_stats` definitions, private to their owner or shared.
//! Only the owner or an admin may change or delete one; deletion is soft (status `Deleted`).

use serde_json::{Map, Value, json};
use skep_http::ApiError;
use skep_http::search::{SearchRequest, StatsRequest};
use skep_store::{Document, NewDocument, Query, Store};

use crate::domain::entity::{self, Attribute, AttributeType, Model};
use crate::error::or_not_found;

/// Store kind (and TheHive model name) of dashboards.
pub const KIND: &str = "dashboard";

/// Attributes accepted on dashboard create and update.
pub const MODEL: Model = Model {
    name: KIND,
    attributes: &[
        Attribute::required("title", AttributeType::Text),
        Attribute::required("description", AttributeType::Text),
        Attribute::optional(
            "status",
            AttributeType::Enumeration(&["Private", "Shared", "Deleted"]),
        ),
        Attribute::required("definition", AttributeType::Text),
    ],
};

/// Renders a stored dashboard.
pub fn render(document: &Document) -> Map<String, Value> {
    entity::render(KIND, document)
}

/// What a caller may see: shared dashboards and their own, never deleted ones.
fn visible_to(login: &str) -> Query {
    let not_deleted = Query::Not(Box::new(Query::eq("status", "Deleted")));
    not_deleted.and(Query::Or(vec![
        Query::eq("status", "Shared"),
        Query::eq("createdBy", login),
    ]))
}

/// Creates a dashboard (`definition` is JSON text; an object is accepted and kept as text).
pub async fn create(
    store: &dyn Store,
    actor: &str,
    mut input: Map<String, Value>,
) -> Result<Map<String, Value>, ApiError> {
    if let Some(definition) = input
        .get("definition")
        .filter(|value| value.is_object() || value.is_array())
    {
        let text = definition.to_string();
        input.insert("definition".into(), json!(text));
    }
    let mut body = MODEL.check_create(input)?;
    body.entry("status").or_insert(json!("Private"));
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

/// Reads a dashboard the caller may see.
pub async fn get(store: &dyn Store, login: &str, id: &str) -> Result<Map<String, Value>, ApiError> {
    let document = load_visible(store, login, id).await?;
    Ok(render(&document))
}

async fn load_visible(store: &dyn Store, login: &str, id: &str) -> Result<Document, ApiError> {
    let document = store
        .get(KIND, id)
        .await
        .map_err(|error| or_not_found(KIND, id, error))?;
    let status = document.body.get("status").and_then(Value::as_str);
    let owner = document.body.get("createdBy").and_then(Value::as_str);
    if status == Some("Deleted") || (status != Some("Shared") && owner != Some(login)) {
        return Err(crate::error::not_found(KIND, id));
    }
    Ok(document)
}

async fn load_modifiable(
    store: &dyn Store,
    login: &str,
    is_admin: bool,
    id: &str,
) -> Result<Document, ApiError> {
    let document = load_visible(store, login, id).await?;
    let owner = document.body.get("createdBy").and_then(Value::as_str);
    if owner != Some(login) && !is_admin {
        return Err(crate::auth::insufficient_rights());
    }
    Ok(document)
}

/// Updates a dashboard (owner or admin).
pub async fn update(
    store: &dyn Store,
    login: &str,
    is_admin: bool,
    id: &str,
    mut input: Map<String, Value>,
) -> Result<Map<String, Value>, ApiError> {
    let existing = load_modifiable(store, login, is_admin, id).await?;
    if let Some(definition) = input
        .get("definition")
        .filter(|value| value.is_object() || value.is_array())
    {
        let text = definition.to_string();
        input.insert("definition".into(), json!(text));
    }
    let changes = MODEL.check_update(input)?;
    let mut body = existing.body.clone();
    entity::apply_update(&mut body, &changes);
    entity::stamp_update(&mut body, login);
    let document = store.update(KIND, id, Some(existing.version), body).await?;
    Ok(render(&document))
}

/// Deletes a dashboard softly (owner or admin).
pub async fn delete(
    store: &dyn Store,
    login: &str,
    is_admin: bool,
    id: &str,
) -> Result<(), ApiError> {
    let existing = load_modifiable(store, login, is_admin, id).await?;
    let mut body = existing.body.clone();
    body.insert("status".into(), json!("Deleted"));
    entity::stamp_update(&mut body, login);
    store.update(KIND, id, Some(existing.version), body).await?;
    Ok(())
}

/// Searches the dashboards the caller may see.
pub async fn search(
    store: &dyn Store,
    login: &str,
    request: &SearchRequest,
) -> Result<(Vec<Value>, u64), ApiError> {
    let query = visible_to(login).and(request.query.clone());
    let hits = store
        .search(KIND, &query, request.page, &request.sort)
        .await?;
    Ok((
        hits.documents
            .iter()
            .map(|document| Value::Object(render(document)))
            .collect(),
        hits.total,
    ))
}

/// Aggregates the dashboards the caller may see.
pub async fn stats(
    store: &dyn Store,
    login: &str,
    request: &StatsRequest,
) -> Result<Map<String, Value>, ApiError> {
    let query = visible_to(login).and(request.query.clone());
    Ok(store.aggregate(KIND, &query, &request.aggregations).await?)
}
