//! The Elasticsearch backend: the shared conformance suite against the cluster named by
//! `ELASTICSEARCH_URL` (ignored without it, never reported as passed), and the checks that need
//! no cluster.
//!
//! ```text
//! ELASTICSEARCH_URL=http://localhost:9200 cargo test -p skep-store --test elasticsearch -- --include-ignored
//! ```
//! Optional: `ELASTICSEARCH_USERNAME`, `ELASTICSEARCH_PASSWORD`, `ELASTICSEARCH_CA_FILE`,
//! `ELASTICSEARCH_TLS_INSECURE=1`. Every opened store gets its own index prefix, so cases run in
//! parallel on one cluster; their indices are deleted when a case ends.

// A test crate: helpers outside `#[test]` functions (and the shared cases) may unwrap too.
#![allow(clippy::unwrap_used)]

mod conformance;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use elasticsearch::Elasticsearch;
use elasticsearch::auth::Credentials;
use elasticsearch::cert::{Certificate, CertificateValidation};
use elasticsearch::http::Url;
use elasticsearch::http::transport::{SingleNodeConnectionPool, TransportBuilder};
use elasticsearch::indices::IndicesDeleteParts;
use skep_store::elasticsearch::{ElasticStore, EsSettings};
use skep_store::{Store, StoreError};

/// Stores opened by this process so far (part of each index prefix).
static OPENED: AtomicUsize = AtomicUsize::new(0);

fn settings_from_env() -> EsSettings {
    let url = std::env::var("ELASTICSEARCH_URL")
        .expect("ELASTICSEARCH_URL names the cluster the conformance suite runs against");
    EsSettings {
        url,
        username: std::env::var("ELASTICSEARCH_USERNAME").ok(),
        password: std::env::var("ELASTICSEARCH_PASSWORD").ok(),
        index_prefix: format!(
            "skep-test-{}-{}",
            std::process::id(),
            OPENED.fetch_add(1, Ordering::Relaxed)
        ),
        tls_ca_file: std::env::var_os("ELASTICSEARCH_CA_FILE").map(Into::into),
        tls_insecure: std::env::var("ELASTICSEARCH_TLS_INSECURE")
            .is_ok_and(|value| value == "1" || value == "true"),
    }
}

/// Opens a store with a fresh index prefix on the cluster of `ELASTICSEARCH_URL`; the second
/// value deletes its indices when dropped.
async fn open_from_env() -> (Arc<dyn Store>, Box<dyn std::any::Any + Send>) {
    let settings = settings_from_env();
    let store = Arc::new(
        ElasticStore::open(&settings)
            .await
            .expect("the cluster answers"),
    );
    let cleanup = IndexCleanup {
        settings,
        store: store.clone(),
    };
    (store, Box::new(cleanup))
}

/// Deletes the indices a test store used.
struct IndexCleanup {
    settings: EsSettings,
    store: Arc<ElasticStore>,
}

impl Drop for IndexCleanup {
    fn drop(&mut self) {
        let names = self.store.indices_in_use();
        if names.is_empty() {
            return;
        }
        let settings = self.settings.clone();
        // Drop cannot await, and the test's runtime may be the one blocked here: a client of
        // its own, on a runtime of its own, on a thread of its own, does the deletion.
        let outcome = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(delete_indices(&settings, &names))
        })
        .join();
        if let Ok(Err(error)) = outcome {
            eprintln!("could not delete the test indices: {error:#}");
        }
    }
}

async fn delete_indices(settings: &EsSettings, names: &[String]) -> anyhow::Result<()> {
    let mut builder =
        TransportBuilder::new(SingleNodeConnectionPool::new(Url::parse(&settings.url)?));
    if let Some(username) = &settings.username {
        let password = settings.password.clone().unwrap_or_default();
        builder = builder.auth(Credentials::Basic(username.clone(), password));
    }
    if settings.tls_insecure {
        builder = builder.cert_validation(CertificateValidation::None);
    } else if let Some(path) = &settings.tls_ca_file {
        let certificate = Certificate::from_pem(&std::fs::read(path)?)?;
        builder = builder.cert_validation(CertificateValidation::Full(certificate));
    }
    let client = Elasticsearch::new(builder.build()?);
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    client
        .indices()
        .delete(IndicesDeleteParts::Index(&names))
        .send()
        .await?
        .error_for_status_code()?;
    Ok(())
}

