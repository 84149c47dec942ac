//! `load`: defaults in code, then an optional TOML file, then `SKEP_*` variables.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use config::{Config, Environment, File, FileFormat};
use serde::de::DeserializeOwned;

use crate::ConfigError;

/// The variable that names the configuration file when no path is passed to [`load`].
pub const CONFIG_FILE_VARIABLE: &str = "SKEP_CONFIG";

/// Prefix of the variables that set configuration keys.
const PREFIX: &str = "SKEP_";

/// Prefix of variables that belong to the test harness, not to a service's configuration.
const TEST_PREFIX: &str = "SKEP_TEST_";

/// Loads a configuration of type `T`, layering, from lowest to highest precedence:
///
/// 1. the serde defaults of `T` (every section is `#[serde(default)]`);
/// 2. the TOML file at `file`, else at `SKEP_CONFIG` if `env` has it (a named file must exist);
/// 3. `SKEP_<SECTION>__<KEY>` entries of `env`, where `__` separates nesting levels
///    (`SKEP_STORE__BACKEND=elasticsearch`, `SKEP_HTTP__PORT=8080`).
///
/// Values from variables are strings that convert to numbers or booleans where `T` expects them
/// (`true`/`false`/`1`/`0`/`yes`/`no`/`on`/`off`), while string fields keep the exact text (a
/// password `0123` stays `0123`). `SKEP_CONFIG` and `SKEP_TEST_*` are not configuration keys.
/// Errors name the key to fix (`invalid value for `http.port`: …`, `unknown key `store.backnd``).
pub fn load<T: DeserializeOwned>(
    file: Option<&Path>,
    env: &HashMap<String, String>,
) -> Result<T, ConfigError> {
    let mut builder = Config::builder();
    let file = file
        .map(Path::to_path_buf)
        .or_else(|| env.get(CONFIG_FILE_VARIABLE).map(PathBuf::from));
    if let Some(path) = &file {
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError::File {
            path: path.clone(),
            message: error.to_string(),
        })?;
        builder = builder.add_source(File::from_str(&text, FileFormat::Toml));
    }
    let variables: config::Map<String, String> = env
        .iter()
        .filter(|(name, _)| is_configuration_variable(name))
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();
    builder = builder.add_source(
        Environment::with_prefix("SKEP")
            .prefix_separator("_")
            .separator("__")
            .source(Some(variables)),
    );
    let merged = builder
        .build()
        .map_err(|error| translate(error, file.as_deref()))?;
    merged
        .try_deserialize()
        .map_err(|error| translate(error, file.as_deref()))
}

fn is_configuration_variable(name: &str) -> bool {
    name.starts_with(PREFIX) && name != CONFIG_FILE_VARIABLE && !name.starts_with(TEST_PREFIX)
}

/// Turns the `config` crate's error into one that names the key and, for variables, the
/// variable to change.
fn translate(error: config::ConfigError, file: Option<&Path>) -> ConfigError {
    match error {
        config::ConfigError::Type {
            origin,
            unexpected,
            expected,
            key,
        } => {
            let key = key.unwrap_or_default();
            let message = format!(
                "{unexpected}, expected {expected}{}",
                origin_hint(&key, origin)
            );
            invalid_value(key, message)
        }
        config::ConfigError::At { error, origin, key } => {
            let key = key.unwrap_or_default();
            match *error {
                config::ConfigError::Message(message) => from_message(&key, &message, origin),
                inner => {
                    let message =
                        format!("{}{}", translate(inner, file), origin_hint(&key, origin));
                    invalid_value(key, message)
                }
            }
        }
        config::ConfigError::Message(message) => from_message("", &message, None),
        config::ConfigError::NotFound(key) => ConfigError::MissingKey { key },
        config::ConfigError::FileParse { cause, .. } => ConfigError::File {
            path: file.map(Path::to_path_buf).unwrap_or_default(),
            message: cause.to_string(),
        },
        other => ConfigError::Invalid(other.to_string()),
    }
}

/// Interprets serde's messages: `unknown field `x`, expected one of …` becomes an unknown key
/// at `parent.x`; anything else is an invalid value of `parent`.
fn from_message(parent: &str, message: &str, origin: Option<String>) -> ConfigError {
    if let Some(rest) = message.strip_prefix("unknown field `")
        && let Some((field, expected)) = rest.split_once('`')
    {
        return ConfigError::UnknownKey {
            key: join_key(parent, field),
            valid: backquoted_names(expected),
        };
    }
    if let Some(rest) = message.strip_prefix("missing field `")
        && let Some((field, _)) = rest.split_once('`')
    {
        return ConfigError::MissingKey {
            key: join_key(parent, field),
        };
    }
    if parent.is_empty() {
        return ConfigError::Invalid(message.to_owned());
    }
    let hint = origin_hint(parent, origin);
    invalid_value(parent.to_owned(), format!("{message}{hint}"))
}

