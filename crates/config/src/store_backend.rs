//! The mapping from `[store]` to the backend `skep-store` opens.

use std::path::Path;

use crate::{StoreBackend, StoreConfig};

impl StoreConfig {
    /// The backend to open: SQLite at `sqlite_path` (else `data_dir/default_file`), or
    /// Elasticsearch with the `[store.elasticsearch]` settings.
    pub fn backend(&self, data_dir: &Path, default_file: &str) -> skep_store::Backend {
        match self.backend {
            StoreBackend::Sqlite => skep_store::Backend::Sqlite {
                path: self
                    .sqlite_path
                    .clone()
                    .unwrap_or_else(|| data_dir.join(default_file)),
            },
            StoreBackend::Elasticsearch => {
                let es = &self.elasticsearch;
                skep_store::Backend::Elasticsearch(skep_store::elasticsearch::EsSettings {
                    url: es.url.clone(),
                    username: es.username.clone(),
                    password: es
                        .password
                        .as_ref()
                        .map(|secret| secret.expose().to_owned()),
                    // `cases.db` → `skep_cases`: each service its own indices by default.
                    index_prefix: es.index_prefix_or(&format!(
                        "skep_{}",
                        Path::new(default_file)
                            .file_stem()
                            .map_or_else(String::new, |stem| stem.to_string_lossy().into_owned())
                    )),
                    tls_ca_file: es.tls_ca_file.clone(),
                    tls_insecure: es.tls_insecure,
                    ..Default::default()
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ElasticsearchConfig, Secret};
    use std::path::PathBuf;

    #[test]
    fn the_default_backend_is_sqlite_in_the_data_directory() {
        let backend = StoreConfig::default().backend(Path::new("/data"), "cases.db");

        assert_eq!(
            backend,
            skep_store::Backend::Sqlite {
                path: PathBuf::from("/data/cases.db")
            }
        );
    }

    #[test]
    fn an_explicit_sqlite_path_replaces_the_default_file() {
        let config = StoreConfig {
            sqlite_path: Some(PathBuf::from("/elsewhere/x.db")),
            ..StoreConfig::default()
        };

        let backend = config.backend(Path::new("/data"), "cases.db");

        assert_eq!(
            backend,
            skep_store::Backend::Sqlite {
                path: PathBuf::from("/elsewhere/x.db")
            }
        );
    }

    #[test]
    fn the_elasticsearch_backend_carries_every_connection_setting() {
        let config = StoreConfig {
            backend: StoreBackend::Elasticsearch,
            sqlite_path: None,
            elasticsearch: ElasticsearchConfig {
                url: "https://es:9200".into(),
                username: Some("elastic".into()),
                password: Some(Secret::new("pw")),
                index_prefix: "prod".into(),
                tls_ca_file: Some(PathBuf::from("/ca.pem")),
                tls_insecure: true,
            },
        };

        let backend = config.backend(Path::new("/data"), "cases.db");

        let skep_store::Backend::Elasticsearch(settings) = backend else {
            panic!("expected elasticsearch, got {backend:?}");
        };
        assert_eq!(settings.url, "https://es:9200");
        assert_eq!(settings.username.as_deref(), Some("elastic"));
        assert_eq!(settings.password.as_deref(), Some("pw"));
        assert_eq!(settings.index_prefix, "prod");
        assert_eq!(settings.tls_ca_file, Some(PathBuf::from("/ca.pem")));
        assert!(settings.tls_insecure);
    }

    #[test]
    fn each_service_gets_its_own_index_prefix_unless_one_is_configured() {
        let config = StoreConfig {
            backend: StoreBackend::Elasticsearch,
            ..StoreConfig::default()
        };
        let prefix = |config: &StoreConfig, file: &str| match config.backend(Path::new("/d"), file)
        {
            skep_store::Backend::Elasticsearch(settings) => settings.index_prefix,
            other => panic!("expected elasticsearch, got {other:?}"),
        };

        assert_eq!(prefix(&config, "cases.db"), "skep_cases");
        assert_eq!(prefix(&config, "engine.db"), "skep_engine");
        let mut shared = config.clone();
        shared.elasticsearch.index_prefix = "soc".into();
        assert_eq!(prefix(&shared, "cases.db"), "soc");
    }
}
