//! The artifacts embedded in an alert: checking them, turning `name;mime;base64` file data into
//! datastore attachments, dropping unusable items and removing duplicates (spec §3.6).

use base64::Engine;
use serde_json::{Map, Value, json};
use skep_http::{ApiError, AttributeError};

use crate::domain::entity::{AttributeType, normalise, parse_date};

/// Attributes an alert artifact may carry.
const KNOWN: &[&str] = &[
    "dataType",
    "data",
    "message",
    "startDate",
    "attachment",
    "remoteAttachment",
    "sighted",
    "tlp",
    "tags",
    "ioc",
    "ignoreSimilarity",
];

/// A file sent inline as `"<filename>;<mimetype>;<base64>"`.
#[derive(Debug, Clone, PartialEq)]
pub struct InlineFile {
    /// File name (path components stripped).
    pub name: String,
    /// Declared content type.
    pub content_type: String,
    /// Decoded content.
    pub content: Vec<u8>,
}

/// One checked artifact, possibly still waiting for its file to be stored.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedArtifact {
    /// The attributes, defaults filled in.
    pub attributes: Map<String, Value>,
    /// The inline file to store; its attachment replaces `data`.
    pub file: Option<InlineFile>,
}

/// Checks the `artifacts` attribute of an alert. The whole request is refused (400
/// `InvalidFormatAttributeError` on `artifacts`) when it is not an array of objects, or when an
/// item has none of `data`/`attachment`/`remoteAttachment`, or neither a `tags` nor a
/// `message` key, or an unknown non-null attribute. Items that are unusable otherwise (no
/// `dataType`, undecodable file data, empty data) are dropped.
pub fn check(value: &Value) -> Result<Vec<CheckedArtifact>, ApiError> {
    let invalid = || {
        ApiError::attribute_errors(
            "alert",
            vec![AttributeError::invalid(
                "artifacts",
                value.clone(),
                "an array of artifact objects",
            )],
        )
    };
    let items = match value {
        Value::Null => return Ok(Vec::new()),
        Value::Array(items) => items,
        _ => return Err(invalid()),
    };
    let mut checked = Vec::with_capacity(items.len());
    for item in items {
        let item = item.as_object().ok_or_else(invalid)?;
        let present = |key: &str| item.get(key).is_some_and(|value| !value.is_null());
        let has_content = present("data") || present("attachment") || present("remoteAttachment");
        let has_description = item.contains_key("tags") || item.contains_key("message");
        let unknown = item
            .iter()
            .any(|(key, value)| !value.is_null() && !KNOWN.contains(&key.as_str()));
        if !has_content || !has_description || unknown {
            return Err(invalid());
        }
        if let Some(artifact) = normalise_item(item).map_err(|_| invalid())? {
            checked.push(artifact);
        }
    }
    Ok(checked)
}

/// Fills defaults and normalises values; `Ok(None)` drops the item, `Err` refuses the request.
fn normalise_item(item: &Map<String, Value>) -> Result<Option<CheckedArtifact>, ()> {
    let Some(data_type) = item.get("dataType").and_then(Value::as_str).map(str::trim) else {
        return Ok(None);
    };
    if data_type.is_empty() {
        return Ok(None);
    }
    let mut attributes = Map::new();
    attributes.insert("dataType".into(), json!(data_type));
    let field = |key: &str, kind: AttributeType, default: Value| -> Result<Value, ()> {
        match item.get(key) {
            None | Some(Value::Null) => Ok(default),
            Some(value) => normalise(kind, value.clone()).ok_or(()),
        }
    };
    attributes.insert(
        "message".into(),
        field("message", AttributeType::Text, Value::Null)?,
    );
    attributes.insert(
        "tlp".into(),
        field("tlp", AttributeType::Integer { min: 0, max: 3 }, json!(2))?,
    );
    attributes.insert(
        "tags".into(),
        field("tags", AttributeType::StringList, json!([]))?,
    );
    attributes.insert(
        "ioc".into(),
        field("ioc", AttributeType::Boolean, json!(false))?,
    );
    attributes.insert(
        "sighted".into(),
        field("sighted", AttributeType::Boolean, json!(false))?,
    );
    if let Some(start) = item.get("startDate").filter(|value| !value.is_null()) {
        attributes.insert("startDate".into(), json!(parse_date(start).ok_or(())?));
    }
    for key in ["attachment", "remoteAttachment", "ignoreSimilarity"] {
        if let Some(value) = item.get(key).filter(|value| !value.is_null()) {
            attributes.insert(key.into(), value.clone());
        }
    }
    let data = item.get("data").filter(|value| !value.is_null());
    let mut file = None;
    if data_type == "file" {
        match data {
            Some(Value::String(text)) => match parse_inline_file(text) {
                Some(inline) => file = Some(inline),
                None => return Ok(None),
            },
            Some(_) => return Ok(None),
            None if attributes.contains_key("attachment")
                || attributes.contains_key("remoteAttachment") => {}
            None => return Ok(None),
        }
    } else {
        let text = match data {
            Some(Value::String(text)) => text.trim().to_owned(),
            Some(Value::Number(number)) => number.to_string(),
            Some(Value::Bool(flag)) => flag.to_string(),
            _ if attributes.contains_key("remoteAttachment") => String::new(),
            _ => return Ok(None),
        };
        if text.is_empty() && !attributes.contains_key("remoteAttachment") {
            return Ok(None);
        }
        if !text.is_empty() {
            attributes.insert("data".into(), json!(text));
        }
    }
    Ok(Some(CheckedArtifact { attributes, file }))
}

