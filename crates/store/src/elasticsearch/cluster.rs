//! Talking to the cluster: the client built from [`EsSettings`], the replies it gets, and how
//! answers map to [`StoreError`]s (no answer: unavailable; overload: unavailable; a refused
//! query: invalid; anything else unexpected: a backend failure).

use std::time::Duration;

use elasticsearch::auth::Credentials;
use elasticsearch::cert::{Certificate, CertificateValidation};
use elasticsearch::http::Url;
use elasticsearch::http::response::Response;
use elasticsearch::http::transport::{
    MultiNodeConnectionPool, SingleNodeConnectionPool, Transport, TransportBuilder,
};
use serde_json::Value;

use super::EsSettings;
use crate::error::{DUPLICATE, STALE_VERSION};
use crate::{StoreError, Version};

/// Time a single request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// What the cluster answered: the status and the JSON body (`null` when empty).
pub(super) struct Reply {
    pub(super) status: u16,
    pub(super) body: Value,
}

/// The node URLs of `settings.url` (several separated by commas).
pub(super) fn node_urls(setting: &str) -> crate::Result<Vec<Url>> {
    let urls = setting
        .split(',')
        .map(str::trim)
        .filter(|url| !url.is_empty())
        .map(|url| {
            Url::parse(url).map_err(|error| {
                backend(
                    anyhow::Error::new(error).context(format!("invalid elasticsearch url `{url}`")),
                )
            })
        })
        .collect::<crate::Result<Vec<_>>>()?;
    if urls.is_empty() {
        return Err(backend(anyhow::anyhow!(
            "invalid elasticsearch url `{setting}`: no node given"
        )));
    }
    Ok(urls)
}

/// Builds the HTTP transport: the nodes in turn (round robin), API-key or basic
/// authentication, the TLS trust asked for. The system's CA store is trusted next to the
/// bundled web roots (reqwest's `rustls-tls-native-roots`; `SSL_CERT_FILE`/`SSL_CERT_DIR` move
/// it), plus `tls_ca_file`.
pub(super) async fn transport(settings: &EsSettings) -> crate::Result<Transport> {
    let mut urls = node_urls(&settings.url)?;
    let builder = if urls.len() == 1 {
        TransportBuilder::new(SingleNodeConnectionPool::new(urls.remove(0)))
    } else {
        // No reseeding: sniffing the nodes needs more privileges than Skep's role has.
        TransportBuilder::new(MultiNodeConnectionPool::round_robin(urls, None))
    };
    let mut builder = builder.timeout(REQUEST_TIMEOUT);
    if let Some(key) = &settings.api_key {
        builder = builder.auth(Credentials::EncodedApiKey(key.clone()));
    } else if let Some(username) = &settings.username {
        let password = settings.password.clone().unwrap_or_default();
        builder = builder.auth(Credentials::Basic(username.clone(), password));
    }
    if settings.tls_insecure {
        builder = builder.cert_validation(CertificateValidation::None);
    } else if let Some(path) = &settings.tls_ca_file {
        let pem = tokio::fs::read(path).await.map_err(|error| {
            backend(
                anyhow::Error::new(error)
                    .context(format!("cannot read CA file {}", path.display())),
            )
        })?;
        let certificate = Certificate::from_pem(&pem).map_err(|error| {
            backend(
                anyhow::Error::new(error).context(format!("invalid CA file {}", path.display())),
            )
        })?;
        builder = builder.cert_validation(CertificateValidation::Full(certificate));
    }
    builder.build().map_err(|error| {
        backend(anyhow::Error::new(error).context("cannot build the elasticsearch client"))
    })
}

pub(super) use crate::ids::generate_id;

/// Waits for the answer of a request; no answer at all means the cluster is unreachable.
pub(super) async fn reply(result: Result<Response, elasticsearch::Error>) -> crate::Result<Reply> {
    let response = result.map_err(unreachable)?;
    let status = response.status_code().as_u16();
    let text = response.text().await.map_err(unreachable)?;
    body_of(status, &text).map(|body| Reply { status, body })
}

/// The JSON of an answer. A proxy or load balancer in front of a starting or overloaded
/// cluster answers 502, 503 or 504 with an HTML page: that is the cluster being unavailable,
/// not a backend failure.
pub(super) fn body_of(status: u16, text: &str) -> crate::Result<Value> {
    if text.trim().is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_str(text).map_err(|error| {
        let error = anyhow::Error::new(error)
            .context(format!("elasticsearch answered {status} with invalid JSON"));
        match status {
            502..=504 => StoreError::Unavailable(error),
            _ => backend(error),
        }
    })
}

