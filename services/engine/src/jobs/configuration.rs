//! Validation of a worker's configuration against its definition's items, the global items
//! every worker accepts, and the TLP/PAP items.

use serde_json::{Map, Value};

use super::catalog::{ConfigurationItem, ItemType, WorkerKind};

/// Why a configuration key was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigurationErrorKind {
    /// A required item has no value and no default.
    Missing,
    /// The value has the wrong type.
    InvalidFormat,
    /// The key is not an item of the worker.
    Unknown,
}

/// One refused configuration key.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigurationError {
    /// The key.
    pub name: String,
    /// The value given (null when missing).
    pub value: Value,
    /// Why.
    pub kind: ConfigurationErrorKind,
    /// Human explanation.
    pub message: String,
}

fn item(
    name: &str,
    description: &str,
    item_type: ItemType,
    default: Option<Value>,
) -> ConfigurationItem {
    ConfigurationItem {
        name: name.to_owned(),
        description: description.to_owned(),
        item_type,
        multi: false,
        required: false,
        default_value: default,
    }
}

/// The items of the `global` base configuration of a worker kind.
pub fn global_items(
    kind: WorkerKind,
    cache_minutes: f64,
    timeout_minutes: f64,
) -> Vec<ConfigurationItem> {
    let mut items = Vec::new();
    if kind == WorkerKind::Analyzer {
        items.push(item(
            "auto_extract_artifacts",
            "Extract artifacts from the report automatically",
            ItemType::Boolean,
            Some(Value::Bool(false)),
        ));
        items.push(item(
            "jobCache",
            "Maximum time, in minutes, a previous result is reused",
            ItemType::Number,
            serde_json::Number::from_f64(cache_minutes).map(Value::Number),
        ));
    }
    items.push(item("proxy_http", "HTTP proxy URL", ItemType::String, None));
    items.push(item(
        "proxy_https",
        "HTTPS proxy URL",
        ItemType::String,
        None,
    ));
    items.push(item(
        "cacerts",
        "Certificate authorities (PEM)",
        ItemType::Text,
        None,
    ));
    items.push(item(
        "jobTimeout",
        "Maximum time, in minutes, a job may run",
        ItemType::Number,
        serde_json::Number::from_f64(timeout_minutes).map(Value::Number),
    ));
    items
}

/// The TLP/PAP items every worker accepts.
pub fn sensitivity_items() -> Vec<ConfigurationItem> {
    vec![
        item(
            "check_tlp",
            "Refuse observables above max_tlp",
            ItemType::Boolean,
            None,
        ),
        item(
            "max_tlp",
            "Highest TLP accepted (0 WHITE to 3 RED)",
            ItemType::Number,
            None,
        ),
        item(
            "check_pap",
            "Refuse observables above max_pap",
            ItemType::Boolean,
            None,
        ),
        item(
            "max_pap",
            "Highest PAP accepted (0 WHITE to 3 RED)",
            ItemType::Number,
            None,
        ),
    ]
}

fn type_matches(item_type: ItemType, value: &Value) -> bool {
    match item_type {
        ItemType::String | ItemType::Text => value.is_string(),
        ItemType::Number => value.is_number(),
        ItemType::Boolean => value.is_boolean(),
    }
}

fn type_name(item_type: ItemType) -> &'static str {
    match item_type {
        ItemType::String => "string",
        ItemType::Text => "text",
        ItemType::Number => "number",
        ItemType::Boolean => "boolean",
    }
}

