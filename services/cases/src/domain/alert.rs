//! Alerts (`alert`): creation with embedded artifacts and the uniqueness rule on
//! type + source + sourceRef, optional upsert, updates with status recomputation, read/unread,
//! follow, deletion, search and stats (spec §3.6, §4.5). Importing into cases lives in
//! [`crate::domain::alert_import`].

use md5::{Digest, Md5};
use serde_json::{Map, Value, json};
use skep_http::ApiError;
use skep_http::search::{SearchRequest, StatsRequest};
use skep_store::{DeleteMode, Document, NewDocument, Store};

use crate::domain::alert_artifact::{self, CheckedArtifact};
use crate::domain::entity::{self, Attribute, AttributeType, Model};
use crate::error::{not_found, or_not_found};

/// Store kind (and TheHive model name) of alerts.
pub const KIND: &str = "alert";

/// Alert status values.
pub const STATUSES: &[&str] = &["New", "Updated", "Ignored", "Imported"];

/// Attributes accepted on alert create and update.
pub const MODEL: Model = Model {
    name: KIND,
    attributes: &[
        Attribute::required("title", AttributeType::Text),
        Attribute::required("description", AttributeType::Text),
        Attribute::required("type", AttributeType::Text).readonly(),
        Attribute::required("source", AttributeType::Text).readonly(),
        Attribute::required("sourceRef", AttributeType::Text).readonly(),
        Attribute::optional("date", AttributeType::Date).readonly(),
        Attribute::optional("lastSyncDate", AttributeType::Date),
        Attribute::optional("severity", AttributeType::Integer { min: 1, max: 4 }),
        Attribute::optional("tags", AttributeType::StringList),
        Attribute::optional("tlp", AttributeType::Integer { min: 0, max: 3 }),
        Attribute::optional("caseTemplate", AttributeType::Text),
        Attribute::optional("follow", AttributeType::Boolean),
        Attribute::optional("customFields", AttributeType::Object),
        Attribute::optional("artifacts", AttributeType::Any),
    ],
};

/// Alert settings (`[cases.alerts]`).
#[derive(Debug, Clone, Default, serde::Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AlertConfig {
    /// When true, a create whose type/source/sourceRef already exists updates the existing
    /// alert (as `?upsert=true` does) instead of failing with a conflict.
    pub upsert_by_default: bool,
}

/// What a create did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreateOutcome {
    /// A new alert was stored (201).
    Created,
    /// Upsert mode found the alert and updated it (200).
    Updated,
}

/// Id of an alert: lowercase hex MD5 of `type|source|sourceRef`.
pub fn alert_id(alert_type: &str, source: &str, source_ref: &str) -> String {
    hex::encode(Md5::digest(
        format!("{alert_type}|{source}|{source_ref}").as_bytes(),
    ))
}

/// Renders a stored alert.
pub fn render(document: &Document) -> Map<String, Value> {
    entity::render(KIND, document)
}

/// Keeps the hidden `computed` metrics of an alert body current: `observableCount` and
/// `handlingDurationIn{Seconds,Hours,Days}` (last update − creation), for `_stats`.
pub fn refresh_computed(body: &mut Map<String, Value>) {
    let mut computed = Map::new();
    let count = body
        .get("artifacts")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    computed.insert("observableCount".into(), json!(count));
    let created = body.get("createdAt").and_then(Value::as_i64);
    let updated = body.get("updatedAt").and_then(Value::as_i64);
    if let (Some(created), Some(updated)) = (created, updated) {
        let seconds = (updated - created).max(0) / 1000;
        computed.insert("handlingDurationInSeconds".into(), json!(seconds));
        computed.insert("handlingDurationInHours".into(), json!(seconds / 3600));
        computed.insert("handlingDurationInDays".into(), json!(seconds / 86_400));
    }
    body.insert("computed".into(), Value::Object(computed));
}

/// Loads an alert; 404 `alert <id> not found`.
pub async fn load(store: &dyn Store, id: &str) -> Result<Document, ApiError> {
    store
        .get(KIND, id)
        .await
        .map_err(|error| or_not_found(KIND, id, error))
}

/// Turns checked artifacts into stored ones: inline files go to the datastore and are replaced
/// by their attachment; duplicates are removed.
async fn store_artifacts(
    store: &dyn Store,
    checked: Vec<CheckedArtifact>,
) -> Result<Vec<Map<String, Value>>, ApiError> {
    let mut artifacts = Vec::with_capacity(checked.len());
    for CheckedArtifact {
        mut attributes,
        file,
    } in checked
    {
        if let Some(file) = file {
            let attachment =
                crate::domain::datastore::put(store, &file.content, &file.name, &file.content_type)
                    .await?;
            attributes.insert("attachment".into(), attachment.to_json());
        }
        artifacts.push(attributes);
    }
    alert_artifact::deduplicate(&mut artifacts);
    Ok(artifacts)
}