/// The same error again, for each document of a request that failed as a whole.
pub(super) fn copy_error(error: &StoreError) -> StoreError {
    match error {
        StoreError::NotFound { kind, id } => not_found(kind, id),
        StoreError::Conflict { kind, id, reason } => StoreError::Conflict {
            kind: kind.clone(),
            id: id.clone(),
            reason: reason.clone(),
        },
        StoreError::InvalidQuery(message) => StoreError::InvalidQuery(message.clone()),
        StoreError::Unavailable(error) => StoreError::Unavailable(anyhow::anyhow!("{error:#}")),
        StoreError::Backend(error) => backend(anyhow::anyhow!("{error:#}")),
    }
}

/// Whether a request failed before reaching its node (connection refused or reset while
/// connecting, name resolution, TLS handshake): sending it to another node cannot apply it twice.
pub(super) fn never_sent(error: &elasticsearch::Error) -> bool {
    std::error::Error::source(error)
        .and_then(|source| source.downcast_ref::<reqwest::Error>())
        .is_some_and(reqwest::Error::is_connect)
}

/// Sends the request `make` builds and waits for its answer; a request that could not reach
/// its node is built and sent again, to the next node of the pool, up to once per node.
pub(super) async fn send_to_any<F, Fut>(nodes: usize, mut make: F) -> crate::Result<Reply>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Response, elasticsearch::Error>>,
{
    let mut tried = 1;
    loop {
        match make().await {
            Err(error) if tried < nodes && never_sent(&error) => {
                tracing::warn!(error = %error, "an elasticsearch node is unreachable; trying the next");
                tried += 1;
            }
            result => return reply(result).await,
        }
    }
}

pub(super) fn unreachable(error: elasticsearch::Error) -> StoreError {
    StoreError::Unavailable(anyhow::Error::new(error).context("cannot reach elasticsearch"))
}

pub(super) fn backend(error: anyhow::Error) -> StoreError {
    StoreError::Backend(error)
}

pub(super) fn malformed(what: &str) -> StoreError {
    backend(anyhow::anyhow!("elasticsearch response without {what}"))
}

pub(super) fn error_text(error: &Value) -> String {
    let kind = error["type"].as_str().unwrap_or("unknown error");
    let reason = error["root_cause"][0]["reason"]
        .as_str()
        .or_else(|| error["reason"].as_str())
        .unwrap_or("no reason given");
    format!("{kind}: {reason}")
}

/// An answer no operation expects: overload and gateway errors mean the cluster is unavailable,
/// anything else is a backend failure.
pub(super) fn unexpected(reply: &Reply, action: &str) -> StoreError {
    let error = anyhow::anyhow!(
        "elasticsearch {action} answered {}: {}",
        reply.status,
        error_text(&reply.body["error"])
    );
    match reply.status {
        429 | 502 | 503 | 504 => StoreError::Unavailable(error),
        _ => StoreError::Backend(error),
    }
}

/// A search refused as malformed (a metric over a text field, a sort on an object…).
pub(super) fn invalid_query(reply: &Reply) -> StoreError {
    StoreError::InvalidQuery(error_text(&reply.body["error"]))
}

/// A failed search, count or aggregation: malformed (400), too large for the cluster's limits
/// (whatever status it came with), or [`unexpected`].
///
/// The limits: `search.max_buckets` (older clusters answer 503) and the boolean clause limit
/// (`indices.query.bool.max_clause_count`, 1,024 on 7.17; a `_contains` on an object with many
/// paths below it, or a query string with many terms, reaches it; answered 500 on 7.x). Both
/// are the request's fault, not the cluster's: an invalid query saying which limit was hit.
pub(super) fn search_failure(reply: &Reply, action: &str) -> StoreError {
    let text = reply.body.to_string();
    if text.contains("too_many_clauses") || text.contains("too_many_nested_clauses") {
        return StoreError::InvalidQuery(format!(
            "the query has more clauses than the cluster allows \
             (indices.query.bool.max_clause_count): {}; narrow `_contains` to a leaf field or \
             use fewer terms",
            error_text(&reply.body["error"])
        ));
    }
    if reply.status == 400 || text.contains("too_many_buckets_exception") {
        return invalid_query(reply);
    }
    unexpected(reply, action)
}

/// Whether the answer says the index does not exist (reads answer as if it were empty).
pub(super) fn is_missing_index(reply: &Reply) -> bool {
    reply.status == 404 && reply.body["error"]["type"] == "index_not_found_exception"
}

pub(super) fn not_found(kind: &str, id: &str) -> StoreError {
    StoreError::NotFound {
        kind: kind.to_owned(),
        id: id.to_owned(),
    }
}

