//! Layered configuration for every Skep process: built-in defaults, then an optional TOML file,
//! then `SKEP_*` environment variables; the shared `[http]` and `[store]` sections, the
//! [`Secret`] type, and tracing initialisation.
//!
//! This is the only crate that reads environment variables, and it reads them only from the map
//! handed to [`load`] (and `RUST_LOG` in [`init_tracing`]), so tests pass their own map and no
//! global state is involved. Start with [`load`]; the keys are documented in
//! `docs/configuration.md`.
#![warn(missing_docs)]

mod auth;
mod error;
mod layers;
mod secret;
mod sections;
mod store_backend;

pub use auth::AuthConfig;
pub use error::ConfigError;
pub use layers::{CONFIG_FILE_VARIABLE, load};
pub use secret::Secret;
pub use sections::{ElasticsearchConfig, HttpConfig, StoreBackend, StoreConfig};

/// Checks that `value` is an absolute `http://` or `https://` URL with a host; the error names
/// `key`.
pub fn validate_url(key: &str, value: &str) -> Result<(), ConfigError> {
    let invalid = |reason: &str| ConfigError::InvalidValue {
        key: key.to_owned(),
        message: format!("{reason}: `{value}` (expected e.g. `http://localhost:9200`)"),
    };
    let rest = value
        .strip_prefix("http://")
        .or_else(|| value.strip_prefix("https://"))
        .ok_or_else(|| invalid("not an http or https URL"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit('@').next().unwrap_or_default();
    if host.is_empty() || host.starts_with(':') {
        return Err(invalid("the URL has no host"));
    }
    if value.chars().any(char::is_whitespace) {
        return Err(invalid("the URL contains whitespace"));
    }
    if let Some((_, port)) = host.rsplit_once(':')
        && !host.ends_with(']')
        && port.parse::<u16>().is_err()
    {
        return Err(invalid("the URL has an invalid port"));
    }
    Ok(())
}

/// Installs the global `tracing` subscriber: human-readable lines on stderr, filtered by
/// `RUST_LOG` when set, else by `default_filter` (e.g. `"info,skep_store=debug"`).
///
/// Calling it again (several services in one process, many tests) keeps the first subscriber.
pub fn init_tracing(default_filter: &str) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(default_filter))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    // An error only means a subscriber is already installed, which is what we want.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_and_https_urls_with_a_host_are_valid() {
        for url in [
            "http://localhost:9200",
            "https://es.example.org",
            "https://user:pw@es.example.org:443/prefix",
            "http://[::1]:9200/",
        ] {
            assert!(
                validate_url("store.elasticsearch.url", url).is_ok(),
                "{url}"
            );
        }
    }

    #[test]
    fn invalid_urls_are_rejected_with_an_error_naming_the_key() {
        for url in [
            "localhost:9200",
            "ftp://x",
            "http://",
            "http://:9200",
            "http://h:port",
            "http://a b",
        ] {
            let error = validate_url("store.elasticsearch.url", url).unwrap_err();

            assert!(
                error
                    .to_string()
                    .starts_with("invalid value for `store.elasticsearch.url`"),
                "{url}: {error}"
            );
        }
    }

    #[test]
    fn tracing_can_be_initialised_twice() {
        init_tracing("info");
        init_tracing("debug");

        tracing::info!("still logging");
    }

    proptest::proptest! {
        #[test]
        fn validating_arbitrary_text_never_panics(text in ".*") {
            let _ = validate_url("key", &text);
        }

        #[test]
        fn validating_arbitrary_http_prefixed_text_never_panics(rest in ".*") {
            let _ = validate_url("key", &format!("http://{rest}"));
        }
    }
}