conformance_suite!(open_from_env, #[ignore = "needs ELASTICSEARCH_URL"]);

/// A local port with nothing listening on it.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test]
async fn opening_a_cluster_nobody_answers_for_is_reported_unavailable() {
    let settings = EsSettings {
        url: format!("http://127.0.0.1:{}", closed_port()),
        ..EsSettings::default()
    };

    let error = ElasticStore::open(&settings).await.unwrap_err();

    assert!(matches!(error, StoreError::Unavailable(_)), "{error:?}");
}

#[tokio::test]
async fn opening_with_an_invalid_index_prefix_is_refused_with_the_rule() {
    let settings = EsSettings {
        index_prefix: "Skep Cases".into(),
        ..EsSettings::default()
    };

    let error = ElasticStore::open(&settings).await.unwrap_err();

    assert!(matches!(error, StoreError::Backend(_)), "{error:?}");
    assert!(format!("{:#}", anyhow::Error::new(error)).contains("lowercase letters"));
}

#[tokio::test]
async fn opening_with_a_missing_ca_file_names_the_file() {
    let settings = EsSettings {
        url: "https://127.0.0.1:9200".into(),
        tls_ca_file: Some("/nonexistent/skep-ca.pem".into()),
        ..EsSettings::default()
    };

    let error = ElasticStore::open(&settings).await.unwrap_err();

    assert!(format!("{:#}", anyhow::Error::new(error)).contains("/nonexistent/skep-ca.pem"));
}

#[tokio::test]
async fn opening_https_to_a_closed_port_builds_the_tls_client_and_is_unavailable() {
    let settings = EsSettings {
        url: format!("https://127.0.0.1:{}", closed_port()),
        ..EsSettings::default()
    };

    let error = ElasticStore::open(&settings).await.unwrap_err();

    assert!(matches!(error, StoreError::Unavailable(_)), "{error:?}");
}

// ----------------------------------------------------------------------------------------------
// How the store talks to a cluster, checked against a scripted stand-in: each request gets the
// next canned answer and is recorded. This pins paths, parameters and status handling; what
// Elasticsearch itself does with them is the live suite's job.

mod scripted {
    use std::collections::VecDeque;
    use std::sync::{Arc, Mutex};

    use serde_json::{Value, json};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    /// One request as the cluster received it.
    #[derive(Debug, Clone)]
    pub struct Request {
        pub method: String,
        pub target: String,
        pub body: String,
    }

    impl Request {
        pub fn json(&self) -> Value {
            serde_json::from_str(&self.body).unwrap()
        }

        pub fn path(&self) -> &str {
            self.target.split('?').next().unwrap()
        }

        pub fn has_parameter(&self, parameter: &str) -> bool {
            self.target
                .split_once('?')
                .is_some_and(|(_, query)| query.split('&').any(|pair| pair == parameter))
        }
    }

    pub struct Cluster {
        pub url: String,
        requests: Arc<Mutex<Vec<Request>>>,
    }

    impl Cluster {
        pub fn requests(&self) -> Vec<Request> {
            self.requests.lock().unwrap().clone()
        }
    }

    /// The answer to `GET /` that opening a store expects.
    pub fn info() -> (u16, Value) {
        (
            200,
            json!({"version": {"number": "8.15.0"}, "tagline": "You Know, for Search"}),
        )
    }

    /// The answer to creating an index.
    pub fn index_created() -> (u16, Value) {
        (200, json!({"acknowledged": true}))
    }

    pub async fn start(replies: Vec<(u16, Value)>) -> Cluster {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let replies = Arc::new(Mutex::new(VecDeque::from(replies)));
        let (recorded, scripted) = (requests.clone(), replies.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, recorded.clone(), scripted.clone()));
            }
        });
        Cluster { url, requests }
    }

    async fn serve(
        mut stream: TcpStream,
        requests: Arc<Mutex<Vec<Request>>>,
        replies: Arc<Mutex<VecDeque<(u16, Value)>>>,
    ) {
        let mut buffer = Vec::new();
        loop {
            let head_end = loop {
                if let Some(position) = buffer.windows(4).position(|window| window == b"\r\n\r\n") {
                    break position + 4;
                }
                if !read_more(&mut stream, &mut buffer).await {
                    return;
                }
            };
            let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
            let length = head
                .lines()
                .find_map(|line| {
                    let (name, value) = line.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse().unwrap())
                })
                .unwrap_or(0);
            while buffer.len() < head_end + length {
                if !read_more(&mut stream, &mut buffer).await {
                    return;
                }
            }
            let body = String::from_utf8_lossy(&buffer[head_end..head_end + length]).into_owned();
            buffer.drain(..head_end + length);
            let mut words = head.split_whitespace();
            let method = words.next().unwrap().to_owned();
            let target = words.next().unwrap().to_owned();
            requests.lock().unwrap().push(Request {
                method,
                target,
                body,
            });
            let (status, reply) = replies.lock().unwrap().pop_front().unwrap_or((
                500,
                json!({"error": {"type": "script_exhausted", "reason": "no answer scripted"}}),
            ));
            let text = reply.to_string();
            let response = format!(
                "HTTP/1.1 {status} Scripted\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{text}",
                text.len()
            );
            if stream.write_all(response.as_bytes()).await.is_err() {
                return;
            }
        }
    }

    async fn read_more(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> bool {
        let mut chunk = [0_u8; 16 * 1024];
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => false,
            Ok(read) => {
                buffer.extend_from_slice(&chunk[..read]);
                true
            }
        }
    }
}

