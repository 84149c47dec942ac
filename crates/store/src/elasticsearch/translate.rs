//! Pure translation of [`Query`] trees, sorts and search windows into Elasticsearch request JSON,
//! the planning of `_parent`/`_child` joins, and the reading of hits back into documents.
//!
//! A body path is indexed once per JSON type (see [`super::mapping`]), so a leaf searches the
//! typed fields its value can match: `{"severity": 2}` the number 2 or the string `"2"`,
//! `{"status": "Open"}` the string, a `_like` the text of the strings.

use serde_json::{Value, json};

use super::mapping::{
    ALL_TEXT_FIELD, DELETED_FIELD, ID_FIELD, KIND_FIELD, PARENT_FIELD, PATH_SEPARATOR,
    SEQUENCE_FIELD, TEXT_SUBFIELD, ValueType, split_source, typed_field,
};
use crate::query::RangeOp;
use crate::{Document, Query, Sort, StoreError, Version};

/// The hidden keyword field a DSL field name stands for: `_id` (Elasticsearch restricts queries,
/// sorts and aggregations on its own `_id`) and `_parent`.
pub fn hidden_field(field: &str) -> Option<&'static str> {
    match field {
        "_id" => Some(ID_FIELD),
        "_parent" => Some(PARENT_FIELD),
        _ => None,
    }
}

/// The field holding `field`'s values of one type (a hidden field stands for every type).
pub fn es_field(value_type: ValueType, field: &str) -> String {
    hidden_field(field).map_or_else(|| typed_field(value_type, field), str::to_owned)
}

fn match_none() -> Value {
    json!({"match_none": {}})
}

/// One clause as is, several as alternatives.
fn any_of(mut clauses: Vec<Value>) -> Value {
    match clauses.len() {
        0 => match_none(),
        1 => clauses.pop().unwrap_or_else(match_none),
        _ => json!({"bool": {"should": clauses, "minimum_should_match": 1}}),
    }
}

fn term(field: &str, value: Value) -> Value {
    json!({"term": {field: {"value": value}}})
}

/// The typed values a scalar is equal to: a number also equals its text, a numeric string its
/// number and `"true"`/`"false"` the boolean (as keyword and numeric fields coerce).
fn equal_values(value: &Value) -> Vec<(ValueType, Value)> {
    match value {
        Value::String(text) => {
            let mut values = vec![(ValueType::Text, value.clone())];
            if let Ok(number) = serde_json::from_str::<serde_json::Number>(text.trim()) {
                values.push((ValueType::Number, Value::Number(number)));
            }
            match text.as_str() {
                "true" => values.push((ValueType::Boolean, Value::Bool(true))),
                "false" => values.push((ValueType::Boolean, Value::Bool(false))),
                _ => {}
            }
            values
        }
        Value::Number(number) => {
            vec![
                (ValueType::Number, value.clone()),
                (ValueType::Text, Value::String(number.to_string())),
            ]
        }
        Value::Bool(_) => vec![(ValueType::Boolean, value.clone())],
        _ => Vec::new(),
    }
}

/// A value compared with a hidden (keyword) field: its text.
fn hidden_text(value: &Value) -> Value {
    match value {
        Value::String(text) => Value::String(text.clone()),
        other => Value::String(other.to_string()),
    }
}

fn equality(field: &str, value: &Value) -> Value {
    if let Some(hidden) = hidden_field(field) {
        return term(hidden, hidden_text(value));
    }
    any_of(
        equal_values(value)
            .into_iter()
            .map(|(value_type, value)| term(&typed_field(value_type, field), value))
            .collect(),
    )
}

