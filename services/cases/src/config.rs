//! `CasesConfig`: the shared `http` and `store` sections plus the cases service's own settings.

use std::path::PathBuf;

use serde::Deserialize;
use skep_config::{HttpConfig, Secret, StoreConfig};

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
    /// The analysis-engine connector (`[[cortex.servers]]`, `[cortex] refresh_seconds`). With
    /// no server, `/api/status` reports no connector (as TheHive without the Cortex module).
    pub cortex: CortexConfig,
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
            cortex: CortexConfig::default(),
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

/// Authentication settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// Session inactivity timeout, in minutes (sliding).
    pub session_ttl_minutes: u64,
    /// Failed logins per account and source before logins are refused for a while.
    pub max_login_failures: u32,
    /// How long a refused login source stays refused, in seconds.
    pub login_lockout_seconds: u64,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            session_ttl_minutes: 60,
            max_login_failures: 10,
            login_lockout_seconds: 300,
        }
    }
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

/// The analysis-engine connector, as TheHive's `cortex { NAME { url, key } }`: one table per
/// engine under `[[cortex.servers]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CortexConfig {
    /// The engines analyzers and responders run on, in the order they are tried.
    pub servers: Vec<CortexServerConfig>,
    /// Longest wait of one `waitreport` call while following a job, in seconds; also the
    /// longest pause between retries while an engine is unreachable.
    pub refresh_seconds: u64,
}

impl Default for CortexConfig {
    fn default() -> Self {
        CortexConfig {
            servers: Vec::new(),
            refresh_seconds: 60,
        }
    }
}

/// One engine the connector calls.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CortexServerConfig {
    /// Display name (`cortexId` in the API), e.g. `ENGINE-1`.
    pub name: String,
    /// Base URL, e.g. `http://127.0.0.1:9001`.
    pub url: String,
    /// API key of an engine user with the roles read and analyze.
    pub key: Secret,
    /// PEM file of extra CA certificates trusted for an `https` URL.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Accept any certificate (test set-ups only).
    #[serde(default)]
    pub tls_insecure: bool,
    /// Time limit of one call, in seconds (a `waitreport` call gets its wait on top).
    #[serde(default = "default_timeout_seconds")]
    pub timeout_seconds: u64,
}

fn default_timeout_seconds() -> u64 {
    30
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
        assert!(config.cortex.servers.is_empty());
        assert_eq!(config.cortex.refresh_seconds, 60);
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
    fn cortex_servers_are_read_as_an_array_of_tables() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cases.toml");
        std::fs::write(
            &path,
            "[cortex]\nrefresh_seconds = 5\n\n[[cortex.servers]]\nname = \"ENGINE-1\"\n\
             url = \"http://127.0.0.1:9001\"\nkey = \"k1\"\n\n[[cortex.servers]]\n\
             name = \"ENGINE-2\"\nurl = \"https://engine.example\"\nkey = \"k2\"\n\
             ca_file = \"/etc/skep/engine-ca.pem\"\ntls_insecure = false\ntimeout_seconds = 10\n",
        )
        .unwrap();

        let config: CasesConfig = skep_config::load(Some(&path), &HashMap::new()).unwrap();

        assert_eq!(config.cortex.refresh_seconds, 5);
        let servers = &config.cortex.servers;
        assert_eq!(servers.len(), 2);
        assert_eq!(servers[0].name, "ENGINE-1");
        assert_eq!(servers[0].key.expose(), "k1");
        assert_eq!(servers[0].timeout_seconds, 30);
        assert_eq!(servers[0].ca_file, None);
        assert_eq!(servers[1].timeout_seconds, 10);
        assert_eq!(
            servers[1].ca_file.as_deref(),
            Some(std::path::Path::new("/etc/skep/engine-ca.pem"))
        );
    }

    #[test]
    fn a_cortex_server_without_a_key_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cases.toml");
        std::fs::write(
            &path,
            "[[cortex.servers]]\nname = \"E\"\nurl = \"http://x\"\n",
        )
        .unwrap();

        let error = skep_config::load::<CasesConfig>(Some(&path), &HashMap::new()).unwrap_err();

        assert!(error.to_string().contains("key"), "{error}");
    }

    #[test]
    fn an_unknown_key_is_refused_with_its_name() {
        let error = load(&[("SKEP_AUTH__BASICS", "true")]).unwrap_err();

        assert!(error.to_string().contains("basics"), "{error}");
    }
}