fn settings_for(cluster: &scripted::Cluster) -> EsSettings {
    EsSettings {
        url: cluster.url.clone(),
        ..EsSettings::default()
    }
}

fn body(value: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    value.as_object().unwrap().clone()
}

/// Updates case `c1` expecting version 5 (term 1) on `cluster`, which must refuse it.
async fn update_c1_expecting_version_5(cluster: &scripted::Cluster) -> StoreError {
    let store = ElasticStore::open(&settings_for(cluster)).await.unwrap();
    let current = skep_store::Version {
        seq_no: 5,
        primary_term: 1,
    };
    store
        .update(
            "case",
            "c1",
            Some(current),
            body(serde_json::json!({"v": 2})),
        )
        .await
        .unwrap_err()
}

fn stored(id: &str, seq_no: u64, source: serde_json::Value) -> serde_json::Value {
    serde_json::json!({"_index": "skep_case", "_id": id, "_seq_no": seq_no, "_primary_term": 1,
        "found": true, "_source": source})
}

#[tokio::test]
async fn creating_a_document_creates_its_index_then_asks_for_create_only_and_a_refresh() {
    use serde_json::json;
    let cluster = scripted::start(vec![
        scripted::info(),
        scripted::index_created(),
        (
            201,
            json!({"_id": "c1", "_seq_no": 0, "_primary_term": 1, "result": "created"}),
        ),
    ])
    .await;
    let store = ElasticStore::open(&settings_for(&cluster)).await.unwrap();
    let document = skep_store::NewDocument {
        id: Some("c1".into()),
        parent: Some("p1".into()),
        body: body(json!({"title": "x", "tlp": 2})),
    };

    let created = store.put("caseTemplate", document).await.unwrap();

    assert_eq!(
        created.version,
        skep_store::Version {
            seq_no: 0,
            primary_term: 1
        }
    );
    let requests = cluster.requests();
    assert_eq!(
        (requests[1].method.as_str(), requests[1].path()),
        ("PUT", "/skep_case-template")
    );
    assert_eq!(
        requests[1].json()["mappings"]["properties"]["_skep_body"]["enabled"],
        json!(false)
    );
    assert_eq!(
        (requests[2].method.as_str(), requests[2].path()),
        ("POST", "/skep_case-template/_doc/c1")
    );
    assert!(
        requests[2].has_parameter("op_type=create"),
        "{}",
        requests[2].target
    );
    assert!(
        requests[2].has_parameter("refresh=wait_for"),
        "{}",
        requests[2].target
    );
    let sent = requests[2].json();
    assert_eq!(sent["_skep_body"], json!({"title": "x", "tlp": 2}));
    assert_eq!(
        (sent["s~title"].clone(), sent["n~tlp"].clone()),
        (json!("x"), json!(2))
    );
    assert_eq!(
        (sent["_skep_parent"].clone(), sent["_skep_deleted"].clone()),
        (json!("p1"), json!(false))
    );
}

