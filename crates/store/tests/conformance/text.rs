//! Conformance cases: Unicode and large documents.

use super::*;

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

pub async fn unindexed_fields_are_stored_but_never_found(store: &dyn Store) {
    let kind = kind("unindexed");
    store.set_unindexed(&kind, &["snapshot", "extra.raw"]);
    let body = json!({
        "title": "kept", "extra": {"raw": "hidden", "shown": "visible"},
        "snapshot": {"title": "zanzibar", "n": 5, "list": [{"deep": "zanzibar"}]},
    });
    put(store, &kind, "a", body.clone()).await;

    let read = store.get(&kind, "a").await.unwrap();
    assert_eq!(Value::Object(read.body.clone()), body, "stored whole");
    assert_eq!(ids(store, &kind, json!({"title": "kept"})).await, ["a"]);
    assert_eq!(
        ids(store, &kind, json!({"extra.shown": "visible"})).await,
        ["a"]
    );
    for hidden in [
        json!({"snapshot.title": "zanzibar"}),
        json!({"snapshot.list.deep": "zanzibar"}),
        json!({"extra.raw": "hidden"}),
        json!({"_contains": "snapshot.n"}),
        json!({"_string": "zanzibar"}),
        json!({"_string": "hidden"}),
    ] {
        assert!(
            ids(store, &kind, hidden.clone()).await.is_empty(),
            "{hidden}"
        );
    }
    let aggregations = Aggregation::parse_list(&json!([
        {"_agg": "field", "_field": "snapshot.title"},
        {"_agg": "field", "_field": "title"},
    ]))
    .unwrap();
    let stats = store
        .aggregate(&kind, &Query::All, &aggregations)
        .await
        .unwrap();
    assert_eq!(Value::Object(stats), json!({"kept": {}}));

    // An update is indexed the same way, and a new value of an indexed field is found.
    let mut changed = read.body;
    changed.insert("title".into(), json!("changed"));
    changed.insert("snapshot".into(), json!({"title": "elsewhere"}));
    store.update(&kind, "a", None, changed).await.unwrap();
    assert_eq!(ids(store, &kind, json!({"title": "changed"})).await, ["a"]);
    assert!(ids(store, &kind, json!({"title": "kept"})).await.is_empty());
    assert!(
        ids(store, &kind, json!({"snapshot.title": "elsewhere"}))
            .await
            .is_empty()
    );
}
