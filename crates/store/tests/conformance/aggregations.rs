//! Conformance cases: Every `_stats` aggregation.

use super::*;

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
