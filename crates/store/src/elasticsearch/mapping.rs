//! The index layout: one index per kind, its settings and mapping, and the hidden fields Skep
//! keeps next to each document body.

use serde_json::{Map, Value, json};

/// Hidden field: the document body, kept in `_source` as given and not indexed (the typed
/// fields below index it).
pub const BODY_FIELD: &str = "_skep_body";
/// Hidden field: id of the parent document.
pub const PARENT_FIELD: &str = "_skep_parent";
/// Hidden field: true while the document is soft-deleted.
pub const DELETED_FIELD: &str = "_skep_deleted";
/// Hidden field: the kind, so `_type` queries translate without knowing the searched kind.
pub const KIND_FIELD: &str = "_skep_kind";
/// Hidden field: a copy of the id, sortable and aggregatable (Elasticsearch restricts `_id`).
pub const ID_FIELD: &str = "_skep_id";
/// Hidden field: creation sequence (microseconds since the epoch, strictly increasing per
/// process), used for the "newest first" default order.
pub const SEQUENCE_FIELD: &str = "_skep_seq";
/// Catch-all text field every string is copied to; full-text words and `_string` bare words
/// search it. Indexed only, never part of `_source`.
pub const ALL_TEXT_FIELD: &str = "_skep_all";

/// Subfield holding the analysed text of a string field (`_like` searches it).
pub const TEXT_SUBFIELD: &str = "text";

/// Strings longer than this many characters are not indexed as `keyword` (Lucene refuses terms
/// over 32766 bytes; 8191 characters of up to 4 UTF-8 bytes stay under it). They stay
/// searchable as text.
pub const KEYWORD_IGNORE_ABOVE: u64 = 8191;

/// Most fields one index maps (Elasticsearch's default is 1000; every string path counts twice).
pub const TOTAL_FIELDS_LIMIT: u64 = 10_000;

/// Separates the segments of a body path in a typed field name (`a.b.c` → `a/b/c`): a dot would
/// make Elasticsearch nest objects, and `a` could not then be both a value and an object.
pub const PATH_SEPARATOR: char = '/';

/// The JSON type a typed field indexes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    /// Strings: `keyword` with a `text` subfield.
    Text,
    /// Numbers: `double`.
    Number,
    /// Booleans: `boolean`.
    Boolean,
}

impl ValueType {
    /// Every type, in the order sorts and buckets rank them (numbers before strings, as SQLite).
    pub const ALL: [ValueType; 3] = [ValueType::Number, ValueType::Boolean, ValueType::Text];

    /// Prefix of the typed fields of this type.
    pub fn prefix(self) -> &'static str {
        match self {
            ValueType::Text => "s~",
            ValueType::Number => "n~",
            ValueType::Boolean => "b~",
        }
    }

    /// The Elasticsearch field type, as `unmapped_type` of a sort wants it.
    pub fn es_type(self) -> &'static str {
        match self {
            ValueType::Text => "keyword",
            ValueType::Number => "double",
            ValueType::Boolean => "boolean",
        }
    }
}

/// The indexed field holding the values of `type` found at the dotted body path `path`.
pub fn typed_field(value_type: ValueType, path: &str) -> String {
    let mut name = String::with_capacity(path.len() + 2);
    name.push_str(value_type.prefix());
    name.extend(path.chars().map(|character| {
        if character == '.' {
            PATH_SEPARATOR
        } else {
            character
        }
    }));
    name
}

/// The typed fields of a body: every scalar at every path, grouped by path and JSON type (array
/// elements join their array's path; nulls are not indexed). The `skip` fields (the kind's
/// unindexed ones) and what they hold have none.
pub fn typed_fields(body: &Map<String, Value>, skip: &[String]) -> Map<String, Value> {
    let mut fields: Map<String, Value> = Map::new();
    for (key, value) in body {
        collect_typed(value, key, skip, &mut fields);
    }
    fields
}

fn collect_typed(value: &Value, path: &str, skip: &[String], fields: &mut Map<String, Value>) {
    if crate::unindexed::skipped(skip, path) {
        return;
    }
    let value_type = match value {
        Value::Null => return,
        Value::Object(object) => {
            for (key, inner) in object {
                collect_typed(inner, &format!("{path}.{key}"), skip, fields);
            }
            return;
        }
        Value::Array(items) => {
            items
                .iter()
                .for_each(|item| collect_typed(item, path, skip, fields));
            return;
        }
        Value::String(_) => ValueType::Text,
        Value::Number(_) => ValueType::Number,
        Value::Bool(_) => ValueType::Boolean,
    };
    let name = typed_field(value_type, path);
    match fields.get_mut(&name) {
        Some(Value::Array(values)) => values.push(value.clone()),
        Some(single) => {
            let first = single.take();
            *single = Value::Array(vec![first, value.clone()]);
        }
        None => {
            fields.insert(name, value.clone());
        }
    }
}

