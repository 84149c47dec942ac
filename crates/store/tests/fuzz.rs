//! Property tests: the query DSL, aggregation and `_string` parsers never panic on arbitrary
//! input, whatever parses runs on SQLite without a backend error, and equality searches after
//! random puts, updates and deletes find what a model of the documents holds.
//!
//! CI runs the default case count; for a longer fuzzing session raise it, e.g.
//! `PROPTEST_CASES=200000 cargo test -p skep-store --test fuzz`.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use proptest::prelude::*;
use serde_json::{Map, Value};
use skep_store::sqlite::{SqliteOptions, SqliteStore};
use skep_store::{Aggregation, NewDocument, Page, Query, Sort, Store, StoreError};

/// Keys that steer the parsers into every branch, plus arbitrary short names.
fn key() -> impl Strategy<Value = String> {
    let operators = [
        "_and",
        "_or",
        "_not",
        "_any",
        "_field",
        "_value",
        "_gt",
        "_gte",
        "_lt",
        "_lte",
        "_between",
        "_from",
        "_to",
        "_in",
        "_values",
        "_contains",
        "_id",
        "_like",
        "_wildcard",
        "_string",
        "_type",
        "_parent",
        "_child",
        "_query",
        "_agg",
        "_name",
        "_size",
        "_order",
        "_select",
        "_fields",
        "_interval",
        "_categories",
        "status",
        "tags",
        "a.b",
        "",
    ];
    prop_oneof![
        3 => proptest::sample::select(operators.to_vec()).prop_map(str::to_owned),
        1 => "[a-z_.]{0,6}",
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    let words = [
        "count",
        "avg",
        "min",
        "max",
        "sum",
        "field",
        "time",
        "category",
        "top",
        "1d",
        "1w",
        "1M",
        "0d",
        "-_count",
        "_term",
        "status",
        "case",
        "a:b AND (",
        "*",
        "",
    ];
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |number| number.is_finite())
            .prop_map(Value::from),
        proptest::sample::select(words.to_vec()).prop_map(Value::from),
        ".{0,12}".prop_map(Value::String),
    ]
}

