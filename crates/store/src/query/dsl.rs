//! The JSON query DSL parser: a pure function from what a client sends to a [`Query`].

use serde_json::{Map, Value};

use super::{Query, RangeOp, lucene};
use crate::{Result, StoreError};

/// Deepest nesting of operators accepted; deeper input is refused rather than risking the stack.
pub(crate) const MAX_DEPTH: usize = 64;

/// Parses a query DSL value.
pub(super) fn parse(json: &Value) -> Result<Query> {
    parse_at(json, 0)
}

fn invalid(message: impl Into<String>) -> StoreError {
    StoreError::InvalidQuery(message.into())
}

fn parse_at(json: &Value, depth: usize) -> Result<Query> {
    if depth > MAX_DEPTH {
        return Err(invalid(format!(
            "query nested deeper than {MAX_DEPTH} levels"
        )));
    }
    match json {
        Value::Null => Ok(Query::All),
        Value::Object(object) => parse_object(object, depth),
        other => Err(invalid(format!(
            "a query must be a JSON object, not {}",
            type_name(other)
        ))),
    }
}

fn parse_object(object: &Map<String, Value>, depth: usize) -> Result<Query> {
    if object.is_empty() {
        return Ok(Query::All);
    }
    if object.contains_key("_field") {
        return parse_field_value(object, "query");
    }
    if object.len() > 1 {
        // Several keys: each is a query of its own and all must hold (lenient extension).
        let mut parts = Vec::with_capacity(object.len());
        for (key, value) in object {
            parts.push(parse_entry(key, value, depth)?);
        }
        return Ok(Query::And(parts));
    }
    let Some((key, value)) = object.iter().next() else {
        return Ok(Query::All);
    };
    parse_entry(key, value, depth)
}

fn parse_entry(key: &str, value: &Value, depth: usize) -> Result<Query> {
    match key {
        "_and" => Ok(Query::And(parse_list(key, value, depth)?)),
        "_or" => Ok(Query::Or(parse_list(key, value, depth)?)),
        "_not" => Ok(Query::Not(Box::new(parse_at(value, depth + 1)?))),
        "_any" => Ok(Query::All),
        "_gt" => parse_range(RangeOp::Gt, key, value),
        "_gte" => parse_range(RangeOp::Gte, key, value),
        "_lt" => parse_range(RangeOp::Lt, key, value),
        "_lte" => parse_range(RangeOp::Lte, key, value),
        "_between" => parse_between(value),
        "_in" => parse_in(value),
        "_contains" => parse_contains(value),
        "_id" => parse_id(value),
        "_like" => {
            let (field, text) = field_and_text(key, value)?;
            Ok(Query::Like { field, text })
        }
        "_wildcard" => {
            let (field, pattern) = field_and_text(key, value)?;
            Ok(Query::Wildcard { field, pattern })
        }
        "_string" => match value {
            Value::String(raw) => Ok(Query::QueryString {
                raw: raw.clone(),
                parsed: Box::new(lucene::parse_query_string(raw)?),
            }),
            other => Err(invalid(format!(
                "_string needs a string, not {}",
                type_name(other)
            ))),
        },
        "_type" => match value {
            Value::String(kind) if !kind.is_empty() => Ok(Query::Type(kind.clone())),
            other => Err(invalid(format!(
                "_type needs a model name, not {}",
                type_name(other)
            ))),
        },
        "_parent" => parse_join(key, value, depth, true),
        "_child" => parse_join(key, value, depth, false),
        "_value" => Err(invalid("_value needs a _field next to it")),
        operator if operator.starts_with('_') && !is_field_like(operator) => {
            Err(invalid(format!("unknown query operator {operator}")))
        }
        field => parse_shorthand(field, value),
    }
}

/// Fields that start with an underscore but are document metadata, usable in `{f: v}`.
fn is_field_like(key: &str) -> bool {
    matches!(key, "_routing" | "_parent_id")
}

fn parse_list(operator: &str, value: &Value, depth: usize) -> Result<Vec<Query>> {
    match value {
        Value::Array(items) => items.iter().map(|item| parse_at(item, depth + 1)).collect(),
        // A single query where a list is expected is taken as a list of one.
        Value::Object(_) => Ok(vec![parse_at(value, depth + 1)?]),
        other => Err(invalid(format!(
            "{operator} needs a list of queries, not {}",
            type_name(other)
        ))),
    }
}

