//! What every TheHive entity shares: rendering a stored document with its metadata
//! (`id`, `_id`, `_type`, `_routing`, `_parent`, `_version`, `_seqNo`, `_primaryTerm`), the
//! attribute checks of create and update bodies (the "Fields" rules of spec §1.3), dates, and
//! small query builders.

use serde_json::{Map, Value};
use skep_http::{ApiError, AttributeError, AttributeErrorType};
use skep_store::{Document, Query};

/// Key of the body holding a child's root (case) id when it differs from its parent (logs).
pub const ROUTING_KEY: &str = "_routing";
/// Keys kept in stored bodies for searching and aggregating but never rendered.
const HIDDEN_KEYS: [&str; 2] = [ROUTING_KEY, "computed"];

/// Renders a stored document as TheHive JSON: the body plus the metadata fields.
pub fn render(model: &str, document: &Document) -> Map<String, Value> {
    let mut output = Map::with_capacity(document.body.len() + 8);
    let routing = document
        .body
        .get(ROUTING_KEY)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or_else(|| document.parent.clone())
        .unwrap_or_else(|| document.id.clone());
    output.insert("_id".into(), Value::from(document.id.clone()));
    output.insert("id".into(), Value::from(document.id.clone()));
    output.insert("_type".into(), Value::from(model));
    output.insert("_routing".into(), Value::from(routing));
    output.insert(
        "_parent".into(),
        document
            .parent
            .clone()
            .map(Value::from)
            .unwrap_or(Value::Null),
    );
    output.insert("_version".into(), Value::from(document.version.seq_no));
    output.insert("_seqNo".into(), Value::from(document.version.seq_no));
    output.insert(
        "_primaryTerm".into(),
        Value::from(document.version.primary_term),
    );
    for (key, value) in &document.body {
        if !HIDDEN_KEYS.contains(&key.as_str()) {
            output.insert(key.clone(), value.clone());
        }
    }
    output
}

/// Current time in epoch milliseconds.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Adds `createdBy`/`createdAt` to a new body.
pub fn stamp_creation(body: &mut Map<String, Value>, actor: &str) {
    body.insert("createdBy".into(), Value::from(actor));
    body.insert("createdAt".into(), Value::from(now_ms()));
}

/// Adds `updatedBy`/`updatedAt` to a changed body.
pub fn stamp_update(body: &mut Map<String, Value>, actor: &str) {
    body.insert("updatedBy".into(), Value::from(actor));
    body.insert("updatedAt".into(), Value::from(now_ms()));
}

/// The query of the children of the document `parent_id` of kind `parent_kind`.
pub fn child_of(parent_kind: &str, parent_id: &str) -> Query {
    Query::Parent {
        kind: parent_kind.to_owned(),
        query: Box::new(Query::Id(vec![parent_id.to_owned()])),
    }
}

/// Parses a TheHive date: epoch milliseconds as a number or numeric string, or
/// `yyyyMMdd'T'HHmmssZ` (e.g. `20200131T120000+0100`).
pub fn parse_date(value: &Value) -> Option<i64> {
    match value {
        Value::Number(number) => number
            .as_i64()
            .or_else(|| number.as_f64().map(|float| float as i64)),
        Value::String(text) => {
            let text = text.trim();
            text.parse::<i64>().ok().or_else(|| {
                chrono::DateTime::parse_from_str(text, "%Y%m%dT%H%M%S%z")
                    .ok()
                    .map(|date| date.timestamp_millis())
            })
        }
        _ => None,
    }
}

/// The type of an attribute, with what it accepts.
#[derive(Debug, Clone, Copy)]
pub enum AttributeType {
    /// A string (also numbers and booleans given as form text are kept as sent).
    Text,
    /// An integer within bounds (numeric strings accepted).
    Integer {
        /// Smallest accepted value.
        min: i64,
        /// Largest accepted value.
        max: i64,
    },
    /// A boolean (`"true"`/`"false"`/`"1"`/`"0"` accepted).
    Boolean,
    /// A date (see [`parse_date`]), stored as epoch milliseconds.
    Date,
    /// An array of strings (a single string becomes a one-element array); duplicates removed.
    StringList,
    /// A JSON object.
    Object,
    /// One of the listed strings (case-sensitive).
    Enumeration(&'static [&'static str]),
    /// Any JSON value.
    Any,
}

/// One attribute of a model.
#[derive(Debug, Clone, Copy)]
pub struct Attribute {
    /// Name in bodies and output.
    pub name: &'static str,
    /// Accepted type.
    pub kind: AttributeType,
    /// Required on create.
    pub required: bool,
    /// Rejected on update (`UpdateReadOnlyAttributeError`).
    pub readonly: bool,
}

impl Attribute {
    /// An optional, updatable attribute.
    pub const fn optional(name: &'static str, kind: AttributeType) -> Attribute {
        Attribute {
            name,
            kind,
            required: false,
            readonly: false,
        }
    }

