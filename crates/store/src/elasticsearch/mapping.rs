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

/// How often an index makes new writes searchable. Writes that must be seen by the next search
/// wait for it (`refresh=wait_for`), so it is set explicitly rather than left to a cluster-wide
/// default that might be `-1` (never).
pub const REFRESH_INTERVAL: &str = "1s";

/// Separates the prefix from the encoded kind in an index name. Prefixes cannot contain it and
/// encoded kinds never do, so `skep_cases.case_task` reads one way only.
pub const KIND_SEPARATOR: char = '.';

/// Longest index name Elasticsearch accepts, in bytes.
pub const MAX_INDEX_NAME_BYTES: usize = 255;

/// Analyzer of the `_like` subfields: Skep's words (see [`WORD_SPLIT_PATTERN`]), lowercased, as
/// the SQLite backend's `_like` compares them.
pub const WORDS_ANALYZER: &str = "skep_words";
/// Analyzer of the catch-all field: Skep's words, lowercased and folded to ASCII, as SQLite's
/// full-text index (`remove_diacritics`) folds them.
pub const FOLDED_ANALYZER: &str = "skep_folded";
/// What separates words (Java regular expression of a `pattern` tokenizer): anything but
/// letters, digits and combining marks. The SQLite backend splits at the same characters
/// (`words.rs`: alphanumeric characters and joining marks), so `evil.com`, `1.2.3.4`,
/// `bob@example.org` and `dog's` are several words on both backends, and a run of CJK
/// ideographs is one.
pub const WORD_SPLIT_PATTERN: &str = "[^\\p{IsAlphabetic}\\p{N}\\p{M}]+";

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
    name.push(KIND_SEPARATOR);
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

/// [`index_name`], refused with [`crate::StoreError::InvalidQuery`] when Elasticsearch would
/// refuse the name as too long (a kind named in a query, such as a join's `_type`, is user input).
pub fn checked_index_name(prefix: &str, kind: &str) -> crate::Result<String> {
    let name = index_name(prefix, kind);
    if kind.is_empty() || name.len() > MAX_INDEX_NAME_BYTES {
        return Err(crate::StoreError::InvalidQuery(format!(
            "the kind `{}` is not a valid kind: it must be non-empty and its index name at most \
             {MAX_INDEX_NAME_BYTES} bytes",
            kind.chars().take(64).collect::<String>()
        )));
    }
    Ok(name)
}

/// Checks that `prefix` can start an index name: non-empty, lowercase ASCII letters, digits,
/// `_` and `-`, not starting with `_` or `-` (so never the [`KIND_SEPARATOR`]).
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

/// What the cluster supports, as far as the index settings care.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ClusterFeatures {
    /// `index.mapping.total_fields.ignore_dynamic_beyond_limit` (Elasticsearch 8.14 and later):
    /// past the field limit, new typed fields are left unmapped (kept out of the index) instead
    /// of the whole document being refused.
    pub ignore_dynamic_beyond_limit: bool,
}

impl ClusterFeatures {
    /// The features of a cluster answering `GET /` with this `version.number`.
    pub fn of_version(number: &str) -> ClusterFeatures {
        let mut parts = number
            .split(['.', '-'])
            .map(|part| part.parse::<u64>().unwrap_or(0));
        let major = parts.next().unwrap_or(0);
        let minor = parts.next().unwrap_or(0);
        ClusterFeatures {
            ignore_dynamic_beyond_limit: (major, minor) >= (8, 14),
        }
    }
}