/// Creates an alert (`POST /api/alert`). With `upsert`, an existing alert of the same identity
/// is updated instead of refused.
pub async fn create(
    store: &dyn Store,
    actor: &str,
    mut input: Map<String, Value>,
    upsert: bool,
) -> Result<(Map<String, Value>, CreateOutcome), ApiError> {
    let explicit_id = match input.remove("_id") {
        Some(Value::String(id)) if !id.trim().is_empty() => Some(id.trim().to_owned()),
        _ => None,
    };
    for discarded in ["status", "case", "follow", "lastSyncDate"] {
        input.remove(discarded);
    }
    let artifacts_input = input.remove("artifacts").unwrap_or(Value::Null);
    let checked_artifacts = alert_artifact::check(&artifacts_input)?;
    let attributes = MODEL.check_create(input)?;
    let artifacts = store_artifacts(store, checked_artifacts).await?;

    let now = entity::now_ms();
    let mut body = Map::new();
    let text = |key: &str| {
        attributes
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let id =
        explicit_id.unwrap_or_else(|| alert_id(&text("type"), &text("source"), &text("sourceRef")));
    body.insert("severity".into(), json!(2));
    body.insert("tlp".into(), json!(2));
    body.insert("date".into(), json!(now));
    body.insert("tags".into(), json!([]));
    body.insert("customFields".into(), json!({}));
    body.extend(attributes);
    body.insert("lastSyncDate".into(), json!(now));
    body.insert("follow".into(), json!(true));
    body.insert("status".into(), json!("New"));
    body.insert(
        "artifacts".into(),
        Value::Array(artifacts.into_iter().map(Value::Object).collect()),
    );
    entity::stamp_creation(&mut body, actor);
    refresh_computed(&mut body);

    let document = NewDocument {
        id: Some(id.clone()),
        parent: None,
        body: body.clone(),
    };
    match store.put(KIND, document).await {
        Ok(document) => Ok((render(&document), CreateOutcome::Created)),
        Err(error) if error.is_duplicate() && upsert => {
            let rendered = resend(store, actor, &id, body).await?;
            Ok((rendered, CreateOutcome::Updated))
        }
        Err(error) if error.is_duplicate() => Err(ApiError::conflict(
            format!(
                "[alert][{id}]: version conflict, document already exists (current version [1])"
            ),
            json!({}),
        )),
        Err(error) => Err(error.into()),
    }
}

/// Upsert of a re-sent alert: its descriptive attributes replace the stored ones, its
/// artifacts are added to the stored ones (duplicates dropped), `lastSyncDate` moves, and a
/// followed alert that was seen becomes `Updated` (and its case gets the artifacts).
async fn resend(
    store: &dyn Store,
    actor: &str,
    id: &str,
    sent: Map<String, Value>,
) -> Result<Map<String, Value>, ApiError> {
    let existing = load(store, id).await?;
    let mut changes = Map::new();
    for key in [
        "title",
        "description",
        "severity",
        "tags",
        "tlp",
        "caseTemplate",
        "customFields",
        "lastSyncDate",
    ] {
        if let Some(value) = sent.get(key) {
            changes.insert(key.to_owned(), value.clone());
        }
    }
    let mut artifacts: Vec<Map<String, Value>> = artifact_list(&existing.body);
    artifacts.extend(artifact_list(&sent));
    alert_artifact::deduplicate(&mut artifacts);
    changes.insert(
        "artifacts".into(),
        Value::Array(artifacts.into_iter().map(Value::Object).collect()),
    );
    apply_changes(store, actor, existing, changes).await
}

/// The artifacts of an alert body.
pub fn artifact_list(body: &Map<String, Value>) -> Vec<Map<String, Value>> {
    body.get("artifacts")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|item| item.as_object().cloned())
                .collect()
        })
        .unwrap_or_default()
}

/// Updates an alert (`PATCH /api/alert/:id`): `artifacts` replaces the array (duplicates
/// dropped), `status` is recomputed (a followed alert already seen becomes `Updated`), and a
/// followed alert linked to a case re-imports its artifacts into the case and reopens it.
pub async fn update(
    store: &dyn Store,
    actor: &str,
    id: &str,
    mut input: Map<String, Value>,
) -> Result<Map<String, Value>, ApiError> {
    let existing = load(store, id).await?;
    input.remove("status");
    let artifacts = match input.remove("artifacts") {
        Some(value) => Some(store_artifacts(store, alert_artifact::check(&value)?).await?),
        None => None,
    };
    let mut changes = MODEL.check_update(input)?;
    if let Some(artifacts) = artifacts {
        changes.insert(
            "artifacts".into(),
            Value::Array(artifacts.into_iter().map(Value::Object).collect()),
        );
    }
    apply_changes(store, actor, existing, changes).await
}

