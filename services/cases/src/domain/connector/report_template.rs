//! Report templates (`reportTemplate`): the HTML a UI renders for an analyzer's short
//! (taxonomies) or long (full report) view, id `<analyzerId>_<reportType>`. They are imported
//! from TheHive's zip (`<Analyzer>/short.html` and `<Analyzer>/long.html`), listed, served as
//! stored (`text/html`, for the UI to render sandboxed) and deleted.

use std::io::Read;

use serde_json::{Map, Value, json};
use skep_http::ApiError;
use skep_store::{Document, NewDocument, Store, StoreError};

use crate::domain::entity;

/// Store kind (and TheHive model name) of report templates.
pub const KIND: &str = "reportTemplate";

/// Largest template accepted (bytes).
const MAX_TEMPLATE: u64 = 1024 * 1024;

/// Renders a template.
pub fn render(document: &Document) -> Map<String, Value> {
    entity::render(KIND, document)
}

/// The id of an analyzer's template of a type.
pub fn template_id(analyzer_id: &str, report_type: &str) -> String {
    format!("{analyzer_id}_{report_type}")
}

fn check_type(report_type: &str) -> Result<(), ApiError> {
    if matches!(report_type, "short" | "long") {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "reportType must be short or long, not {report_type:?}"
        )))
    }
}

/// Creates or replaces the template of `analyzer_id` and `report_type`.
pub async fn put(
    store: &dyn Store,
    actor: &str,
    analyzer_id: &str,
    report_type: &str,
    content: &str,
) -> Result<Document, ApiError> {
    check_type(report_type)?;
    if analyzer_id.is_empty() || analyzer_id.contains(['/', '\\']) {
        return Err(ApiError::bad_request(format!(
            "invalid analyzerId {analyzer_id:?}"
        )));
    }
    let id = template_id(analyzer_id, report_type);
    let mut body = Map::from_iter([
        ("analyzerId".to_owned(), json!(analyzer_id)),
        ("reportType".to_owned(), json!(report_type)),
        ("content".to_owned(), json!(content)),
    ]);
    match store.get(KIND, &id).await {
        Ok(existing) => {
            let mut merged = existing.body.clone();
            merged.extend(body);
            entity::stamp_update(&mut merged, actor);
            Ok(store
                .update(KIND, &id, Some(existing.version), merged)
                .await?)
        }
        Err(StoreError::NotFound { .. }) => {
            entity::stamp_creation(&mut body, actor);
            Ok(store
                .put(
                    KIND,
                    NewDocument {
                        id: Some(id),
                        parent: None,
                        body,
                    },
                )
                .await?)
        }
        Err(error) => Err(error.into()),
    }
}

/// Imports TheHive's template archive: every `<analyzerId>/<short|long>.html` member is
/// created or replaced. Answers `{"<analyzerId>_<type>": true|false}` per member found.
pub async fn import_zip(
    store: &dyn Store,
    actor: &str,
    archive: &[u8],
) -> Result<Map<String, Value>, ApiError> {
    let bad = |error: &dyn std::fmt::Display| {
        ApiError::bad_request(format!("invalid zip archive: {error}"))
    };
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(archive)).map_err(|e| bad(&e))?;
    let mut members = Vec::new();
    for index in 0..zip.len() {
        let mut entry = zip.by_index(index).map_err(|e| bad(&e))?;
        if entry.is_dir() {
            continue;
        }
        let name = entry.name().map_err(|e| bad(&e))?.replace('\\', "/");
        let parts: Vec<&str> = name.split('/').filter(|part| !part.is_empty()).collect();
        // `<analyzer>/<type>.html`, possibly under one top folder of the archive.
        let [.., analyzer, file] = parts.as_slice() else {
            continue;
        };
        let Some(report_type) = file
            .strip_suffix(".html")
            .filter(|t| matches!(*t, "short" | "long"))
        else {
            continue;
        };
        let (analyzer, report_type) = ((*analyzer).to_owned(), report_type.to_owned());
        let mut content = String::new();
        let read = entry
            .by_ref()
            .take(MAX_TEMPLATE)
            .read_to_string(&mut content);
        members.push((analyzer, report_type, read.ok().map(|_| content)));
    }
    if members.is_empty() {
        return Err(ApiError::bad_request(
            "the archive holds no <analyzer>/short.html or <analyzer>/long.html",
        ));
    }
    let mut outcome = Map::new();
    for (analyzer, report_type, content) in members {
        let stored = match content {
            Some(content) => put(store, actor, &analyzer, &report_type, &content)
                .await
                .is_ok(),
            None => false,
        };
        outcome.insert(template_id(&analyzer, &report_type), json!(stored));
    }
    Ok(outcome)
}

/// Reads a template or answers `404 reportTemplate <id> not found`.
pub async fn get(store: &dyn Store, id: &str) -> Result<Document, ApiError> {
    store
        .get(KIND, id)
        .await
        .map_err(|error| crate::error::or_not_found(KIND, id, error))
}

/// Deletes a template for good.
pub async fn delete(store: &dyn Store, id: &str) -> Result<(), ApiError> {
    get(store, id).await?;
    store.delete(KIND, id, skep_store::DeleteMode::Hard).await?;
    Ok(())
}