    /// A required, updatable attribute.
    pub const fn required(name: &'static str, kind: AttributeType) -> Attribute {
        Attribute {
            name,
            kind,
            required: true,
            readonly: false,
        }
    }

    /// Marks the attribute read-only after creation.
    pub const fn readonly(self) -> Attribute {
        Attribute {
            readonly: true,
            ..self
        }
    }
}

/// The attribute table of one model, used to check create and update bodies.
#[derive(Debug, Clone, Copy)]
pub struct Model {
    /// Model name (`tableName` of validation errors, `_type` of output).
    pub name: &'static str,
    /// Accepted attributes.
    pub attributes: &'static [Attribute],
}

impl Model {
    fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes
            .iter()
            .find(|attribute| attribute.name == name)
    }

    /// Checks a create body: `null` values are dropped (absent), unknown names, bad values and
    /// missing required attributes give one 400 `AttributeCheckingError` listing them all.
    /// Returns the normalised attributes (dates as millis, integers as numbers, …).
    pub fn check_create(&self, input: Map<String, Value>) -> Result<Map<String, Value>, ApiError> {
        let mut output = Map::new();
        let mut errors = Vec::new();
        for (name, value) in input {
            if value.is_null() {
                continue;
            }
            match self.attribute(&name) {
                None => errors.push(unknown(&name, value)),
                Some(attribute) => match normalise(attribute.kind, value.clone()) {
                    Some(normalised) => {
                        output.insert(name, normalised);
                    }
                    None => errors.push(invalid(&name, value)),
                },
            }
        }
        for attribute in self
            .attributes
            .iter()
            .filter(|attribute| attribute.required)
        {
            if !output.contains_key(attribute.name) {
                errors.push(AttributeError {
                    name: attribute.name.to_owned(),
                    value: Value::Null,
                    error_type: AttributeErrorType::Missing,
                    message: format!("Attribute {} is missing", attribute.name),
                });
            }
        }
        self.finish(output, errors)
    }

    /// Checks an update body. `null` stays `null` (stored as null) and `[]` on a list removes
    /// the key (rendered as [`Value::Null`] here; [`apply_update`] removes it). Dotted names
    /// (`customFields.x.string`, `metrics.x`) are accepted below object attributes.
    pub fn check_update(&self, input: Map<String, Value>) -> Result<Map<String, Value>, ApiError> {
        let mut output = Map::new();
        let mut errors = Vec::new();
        for (name, value) in input {
            let root = name.split('.').next().unwrap_or_default();
            let Some(attribute) = self.attribute(root) else {
                errors.push(unknown(&name, value));
                continue;
            };
            if attribute.readonly {
                errors.push(AttributeError {
                    name: name.clone(),
                    value,
                    error_type: AttributeErrorType::UpdateReadOnly,
                    message: format!("Attribute {name} is read-only"),
                });
                continue;
            }
            if name.contains('.') {
                if matches!(attribute.kind, AttributeType::Object | AttributeType::Any) {
                    output.insert(name, value);
                } else {
                    errors.push(unknown(&name, value));
                }
                continue;
            }
            if value.is_null() {
                if attribute.required {
                    errors.push(invalid(&name, value));
                } else {
                    output.insert(name, Value::Null);
                }
                continue;
            }
            match normalise(attribute.kind, value.clone()) {
                Some(normalised) => {
                    output.insert(name, normalised);
                }
                None => errors.push(invalid(&name, value)),
            }
        }
        self.finish(output, errors)
    }

    fn finish(
        &self,
        output: Map<String, Value>,
        errors: Vec<AttributeError>,
    ) -> Result<Map<String, Value>, ApiError> {
        if errors.is_empty() {
            Ok(output)
        } else {
            Err(ApiError::attribute_errors(self.name, errors))
        }
    }
}

/// Applies a checked update to a body: dotted names set nested values, `null` on a list
/// attribute or an empty list removes the key, other values replace.
pub fn apply_update(body: &mut Map<String, Value>, changes: &Map<String, Value>) {
    for (name, value) in changes {
        if name.contains('.') {
            set_path(body, name, value.clone());
        } else if value.as_array().is_some_and(Vec::is_empty) {
            body.remove(name);
        } else {
            body.insert(name.clone(), value.clone());
        }
    }
}