/// Applies checked changes, recomputes the status, stores and re-imports into a linked
/// case when the alert is followed.
async fn apply_changes(
    store: &dyn Store,
    actor: &str,
    existing: Document,
    changes: Map<String, Value>,
) -> Result<Map<String, Value>, ApiError> {
    let mut body = existing.body.clone();
    entity::apply_update(&mut body, &changes);
    let follow = entity::flag(body.get("follow"));
    let status = body
        .get("status")
        .and_then(Value::as_str)
        .unwrap_or("New")
        .to_owned();
    if follow && status != "New" {
        body.insert("status".into(), json!("Updated"));
    }
    entity::stamp_update(&mut body, actor);
    refresh_computed(&mut body);
    let document = store
        .update(KIND, &existing.id, Some(existing.version), body)
        .await
        .map_err(|error| or_not_found(KIND, &existing.id, error))?;
    let rendered = render(&document);
    if follow && let Some(case_id) = document.body.get("case").and_then(Value::as_str) {
        crate::domain::alert_import::reimport(store, actor, &document, case_id).await?;
    }
    Ok(rendered)
}

/// Sets fields directly (read/unread, follow): no status recomputation.
async fn set_fields(
    store: &dyn Store,
    actor: &str,
    existing: Document,
    changes: Map<String, Value>,
) -> Result<Map<String, Value>, ApiError> {
    let mut body = existing.body.clone();
    body.extend(changes);
    entity::stamp_update(&mut body, actor);
    refresh_computed(&mut body);
    let document = store
        .update(KIND, &existing.id, Some(existing.version), body)
        .await
        .map_err(|error| or_not_found(KIND, &existing.id, error))?;
    Ok(render(&document))
}

/// Marks an alert read (`Imported` when it has a case, else `Ignored`) or unread (`Updated`
/// when it has a case, else `New`).
pub async fn mark_read(
    store: &dyn Store,
    actor: &str,
    id: &str,
    read: bool,
) -> Result<Map<String, Value>, ApiError> {
    let existing = load(store, id).await?;
    let has_case = existing.body.get("case").and_then(Value::as_str).is_some();
    let status = match (read, has_case) {
        (true, true) => "Imported",
        (true, false) => "Ignored",
        (false, true) => "Updated",
        (false, false) => "New",
    };
    set_fields(
        store,
        actor,
        existing,
        Map::from_iter([("status".to_owned(), json!(status))]),
    )
    .await
}

/// Adds tags to an alert (keeping the ones it has).
pub async fn add_tags(
    store: &dyn Store,
    actor: &str,
    id: &str,
    tags: &[String],
) -> Result<Map<String, Value>, ApiError> {
    let existing = load(store, id).await?;
    let mut merged: Vec<Value> = existing
        .body
        .get("tags")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for tag in tags {
        let tag = json!(tag);
        if !merged.contains(&tag) {
            merged.push(tag);
        }
    }
    set_fields(
        store,
        actor,
        existing,
        Map::from_iter([("tags".to_owned(), Value::Array(merged))]),
    )
    .await
}

/// Sets `follow`.
pub async fn set_follow(
    store: &dyn Store,
    actor: &str,
    id: &str,
    follow: bool,
) -> Result<Map<String, Value>, ApiError> {
    let existing = load(store, id).await?;
    set_fields(
        store,
        actor,
        existing,
        Map::from_iter([("follow".to_owned(), json!(follow))]),
    )
    .await
}

/// Deletes an alert: for good with `force`, else (TheHive 3.4/3.5 behaviour) it is only marked
/// unread.
pub async fn delete(store: &dyn Store, actor: &str, id: &str, force: bool) -> Result<(), ApiError> {
    if !force {
        mark_read(store, actor, id, false).await?;
        return Ok(());
    }
    load(store, id).await?;
    store
        .delete(KIND, id, DeleteMode::Hard)
        .await
        .map_err(|error| or_not_found(KIND, id, error))?;
    Ok(())
}

/// Searches alerts.
pub async fn search(
    store: &dyn Store,
    request: &SearchRequest,
) -> Result<(Vec<Value>, u64), ApiError> {
    let hits = store
        .search(KIND, &request.query, request.page, &request.sort)
        .await?;
    let items = hits
        .documents
        .iter()
        .map(|document| Value::Object(render(document)))
        .collect();
    Ok((items, hits.total))
}

/// Aggregates alerts.
pub async fn stats(
    store: &dyn Store,
    request: &StatsRequest,
) -> Result<Map<String, Value>, ApiError> {
    Ok(store
        .aggregate(KIND, &request.query, &request.aggregations)
        .await?)
}

/// Reads the `ids` list of a bulk body; 400 when absent.
pub fn bulk_ids(body: &mut Map<String, Value>) -> Result<Vec<String>, ApiError> {
    let ids = body
        .remove("ids")
        .ok_or_else(|| ApiError::bad_request("ids is missing"))?;
    let ids = match ids {
        Value::Array(items) => items
            .into_iter()
            .filter_map(|item| item.as_str().map(str::to_owned))
            .collect(),
        Value::String(id) => vec![id],
        _ => return Err(ApiError::bad_request("ids must be an array of ids")),
    };
    Ok(ids)
}

/// The error of a missing alert, for bulk outputs.
pub fn missing(id: &str) -> ApiError {
    not_found(KIND, id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alert_ids_are_the_md5_of_type_source_and_reference() {
        assert_eq!(alert_id("a", "b", "c"), hex::encode(Md5::digest(b"a|b|c")));
        assert_eq!(alert_id("external", "mail", "1").len(), 32);
    }
}