/// `{f: v}`: exact match; `{f: null}`: the field is missing; `{f: [a, b]}`: one of them.
fn parse_shorthand(field: &str, value: &Value) -> Result<Query> {
    check_field(field)?;
    match value {
        Value::Null => Ok(Query::Not(Box::new(Query::Exists(field.to_owned())))),
        Value::String(_) | Value::Number(_) | Value::Bool(_) => {
            Ok(eq_or_id(field.to_owned(), value.clone()))
        }
        Value::Array(values) => Ok(Query::In {
            field: field.to_owned(),
            values: scalars(field, values)?,
        }),
        Value::Object(_) => Err(invalid(format!(
            "the value of field {field} must be a string, number or boolean, not an object"
        ))),
    }
}

fn eq_or_id(field: String, value: Value) -> Query {
    if field == "_id" {
        return Query::Id(vec![scalar_text(&value)]);
    }
    Query::Eq { field, value }
}

/// `{"_field": f, "_value": v}`.
fn parse_field_value(object: &Map<String, Value>, context: &str) -> Result<Query> {
    let field = field_name(object, context)?;
    if let Some(extra) = object
        .keys()
        .find(|key| *key != "_field" && *key != "_value")
    {
        return Err(invalid(format!(
            "{context}: unexpected key {extra} next to _field/_value"
        )));
    }
    match object.get("_value") {
        None => Err(invalid(format!("{context}: _field {field} has no _value"))),
        Some(value @ (Value::String(_) | Value::Number(_) | Value::Bool(_))) => {
            Ok(eq_or_id(field, value.clone()))
        }
        Some(Value::Null) => Ok(Query::Not(Box::new(Query::Exists(field)))),
        Some(other) => Err(invalid(format!(
            "{context}: _value must be a string, number or boolean, not {}",
            type_name(other)
        ))),
    }
}

fn field_name(object: &Map<String, Value>, context: &str) -> Result<String> {
    match object.get("_field") {
        Some(Value::String(field)) => {
            check_field(field)?;
            Ok(field.clone())
        }
        Some(other) => Err(invalid(format!(
            "{context}: _field must be a string, not {}",
            type_name(other)
        ))),
        None => Err(invalid(format!("{context} needs a _field"))),
    }
}

fn check_field(field: &str) -> Result<()> {
    if field.trim().is_empty() {
        return Err(invalid("a field name is empty"));
    }
    Ok(())
}

/// `{"_gt": {f: v}}` or the lenient `{"_gt": {"_field": f, "_value": v}}`.
fn parse_range(op: RangeOp, operator: &str, value: &Value) -> Result<Query> {
    let Value::Object(object) = value else {
        return Err(invalid(format!(
            "{operator} needs an object {{field: value}}"
        )));
    };
    let (field, bound) = if object.contains_key("_field") {
        let field = field_name(object, operator)?;
        let bound = object
            .get("_value")
            .ok_or_else(|| invalid(format!("{operator}: _field {field} has no _value")))?;
        (field, bound)
    } else {
        let mut entries = object.iter();
        match (entries.next(), entries.next()) {
            (Some((field, bound)), None) => {
                check_field(field)?;
                (field.clone(), bound)
            }
            _ => {
                return Err(invalid(format!(
                    "{operator} needs exactly one field, got {}",
                    object.len()
                )));
            }
        }
    };
    let value = bound_value(operator, &field, bound)?;
    Ok(Query::Range { field, op, value })
}

fn bound_value(operator: &str, field: &str, bound: &Value) -> Result<Value> {
    match bound {
        Value::String(_) | Value::Number(_) | Value::Bool(_) => Ok(bound.clone()),
        other => Err(invalid(format!(
            "{operator} on {field}: the bound must be a string or number, not {}",
            type_name(other)
        ))),
    }
}

/// `{"_between": {"_field": f, "_from": a, "_to": b}}`.
fn parse_between(value: &Value) -> Result<Query> {
    let Value::Object(object) = value else {
        return Err(invalid("_between needs an object {_field, _from, _to}"));
    };
    let field = field_name(object, "_between")?;
    let from = object
        .get("_from")
        .ok_or_else(|| invalid("_between needs _from"))?;
    let to = object
        .get("_to")
        .ok_or_else(|| invalid("_between needs _to"))?;
    Ok(Query::Between {
        from: bound_value("_between", &field, from)?,
        to: bound_value("_between", &field, to)?,
        field,
    })
}

/// `{"_in": {"_field": f, "_values": [v, …]}}`.
fn parse_in(value: &Value) -> Result<Query> {
    let Value::Object(object) = value else {
        return Err(invalid("_in needs an object {_field, _values}"));
    };
    let field = field_name(object, "_in")?;
    let values = match object.get("_values") {
        Some(Value::Array(values)) => scalars(&field, values)?,
        Some(other) => {
            return Err(invalid(format!(
                "_in: _values must be a list, not {}",
                type_name(other)
            )));
        }
        None => return Err(invalid("_in needs _values")),
    };
    if field == "_id" {
        return Ok(Query::Id(values.iter().map(scalar_text).collect()));
    }
    Ok(Query::In { field, values })
}

