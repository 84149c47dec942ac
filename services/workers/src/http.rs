//! The blocking HTTP client the online analyzers share: timeouts, user agent, the job's proxy
//! (`config.proxy.http`/`https`), extra CA certificates (`config.cacerts`), and the outbound
//! allowlist ([`crate::outbound`]) on every connection and redirect.

use std::time::Duration;

use reqwest::blocking::{Client, Response};

use crate::error::{WorkerError, chain};
use crate::job::Job;
use crate::outbound::{GuardedResolver, Outbound, redact_url, redirect_policy};

/// How long one request may take before the worker reports the service as unreachable.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// Builds the client for one job.
pub fn client(job: &Job) -> Result<Client, WorkerError> {
    let config = job.config();
    let outbound = Outbound::from_environment();
    let mut builder = Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .connect_timeout(CONNECT_TIMEOUT)
        .user_agent(concat!("skep-worker/", env!("CARGO_PKG_VERSION")))
        .dns_resolver(GuardedResolver::new(outbound.clone(), "url"))
        .redirect(redirect_policy(outbound.clone(), "url"));
    for (scheme, url) in [
        ("http", config.nested_string("proxy", "http")),
        ("https", config.nested_string("proxy", "https")),
    ] {
        let Some(url) = url else { continue };
        outbound.check_url("proxy", &url)?;
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

/// The configured base URL of a service (`config.url`, else `default`), checked against the
/// outbound allowlist before any request is sent.
pub fn base_url(job: &Job, default: &str) -> Result<String, WorkerError> {
    let config = job.config();
    let base = config.string("url").unwrap_or_else(|| default.to_owned());
    let scheme = if base.starts_with("https:") {
        "https"
    } else {
        "http"
    };
    let outbound = Outbound::from_environment();
    if config.nested_string("proxy", scheme).is_some() {
        outbound.check_proxied_url("url", &base)?;
    } else {
        outbound.check_url("url", &base)?;
    }
    Ok(base)
}

/// Checks a URL a service handed back (an upload URL) against the outbound allowlist.
pub fn check_returned_url(service: &str, url: &str) -> Result<(), WorkerError> {
    Outbound::from_environment().check_url(&format!("the URL {service} returned"), url)
}

/// Describes a request that got no HTTP answer at all (DNS, refused connection, timeout, TLS,
/// outbound refusal). The URL is shown without credentials or query.
pub fn unreachable(service: &str, url: &str, error: &reqwest::Error) -> WorkerError {
    let what = if error.is_timeout() {
        "timed out reaching"
    } else {
        "cannot reach"
    };
    let mut reason = chain(error);
    // reqwest's own message repeats the full URL, query included.
    reason = reason.replace(url, &redact_url(url));
    WorkerError::Service(format!("{what} {service} at {}: {reason}", redact_url(url)))
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
