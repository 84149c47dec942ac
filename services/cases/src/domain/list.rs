//! Lists (`dblist`): named lists of JSON values (`list_artifactDataType`, `custom_fields`,
//! `case_metrics`, `ui_settings`, …). An item's id is derived from its list and value (see
//! [`crate::domain::migration::list_item`]), so adding the same value twice keeps one item;
//! changing an item removes it and adds the new value under its new id.

use serde_json::{Map, Value};
use skep_http::ApiError;
use skep_store::{DeleteMode, Document, Page, Query, Store};

use crate::domain::migration::{LIST_KIND, list_item};
use crate::error::or_not_found;

/// Model name of list items in audits.
const MODEL_NAME: &str = "dblist";
/// Lists every deployment has, even empty.
pub const WELL_KNOWN: [&str; 4] = [
    "list_artifactDataType",
    "custom_fields",
    "case_metrics",
    "ui_settings",
];

/// The names of the lists (`GET /api/list`).
pub async fn names(store: &dyn Store) -> Result<Vec<String>, ApiError> {
    let hits = store.search(LIST_KIND, &Query::All, Page::ALL, &[]).await?;
    let mut names: Vec<String> = WELL_KNOWN.iter().map(|name| (*name).to_owned()).collect();
    for document in &hits.documents {
        if let Some(name) = document.body.get("dblist").and_then(Value::as_str)
            && !names.iter().any(|known| known == name)
        {
            names.push(name.to_owned());
        }
    }
    Ok(names)
}

/// The items of a list, in insertion order.
pub async fn items(store: &dyn Store, list: &str) -> Result<Vec<Document>, ApiError> {
    let sort = [skep_store::Sort {
        field: "createdAt".into(),
        descending: false,
    }];
    Ok(store
        .search(LIST_KIND, &Query::eq("dblist", list), Page::ALL, &sort)
        .await?
        .documents)
}

/// A list as `{"<itemId>": <value>, …}` (`GET /api/list/:name`).
pub async fn get(store: &dyn Store, list: &str) -> Result<Map<String, Value>, ApiError> {
    Ok(items(store, list)
        .await?
        .into_iter()
        .map(|document| {
            (
                document.id,
                document.body.get("value").cloned().unwrap_or(Value::Null),
            )
        })
        .collect())
}

/// The values of a list.
pub async fn values(store: &dyn Store, list: &str) -> Result<Vec<Value>, ApiError> {
    Ok(items(store, list)
        .await?
        .into_iter()
        .filter_map(|mut document| document.body.remove("value"))
        .collect())
}

/// Adds a value to a list and returns the item id (the existing one when the value is there).
pub async fn add(
    store: &dyn Store,
    actor: &str,
    list: &str,
    value: Value,
) -> Result<String, ApiError> {
    let mut document = list_item(list, value);
    document.body.insert("createdBy".into(), Value::from(actor));
    document.body.insert(
        "createdAt".into(),
        Value::from(crate::domain::entity::now_ms()),
    );
    let id = document.id.clone().unwrap_or_default();
    match store.put(LIST_KIND, document).await {
        Ok(stored) => Ok(stored.id),
        Err(error) if error.is_duplicate() => Ok(id),
        Err(error) => Err(error.into()),
    }
}

/// True when an item of the list has `value[key] == expected` (`_exists`).
pub async fn exists(
    store: &dyn Store,
    list: &str,
    key: &str,
    expected: &Value,
) -> Result<bool, ApiError> {
    let values = values(store, list).await?;
    Ok(values.iter().any(|value| {
        let found = if key.is_empty() {
            Some(value)
        } else {
            value.pointer(&format!("/{}", key.replace('.', "/")))
        };
        found == Some(expected)
    }))
}

/// Replaces an item's value: the item is removed and the value added; returns the new id.
pub async fn update(
    store: &dyn Store,
    actor: &str,
    item_id: &str,
    value: Value,
) -> Result<String, ApiError> {
    let existing = store
        .get(LIST_KIND, item_id)
        .await
        .map_err(|error| or_not_found(MODEL_NAME, item_id, error))?;
    let list = existing
        .body
        .get("dblist")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    delete(store, item_id).await?;
    add(store, actor, &list, value).await
}

/// Removes an item for good.
pub async fn delete(store: &dyn Store, item_id: &str) -> Result<(), ApiError> {
    store
        .delete(LIST_KIND, item_id, DeleteMode::Hard)
        .await
        .map_err(|error| or_not_found(MODEL_NAME, item_id, error))?;
    Ok(())
}
