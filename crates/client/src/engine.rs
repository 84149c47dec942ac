//! `EngineClient`: the analysis engine's Cortex-compatible API, as the cases service uses it.

use std::time::Duration;

use reqwest::{Method, RequestBuilder, Response};
use serde_json::Value;

use crate::{ClientError, Result, http_client_with_tls};

/// Largest part of an error body kept in [`ClientError::Status`].
const MAX_ERROR_BODY: usize = 4096;

/// Time allowed on top of a `waitreport` wait for the engine to answer.
const WAIT_MARGIN: Duration = Duration::from_secs(5);

/// Client time limit for `waitreport?atMost=Inf` (the engine itself waits without limit).
const UNBOUNDED_WAIT: Duration = Duration::from_secs(24 * 3600);

/// TLS settings of a connection to an engine served over HTTPS.
#[derive(Debug, Clone, Default)]
pub struct TlsOptions {
    /// Extra CA certificates to trust (a PEM bundle).
    pub ca_pem: Option<Vec<u8>>,
    /// Accept any certificate (never in production: for test set-ups with self-signed ones).
    pub insecure: bool,
}

/// Calls one analysis engine with an API key.
#[derive(Clone)]
pub struct EngineClient {
    base_url: String,
    api_key: String,
    http: reqwest::Client,
}

impl std::fmt::Debug for EngineClient {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("EngineClient")
            .field("base_url", &self.base_url)
            .field("api_key", &"[redacted]")
            .finish_non_exhaustive()
    }
}

impl EngineClient {
    /// Builds a client for the engine at `base_url` (e.g. `http://127.0.0.1:9001`), sending
    /// `api_key` as a bearer token, with `timeout` per request.
    pub fn new(base_url: &str, api_key: &str, timeout: Duration) -> Result<EngineClient> {
        EngineClient::with_tls(base_url, api_key, timeout, &TlsOptions::default())
    }

    /// Like [`EngineClient::new`], with the TLS settings of `tls`.
    pub fn with_tls(
        base_url: &str,
        api_key: &str,
        timeout: Duration,
        tls: &TlsOptions,
    ) -> Result<EngineClient> {
        Ok(EngineClient {
            base_url: base_url.trim_end_matches('/').to_owned(),
            api_key: api_key.to_owned(),
            http: http_client_with_tls(timeout, tls)?,
        })
    }

    /// The engine's base URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// `GET /api/status`: versions and configuration of the engine.
    pub async fn status(&self) -> Result<Value> {
        self.json(self.request(Method::GET, "/api/status")).await
    }

    /// `GET /api/user/current`: the user the API key belongs to.
    pub async fn current_user(&self) -> Result<Value> {
        self.json(self.request(Method::GET, "/api/user/current"))
            .await
    }

    /// `GET /api/analyzer` (all enabled analyzers) or `GET /api/analyzer/type/<dataType>`.
    pub async fn list_analyzers(&self, data_type: Option<&str>) -> Result<Value> {
        let path = match data_type {
            Some(data_type) => format!("/api/analyzer/type/{}", segment(data_type)),
            None => "/api/analyzer".to_owned(),
        };
        self.json(self.request(Method::GET, &path).query(&[("range", "all")]))
            .await
    }

    /// `GET /api/responder` (all enabled responders) or `GET /api/responder/type/<dataType>`.
    pub async fn list_responders(&self, data_type: Option<&str>) -> Result<Value> {
        let path = match data_type {
            Some(data_type) => format!("/api/responder/type/{}", segment(data_type)),
            None => "/api/responder".to_owned(),
        };
        self.json(self.request(Method::GET, &path).query(&[("range", "all")]))
            .await
    }

