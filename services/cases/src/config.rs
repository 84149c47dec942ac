//! `CasesConfig`: the shared `http` and `store` sections plus the cases service's own settings.

use std::path::PathBuf;

use serde::Deserialize;
use skep_config::{AuthConfig, HttpConfig, Secret, StoreConfig};

/// Everything the cases service reads at start-up. Every section has defaults, so an empty
/// configuration runs: port 9000, SQLite at `<data_dir>/cases.db`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CasesConfig {
    /// Listening address, body limit and the server secret (generated and kept in `data_dir`
    /// when empty). Port 9000 unless set, even when `[http]` sets other keys.
    #[serde(deserialize_with = "http_section")]
    pub http: HttpConfig,
    /// Storage backend; SQLite `<data_dir>/cases.db` by default.
    pub store: StoreConfig,
    /// Directory for the database file and the generated secret.
    pub data_dir: PathBuf,
    /// Unattended first start: database initialised and first admin created.
    pub bootstrap: BootstrapConfig,
    /// Authentication methods and session lifetime.
    pub auth: AuthConfig,
    /// Attachment storage settings.
    pub datastore: DatastoreConfig,
    /// Observable data types accepted in addition to the `list_artifactDataType` list.
    pub observable_data_types: Vec<String>,
    /// The analysis-engine connector. While absent, `/api/status` reports no connector (as
    /// TheHive does without the Cortex module); when set, its health is reported.
    pub engine: Option<EngineConnectorConfig>,
    /// Alert ingestion settings (upsert default).
    pub alerts: crate::domain::alert::AlertConfig,
    /// Webhook endpoints every audit event is POSTed to, and their retry policy.
    pub webhooks: crate::domain::webhook::WebhookConfig,
    /// `/api/stream` long-poll timings.
    pub stream: crate::domain::stream::StreamConfig,
}

impl Default for CasesConfig {
    fn default() -> Self {
        CasesConfig {
            http: HttpConfig::with_port(DEFAULT_PORT),
            store: StoreConfig::default(),
            data_dir: PathBuf::from(".skep-data"),
            bootstrap: BootstrapConfig::default(),
            auth: AuthConfig::default(),
            datastore: DatastoreConfig::default(),
            observable_data_types: Vec::new(),
            engine: None,
            alerts: Default::default(),
            webhooks: Default::default(),
            stream: Default::default(),
        }
    }
}

/// The default listening port of the cases service (TheHive's).
pub const DEFAULT_PORT: u16 = 9000;

fn http_section<'de, D: serde::Deserializer<'de>>(input: D) -> Result<HttpConfig, D::Error> {
    HttpConfig::deserialize_over(HttpConfig::with_port(DEFAULT_PORT), input)
}

/// Unattended initialisation.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BootstrapConfig {
    /// When set, the database is initialised at start-up and, if no user exists yet, an admin
    /// with this login and the roles read, write, admin and alert is created.
    pub admin_login: Option<String>,
    /// The first admin's password; generated and printed once when absent.
    pub admin_password: Option<Secret>,
    /// An API key given to the first admin (for unattended deployments and tests).
    pub admin_key: Option<Secret>,
}

/// Attachment storage settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatastoreConfig {
    /// Password of the zip archives served by `/api/datastorezip` and the default password of
    /// uploaded archives (`isZip`).
    pub zip_password: String,
}

impl Default for DatastoreConfig {
    fn default() -> Self {
        DatastoreConfig {
            zip_password: "malware".to_owned(),
        }
    }
}

/// The analysis-engine connector (the Cortex-compatible engine). For now `/api/status` checks
/// the engine and reports it under `connectors.cortex`; running analyzers from cases comes
/// later.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EngineConnectorConfig {
    /// Display name of the engine server (`CORTEX-1`-like).
    pub name: String,
    /// Base URL of the engine.
    pub url: String,
    /// API key used to call the engine.
    pub key: Option<Secret>,
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn load(variables: &[(&str, &str)]) -> Result<CasesConfig, skep_config::ConfigError> {
        let env: HashMap<String, String> = variables
            .iter()
            .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
            .collect();
        skep_config::load(None, &env)
    }

    #[test]
    fn an_empty_configuration_runs_on_port_9000_with_sqlite_under_the_data_dir() {
        let config = load(&[]).unwrap();

        assert_eq!(config.http.port, 9000);
        assert_eq!(config.data_dir, PathBuf::from(".skep-data"));
        assert!(!config.http.basic_auth);
        assert_eq!(config.auth.session_ttl_minutes, 60);
        assert_eq!(config.datastore.zip_password, "malware");
        assert!(config.engine.is_none());
    }

    #[test]
    fn environment_variables_set_nested_keys_and_keep_the_default_port() {
        let config = load(&[
            ("SKEP_HTTP__HOST", "0.0.0.0"),
            ("SKEP_HTTP__BASIC_AUTH", "true"),
            ("SKEP_BOOTSTRAP__ADMIN_LOGIN", "root"),
        ])
        .unwrap();

        assert_eq!(config.http.port, 9000);
        assert_eq!(config.http.host, "0.0.0.0");
        assert!(config.http.basic_auth);
        assert_eq!(config.bootstrap.admin_login.as_deref(), Some("root"));
    }

    #[test]
    fn an_unknown_key_is_refused_with_its_name() {
        let error = load(&[("SKEP_AUTH__BASICS", "true")]).unwrap_err();

        assert!(error.to_string().contains("basics"), "{error}");
    }
}
