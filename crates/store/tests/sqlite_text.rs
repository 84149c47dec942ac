//! The SQLite store's full-text index in its own file: it stays in step with the documents
//! across restarts, catches up on what it missed, and is rebuilt when it cannot be trusted.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::Connection;
use serde_json::{Map, Value, json};
use skep_store::sqlite::SqliteStore;
use skep_store::{DeleteMode, NewDocument, Page, Query, Store};

fn body(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

async fn put(store: &SqliteStore, id: &str, value: Value) {
    store
        .put(
            "case",
            NewDocument {
                id: Some(id.to_owned()),
                parent: None,
                body: body(value),
            },
        )
        .await
        .unwrap();
}

/// Ids of the cases whose text holds `words`, sorted.
async fn found(store: &SqliteStore, words: &str) -> Vec<String> {
    let query = Query::parse(&json!({"_string": words})).unwrap();
    let hits = store.search("case", &query, Page::ALL, &[]).await.unwrap();
    let mut ids: Vec<String> = hits.documents.into_iter().map(|hit| hit.id).collect();
    ids.sort();
    ids
}

/// A new store in its own folder (kept while the folder lives), and its file's path.
async fn fresh() -> (tempfile::TempDir, PathBuf, SqliteStore) {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("skep.db");
    let store = SqliteStore::open(&path).await.unwrap();
    (directory, path, store)
}

fn text_file(path: &Path) -> PathBuf {
    with_suffix(path, "-text")
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// The files of this process open in `folder`.
fn open_files(folder: &Path) -> Vec<PathBuf> {
    let folder = folder.to_string_lossy().into_owned();
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .flatten()
        .filter_map(|entry| std::fs::read_link(entry.path()).ok())
        .filter(|target| target.to_string_lossy().contains(&folder))
        .collect()
}

/// Drops the store and waits until its threads have closed every file of it. (A left-over
/// write-ahead log says nothing: when two connections close at once, neither removes it.)
async fn close(store: SqliteStore, path: &Path) {
    drop(store);
    let folder = path.parent().unwrap();
    for _ in 0..600 {
        if open_files(folder).is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let threads: Vec<String> = std::fs::read_dir("/proc/self/task")
        .unwrap()
        .flatten()
        .filter_map(|entry| std::fs::read_to_string(entry.path().join("comm")).ok())
        .map(|name| name.trim().to_owned())
        .collect();
    panic!(
        "not closed after 30 s; open: {:?}; threads: {threads:?}",
        open_files(folder)
    );
}

/// Removes the text file, with its log and shared-memory file if a shutdown left them.
fn remove_text_file(path: &Path) {
    let text = text_file(path);
    std::fs::remove_file(&text).unwrap();
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(with_suffix(&text, suffix));
    }
}

fn main_value(path: &Path, sql: &str) -> i64 {
    Connection::open(path)
        .unwrap()
        .query_row(sql, [], |row| row.get(0))
        .unwrap()
}

fn row_of(path: &Path, id: &str) -> i64 {
    Connection::open(path)
        .unwrap()
        .query_row("SELECT row FROM documents WHERE id = ?1", [id], |row| {
            row.get(0)
        })
        .unwrap()
}

/// Runs the SQL `script` makes of the main file's last group number on the text file.
fn on_text_file(path: &Path, script: impl Fn(i64) -> String) {
    let counter = main_value(path, "SELECT value FROM meta WHERE key = 'text_group'");
    Connection::open(text_file(path))
        .unwrap()
        .execute_batch(&script(counter))
        .unwrap();
}

#[tokio::test]
async fn full_text_lives_in_its_own_file_and_survives_reopening() {
    let (_folder, path, store) = fresh().await;
    put(&store, "a", json!({"title": "alpha phishing"})).await;
    put(&store, "b", json!({"title": "bravo malware"})).await;
    store.delete("case", "b", DeleteMode::Hard).await.unwrap();
    close(store, &path).await;

    assert!(text_file(&path).exists());
    assert_eq!(
        main_value(
            &path,
            "SELECT count(*) FROM sqlite_master WHERE name = 'full_text'"
        ),
        0,
        "the main file holds no full-text index"
    );
    let store = SqliteStore::open(&path).await.unwrap();
    assert_eq!(
        main_value(&path, "SELECT count(*) FROM text_queue"),
        0,
        "an index level with the documents leaves nothing queued"
    );
    assert_eq!(found(&store, "phishing").await, ["a"]);
    assert!(found(&store, "bravo").await.is_empty());
}

#[tokio::test]
async fn the_queue_of_text_changes_is_emptied_as_commits_reach_the_disk() {
    let (_folder, path, store) = fresh().await;
    for number in 0..50 {
        put(
            &store,
            &format!("c{number}"),
            json!({"title": format!("case {number}")}),
        )
        .await;
    }
    assert!(main_value(&path, "SELECT count(*) FROM text_queue") > 0);
    // The text log is synced at most every 200 ms, after a write; a write after that sync
    // removes what it covered.
    let mut queued = i64::MAX;
    let mut writes = 50;
    while queued > 1 && writes < 90 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        put(&store, &format!("c{writes}"), json!({"title": "late case"})).await;
        writes += 1;
        queued = main_value(&path, "SELECT count(*) FROM text_queue");
    }
    assert!(
        queued <= 1,
        "{queued} rows still queued after {writes} writes"
    );
    assert_eq!(found(&store, "case").await.len(), writes);
}

#[tokio::test]
async fn a_text_file_behind_the_documents_catches_up_when_the_store_opens() {
    let (_folder, path, store) = fresh().await;
    put(&store, "a", json!({"title": "alpha"})).await;
    put(&store, "b", json!({"title": "bravo"})).await;
    let mut changed = body(json!({"title": "charlie"}));
    changed.insert("note".into(), json!("delta"));
    store.update("case", "a", None, changed).await.unwrap();
    close(store, &path).await;

    // As if the process had stopped between the two commits of the last write: the text file
    // still has the old text of `a` and has not applied the last group.
    let row = row_of(&path, "a");
    on_text_file(&path, |counter| {
        format!(
            "DELETE FROM full_text WHERE rowid = {row};
             INSERT INTO full_text (rowid, text) VALUES ({row}, 'alpha');
             UPDATE text_state SET applied = {counter} - 1;"
        )
    });

    let store = SqliteStore::open(&path).await.unwrap();
    assert_eq!(found(&store, "charlie delta").await, ["a"]);
    assert!(found(&store, "alpha").await.is_empty());
    assert_eq!(found(&store, "bravo").await, ["b"]);
}

#[tokio::test]
async fn a_text_file_ahead_of_the_documents_is_rebuilt() {
    let (_folder, path, store) = fresh().await;
    put(&store, "a", json!({"title": "alpha"})).await;
    put(&store, "b", json!({"title": "bravo"})).await;
    close(store, &path).await;

    // As if a power cut had kept a text commit whose documents' commit was lost.
    let row = row_of(&path, "b");
    on_text_file(&path, |counter| {
        format!(
            "INSERT INTO full_text (rowid, text) VALUES ({row}, 'zulu');
             UPDATE text_state SET applied = {counter} + 1;"
        )
    });

    let store = SqliteStore::open(&path).await.unwrap();
    assert!(found(&store, "zulu").await.is_empty());
    assert_eq!(found(&store, "alpha").await, ["a"]);
    assert_eq!(found(&store, "bravo").await, ["b"]);
}

#[tokio::test]
async fn a_text_file_split_into_words_under_an_older_rule_is_rebuilt() {
    let (_folder, path, store) = fresh().await;
    put(&store, "a", json!({"title": "urgent🤯 mail"})).await;
    put(&store, "b", json!({"title": "bravo"})).await;
    close(store, &path).await;

    // As a file written before the text was split at newer emoji: the tokenizer got the title
    // as it is, and the file recorded no rule.
    let row = row_of(&path, "a");
    on_text_file(&path, |_| {
        format!(
            "DELETE FROM full_text WHERE rowid = {row};
             INSERT INTO full_text (rowid, text) VALUES ({row}, 'urgent🤯 mail');
             DROP TABLE text_words;"
        )
    });

    let store = SqliteStore::open(&path).await.unwrap();
    assert_eq!(found(&store, "urgent").await, ["a"]);
    assert_eq!(found(&store, "bravo").await, ["b"]);
    close(store, &path).await;
    let stamp: String = Connection::open(text_file(&path))
        .unwrap()
        .query_row("SELECT stamp FROM text_words", [], |row| row.get(0))
        .unwrap();
    assert!(stamp.starts_with("rule 1, unicode "), "{stamp}");
}

#[tokio::test]
async fn a_rebuilt_text_file_leaves_out_the_unindexed_fields_last_declared() {
    let (_folder, path, store) = fresh().await;
    store.set_unindexed("case", &["snapshot"]);
    put(
        &store,
        "a",
        json!({"title": "alpha", "snapshot": {"title": "hidden words"}}),
    )
    .await;
    assert!(found(&store, "hidden").await.is_empty());
    close(store, &path).await;
    remove_text_file(&path);

    // Rebuilt when the store opens, before any declaration is made again.
    let store = SqliteStore::open(&path).await.unwrap();
    assert_eq!(found(&store, "alpha").await, ["a"]);
    assert!(found(&store, "hidden").await.is_empty());

    // A kind that declares nothing any more is recorded so, and indexed whole next time.
    store.set_unindexed("case", &[]);
    put(&store, "b", json!({"title": "bravo"})).await;
    close(store, &path).await;
    assert_eq!(
        main_value(
            &path,
            "SELECT count(*) FROM meta WHERE key LIKE 'unindexed:%'"
        ),
        0
    );
    remove_text_file(&path);
    let store = SqliteStore::open(&path).await.unwrap();
    assert_eq!(found(&store, "hidden").await, ["a"]);
}

#[tokio::test]
async fn a_missing_text_file_is_rebuilt_from_the_documents() {
    let (_folder, path, store) = fresh().await;
    put(
        &store,
        "a",
        json!({"title": "alpha", "nested": {"words": ["echo"]}}),
    )
    .await;
    put(&store, "b", json!({"title": "bravo"})).await;
    store.delete("case", "b", DeleteMode::Soft).await.unwrap();
    close(store, &path).await;
    remove_text_file(&path);

    let store = SqliteStore::open(&path).await.unwrap();
    assert_eq!(found(&store, "alpha echo").await, ["a"]);
    assert!(found(&store, "bravo").await.is_empty());
    // A soft-deleted case comes back with its text.
    store.restore("case", "b").await.unwrap();
    assert_eq!(found(&store, "bravo").await, ["b"]);
}

/// A text write that fails while the store runs (here: the text file locked by someone else for
/// longer than the store's 10 s busy timeout) is replayed from the queue: the write still
/// succeeds, and its text is searchable once the file can be written again.
#[tokio::test]
async fn a_failed_text_write_is_replayed_from_the_queue() {
    let (_folder, path, store) = fresh().await;
    put(&store, "a", json!({"title": "alpha"})).await;

    let locker = Connection::open(text_file(&path)).unwrap();
    locker.execute_batch("BEGIN IMMEDIATE").unwrap();
    let release = tokio::spawn(async move {
        // Past the text thread's first attempt (10 s), well before its replay gives up.
        tokio::time::sleep(Duration::from_secs(13)).await;
        locker.execute_batch("ROLLBACK").unwrap();
    });
    put(&store, "b", json!({"title": "bravo"})).await;
    release.await.unwrap();

    assert_eq!(found(&store, "bravo").await, ["b"]);
    assert_eq!(found(&store, "alpha").await, ["a"]);
    put(&store, "c", json!({"title": "charlie"})).await;
    assert_eq!(found(&store, "charlie").await, ["c"]);
}

/// While the full-text index is behind the documents (its write and the replay right after it
/// both failed), exact matches and `_like` on long strings, which the index normally narrows,
/// still find the new document: they read the bodies instead.
#[tokio::test]
async fn long_strings_are_found_while_the_text_index_is_behind() {
    use skep_store::{Page, Query, Store};
    let (_folder, path, store) = fresh().await;
    let long = |word: &str| format!("{word} ") + &"words of a long description ".repeat(6);
    put(&store, "a", json!({"description": long("alpha")})).await;

    let locker = Connection::open(text_file(&path)).unwrap();
    locker.execute_batch("BEGIN IMMEDIATE").unwrap();
    // Returns once the text write (10 s) and its replay (10 s more) have given up.
    put(&store, "b", json!({"description": long("bravo")})).await;

    let search = |query: Value| {
        let store = store.clone();
        async move {
            let query = Query::parse(&query).unwrap();
            let hits = store.search("case", &query, Page::ALL, &[]).await.unwrap();
            hits.documents
                .into_iter()
                .map(|document| document.id)
                .collect::<Vec<_>>()
        }
    };
    assert!(
        found(&store, "bravo").await.is_empty(),
        "the index is behind"
    );
    assert_eq!(search(json!({"description": long("bravo")})).await, ["b"]);
    assert_eq!(
        search(json!({"_like": {"_field": "description", "_value": "bravo"}})).await,
        ["b"]
    );
    locker.execute_batch("ROLLBACK").unwrap();
    drop(locker);

    // The next write replays the queue; the index narrows again.
    put(&store, "c", json!({"description": long("charlie")})).await;
    assert_eq!(found(&store, "bravo").await, ["b"]);
    assert_eq!(search(json!({"description": long("bravo")})).await, ["b"]);
}