/// `_in`: one `terms` query per typed field rather than a clause per value, so a long list
/// stays within Elasticsearch's limit on boolean clauses (1,024 by default on 7.x).
fn membership(field: &str, values: &[Value]) -> Value {
    if let Some(hidden) = hidden_field(field) {
        let texts: Vec<Value> = values.iter().map(hidden_text).collect();
        return if texts.is_empty() {
            match_none()
        } else {
            json!({"terms": {hidden: texts}})
        };
    }
    let mut groups: Vec<(String, Vec<Value>)> = Vec::new();
    for (value_type, value) in values.iter().flat_map(equal_values) {
        let typed = typed_field(value_type, field);
        match groups.iter_mut().find(|(name, _)| *name == typed) {
            Some((_, list)) => list.push(value),
            None => groups.push((typed, vec![value])),
        }
    }
    any_of(
        groups
            .into_iter()
            .map(|(typed, list)| json!({"terms": {typed: list}}))
            .collect(),
    )
}

/// The type a range bound compares in: numbers numerically, strings in code point order.
fn bound_type(value: &Value) -> ValueType {
    match value {
        Value::Number(_) => ValueType::Number,
        Value::Bool(_) => ValueType::Boolean,
        _ => ValueType::Text,
    }
}

fn range(field: &str, bounds: &[(RangeOp, &Value)]) -> Value {
    let value_type = bounds
        .first()
        .map_or(ValueType::Text, |(_, value)| bound_type(value));
    let mut limits = serde_json::Map::new();
    for (op, value) in bounds {
        let op = match op {
            RangeOp::Gt => "gt",
            RangeOp::Gte => "gte",
            RangeOp::Lt => "lt",
            RangeOp::Lte => "lte",
        };
        limits.insert(op.to_owned(), (*value).clone());
    }
    json!({"range": {es_field(value_type, field): limits}})
}

fn exists(field: &str) -> Value {
    if let Some(hidden) = hidden_field(field) {
        return json!({"exists": {"field": hidden}});
    }
    // The value itself, or anything below it when it is an object.
    let mut clauses = Vec::new();
    for value_type in ValueType::ALL {
        let name = typed_field(value_type, field);
        clauses.push(json!({"exists": {"field": format!("{name}{PATH_SEPARATOR}*")}}));
        clauses.push(json!({"exists": {"field": name}}));
    }
    any_of(clauses)
}

fn is_wildcard(word: &str) -> bool {
    word.contains(['*', '?'])
}

/// Words anywhere in the document's text: plain words all present (any order, any case),
/// words with `*`/`?` matched as patterns against the indexed words.
fn full_text(text: &str) -> Value {
    let (patterns, words): (Vec<&str>, Vec<&str>) =
        text.split_whitespace().partition(|word| is_wildcard(word));
    let mut clauses = Vec::new();
    if !words.is_empty() {
        clauses.push(
            json!({"match": {ALL_TEXT_FIELD: {"query": words.join(" "), "operator": "and"}}}),
        );
    }
    for pattern in patterns {
        clauses.push(json!({"wildcard": {ALL_TEXT_FIELD: {"value": pattern.to_lowercase(), "case_insensitive": true}}}));
    }
    match clauses.len() {
        0 => json!({"match_all": {}}),
        1 => clauses.pop().unwrap_or_else(match_none),
        _ => json!({"bool": {"filter": clauses}}),
    }
}

