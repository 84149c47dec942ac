//! Conformance cases: Sorting, paging and counting.

use super::*;

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

pub async fn large_sorted_results_page_in_order_with_missing_values_last(store: &dyn Store) {
    let kind = kind("large_sort");
    // 400 documents: unique values of `n` in a shuffled order, every tenth without `n`, and
    // every twentieth outside the filter.
    let documents = (0..400)
        .map(|i: u64| {
            let mut body = json!({"group": if i % 20 == 7 { "out" } else { "in" }});
            if !i.is_multiple_of(10) {
                body["n"] = json!((i * 37) % 400);
            }
            with_id(&format!("s{i:03}"), body)
        })
        .collect();
    store.put_many(&kind, documents).await.unwrap();
    let filter = parse(json!({"group": "in"}));
    let mut valued: Vec<(u64, String)> = (0..400_u64)
        .filter(|i| i % 20 != 7 && !i.is_multiple_of(10))
        .map(|i| ((i * 37) % 400, format!("s{i:03}")))
        .collect();
    valued.sort();
    let ascending: Vec<String> = valued.iter().map(|(_, id)| id.clone()).collect();
    let descending: Vec<String> = ascending.iter().rev().cloned().collect();
    let missing: std::collections::BTreeSet<String> = (0..400_u64)
        .filter(|i| i.is_multiple_of(10))
        .map(|i| format!("s{i:03}"))
        .collect();

    for (sort, expected) in [("n", &ascending), ("-n", &descending)] {
        let sort = Sort::parse_list([sort]);
        let window = |offset: u64, limit: u64| Page {
            offset,
            limit: Some(limit),
        };
        let first = store
            .search(&kind, &filter, window(0, 10), &sort)
            .await
            .unwrap();
        let middle = store
            .search(&kind, &filter, window(150, 10), &sort)
            .await
            .unwrap();
        let edge = store
            .search(&kind, &filter, window(335, 20), &sort)
            .await
            .unwrap();
        let page_ids = |hits: &skep_store::Hits| {
            hits.documents
                .iter()
                .map(|document| document.id.clone())
                .collect::<Vec<_>>()
        };

        assert_eq!(first.total, 380);
        assert_eq!(page_ids(&first), expected[..10].to_vec());
        assert_eq!(page_ids(&middle), expected[150..160].to_vec());
        let edge = page_ids(&edge);
        assert_eq!(edge.len(), 20);
        assert_eq!(edge[..5].to_vec(), expected[335..340].to_vec());
        assert!(edge[5..].iter().all(|id| missing.contains(id)), "{edge:?}");
    }
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