#[tokio::test]
async fn an_existing_index_is_used_and_a_409_on_create_is_a_duplicate_conflict() {
    use serde_json::json;
    let cluster = scripted::start(vec![
        scripted::info(),
        (400, json!({"error": {"type": "resource_already_exists_exception", "reason": "exists"}})),
        (409, json!({"error": {"type": "version_conflict_engine_exception", "reason": "document already exists"}})),
    ])
    .await;
    let store = ElasticStore::open(&settings_for(&cluster)).await.unwrap();
    let document = skep_store::NewDocument {
        id: Some("c1".into()),
        ..Default::default()
    };

    let error = store.put("case", document).await.unwrap_err();

    assert!(error.is_duplicate(), "{error:?}");
}

#[tokio::test]
async fn an_update_with_a_stale_version_is_refused_without_writing() {
    use serde_json::json;
    let cluster = scripted::start(vec![
        scripted::info(),
        scripted::index_created(),
        (
            200,
            stored(
                "c1",
                5,
                json!({"_skep_body": {"v": 1}, "_skep_deleted": false}),
            ),
        ),
    ])
    .await;
    let store = ElasticStore::open(&settings_for(&cluster)).await.unwrap();
    let stale = skep_store::Version {
        seq_no: 4,
        primary_term: 1,
    };

    let error = store
        .update("case", "c1", Some(stale), body(json!({"v": 2})))
        .await
        .unwrap_err();

    assert!(
        matches!(&error, StoreError::Conflict { reason, .. } if reason == "version conflict"),
        "{error:?}"
    );
    assert_eq!(cluster.requests().len(), 3, "no write after the read");
}

#[tokio::test]
async fn an_update_writes_on_condition_of_the_version_it_read_and_keeps_the_parent() {
    use serde_json::json;
    let cluster = scripted::start(vec![
        scripted::info(),
        scripted::index_created(),
        (
            200,
            stored(
                "t1",
                5,
                json!({"_skep_body": {"v": 1}, "_skep_parent": "c1", "_skep_deleted": false,
            "_skep_seq": 77}),
            ),
        ),
        (
            200,
            json!({"_id": "t1", "_seq_no": 6, "_primary_term": 1, "result": "updated"}),
        ),
    ])
    .await;
    let store = ElasticStore::open(&settings_for(&cluster)).await.unwrap();

    let updated = store
        .update("case", "t1", None, body(json!({"v": 2})))
        .await
        .unwrap();

    assert_eq!(updated.version.seq_no, 6);
    assert_eq!(updated.parent.as_deref(), Some("c1"));
    let write = &cluster.requests()[3];
    assert_eq!(
        (write.method.as_str(), write.path()),
        ("POST", "/skep_case/_doc/t1")
    );
    for parameter in ["if_seq_no=5", "if_primary_term=1", "refresh=wait_for"] {
        assert!(
            write.has_parameter(parameter),
            "{parameter} missing from {}",
            write.target
        );
    }
    let sent = write.json();
    assert_eq!(sent["_skep_body"], json!({"v": 2}));
    assert_eq!(
        (sent["_skep_parent"].clone(), sent["_skep_seq"].clone()),
        (json!("c1"), json!(77))
    );
}

