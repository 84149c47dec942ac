//! The Elasticsearch backend: the shared conformance suite against the cluster named by
//! `ELASTICSEARCH_URL` (ignored without it, never reported as passed), and the checks that need
//! no cluster.
//!
//! ```text
//! ELASTICSEARCH_URL=http://localhost:9200 cargo test -p skep-store --test elasticsearch -- --include-ignored
//! ```
//! Optional: `ELASTICSEARCH_USERNAME`, `ELASTICSEARCH_PASSWORD` or `ELASTICSEARCH_API_KEY`,
//! `ELASTICSEARCH_CA_FILE`, `ELASTICSEARCH_TLS_INSECURE=1` (see docs/elasticsearch.md for the
//! least-privilege role the suite can run as). Every opened store gets its own index prefix, so cases run in
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
        api_key: std::env::var("ELASTICSEARCH_API_KEY").ok(),
        ..EsSettings::default()
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
    let first = settings.url.split(',').next().unwrap_or_default().trim();
    let mut builder = TransportBuilder::new(SingleNodeConnectionPool::new(Url::parse(first)?));
    if let Some(key) = &settings.api_key {
        builder = builder.auth(Credentials::EncodedApiKey(key.clone()));
    } else if let Some(username) = &settings.username {
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
        startup_timeout: std::time::Duration::ZERO,
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
        startup_timeout: std::time::Duration::ZERO,
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
    use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// One request as the cluster received it.
    #[derive(Debug, Clone)]
    pub struct Request {
        pub method: String,
        pub target: String,
        pub head: String,
        pub body: String,
    }

    impl Request {
        pub fn json(&self) -> Value {
            serde_json::from_str(&self.body).unwrap()
        }

        /// The value of header `name` (case-insensitive).
        pub fn header(&self, name: &str) -> Option<String> {
            self.head.lines().find_map(|line| {
                let (key, value) = line.split_once(':')?;
                key.eq_ignore_ascii_case(name)
                    .then(|| value.trim().to_owned())
            })
        }

        /// The bulk body's lines, each parsed.
        pub fn lines(&self) -> Vec<Value> {
            self.body
                .lines()
                .filter(|line| !line.trim().is_empty())
                .map(|line| serde_json::from_str(line).unwrap())
                .collect()
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

    /// [`start`] behind TLS, with the certificate and key (PEM files) given.
    pub async fn start_tls(replies: Vec<(u16, Value)>, cert: &str, key: &str) -> Cluster {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let certs = CertificateDer::pem_file_iter(cert)
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        let key = PrivateKeyDer::from_pem_file(key).unwrap();
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("https://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let replies = Arc::new(Mutex::new(VecDeque::from(replies)));
        let (recorded, scripted) = (requests.clone(), replies.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (acceptor, recorded, scripted) =
                    (acceptor.clone(), recorded.clone(), scripted.clone());
                tokio::spawn(async move {
                    // A client refusing the certificate ends the handshake: nothing to serve.
                    if let Ok(stream) = acceptor.accept(stream).await {
                        serve(stream, recorded, scripted).await;
                    }
                });
            }
        });
        Cluster { url, requests }
    }

    async fn serve(
        mut stream: impl AsyncRead + AsyncWrite + Unpin,
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
                head: head.clone(),
                body,
            });
            let (status, reply) = replies.lock().unwrap().pop_front().unwrap_or((
                500,
                json!({"error": {"type": "script_exhausted", "reason": "no answer scripted"}}),
            ));
            // A string reply is sent as it is, as an HTML page (what a proxy answers).
            let (text, content_type) = match reply {
                Value::String(text) => (text, "text/html"),
                other => (other.to_string(), "application/json"),
            };
            let response = format!(
                "HTTP/1.1 {status} Scripted\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n\r\n{text}",
                text.len()
            );
            if stream.write_all(response.as_bytes()).await.is_err() {
                return;
            }
        }
    }

    async fn read_more(stream: &mut (impl AsyncRead + Unpin), buffer: &mut Vec<u8>) -> bool {
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
        startup_timeout: std::time::Duration::ZERO,
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
        ("PUT", "/skep.case-template")
    );
    assert_eq!(
        requests[1].json()["mappings"]["properties"]["_skep_body"]["enabled"],
        json!(false)
    );
    assert_eq!(
        (requests[2].method.as_str(), requests[2].path()),
        ("POST", "/skep.case-template/_doc/c1")
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
    assert_eq!(cluster.requests().len(), 2, "no write after the read");
}

