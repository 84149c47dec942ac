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

/// Emoji and currency signs added to Unicode in the last decade end a word, as older ones do
/// ("🚨"): in short and long strings, for full text and `_like`.
pub async fn words_end_at_emoji_and_signs_newer_than_the_tokenizer(store: &dyn Store) {
    let kind = kind("newer_symbols");
    let long = format!(
        "{} the ninja🥷team asked for 100₽ and left",
        "padding words to make this a long string ".repeat(4)
    );
    put(
        store,
        &kind,
        "glued",
        json!({"title": "urgent🤯 mail", "description": long}),
    )
    .await;
    put(
        store,
        &kind,
        "apart",
        json!({"title": "urgent mail", "description": "nothing else"}),
    )
    .await;
    put(
        store,
        &kind,
        "other",
        json!({"title": "urgently", "description": "ninjas"}),
    )
    .await;

    for (query, expected) in [
        (json!({"_string": "urgent"}), vec!["apart", "glued"]),
        (json!({"_string": "team"}), vec!["glued"]),
        (json!({"_string": "100 ninja"}), vec!["glued"]),
        (
            json!({"_like": {"_field": "title", "_value": "urgent"}}),
            vec!["apart", "glued"],
        ),
        (
            json!({"_like": {"_field": "description", "_value": "ninja"}}),
            vec!["glued"],
        ),
        (
            json!({"_like": {"_field": "description", "_value": "team 100"}}),
            vec!["glued"],
        ),
    ] {
        assert_eq!(
            ids(store, &kind, query.clone()).await,
            strings(&expected),
            "{query}"
        );
    }
}