#[tokio::test]
async fn a_conflict_on_the_conditional_write_of_an_expected_version_is_stale() {
    use serde_json::json;
    let cluster = scripted::start(vec![
        scripted::info(),
        scripted::index_created(),
        (200, stored("c1", 5, json!({"_skep_body": {"v": 1}}))),
        (409, json!({"error": {"type": "version_conflict_engine_exception", "reason": "seq no changed"}})),
        // Read again to tell a stale version from a deleted document: it is still there.
        (200, stored("c1", 6, json!({"_skep_body": {"v": 3}}))),
    ])
    .await;
    let error = update_c1_expecting_version_5(&cluster).await;

    assert!(
        matches!(&error, StoreError::Conflict { reason, .. } if reason == "version conflict"),
        "{error:?}"
    );
    assert_eq!(cluster.requests().len(), 5, "one write, then one read");
}

#[tokio::test]
async fn a_conflict_because_the_document_was_deleted_meanwhile_is_not_found() {
    use serde_json::json;
    // Elasticsearch answers a conditional write to a vanished document with 409, not 404.
    let cluster = scripted::start(vec![
        scripted::info(),
        scripted::index_created(),
        (200, stored("c1", 5, json!({"_skep_body": {"v": 1}}))),
        (409, json!({"error": {"type": "version_conflict_engine_exception",
            "reason": "[c1]: version conflict, required seqNo [5], primary term [1]. but no document was found"}})),
        (404, json!({"_index": "skep_case", "_id": "c1", "found": false})),
    ])
    .await;
    let error = update_c1_expecting_version_5(&cluster).await;

    assert!(matches!(error, StoreError::NotFound { .. }), "{error:?}");
}

#[tokio::test]
async fn dot_ids_are_refused_before_any_request_because_urls_would_drop_them() {
    use serde_json::json;
    let cluster = scripted::start(vec![scripted::info(), scripted::index_created()]).await;
    let store = ElasticStore::open(&settings_for(&cluster)).await.unwrap();
    let sent = cluster.requests().len();

    for id in [".", ".."] {
        let error = store
            .put(
                "case",
                skep_store::NewDocument {
                    id: Some(id.into()),
                    parent: None,
                    body: body(json!({"v": 1})),
                },
            )
            .await
            .unwrap_err();
        assert!(
            matches!(&error, StoreError::InvalidQuery(message) if message.contains("`.`")),
            "{error:?}"
        );
    }
    assert!(
        cluster.requests().len() <= sent + 1,
        "nothing but the index check was sent: {:?}",
        cluster.requests()
    );
}

#[tokio::test]
async fn a_soft_deleted_document_reads_as_not_found() {
    use serde_json::json;
    let cluster = scripted::start(vec![
        scripted::info(),
        scripted::index_created(),
        (
            200,
            stored(
                "c1",
                2,
                json!({"_skep_body": {"v": 1}, "_skep_deleted": true}),
            ),
        ),
    ])
    .await;
    let store = ElasticStore::open(&settings_for(&cluster)).await.unwrap();

    let error = store.get("case", "c1").await.unwrap_err();

    assert!(matches!(error, StoreError::NotFound { .. }), "{error:?}");
}

#[tokio::test]
async fn searching_every_match_walks_a_scroll_and_clears_it() {
    use serde_json::json;
    let hit = |id: &str| json!({"_id": id, "_seq_no": 0, "_primary_term": 1, "_source": {"_skep_body": {"n": id}}});
    let cluster = scripted::start(vec![
        scripted::info(),
        scripted::index_created(),
        (
            200,
            json!({"_scroll_id": "s1", "hits": {"total": {"value": 2}, "hits": [hit("a")]}}),
        ),
        (
            200,
            json!({"_scroll_id": "s1", "hits": {"total": {"value": 2}, "hits": [hit("b")]}}),
        ),
        (
            200,
            json!({"_scroll_id": "s1", "hits": {"total": {"value": 2}, "hits": []}}),
        ),
        (200, json!({"succeeded": true, "num_freed": 1})),
    ])
    .await;
    let store = ElasticStore::open(&settings_for(&cluster)).await.unwrap();

    let hits = store
        .search("case", &skep_store::Query::All, skep_store::Page::ALL, &[])
        .await
        .unwrap();

    assert_eq!(hits.total, 2);
    assert_eq!(
        hits.documents
            .iter()
            .map(|d| d.id.as_str())
            .collect::<Vec<_>>(),
        ["a", "b"]
    );
    let requests = cluster.requests();
    assert_eq!(requests[2].path(), "/skep_case/_search");
    assert!(
        requests[2].has_parameter("scroll=1m"),
        "{}",
        requests[2].target
    );
    assert_eq!(requests[2].json()["track_total_hits"], json!(true));
    assert_eq!(
        (requests[3].path(), requests[3].json()["scroll_id"].clone()),
        ("/_search/scroll", json!("s1"))
    );
    assert_eq!(
        (requests[5].method.as_str(), requests[5].path()),
        ("DELETE", "/_search/scroll")
    );
}

