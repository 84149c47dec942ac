//! Typed HTTP clients between Skep services, and the one place a `reqwest::Client` is built.
//!
//! Servers answer with `skep-protocol` types; this crate is what *calls* them. Start with
//! [`http_client`] (timeouts, user agent, rustls) and [`EngineClient`], which the cases service
//! uses to reach the analysis engine's Cortex-compatible API.
#![warn(missing_docs)]

mod engine;
mod error;

use std::time::Duration;

pub use engine::{EngineClient, TlsOptions};
pub use error::{ClientError, Result};

/// Longest time spent establishing a connection, whatever the request timeout.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The user agent every Skep request carries.
pub const USER_AGENT: &str = concat!("skep/", env!("CARGO_PKG_VERSION"));

/// Builds the HTTP client every Skep component uses: `timeout` per request, a connect timeout
/// of at most 10 s, the `skep/<version>` user agent, and rustls for TLS.
pub fn http_client(timeout: Duration) -> Result<reqwest::Client> {
    http_client_with_tls(timeout, &TlsOptions::default())
}

/// Like [`http_client`], trusting the extra CA certificates of `tls` (PEM) and, when
/// `tls.insecure` is set, any certificate (for test set-ups only).
#[allow(clippy::disallowed_methods)] // The one sanctioned place that builds a reqwest client.
pub fn http_client_with_tls(timeout: Duration, tls: &TlsOptions) -> Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(CONNECT_TIMEOUT.min(timeout))
        .user_agent(USER_AGENT)
        .use_rustls_tls();
    if let Some(pem) = &tls.ca_pem {
        for certificate in reqwest::Certificate::from_pem_bundle(pem).map_err(ClientError::Build)? {
            builder = builder.add_root_certificate(certificate);
        }
    }
    if tls.insecure {
        builder = builder.danger_accept_invalid_certs(true);
    }
    builder.build().map_err(ClientError::Build)
}