    /// `POST /api/analyzer/<id>/run` with a file: multipart part `data` holding the bytes and
    /// `_json` the attributes (`dataType` `file`, `tlp`, `pap`, `message`, …); returns the job.
    pub async fn run_analyzer_file(
        &self,
        worker_id: &str,
        attributes: &Value,
        file_name: &str,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> Result<Value> {
        let path = format!("/api/analyzer/{}/run", segment(worker_id));
        let mime = if content_type.contains('/') {
            content_type
        } else {
            "application/octet-stream"
        };
        let part = reqwest::multipart::Part::bytes(bytes)
            .file_name(file_name.to_owned())
            .mime_str(mime)
            .map_err(ClientError::Build)?;
        let form = reqwest::multipart::Form::new()
            .text("_json", attributes.to_string())
            .part("data", part);
        self.json(self.request(Method::POST, &path).multipart(form))
            .await
    }

    /// `POST /api/analyzer/<id>/run`: creates an analysis job; returns the job.
    pub async fn run_analyzer(&self, worker_id: &str, body: &Value) -> Result<Value> {
        let path = format!("/api/analyzer/{}/run", segment(worker_id));
        self.json(self.request(Method::POST, &path).json(body))
            .await
    }

    /// `POST /api/responder/<id>/run`: creates a responder job; returns the job.
    pub async fn run_responder(&self, worker_id: &str, body: &Value) -> Result<Value> {
        let path = format!("/api/responder/{}/run", segment(worker_id));
        self.json(self.request(Method::POST, &path).json(body))
            .await
    }

    /// `GET /api/job/<id>/waitreport?atMost=<at_most>`: waits up to `at_most` (a duration such
    /// as `1minute`, `5 seconds`, `30s` or `Inf`) for the job to end; returns the job with its
    /// report. The request's own time limit is stretched to cover the wait.
    pub async fn wait_report(&self, job_id: &str, at_most: &str) -> Result<Value> {
        let path = format!("/api/job/{}/waitreport", segment(job_id));
        let wait = parse_wait(at_most).unwrap_or(UNBOUNDED_WAIT);
        let request = self
            .request(Method::GET, &path)
            .query(&[("atMost", at_most)])
            .timeout(wait + WAIT_MARGIN);
        self.json(request).await
    }

    /// `GET /api/job/<id>/artifacts`: every artifact of the job's report.
    pub async fn get_artifacts(&self, job_id: &str) -> Result<Value> {
        let path = format!("/api/job/{}/artifacts", segment(job_id));
        self.json(self.request(Method::GET, &path).query(&[("range", "all")]))
            .await
    }

    /// `GET /api/datastore/<id>`: the raw bytes of a stored attachment.
    pub async fn download(&self, datastore_id: &str) -> Result<Vec<u8>> {
        let path = format!("/api/datastore/{}", segment(datastore_id));
        let response = self.send(self.request(Method::GET, &path)).await?;
        let url = response.url().to_string();
        let bytes = response
            .bytes()
            .await
            .map_err(|source| ClientError::Unreachable { url, source })?;
        Ok(bytes.to_vec())
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base_url))
            .bearer_auth(&self.api_key)
    }

    /// Sends a request and turns non-2xx answers into [`ClientError::Status`].
    async fn send(&self, request: RequestBuilder) -> Result<Response> {
        let response = request
            .send()
            .await
            .map_err(|source| ClientError::Unreachable {
                url: source
                    .url()
                    .map(|url| url.to_string())
                    .unwrap_or_else(|| self.base_url.clone()),
                source,
            })?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let mut body = response.text().await.unwrap_or_default();
        if body.len() > MAX_ERROR_BODY {
            let mut end = MAX_ERROR_BODY;
            while !body.is_char_boundary(end) {
                end -= 1;
            }
            body.truncate(end);
        }
        Err(ClientError::Status {
            status: status.as_u16(),
            body,
        })
    }

    async fn json(&self, request: RequestBuilder) -> Result<Value> {
        let response = self.send(request).await?;
        let url = response.url().to_string();
        let bytes = response
            .bytes()
            .await
            .map_err(|source| ClientError::Unreachable { url, source })?;
        serde_json::from_slice(&bytes).map_err(ClientError::Decode)
    }
}

/// Percent-encodes one path segment (ids come from other services, not from this code).
fn segment(value: &str) -> String {
    urlencoding::encode(value).into_owned()
}

/// Reads a duration such as `1minute`, `1 minute`, `5seconds`, `30s`, `2 hours` or `500ms`;
/// `None` for `Inf` or anything unreadable.
fn parse_wait(text: &str) -> Option<Duration> {
    let text = text.trim();
    let digits_end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let amount: u64 = text[..digits_end].parse().ok()?;
    let unit = text[digits_end..].trim().trim_end_matches('s');
    let seconds_per_unit = match unit {
        "m" if text.ends_with("ms") => return Some(Duration::from_millis(amount)),
        "millisecond" | "milli" => return Some(Duration::from_millis(amount)),
        "" | "second" | "sec" => 1,
        "m" | "min" | "minute" => 60,
        "h" | "hour" => 3600,
        "d" | "day" => 86_400,
        _ => return None,
    };
    amount
        .checked_mul(seconds_per_unit)
        .map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_durations_in_the_engine_syntax_are_understood() {
        assert_eq!(parse_wait("1minute"), Some(Duration::from_secs(60)));
        assert_eq!(parse_wait("1 minute"), Some(Duration::from_secs(60)));
        assert_eq!(parse_wait("5seconds"), Some(Duration::from_secs(5)));
        assert_eq!(parse_wait("1 second"), Some(Duration::from_secs(1)));
        assert_eq!(parse_wait("30s"), Some(Duration::from_secs(30)));
        assert_eq!(parse_wait("2 hours"), Some(Duration::from_secs(7200)));
        assert_eq!(parse_wait("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_wait("Inf"), None);
        assert_eq!(parse_wait("soon"), None);
    }

    #[test]
    fn path_segments_are_percent_encoded() {
        assert_eq!(segment("a/b c"), "a%2Fb%20c");
        assert_eq!(segment("AWTVTJzWpVfF5eRPi-qd"), "AWTVTJzWpVfF5eRPi-qd");
    }

    #[test]
    fn the_debug_output_hides_the_api_key() {
        let client =
            EngineClient::new("http://127.0.0.1:1/", "secret-key", Duration::from_secs(1)).unwrap();

        let debug = format!("{client:?}");

        assert!(!debug.contains("secret-key"), "{debug}");
        assert_eq!(client.base_url(), "http://127.0.0.1:1");
    }
}