/// Settings and mapping of every Skep index.
///
/// The body is kept as given under [`BODY_FIELD`] (stored, not indexed), and indexed through
/// typed fields ([`typed_fields`]): one per body path and JSON type, so that any JSON can be
/// stored (a path may hold numbers in one document, strings or objects in another, or all of
/// them in one array) without a mapping conflict. The typed fields are left out of `_source`.
///
/// - strings (`s~…`) are `keyword` (exact, case-sensitive: `_field/_value`, `_in`, `_wildcard`,
///   sort, terms buckets) with a `text` subfield (`_like`, [`WORDS_ANALYZER`]), and are copied
///   to the catch-all text field ([`FOLDED_ANALYZER`]);
/// - numbers (`n~…`) are `double` (integers and decimals mix without truncation; exact up to
///   2^53; dates are epoch milliseconds, so numbers too), copied to the catch-all field as
///   SQLite's full-text index has them;
/// - booleans (`b~…`) are `boolean`.
///
/// Every typed field is one the mapping grows by; past [`TOTAL_FIELDS_LIMIT`] a cluster with
/// [`ClusterFeatures::ignore_dynamic_beyond_limit`] leaves the new ones unindexed, and older
/// ones refuse the document (the store then writes it without typed fields, see `store.rs`).
pub fn index_body(features: ClusterFeatures) -> Value {
    let typed_pattern = |value_type: ValueType| format!("{}*", value_type.prefix());
    let mut total_fields = json!({ "limit": TOTAL_FIELDS_LIMIT });
    if features.ignore_dynamic_beyond_limit {
        total_fields["ignore_dynamic_beyond_limit"] = json!(true);
    }
    json!({
        "settings": {
            "index": {
                "number_of_shards": 1,
                "refresh_interval": REFRESH_INTERVAL,
                "mapping": { "total_fields": total_fields }
            },
            "analysis": {
                "tokenizer": {
                    WORDS_ANALYZER: { "type": "pattern", "pattern": WORD_SPLIT_PATTERN }
                },
                "analyzer": {
                    WORDS_ANALYZER: {
                        "type": "custom",
                        "tokenizer": WORDS_ANALYZER,
                        "filter": ["lowercase"]
                    },
                    FOLDED_ANALYZER: {
                        "type": "custom",
                        "tokenizer": WORDS_ANALYZER,
                        "filter": ["lowercase", "asciifolding"]
                    }
                }
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
                            "fields": {
                                TEXT_SUBFIELD: { "type": "text", "analyzer": WORDS_ANALYZER }
                            }
                        }
                    }
                },
                {
                    "numbers": {
                        "match": typed_pattern(ValueType::Number),
                        "mapping": { "type": "double", "copy_to": ALL_TEXT_FIELD }
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
                ALL_TEXT_FIELD: { "type": "text", "analyzer": FOLDED_ANALYZER }
            }
        }
    })
}

/// Whether a refused write is Elasticsearch saying the index maps as many fields as it may.
pub fn is_field_limit_error(error: &Value) -> bool {
    let reason = |value: &Value| {
        value["reason"]
            .as_str()
            .is_some_and(|reason| reason.contains("Limit of total fields"))
    };
    reason(error) || reason(&error["root_cause"][0]) || reason(&error["caused_by"])
}

/// [`source`] without typed fields: the body is kept and readable, the hidden fields still
/// work, but none of its values is searchable. The last resort of a write refused because the
/// index maps as many fields as it may (clusters before 8.14).
pub fn source_without_typed_fields(body: &Map<String, Value>, hidden: &Hidden) -> Value {
    with_hidden(Map::new(), body, hidden)
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
    with_hidden(typed_fields(body, skip), body, hidden)
}