fn invalid_value(key: String, message: String) -> ConfigError {
    if key.is_empty() {
        ConfigError::Invalid(message)
    } else {
        ConfigError::InvalidValue { key, message }
    }
}

fn join_key(parent: &str, field: &str) -> String {
    if parent.is_empty() {
        field.to_owned()
    } else {
        format!("{parent}.{field}")
    }
}

/// Extracts the names serde lists as `` `a`, `b` `` in an "expected one of" tail.
fn backquoted_names(text: &str) -> Vec<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

/// Says where a bad value came from: the variable to change, or the file.
fn origin_hint(key: &str, origin: Option<String>) -> String {
    match origin.as_deref() {
        Some("the environment") if !key.is_empty() => {
            format!(" (from {PREFIX}{})", key.replace('.', "__").to_uppercase())
        }
        Some(origin) => format!(" (from {origin})"),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{HttpConfig, Secret, StoreBackend, StoreConfig};
    use serde::Deserialize;
    use std::io::Write;

    /// A service-shaped configuration: the shared sections plus one of its own.
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields, default)]
    struct ServiceConfig {
        #[serde(deserialize_with = "http_section")]
        http: HttpConfig,
        store: StoreConfig,
        data_dir: PathBuf,
        worker: WorkerSection,
    }

    impl Default for ServiceConfig {
        fn default() -> Self {
            ServiceConfig {
                http: HttpConfig::with_port(9000),
                store: StoreConfig::default(),
                data_dir: PathBuf::from("data"),
                worker: WorkerSection::default(),
            }
        }
    }

    fn http_section<'de, D: serde::Deserializer<'de>>(input: D) -> Result<HttpConfig, D::Error> {
        HttpConfig::deserialize_over(HttpConfig::with_port(9000), input)
    }

    /// Uses the shared sections as plain fields, without `deserialize_over`.
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields, default)]
    struct PlainConfig {
        http: HttpConfig,
    }

    impl Default for PlainConfig {
        fn default() -> Self {
            PlainConfig {
                http: HttpConfig::with_port(9000),
            }
        }
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(deny_unknown_fields, default)]
    struct WorkerSection {
        threads: u32,
        name: String,
        enabled: bool,
        ratio: f64,
        tags: Vec<String>,
    }

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect()
    }

    fn toml_file(text: &str) -> tempfile::NamedTempFile {
        let mut file = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
        file.write_all(text.as_bytes()).unwrap();
        file
    }

    fn load_service(
        file: Option<&Path>,
        variables: &[(&str, &str)],
    ) -> Result<ServiceConfig, ConfigError> {
        load(file, &env(variables))
    }

    #[test]
    fn nothing_configured_gives_the_defaults_in_code() {
        let config = load_service(None, &[]).unwrap();

        assert_eq!(config.http, HttpConfig::with_port(9000));
        assert_eq!(config.http.host, "127.0.0.1");
        assert_eq!(config.http.max_body_bytes, 100 * 1024 * 1024);
        assert!(config.http.secret.is_empty());
        assert!(!config.http.basic_auth);
        assert_eq!(config.store, StoreConfig::default());
        assert_eq!(config.store.backend, StoreBackend::Sqlite);
        assert_eq!(config.store.elasticsearch.url, "http://localhost:9200");
        assert_eq!(config.store.elasticsearch.index_prefix, "");
        assert_eq!(config.data_dir, PathBuf::from("data"));
    }

    #[test]
    fn a_file_overrides_the_defaults() {
        let file = toml_file(
            "data_dir = \"/var/lib/skep\"\n\
             [http]\nhost = \"0.0.0.0\"\nport = 8080\nsecret = \"s3cret\"\n\
             [store]\nbackend = \"elasticsearch\"\n\
             [store.elasticsearch]\nurl = \"https://es:9200\"\npassword = \"pw\"\n",
        );

        let config = load_service(Some(file.path()), &[]).unwrap();

        assert_eq!(config.http.host, "0.0.0.0");
        assert_eq!(config.http.port, 8080);
        assert_eq!(config.http.secret.expose(), "s3cret");
        assert_eq!(config.store.backend, StoreBackend::Elasticsearch);
        assert_eq!(config.store.elasticsearch.url, "https://es:9200");
        assert_eq!(config.store.elasticsearch.password, Some(Secret::new("pw")));
        assert_eq!(config.store.elasticsearch.index_prefix, "");
        assert_eq!(config.data_dir, PathBuf::from("/var/lib/skep"));
    }

    #[test]
    fn variables_override_the_file() {
        let file = toml_file("[http]\nport = 8080\nhost = \"0.0.0.0\"\n");

        let config = load_service(Some(file.path()), &[("SKEP_HTTP__PORT", "8443")]).unwrap();

        assert_eq!(config.http.port, 8443);
        assert_eq!(config.http.host, "0.0.0.0");
    }

    #[test]
    fn the_file_can_be_named_by_skep_config_in_the_variables() {
        let file = toml_file("[worker]\nthreads = 4\n");
        let path = file.path().to_str().unwrap().to_owned();

        let config = load_service(None, &[("SKEP_CONFIG", &path)]).unwrap();

        assert_eq!(config.worker.threads, 4);
    }

    #[test]
    fn an_explicit_path_wins_over_skep_config() {
        let named = toml_file("[worker]\nthreads = 4\n");
        let explicit = toml_file("[worker]\nthreads = 7\n");
        let named_path = named.path().to_str().unwrap().to_owned();

        let config = load_service(Some(explicit.path()), &[("SKEP_CONFIG", &named_path)]).unwrap();

        assert_eq!(config.worker.threads, 7);
    }

    #[test]
    fn variables_reach_nested_sections_and_convert_to_the_field_type() {
        let config = load_service(
            None,
            &[
                ("SKEP_STORE__BACKEND", "elasticsearch"),
                ("SKEP_STORE__ELASTICSEARCH__INDEX_PREFIX", "prod"),
                ("SKEP_STORE__ELASTICSEARCH__TLS_INSECURE", "true"),
                ("SKEP_STORE__SQLITE_PATH", "/tmp/x.db"),
                ("SKEP_HTTP__MAX_BODY_BYTES", "1024"),
                ("SKEP_HTTP__BASIC_AUTH", "yes"),
                ("SKEP_WORKER__RATIO", "0.5"),
                ("SKEP_DATA_DIR", "/srv/skep"),
            ],
        )
        .unwrap();

        assert_eq!(config.store.backend, StoreBackend::Elasticsearch);
        assert_eq!(config.store.elasticsearch.index_prefix, "prod");
        assert!(config.store.elasticsearch.tls_insecure);
        assert_eq!(config.store.sqlite_path, Some(PathBuf::from("/tmp/x.db")));
        assert_eq!(config.http.max_body_bytes, 1024);
        assert!(config.http.basic_auth);
        assert_eq!(config.worker.ratio, 0.5);
        assert_eq!(config.data_dir, PathBuf::from("/srv/skep"));
    }

    #[test]
    fn string_values_from_variables_keep_their_exact_text() {
        let config = load_service(
            None,
            &[("SKEP_HTTP__SECRET", "0123"), ("SKEP_WORKER__NAME", "true")],
        )
        .unwrap();

        assert_eq!(config.http.secret.expose(), "0123");
        assert_eq!(config.worker.name, "true");
    }

    #[test]
    fn unrelated_and_harness_variables_are_ignored() {
        let config = load_service(
            None,
            &[
                ("PATH", "/bin"),
                ("SKEP_TEST_PYTHON", "/usr/bin/python3"),
                ("HTTP__PORT", "1"),
            ],
        )
        .unwrap();

        assert_eq!(config.http.port, 9000);
    }

    #[test]
    fn an_unknown_key_in_a_file_is_named_with_the_valid_ones() {
        let file = toml_file("[store]\nbacknd = \"sqlite\"\n");

        let error = load_service(Some(file.path()), &[]).unwrap_err();

        let message = error.to_string();
        assert!(
            message.starts_with("unknown key `store.backnd`"),
            "{message}"
        );
        assert!(message.contains("`backend`"), "{message}");
    }

    #[test]
    fn an_unknown_variable_is_named_as_a_key() {
        let error = load_service(None, &[("SKEP_HTTP__PROT", "1")]).unwrap_err();

        assert!(
            error.to_string().starts_with("unknown key `http.prot`"),
            "{error}"
        );
    }

    #[test]
    fn an_unknown_top_level_key_is_named() {
        let file = toml_file("colour = \"blue\"\n");

        let error = load_service(Some(file.path()), &[]).unwrap_err();

        assert!(
            error.to_string().starts_with("unknown key `colour`"),
            "{error}"
        );
    }

    #[test]
    fn a_value_of_the_wrong_type_names_the_key_and_the_variable() {
        let error = load_service(None, &[("SKEP_HTTP__PORT", "eighty")]).unwrap_err();

        let message = error.to_string();
        assert!(
            message.starts_with("invalid value for `http.port`"),
            "{message}"
        );
        assert!(message.contains("SKEP_HTTP__PORT"), "{message}");
    }

    #[test]
    fn an_out_of_range_port_in_a_file_names_the_key() {
        let file = toml_file("[http]\nport = 70000\n");

        let error = load_service(Some(file.path()), &[]).unwrap_err();

        assert!(
            error
                .to_string()
                .starts_with("invalid value for `http.port`"),
            "{error}"
        );
    }

    #[test]
    fn an_unknown_backend_names_the_key_and_lists_the_valid_backends() {
        let error = load_service(None, &[("SKEP_STORE__BACKEND", "mysql")]).unwrap_err();

        let message = error.to_string();
        assert!(
            message.starts_with("invalid value for `store.backend`"),
            "{message}"
        );
        assert!(
            message.contains("sqlite") && message.contains("elasticsearch"),
            "{message}"
        );
    }

    #[test]
    fn a_missing_file_is_an_error_naming_the_file() {
        let error = load_service(Some(Path::new("/nonexistent/skep.toml")), &[]).unwrap_err();

        assert!(
            error
                .to_string()
                .starts_with("cannot read configuration file `/nonexistent/skep.toml`"),
            "{error}"
        );
    }

    #[test]
    fn a_file_that_is_not_toml_is_an_error_naming_the_file() {
        let file = toml_file("[http\nport = \n");

        let error = load_service(Some(file.path()), &[]).unwrap_err();

        assert!(matches!(error, ConfigError::File { .. }), "{error}");
    }

    #[test]
    fn the_debug_output_of_a_loaded_configuration_hides_secrets() {
        let config = load_service(
            None,
            &[
                ("SKEP_HTTP__SECRET", "topsecret"),
                ("SKEP_STORE__ELASTICSEARCH__PASSWORD", "pw-x"),
            ],
        )
        .unwrap();

        let debug = format!("{config:?}");

        assert!(
            !debug.contains("topsecret") && !debug.contains("pw-x"),
            "{debug}"
        );
    }

    #[test]
    fn an_http_section_without_port_keeps_the_service_port() {
        let file = toml_file("[http]\nhost = \"0.0.0.0\"\n");

        let config = load_service(Some(file.path()), &[("SKEP_HTTP__BASIC_AUTH", "true")]).unwrap();

        assert_eq!(config.http.port, 9000);
        assert_eq!(config.http.host, "0.0.0.0");
        assert!(config.http.basic_auth);
        assert_eq!(config.http.max_body_bytes, 100 * 1024 * 1024);
    }

    #[test]
    fn every_http_key_can_be_set_over_the_service_defaults() {
        let file = toml_file(
            "[http]\nhost = \"::\"\nport = 1\nmax_body_bytes = 2\nsecret = \"s\"\nbasic_auth = true\n\
             secure_cookies = true\n",
        );

        let config = load_service(Some(file.path()), &[]).unwrap();

        assert_eq!(
            config.http,
            HttpConfig {
                host: "::".into(),
                port: 1,
                max_body_bytes: 2,
                secret: Secret::new("s"),
                basic_auth: true,
                secure_cookies: true,
            }
        );
    }

    #[test]
    fn an_unknown_http_key_is_still_named_with_deserialize_over() {
        let error = load_service(None, &[("SKEP_HTTP__PROT", "1")]).unwrap_err();

        let message = error.to_string();
        assert!(message.starts_with("unknown key `http.prot`"), "{message}");
        assert!(message.contains("`port`"), "{message}");
    }

    #[test]
    fn a_plain_http_field_takes_missing_keys_from_the_shared_defaults() {
        let file = toml_file("[http]\nhost = \"0.0.0.0\"\n");

        let config: PlainConfig = load(Some(file.path()), &HashMap::new()).unwrap();

        assert_eq!(config.http.port, 0);
    }

    #[test]
    fn lists_can_be_set_in_a_file() {
        let file = toml_file("[worker]\ntags = [\"a\", \"b\"]\n");

        let config = load_service(Some(file.path()), &[]).unwrap();

        assert_eq!(config.worker.tags, vec!["a", "b"]);
    }
}