/// What a SOC searches for: domains, IP addresses, mail addresses, accented names, numbers,
/// CJK. Both backends split words at the same characters (dots, `@`, apostrophes), fold accents
/// for full text but not for `_like`, and give numbers to full text.
pub async fn words_split_at_dots_at_signs_and_apostrophes_and_full_text_folds_accents(
    store: &dyn Store,
) {
    let kind = kind("soc_words");
    put(
        store,
        &kind,
        "domain",
        json!({"title": "Beacon to evil.example.com", "ip": "10.1.2.3"}),
    )
    .await;
    put(
        store,
        &kind,
        "mail",
        json!({"title": "From Bob@Example.org", "note": "the dog's bowl"}),
    )
    .await;
    put(
        store,
        &kind,
        "accent",
        json!({"title": "Réunion à Zürich", "note": "Ærøskøbing"}),
    )
    .await;
    put(
        store,
        &kind,
        "number",
        json!({"title": "port scan", "port": 4444, "score": 7.5}),
    )
    .await;
    put(store, &kind, "cjk", json!({"title": "日本語 テキスト"})).await;

    for (query, expected) in [
        (json!({"_string": "example"}), vec!["domain", "mail"]),
        (json!({"_string": "evil.example.com"}), vec!["domain"]),
        (json!({"_string": "10.1.2.3"}), vec!["domain"]),
        (json!({"_string": "bob@example.org"}), vec!["mail"]),
        (json!({"_string": "dog"}), vec!["mail"]),
        (json!({"_string": "zurich"}), vec!["accent"]),
        (json!({"_string": "ZÜRICH réunion"}), vec!["accent"]),
        (json!({"_string": "4444"}), vec!["number"]),
        (json!({"_string": "日本語"}), vec!["cjk"]),
        (json!({"_string": "日本"}), vec![]),
        (
            json!({"_like": {"_field": "title", "_value": "example"}}),
            vec!["domain", "mail"],
        ),
        (
            json!({"_like": {"_field": "title", "_value": "COM evil"}}),
            vec!["domain"],
        ),
        (
            json!({"_like": {"_field": "note", "_value": "dog"}}),
            vec!["mail"],
        ),
        (
            json!({"_like": {"_field": "title", "_value": "zürich"}}),
            vec!["accent"],
        ),
        (
            json!({"_like": {"_field": "title", "_value": "zurich"}}),
            vec![],
        ),
        (
            json!({"_like": {"_field": "title", "_value": "テキスト"}}),
            vec!["cjk"],
        ),
        // Equality stays exact: the whole value, case and accents included.
        (json!({"ip": "10.1.2.3"}), vec!["domain"]),
        (json!({"ip": "10.1.2"}), vec![]),
    ] {
        assert_eq!(
            ids(store, &kind, query.clone()).await,
            strings(&expected),
            "{query}"
        );
    }
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
    // The same long text in an indexed field and in an unindexed one: only the indexed field
    // finds it (the full-text index knows the words, from the indexed field).
    let long = "the same long text in two fields of one alert, ".repeat(4);
    put(
        store,
        &kind,
        "b",
        json!({"description": long.clone(), "snapshot": {"description": long.clone()}}),
    )
    .await;
    assert_eq!(
        ids(store, &kind, json!({"description": long.clone()})).await,
        ["b"]
    );
    assert!(
        ids(store, &kind, json!({"snapshot.description": long.clone()}))
            .await
            .is_empty()
    );
    assert!(
        ids(
            store,
            &kind,
            json!({"_like": {"_field": "snapshot.description", "_value": "two fields"}})
        )
        .await
        .is_empty()
    );
    store
        .delete(&kind, "b", skep_store::DeleteMode::Hard)
        .await
        .unwrap();
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

/// Strings of a few hundred bytes (descriptions, messages, long URLs) answer every query as
/// short ones do, in the same field as short ones.
pub async fn long_strings_match_sort_and_bucket_like_short_ones(store: &dyn Store) {
    let kind = kind("long_strings");
    let sentence = |first: &str| {
        format!("{first} gamma delta, ") + &"some filler words about the case ".repeat(10)
    };
    let (alpha, beta) = (sentence("alpha"), sentence("beta"));
    let dashes = "-".repeat(300);
    assert!(alpha.len() > 300 && beta.len() > 300);
    put(
        store,
        &kind,
        "a",
        json!({"note": alpha, "title": beta, "n": 1}),
    )
    .await;
    put(
        store,
        &kind,
        "b",
        json!({"note": beta, "title": alpha, "n": 2}),
    )
    .await;
    put(
        store,
        &kind,
        "c",
        json!({"note": "short", "title": "short", "n": 3}),
    )
    .await;
    put(store, &kind, "d", json!({"note": [alpha, "short"], "n": 4})).await;
    put(
        store,
        &kind,
        "e",
        json!({"note": dashes, "title": dashes, "n": 5}),
    )
    .await;

    assert_eq!(
        ids(store, &kind, json!({"note": alpha})).await,
        strings(&["a", "d"])
    );
    assert_eq!(
        ids(store, &kind, json!({"note": dashes})).await,
        strings(&["e"])
    );
    assert_eq!(
        ids(
            store,
            &kind,
            json!({"_in": {"_field": "note", "_values": [beta, "short"]}})
        )
        .await,
        strings(&["b", "c", "d"])
    );
    // Another long string with the same words is not equal.
    let reworded = alpha.replacen("gamma delta", "delta gamma", 1);
    assert!(
        ids(store, &kind, json!({"note": reworded}))
            .await
            .is_empty()
    );
    assert!(
        ids(store, &kind, json!({"note": &alpha[..200]}))
            .await
            .is_empty()
    );
    assert_eq!(
        ids(store, &kind, json!({"_gte": {"note": "b"}})).await,
        strings(&["b", "c", "d"])
    );
    assert_eq!(
        ids(store, &kind, json!({"_lt": {"note": "b"}})).await,
        strings(&["a", "d", "e"])
    );
    assert_eq!(
        ids(
            store,
            &kind,
            json!({"_between": {"_field": "note", "_from": "alpha", "_to": "alphb"}})
        )
        .await,
        strings(&["a", "d"])
    );
    assert_eq!(
        ids(
            store,
            &kind,
            json!({"_like": {"_field": "note", "_value": "Delta ALPHA"}})
        )
        .await,
        strings(&["a", "d"])
    );
    // A word whose lower case is longer than itself (İ) is found in any case.
    let city = "Seen in İstanbul, ".to_owned() + &"then elsewhere ".repeat(20);
    put(store, &kind, "f", json!({"note": city})).await;
    assert_eq!(
        ids(
            store,
            &kind,
            json!({"_like": {"_field": "note", "_value": "İSTANBUL seen"}})
        )
        .await,
        strings(&["f"])
    );
    store.delete(&kind, "f", DeleteMode::Hard).await.unwrap();
    // No word at all: nothing matches, and nothing fails.
    assert!(
        ids(
            store,
            &kind,
            json!({"_like": {"_field": "note", "_value": "-- !!"}})
        )
        .await
        .is_empty()
    );
    assert_eq!(
        ids(
            store,
            &kind,
            json!({"_wildcard": {"_field": "note", "_value": "beta*case "}})
        )
        .await,
        strings(&["b"])
    );
    assert_eq!(
        ordered_ids(store, &kind, json!({}), &["+title"]).await,
        strings(&["e", "b", "a", "c", "d"])
    );
    assert_eq!(
        ordered_ids(store, &kind, json!({}), &["-title"]).await,
        strings(&["c", "a", "b", "e", "d"])
    );
    let buckets = stats(
        store,
        &kind,
        json!({}),
        json!([{"_agg": "field", "_field": "note", "_size": 10,
                "_select": [{"_agg": "count"}, {"_agg": "max", "_field": "n"}]}]),
    )
    .await;
    let buckets = buckets.as_object().unwrap();
    assert_eq!(buckets.len(), 4, "{buckets:?}");
    for (value, count, max) in [
        (&alpha, 2, 4.0),
        (&beta, 1, 2.0),
        (&"short".to_owned(), 2, 4.0),
        (&dashes, 1, 5.0),
    ] {
        assert_eq!(buckets[value.as_str()]["count"], json!(count), "{value}");
        assert_eq!(number(&buckets[value.as_str()]["max_n"]), max, "{value}");
    }

    // Updates and deletes take a long string's index entry with them.
    store
        .update(&kind, "a", None, object(json!({"note": "now short"})))
        .await
        .unwrap();
    store.delete(&kind, "d", DeleteMode::Hard).await.unwrap();
    assert!(ids(store, &kind, json!({"note": alpha})).await.is_empty());
    assert_eq!(
        ids(store, &kind, json!({"note": "now short"})).await,
        strings(&["a"])
    );
    assert_eq!(
        ids(
            store,
            &kind,
            json!({"_like": {"_field": "note", "_value": "gamma"}})
        )
        .await,
        strings(&["b"])
    );
}

/// Sorting hundreds of documents (enough for a store to sort from its index) on a field mixing
/// long and short strings, alone and after another key.
pub async fn many_documents_sort_on_long_and_short_strings(store: &dyn Store) {
    let kind = kind("long_sort");
    let label = |i: u64| {
        // Not in the order of `i`: the label starts with a shuffled number.
        let key = format!("{:03}", (i * 37) % 320);
        if i.is_multiple_of(3) {
            key + &" filler words of a long label".repeat(8)
        } else {
            key
        }
    };
    let group = |i: u64| if i.is_multiple_of(2) { "x" } else { "y" };
    let documents = (0..320)
        .map(|i| {
            with_id(
                &format!("s{i:03}"),
                json!({"label": label(i), "group": group(i)}),
            )
        })
        .collect();
    store.put_many(&kind, documents).await.unwrap();

    let mut by_label: Vec<(String, String)> =
        (0..320).map(|i| (label(i), format!("s{i:03}"))).collect();
    by_label.sort();
    let ascending: Vec<String> = by_label.iter().map(|(_, id)| id.clone()).collect();
    let descending: Vec<String> = ascending.iter().rev().cloned().collect();
    let mut grouped: Vec<(&str, std::cmp::Reverse<String>, String)> = (0..320)
        .map(|i| (group(i), std::cmp::Reverse(label(i)), format!("s{i:03}")))
        .collect();
    grouped.sort();
    let grouped: Vec<String> = grouped.into_iter().map(|(_, _, id)| id).collect();

    for (sort, expected) in [
        (vec!["+label"], &ascending),
        (vec!["-label"], &descending),
        (vec!["+group", "-label"], &grouped),
    ] {
        for (offset, limit) in [(0, 10), (150, 10), (310, 10)] {
            let hits = store
                .search(
                    &kind,
                    &Query::All,
                    Page {
                        offset,
                        limit: Some(limit),
                    },
                    &Sort::parse_list(sort.iter().copied()),
                )
                .await
                .unwrap();
            let ids: Vec<String> = hits
                .documents
                .into_iter()
                .map(|document| document.id)
                .collect();
            let (start, end) = (offset as usize, (offset + limit) as usize);
            assert_eq!(ids, expected[start..end], "{sort:?} at {offset}");
        }
    }
}