pub(super) fn duplicate(kind: &str, id: &str) -> StoreError {
    StoreError::Conflict {
        kind: kind.to_owned(),
        id: id.to_owned(),
        reason: DUPLICATE.to_owned(),
    }
}

pub(super) fn stale(kind: &str, id: &str) -> StoreError {
    StoreError::Conflict {
        kind: kind.to_owned(),
        id: id.to_owned(),
        reason: STALE_VERSION.to_owned(),
    }
}

pub(super) fn version_of(body: &Value) -> crate::Result<Version> {
    let seq_no = body["_seq_no"]
        .as_u64()
        .ok_or_else(|| malformed("_seq_no"))?;
    let primary_term = body["_primary_term"]
        .as_u64()
        .ok_or_else(|| malformed("_primary_term"))?;
    Ok(Version {
        seq_no,
        primary_term,
    })
}

pub(super) fn total_of(response: &Value) -> Option<u64> {
    response["hits"]["total"]["value"].as_u64()
}

pub(super) fn hits_of(response: &Value) -> crate::Result<&Vec<Value>> {
    response["hits"]["hits"]
        .as_array()
        .ok_or_else(|| malformed("hits"))
}

/// Elasticsearch takes sequence numbers as signed; ours come from it, so they fit.
pub(super) fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn generated_ids_are_twenty_url_safe_characters() {
        let id = generate_id();

        assert_eq!(id.len(), 20);
        assert!(
            id.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        assert_ne!(id, generate_id());
    }

    #[test]
    fn overload_answers_are_unavailable_and_others_backend_failures() {
        let reply = |status| Reply {
            status,
            body: json!({"error": {"type": "x_exception", "reason": "because"}}),
        };

        assert!(matches!(
            unexpected(&reply(503), "search"),
            StoreError::Unavailable(_)
        ));
        assert!(matches!(
            unexpected(&reply(429), "search"),
            StoreError::Unavailable(_)
        ));
        assert!(matches!(
            unexpected(&reply(500), "search"),
            StoreError::Backend(_)
        ));
        assert_eq!(
            format!(
                "{:#}",
                anyhow::Error::new(unexpected(&reply(500), "search"))
            ),
            "storage backend failed: elasticsearch search answered 500: x_exception: because"
        );
    }

    #[test]
    fn html_gateway_pages_are_unavailable_and_other_non_json_a_backend_failure() {
        for status in [502, 503, 504] {
            let error = body_of(status, "<html><body>Bad Gateway</body></html>").unwrap_err();
            assert!(
                matches!(error, StoreError::Unavailable(_)),
                "{status}: {error:?}"
            );
        }
        let error = body_of(500, "<html>oops</html>").unwrap_err();

        assert!(matches!(error, StoreError::Backend(_)), "{error:?}");
        assert_eq!(body_of(200, " ").unwrap(), Value::Null);
    }

    #[test]
    fn too_many_clauses_is_an_invalid_query_naming_the_limit_whatever_the_status() {
        let reply = Reply {
            status: 500,
            body: json!({"error": {"type": "search_phase_execution_exception", "reason": "all shards failed",
                "root_cause": [{"type": "too_many_clauses", "reason": "maxClauseCount is set to 1024"}]}}),
        };

        let error = search_failure(&reply, "search");

        assert!(matches!(error, StoreError::InvalidQuery(_)), "{error:?}");
        assert!(error.to_string().contains("max_clause_count"), "{error}");
        assert!(
            error.to_string().contains("maxClauseCount is set to 1024"),
            "{error}"
        );
    }

    #[test]
    fn several_node_urls_are_split_at_commas() {
        let urls = node_urls("https://es1:9200, https://es2:9200").unwrap();

        assert_eq!(
            urls.iter().map(Url::as_str).collect::<Vec<_>>(),
            ["https://es1:9200/", "https://es2:9200/"]
        );
        assert!(node_urls(" , ").is_err());
        assert!(node_urls("not a url").is_err());
    }

    #[test]
    fn refused_queries_report_the_root_cause() {
        let reply = Reply {
            status: 400,
            body: json!({"error": {"type": "search_phase_execution_exception", "reason": "all shards failed",
                         "root_cause": [{"type": "illegal_argument_exception",
                                         "reason": "Field [title] of type [keyword] is not supported for aggregation [avg]"}]}}),
        };

        let error = invalid_query(&reply);

        assert_eq!(
            error.to_string(),
            "invalid query: search_phase_execution_exception: Field [title] of type [keyword] is not supported for aggregation [avg]"
        );
    }
}