/// Translates a query into the Elasticsearch query DSL.
///
/// Every leaf is a filter (no scoring). `_parent` with an id list translates directly; any other
/// `_parent` or `_child` needs documents of another index and must first be replaced with
/// [`resolve_joins`]: an unresolved one translates to `match_none`.
pub fn to_es_query(query: &Query) -> Value {
    match query {
        Query::All => json!({"match_all": {}}),
        Query::And(parts) if parts.is_empty() => json!({"match_all": {}}),
        Query::And(parts) => {
            json!({"bool": {"filter": parts.iter().map(to_es_query).collect::<Vec<_>>()}})
        }
        Query::Or(parts) => any_of(parts.iter().map(to_es_query).collect()),
        Query::Not(inner) => json!({"bool": {"must_not": [to_es_query(inner)]}}),
        Query::Eq { field, value } => equality(field, value),
        Query::Range { field, op, value } => range(field, &[(*op, value)]),
        Query::Between { field, from, to } => {
            range(field, &[(RangeOp::Gt, from), (RangeOp::Lt, to)])
        }
        Query::In { field, values } => membership(field, values),
        Query::Exists(field) => exists(field),
        Query::Id(ids) => json!({"ids": {"values": ids}}),
        Query::Like { field, text } => json!({"match": {
            format!("{}.{TEXT_SUBFIELD}", es_field(ValueType::Text, field)): {"query": text, "operator": "and"}
        }}),
        Query::Wildcard { field, pattern } => {
            json!({"wildcard": {es_field(ValueType::Text, field): {"value": pattern}}})
        }
        // The parsed tree, not Elasticsearch's `query_string` on the raw text: strings are
        // keywords here, so `title:word` would only match a title equal to `word`, while the
        // DSL means a `_like` match of the word (and both backends must agree). Syntax errors
        // are then reported by the parser as 400s instead of failing inside the cluster.
        Query::QueryString { parsed, .. } => to_es_query(parsed),
        Query::FullText(text) => full_text(text),
        Query::Type(kind) => term(KIND_FIELD, Value::String(kind.clone())),
        Query::Parent { query, .. } => match query.as_ref() {
            Query::Id(ids) => json!({"terms": {PARENT_FIELD: ids}}),
            _ => match_none(),
        },
        Query::Child { .. } => match_none(),
    }
}

/// Restricts a translated query to documents that are not soft-deleted.
pub fn live(query: Value) -> Value {
    json!({"bool": {
        "filter": [query],
        "must_not": [{"term": {DELETED_FIELD: {"value": true}}}]
    }})
}

/// What a join lookup collects from the documents of the other kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Collect {
    /// Their ids (a `_parent` join: children whose parent is one of them).
    DocumentIds,
    /// Their parent ids (a `_child` join: parents having one of them as a child).
    ParentIds,
}

/// A join that needs a search of another kind before the query can be translated.
#[derive(Debug, Clone, PartialEq)]
pub struct JoinLookup<'a> {
    /// The kind to search.
    pub kind: &'a str,
    /// What its documents must match (may itself hold joins).
    pub query: &'a Query,
    /// What to collect from the matches.
    pub collect: Collect,
}

/// The joins of `query` that need a lookup, outermost first in depth-first order. Joins nested
/// inside a join's own query are not listed: they belong to the lookup of that join.
pub fn pending_joins(query: &Query) -> Vec<JoinLookup<'_>> {
    let mut joins = Vec::new();
    collect_joins(query, &mut joins);
    joins
}

fn collect_joins<'a>(query: &'a Query, joins: &mut Vec<JoinLookup<'a>>) {
    match query {
        Query::And(parts) | Query::Or(parts) => {
            parts.iter().for_each(|part| collect_joins(part, joins));
        }
        Query::Not(inner) => collect_joins(inner, joins),
        Query::Parent { query, .. } if matches!(query.as_ref(), Query::Id(_)) => {}
        Query::Parent { kind, query } => joins.push(JoinLookup {
            kind,
            query,
            collect: Collect::DocumentIds,
        }),
        Query::Child { kind, query } => joins.push(JoinLookup {
            kind,
            query,
            collect: Collect::ParentIds,
        }),
        _ => {}
    }
}

/// Replaces the joins listed by [`pending_joins`] (same order) with what their lookups found:
/// a `_parent` join becomes a `_parent` join by id list, a `_child` join "the id is one of
/// these".
pub fn resolve_joins(query: &Query, found: &[Vec<String>]) -> Query {
    let mut found = found.iter();
    replace_joins(query, &mut found)
}

fn replace_joins<'a>(query: &Query, found: &mut impl Iterator<Item = &'a Vec<String>>) -> Query {
    match query {
        Query::And(parts) => Query::And(
            parts
                .iter()
                .map(|part| replace_joins(part, found))
                .collect(),
        ),
        Query::Or(parts) => Query::Or(
            parts
                .iter()
                .map(|part| replace_joins(part, found))
                .collect(),
        ),
        Query::Not(inner) => Query::Not(Box::new(replace_joins(inner, found))),
        Query::Parent { kind, query } if !matches!(query.as_ref(), Query::Id(_)) => Query::Parent {
            kind: kind.clone(),
            query: Box::new(Query::Id(found.next().cloned().unwrap_or_default())),
        },
        Query::Child { .. } => Query::Id(found.next().cloned().unwrap_or_default()),
        other => other.clone(),
    }
}

