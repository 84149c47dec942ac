//! The Elasticsearch backend: one index per kind, queries translated by pure functions
//! ([`to_es_query`], [`to_es_aggregations`]), optimistic concurrency on `_seq_no`/`_primary_term`.
//!
//! Start at [`ElasticStore::open`]; the index layout is in [`mapping`], the query translation in
//! [`translate`], the `_stats` aggregations in [`aggregate`]. `docs/elasticsearch.md` describes
//! the configuration, the mapping and the limits.

pub mod aggregate;
mod cluster;
pub mod mapping;
mod store;
pub mod translate;

use std::path::PathBuf;
use std::time::Duration;

pub use aggregate::{from_es_aggregations, to_es_aggregations};
pub use store::ElasticStore;
pub use translate::to_es_query;

/// The index prefix used when a configuration names none. Each service passes its own
/// (`skep_cases`, `skep_engine`), so two services sharing a cluster never share an index.
pub const DEFAULT_INDEX_PREFIX: &str = "skep";

/// How to reach an Elasticsearch cluster.
#[derive(Clone, PartialEq, Eq)]
pub struct EsSettings {
    /// Base URL of a node, such as `http://localhost:9200` or `https://es.internal:9200`; several
    /// nodes separated by commas (`https://es1:9200,https://es2:9200`), used in turn.
    pub url: String,
    /// User name for basic authentication; none sends no credentials.
    pub username: Option<String>,
    /// Password for basic authentication (used with `username`).
    pub password: Option<String>,
    /// API key, base64-encoded `id:key` as Elasticsearch's create-API-key answer gives it in
    /// `encoded`; sent as `Authorization: ApiKey …` instead of basic authentication.
    pub api_key: Option<String>,
    /// Prefix of every index name: documents of kind `case` live in `<prefix>.case`. Lowercase
    /// letters, digits, `_` and `-`, not starting with `_` or `-`.
    pub index_prefix: String,
    /// PEM file of the certificate authority that signed the cluster's certificate, trusted in
    /// addition to the system roots.
    pub tls_ca_file: Option<PathBuf>,
    /// Accepts any server certificate (self-signed test clusters only: this disables the
    /// protection TLS gives).
    pub tls_insecure: bool,
    /// How long opening the store waits for a cluster that does not answer yet, or answers that
    /// it is starting (503), before giving up with [`crate::StoreError::Unavailable`].
    pub startup_timeout: Duration,
}

impl Default for EsSettings {
    fn default() -> Self {
        EsSettings {
            url: "http://localhost:9200".to_owned(),
            username: None,
            password: None,
            api_key: None,
            index_prefix: DEFAULT_INDEX_PREFIX.to_owned(),
            tls_ca_file: None,
            tls_insecure: false,
            startup_timeout: Duration::from_secs(120),
        }
    }
}

// Written by hand so that the password never reaches a log line.
impl std::fmt::Debug for EsSettings {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("EsSettings")
            .field("url", &self.url)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "[redacted]"))
            .field("api_key", &self.api_key.as_ref().map(|_| "[redacted]"))
            .field("index_prefix", &self.index_prefix)
            .field("tls_ca_file", &self.tls_ca_file)
            .field("tls_insecure", &self.tls_insecure)
            .field("startup_timeout", &self.startup_timeout)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_default_to_a_local_node_and_the_skep_prefix() {
        let settings = EsSettings::default();

        assert_eq!(settings.url, "http://localhost:9200");
        assert_eq!(settings.index_prefix, "skep");
        assert!(!settings.tls_insecure);
    }

    #[test]
    fn debug_output_hides_the_password() {
        let settings = EsSettings {
            username: Some("elastic".into()),
            password: Some("hunter2".into()),
            api_key: Some("c2VjcmV0LWtleQ==".into()),
            ..EsSettings::default()
        };

        let printed = format!("{settings:?}");

        assert!(printed.contains("elastic"));
        assert!(printed.contains("[redacted]"));
        assert!(!printed.contains("hunter2"));
        assert!(!printed.contains("c2VjcmV0LWtleQ"));
    }
}