fn set_path(body: &mut Map<String, Value>, path: &str, value: Value) {
    let mut parts = path.split('.').peekable();
    let mut current = body;
    while let Some(part) = parts.next() {
        if parts.peek().is_none() {
            current.insert(part.to_owned(), value);
            return;
        }
        let entry = current
            .entry(part.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        let Value::Object(next) = entry else { return };
        current = next;
    }
}

fn unknown(name: &str, value: Value) -> AttributeError {
    AttributeError {
        name: name.to_owned(),
        value,
        error_type: AttributeErrorType::Unknown,
        message: format!("Unknown attribute {name}"),
    }
}

fn invalid(name: &str, value: Value) -> AttributeError {
    AttributeError {
        name: name.to_owned(),
        value,
        error_type: AttributeErrorType::InvalidFormat,
        message: format!("Invalid format for {name}"),
    }
}

/// Normalises one value to its attribute type; `None` when it does not fit.
pub fn normalise(kind: AttributeType, value: Value) -> Option<Value> {
    match kind {
        AttributeType::Text => match value {
            Value::String(_) => Some(value),
            Value::Number(_) | Value::Bool(_) => Some(Value::from(value.to_string())),
            _ => None,
        },
        AttributeType::Integer { min, max } => {
            let number = match &value {
                Value::Number(number) => number.as_i64(),
                Value::String(text) => text.trim().parse::<i64>().ok(),
                _ => None,
            }?;
            (min..=max).contains(&number).then(|| Value::from(number))
        }
        AttributeType::Boolean => match value {
            Value::Bool(_) => Some(value),
            Value::String(text) => match text.trim() {
                "true" | "1" => Some(Value::Bool(true)),
                "false" | "0" => Some(Value::Bool(false)),
                _ => None,
            },
            Value::Number(number) => number.as_i64().map(|n| Value::Bool(n != 0)),
            _ => None,
        },
        AttributeType::Date => parse_date(&value).map(Value::from),
        AttributeType::StringList => {
            let items = match value {
                Value::String(text) => vec![Value::String(text)],
                Value::Array(items) => items,
                _ => return None,
            };
            let mut strings: Vec<Value> = Vec::with_capacity(items.len());
            for item in items {
                let text = item.as_str()?.to_owned();
                let item = Value::String(text);
                if !strings.contains(&item) {
                    strings.push(item);
                }
            }
            Some(Value::Array(strings))
        }
        AttributeType::Object => match value {
            Value::Object(_) => Some(value),
            Value::String(text) => serde_json::from_str::<Value>(&text)
                .ok()
                .filter(Value::is_object),
            _ => None,
        },
        AttributeType::Enumeration(values) => value
            .as_str()
            .filter(|text| values.contains(text))
            .map(|_| value.clone()),
        AttributeType::Any => Some(value),
    }
}

/// Reads a boolean-ish flag (`true`, `"true"`, `"1"`, `1`).
pub fn flag(value: Option<&Value>) -> bool {
    match value {
        Some(Value::Bool(flag)) => *flag,
        Some(Value::String(text)) => matches!(text.trim(), "true" | "1"),
        Some(Value::Number(number)) => number.as_i64().is_some_and(|n| n != 0),
        _ => false,
    }
}

/// Reads a non-negative integer parameter such as `nparent` (garbage: 0).
pub fn count_param(value: Option<&Value>) -> u32 {
    match value {
        Some(Value::Number(number)) => number.as_u64().unwrap_or(0).min(10) as u32,
        Some(Value::String(text)) => text.trim().parse::<u32>().unwrap_or(0).min(10),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const MODEL: Model = Model {
        name: "thing",
        attributes: &[
            Attribute::required("title", AttributeType::Text),
            Attribute::optional("severity", AttributeType::Integer { min: 1, max: 4 }),
            Attribute::optional("tags", AttributeType::StringList),
            Attribute::optional("when", AttributeType::Date),
            Attribute::optional("customFields", AttributeType::Object),
            Attribute::optional("kind", AttributeType::Text).readonly(),
        ],
    };

    fn object(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn nulls_on_create_mean_absent_and_values_are_normalised() {
        let checked = MODEL
            .check_create(object(
                json!({"title": "t", "severity": "3", "tags": ["a", "a"], "when": null}),
            ))
            .unwrap();

        assert_eq!(
            Value::Object(checked),
            json!({"title": "t", "severity": 3, "tags": ["a"]})
        );
    }

    #[test]
    fn unknown_invalid_and_missing_attributes_are_all_reported() {
        let error = MODEL
            .check_create(object(json!({"severity": 9, "pap": 1})))
            .unwrap_err();

        assert_eq!(error.status().as_u16(), 400);
    }

    #[test]
    fn compact_dates_are_parsed_to_milliseconds() {
        assert_eq!(
            parse_date(&json!("20200131T120000+0100")),
            Some(1_580_468_400_000)
        );
        assert_eq!(parse_date(&json!("1580468400000")), Some(1_580_468_400_000));
    }

    #[test]
    fn dotted_updates_set_nested_values_and_empty_lists_remove_keys() {
        let changes = MODEL
            .check_update(object(json!({"customFields.cvss.number": 7, "tags": []})))
            .unwrap();
        let mut body = object(json!({"tags": ["x"], "customFields": {}}));

        apply_update(&mut body, &changes);

        assert_eq!(
            Value::Object(body),
            json!({"customFields": {"cvss": {"number": 7}}})
        );
    }

    #[test]
    fn read_only_attributes_are_rejected_on_update() {
        assert!(MODEL.check_update(object(json!({"kind": "x"}))).is_err());
    }
}
