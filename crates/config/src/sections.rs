//! The sections every service shares: `[http]` and `[store]`.

use std::path::PathBuf;

use serde::Deserialize;

use crate::{ConfigError, Secret, validate_url};

/// 100 MiB: the default request body limit (attachments and job inputs travel in bodies).
const DEFAULT_MAX_BODY_BYTES: usize = 100 * 1024 * 1024;

/// `[http]`: where a service listens and the secret that keys its sessions and API keys.
///
/// The shared default `port` is 0 (a port chosen by the operating system). Each service puts
/// its own port in its `Default` (cases 9000, engine 9001), e.g. with [`HttpConfig::with_port`].
/// Serde fills the fields missing from a written `[http]` section from [`HttpConfig::default`],
/// not from the service's default; to keep the service's port when a deployment writes
/// `[http]` without `port`, a service deserializes the field with
/// [`HttpConfig::deserialize_over`]:
///
/// ```
/// # use serde::Deserialize;
/// # use skep_config::HttpConfig;
/// #[derive(Deserialize)]
/// #[serde(deny_unknown_fields, default)]
/// struct ServiceConfig {
///     /// Listening address and secret; port 9000 unless set.
///     #[serde(deserialize_with = "http_section")]
///     http: HttpConfig,
/// }
///
/// impl Default for ServiceConfig {
///     fn default() -> Self {
///         ServiceConfig { http: HttpConfig::with_port(9000) }
///     }
/// }
///
/// fn http_section<'de, D: serde::Deserializer<'de>>(input: D) -> Result<HttpConfig, D::Error> {
///     HttpConfig::deserialize_over(HttpConfig::with_port(9000), input)
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Address to listen on; `0.0.0.0` to accept connections from other machines.
    pub host: String,
    /// TCP port to listen on; 0 lets the operating system choose one (used by tests).
    pub port: u16,
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    /// Server secret that signs sessions and seals API keys. When empty, the service generates
    /// one on first start and keeps it under its data directory.
    pub secret: Secret,
    /// Accept `Authorization: Basic` credentials in addition to sessions and API keys.
    pub basic_auth: bool,
    /// Mark the session and CSRF cookies `Secure`, so browsers send them over HTTPS only. Turn
    /// on when users reach the service through HTTPS (a TLS-terminating proxy).
    pub secure_cookies: bool,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            host: "127.0.0.1".to_owned(),
            port: 0,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            secret: Secret::default(),
            basic_auth: false,
            secure_cookies: false,
        }
    }
}

impl HttpConfig {
    /// The defaults with a service's own port.
    pub fn with_port(port: u16) -> HttpConfig {
        HttpConfig {
            port,
            ..HttpConfig::default()
        }
    }

    /// Deserializes an `[http]` section over `base`: keys the section sets replace those of
    /// `base`, the others keep `base`'s values (unlike plain deserialization, which takes them
    /// from [`HttpConfig::default`]). Unknown keys are rejected as usual.
    pub fn deserialize_over<'de, D: serde::Deserializer<'de>>(
        base: HttpConfig,
        deserializer: D,
    ) -> Result<HttpConfig, D::Error> {
        let patch = HttpPatch::deserialize(deserializer)?;
        // Destructured so that a new field cannot be forgotten here.
        let HttpConfig {
            host,
            port,
            max_body_bytes,
            secret,
            basic_auth,
            secure_cookies,
        } = base;
        Ok(HttpConfig {
            host: patch.host.unwrap_or(host),
            port: patch.port.unwrap_or(port),
            max_body_bytes: patch.max_body_bytes.unwrap_or(max_body_bytes),
            secret: patch.secret.unwrap_or(secret),
            basic_auth: patch.basic_auth.unwrap_or(basic_auth),
            secure_cookies: patch.secure_cookies.unwrap_or(secure_cookies),
        })
    }