/// Validates `given` against `items`: unknown keys, wrong types and missing required values
/// are refused; missing keys take their default, else `[]` when multi, else null. The result
/// holds every item, in item order.
pub fn validate(
    items: &[ConfigurationItem],
    given: &Map<String, Value>,
) -> Result<Map<String, Value>, Vec<ConfigurationError>> {
    let mut errors = Vec::new();
    for (key, value) in given {
        if !items.iter().any(|item| &item.name == key) {
            errors.push(ConfigurationError {
                name: key.clone(),
                value: value.clone(),
                kind: ConfigurationErrorKind::Unknown,
                message: format!("unknown configuration item `{key}`"),
            });
        }
    }
    let mut validated = Map::new();
    for item in items {
        let value = match given.get(&item.name) {
            Some(Value::Null) | None => None,
            Some(value) => Some(value.clone()),
        };
        let value = match (value, &item.default_value) {
            (Some(value), _) => value,
            (None, Some(default)) => default.clone(),
            (None, None) if item.multi => Value::Array(Vec::new()),
            (None, None) if item.required => {
                errors.push(ConfigurationError {
                    name: item.name.clone(),
                    value: Value::Null,
                    kind: ConfigurationErrorKind::Missing,
                    message: format!("configuration item `{}` is required", item.name),
                });
                continue;
            }
            (None, None) => Value::Null,
        };
        let well_typed = match (&value, item.multi) {
            (Value::Null, _) => true,
            (Value::Array(values), true) => values.iter().all(|v| type_matches(item.item_type, v)),
            (_, true) => false,
            (value, false) => type_matches(item.item_type, value),
        };
        if !well_typed {
            errors.push(ConfigurationError {
                name: item.name.clone(),
                value: value.clone(),
                kind: ConfigurationErrorKind::InvalidFormat,
                message: format!(
                    "configuration item `{}` must be {}{}",
                    item.name,
                    if item.multi { "a list of " } else { "a " },
                    type_name(item.item_type)
                ),
            });
            continue;
        }
        validated.insert(item.name.clone(), value);
    }
    if errors.is_empty() {
        Ok(validated)
    } else {
        Err(errors)
    }
}

/// Merges `overlay` into `base` recursively: objects merge key by key, anything else in
/// `overlay` (including null) replaces the base value.
pub fn deep_merge(base: &mut Map<String, Value>, overlay: &Map<String, Value>) {
    for (key, value) in overlay {
        match (base.get_mut(key), value) {
            (Some(Value::Object(base_object)), Value::Object(overlay_object)) => {
                deep_merge(base_object, overlay_object);
            }
            _ => {
                base.insert(key.clone(), value.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn items() -> Vec<ConfigurationItem> {
        serde_json::from_value(json!([
            {"name": "key", "description": "k", "type": "string", "required": true},
            {"name": "days", "description": "d", "type": "number", "defaultValue": 30},
            {"name": "hosts", "description": "h", "type": "string", "multi": true},
            {"name": "verbose", "description": "v", "type": "boolean"}
        ]))
        .unwrap()
    }

    #[test]
    fn defaults_fill_missing_items() {
        let given = json!({"key": "secret"});

        let validated = validate(&items(), given.as_object().unwrap()).unwrap();

        assert_eq!(
            Value::Object(validated),
            json!({"key": "secret", "days": 30, "hosts": [], "verbose": null})
        );
    }

    #[test]
    fn unknown_missing_and_mistyped_items_are_all_reported() {
        let given = json!({"days": "thirty", "color": "blue", "hosts": ["a", 1]});

        let errors = validate(&items(), given.as_object().unwrap()).unwrap_err();

        let kinds: Vec<_> = errors.iter().map(|e| (e.name.as_str(), e.kind)).collect();
        assert_eq!(
            kinds,
            vec![
                ("color", ConfigurationErrorKind::Unknown),
                ("key", ConfigurationErrorKind::Missing),
                ("days", ConfigurationErrorKind::InvalidFormat),
                ("hosts", ConfigurationErrorKind::InvalidFormat),
            ]
        );
    }

    #[test]
    fn deep_merge_lets_the_overlay_win_even_with_null() {
        let mut base = json!({"service": "get", "proxy": {"http": "a"}, "max_tlp": 2});
        let overlay = json!({"proxy": {"https": "b"}, "max_tlp": null});

        deep_merge(base.as_object_mut().unwrap(), overlay.as_object().unwrap());

        assert_eq!(
            base,
            json!({"service": "get", "proxy": {"http": "a", "https": "b"}, "max_tlp": null})
        );
    }
}
