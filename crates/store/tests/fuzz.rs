//! Property tests: the query DSL, aggregation and `_string` parsers never panic on arbitrary
//! input, and whatever parses runs on SQLite without a backend error.
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