/// Translates sort keys, then appends the default order: newest first, then by id, so every
/// order is total (which `search_after` paging needs). `_doc` and `_score` are skipped: the
/// default order already stands for them.
///
/// A body field sorts by its typed fields in turn, missing values last: ascending numbers
/// (and booleans) before strings, descending strings before numbers, as SQLite orders values.
pub fn to_es_sort(sort: &[Sort]) -> Value {
    let mut keys = Vec::new();
    for key in sort
        .iter()
        .filter(|key| key.field != "_doc" && key.field != "_score")
    {
        let order = if key.descending { "desc" } else { "asc" };
        if let Some(hidden) = hidden_field(&key.field) {
            keys.push(json!({hidden: {"order": order, "unmapped_type": "keyword"}}));
            continue;
        }
        let mut types = ValueType::ALL;
        if key.descending {
            types.reverse();
        }
        for value_type in types {
            keys.push(json!({typed_field(value_type, &key.field): {
                "order": order, "missing": "_last", "unmapped_type": value_type.es_type()
            }}));
        }
    }
    keys.push(json!({SEQUENCE_FIELD: {"order": "desc", "unmapped_type": "long"}}));
    keys.push(json!({ID_FIELD: {"order": "asc", "unmapped_type": "keyword"}}));
    Value::Array(keys)
}

/// Body of one search request: live documents matching `query` (already translated), sorted,
/// `size` of them after `from`, with their total number and versions.
pub fn search_body(query: Value, sort: Value, from: u64, size: u64) -> Value {
    json!({
        "query": live(query),
        "sort": sort,
        "from": from,
        "size": size,
        "track_total_hits": true,
        "seq_no_primary_term": true
    })
}

