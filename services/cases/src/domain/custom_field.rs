//! Custom fields: definitions are items of the `custom_fields` list (`{name, reference,
//! description, type, options, mandatory}`); values live in `customFields.<reference>` of cases,
//! alerts and templates. This module answers where a field is used.

use serde_json::{Map, Value, json};
use skep_http::ApiError;
use skep_store::{Query, Store};

use crate::error::not_found;

/// Name of the list holding the definitions.
pub const LIST: &str = "custom_fields";

/// The definitions.
pub async fn definitions(store: &dyn Store) -> Result<Vec<Map<String, Value>>, ApiError> {
    Ok(crate::domain::list::values(store, LIST)
        .await?
        .into_iter()
        .filter_map(|value| value.as_object().cloned())
        .collect())
}

/// How many cases, alerts and templates carry a value for the field `reference`
/// (`GET /api/customFields/:reference`); 404 for an unknown reference.
pub async fn usage(store: &dyn Store, reference: &str) -> Result<Map<String, Value>, ApiError> {
    let known = definitions(store)
        .await?
        .iter()
        .any(|definition| definition.get("reference").and_then(Value::as_str) == Some(reference));
    if !known {
        return Err(not_found("customField", reference));
    }
    let query = Query::Exists(format!("customFields.{reference}"));
    let mut usage = Map::new();
    let mut total = 0;
    for (key, kind) in [
        ("case", "case"),
        ("alert", "alert"),
        ("caseTemplate", "caseTemplate"),
    ] {
        let count = store.count(kind, &query).await?;
        total += count;
        usage.insert(key.to_owned(), json!(count));
    }
    usage.insert("total".into(), json!(total));
    Ok(usage)
}