fn scalars(field: &str, values: &[Value]) -> Result<Vec<Value>> {
    values
        .iter()
        .map(|value| match value {
            Value::String(_) | Value::Number(_) | Value::Bool(_) => Ok(value.clone()),
            other => Err(invalid(format!(
                "values for {field} must be strings, numbers or booleans, not {}",
                type_name(other)
            ))),
        })
        .collect()
}

/// `{"_contains": f}` (also `{"_contains": {"_field": f}}`).
fn parse_contains(value: &Value) -> Result<Query> {
    match value {
        Value::String(field) => {
            check_field(field)?;
            Ok(Query::Exists(field.clone()))
        }
        Value::Object(object) => Ok(Query::Exists(field_name(object, "_contains")?)),
        other => Err(invalid(format!(
            "_contains needs a field name, not {}",
            type_name(other)
        ))),
    }
}

/// `{"_id": "x"}` (also a list of ids).
fn parse_id(value: &Value) -> Result<Query> {
    match value {
        Value::String(id) => Ok(Query::Id(vec![id.clone()])),
        Value::Number(number) => Ok(Query::Id(vec![number.to_string()])),
        Value::Array(ids) => ids
            .iter()
            .map(|id| match id {
                Value::String(id) => Ok(id.clone()),
                Value::Number(number) => Ok(number.to_string()),
                other => Err(invalid(format!(
                    "_id values must be strings, not {}",
                    type_name(other)
                ))),
            })
            .collect::<Result<Vec<_>>>()
            .map(Query::Id),
        other => Err(invalid(format!(
            "_id needs a document id, not {}",
            type_name(other)
        ))),
    }
}

/// `{"_like" | "_wildcard": {"_field": f, "_value": text}}`.
fn field_and_text(operator: &str, value: &Value) -> Result<(String, String)> {
    let Value::Object(object) = value else {
        return Err(invalid(format!(
            "{operator} needs an object {{_field, _value}}"
        )));
    };
    let field = field_name(object, operator)?;
    let text = match object.get("_value") {
        Some(Value::String(text)) => text.clone(),
        Some(value @ (Value::Number(_) | Value::Bool(_))) => value.to_string(),
        Some(other) => {
            return Err(invalid(format!(
                "{operator}: _value must be a string, not {}",
                type_name(other)
            )));
        }
        None => return Err(invalid(format!("{operator} needs a _value"))),
    };
    Ok((field, text))
}

/// `{"_parent": {"_type": t, "_id": i}}`, `{"_parent": {"_type": t, "_query": q}}`,
/// `{"_child": {"_type": t, "_query": q}}`.
fn parse_join(operator: &str, value: &Value, depth: usize, parent: bool) -> Result<Query> {
    let Value::Object(object) = value else {
        return Err(invalid(format!(
            "{operator} needs an object {{_type, _query}}"
        )));
    };
    let kind = match object.get("_type") {
        Some(Value::String(kind)) if !kind.is_empty() => kind.clone(),
        Some(other) => {
            return Err(invalid(format!(
                "{operator}: _type must be a model name, not {}",
                type_name(other)
            )));
        }
        None => return Err(invalid(format!("{operator} needs a _type"))),
    };
    let query = match (object.get("_query"), object.get("_id")) {
        (Some(query), None) => parse_at(query, depth + 1)?,
        (None, Some(id)) if parent => parse_id(id)?,
        (Some(_), Some(_)) if parent => {
            return Err(invalid("_parent takes either _id or _query, not both"));
        }
        _ if parent => return Err(invalid("_parent needs _id or _query")),
        _ => return Err(invalid("_child needs _query")),
    };
    let query = Box::new(query);
    Ok(if parent {
        Query::Parent { kind, query }
    } else {
        Query::Child { kind, query }
    })
}

/// The text of a scalar JSON value (strings without quotes).
pub(crate) fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

