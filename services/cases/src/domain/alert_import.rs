//! Alerts meet cases: promoting an alert to a new case (optionally from a template), merging it
//! into an existing case, re-importing a followed alert's artifacts, and the similarity of an
//! alert's artifacts with case observables (`similarCases`, `seen`).

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};
use skep_http::ApiError;
use skep_store::{Document, Page, Query, Store};

use crate::domain::alert::{self, KIND};
use crate::domain::observable::{self, OnDuplicate};
use crate::domain::{case, entity, similarity};
use crate::state::CasesState;

/// Renders a case by id (404 when unknown).
pub async fn load_case(store: &dyn Store, id: &str) -> Result<Map<String, Value>, ApiError> {
    Ok(case::render(&case::get(store, id).await?))
}

/// The case the alert was imported into, when it still exists.
async fn linked_case(
    store: &dyn Store,
    alert: &Document,
) -> Result<Option<Map<String, Value>>, ApiError> {
    let Some(case_id) = alert.body.get("case").and_then(Value::as_str) else {
        return Ok(None);
    };
    match store.get(case::KIND, case_id).await {
        Ok(document) => Ok(Some(case::render(&document))),
        Err(skep_store::StoreError::NotFound { .. }) => Ok(None),
        Err(error) => Err(error.into()),
    }
}

/// Promotes an alert to a new case (`POST /api/alert/:id/createCase`): title, description,
/// severity, tags, tlp, custom fields and start date from the alert, then the template
/// (`template`, else the alert's `caseTemplate`); artifacts become observables tagged
/// `src:<type>`; the alert becomes `Imported`. An alert already imported answers its case.
pub async fn create_case(
    state: &CasesState,
    actor: &str,
    alert_id: &str,
    template: Option<&str>,
) -> Result<Map<String, Value>, ApiError> {
    let store = &*state.store;
    let alert = alert::load(store, alert_id).await?;
    if let Some(existing) = linked_case(store, &alert).await? {
        return Ok(existing);
    }
    let mut input = Map::new();
    for key in [
        "title",
        "description",
        "severity",
        "tags",
        "tlp",
        "customFields",
    ] {
        if let Some(value) = alert.body.get(key).filter(|value| !value.is_null()) {
            input.insert(key.to_owned(), value.clone());
        }
    }
    if let Some(date) = alert.body.get("date") {
        input.insert("startDate".into(), date.clone());
    }
    let template = template
        .filter(|name| !name.is_empty())
        .map(str::to_owned)
        .or_else(|| {
            alert
                .body
                .get("caseTemplate")
                .and_then(Value::as_str)
                .map(str::to_owned)
        });
    if let Some(template) = template {
        input.insert("template".into(), json!(template));
    }
    let created = case::create(store, actor, input).await?;
    import_artifacts(store, actor, &alert, &created.id).await;
    link(store, actor, alert, &created.id).await?;
    load_case(store, &created.id).await
}

/// Merges an alert into an existing case (`POST /api/alert/:id/merge/:caseId`): the case
/// description gets the alert's, tags are united, artifacts become observables, the alert
/// becomes `Imported`. An alert already imported answers its case.
pub async fn merge_into_case(
    state: &CasesState,
    actor: &str,
    alert_id: &str,
    case_id: &str,
) -> Result<Map<String, Value>, ApiError> {
    let store = &*state.store;
    let alert = alert::load(store, alert_id).await?;
    if let Some(existing) = linked_case(store, &alert).await? {
        return Ok(existing);
    }
    let target = case::get(store, case_id).await?;
    let text = |body: &Map<String, Value>, key: &str| {
        body.get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let description = format!(
        "{}\n\n#### Merged with alert #{} {}\n\n{}",
        text(&target.body, "description"),
        text(&alert.body, "sourceRef"),
        text(&alert.body, "title"),
        text(&alert.body, "description"),
    );
    let mut tags: Vec<Value> = target
        .body
        .get("tags")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for tag in alert
        .body
        .get("tags")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if !tags.contains(tag) {
            tags.push(tag.clone());
        }
    }
    let changes = Map::from_iter([
        ("description".to_owned(), json!(description)),
        ("tags".to_owned(), Value::Array(tags)),
    ]);
    case::update(store, actor, case_id, changes).await?;
    import_artifacts(store, actor, &alert, case_id).await;
    link(store, actor, alert, case_id).await?;
    load_case(store, case_id).await
}

/// A followed alert linked to a case was updated: its artifacts are imported again and the
/// case is reopened.
pub async fn reimport(
    store: &dyn Store,
    actor: &str,
    alert: &Document,
    case_id: &str,
) -> Result<(), ApiError> {
    let Ok(target) = case::get(store, case_id).await else {
        return Ok(());
    };
    import_artifacts(store, actor, alert, case_id).await;
    if target.body.get("status").and_then(Value::as_str) != Some("Open") {
        let changes = Map::from_iter([("status".to_owned(), json!("Open"))]);
        case::update(store, actor, case_id, changes).await?;
    }
    Ok(())
}