fn with_hidden(
    mut source: Map<String, Value>,
    body: &Map<String, Value>,
    hidden: &Hidden,
) -> Value {
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
        assert_eq!(index_name("skep", "case_task"), "skep.case_task");
        assert_eq!(index_name("skep", "caseTemplate"), "skep.case-template");
        assert_eq!(index_name("skep", "a b/é"), "skep.a+20+b+2f++e9+");
        assert_eq!(index_name("skep", "a.b"), "skep.a+2e+b");
        assert_ne!(
            index_name("skep", "caseTemplate"),
            index_name("skep", "casetemplate")
        );
    }

    #[test]
    fn the_separator_keeps_prefix_and_kind_apart() {
        // With `_` between them, prefix `skep_case` with kind `task` and prefix `skep` with
        // kind `case_task` shared one index.
        assert_ne!(
            index_name("skep_case", "task"),
            index_name("skep", "case_task")
        );
        assert_eq!(index_name("skep_cases", "user"), "skep_cases.user");
        assert_ne!(
            index_name("skep_cases", "user"),
            index_name("skep_engine", "user")
        );
        assert!(validate_prefix("skep.cases").is_err());
    }

    #[test]
    fn an_over_long_or_empty_kind_is_an_invalid_query_not_a_cluster_error() {
        let long = "x".repeat(300);

        let error = checked_index_name("skep_cases", &long).unwrap_err();

        assert!(
            matches!(error, crate::StoreError::InvalidQuery(_)),
            "{error:?}"
        );
        assert!(error.to_string().contains("at most 255 bytes"), "{error}");
        assert!(checked_index_name("skep_cases", "").is_err());
        assert_eq!(
            checked_index_name("skep_cases", "case").unwrap(),
            "skep_cases.case"
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
        let body = index_body(ClusterFeatures::default());
        let mappings = &body["mappings"];

        let strings = &mappings["dynamic_templates"][0]["strings"];

        assert_eq!(strings["match"], "s~*");
        assert_eq!(strings["mapping"]["type"], "keyword");
        assert_eq!(
            strings["mapping"]["fields"]["text"],
            json!({"type": "text", "analyzer": "skep_words"})
        );
        assert_eq!(strings["mapping"]["copy_to"], "_skep_all");
        assert_eq!(
            mappings["dynamic_templates"][1]["numbers"]["mapping"],
            json!({"type": "double", "copy_to": "_skep_all"})
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

    #[test]
    fn skep_words_are_split_like_sqlite_then_lowercased_and_folded_for_full_text() {
        let body = index_body(ClusterFeatures::default());
        let analysis = &body["settings"]["analysis"];

        assert_eq!(
            analysis["tokenizer"]["skep_words"],
            json!({"type": "pattern", "pattern": "[^\\p{IsAlphabetic}\\p{N}\\p{M}]+"})
        );
        assert_eq!(
            analysis["analyzer"]["skep_words"],
            json!({"type": "custom", "tokenizer": "skep_words", "filter": ["lowercase"]})
        );
        assert_eq!(
            analysis["analyzer"]["skep_folded"],
            json!({"type": "custom", "tokenizer": "skep_words",
                   "filter": ["lowercase", "asciifolding"]})
        );
        assert_eq!(
            body["mappings"]["properties"]["_skep_all"],
            json!({"type": "text", "analyzer": "skep_folded"})
        );
    }

    #[test]
    fn indices_refresh_every_second_and_survive_field_growth_where_the_cluster_can() {
        let old = index_body(ClusterFeatures::of_version("7.17.22"));
        let new = index_body(ClusterFeatures::of_version("8.14.0"));

        assert_eq!(old["settings"]["index"]["refresh_interval"], "1s");
        assert_eq!(
            old["settings"]["index"]["mapping"]["total_fields"],
            json!({"limit": 10_000})
        );
        assert_eq!(
            new["settings"]["index"]["mapping"]["total_fields"],
            json!({"limit": 10_000, "ignore_dynamic_beyond_limit": true})
        );
        assert!(!ClusterFeatures::of_version("8.13.4").ignore_dynamic_beyond_limit);
        assert!(ClusterFeatures::of_version("9.0.0-SNAPSHOT").ignore_dynamic_beyond_limit);
    }

    #[test]
    fn a_field_limit_refusal_is_recognised_and_the_fallback_keeps_the_body_only() {
        let refusal = json!({"type": "document_parsing_exception",
            "reason": "[1:40] failed to parse",
            "caused_by": {"type": "illegal_argument_exception",
                "reason": "Limit of total fields [10000] has been exceeded while adding new fields [1]"}});
        let other = json!({"type": "mapper_parsing_exception", "reason": "failed to parse"});
        let hidden = Hidden {
            id: "r1".into(),
            kind: "report".into(),
            parent: None,
            deleted: false,
            sequence: 7,
        };
        let body = json!({"full": {"a": 1}}).as_object().cloned().unwrap();

        assert!(is_field_limit_error(&refusal));
        assert!(!is_field_limit_error(&other));
        assert_eq!(
            source_without_typed_fields(&body, &hidden),
            json!({"_skep_body": {"full": {"a": 1}}, "_skep_parent": null,
                   "_skep_deleted": false, "_skep_kind": "report", "_skep_id": "r1",
                   "_skep_seq": 7})
        );
    }
}