/// Name of the index holding documents of `kind`.
///
/// Index names must be lowercase and avoid a few characters, while kinds are free text (such as
/// `caseTemplate`), so the kind is encoded reversibly: lowercase ASCII letters, digits and `_`
/// stay, an uppercase letter `X` becomes `-x`, anything else becomes `+<hex code point>+`.
pub fn index_name(prefix: &str, kind: &str) -> String {
    let mut name = String::with_capacity(prefix.len() + 1 + kind.len());
    name.push_str(prefix);
    name.push('_');
    for character in kind.chars() {
        match character {
            'a'..='z' | '0'..='9' | '_' => name.push(character),
            'A'..='Z' => {
                name.push('-');
                name.push(character.to_ascii_lowercase());
            }
            other => name.push_str(&format!("+{:x}+", u32::from(other))),
        }
    }
    name
}

/// Checks that `prefix` can start an index name: non-empty, lowercase ASCII letters, digits,
/// `_` and `-`, not starting with `_` or `-`.
pub fn validate_prefix(prefix: &str) -> Result<(), String> {
    let valid_characters = prefix
        .chars()
        .all(|character| matches!(character, 'a'..='z' | '0'..='9' | '_' | '-'));
    if prefix.is_empty()
        || !valid_characters
        || prefix.starts_with(['_', '-'])
        || prefix.len() > 100
    {
        return Err(format!(
            "index prefix `{prefix}` is invalid: use 1 to 100 lowercase letters, digits, `_` or `-`, \
             not starting with `_` or `-`"
        ));
    }
    Ok(())
}

/// Settings and mapping of every Skep index.
///
/// The body is kept as given under [`BODY_FIELD`] (stored, not indexed), and indexed through
/// typed fields ([`typed_fields`]): one per body path and JSON type, so that any JSON can be
/// stored (a path may hold numbers in one document, strings or objects in another, or all of
/// them in one array) without a mapping conflict. The typed fields are left out of `_source`.
///
/// - strings (`s~…`) are `keyword` (exact, case-sensitive: `_field/_value`, `_in`, `_wildcard`,
///   sort, terms buckets) with a `text` subfield (`_like`), and are copied to the catch-all
///   text field;
/// - numbers (`n~…`) are `double` (integers and decimals mix without truncation; exact up to
///   2^53); dates are epoch milliseconds, so numbers too;
/// - booleans (`b~…`) are `boolean`.
pub fn index_body() -> Value {
    let typed_pattern = |value_type: ValueType| format!("{}*", value_type.prefix());
    json!({
        "settings": {
            "index": {
                "number_of_shards": 1,
                "mapping": { "total_fields": { "limit": TOTAL_FIELDS_LIMIT } }
            }
        },
        "mappings": {
            "dynamic": true,
            "date_detection": false,
            "numeric_detection": false,
            "_source": {
                "excludes": ValueType::ALL.map(typed_pattern)
            },
            "dynamic_templates": [
                {
                    "strings": {
                        "match": typed_pattern(ValueType::Text),
                        "mapping": {
                            "type": "keyword",
                            "ignore_above": KEYWORD_IGNORE_ABOVE,
                            "copy_to": ALL_TEXT_FIELD,
                            "fields": { TEXT_SUBFIELD: { "type": "text" } }
                        }
                    }
                },
                {
                    "numbers": {
                        "match": typed_pattern(ValueType::Number),
                        "mapping": { "type": "double" }
                    }
                },
                {
                    "booleans": {
                        "match": typed_pattern(ValueType::Boolean),
                        "mapping": { "type": "boolean" }
                    }
                }
            ],
            "properties": {
                BODY_FIELD: { "type": "object", "enabled": false },
                PARENT_FIELD: { "type": "keyword" },
                DELETED_FIELD: { "type": "boolean" },
                KIND_FIELD: { "type": "keyword" },
                ID_FIELD: { "type": "keyword" },
                SEQUENCE_FIELD: { "type": "long" },
                ALL_TEXT_FIELD: { "type": "text" }
            }
        }
    })
}

/// The hidden fields of a stored document.
#[derive(Debug, Clone, PartialEq)]
pub struct Hidden {
    /// The document id.
    pub id: String,
    /// The kind.
    pub kind: String,
    /// The parent id.
    pub parent: Option<String>,
    /// Soft-deleted or not.
    pub deleted: bool,
    /// Creation sequence.
    pub sequence: u64,
}

/// The document sent to Elasticsearch for `body`: the body itself, its hidden fields and its
/// typed fields (none for the `skip` fields).
pub fn source(body: &Map<String, Value>, hidden: &Hidden, skip: &[String]) -> Value {
    let mut source = typed_fields(body, skip);
    source.insert(BODY_FIELD.to_owned(), Value::Object(body.clone()));
    source.insert(
        PARENT_FIELD.to_owned(),
        hidden.parent.clone().map_or(Value::Null, Value::String),
    );
    source.insert(DELETED_FIELD.to_owned(), Value::Bool(hidden.deleted));
    source.insert(KIND_FIELD.to_owned(), Value::String(hidden.kind.clone()));
    source.insert(ID_FIELD.to_owned(), Value::String(hidden.id.clone()));
    source.insert(SEQUENCE_FIELD.to_owned(), Value::from(hidden.sequence));
    Value::Object(source)
}