    /// Checks values serde cannot: a non-empty host and a non-zero body limit.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.host.trim().is_empty() {
            return Err(ConfigError::InvalidValue {
                key: "http.host".to_owned(),
                message: "must not be empty (e.g. `127.0.0.1` or `0.0.0.0`)".to_owned(),
            });
        }
        if self.max_body_bytes == 0 {
            return Err(ConfigError::InvalidValue {
                key: "http.max_body_bytes".to_owned(),
                message: "must be greater than 0".to_owned(),
            });
        }
        Ok(())
    }
}

/// The keys an `[http]` section sets, for [`HttpConfig::deserialize_over`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HttpPatch {
    host: Option<String>,
    port: Option<u16>,
    max_body_bytes: Option<usize>,
    secret: Option<Secret>,
    basic_auth: Option<bool>,
    secure_cookies: Option<bool>,
}

/// Which storage backend a service uses.
///
/// Written in lowercase (`sqlite`, `elasticsearch`); an unknown name is an error that lists the
/// valid ones.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum StoreBackend {
    /// One embedded SQLite file under the data directory: nothing to install.
    #[default]
    Sqlite,
    /// An Elasticsearch cluster, configured in `[store.elasticsearch]`.
    Elasticsearch,
}

impl StoreBackend {
    /// Every backend name, as written in configuration.
    pub const NAMES: [&'static str; 2] = ["sqlite", "elasticsearch"];

    /// The name of the backend as written in configuration.
    pub fn name(self) -> &'static str {
        match self {
            StoreBackend::Sqlite => "sqlite",
            StoreBackend::Elasticsearch => "elasticsearch",
        }
    }
}

impl<'de> Deserialize<'de> for StoreBackend {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        match name.to_ascii_lowercase().as_str() {
            "sqlite" => Ok(StoreBackend::Sqlite),
            "elasticsearch" => Ok(StoreBackend::Elasticsearch),
            _ => Err(serde::de::Error::custom(format!(
                "unknown backend `{name}`, expected one of `sqlite`, `elasticsearch`"
            ))),
        }
    }
}

/// `[store]`: the storage backend and how to reach it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// `sqlite` (default) or `elasticsearch`.
    pub backend: StoreBackend,
    /// SQLite database file; by default `<data_dir>/<service>.db`.
    pub sqlite_path: Option<PathBuf>,
    /// Connection settings used when `backend = "elasticsearch"`.
    pub elasticsearch: ElasticsearchConfig,
}

impl StoreConfig {
    /// Checks values serde cannot: with the Elasticsearch backend, a valid URL (the store checks
    /// the index prefix's characters when it opens).
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.backend == StoreBackend::Elasticsearch {
            validate_url("store.elasticsearch.url", &self.elasticsearch.url)?;
        }
        Ok(())
    }
}

/// `[store.elasticsearch]`: how to reach the cluster.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ElasticsearchConfig {
    /// Cluster URL.
    pub url: String,
    /// User name for basic authentication, if the cluster requires it.
    pub username: Option<String>,
    /// Password for basic authentication.
    pub password: Option<Secret>,
    /// Prefix of every index name, so several deployments can share a cluster. Empty (the
    /// default): the service's own, `skep_cases` or `skep_engine`, so that two services sharing
    /// a configuration never share an index.
    pub index_prefix: String,
    /// PEM file of the certificate authority that signed the cluster's certificate.
    pub tls_ca_file: Option<PathBuf>,
    /// Accept any server certificate. For tests only: it disables TLS server authentication.
    pub tls_insecure: bool,
}

impl ElasticsearchConfig {
    /// The configured index prefix, or `service_default` when none is configured.
    pub fn index_prefix_or(&self, service_default: &str) -> String {
        match self.index_prefix.trim() {
            "" => service_default.to_owned(),
            prefix => prefix.to_owned(),
        }
    }
}

impl Default for ElasticsearchConfig {
    fn default() -> Self {
        ElasticsearchConfig {
            url: "http://localhost:9200".to_owned(),
            username: None,
            password: None,
            index_prefix: String::new(),
            tls_ca_file: None,
            tls_insecure: false,
        }
    }
}
