//! The store conformance suite, written once and run against every backend.
//!
//! Each case is `pub async fn <sentence>(store: &dyn Store)` and writes only under kinds named
//! after itself (`c_<case>`…), so cases can share one database or cluster and run in parallel.
//! A backend's test binary runs them all with
//! `mod conformance; conformance_suite!(open_fn);` where `open_fn` is an
//! `async fn() -> (Arc<dyn Store>, Box<dyn Any + Send>)` (the box is a guard such as a
//! `TempDir`, kept alive for the test), optionally followed by an attribute for every test:
//! `conformance_suite!(open_fn, #[ignore = "needs ELASTICSEARCH_URL"]);`.
#![allow(dead_code)]

use serde_json::{Map, Value, json};
use skep_store::{
    Aggregation, DeleteMode, Document, NewDocument, Page, Query, Sort, Store, StoreError,
};

/// Expands to one `#[tokio::test]` per conformance case, each opening its own store.
#[macro_export]
macro_rules! conformance_suite {
    ($open:path $(, #[$attr:meta])?) => {
        $crate::conformance_cases!($open, { $(#[$attr])? },
            put_then_get_returns_the_same_document,
            generated_ids_are_twenty_url_safe_characters,
            putting_an_existing_id_is_a_duplicate_conflict,
            put_many_answers_each_document_in_order_and_fails_duplicates_alone,
            getting_a_missing_document_is_not_found,
            the_same_id_in_two_kinds_names_two_documents,
            update_replaces_the_body_and_advances_the_version,
            update_with_a_stale_version_is_a_conflict_and_changes_nothing,
            updating_a_missing_document_is_not_found,
            soft_delete_hides_a_document_until_it_is_restored,
            hard_delete_removes_a_document_for_good,
            delete_by_query_removes_only_matching_documents,
            equality_matches_exact_values_case_sensitively,
            dsl_shorthand_and_field_value_forms_match_alike,
            equality_on_an_array_matches_any_element,
            dotted_paths_reach_into_nested_objects_and_arrays_of_objects,
            and_or_not_combine_queries,
            one_sided_ranges_compare_numbers_and_dates,
            between_excludes_both_ends,
            in_matches_any_listed_value,
            contains_matches_documents_having_a_non_null_field,
            id_queries_select_documents_by_id,
            like_matches_every_word_ignoring_case_and_order,
            wildcard_matches_raw_values_with_star_and_question_mark,
            query_strings_combine_fields_phrases_ranges_and_words,
            full_text_finds_words_anywhere_in_a_document,
            type_queries_match_only_the_searched_kind,
            parent_queries_find_children_by_parent_id_or_parent_query,
            child_queries_find_parents_having_matching_children,
            sorting_on_several_keys_then_newest_first,
            documents_missing_a_sort_field_come_last,
            paging_returns_the_window_and_the_total,
            count_counts_matching_documents,
            count_aggregations_count_with_their_own_query_and_name,
            metric_aggregations_compute_over_matching_documents,
            field_aggregations_bucket_terms_with_size_order_and_sub_aggregations,
            field_aggregation_keys_are_strings_for_numbers_and_booleans,
            time_aggregations_bucket_dates_by_calendar_interval,
            category_aggregations_run_each_named_query,
            top_aggregations_list_the_first_documents_in_order,
            unicode_round_trips_and_is_searchable,
            one_mebibyte_documents_round_trip_and_are_searchable,
            searching_an_unknown_kind_finds_nothing,
        );
    };
}

/// Implementation detail of [`conformance_suite!`]: one test per listed case.
#[macro_export]
macro_rules! conformance_cases {
    ($open:path, $attrs:tt, $($case:ident),* $(,)?) => {
        $( $crate::conformance_case!($open, $attrs, $case); )*
    };
}

/// Implementation detail of [`conformance_suite!`]: one test.
#[macro_export]
macro_rules! conformance_case {
    ($open:path, { $(#[$attr:meta])? }, $case:ident) => {
        $(#[$attr])?
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $case() {
            let (store, _guard) = $open().await;
            $crate::conformance::$case(&*store).await;
        }
    };
}

// ----------------------------------------------------------------------------------------------
// Helpers

fn kind(case: &str) -> String {
    format!("c_{case}")
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(object) => object,
        other => panic!("a JSON object was expected, got {other}"),
    }
}

fn new(body: Value) -> NewDocument {
    NewDocument {
        id: None,
        parent: None,
        body: object(body),
    }
}

fn with_id(id: &str, body: Value) -> NewDocument {
    NewDocument {
        id: Some(id.to_owned()),
        parent: None,
        body: object(body),
    }
}

async fn put(store: &dyn Store, kind: &str, id: &str, body: Value) -> Document {
    store.put(kind, with_id(id, body)).await.unwrap()
}

async fn put_child(store: &dyn Store, kind: &str, id: &str, parent: &str, body: Value) -> Document {
    let document = NewDocument {
        id: Some(id.into()),
        parent: Some(parent.into()),
        body: object(body),
    };
    store.put(kind, document).await.unwrap()
}

fn parse(query: Value) -> Query {
    Query::parse(&query).unwrap()
}

/// Ids of every match, sorted, for order-free comparisons.
async fn ids(store: &dyn Store, kind: &str, query: Value) -> Vec<String> {
    let hits = store
        .search(kind, &parse(query), Page::ALL, &[])
        .await
        .unwrap();
    assert_eq!(
        hits.total,
        hits.documents.len() as u64,
        "total of an unpaged search"
    );
    let mut ids: Vec<String> = hits
        .documents
        .into_iter()
        .map(|document| document.id)
        .collect();
    ids.sort();
    ids
}

/// Ids in the order the store returns them.
async fn ordered_ids(store: &dyn Store, kind: &str, query: Value, sort: &[&str]) -> Vec<String> {
    let sort = Sort::parse_list(sort.iter().copied());
    let hits = store
        .search(kind, &parse(query), Page::ALL, &sort)
        .await
        .unwrap();
    hits.documents
        .into_iter()
        .map(|document| document.id)
        .collect()
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|item| (*item).to_owned()).collect()
}

async fn stats(store: &dyn Store, kind: &str, query: Value, aggregations: Value) -> Value {
    let aggregations = Aggregation::parse_list(&aggregations).unwrap();
    Value::Object(
        store
            .aggregate(kind, &parse(query), &aggregations)
            .await
            .unwrap(),
    )
}

fn number(value: &Value) -> f64 {
    value
        .as_f64()
        .unwrap_or_else(|| panic!("a number was expected, got {value}"))
}

/// Five cases of a small, varied model used by several query cases.
async fn seed_cases(store: &dyn Store, kind: &str) {
    let documents = [
        (
            "a",
            json!({"title": "Phishing mail from Bob", "status": "Open", "severity": 1,
            "tags": ["mail", "phishing"], "createdAt": 1_600_000_000_000_i64, "flag": true,
            "customFields": {"cvss": {"number": 7.5}}}),
        ),
        (
            "b",
            json!({"title": "Malware on laptop", "status": "Resolved", "severity": 2,
            "tags": ["malware"], "createdAt": 1_600_000_100_000_i64, "flag": false, "owner": "eve"}),
        ),
        (
            "c",
            json!({"title": "Second phishing wave", "status": "Open", "severity": 3,
            "tags": ["phishing", "wave"], "createdAt": 1_600_000_200_000_i64, "owner": null}),
        ),
        (
            "d",
            json!({"title": "open port scan", "status": "open", "severity": 2,
            "tags": [], "createdAt": 1_600_000_300_000_i64, "owner": "bob"}),
        ),
        (
            "e",
            json!({"title": "DNS tunnel", "status": "Deleted", "severity": 4,
            "createdAt": 1_600_000_400_000_i64, "customFields": {"cvss": {"number": 9}}}),
        ),
    ];
    for (id, body) in documents {
        put(store, kind, id, body).await;
    }
}

// ----------------------------------------------------------------------------------------------
// Documents

pub async fn put_then_get_returns_the_same_document(store: &dyn Store) {
    let kind = kind("put_get");
    let body = json!({"title": "Ünïcødé ✓ 日本語", "n": 3, "x": 1.5, "ok": true, "none": null,
        "nested": {"list": [1, "two", {"three": 3}]}});

    let created = store.put(&kind, new(body.clone())).await.unwrap();
    let read = store.get(&kind, &created.id).await.unwrap();

    assert_eq!(read, created);
    assert_eq!(Value::Object(read.body), body);
    assert_eq!(read.parent, None);
}

pub async fn generated_ids_are_twenty_url_safe_characters(store: &dyn Store) {
    let kind = kind("generated_ids");

    let first = store.put(&kind, new(json!({"n": 1}))).await.unwrap();
    let second = store.put(&kind, new(json!({"n": 2}))).await.unwrap();

    for id in [&first.id, &second.id] {
        assert_eq!(id.len(), 20, "{id}");
        assert!(
            id.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
            "{id}"
        );
    }
    assert_ne!(first.id, second.id);
}

pub async fn putting_an_existing_id_is_a_duplicate_conflict(store: &dyn Store) {
    let kind = kind("duplicate");
    put(store, &kind, "same", json!({"v": 1})).await;

    let error = store
        .put(&kind, with_id("same", json!({"v": 2})))
        .await
        .unwrap_err();

    assert!(error.is_duplicate(), "{error:?}");
    assert_eq!(store.get(&kind, "same").await.unwrap().body["v"], json!(1));
}

pub async fn put_many_answers_each_document_in_order_and_fails_duplicates_alone(store: &dyn Store) {
    let kind = kind("put_many");
    put(store, &kind, "taken", json!({"v": 0})).await;

    let results = store
        .put_many(
            &kind,
            vec![
                with_id("one", json!({"v": 1})),
                with_id("taken", json!({"v": 2})),
                new(json!({"v": 3})),
                with_id("one", json!({"v": 4})),
            ],
        )
        .await
        .unwrap();

    assert_eq!(results.len(), 4);
    assert_eq!(results[0].as_ref().unwrap().id, "one");
    assert!(results[1].as_ref().unwrap_err().is_duplicate());
    assert_eq!(results[2].as_ref().unwrap().body["v"], json!(3));
    assert!(results[3].as_ref().unwrap_err().is_duplicate());
    assert_eq!(store.count(&kind, &Query::All).await.unwrap(), 3);
    assert_eq!(store.get(&kind, "one").await.unwrap().body["v"], json!(1));
}

pub async fn getting_a_missing_document_is_not_found(store: &dyn Store) {
    let kind = kind("missing");
    put(store, &kind, "present", json!({})).await;

    let error = store.get(&kind, "absent").await.unwrap_err();

    assert!(matches!(error, StoreError::NotFound { .. }), "{error:?}");
}

pub async fn the_same_id_in_two_kinds_names_two_documents(store: &dyn Store) {
    let (first, second) = (kind("two_kinds_a"), kind("two_kinds_b"));

    put(store, &first, "x", json!({"side": "a"})).await;
    put(store, &second, "x", json!({"side": "b"})).await;

    assert_eq!(
        store.get(&first, "x").await.unwrap().body["side"],
        json!("a")
    );
    assert_eq!(
        store.get(&second, "x").await.unwrap().body["side"],
        json!("b")
    );
    assert_eq!(
        ids(store, &first, json!({"side": "b"})).await,
        Vec::<String>::new()
    );
}

pub async fn update_replaces_the_body_and_advances_the_version(store: &dyn Store) {
    let kind = kind("update");
    let created = put(store, &kind, "u", json!({"title": "old", "gone": 1})).await;

    let updated = store
        .update(
            &kind,
            "u",
            Some(created.version),
            object(json!({"title": "new"})),
        )
        .await
        .unwrap();
    let again = store
        .update(&kind, "u", None, object(json!({"title": "newer"})))
        .await
        .unwrap();

    assert_eq!(Value::Object(updated.body), json!({"title": "new"}));
    assert!(updated.version.seq_no > created.version.seq_no);
    assert!(again.version.seq_no > updated.version.seq_no);
    let read = store.get(&kind, "u").await.unwrap();
    assert_eq!(read.version, again.version);
    assert_eq!(Value::Object(read.body), json!({"title": "newer"}));
    assert_eq!(
        ids(store, &kind, json!({"title": "old"})).await,
        Vec::<String>::new()
    );
    assert_eq!(
        ids(store, &kind, json!({"title": "newer"})).await,
        strings(&["u"])
    );
    assert_eq!(
        ids(store, &kind, json!({"_contains": "gone"})).await,
        Vec::<String>::new()
    );
}

pub async fn update_with_a_stale_version_is_a_conflict_and_changes_nothing(store: &dyn Store) {
    let kind = kind("stale");
    let created = put(store, &kind, "s", json!({"v": 1})).await;
    store
        .update(&kind, "s", Some(created.version), object(json!({"v": 2})))
        .await
        .unwrap();

    let error = store
        .update(&kind, "s", Some(created.version), object(json!({"v": 3})))
        .await
        .unwrap_err();

    assert!(
        matches!(&error, StoreError::Conflict { reason, .. } if reason == skep_store_stale()),
        "{error:?}"
    );
    assert!(!error.is_duplicate());
    assert_eq!(store.get(&kind, "s").await.unwrap().body["v"], json!(2));
}

fn skep_store_stale() -> &'static str {
    "version conflict"
}

pub async fn updating_a_missing_document_is_not_found(store: &dyn Store) {
    let kind = kind("update_missing");
    put(store, &kind, "here", json!({})).await;

    let error = store
        .update(&kind, "nowhere", None, object(json!({"v": 1})))
        .await
        .unwrap_err();

    assert!(matches!(error, StoreError::NotFound { .. }), "{error:?}");
}

pub async fn soft_delete_hides_a_document_until_it_is_restored(store: &dyn Store) {
    let kind = kind("soft_delete");
    put(store, &kind, "keep", json!({"status": "Open"})).await;
    put(store, &kind, "hide", json!({"status": "Open"})).await;

    store.delete(&kind, "hide", DeleteMode::Soft).await.unwrap();

    assert!(matches!(
        store.get(&kind, "hide").await,
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(
        ids(store, &kind, json!({"status": "Open"})).await,
        strings(&["keep"])
    );
    assert_eq!(store.count(&kind, &Query::All).await.unwrap(), 1);
    let counted = stats(
        store,
        &kind,
        json!({}),
        json!([{"_agg": "field", "_field": "status",
        "_select": [{"_agg": "count"}]}]),
    )
    .await;
    assert_eq!(counted, json!({"Open": {"count": 1}}));
    assert!(matches!(
        store.delete(&kind, "hide", DeleteMode::Soft).await,
        Err(StoreError::NotFound { .. })
    ));

    let restored = store.restore(&kind, "hide").await.unwrap();

    assert_eq!(restored.body["status"], json!("Open"));
    assert_eq!(
        store.get(&kind, "hide").await.unwrap().body["status"],
        json!("Open")
    );
    assert_eq!(
        ids(store, &kind, json!({"status": "Open"})).await,
        strings(&["hide", "keep"])
    );
}

pub async fn hard_delete_removes_a_document_for_good(store: &dyn Store) {
    let kind = kind("hard_delete");
    put(store, &kind, "gone", json!({"v": 1})).await;
    put(store, &kind, "soft_then_hard", json!({"v": 2})).await;
    store
        .delete(&kind, "soft_then_hard", DeleteMode::Soft)
        .await
        .unwrap();

    store.delete(&kind, "gone", DeleteMode::Hard).await.unwrap();
    store
        .delete(&kind, "soft_then_hard", DeleteMode::Hard)
        .await
        .unwrap();

    assert!(matches!(
        store.get(&kind, "gone").await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.restore(&kind, "gone").await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.restore(&kind, "soft_then_hard").await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.delete(&kind, "gone", DeleteMode::Hard).await,
        Err(StoreError::NotFound { .. })
    ));
    put(store, &kind, "gone", json!({"v": 3})).await;
    assert_eq!(store.get(&kind, "gone").await.unwrap().body["v"], json!(3));
}

pub async fn delete_by_query_removes_only_matching_documents(store: &dyn Store) {
    let kind = kind("delete_by_query");
    seed_cases(store, &kind).await;

    let removed = store
        .delete_by_query(&kind, &parse(json!({"status": "Open"})))
        .await
        .unwrap();

    assert_eq!(removed, 2);
    assert_eq!(
        ids(store, &kind, json!({})).await,
        strings(&["b", "d", "e"])
    );
    assert!(matches!(
        store.get(&kind, "a").await,
        Err(StoreError::NotFound { .. })
    ));
}

// ----------------------------------------------------------------------------------------------
// Query operators

pub async fn equality_matches_exact_values_case_sensitively(store: &dyn Store) {
    let kind = kind("equality");
    seed_cases(store, &kind).await;

    assert_eq!(
        ids(store, &kind, json!({"status": "Open"})).await,
        strings(&["a", "c"])
    );
    assert_eq!(
        ids(store, &kind, json!({"status": "open"})).await,
        strings(&["d"])
    );
    assert_eq!(
        ids(store, &kind, json!({"status": "Ope"})).await,
        Vec::<String>::new()
    );
    assert_eq!(
        ids(store, &kind, json!({"severity": 2})).await,
        strings(&["b", "d"])
    );
    assert_eq!(
        ids(store, &kind, json!({"flag": true})).await,
        strings(&["a"])
    );
    assert_eq!(
        ids(store, &kind, json!({"flag": false})).await,
        strings(&["b"])
    );
    assert_eq!(
        ids(store, &kind, json!({"nosuchfield": "x"})).await,
        Vec::<String>::new()
    );
}

pub async fn dsl_shorthand_and_field_value_forms_match_alike(store: &dyn Store) {
    let kind = kind("dsl_forms");
    seed_cases(store, &kind).await;

    let shorthand = ids(store, &kind, json!({"status": "Resolved"})).await;
    let long = ids(
        store,
        &kind,
        json!({"_field": "status", "_value": "Resolved"}),
    )
    .await;
    let lenient_range = ids(
        store,
        &kind,
        json!({"_gt": {"_field": "severity", "_value": 3}}),
    )
    .await;
    let any = ids(store, &kind, json!({"_any": "*"})).await;

    assert_eq!(shorthand, strings(&["b"]));
    assert_eq!(long, shorthand);
    assert_eq!(lenient_range, strings(&["e"]));
    assert_eq!(any, strings(&["a", "b", "c", "d", "e"]));
}

pub async fn equality_on_an_array_matches_any_element(store: &dyn Store) {
    let kind = kind("arrays");
    seed_cases(store, &kind).await;

    assert_eq!(
        ids(store, &kind, json!({"tags": "phishing"})).await,
        strings(&["a", "c"])
    );
    assert_eq!(
        ids(store, &kind, json!({"tags": "wave"})).await,
        strings(&["c"])
    );
    assert_eq!(
        ids(
            store,
            &kind,
            json!({"_and": [{"tags": "mail"}, {"tags": "phishing"}]})
        )
        .await,
        strings(&["a"])
    );
}

pub async fn dotted_paths_reach_into_nested_objects_and_arrays_of_objects(store: &dyn Store) {
    let kind = kind("dotted");
    put(store, &kind, "x", json!({"customFields": {"cvss": {"number": 7}},
        "artifacts": [{"data": "1.2.3.4", "dataType": "ip"}, {"data": "evil.com", "dataType": "domain"}]})).await;
    put(
        store,
        &kind,
        "y",
        json!({"customFields": {"cvss": {"number": 3}},
        "artifacts": [{"data": "evil.org", "dataType": "domain"}]}),
    )
    .await;

    assert_eq!(
        ids(store, &kind, json!({"customFields.cvss.number": 7})).await,
        strings(&["x"])
    );
    assert_eq!(
        ids(store, &kind, json!({"artifacts.data": "evil.com"})).await,
        strings(&["x"])
    );
    assert_eq!(
        ids(store, &kind, json!({"artifacts.dataType": "domain"})).await,
        strings(&["x", "y"])
    );
    assert_eq!(
        ids(
            store,
            &kind,
            json!({"_gte": {"customFields.cvss.number": 5}})
        )
        .await,
        strings(&["x"])
    );
}

pub async fn and_or_not_combine_queries(store: &dyn Store) {
    let kind = kind("boolean");
    seed_cases(store, &kind).await;

    assert_eq!(
        ids(
            store,
            &kind,
            json!({"_and": [{"status": "Open"}, {"severity": 3}]})
        )
        .await,
        strings(&["c"])
    );
    assert_eq!(
        ids(
            store,
            &kind,
            json!({"_or": [{"status": "Resolved"}, {"severity": 4}]})
        )
        .await,
        strings(&["b", "e"])
    );
    assert_eq!(
        ids(store, &kind, json!({"_not": {"status": "Open"}})).await,
        strings(&["b", "d", "e"])
    );
    assert_eq!(
        ids(store, &kind, json!({"_and": [{"_not": {"status": "Deleted"}}, {"_or": [{"severity": 1}, {"severity": 2}]}]})).await,
        strings(&["a", "b", "d"])
    );
    assert_eq!(ids(store, &kind, json!({"_and": []})).await.len(), 5);
    assert_eq!(
        ids(store, &kind, json!({"_or": []})).await,
        Vec::<String>::new()
    );
}

pub async fn one_sided_ranges_compare_numbers_and_dates(store: &dyn Store) {
    let kind = kind("ranges");
    seed_cases(store, &kind).await;

    assert_eq!(
        ids(store, &kind, json!({"_gt": {"severity": 2}})).await,
        strings(&["c", "e"])
    );
    assert_eq!(
        ids(store, &kind, json!({"_gte": {"severity": 2}})).await,
        strings(&["b", "c", "d", "e"])
    );
    assert_eq!(
        ids(store, &kind, json!({"_lt": {"severity": 2}})).await,
        strings(&["a"])
    );
    assert_eq!(
        ids(store, &kind, json!({"_lte": {"severity": 2}})).await,
        strings(&["a", "b", "d"])
    );
    assert_eq!(
        ids(
            store,
            &kind,
            json!({"_gte": {"createdAt": 1_600_000_300_000_i64}})
        )
        .await,
        strings(&["d", "e"])
    );
    assert_eq!(
        ids(
            store,
            &kind,
            json!({"_lt": {"customFields.cvss.number": 8}})
        )
        .await,
        strings(&["a"])
    );
}

pub async fn between_excludes_both_ends(store: &dyn Store) {
    let kind = kind("between");
    seed_cases(store, &kind).await;

    let found = ids(
        store,
        &kind,
        json!({"_between": {"_field": "severity", "_from": 1, "_to": 4}}),
    )
    .await;

    assert_eq!(found, strings(&["b", "c", "d"]));
}

pub async fn in_matches_any_listed_value(store: &dyn Store) {
    let kind = kind("in");
    seed_cases(store, &kind).await;

    assert_eq!(
        ids(
            store,
            &kind,
            json!({"_in": {"_field": "status", "_values": ["Resolved", "Deleted"]}})
        )
        .await,
        strings(&["b", "e"])
    );
    assert_eq!(
        ids(
            store,
            &kind,
            json!({"_in": {"_field": "severity", "_values": [1, 4]}})
        )
        .await,
        strings(&["a", "e"])
    );
    assert_eq!(
        ids(
            store,
            &kind,
            json!({"_in": {"_field": "status", "_values": []}})
        )
        .await,
        Vec::<String>::new()
    );
}

pub async fn contains_matches_documents_having_a_non_null_field(store: &dyn Store) {
    let kind = kind("contains");
    seed_cases(store, &kind).await;

    assert_eq!(
        ids(store, &kind, json!({"_contains": "owner"})).await,
        strings(&["b", "d"])
    );
    assert_eq!(
        ids(store, &kind, json!({"_contains": "customFields.cvss"})).await,
        strings(&["a", "e"])
    );
    assert_eq!(
        ids(store, &kind, json!({"_contains": "customFields"})).await,
        strings(&["a", "e"])
    );
    assert_eq!(
        ids(store, &kind, json!({"_contains": "nothing"})).await,
        Vec::<String>::new()
    );
}

pub async fn id_queries_select_documents_by_id(store: &dyn Store) {
    let kind = kind("ids");
    seed_cases(store, &kind).await;

    assert_eq!(
        ids(store, &kind, json!({"_id": "c"})).await,
        strings(&["c"])
    );
    assert_eq!(
        ids(store, &kind, json!({"_id": "zzz"})).await,
        Vec::<String>::new()
    );
    assert_eq!(
        ids(
            store,
            &kind,
            json!({"_in": {"_field": "_id", "_values": ["a", "e", "q"]}})
        )
        .await,
        strings(&["a", "e"])
    );
    assert_eq!(
        ids(store, &kind, json!({"_not": {"_id": "a"}})).await,
        strings(&["b", "c", "d", "e"])
    );
}

pub async fn like_matches_every_word_ignoring_case_and_order(store: &dyn Store) {
    let kind = kind("like");
    seed_cases(store, &kind).await;

    let like = |text: &str| json!({"_like": {"_field": "title", "_value": text}});

    assert_eq!(
        ids(store, &kind, like("phishing")).await,
        strings(&["a", "c"])
    );
    assert_eq!(
        ids(store, &kind, like("MAIL phishing")).await,
        strings(&["a"])
    );
    assert_eq!(
        ids(store, &kind, like("phishing laptop")).await,
        Vec::<String>::new()
    );
    assert_eq!(ids(store, &kind, like("open")).await, strings(&["d"]));
}

pub async fn wildcard_matches_raw_values_with_star_and_question_mark(store: &dyn Store) {
    let kind = kind("wildcard");
    put(store, &kind, "a", json!({"data": "mail.example.com"})).await;
    put(store, &kind, "b", json!({"data": "example.org"})).await;
    put(store, &kind, "c", json!({"data": "Example.com"})).await;
    put(store, &kind, "d", json!({"data": ["x", "www.example.com"]})).await;

    let wildcard = |pattern: &str| json!({"_wildcard": {"_field": "data", "_value": pattern}});

    assert_eq!(
        ids(store, &kind, wildcard("*.example.com")).await,
        strings(&["a", "d"])
    );
    assert_eq!(
        ids(store, &kind, wildcard("example.*")).await,
        strings(&["b"])
    );
    assert_eq!(
        ids(store, &kind, wildcard("?xample.com")).await,
        strings(&["c"])
    );
    assert_eq!(
        ids(store, &kind, wildcard("*example*")).await,
        strings(&["a", "b", "d"])
    );
}

pub async fn query_strings_combine_fields_phrases_ranges_and_words(store: &dyn Store) {
    let kind = kind("query_string");
    seed_cases(store, &kind).await;

    let string = |text: &str| json!({"_string": text});

    assert_eq!(
        ids(store, &kind, string("severity:2")).await,
        strings(&["b", "d"])
    );
    assert_eq!(
        ids(store, &kind, string("title:\"phishing\" AND severity:3")).await,
        strings(&["c"])
    );
    assert_eq!(
        ids(store, &kind, string("severity:[2 TO 3]")).await,
        strings(&["b", "c", "d"])
    );
    assert_eq!(
        ids(store, &kind, string("severity:{2 TO 4}")).await,
        strings(&["c"])
    );
    assert_eq!(
        ids(store, &kind, string("malware OR tunnel")).await,
        strings(&["b", "e"])
    );
    assert_eq!(
        ids(store, &kind, string("phishing -wave")).await,
        strings(&["a"])
    );
    assert_eq!(
        ids(store, &kind, string("(phishing) AND NOT severity:1")).await,
        strings(&["c"])
    );
    assert_eq!(
        ids(store, &kind, string("_exists_:owner")).await,
        strings(&["b", "d"])
    );
    assert_eq!(ids(store, &kind, string("*")).await.len(), 5);
}

pub async fn full_text_finds_words_anywhere_in_a_document(store: &dyn Store) {
    let kind = kind("full_text");
    put(
        store,
        &kind,
        "a",
        json!({"title": "Suspicious login", "description": "From the VPN gateway"}),
    )
    .await;
    put(
        store,
        &kind,
        "b",
        json!({"title": "Routine", "notes": {"text": "gateway reboot"}}),
    )
    .await;
    put(
        store,
        &kind,
        "c",
        json!({"title": "Other", "tags": ["vpn"]}),
    )
    .await;

    let string = |text: &str| json!({"_string": text});

    assert_eq!(
        ids(store, &kind, string("gateway")).await,
        strings(&["a", "b"])
    );
    assert_eq!(ids(store, &kind, string("vpn")).await, strings(&["a", "c"]));
    assert_eq!(
        ids(store, &kind, string("+vpn +gateway")).await,
        strings(&["a"])
    );
    assert_eq!(
        ids(store, &kind, string("\"suspicious login\"")).await,
        strings(&["a"])
    );
    assert_eq!(
        ids(store, &kind, string("gate*")).await,
        strings(&["a", "b"])
    );
    assert_eq!(
        ids(store, &kind, string("absent")).await,
        Vec::<String>::new()
    );
}

pub async fn type_queries_match_only_the_searched_kind(store: &dyn Store) {
    let kind = kind("type");
    put(store, &kind, "a", json!({"v": 1})).await;

    assert_eq!(
        ids(store, &kind, json!({"_type": kind})).await,
        strings(&["a"])
    );
    assert_eq!(
        ids(store, &kind, json!({"_type": "c_some_other_kind"})).await,
        Vec::<String>::new()
    );
}

/// Two cases, each with tasks; one task of the second case is soft-deleted.
async fn seed_family(store: &dyn Store, parents: &str, children: &str) {
    put(
        store,
        parents,
        "case1",
        json!({"title": "first", "status": "Open"}),
    )
    .await;
    put(
        store,
        parents,
        "case2",
        json!({"title": "second", "status": "Resolved"}),
    )
    .await;
    put(
        store,
        parents,
        "case3",
        json!({"title": "third", "status": "Open"}),
    )
    .await;
    put_child(
        store,
        children,
        "t1",
        "case1",
        json!({"title": "triage", "status": "Waiting"}),
    )
    .await;
    put_child(
        store,
        children,
        "t2",
        "case1",
        json!({"title": "contain", "status": "Completed"}),
    )
    .await;
    put_child(
        store,
        children,
        "t3",
        "case2",
        json!({"title": "triage", "status": "InProgress"}),
    )
    .await;
    put_child(
        store,
        children,
        "t4",
        "case3",
        json!({"title": "hidden", "status": "Waiting"}),
    )
    .await;
    store
        .delete(children, "t4", DeleteMode::Soft)
        .await
        .unwrap();
}

pub async fn parent_queries_find_children_by_parent_id_or_parent_query(store: &dyn Store) {
    let (parents, children) = (kind("parent_p"), kind("parent_c"));
    seed_family(store, &parents, &children).await;

    assert_eq!(
        store.get(&children, "t1").await.unwrap().parent.as_deref(),
        Some("case1")
    );
    assert_eq!(
        ids(
            store,
            &children,
            json!({"_parent": {"_type": parents, "_id": "case1"}})
        )
        .await,
        strings(&["t1", "t2"])
    );
    assert_eq!(
        ids(
            store,
            &children,
            json!({"_parent": {"_type": parents, "_query": {"status": "Resolved"}}})
        )
        .await,
        strings(&["t3"])
    );
    assert_eq!(
        ids(
            store,
            &children,
            json!({"_and": [
            {"_parent": {"_type": parents, "_query": {"status": "Open"}}},
            {"status": "Waiting"}]})
        )
        .await,
        strings(&["t1"])
    );
    assert_eq!(
        ids(
            store,
            &children,
            json!({"_parent": {"_type": parents, "_id": "nobody"}})
        )
        .await,
        Vec::<String>::new()
    );
}

pub async fn child_queries_find_parents_having_matching_children(store: &dyn Store) {
    let (parents, children) = (kind("child_p"), kind("child_c"));
    seed_family(store, &parents, &children).await;

    assert_eq!(
        ids(
            store,
            &parents,
            json!({"_child": {"_type": children, "_query": {"title": "triage"}}})
        )
        .await,
        strings(&["case1", "case2"])
    );
    assert_eq!(
        ids(
            store,
            &parents,
            json!({"_child": {"_type": children, "_query": {"status": "Completed"}}})
        )
        .await,
        strings(&["case1"])
    );
    // A soft-deleted child no longer makes its parent match.
    assert_eq!(
        ids(
            store,
            &parents,
            json!({"_child": {"_type": children, "_query": {"title": "hidden"}}})
        )
        .await,
        Vec::<String>::new()
    );
    assert_eq!(
        ids(
            store,
            &parents,
            json!({"_not": {"_child": {"_type": children, "_query": {}}}})
        )
        .await,
        strings(&["case3"])
    );
}

// ----------------------------------------------------------------------------------------------
// Sorting, paging, counting

pub async fn sorting_on_several_keys_then_newest_first(store: &dyn Store) {
    let kind = kind("sorting");
    seed_cases(store, &kind).await;

    assert_eq!(
        ordered_ids(store, &kind, json!({}), &["-severity", "+title"]).await,
        strings(&["e", "c", "b", "d", "a"])
    );
    assert_eq!(
        ordered_ids(store, &kind, json!({}), &["+severity", "-createdAt"]).await,
        strings(&["a", "d", "b", "c", "e"])
    );
    assert_eq!(
        ordered_ids(store, &kind, json!({}), &["-_id"]).await,
        strings(&["e", "d", "c", "b", "a"])
    );
    // No sort: newest first.
    assert_eq!(
        ordered_ids(store, &kind, json!({}), &[]).await,
        strings(&["e", "d", "c", "b", "a"])
    );
    // Equal keys: newest first.
    assert_eq!(
        ordered_ids(store, &kind, json!({"severity": 2}), &["severity"]).await,
        strings(&["d", "b"])
    );
}

pub async fn documents_missing_a_sort_field_come_last(store: &dyn Store) {
    let kind = kind("sort_missing");
    seed_cases(store, &kind).await;

    let ascending = ordered_ids(store, &kind, json!({}), &["owner"]).await;
    let descending = ordered_ids(store, &kind, json!({}), &["-owner"]).await;

    assert_eq!(&ascending[..2], &strings(&["d", "b"])[..]);
    assert_eq!(&descending[..2], &strings(&["b", "d"])[..]);
}

pub async fn paging_returns_the_window_and_the_total(store: &dyn Store) {
    let kind = kind("paging");
    let documents = (0..25)
        .map(|n| with_id(&format!("p{n:02}"), json!({"n": n, "even": n % 2 == 0})))
        .collect();
    store.put_many(&kind, documents).await.unwrap();
    let sort = Sort::parse_list(["n"]);

    let first = store
        .search(&kind, &Query::All, Page::parse_range(None), &sort)
        .await
        .unwrap();
    let middle = store
        .search(&kind, &Query::All, Page::parse_range(Some("10-15")), &sort)
        .await
        .unwrap();
    let last = store
        .search(&kind, &Query::All, Page::parse_range(Some("20-40")), &sort)
        .await
        .unwrap();
    let beyond = store
        .search(
            &kind,
            &Query::All,
            Page::parse_range(Some("100-110")),
            &sort,
        )
        .await
        .unwrap();
    let all = store
        .search(&kind, &Query::All, Page::parse_range(Some("all")), &sort)
        .await
        .unwrap();
    let even = store
        .search(
            &kind,
            &parse(json!({"even": true})),
            Page {
                offset: 2,
                limit: Some(3),
            },
            &sort,
        )
        .await
        .unwrap();

    let page_ids = |hits: &skep_store::Hits| {
        hits.documents
            .iter()
            .map(|d| d.id.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!((first.total, first.documents.len()), (25, 10));
    assert_eq!(page_ids(&first)[0], "p00");
    assert_eq!(
        page_ids(&middle),
        strings(&["p10", "p11", "p12", "p13", "p14"])
    );
    assert_eq!(middle.total, 25);
    assert_eq!(
        page_ids(&last),
        strings(&["p20", "p21", "p22", "p23", "p24"])
    );
    assert_eq!((beyond.total, beyond.documents.len()), (25, 0));
    assert_eq!(all.documents.len(), 25);
    assert_eq!(even.total, 13);
    assert_eq!(page_ids(&even), strings(&["p04", "p06", "p08"]));
}

pub async fn count_counts_matching_documents(store: &dyn Store) {
    let kind = kind("count");
    seed_cases(store, &kind).await;

    assert_eq!(store.count(&kind, &Query::All).await.unwrap(), 5);
    assert_eq!(
        store
            .count(&kind, &parse(json!({"status": "Open"})))
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        store
            .count(&kind, &parse(json!({"status": "Nope"})))
            .await
            .unwrap(),
        0
    );
}

// ----------------------------------------------------------------------------------------------
// Aggregations

pub async fn count_aggregations_count_with_their_own_query_and_name(store: &dyn Store) {
    let kind = kind("agg_count");
    seed_cases(store, &kind).await;

    let result = stats(
        store,
        &kind,
        json!({"_not": {"status": "Deleted"}}),
        json!([
            {"_agg": "count"},
            {"_agg": "count", "_name": "open", "_query": {"status": "Open"}}
        ]),
    )
    .await;

    assert_eq!(result, json!({"count": 4, "open": 2}));
}

pub async fn metric_aggregations_compute_over_matching_documents(store: &dyn Store) {
    let kind = kind("agg_metric");
    seed_cases(store, &kind).await;

    let result = stats(store, &kind, json!({"_not": {"status": "Deleted"}}), json!([
        {"_agg": "avg", "_field": "severity"},
        {"_agg": "min", "_field": "severity"},
        {"_agg": "max", "_field": "severity"},
        {"_agg": "sum", "_field": "severity"},
        {"_agg": "max", "_field": "customFields.cvss.number", "_name": "worst"},
        {"_agg": "sum", "_field": "severity", "_name": "open_severity", "_query": {"status": "Open"}},
        {"_agg": "avg", "_field": "nosuchfield"}
    ])).await;

    assert_eq!(number(&result["avg_severity"]), 2.0);
    assert_eq!(number(&result["min_severity"]), 1.0);
    assert_eq!(number(&result["max_severity"]), 3.0);
    assert_eq!(number(&result["sum_severity"]), 8.0);
    assert_eq!(number(&result["worst"]), 7.5);
    assert_eq!(number(&result["open_severity"]), 4.0);
    assert_eq!(number(&result["avg_nosuchfield"]), 0.0);
}

pub async fn field_aggregations_bucket_terms_with_size_order_and_sub_aggregations(
    store: &dyn Store,
) {
    let kind = kind("agg_terms");
    seed_cases(store, &kind).await;

    let by_count = stats(
        store,
        &kind,
        json!({}),
        json!([
            {"_agg": "field", "_field": "status", "_select": [{"_agg": "count"}]},
            {"_agg": "count"}
        ]),
    )
    .await;
    let top_one = stats(
        store,
        &kind,
        json!({}),
        json!([
            {"_agg": "field", "_field": "status", "_size": 1, "_select": [{"_agg": "count"}]}
        ]),
    )
    .await;
    let by_term = stats(
        store,
        &kind,
        json!({}),
        json!([
            {"_agg": "field", "_field": "tags", "_order": ["_term"], "_size": 2, "_name": "tags",
             "_select": [{"_agg": "count"}, {"_agg": "max", "_field": "severity"}]}
        ]),
    )
    .await;

    assert_eq!(
        by_count,
        json!({"Open": {"count": 2}, "Resolved": {"count": 1},
        "open": {"count": 1}, "Deleted": {"count": 1}, "count": 5})
    );
    assert_eq!(top_one, json!({"Open": {"count": 2}}));
    let tags = by_term["tags"].as_object().unwrap();
    assert_eq!(tags.keys().collect::<Vec<_>>(), vec!["mail", "malware"]);
    assert_eq!(tags["mail"]["count"], json!(1));
    assert_eq!(number(&tags["malware"]["max_severity"]), 2.0);
}

pub async fn field_aggregation_keys_are_strings_for_numbers_and_booleans(store: &dyn Store) {
    let kind = kind("agg_keys");
    seed_cases(store, &kind).await;

    let result = stats(
        store,
        &kind,
        json!({}),
        json!([
            {"_agg": "field", "_field": "severity", "_select": [{"_agg": "count"}]},
            {"_agg": "field", "_field": "flag", "_name": "flags", "_select": [{"_agg": "count"}]}
        ]),
    )
    .await;

    assert_eq!(
        result,
        json!({
            "1": {"count": 1}, "2": {"count": 2}, "3": {"count": 1}, "4": {"count": 1},
            "flags": {"1": {"count": 1}, "0": {"count": 1}}
        })
    );
}

pub async fn time_aggregations_bucket_dates_by_calendar_interval(store: &dyn Store) {
    let kind = kind("agg_time");
    let day = 86_400_000_i64;
    // 2020-09-07 (a Monday) 00:00 UTC.
    let monday = 1_599_436_800_000_i64;
    for (id, at) in [
        ("a", monday + 3_600_000),
        ("b", monday + 2 * day),
        ("c", monday + 8 * day),
        ("d", monday + 40 * day),
    ] {
        put(store, &kind, id, json!({"createdAt": at, "severity": 2})).await;
    }

    let weekly = stats(store, &kind, json!({}), json!([
        {"_agg": "time", "_fields": ["createdAt"], "_interval": "1w", "_select": [{"_agg": "count"}]}
    ])).await;
    let monthly = stats(
        store,
        &kind,
        json!({}),
        json!([
            {"_agg": "time", "_fields": ["createdAt"], "_interval": "1M", "_name": "months",
             "_select": [{"_agg": "sum", "_field": "severity"}]}
        ]),
    )
    .await;

    let week = |offset_days: i64| (monday + offset_days * day).to_string();
    let weekly = weekly.as_object().unwrap();
    assert_eq!(weekly[&week(0)], json!({"createdAt": {"count": 2}}));
    assert_eq!(weekly[&week(7)], json!({"createdAt": {"count": 1}}));
    assert_eq!(weekly[&week(35)], json!({"createdAt": {"count": 1}}));
    let non_empty = weekly
        .values()
        .filter(|bucket| bucket["createdAt"]["count"].as_u64().unwrap_or(0) > 0)
        .count();
    assert_eq!(non_empty, 3);
    // 2020-09-01 and 2020-10-01, 00:00 UTC.
    let months = monthly["months"].as_object().unwrap();
    assert_eq!(
        number(&months["1598918400000"]["createdAt"]["sum_severity"]),
        6.0
    );
    assert_eq!(
        number(&months["1601510400000"]["createdAt"]["sum_severity"]),
        2.0
    );
}

pub async fn category_aggregations_run_each_named_query(store: &dyn Store) {
    let kind = kind("agg_category");
    seed_cases(store, &kind).await;

    let result = stats(
        store,
        &kind,
        json!({}),
        json!([
            {"_agg": "category", "_categories": {
                "urgent": {"_gte": {"severity": 3}},
                "calm": {"_lt": {"severity": 3}}
            }, "_select": [{"_agg": "count"}]}
        ]),
    )
    .await;

    assert_eq!(
        result,
        json!({"urgent": {"count": 2}, "calm": {"count": 3}})
    );
}

pub async fn top_aggregations_list_the_first_documents_in_order(store: &dyn Store) {
    let kind = kind("agg_top");
    seed_cases(store, &kind).await;

    let result = stats(
        store,
        &kind,
        json!({"_not": {"status": "Deleted"}}),
        json!([
            {"_agg": "top", "_size": 2, "_order": ["-severity"]}
        ]),
    )
    .await;

    let top = result["top"].as_array().unwrap();
    assert_eq!(top.len(), 2);
    assert_eq!(top[0]["_id"], json!("c"));
    assert_eq!(top[0]["title"], json!("Second phishing wave"));
    assert_eq!(top[1]["severity"], json!(2));
}

// ----------------------------------------------------------------------------------------------
// Text and size

pub async fn unicode_round_trips_and_is_searchable(store: &dyn Store) {
    let kind = kind("unicode");
    put(
        store,
        &kind,
        "ü",
        json!({"title": "Café à Zürich", "tag": "日本語", "emoji": "🚨 alerte"}),
    )
    .await;
    put(
        store,
        &kind,
        "plain",
        json!({"title": "plain text", "tag": "ascii"}),
    )
    .await;

    assert_eq!(
        store.get(&kind, "ü").await.unwrap().body["emoji"],
        json!("🚨 alerte")
    );
    assert_eq!(
        ids(store, &kind, json!({"tag": "日本語"})).await,
        strings(&["ü"])
    );
    assert_eq!(
        ids(store, &kind, json!({"_id": "ü"})).await,
        strings(&["ü"])
    );
    assert_eq!(
        ids(
            store,
            &kind,
            json!({"_like": {"_field": "title", "_value": "café"}})
        )
        .await,
        strings(&["ü"])
    );
    assert_eq!(
        ids(store, &kind, json!({"_string": "zürich"})).await,
        strings(&["ü"])
    );
    assert_eq!(
        ids(
            store,
            &kind,
            json!({"_wildcard": {"_field": "title", "_value": "Caf? *"}})
        )
        .await,
        strings(&["ü"])
    );
}

pub async fn one_mebibyte_documents_round_trip_and_are_searchable(store: &dyn Store) {
    let kind = kind("large");
    let mut text = String::with_capacity(1 << 20);
    while text.len() < (1 << 20) {
        text.push_str("lorem ipsum dolor sit amet ");
    }
    text.push_str("needle");
    let body = json!({"title": "big", "content": text});

    put(store, &kind, "big", body.clone()).await;
    put(store, &kind, "small", json!({"title": "small"})).await;

    assert_eq!(
        Value::Object(store.get(&kind, "big").await.unwrap().body),
        body
    );
    assert_eq!(
        ids(store, &kind, json!({"title": "big"})).await,
        strings(&["big"])
    );
    assert_eq!(
        ids(store, &kind, json!({"_string": "needle"})).await,
        strings(&["big"])
    );
}

pub async fn searching_an_unknown_kind_finds_nothing(store: &dyn Store) {
    let kind = kind("never_written");

    let hits = store
        .search(&kind, &Query::All, Page::ALL, &[])
        .await
        .unwrap();

    assert_eq!((hits.total, hits.documents.len()), (0, 0));
    assert_eq!(store.count(&kind, &Query::All).await.unwrap(), 0);
    assert!(matches!(
        store.get(&kind, "x").await,
        Err(StoreError::NotFound { .. })
    ));
}
