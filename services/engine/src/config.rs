//! The engine's configuration: shared `http` and `store` sections, the data directory, first-run
//! bootstrap, authentication settings, and the `workers` section.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use skep_config::{AuthConfig, HttpConfig, Secret, StoreConfig};

pub use crate::config_workers::WorkersConfig;

/// Default listen port of the engine (the Cortex port).
pub const DEFAULT_PORT: u16 = 9001;

/// Everything the engine reads at start.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EngineConfig {
    /// Listen address, body limit and server secret (signs sessions, seals API keys); port 9001
    /// unless set.
    #[serde(deserialize_with = "http_section")]
    pub http: HttpConfig,
    /// Storage backend; the default is SQLite at `<data_dir>/engine.db`.
    pub store: StoreConfig,
    /// Directory for the embedded database and the generated server secret.
    pub data_dir: PathBuf,
    /// First administrator for unattended installs.
    pub bootstrap: BootstrapConfig,
    /// Login and session settings.
    pub auth: AuthConfig,
    /// Worker catalogs, runners and jobs.
    pub workers: WorkersConfig,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            http: HttpConfig::with_port(DEFAULT_PORT),
            store: StoreConfig::default(),
            data_dir: PathBuf::from(".skep-data"),
            bootstrap: BootstrapConfig::default(),
            auth: AuthConfig::default(),
            workers: WorkersConfig::default(),
        }
    }
}

/// Reads `[http]` over the engine's defaults, so a section without `port` keeps 9001.
fn http_section<'de, D: serde::Deserializer<'de>>(input: D) -> Result<HttpConfig, D::Error> {
    HttpConfig::deserialize_over(HttpConfig::with_port(DEFAULT_PORT), input)
}

impl EngineConfig {
    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }
}

/// Creates the first superadmin at start when the engine has no user yet.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct BootstrapConfig {
    /// Login of the superadmin to create (in organisation `cortex`); absent: no bootstrap, the
    /// first `POST /api/user` creates it instead.
    pub admin_login: Option<String>,
    /// Its password; absent: a random one is generated and shown once.
    pub admin_password: Option<Secret>,
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn load(pairs: &[(&str, &str)]) -> Result<EngineConfig, skep_config::ConfigError> {
        let env: HashMap<String, String> = pairs
            .iter()
            .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
            .collect();
        skep_config::load(None, &env)
    }

    #[test]
    fn nothing_configured_gives_port_9001_and_sqlite_under_the_data_dir() {
        let config = load(&[]).unwrap();

        assert_eq!(config.http.port, 9001);
        assert!(!config.http.basic_auth);
        assert_eq!(config.data_dir, PathBuf::from(".skep-data"));
        assert_eq!(config.auth.session_ttl_minutes, 60);
    }

    #[test]
    fn an_http_section_without_port_keeps_9001() {
        let config = load(&[("SKEP_HTTP__HOST", "0.0.0.0")]).unwrap();

        assert_eq!(config.http.host, "0.0.0.0");
        assert_eq!(config.http.port, 9001);
    }

    #[test]
    fn the_bootstrap_admin_and_auth_settings_come_from_the_environment() {
        let config = load(&[
            ("SKEP_BOOTSTRAP__ADMIN_LOGIN", "root"),
            ("SKEP_BOOTSTRAP__ADMIN_PASSWORD", "0123"),
            ("SKEP_AUTH__LOGIN_MAX_FAILURES", "3"),
        ])
        .unwrap();

        assert_eq!(config.bootstrap.admin_login.as_deref(), Some("root"));
        assert_eq!(
            config.bootstrap.admin_password.as_ref().unwrap().expose(),
            "0123"
        );
        assert_eq!(config.auth.login_max_failures, 3);
        assert!(!format!("{config:?}").contains("0123"));
    }

    #[test]
    fn an_unknown_key_is_refused() {
        let error = load(&[("SKEP_AUTH__BASIC_LOGIN", "true")]).unwrap_err();

        assert!(error.to_string().contains("basic_login"), "{error}");
    }
}
