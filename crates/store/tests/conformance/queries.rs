//! Conformance cases: Every operator of the query DSL.

use super::*;

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