#[tokio::test]
async fn a_cluster_answering_503_is_unavailable() {
    use serde_json::json;
    let cluster = scripted::start(vec![(
        503,
        json!({"error": {"type": "cluster_block_exception", "reason": "blocked"}}),
    )])
    .await;

    let error = ElasticStore::open(&settings_for(&cluster))
        .await
        .unwrap_err();

    assert!(matches!(error, StoreError::Unavailable(_)), "{error:?}");
}

#[tokio::test]
async fn put_many_sends_one_bulk_and_answers_each_document_in_order() {
    use serde_json::json;
    let cluster = scripted::start(vec![
        scripted::info(),
        scripted::index_created(),
        (200, json!({"errors": true, "items": [
            {"create": {"_id": "one", "status": 201, "_seq_no": 0, "_primary_term": 1}},
            {"create": {"_id": "taken", "status": 409,
                        "error": {"type": "version_conflict_engine_exception", "reason": "exists"}}},
            {"create": {"_id": "busy", "status": 429,
                        "error": {"type": "es_rejected_execution_exception", "reason": "queue full"}}}
        ]})),
    ])
    .await;
    let store = ElasticStore::open(&settings_for(&cluster)).await.unwrap();
    let documents = ["one", "taken", "busy"]
        .map(|id| skep_store::NewDocument {
            id: Some(id.into()),
            parent: None,
            body: body(json!({"v": 1})),
        })
        .to_vec();

    let results = store.put_many("case", documents).await.unwrap();

    assert_eq!(results[0].as_ref().unwrap().id, "one");
    assert!(results[1].as_ref().unwrap_err().is_duplicate());
    assert!(
        matches!(results[2], Err(StoreError::Unavailable(_))),
        "{:?}",
        results[2]
    );
    let bulk = &cluster.requests()[2];
    assert_eq!(
        (bulk.method.as_str(), bulk.path()),
        ("POST", "/skep_case/_bulk")
    );
    assert!(bulk.has_parameter("refresh=wait_for"), "{}", bulk.target);
    let lines: Vec<serde_json::Value> = bulk
        .body
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines.len(), 6);
    assert_eq!(lines[0], json!({"create": {"_id": "one"}}));
    assert_eq!(lines[3]["_skep_body"], json!({"v": 1}));
}

#[tokio::test]
async fn a_child_query_first_collects_parent_ids_from_the_child_index() {
    use serde_json::json;
    let cluster = scripted::start(vec![
        scripted::info(),
        scripted::index_created(),
        scripted::index_created(),
        (
            200,
            json!({"_scroll_id": "s9", "hits": {"total": {"value": 2}, "hits": [
                {"_id": "t1", "_source": {"_skep_parent": "c1"}},
                {"_id": "t2", "_source": {"_skep_parent": "c1"}}
            ]}}),
        ),
        (
            200,
            json!({"_scroll_id": "s9", "hits": {"total": {"value": 2}, "hits": []}}),
        ),
        (200, json!({"succeeded": true})),
        (200, json!({"count": 1})),
    ])
    .await;
    let store = ElasticStore::open(&settings_for(&cluster)).await.unwrap();
    let query = skep_store::Query::parse(
        &json!({"_child": {"_type": "case_task", "_query": {"status": "Waiting"}}}),
    )
    .unwrap();

    let count = store.count("case", &query).await.unwrap();

    assert_eq!(count, 1);
    let requests = cluster.requests();
    assert_eq!(requests[3].path(), "/skep_case_task/_search");
    assert_eq!(
        requests[3].json()["query"]["bool"]["filter"][0],
        json!({"term": {"s~status": {"value": "Waiting"}}})
    );
    assert_eq!(requests[6].path(), "/skep_case/_count");
    assert_eq!(
        requests[6].json()["query"]["bool"]["filter"][0],
        json!({"ids": {"values": ["c1"]}})
    );
}