fn json() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(8, 96, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            proptest::collection::vec((key(), inner), 0..4)
                .prop_map(|entries| Value::Object(entries.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Text dense in the query-string syntax's special characters and keywords.
fn query_text() -> impl Strategy<Value = String> {
    let pieces = [
        "AND", "OR", "NOT", "&&", "||", "!", "+", "-", "(", ")", "[", "]", "{", "}", "\"", ":",
        "^", "~", "\\", "*", "?", " TO ", "_exists_", "title", "tlp", "2", "é", " ", "  ", ">=",
        "<", "/",
    ];
    proptest::collection::vec(
        prop_oneof![
            3 => proptest::sample::select(pieces.to_vec()).prop_map(str::to_owned),
            1 => ".{0,3}",
        ],
        0..24,
    )
    .prop_map(|pieces| pieces.concat())
}

fn refused_cleanly(result: &Result<impl std::fmt::Debug, StoreError>) -> bool {
    matches!(result, Ok(_) | Err(StoreError::InvalidQuery(_)))
}

proptest! {
    #[test]
    fn the_query_parser_never_panics_and_only_refuses_with_invalid_query(json in json()) {
        prop_assert!(refused_cleanly(&Query::parse(&json)));
        let wrapped = serde_json::json!({"_and": [json.clone(), {"_not": json.clone()}]});
        prop_assert!(refused_cleanly(&Query::parse(&wrapped)));
    }

    #[test]
    fn the_aggregation_parser_never_panics(json in json()) {
        prop_assert!(refused_cleanly(&Aggregation::parse_list(&json)));
        let listed = Value::Array(vec![json]);
        prop_assert!(refused_cleanly(&Aggregation::parse_list(&listed)));
    }

    #[test]
    fn the_query_string_parser_never_panics(text in query_text()) {
        prop_assert!(refused_cleanly(&skep_store::query::parse_query_string(&text)));
    }

    #[test]
    fn arbitrary_unicode_query_strings_never_panic(text in any::<String>()) {
        prop_assert!(refused_cleanly(&skep_store::query::parse_query_string(&text)));
    }
}

/// Whatever parses must also run: the SQL translation has no failure modes of its own.
#[test]
fn every_parsable_query_and_aggregation_runs_on_sqlite() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let directory = tempfile::tempdir().unwrap();
    let store = runtime.block_on(async {
        // Strings over one byte are long (indexed by their marker), one-byte ones are not: both
        // ways of answering a leaf run.
        let options = SqliteOptions {
            long_text_bytes: 1,
            ..SqliteOptions::default()
        };
        let store = SqliteStore::open_with(directory.path().join("fuzz.db"), options)
            .await
            .unwrap();
        for body in [
            serde_json::json!({"status": "Open", "tags": ["a", "b"], "a": {"b": 2}, "title": "x é"}),
            serde_json::json!({"status": 3, "tlp": 2, "a": {"b": "text"}, "_id": "weird"}),
        ] {
            let Value::Object(body) = body else { unreachable!() };
            store.put("case", NewDocument { id: None, parent: None, body }).await.unwrap();
        }
        store
    });
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::default());
    let strategy = (json(), json(), query_text());
    runner
        .run(&strategy, |(query, aggregations, text)| {
            let sorts = Sort::parse_list(["-status", "a.b", "_id"]);
            let queries = [
                Query::parse(&query),
                skep_store::query::parse_query_string(&text),
            ];
            for query in queries.into_iter().flatten() {
                let found = runtime.block_on(store.search("case", &query, Page::ALL, &sorts));
                prop_assert!(found.is_ok(), "{query:?}: {found:?}");
                let parent = Query::Parent {
                    kind: "case".into(),
                    query: Box::new(query.clone()),
                };
                let found = runtime.block_on(store.count("case", &parent));
                prop_assert!(found.is_ok(), "{parent:?}: {found:?}");
            }
            if let Ok(aggregations) = Aggregation::parse_list(&aggregations) {
                let result = runtime.block_on(store.aggregate("case", &Query::All, &aggregations));
                prop_assert!(result.is_ok(), "{aggregations:?}: {result:?}");
            }
            Ok(())
        })
        .unwrap();
}

/// A small body: a few fields whose values repeat across documents, arrays with repeats,
/// whole and fractional numbers, a nested object and strings over and under the long-string
/// threshold.
fn small_body() -> impl Strategy<Value = Map<String, Value>> {
    let long = |tag: &str| format!("{tag} {}", "words of a long description ".repeat(6));
    let strings = prop_oneof![
        Just(Value::from("a")),
        Just(Value::from("b")),
        Just(Value::from(long("first"))),
        Just(Value::from(long("second"))),
    ];
    let numbers = prop_oneof![
        Just(serde_json::json!(1)),
        Just(serde_json::json!(2)),
        Just(serde_json::json!(2.0)),
        Just(serde_json::json!(2.5)),
    ];
    (
        proptest::option::of(strings.clone()),
        proptest::option::of(numbers),
        proptest::collection::vec(strings.clone(), 0..4),
        proptest::option::of(strings),
    )
        .prop_map(|(s, n, t, k)| {
            let mut body = Map::new();
            if let Some(s) = s {
                body.insert("s".into(), s);
            }
            if let Some(n) = n {
                body.insert("n".into(), n);
            }
            body.insert("t".into(), Value::Array(t));
            if let Some(k) = k {
                body.insert("o".into(), serde_json::json!({"k": k}));
            }
            body
        })
}

/// The values a body holds at `path` (arrays spread), for the model.
fn values_at(body: &Map<String, Value>, path: &str) -> Vec<Value> {
    let mut current = vec![Value::Object(body.clone())];
    for key in path.split('.') {
        let mut next = Vec::new();
        for value in current {
            if let Value::Object(object) = value
                && let Some(inner) = object.get(key)
            {
                match inner {
                    Value::Array(items) => next.extend(items.iter().cloned()),
                    other => next.push(other.clone()),
                }
            }
        }
        current = next;
    }
    current
}

fn same_value(left: &Value, right: &Value) -> bool {
    match (left.as_f64(), right.as_f64()) {
        (Some(left), Some(right)) => left == right,
        _ => left == right,
    }
}

/// Puts, updates (whole bodies, so values are kept, changed, dropped and repeated) and deletes
/// leave every value findable exactly in the documents that hold it now, with posting blocks
/// and without.
#[test]
fn equality_after_updates_matches_a_model() {
    updates_match_a_model(0, 4);
}

/// The same over 600 documents put first, so that the operations move documents in and out of
/// sealed posting blocks (128 documents each), not only tails.
#[test]
fn equality_after_updates_in_sealed_blocks_matches_a_model() {
    updates_match_a_model(600, 600);
}

/// Puts `base` documents (`d0`, `d1`, …) in one batch, then runs random operations on
/// documents `d0` to `d{documents - 1}` and checks every equality search against a model.
fn updates_match_a_model(base: usize, documents: usize) {
    use skep_store::DeleteMode;
    use skep_store::sqlite::BlockValues;

    let runtime = tokio::runtime::Runtime::new().unwrap();
    // Each case opens a store: 64 cases unless PROPTEST_CASES asks for more.
    let cases = if std::env::var_os("PROPTEST_CASES").is_some() {
        ProptestConfig::default().cases
    } else {
        64
    };
    let config = ProptestConfig {
        cases,
        ..ProptestConfig::default()
    };
    let mut runner = proptest::test_runner::TestRunner::new(config);
    // (document, Some(body) = put or update, None = hard delete)
    let operation = (0..documents, proptest::option::weighted(0.85, small_body()));
    let strategy = (
        proptest::collection::vec(small_body(), base..=base),
        proptest::collection::vec(operation, 1..24),
        prop_oneof![
            Just(BlockValues::Frequent),
            Just(BlockValues::Every),
            Just(BlockValues::None),
        ],
    );
    runner
        .run(&strategy, |(bodies, operations, block_values)| {
            let directory = tempfile::tempdir().unwrap();
            runtime.block_on(async {
                let options = SqliteOptions {
                    block_values,
                    ..SqliteOptions::default()
                };
                let store = SqliteStore::open_with(directory.path().join("model.db"), options)
                    .await
                    .unwrap();
                let mut model: std::collections::BTreeMap<String, Map<String, Value>> =
                    std::collections::BTreeMap::new();
                let batch: Vec<NewDocument> = bodies
                    .into_iter()
                    .enumerate()
                    .map(|(number, body)| {
                        model.insert(format!("d{number}"), body.clone());
                        NewDocument {
                            id: Some(format!("d{number}")),
                            parent: None,
                            body,
                        }
                    })
                    .collect();
                for result in store.put_many("m", batch).await.unwrap() {
                    result.unwrap();
                }
                for (document, body) in operations {
                    let id = format!("d{document}");
                    match (body, model.contains_key(&id)) {
                        (Some(body), true) => {
                            store.update("m", &id, None, body.clone()).await.unwrap();
                            model.insert(id, body);
                        }
                        (Some(body), false) => {
                            let new = NewDocument {
                                id: Some(id.clone()),
                                parent: None,
                                body: body.clone(),
                            };
                            store.put("m", new).await.unwrap();
                            model.insert(id, body);
                        }
                        (None, true) => {
                            store.delete("m", &id, DeleteMode::Hard).await.unwrap();
                            model.remove(&id);
                        }
                        (None, false) => {}
                    }
                }
                let long =
                    |tag: &str| format!("{tag} {}", "words of a long description ".repeat(6));
                let wanted = [
                    Value::from("a"),
                    Value::from("b"),
                    Value::from(long("first")),
                    Value::from(long("second")),
                    serde_json::json!(1),
                    serde_json::json!(2),
                    serde_json::json!(2.5),
                ];
                for path in ["s", "n", "t", "o.k"] {
                    for value in &wanted {
                        let query = Query::parse(&serde_json::json!({ path: value })).unwrap();
                        let hits = store.search("m", &query, Page::ALL, &[]).await.unwrap();
                        let mut found: Vec<String> = hits
                            .documents
                            .into_iter()
                            .map(|document| document.id)
                            .collect();
                        found.sort();
                        let expected: Vec<String> = model
                            .iter()
                            .filter(|(_, body)| {
                                values_at(body, path)
                                    .iter()
                                    .any(|held| same_value(held, value))
                            })
                            .map(|(id, _)| id.clone())
                            .collect();
                        prop_assert_eq!(&found, &expected, "{} = {}", path, value);
                    }
                }
                Ok(())
            })
        })
        .unwrap();
}