/// Splits a stored `_source` into the document body and its hidden fields.
pub fn split_source(
    id: &str,
    kind: &str,
    mut source: Map<String, Value>,
) -> (Map<String, Value>, Hidden) {
    let body = match source.remove(BODY_FIELD) {
        Some(Value::Object(body)) => body,
        _ => Map::new(),
    };
    let parent = match source.remove(PARENT_FIELD) {
        Some(Value::String(parent)) => Some(parent),
        _ => None,
    };
    let deleted = matches!(source.remove(DELETED_FIELD), Some(Value::Bool(true)));
    let sequence = source
        .remove(SEQUENCE_FIELD)
        .and_then(|value| value.as_u64())
        .unwrap_or(0);
    let hidden = Hidden {
        id: id.to_owned(),
        kind: kind.to_owned(),
        parent,
        deleted,
        sequence,
    };
    (body, hidden)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_names_keep_simple_kinds_and_encode_the_rest() {
        assert_eq!(index_name("skep", "case_task"), "skep_case_task");
        assert_eq!(index_name("skep", "caseTemplate"), "skep_case-template");
        assert_eq!(index_name("skep", "a b/é"), "skep_a+20+b+2f++e9+");
        assert_ne!(
            index_name("skep", "caseTemplate"),
            index_name("skep", "casetemplate")
        );
    }

    #[test]
    fn prefixes_must_be_valid_index_name_starts() {
        assert!(validate_prefix("skep").is_ok());
        assert!(validate_prefix("skep-test_12").is_ok());
        for bad in ["", "Skep", "_skep", "-skep", "sk ep", "sk*ep"] {
            assert!(validate_prefix(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn every_scalar_is_indexed_under_its_path_and_type() {
        let body = json!({"title": "x", "severity": 2, "flag": true, "none": null,
            "nested": {"list": [1, "two", {"three": 3}], "a.b": 1.5},
            "artifacts": [{"data": "1.2.3.4"}, {"data": "evil.com"}], "empty": []});

        let fields = typed_fields(body.as_object().unwrap(), &[]);

        assert_eq!(
            Value::Object(fields),
            json!({"s~title": "x", "n~severity": 2, "b~flag": true,
                   "n~nested/list": 1, "s~nested/list": "two", "n~nested/list/three": 3,
                   "n~nested/a/b": 1.5, "s~artifacts/data": ["1.2.3.4", "evil.com"]})
        );
        assert_eq!(
            typed_field(ValueType::Number, "customFields.cvss.number"),
            "n~customFields/cvss/number"
        );
    }

    #[test]
    fn hidden_fields_round_trip_through_the_source() {
        let body = json!({"title": "x", "tlp": 2})
            .as_object()
            .cloned()
            .unwrap();
        let hidden = Hidden {
            id: "abc".into(),
            kind: "case".into(),
            parent: Some("p1".into()),
            deleted: true,
            sequence: 42,
        };

        let stored = source(&body, &hidden, &[]);
        let (read_body, read_hidden) =
            split_source("abc", "case", stored.as_object().cloned().unwrap());

        assert_eq!(
            stored,
            json!({"s~title": "x", "n~tlp": 2, "_skep_body": {"title": "x", "tlp": 2},
                   "_skep_parent": "p1", "_skep_deleted": true,
                   "_skep_kind": "case", "_skep_id": "abc", "_skep_seq": 42})
        );
        assert_eq!(read_body, body);
        assert_eq!(read_hidden, hidden);
    }

    #[test]
    fn the_mapping_types_each_family_of_typed_fields_and_keeps_the_body_unindexed() {
        let body = index_body();
        let mappings = &body["mappings"];

        let strings = &mappings["dynamic_templates"][0]["strings"];

        assert_eq!(strings["match"], "s~*");
        assert_eq!(strings["mapping"]["type"], "keyword");
        assert_eq!(strings["mapping"]["fields"]["text"]["type"], "text");
        assert_eq!(strings["mapping"]["copy_to"], "_skep_all");
        assert_eq!(
            mappings["dynamic_templates"][1]["numbers"]["mapping"]["type"],
            "double"
        );
        assert_eq!(
            mappings["dynamic_templates"][2]["booleans"]["mapping"]["type"],
            "boolean"
        );
        assert_eq!(
            mappings["_source"]["excludes"],
            json!(["n~*", "b~*", "s~*"])
        );
        assert_eq!(
            mappings["properties"]["_skep_body"],
            json!({"type": "object", "enabled": false})
        );
        assert_eq!(mappings["properties"]["_skep_parent"]["type"], "keyword");
        assert_eq!(mappings["date_detection"], false);
    }
}
