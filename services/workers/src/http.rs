//! The blocking HTTP client the online analyzers share: timeouts, user agent, the job's proxy
//! (`config.proxy.http`/`https`) and extra CA certificates (`config.cacerts`).

use std::time::Duration;

use reqwest::blocking::{Client, Response};

use crate::error::{WorkerError, chain};
use crate::job::Job;

/// How long one request may take before the worker reports the service as unreachable.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// Builds the client for one job.
pub fn client(job: &Job) -> Result<Client, WorkerError> {
    let config = job.config();
    let mut builder = Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .connect_timeout(CONNECT_TIMEOUT)
        .user_agent(concat!("skep-worker/", env!("CARGO_PKG_VERSION")));
    for (scheme, url) in [
        ("http", config.nested_string("proxy", "http")),
        ("https", config.nested_string("proxy", "https")),
    ] {
        let Some(url) = url else { continue };
        let proxy = if scheme == "http" {
            reqwest::Proxy::http(&url)
        } else {
            reqwest::Proxy::https(&url)
        };
        let proxy = proxy.map_err(|e| WorkerError::InvalidConfig {
            name: "proxy",
            reason: chain(&e),
        })?;
        builder = builder.proxy(proxy);
    }
    if let Some(pem) = config.string("cacerts") {
        let certificates = reqwest::Certificate::from_pem_bundle(pem.as_bytes()).map_err(|e| {
            WorkerError::InvalidConfig {
                name: "cacerts",
                reason: chain(&e),
            }
        })?;
        for certificate in certificates {
            builder = builder.add_root_certificate(certificate);
        }
    }
    builder
        .build()
        .map_err(|e| WorkerError::Service(format!("cannot build the HTTP client: {}", chain(&e))))
}

/// Describes a request that got no HTTP answer at all (DNS, refused connection, timeout, TLS).
pub fn unreachable(service: &str, url: &str, error: &reqwest::Error) -> WorkerError {
    let what = if error.is_timeout() {
        "timed out reaching"
    } else {
        "cannot reach"
    };
    WorkerError::Service(format!("{what} {service} at {url}: {}", chain(error)))
}

/// Reads a response body as text, keeping at most 2 KiB for error messages.
pub fn body_excerpt(response: Response) -> String {
    let text = response.text().unwrap_or_default();
    let mut excerpt: String = text.chars().take(2048).collect();
    if excerpt.len() < text.len() {
        excerpt.push('…');
    }
    excerpt
}

/// A response header as text, if present and printable.
pub fn header(response: &Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)?
        .to_str()
        .ok()
        .map(str::to_owned)
}

/// Joins a configured base URL and a path without doubling or dropping slashes.
pub fn join(base: &str, path: &str) -> String {
    format!(
        "{}/{}",
        base.trim_end_matches('/'),
        path.trim_start_matches('/')
    )
}