#[tokio::test]
async fn too_many_buckets_is_an_invalid_query_even_when_the_cluster_answers_503() {
    use serde_json::json;
    let cluster = scripted::start(vec![
        scripted::info(),
        scripted::index_created(),
        (
            503,
            json!({"error": {"type": "search_phase_execution_exception", "reason": "all shards failed",
                "caused_by": {"type": "too_many_buckets_exception",
                    "reason": "Trying to create too many buckets. Must be less than or equal to: [65535]"}}}),
        ),
    ])
    .await;
    let store = ElasticStore::open(&settings_for(&cluster)).await.unwrap();
    let aggregations =
        skep_store::Aggregation::parse_list(&json!([{"_agg": "field", "_field": "title"}]))
            .unwrap();

    let error = store
        .aggregate("case", &skep_store::Query::All, &aggregations)
        .await
        .unwrap_err();

    assert!(matches!(error, StoreError::InvalidQuery(_)), "{error:?}");
}

#[tokio::test]
async fn a_delete_by_query_with_shard_failures_is_an_error_saying_how_far_it_got() {
    use serde_json::json;
    let cluster = scripted::start(vec![
        scripted::info(),
        scripted::index_created(),
        (
            200,
            json!({"took": 5, "timed_out": false, "total": 10, "deleted": 4,
                "version_conflicts": 0, "failures": [{"index": "skep_case", "id": "c9",
                "cause": {"type": "es_rejected_execution_exception", "reason": "queue full"},
                "status": 429}]}),
        ),
        (
            200,
            json!({"took": 5, "timed_out": false, "total": 3, "deleted": 3,
                "version_conflicts": 0, "failures": []}),
        ),
    ])
    .await;
    let store = ElasticStore::open(&settings_for(&cluster)).await.unwrap();

    let error = store
        .delete_by_query("case", &skep_store::Query::All)
        .await
        .unwrap_err();
    let deleted = store
        .delete_by_query("case", &skep_store::Query::All)
        .await
        .unwrap();

    assert!(
        matches!(&error, StoreError::Backend(cause) if cause.to_string().contains("deleted 4 of")),
        "{error:?}"
    );
    assert_eq!(deleted, 3);
}

#[tokio::test]
async fn aggregations_run_as_one_sizeless_search_and_come_back_in_the_stats_shape() {
    use serde_json::json;
    let cluster = scripted::start(vec![
        scripted::info(),
        scripted::index_created(),
        (
            200,
            json!({"hits": {"hits": []}, "aggregations": {
                "a0_n": {"buckets": []},
                "a0_b": {"buckets": []},
                "a0_s": {"buckets": [{"key": "Open", "doc_count": 2, "a0": {"doc_count": 2}}]},
                "a1": {"doc_count": 3}
            }}),
        ),
    ])
    .await;
    let store = ElasticStore::open(&settings_for(&cluster)).await.unwrap();
    let aggregations = skep_store::Aggregation::parse_list(&json!([
        {"_agg": "field", "_field": "status", "_select": [{"_agg": "count"}]},
        {"_agg": "count"}
    ]))
    .unwrap();

    let result = store
        .aggregate("case", &skep_store::Query::All, &aggregations)
        .await
        .unwrap();

    assert_eq!(
        serde_json::Value::Object(result),
        json!({"Open": {"count": 2}, "count": 3})
    );
    let search = cluster.requests()[2].json();
    assert_eq!(search["size"], json!(0));
    assert_eq!(search["aggs"]["a0_s"]["terms"]["field"], json!("s~status"));
}