pub(crate) fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parse_ok(json: Value) -> Query {
        match parse(&json) {
            Ok(query) => query,
            Err(error) => panic!("{json} should parse: {error}"),
        }
    }

    fn parse_error(json: Value) -> String {
        match parse(&json) {
            Ok(query) => panic!("{json} should be refused, parsed as {query:?}"),
            Err(StoreError::InvalidQuery(message)) => message,
            Err(other) => panic!("unexpected error {other:?}"),
        }
    }

    fn eq(field: &str, value: Value) -> Query {
        Query::Eq {
            field: field.into(),
            value,
        }
    }

    #[test]
    fn empty_objects_null_and_any_match_everything() {
        assert_eq!(parse_ok(json!({})), Query::All);
        assert_eq!(parse_ok(Value::Null), Query::All);
        assert_eq!(parse_ok(json!({"_any": "whatever"})), Query::All);
    }

    #[test]
    fn field_value_and_shorthand_are_exact_matches() {
        assert_eq!(
            parse_ok(json!({"_field": "status", "_value": "Open"})),
            eq("status", json!("Open"))
        );
        assert_eq!(
            parse_ok(json!({"status": "Open"})),
            eq("status", json!("Open"))
        );
        assert_eq!(parse_ok(json!({"tlp": 2})), eq("tlp", json!(2)));
        assert_eq!(parse_ok(json!({"ioc": true})), eq("ioc", json!(true)));
        assert_eq!(
            parse_ok(json!({"customFields.cvss.number": 7})),
            eq("customFields.cvss.number", json!(7))
        );
    }

    #[test]
    fn shorthand_null_means_missing_and_list_means_one_of() {
        assert_eq!(
            parse_ok(json!({"owner": null})),
            Query::Not(Box::new(Query::Exists("owner".into())))
        );
        assert_eq!(
            parse_ok(json!({"tlp": [1, 2]})),
            Query::In {
                field: "tlp".into(),
                values: vec![json!(1), json!(2)]
            }
        );
    }

    #[test]
    fn several_plain_keys_mean_all_of_them() {
        assert_eq!(
            parse_ok(json!({"status": "Open", "tlp": 2})),
            Query::And(vec![eq("status", json!("Open")), eq("tlp", json!(2))])
        );
    }

    #[test]
    fn boolean_operators_nest() {
        assert_eq!(
            parse_ok(json!({"_and": [{"a": 1}, {"_or": [{"b": 2}, {"_not": {"c": 3}}]}]})),
            Query::And(vec![
                eq("a", json!(1)),
                Query::Or(vec![
                    eq("b", json!(2)),
                    Query::Not(Box::new(eq("c", json!(3))))
                ])
            ])
        );
        assert_eq!(parse_ok(json!({"_and": []})), Query::And(vec![]));
        assert_eq!(
            parse_ok(json!({"_or": {"a": 1}})),
            Query::Or(vec![eq("a", json!(1))])
        );
    }

    #[test]
    fn ranges_accept_both_the_field_key_and_the_field_value_forms() {
        for (operator, op) in [
            ("_gt", RangeOp::Gt),
            ("_gte", RangeOp::Gte),
            ("_lt", RangeOp::Lt),
            ("_lte", RangeOp::Lte),
        ] {
            let expected = Query::Range {
                field: "createdAt".into(),
                op,
                value: json!(5),
            };
            assert_eq!(parse_ok(json!({ operator: {"createdAt": 5} })), expected);
            assert_eq!(
                parse_ok(json!({ operator: {"_field": "createdAt", "_value": 5} })),
                expected
            );
        }
    }

    #[test]
    fn between_in_contains_and_id_parse() {
        assert_eq!(
            parse_ok(json!({"_between": {"_field": "severity", "_from": 1, "_to": 3}})),
            Query::Between {
                field: "severity".into(),
                from: json!(1),
                to: json!(3)
            }
        );
        assert_eq!(
            parse_ok(json!({"_in": {"_field": "status", "_values": ["Open", "Resolved"]}})),
            Query::In {
                field: "status".into(),
                values: vec![json!("Open"), json!("Resolved")]
            }
        );
        assert_eq!(
            parse_ok(json!({"_contains": "owner"})),
            Query::Exists("owner".into())
        );
        assert_eq!(
            parse_ok(json!({"_id": "AWqc"})),
            Query::Id(vec!["AWqc".into()])
        );
        assert_eq!(
            parse_ok(json!({"_in": {"_field": "_id", "_values": ["a", "b"]}})),
            Query::Id(vec!["a".into(), "b".into()])
        );
        assert_eq!(
            parse_ok(json!({"_field": "_id", "_value": "a"})),
            Query::Id(vec!["a".into()])
        );
    }

    #[test]
    fn like_wildcard_and_type_parse() {
        assert_eq!(
            parse_ok(json!({"_like": {"_field": "title", "_value": "phishing mail"}})),
            Query::Like {
                field: "title".into(),
                text: "phishing mail".into()
            }
        );
        assert_eq!(
            parse_ok(json!({"_wildcard": {"_field": "data", "_value": "*.example.com"}})),
            Query::Wildcard {
                field: "data".into(),
                pattern: "*.example.com".into()
            }
        );
        assert_eq!(
            parse_ok(json!({"_type": "case"})),
            Query::Type("case".into())
        );
    }

    #[test]
    fn string_queries_keep_the_raw_text_and_a_parsed_tree() {
        let query = parse_ok(json!({"_string": "tlp:2"}));
        assert_eq!(
            query,
            Query::QueryString {
                raw: "tlp:2".into(),
                parsed: Box::new(eq("tlp", json!(2)))
            }
        );
    }

    #[test]
    fn parent_and_child_joins_parse() {
        assert_eq!(
            parse_ok(json!({"_parent": {"_type": "case", "_id": "c1"}})),
            Query::Parent {
                kind: "case".into(),
                query: Box::new(Query::Id(vec!["c1".into()]))
            }
        );
        assert_eq!(
            parse_ok(json!({"_parent": {"_type": "case", "_query": {"status": "Open"}}})),
            Query::Parent {
                kind: "case".into(),
                query: Box::new(eq("status", json!("Open")))
            }
        );
        assert_eq!(
            parse_ok(json!({"_child": {"_type": "case_task", "_query": {"_any": 1}}})),
            Query::Child {
                kind: "case_task".into(),
                query: Box::new(Query::All)
            }
        );
    }

    #[test]
    fn malformed_queries_are_refused_with_a_message_naming_the_problem() {
        let cases = [
            (json!(3), "must be a JSON object"),
            (json!("status"), "must be a JSON object"),
            (json!({"_unknown": 1}), "unknown query operator _unknown"),
            (json!({"_and": 3}), "_and needs a list"),
            (json!({"_and": [1]}), "must be a JSON object"),
            (json!({"_gt": 3}), "_gt needs an object"),
            (json!({"_gt": {"a": 1, "b": 2}}), "exactly one field"),
            (json!({"_gte": {}}), "exactly one field"),
            (json!({"_lt": {"a": [1]}}), "the bound must be"),
            (json!({"_lte": {"_field": "a"}}), "has no _value"),
            (
                json!({"_between": {"_field": "a", "_from": 1}}),
                "_between needs _to",
            ),
            (
                json!({"_between": {"_from": 1, "_to": 2}}),
                "_between needs a _field",
            ),
            (
                json!({"_in": {"_field": "a", "_values": "x"}}),
                "_values must be a list",
            ),
            (
                json!({"_in": {"_field": "a", "_values": [{}]}}),
                "must be strings, numbers",
            ),
            (json!({"_in": {"_field": "a"}}), "_in needs _values"),
            (json!({"_contains": 1}), "_contains needs a field name"),
            (json!({"_contains": ""}), "field name is empty"),
            (json!({"_id": {}}), "_id needs a document id"),
            (json!({"_like": "x"}), "_like needs an object"),
            (
                json!({"_like": {"_field": "a", "_value": []}}),
                "_value must be a string",
            ),
            (
                json!({"_wildcard": {"_field": "a"}}),
                "_wildcard needs a _value",
            ),
            (json!({"_string": 1}), "_string needs a string"),
            (json!({"_string": "a AND"}), "AND"),
            (json!({"_type": 1}), "_type needs a model name"),
            (
                json!({"_parent": {"_type": "case"}}),
                "_parent needs _id or _query",
            ),
            (json!({"_parent": {"_query": {}}}), "_parent needs a _type"),
            (
                json!({"_parent": {"_type": "c", "_id": "x", "_query": {}}}),
                "not both",
            ),
            (json!({"_child": {"_type": "case"}}), "_child needs _query"),
            (json!({"_field": 1, "_value": 1}), "_field must be a string"),
            (json!({"_field": "a"}), "has no _value"),
            (json!({"_field": "a", "_value": {}}), "_value must be"),
            (
                json!({"_field": "a", "_value": 1, "x": 2}),
                "unexpected key x",
            ),
            (json!({"_value": 1}), "_value needs a _field"),
            (json!({"title": {"a": 1}}), "not an object"),
            (json!({"": 1}), "field name is empty"),
        ];
        for (json, expected) in cases {
            let message = parse_error(json.clone());
            assert!(
                message.contains(expected),
                "{json}: {message:?} lacks {expected:?}"
            );
        }
    }

    #[test]
    fn deeply_nested_queries_are_refused_not_overflowing_the_stack() {
        let mut json = json!({"a": 1});
        for _ in 0..200 {
            json = json!({ "_not": json });
        }
        assert!(parse_error(json).contains("nested deeper"));
    }
}
