//! Conformance cases: Creating, reading, updating and deleting documents.

use super::*;

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

/// Batches of hundreds (which a backend may prepare and write in parts) answer the same way.
pub async fn large_put_many_answers_in_order_with_duplicates_failing_alone(store: &dyn Store) {
    let kind = kind("put_many_large");
    put(store, &kind, "d007", json!({"n": -1})).await;
    let documents = (0..450)
        .map(|n| match n {
            // One id taken before, one repeated within the batch, one generated.
            230 => with_id("d120", json!({"n": n})),
            300 => new(json!({"n": n})),
            n => with_id(&format!("d{n:03}"), json!({"n": n})),
        })
        .collect();

    let results = store.put_many(&kind, documents).await.unwrap();

    assert_eq!(results.len(), 450);
    for (n, result) in results.iter().enumerate() {
        match n {
            7 | 230 => assert!(result.as_ref().unwrap_err().is_duplicate(), "{n}"),
            n => assert_eq!(result.as_ref().unwrap().body["n"], json!(n), "{n}"),
        }
    }
    assert_eq!(store.count(&kind, &Query::All).await.unwrap(), 449);
    assert_eq!(store.get(&kind, "d007").await.unwrap().body["n"], json!(-1));
    assert_eq!(
        store.get(&kind, "d449").await.unwrap().body["n"],
        json!(449)
    );
}

pub async fn concurrent_writes_succeed_or_fail_each_on_their_own(store: &dyn Store) {
    // Backends may group concurrent writes (the SQLite writer commits them together): a
    // failing write must not take its neighbours down, and every success must be readable.
    let kind = kind("concurrent_writes");
    store
        .put(
            &kind,
            NewDocument {
                id: Some("taken".into()),
                ..new(json!({"n": 0}))
            },
        )
        .await
        .unwrap();

    let writes = (0..40).map(|n| {
        let id = if n % 4 == 0 {
            "taken".to_owned()
        } else {
            format!("doc-{n}")
        };
        let kind = kind.clone();
        async move {
            (
                n,
                store
                    .put(
                        &kind,
                        NewDocument {
                            id: Some(id),
                            ..new(json!({"n": n}))
                        },
                    )
                    .await,
            )
        }
    });
    let outcomes = futures_util::future::join_all(writes).await;

    for (n, outcome) in outcomes {
        if n % 4 == 0 {
            assert!(
                outcome.unwrap_err().is_duplicate(),
                "write {n} should be a duplicate"
            );
        } else {
            let created = outcome.unwrap();
            assert_eq!(
                store.get(&kind, &created.id).await.unwrap().body["n"],
                json!(n)
            );
        }
    }
    assert_eq!(store.count(&kind, &Query::All).await.unwrap(), 31);
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

pub async fn an_update_finds_kept_changed_and_repeated_values_where_the_new_body_has_them(
    store: &dyn Store,
) {
    let kind = kind("partial");
    let long = "a long description that stays the same, ".repeat(8);
    let body = |status: &str, tags: Value, severity: Value| {
        json!({"status": status, "tags": tags, "severity": severity, "description": long.clone(),
               "owner": {"name": "ann"}})
    };
    put(
        store,
        &kind,
        "p",
        body("Open", json!(["a", "b", "b"]), json!(2)),
    )
    .await;
    put(store, &kind, "q", body("Open", json!(["b"]), json!(2))).await;

    // Status and owner kept; one tag kept, a repeated one dropped once, one added; a number
    // becomes the same number as a float.
    store
        .update(
            &kind,
            "p",
            None,
            object(body("Open", json!(["b", "c", "c"]), json!(2.0))),
        )
        .await
        .unwrap();

    assert_eq!(
        ids(store, &kind, json!({"status": "Open"})).await,
        strings(&["p", "q"])
    );
    assert_eq!(
        ids(store, &kind, json!({"owner.name": "ann"})).await,
        strings(&["p", "q"])
    );
    assert_eq!(
        ids(store, &kind, json!({"tags": "a"})).await,
        Vec::<String>::new()
    );
    assert_eq!(
        ids(store, &kind, json!({"tags": "b"})).await,
        strings(&["p", "q"])
    );
    assert_eq!(
        ids(store, &kind, json!({"tags": "c"})).await,
        strings(&["p"])
    );
    assert_eq!(
        ids(store, &kind, json!({"severity": 2})).await,
        strings(&["p", "q"])
    );
    assert_eq!(
        ids(store, &kind, json!({"description": long.clone()})).await,
        strings(&["p", "q"])
    );

    // Then the kept values change too, and the document leaves them.
    store
        .update(
            &kind,
            "p",
            None,
            object(body("Closed", json!([]), json!(3))),
        )
        .await
        .unwrap();
    assert_eq!(
        ids(store, &kind, json!({"status": "Open"})).await,
        strings(&["q"])
    );
    assert_eq!(
        ids(store, &kind, json!({"tags": "b"})).await,
        strings(&["q"])
    );
    assert_eq!(
        ids(store, &kind, json!({"tags": "c"})).await,
        Vec::<String>::new()
    );
    assert_eq!(
        ids(store, &kind, json!({"severity": 3})).await,
        strings(&["p"])
    );
    assert_eq!(
        ids(store, &kind, json!({"status": "Closed"})).await,
        strings(&["p"])
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
    delete_the_two_matches_of(store, &kind, json!({"status": "Open"})).await;
    assert!(matches!(
        store.get(&kind, "a").await,
        Err(StoreError::NotFound { .. })
    ));
}

pub async fn delete_by_query_takes_full_text_queries(store: &dyn Store) {
    let kind = kind("delete_by_text");
    delete_the_two_matches_of(store, &kind, json!({"_string": "phishing"})).await;
}

/// Seeds the cases, deletes by `query` (which matches `a` and `c`) and checks only those went.
async fn delete_the_two_matches_of(store: &dyn Store, kind: &str, query: Value) {
    seed_cases(store, kind).await;

    let removed = store.delete_by_query(kind, &parse(query)).await.unwrap();

    assert_eq!(removed, 2);
    assert_eq!(ids(store, kind, json!({})).await, strings(&["b", "d", "e"]));
}
