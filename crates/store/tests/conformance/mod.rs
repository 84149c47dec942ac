//! The store conformance suite, written once and run against every backend.
//!
//! Each case is `pub async fn <sentence>(store: &dyn Store)` and writes only under kinds named
//! after itself (`c_<case>`…), so cases can share one database or cluster and run in parallel.
//! A backend's test binary runs them all with
//! `mod conformance; conformance_suite!(open_fn);` where `open_fn` is an
//! `async fn() -> (Arc<dyn Store>, Box<dyn Any + Send>)` (the box is a guard such as a
//! `TempDir`, kept alive for the test), optionally followed by an attribute for every test:
//! `conformance_suite!(open_fn, #[ignore = "needs ELASTICSEARCH_URL"]);`.
// Cases are test code called from `#[tokio::test]` functions the macro generates elsewhere, so
// clippy's test exemption for unwrap does not see them.
#![allow(clippy::unwrap_used)]
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
            large_put_many_answers_in_order_with_duplicates_failing_alone,
            concurrent_writes_succeed_or_fail_each_on_their_own,
            getting_a_missing_document_is_not_found,
            the_same_id_in_two_kinds_names_two_documents,
            update_replaces_the_body_and_advances_the_version,
            an_update_finds_kept_changed_and_repeated_values_where_the_new_body_has_them,
            update_with_a_stale_version_is_a_conflict_and_changes_nothing,
            updating_a_missing_document_is_not_found,
            soft_delete_hides_a_document_until_it_is_restored,
            hard_delete_removes_a_document_for_good,
            delete_by_query_removes_only_matching_documents,
            delete_by_query_takes_full_text_queries,
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
            large_sorted_results_page_in_order_with_missing_values_last,
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
            words_end_at_emoji_and_signs_newer_than_the_tokenizer,
            words_split_at_dots_at_signs_and_apostrophes_and_full_text_folds_accents,
            one_mebibyte_documents_round_trip_and_are_searchable,
            long_strings_match_sort_and_bucket_like_short_ones,
            many_documents_sort_on_long_and_short_strings,
            searching_an_unknown_kind_finds_nothing,
            unindexed_fields_are_stored_but_never_found,
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

mod aggregations;
mod documents;
mod ordering;
mod queries;
mod text;

pub use aggregations::*;
pub use documents::*;
pub use ordering::*;
pub use queries::*;
pub use text::*;

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