#[tokio::test]
async fn an_update_writes_on_condition_of_the_version_it_read_and_keeps_the_parent() {
    use serde_json::json;
    let cluster = scripted::start(vec![
        scripted::info(),
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
    let write = &cluster.requests()[2];
    assert_eq!(
        (write.method.as_str(), write.path()),
        ("POST", "/skep.case/_doc/t1")
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
    assert_eq!(cluster.requests().len(), 4, "one write, then one read");
}

#[tokio::test]
async fn a_conflict_because_the_document_was_deleted_meanwhile_is_not_found() {
    use serde_json::json;
    // Elasticsearch answers a conditional write to a vanished document with 409, not 404.
    let cluster = scripted::start(vec![
        scripted::info(),
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
    assert_eq!(requests[1].path(), "/skep.case/_search");
    assert!(
        requests[1].has_parameter("scroll=1m"),
        "{}",
        requests[1].target
    );
    assert_eq!(requests[1].json()["track_total_hits"], json!(true));
    assert_eq!(
        (requests[2].path(), requests[2].json()["scroll_id"].clone()),
        ("/_search/scroll", json!("s1"))
    );
    assert_eq!(
        (requests[4].method.as_str(), requests[4].path()),
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
        // The item rejected with 429 is sent again, alone.
        (200, json!({"errors": false, "items": [
            {"create": {"_id": "busy", "status": 201, "_seq_no": 1, "_primary_term": 1}}
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
    assert_eq!(results[2].as_ref().unwrap().id, "busy");
    let bulk = &cluster.requests()[2];
    assert_eq!(
        (bulk.method.as_str(), bulk.path()),
        ("POST", "/skep.case/_bulk")
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
    let retry = &cluster.requests()[3];
    assert_eq!(retry.lines()[0], json!({"create": {"_id": "busy"}}));
    assert_eq!(retry.lines().len(), 2);
}

#[tokio::test]
async fn a_child_query_first_collects_parent_ids_from_the_child_index() {
    use serde_json::json;
    let cluster = scripted::start(vec![
        scripted::info(),
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
    assert_eq!(requests[1].path(), "/skep.case_task/_search");
    assert_eq!(
        requests[1].json()["query"]["bool"]["filter"][0],
        json!({"term": {"s~status": {"value": "Waiting"}}})
    );
    assert_eq!(requests[4].path(), "/skep.case/_count");
    assert_eq!(
        requests[4].json()["query"]["bool"]["filter"][0],
        json!({"ids": {"values": ["c1"]}})
    );
}

#[tokio::test]
async fn too_many_buckets_is_an_invalid_query_even_when_the_cluster_answers_503() {
    use serde_json::json;
    let cluster = scripted::start(vec![
        scripted::info(),
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
async fn aggregations_run_as_one_sizeless_search_and_come_back_in_the_stats_shape() {
    use serde_json::json;
    let cluster = scripted::start(vec![
        scripted::info(),
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
    let search = cluster.requests()[1].json();
    assert_eq!(search["size"], json!(0));
    assert_eq!(search["aggs"]["a0_s"]["terms"]["field"], json!("s~status"));
}

// ----------------------------------------------------------------------------------------------
// A production cluster: reads that create nothing, least privilege, no refresh per row, partial
// bulk failures, start-up and transport.

fn scroll_page(ids: &[&str]) -> serde_json::Value {
    let hits: Vec<serde_json::Value> = ids
        .iter()
        .map(|id| serde_json::json!({"_id": id, "_source": {"_skep_parent": null}}))
        .collect();
    serde_json::json!({"_scroll_id": "s1", "hits": {"total": {"value": ids.len()}, "hits": hits}})
}

fn index_not_found(index: &str) -> (u16, serde_json::Value) {
    (
        404,
        serde_json::json!({"error": {"type": "index_not_found_exception",
            "reason": format!("no such index [{index}]"), "index": index}, "status": 404}),
    )
}

#[tokio::test]
async fn reads_of_a_kind_without_an_index_answer_empty_and_create_nothing() {
    use serde_json::json;
    let cluster = scripted::start(vec![
        scripted::info(),
        index_not_found("skep.case"),
        index_not_found("skep.case"),
        index_not_found("skep.case"),
        index_not_found("skep.case"),
    ])
    .await;
    let store = ElasticStore::open(&settings_for(&cluster)).await.unwrap();
    let query = skep_store::Query::parse(&json!({"status": "Open"})).unwrap();
    let aggregations = skep_store::Aggregation::parse_list(&json!([
        {"_agg": "field", "_field": "status"}, {"_agg": "count"}, {"_agg": "avg", "_field": "severity"}
    ]))
    .unwrap();

    let hits = store
        .search(
            "case",
            &query,
            skep_store::Page {
                offset: 0,
                limit: Some(10),
            },
            &[],
        )
        .await
        .unwrap();
    let count = store.count("case", &query).await.unwrap();
    let stats = store
        .aggregate("case", &query, &aggregations)
        .await
        .unwrap();
    let missing = store.get("case", "c1").await.unwrap_err();

    assert_eq!((hits.total, hits.documents.len()), (0, 0));
    assert_eq!(count, 0);
    assert_eq!(
        serde_json::Value::Object(stats),
        json!({"count": 0, "avg_severity": 0})
    );
    assert!(
        matches!(missing, StoreError::NotFound { .. }),
        "{missing:?}"
    );
    let requests = cluster.requests();
    assert!(
        requests.iter().all(|request| request.method != "PUT"),
        "no index was created: {requests:?}"
    );
    assert_eq!(requests.len(), 5);
}

#[tokio::test]
async fn a_join_on_an_over_long_caller_supplied_type_is_an_invalid_query_sent_nowhere() {
    use serde_json::json;
    let cluster = scripted::start(vec![scripted::info()]).await;
    let store = ElasticStore::open(&settings_for(&cluster)).await.unwrap();
    let query = skep_store::Query::parse(
        &json!({"_parent": {"_type": "x".repeat(300), "_query": {"status": "Open"}}}),
    )
    .unwrap();

    let error = store
        .search(
            "case_task",
            &query,
            skep_store::Page {
                offset: 0,
                limit: Some(10),
            },
            &[],
        )
        .await
        .unwrap_err();

    assert!(matches!(error, StoreError::InvalidQuery(_)), "{error:?}");
    assert_eq!(cluster.requests().len(), 1, "only the start-up check");
}

#[tokio::test]
async fn a_join_on_a_kind_without_an_index_finds_nothing_and_creates_nothing() {
    use serde_json::json;
    let cluster = scripted::start(vec![
        scripted::info(),
        index_not_found("skep.nokind"),
        (200, json!({"count": 0})),
    ])
    .await;
    let store = ElasticStore::open(&settings_for(&cluster)).await.unwrap();
    let query =
        skep_store::Query::parse(&json!({"_child": {"_type": "nokind", "_query": {"a": 1}}}))
            .unwrap();

    let count = store.count("case", &query).await.unwrap();

    assert_eq!(count, 0);
    let requests = cluster.requests();
    assert_eq!(requests[1].path(), "/skep.nokind/_search");
    assert_eq!(
        requests[2].json()["query"]["bool"]["filter"][0],
        json!({"ids": {"values": []}})
    );
    assert!(requests.iter().all(|request| request.method != "PUT"));
}

#[tokio::test]
async fn delete_by_query_deletes_the_matches_by_id_in_bulk_without_the_maintenance_privilege() {
    use serde_json::json;
    let cluster = scripted::start(vec![
        scripted::info(),
        (200, scroll_page(&["t1", "t2", "t3"])),
        (200, scroll_page(&[])),
        (200, json!({"succeeded": true})),
        (
            200,
            json!({"errors": false, "items": [
                {"delete": {"_id": "t1", "status": 200, "result": "deleted"}},
                // Deleted by someone else meanwhile: not counted, not an error.
                {"delete": {"_id": "t2", "status": 404, "result": "not_found"}},
                {"delete": {"_id": "t3", "status": 200, "result": "deleted"}}
            ]}),
        ),
    ])
    .await;
    let store = ElasticStore::open(&settings_for(&cluster)).await.unwrap();
    let query = skep_store::Query::parse(&json!({"status": "Done"})).unwrap();

    let deleted = store.delete_by_query("case_task", &query).await.unwrap();

    assert_eq!(deleted, 2);
    let requests = cluster.requests();
    assert!(
        requests
            .iter()
            .all(|request| !request.path().contains("_delete_by_query")
                && !request.has_parameter("refresh=true")
                && request.path() != "/skep.case_task/_refresh"),
        "{requests:?}"
    );
    let bulk = &requests[4];
    assert_eq!(bulk.path(), "/skep.case_task/_bulk");
    assert!(bulk.has_parameter("refresh=wait_for"), "{}", bulk.target);
    assert_eq!(
        bulk.lines(),
        [
            json!({"delete": {"_id": "t1"}}),
            json!({"delete": {"_id": "t2"}}),
            json!({"delete": {"_id": "t3"}})
        ]
    );
}

#[tokio::test]
async fn a_delete_by_query_failing_midway_says_how_far_it_got() {
    use serde_json::json;
    let cluster = scripted::start(vec![
        scripted::info(),
        (200, scroll_page(&["t1", "t2"])),
        (200, scroll_page(&[])),
        (200, json!({"succeeded": true})),
        (
            200,
            json!({"errors": true, "items": [
                {"delete": {"_id": "t1", "status": 200}},
                {"delete": {"_id": "t2", "status": 403, "error": {"type": "security_exception",
                    "reason": "action [indices:data/write/bulk[s]] is unauthorized"}}}
            ]}),
        ),
    ])
    .await;
    let store = ElasticStore::open(&settings_for(&cluster)).await.unwrap();

    let error = store
        .delete_by_query("case_task", &skep_store::Query::All)
        .await
        .unwrap_err();

    let text = format!("{:#}", anyhow::Error::new(error));
    assert!(text.contains("deleted 1 of the 2 matching"), "{text}");
    assert!(text.contains("unauthorized"), "{text}");
}

#[tokio::test]
async fn writes_of_an_eventual_kind_do_not_wait_for_a_refresh_and_others_do() {
    use serde_json::json;
    let created = |id: &str| {
        (
            201,
            json!({"_id": id, "_seq_no": 0, "_primary_term": 1, "result": "created"}),
        )
    };
    let cluster = scripted::start(vec![
        scripted::info(),
        scripted::index_created(),
        created("a1"),
        scripted::index_created(),
        created("c1"),
    ])
    .await;
    let store = ElasticStore::open(&settings_for(&cluster)).await.unwrap();
    store.set_visibility("audit", skep_store::Visibility::Eventual);
    let new = |id: &str| skep_store::NewDocument {
        id: Some(id.into()),
        parent: None,
        body: body(json!({"v": 1})),
    };

    store.put("audit", new("a1")).await.unwrap();
    store.put("case", new("c1")).await.unwrap();

    let requests = cluster.requests();
    assert_eq!(requests[2].path(), "/skep.audit/_doc/a1");
    assert!(
        !requests[2].target.contains("refresh"),
        "{}",
        requests[2].target
    );
    assert_eq!(requests[4].path(), "/skep.case/_doc/c1");
    assert!(requests[4].has_parameter("refresh=wait_for"));
    let settings = &requests[1].json()["settings"]["index"];
    assert_eq!(settings["refresh_interval"], json!("1s"));
    // The scripted cluster says 8.15: new fields past the limit are left unmapped.
    assert_eq!(
        settings["mapping"]["total_fields"]["ignore_dynamic_beyond_limit"],
        json!(true)
    );
}

#[tokio::test]
async fn a_bulk_request_failing_as_a_whole_keeps_the_results_of_the_batches_before_it() {
    use serde_json::json;
    let items: Vec<serde_json::Value> = (0..1000)
        .map(|n| json!({"create": {"_id": format!("d{n}"), "status": 201, "_seq_no": n, "_primary_term": 1}}))
        .collect();
    let cluster = scripted::start(vec![
        scripted::info(),
        scripted::index_created(),
        (200, json!({"errors": false, "items": items})),
        (
            413,
            json!({"error": {"type": "content_too_long", "reason": "request too large"}}),
        ),
    ])
    .await;
    let store = ElasticStore::open(&settings_for(&cluster)).await.unwrap();
    let documents = (0..1001)
        .map(|n| skep_store::NewDocument {
            id: Some(format!("d{n}")),
            parent: None,
            body: body(json!({"n": n})),
        })
        .collect();

    let results = store.put_many("case", documents).await.unwrap();

    assert_eq!(results.len(), 1001);
    assert!(results[..1000].iter().all(Result::is_ok));
    assert_eq!(results[999].as_ref().unwrap().id, "d999");
    assert!(
        matches!(&results[1000], Err(StoreError::Backend(cause)) if cause.to_string().contains("413")),
        "{:?}",
        results[1000]
    );
}

#[tokio::test]
async fn a_bulk_request_refused_with_429_is_sent_again_after_a_pause() {
    use serde_json::json;
    let cluster = scripted::start(vec![
        scripted::info(),
        scripted::index_created(),
        (
            429,
            json!({"error": {"type": "circuit_breaking_exception", "reason": "[parent] Data too large"}}),
        ),
        (200, json!({"errors": false, "items": [
            {"create": {"_id": "d1", "status": 201, "_seq_no": 0, "_primary_term": 1}}
        ]})),
    ])
    .await;
    let store = ElasticStore::open(&settings_for(&cluster)).await.unwrap();
    let document = skep_store::NewDocument {
        id: Some("d1".into()),
        parent: None,
        body: body(json!({"n": 1})),
    };

    let results = store.put_many("case", vec![document]).await.unwrap();

    assert_eq!(results[0].as_ref().unwrap().id, "d1");
    let requests = cluster.requests();
    assert_eq!(requests.len(), 4);
    assert_eq!(requests[2].body, requests[3].body);
}

#[tokio::test]
async fn a_document_over_the_field_limit_is_stored_without_typed_fields() {
    use serde_json::json;
    let cluster = scripted::start(vec![
        (200, json!({"version": {"number": "7.17.22"}})),
        scripted::index_created(),
        (
            400,
            json!({"error": {"type": "illegal_argument_exception",
            "reason": "Limit of total fields [10000] has been exceeded"}, "status": 400}),
        ),
        (
            201,
            json!({"_id": "r1", "_seq_no": 0, "_primary_term": 1, "result": "created"}),
        ),
    ])
    .await;
    let store = ElasticStore::open(&settings_for(&cluster)).await.unwrap();
    let document = skep_store::NewDocument {
        id: Some("r1".into()),
        parent: None,
        body: body(json!({"full": {"k1": "v", "k2": 2}})),
    };

    let stored = store.put("report", document).await.unwrap();

    assert_eq!(stored.body["full"]["k2"], json!(2));
    let requests = cluster.requests();
    assert!(
        requests[1].json()["settings"]["index"]["mapping"]["total_fields"]
            .get("ignore_dynamic_beyond_limit")
            .is_none(),
        "7.17 does not know the setting"
    );
    assert_eq!(requests[2].json()["s~full/k1"], json!("v"));
    let again = requests[3].json();
    assert_eq!(again["_skep_body"], json!({"full": {"k1": "v", "k2": 2}}));
    assert!(again.get("s~full/k1").is_none(), "{again}");
}

#[tokio::test]
async fn opening_waits_while_the_cluster_starts_behind_a_proxy() {
    let cluster = scripted::start(vec![
        (
            502,
            serde_json::Value::String("<html><body>Bad Gateway</body></html>".into()),
        ),
        (
            503,
            serde_json::json!({"error": {"type": "master_not_discovered_exception", "reason": "no master"}}),
        ),
        scripted::info(),
    ])
    .await;
    let settings = EsSettings {
        startup_timeout: std::time::Duration::from_secs(30),
        ..settings_for(&cluster)
    };

    let opened = ElasticStore::open(&settings).await;

    assert!(opened.is_ok(), "{opened:?}");
    assert_eq!(cluster.requests().len(), 3);
}

#[tokio::test]
async fn an_html_gateway_error_on_a_search_is_unavailable() {
    let cluster = scripted::start(vec![
        scripted::info(),
        (
            504,
            serde_json::Value::String("<html>Gateway Timeout</html>".into()),
        ),
    ])
    .await;
    let store = ElasticStore::open(&settings_for(&cluster)).await.unwrap();

    let error = store
        .count("case", &skep_store::Query::All)
        .await
        .unwrap_err();

    assert!(matches!(error, StoreError::Unavailable(_)), "{error:?}");
}

#[tokio::test]
async fn refused_credentials_fail_at_once_without_waiting() {
    let cluster = scripted::start(vec![(
        401,
        serde_json::json!({"error": {"type": "security_exception", "reason": "unable to authenticate"}}),
    )])
    .await;
    let settings = EsSettings {
        startup_timeout: std::time::Duration::from_secs(3600),
        ..settings_for(&cluster)
    };

    let error = ElasticStore::open(&settings).await.unwrap_err();

    assert!(matches!(error, StoreError::Backend(_)), "{error:?}");
    assert_eq!(cluster.requests().len(), 1);
}

#[tokio::test]
async fn an_api_key_is_sent_as_the_api_key_authorization() {
    let cluster = scripted::start(vec![scripted::info()]).await;
    let settings = EsSettings {
        api_key: Some("aWQ6c2VjcmV0".into()),
        username: Some("ignored".into()),
        ..settings_for(&cluster)
    };

    ElasticStore::open(&settings).await.unwrap();

    assert_eq!(
        cluster.requests()[0].header("authorization").as_deref(),
        Some("ApiKey aWQ6c2VjcmV0")
    );
}

#[tokio::test]
async fn several_nodes_are_asked_in_turn() {
    // One answer fits both the start-up check and a count, so the order does not matter.
    let answer = |count: u64| {
        (
            200,
            serde_json::json!({"version": {"number": "8.15.0"}, "count": count}),
        )
    };
    let first = scripted::start(vec![answer(4), answer(4)]).await;
    let second = scripted::start(vec![answer(5), answer(5)]).await;
    let settings = EsSettings {
        url: format!("{},{}", first.url, second.url),
        ..settings_for(&first)
    };
    let store = ElasticStore::open(&settings).await.unwrap();

    let one = store.count("case", &skep_store::Query::All).await.unwrap();
    let two = store.count("case", &skep_store::Query::All).await.unwrap();

    let mut counts = [one, two];
    counts.sort_unstable();
    assert_eq!(counts, [4, 5]);
    assert_eq!(first.requests().len() + second.requests().len(), 3);
}

#[tokio::test]
async fn a_request_that_cannot_reach_a_node_is_sent_to_the_next() {
    let cluster = scripted::start(vec![
        scripted::info(),
        (200, serde_json::json!({"count": 1})),
        (200, serde_json::json!({"count": 2})),
    ])
    .await;
    let settings = EsSettings {
        url: format!("http://127.0.0.1:{},{}", closed_port(), cluster.url),
        ..settings_for(&cluster)
    };
    let store = ElasticStore::open(&settings).await.unwrap();

    let one = store.count("case", &skep_store::Query::All).await.unwrap();
    let two = store.count("case", &skep_store::Query::All).await.unwrap();

    assert_eq!((one, two), (1, 2));
    assert_eq!(cluster.requests().len(), 3);
}

#[tokio::test]
async fn a_deep_page_walks_ids_only_then_fetches_the_window_by_id() {
    use serde_json::json;
    let ids: Vec<serde_json::Value> = (0..10_005)
        .map(|n| json!({"_id": format!("d{n}"), "sort": [n]}))
        .collect();
    let stored = |id: &str| json!({"_id": id, "_seq_no": 3, "_primary_term": 1, "_source": {"_skep_body": {"id": id}}});
    let cluster = scripted::start(vec![
        scripted::info(),
        (
            200,
            json!({"_scroll_id": "s1", "hits": {"total": {"value": 20_000}, "hits": ids}}),
        ),
        (200, json!({"succeeded": true})),
        // Answered in another order than the window's.
        (
            200,
            json!({"hits": {"hits": [stored("d10001"), stored("d10000")]}}),
        ),
    ])
    .await;
    let store = ElasticStore::open(&settings_for(&cluster)).await.unwrap();
    let page = skep_store::Page {
        offset: 10_000,
        limit: Some(2),
    };

    let hits = store
        .search("case", &skep_store::Query::All, page, &[])
        .await
        .unwrap();

    assert_eq!(hits.total, 20_000);
    assert_eq!(
        hits.documents
            .iter()
            .map(|d| d.id.as_str())
            .collect::<Vec<_>>(),
        ["d10000", "d10001"]
    );
    let requests = cluster.requests();
    assert_eq!(
        requests[1].json()["_source"],
        json!(false),
        "no bodies while walking"
    );
    assert!(requests[1].has_parameter("scroll=1m"));
    assert_eq!(requests[2].path(), "/_search/scroll");
    assert_eq!(
        requests[3].json()["query"]["bool"]["filter"][0],
        json!({"ids": {"values": ["d10000", "d10001"]}})
    );
}

// ----------------------------------------------------------------------------------------------
// TLS trust, against a scripted cluster behind TLS whose certificate a test CA signed
// (tests/fixtures/tls: a CA, and a certificate for 127.0.0.1 and localhost with its key, made
// for these tests only).

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/tls/{name}", env!("CARGO_MANIFEST_DIR"))
}

async fn tls_cluster() -> scripted::Cluster {
    scripted::start_tls(
        vec![scripted::info()],
        &fixture("node.pem"),
        &fixture("node.key"),
    )
    .await
}

#[tokio::test]
async fn a_certificate_signed_by_the_configured_ca_file_is_trusted() {
    let cluster = tls_cluster().await;
    let settings = EsSettings {
        tls_ca_file: Some(fixture("ca.pem").into()),
        ..settings_for(&cluster)
    };

    let opened = ElasticStore::open(&settings).await;

    assert!(opened.is_ok(), "{opened:?}");
    assert_eq!(cluster.requests().len(), 1);
}

#[tokio::test]
async fn a_certificate_no_trusted_ca_signed_is_refused() {
    let cluster = tls_cluster().await;

    let error = ElasticStore::open(&settings_for(&cluster))
        .await
        .unwrap_err();

    assert!(matches!(error, StoreError::Unavailable(_)), "{error:?}");
    assert!(cluster.requests().is_empty());
}

/// The system's CA store is read when the client is built, from `SSL_CERT_FILE` when set: the
/// check runs in a child process of this test binary with that variable naming the test CA.
#[tokio::test]
async fn a_certificate_signed_by_a_ca_of_the_system_store_is_trusted() {
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "system_store_child",
            "--ignored",
            "--test-threads=1",
        ])
        .env("SSL_CERT_FILE", fixture("ca.pem"))
        .env("SKEP_TEST_SYSTEM_STORE_CHILD", "1")
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&output.stdout);

    assert!(output.status.success(), "{printed}");
    assert!(printed.contains("1 passed"), "{printed}");
}

/// Run by [`a_certificate_signed_by_a_ca_of_the_system_store_is_trusted`] only.
#[tokio::test]
#[ignore = "run by a_certificate_signed_by_a_ca_of_the_system_store_is_trusted"]
async fn system_store_child() {
    assert_eq!(
        std::env::var("SKEP_TEST_SYSTEM_STORE_CHILD").as_deref(),
        Ok("1"),
        "run by the parent test only"
    );
    let cluster = tls_cluster().await;

    let opened = ElasticStore::open(&settings_for(&cluster)).await;

    assert!(opened.is_ok(), "{opened:?}");
}