/// Parses `"<filename>;<mimetype>;<base64>"`; `None` when malformed.
pub fn parse_inline_file(text: &str) -> Option<InlineFile> {
    let mut parts = text.splitn(3, ';');
    let name = parts.next()?.trim();
    let content_type = parts.next()?.trim();
    let encoded = parts.next()?;
    let name = name.rsplit(['/', '\\']).next().unwrap_or(name).to_owned();
    if name.is_empty() {
        return None;
    }
    let cleaned: String = encoded
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    let content = base64::engine::general_purpose::STANDARD
        .decode(&cleaned)
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(&cleaned))
        .ok()?;
    let content_type = if content_type.is_empty() {
        "application/octet-stream".to_owned()
    } else {
        content_type.to_owned()
    };
    Some(InlineFile {
        name,
        content_type,
        content,
    })
}

/// The identity of an artifact for de-duplication: data type and data (or attachment id).
pub fn identity(attributes: &Map<String, Value>) -> (String, String) {
    let data_type = attributes
        .get("dataType")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let data = attributes
        .get("data")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or_else(|| {
            attributes
                .get("attachment")
                .and_then(|attachment| attachment.get("id"))
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .or_else(|| {
            attributes
                .get("remoteAttachment")
                .and_then(|remote| remote.get("reference"))
                .and_then(Value::as_str)
                .map(|reference| format!("remote:{reference}"))
        })
        .unwrap_or_default();
    (data_type, data)
}

/// Removes later duplicates (same data type and data or attachment id); returns how many went.
pub fn deduplicate(artifacts: &mut Vec<Map<String, Value>>) -> usize {
    let before = artifacts.len();
    let mut seen = std::collections::HashSet::new();
    artifacts.retain(|artifact| seen.insert(identity(artifact)));
    before - artifacts.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checked(value: Value) -> Result<Vec<CheckedArtifact>, ApiError> {
        check(&value)
    }

    #[test]
    fn defaults_are_filled_in_and_data_is_trimmed() {
        let artifacts =
            checked(json!([{"dataType": "ip", "data": " 10.0.0.1 ", "message": null}])).unwrap();

        assert_eq!(
            Value::Object(artifacts[0].attributes.clone()),
            json!({"dataType": "ip", "message": null, "tlp": 2, "tags": [], "ioc": false, "sighted": false, "data": "10.0.0.1"})
        );
    }

    #[test]
    fn an_item_without_content_or_description_refuses_the_request() {
        assert!(checked(json!([{"dataType": "ip", "message": "m"}])).is_err());
        assert!(checked(json!([{"dataType": "ip", "data": "x"}])).is_err());
        assert!(
            checked(json!([{"dataType": "ip", "data": "x", "tags": [], "colour": "red"}])).is_err()
        );
        assert!(checked(json!({"dataType": "ip"})).is_err());
    }

    #[test]
    fn unusable_items_are_dropped_silently() {
        let artifacts = checked(json!([
            {"data": "x", "tags": []},
            {"dataType": "file", "data": "not a file", "tags": []},
            {"dataType": "domain", "data": "  ", "tags": []},
            {"dataType": "domain", "data": "ok.example", "tags": [], "pap": null}
        ]))
        .unwrap();

        assert_eq!(artifacts.len(), 1);
    }

    #[test]
    fn inline_files_are_decoded() {
        let artifacts = checked(
            json!([{"dataType": "file", "data": "dir/a.txt;text/plain;aGVsbG8=", "message": "m"}]),
        )
        .unwrap();

        let file = artifacts[0].file.clone().unwrap();
        assert_eq!(
            file,
            InlineFile {
                name: "a.txt".into(),
                content_type: "text/plain".into(),
                content: b"hello".to_vec()
            }
        );
        assert!(!artifacts[0].attributes.contains_key("data"));
    }

    #[test]
    fn duplicates_are_removed_keeping_the_first() {
        let mut artifacts: Vec<Map<String, Value>> = [
            json!({"dataType": "ip", "data": "1.1.1.1", "message": "first"}),
            json!({"dataType": "ip", "data": "1.1.1.1", "message": "second"}),
            json!({"dataType": "domain", "data": "1.1.1.1"}),
        ]
        .into_iter()
        .map(|value| value.as_object().cloned().unwrap())
        .collect();

        let removed = deduplicate(&mut artifacts);

        assert_eq!(removed, 1);
        assert_eq!(artifacts[0]["message"], "first");
    }
}
