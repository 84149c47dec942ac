//! Talking to the cluster: the client built from [`EsSettings`], the replies it gets, and how
//! answers map to [`StoreError`]s (no answer: unavailable; overload: unavailable; a refused
//! query: invalid; anything else unexpected: a backend failure).

use std::time::Duration;

use elasticsearch::auth::Credentials;
use elasticsearch::cert::{Certificate, CertificateValidation};
use elasticsearch::http::Url;
use elasticsearch::http::response::Response;
use elasticsearch::http::transport::{SingleNodeConnectionPool, Transport, TransportBuilder};
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

/// Builds the HTTP transport: one node, basic authentication, the TLS trust asked for.
pub(super) async fn transport(settings: &EsSettings) -> crate::Result<Transport> {
    let url = Url::parse(&settings.url).map_err(|error| {
        backend(
            anyhow::Error::new(error)
                .context(format!("invalid elasticsearch url `{}`", settings.url)),
        )
    })?;
    let mut builder =
        TransportBuilder::new(SingleNodeConnectionPool::new(url)).timeout(REQUEST_TIMEOUT);
    if let Some(username) = &settings.username {
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
    let body = if text.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).map_err(|error| {
            backend(
                anyhow::Error::new(error)
                    .context(format!("elasticsearch answered {status} with invalid JSON")),
            )
        })?
    };
    Ok(Reply { status, body })
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