/// Reads one search hit (or get response) of `kind` into a document and its deleted flag.
pub fn document_from_hit(kind: &str, hit: &Value) -> crate::Result<(Document, bool)> {
    let malformed =
        |what: &str| StoreError::Backend(anyhow::anyhow!("elasticsearch hit without {what}"));
    let id = hit["_id"].as_str().ok_or_else(|| malformed("_id"))?;
    let seq_no = hit["_seq_no"]
        .as_u64()
        .ok_or_else(|| malformed("_seq_no"))?;
    let primary_term = hit["_primary_term"]
        .as_u64()
        .ok_or_else(|| malformed("_primary_term"))?;
    let source = match &hit["_source"] {
        Value::Object(source) => source.clone(),
        _ => return Err(malformed("_source")),
    };
    let (body, hidden) = split_source(id, kind, source);
    let document = Document {
        id: id.to_owned(),
        parent: hidden.parent,
        version: Version {
            seq_no,
            primary_term,
        },
        body,
    };
    Ok((document, hidden.deleted))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eq(field: &str, value: Value) -> Query {
        Query::Eq {
            field: field.into(),
            value,
        }
    }

    #[test]
    fn match_all_and_the_boolean_operators_translate_to_bool_queries() {
        assert_eq!(to_es_query(&Query::All), json!({"match_all": {}}));
        assert_eq!(to_es_query(&Query::And(vec![])), json!({"match_all": {}}));
        assert_eq!(to_es_query(&Query::Or(vec![])), json!({"match_none": {}}));
        assert_eq!(
            to_es_query(&Query::And(vec![eq("a", json!(true)), eq("b", json!("x"))])),
            json!({"bool": {"filter": [
                {"term": {"b~a": {"value": true}}},
                {"term": {"s~b": {"value": "x"}}}
            ]}})
        );
        assert_eq!(
            to_es_query(&Query::Or(vec![eq("a", json!(false)), Query::All])),
            json!({"bool": {"should": [
                {"term": {"b~a": {"value": false}}},
                {"match_all": {}}
            ], "minimum_should_match": 1}})
        );
        assert_eq!(
            to_es_query(&Query::Not(Box::new(eq("status", json!("Open"))))),
            json!({"bool": {"must_not": [{"term": {"s~status": {"value": "Open"}}}]}})
        );
    }

    #[test]
    fn equality_is_an_exact_term_on_each_type_the_value_can_have() {
        assert_eq!(
            to_es_query(&eq("customFields.ref.string", json!("Été"))),
            json!({"term": {"s~customFields/ref/string": {"value": "Été"}}})
        );
        assert_eq!(
            to_es_query(&eq("severity", json!(2))),
            json!({"bool": {"should": [
                {"term": {"n~severity": {"value": 2}}},
                {"term": {"s~severity": {"value": "2"}}}
            ], "minimum_should_match": 1}})
        );
        assert_eq!(
            to_es_query(&eq("flag", json!("true"))),
            json!({"bool": {"should": [
                {"term": {"s~flag": {"value": "true"}}},
                {"term": {"b~flag": {"value": true}}}
            ], "minimum_should_match": 1}})
        );
        assert_eq!(
            to_es_query(&eq("_id", json!("x"))),
            json!({"term": {"_skep_id": {"value": "x"}}})
        );
        assert_eq!(
            to_es_query(&eq("_parent", json!("p"))),
            json!({"term": {"_skep_parent": {"value": "p"}}})
        );
    }

    #[test]
    fn ranges_use_the_type_of_their_bound_and_between_is_exclusive_on_both_sides() {
        let cases = [
            (RangeOp::Gt, "gt"),
            (RangeOp::Gte, "gte"),
            (RangeOp::Lt, "lt"),
            (RangeOp::Lte, "lte"),
        ];
        for (op, name) in cases {
            let query = Query::Range {
                field: "createdAt".into(),
                op,
                value: json!(5),
            };
            assert_eq!(
                to_es_query(&query),
                json!({"range": {"n~createdAt": {name: 5}}})
            );
        }
        let text = Query::Range {
            field: "title".into(),
            op: RangeOp::Gte,
            value: json!("m"),
        };
        assert_eq!(
            to_es_query(&text),
            json!({"range": {"s~title": {"gte": "m"}}})
        );
        let between = Query::Between {
            field: "severity".into(),
            from: json!(1),
            to: json!(3),
        };
        assert_eq!(
            to_es_query(&between),
            json!({"range": {"n~severity": {"gt": 1, "lt": 3}}})
        );
    }

    #[test]
    fn in_is_one_terms_query_per_typed_field_and_id_uses_ids() {
        let within = Query::In {
            field: "status".into(),
            values: vec![json!("Open"), json!("Closed")],
        };
        assert_eq!(
            to_es_query(&within),
            json!({"terms": {"s~status": ["Open", "Closed"]}})
        );
        let mixed = Query::In {
            field: "severity".into(),
            values: vec![json!(2), json!("3"), json!(true)],
        };
        assert_eq!(
            to_es_query(&mixed),
            json!({"bool": {"should": [
                {"terms": {"n~severity": [2, 3]}},
                {"terms": {"s~severity": ["2", "3"]}},
                {"terms": {"b~severity": [true]}}
            ], "minimum_should_match": 1}})
        );
        // Thousands of values stay a single clause (Elasticsearch limits boolean clauses).
        let many = Query::In {
            field: "owner".into(),
            values: (0..5_000).map(|n| json!(format!("user{n}"))).collect(),
        };
        let Value::Object(query) = to_es_query(&many) else {
            panic!("an object")
        };
        assert_eq!(
            query["terms"]["s~owner"].as_array().map(Vec::len),
            Some(5_000)
        );
        assert_eq!(
            to_es_query(&Query::In {
                field: "_id".into(),
                values: vec![json!("a"), json!(7)]
            }),
            json!({"terms": {"_skep_id": ["a", "7"]}})
        );
        assert_eq!(
            to_es_query(&Query::In {
                field: "x".into(),
                values: vec![]
            }),
            json!({"match_none": {}})
        );
        assert_eq!(
            to_es_query(&Query::Id(vec!["a".into(), "b".into()])),
            json!({"ids": {"values": ["a", "b"]}})
        );
    }

    #[test]
    fn exists_looks_for_a_value_of_any_type_or_anything_below() {
        let expected: Vec<Value> = ["n", "b", "s"]
            .iter()
            .flat_map(|prefix| {
                [
                    json!({"exists": {"field": format!("{prefix}~customFields/cvss/*")}}),
                    json!({"exists": {"field": format!("{prefix}~customFields/cvss")}}),
                ]
            })
            .collect();

        assert_eq!(
            to_es_query(&Query::Exists("customFields.cvss".into())),
            json!({"bool": {"should": expected, "minimum_should_match": 1}})
        );
        assert_eq!(
            to_es_query(&Query::Exists("_parent".into())),
            json!({"exists": {"field": "_skep_parent"}})
        );
    }

    #[test]
    fn like_matches_every_word_in_the_text_subfield() {
        let like = Query::Like {
            field: "title".into(),
            text: "phishing mail".into(),
        };
        assert_eq!(
            to_es_query(&like),
            json!({"match": {"s~title.text": {"query": "phishing mail", "operator": "and"}}})
        );
    }

    #[test]
    fn wildcard_runs_on_the_raw_keyword() {
        let wildcard = Query::Wildcard {
            field: "data".into(),
            pattern: "*.example.?om".into(),
        };
        assert_eq!(
            to_es_query(&wildcard),
            json!({"wildcard": {"s~data": {"value": "*.example.?om"}}})
        );
    }

    #[test]
    fn full_text_needs_every_word_and_matches_patterns_against_indexed_words() {
        assert_eq!(
            to_es_query(&Query::FullText("café crème".into())),
            json!({"match": {"_skep_all": {"query": "café crème", "operator": "and"}}})
        );
        assert_eq!(
            to_es_query(&Query::FullText("VPN Gate*".into())),
            json!({"bool": {"filter": [
                {"match": {"_skep_all": {"query": "VPN", "operator": "and"}}},
                {"wildcard": {"_skep_all": {"value": "gate*", "case_insensitive": true}}}
            ]}})
        );
    }

    #[test]
    fn query_strings_translate_their_parsed_tree() {
        let parsed = Query::Or(vec![
            Query::Like {
                field: "title".into(),
                text: "x y".into(),
            },
            Query::FullText("phish".into()),
        ]);
        let query = Query::QueryString {
            raw: "title:\"x y\" phish".into(),
            parsed: Box::new(parsed),
        };

        assert_eq!(
            to_es_query(&query),
            json!({"bool": {"should": [
                {"match": {"s~title.text": {"query": "x y", "operator": "and"}}},
                {"match": {"_skep_all": {"query": "phish", "operator": "and"}}}
            ], "minimum_should_match": 1}})
        );
    }

    #[test]
    fn type_matches_the_hidden_kind_field() {
        assert_eq!(
            to_es_query(&Query::Type("case".into())),
            json!({"term": {"_skep_kind": {"value": "case"}}})
        );
    }

    #[test]
    fn a_parent_given_by_id_needs_no_lookup() {
        let query = Query::Parent {
            kind: "case".into(),
            query: Box::new(Query::Id(vec!["c1".into()])),
        };

        assert!(pending_joins(&query).is_empty());
        assert_eq!(
            to_es_query(&query),
            json!({"terms": {"_skep_parent": ["c1"]}})
        );
        assert_eq!(resolve_joins(&query, &[]), query);
    }

    #[test]
    fn parent_and_child_joins_are_planned_then_replaced_by_what_the_lookups_found() {
        let open = eq("status", json!("Open"));
        let ioc = eq("ioc", json!(true));
        let query = Query::And(vec![
            Query::Parent {
                kind: "case".into(),
                query: Box::new(open.clone()),
            },
            Query::Not(Box::new(Query::Child {
                kind: "case_artifact".into(),
                query: Box::new(ioc.clone()),
            })),
        ]);

        let joins = pending_joins(&query);
        let resolved = resolve_joins(&query, &[vec!["c1".into(), "c2".into()], vec!["p9".into()]]);

        assert_eq!(
            joins,
            vec![
                JoinLookup {
                    kind: "case",
                    query: &open,
                    collect: Collect::DocumentIds
                },
                JoinLookup {
                    kind: "case_artifact",
                    query: &ioc,
                    collect: Collect::ParentIds
                },
            ]
        );
        assert!(pending_joins(&resolved).is_empty());
        assert_eq!(
            to_es_query(&resolved),
            json!({"bool": {"filter": [
                {"terms": {"_skep_parent": ["c1", "c2"]}},
                {"bool": {"must_not": [{"ids": {"values": ["p9"]}}]}}
            ]}})
        );
    }

    #[test]
    fn joins_that_found_nothing_match_nothing() {
        let query = Query::Child {
            kind: "case_task".into(),
            query: Box::new(Query::All),
        };

        let resolved = resolve_joins(&query, &[vec![]]);

        assert_eq!(to_es_query(&resolved), json!({"ids": {"values": []}}));
        assert_eq!(to_es_query(&query), json!({"match_none": {}}));
    }

    #[test]
    fn live_reads_exclude_soft_deleted_documents() {
        assert_eq!(
            live(json!({"match_all": {}})),
            json!({"bool": {
                "filter": [{"match_all": {}}],
                "must_not": [{"term": {"_skep_deleted": {"value": true}}}]
            }})
        );
    }

    #[test]
    fn sorts_try_each_type_then_end_with_newest_first_then_id() {
        let sort = [
            Sort {
                field: "title".into(),
                descending: false,
            },
            Sort {
                field: "_doc".into(),
                descending: true,
            },
            Sort {
                field: "severity".into(),
                descending: true,
            },
            Sort {
                field: "_id".into(),
                descending: true,
            },
        ];
        let key = |field: &str, order: &str, unmapped: &str| json!({field: {"order": order, "missing": "_last", "unmapped_type": unmapped}});

        assert_eq!(
            to_es_sort(&sort),
            json!([
                key("n~title", "asc", "double"),
                key("b~title", "asc", "boolean"),
                key("s~title", "asc", "keyword"),
                key("s~severity", "desc", "keyword"),
                key("b~severity", "desc", "boolean"),
                key("n~severity", "desc", "double"),
                {"_skep_id": {"order": "desc", "unmapped_type": "keyword"}},
                {"_skep_seq": {"order": "desc", "unmapped_type": "long"}},
                {"_skep_id": {"order": "asc", "unmapped_type": "keyword"}}
            ])
        );
    }

    #[test]
    fn search_bodies_page_with_from_and_size_and_count_every_hit() {
        let body = search_body(json!({"match_all": {}}), json!([]), 20, 10);

        assert_eq!(
            body,
            json!({
                "query": live(json!({"match_all": {}})),
                "sort": [],
                "from": 20,
                "size": 10,
                "track_total_hits": true,
                "seq_no_primary_term": true
            })
        );
    }

    #[test]
    fn hits_become_documents_from_the_stored_body() {
        let hit = json!({
            "_id": "abc", "_seq_no": 7, "_primary_term": 2,
            "_source": {"_skep_body": {"title": "x"}, "_skep_parent": "p", "_skep_deleted": false,
                        "_skep_kind": "case_task", "_skep_id": "abc", "_skep_seq": 3}
        });

        let (document, deleted) = document_from_hit("case_task", &hit).unwrap();

        assert!(!deleted);
        assert_eq!(document.id, "abc");
        assert_eq!(document.parent.as_deref(), Some("p"));
        assert_eq!(
            document.version,
            Version {
                seq_no: 7,
                primary_term: 2
            }
        );
        assert_eq!(Value::Object(document.body.clone()), json!({"title": "x"}));
        assert!(document_from_hit("case", &json!({"_id": "x"})).is_err());
    }
}
