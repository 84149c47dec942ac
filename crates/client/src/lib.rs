//! Typed HTTP clients between Skep services, and the one place a `reqwest::Client` is built.
//!
//! Servers answer with `skep-protocol` types; this crate is what *calls* them. Start with
//! [`http_client`] (timeouts, user agent, rustls) and [`EngineClient`], which the cases service
//! uses to reach the analysis engine's Cortex-compatible API.
#![warn(missing_docs)]

mod engine;
mod error;

use std::time::Duration;

pub use engine::EngineClient;
pub use error::{ClientError, Result};

/// Longest time spent establishing a connection, whatever the request timeout.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The user agent every Skep request carries.
pub const USER_AGENT: &str = concat!("skep/", env!("CARGO_PKG_VERSION"));

/// A URL as it may be logged or shown in an error: without user, password, query or fragment
/// (webhook and service URLs often carry a token in one of them).
pub fn shown_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) => {
            let _ = parsed.set_username("");
            let _ = parsed.set_password(None);
            parsed.set_query(None);
            parsed.set_fragment(None);
            parsed.to_string()
        }
        Err(_) => "(unparseable URL)".to_owned(),
    }
}

/// Builds the HTTP client every Skep component uses: `timeout` per request, a connect timeout
/// of at most 10 s, the `skep/<version>` user agent, and rustls for TLS.
#[allow(clippy::disallowed_methods)] // The one sanctioned place that builds a reqwest client.
pub fn http_client(timeout: Duration) -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(CONNECT_TIMEOUT.min(timeout))
        .user_agent(USER_AGENT)
        .use_rustls_tls()
        .build()
        .map_err(ClientError::Build)
}

#[cfg(test)]
mod shown_url_tests {
    use super::shown_url;

    #[test]
    fn credentials_query_and_fragment_are_never_shown() {
        assert_eq!(
            shown_url("https://user:pw@hooks.example:8443/in?token=t&x=1#frag"),
            "https://hooks.example:8443/in"
        );
        assert_eq!(shown_url("not a url"), "(unparseable URL)");
    }
}