/// Sets the alert's case and status `Imported`.
async fn link(
    store: &dyn Store,
    actor: &str,
    alert: Document,
    case_id: &str,
) -> Result<(), ApiError> {
    let changes = Map::from_iter([
        ("case".to_owned(), json!(case_id)),
        ("status".to_owned(), json!("Imported")),
    ]);
    let mut body = alert.body.clone();
    body.extend(changes);
    entity::stamp_update(&mut body, actor);
    alert::refresh_computed(&mut body);
    store
        .update(KIND, &alert.id, Some(alert.version), body)
        .await?;
    Ok(())
}

/// The observable draft of an alert artifact: tag `src:<alert type>` added, `message` "" by
/// default, alert-only attributes left out.
pub fn observable_draft(artifact: &Map<String, Value>, alert_type: &str) -> Map<String, Value> {
    let mut draft = Map::new();
    for key in [
        "dataType",
        "data",
        "attachment",
        "message",
        "tlp",
        "ioc",
        "sighted",
        "startDate",
    ] {
        if let Some(value) = artifact.get(key).filter(|value| !value.is_null()) {
            draft.insert(key.to_owned(), value.clone());
        }
    }
    draft.entry("message").or_insert(json!(""));
    let mut tags: Vec<Value> = artifact
        .get("tags")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let source_tag = json!(format!("src:{alert_type}"));
    if !tags.contains(&source_tag) {
        tags.push(source_tag);
    }
    draft.insert("tags".into(), Value::Array(tags));
    draft
}

/// Imports the artifacts as observables of the case; an identical observable gets the tags
/// merged; failures are logged, never returned (as TheHive).
async fn import_artifacts(store: &dyn Store, actor: &str, alert: &Document, case_id: &str) {
    let alert_type = alert
        .body
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let drafts: Vec<Map<String, Value>> = alert::artifact_list(&alert.body)
        .iter()
        .filter(|artifact| artifact.contains_key("data") || artifact.contains_key("attachment"))
        .map(|artifact| observable_draft(artifact, alert_type))
        .collect();
    for result in
        observable::create_many(store, actor, case_id, drafts, OnDuplicate::MergeTags).await
    {
        match result {
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(alert_id = %alert.id, case_id, error = ?error, "alert artifact not imported")
            }
        }
    }
}

/// Adds `similarCases` to a rendered alert and a `seen` count to each artifact: the case
/// observables similar to it (status Ok, in cases neither Deleted nor Duplicated).
pub async fn add_similarity(
    store: &dyn Store,
    rendered: &mut Map<String, Value>,
) -> Result<(), ApiError> {
    let artifacts = alert::artifact_list(rendered);
    let mut per_case: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut with_seen = Vec::with_capacity(artifacts.len());
    for mut artifact in artifacts {
        let probe = Document {
            id: String::new(),
            parent: None,
            version: skep_store::Version {
                seq_no: 0,
                primary_term: 0,
            },
            body: artifact.clone(),
        };
        let mut seen = 0;
        if let Some(query) = similarity::similar_query(&probe) {
            let query = query.and(Query::eq("status", "Ok"));
            let hits = store
                .search(observable::KIND, &query, Page::ALL, &[])
                .await?;
            for similar in hits.documents {
                let Some(case_id) = similar.parent.clone() else {
                    continue;
                };
                seen += 1;
                let counts = per_case.entry(case_id).or_default();
                counts.0 += 1;
                counts.1 += usize::from(entity::flag(similar.body.get("ioc")));
            }
        }
        artifact.insert("seen".into(), json!(seen));
        with_seen.push(Value::Object(artifact));
    }
    let mut similar_cases = Vec::new();
    for (case_id, (similar_count, similar_ioc_count)) in per_case {
        let Ok(document) = store.get(case::KIND, &case_id).await else {
            continue;
        };
        if !similarity::is_live_case(&document) {
            continue;
        }
        let live = entity::child_of(case::KIND, &case_id).and(Query::eq("status", "Ok"));
        let artifact_count = store.count(observable::KIND, &live).await?;
        let ioc_count = store
            .count(observable::KIND, &live.and(Query::eq("ioc", true)))
            .await?;
        let body = &document.body;
        let mut item = json!({
            "id": case_id, "_id": case_id,
            "similarArtifactCount": similar_count, "similarIocCount": similar_ioc_count,
            "artifactCount": artifact_count, "iocCount": ioc_count,
        });
        for key in [
            "caseId",
            "title",
            "tags",
            "status",
            "severity",
            "resolutionStatus",
            "tlp",
            "startDate",
            "endDate",
        ] {
            item[key] = body.get(key).cloned().unwrap_or(Value::Null);
        }
        similar_cases.push(item);
    }
    rendered.insert("artifacts".into(), Value::Array(with_seen));
    rendered.insert("similarCases".into(), Value::Array(similar_cases));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artifacts_become_observable_drafts_tagged_with_the_alert_type() {
        let artifact = json!({"dataType": "ip", "data": "1.2.3.4", "message": null, "tags": ["a"], "tlp": 1, "remoteAttachment": null});

        let draft = observable_draft(artifact.as_object().unwrap(), "external");

        assert_eq!(
            Value::Object(draft),
            json!({"dataType": "ip", "data": "1.2.3.4", "tlp": 1, "message": "", "tags": ["a", "src:external"]})
        );
    }
}
