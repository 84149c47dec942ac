//! VirusTotal v3: `GetReport` looks up files, hashes, URLs, domains and IP addresses; `Scan`
//! submits a file or URL and polls the analysis until it completes.

use std::time::Duration;

use base64::Engine as _;
use reqwest::StatusCode;
use reqwest::blocking::{Client, RequestBuilder, multipart};
use serde_json::{Map, Value, json};

use crate::content;
use crate::error::WorkerError;
use crate::http;
use crate::job::Job;
use crate::report::{AnalyzerReport, Level, Taxonomy};

/// The real service; the `url` configuration item overrides it.
pub const DEFAULT_URL: &str = "https://www.virustotal.com";
const NAMESPACE: &str = "VT";
/// Files above this size go through `GET /api/v3/files/upload_url`, as the API requires.
const DIRECT_UPLOAD_LIMIT: usize = 32 * 1024 * 1024;
/// The largest file the API accepts.
const MAX_FILE_SIZE: u64 = 650 * 1024 * 1024;

struct VirusTotal {
    client: Client,
    base: String,
    key: String,
}

impl VirusTotal {
    fn from_job(job: &Job) -> Result<Self, WorkerError> {
        let config = job.config();
        Ok(Self {
            client: http::client(job)?,
            base: http::base_url(job, DEFAULT_URL)?,
            key: config.required_string(
                "key",
                "the VirusTotal API key (https://www.virustotal.com/gui/my-apikey)",
            )?,
        })
    }

    fn url(&self, path: &str) -> String {
        http::join(&self.base, path)
    }

    /// Sends a request; `Ok(None)` is a 404 (the object is unknown to VirusTotal).
    fn send(&self, request: RequestBuilder, url: &str) -> Result<Option<Value>, WorkerError> {
        let response = request
            .header("x-apikey", &self.key)
            .header("Accept", "application/json")
            .send()
            .map_err(|e| http::unreachable("VirusTotal", url, &e))?;
        let status = response.status();
        if status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if status.is_success() {
            return response.json().map(Some).map_err(|e| {
                WorkerError::Service(format!(
                    "VirusTotal answered with a body that is not JSON: {e}"
                ))
            });
        }
        let retry_after = http::header(&response, "Retry-After");
        let (code, message) = error_parts(&http::body_excerpt(response));
        let message = match status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => format!(
                "VirusTotal rejected the API key (HTTP {} {code}): {message}; check the `key` configuration item",
                status.as_u16()
            ),
            StatusCode::TOO_MANY_REQUESTS => {
                let mut text = format!("VirusTotal quota exceeded (HTTP 429 {code}): {message}");
                if let Some(seconds) = retry_after {
                    text.push_str(&format!("; retry after {seconds} seconds"));
                }
                text
            }
            _ => format!(
                "VirusTotal answered HTTP {} {code}: {message}",
                status.as_u16()
            ),
        };
        Err(WorkerError::Service(message))
    }

    fn get(&self, path: &str) -> Result<Option<Value>, WorkerError> {
        let url = self.url(path);
        self.send(self.client.get(&url), &url)
    }
}

/// Reads `{"error":{"code","message"}}`, the v3 error body.
fn error_parts(body: &str) -> (String, String) {
    let parsed: Option<Value> = serde_json::from_str(body).ok();
    let error = parsed.as_ref().and_then(|body| body.get("error"));
    let field = |name: &str| {
        error
            .and_then(|e| e.get(name))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    match (field("code"), field("message")) {
        (Some(code), Some(message)) => (code, message),
        (Some(code), None) => (code, String::new()),
        _ => (
            String::new(),
            if body.trim().is_empty() {
                "empty body".into()
            } else {
                body.trim().to_owned()
            },
        ),
    }
}

/// The URL identifier VirusTotal uses: the URL in unpadded base64url.
pub fn url_identifier(url: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(url)
}

/// Detection counts of an analysis (`last_analysis_stats` or an analysis' `stats`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Detections {
    /// Engines that flagged the object as malicious.
    pub malicious: u64,
    /// Engines that flagged it as suspicious.
    pub suspicious: u64,
    /// Engines that gave a verdict (harmless + malicious + suspicious + undetected).
    pub total: u64,
}

impl Detections {
    /// Reads the counts from a stats object; missing counts are 0.
    pub fn from_stats(stats: &Value) -> Self {
        let count = |name: &str| stats.get(name).and_then(Value::as_u64).unwrap_or(0);
        Self {
            malicious: count("malicious"),
            suspicious: count("suspicious"),
            total: count("harmless")
                + count("malicious")
                + count("suspicious")
                + count("undetected"),
        }
    }

    /// 0 malicious → safe (suspicious when some engines say suspicious), 1–4 → suspicious,
    /// 5 or more → malicious.
    pub fn level(&self) -> Level {
        match self.malicious {
            0 if self.suspicious > 0 => Level::Suspicious,
            0 => Level::Safe,
            1..=4 => Level::Suspicious,
            _ => Level::Malicious,
        }
    }

    fn taxonomy(&self, predicate: &str) -> Taxonomy {
        Taxonomy::new(
            self.level(),
            NAMESPACE,
            predicate,
            format!("{}/{}", self.malicious, self.total),
        )
    }
}

/// `VirusTotal_GetReport`: looks the observable up.
pub fn get_report(job: &Job) -> Result<AnalyzerReport, WorkerError> {
    let data_type = job.data_type()?;
    let (path, gui_kind) = match data_type {
        "hash" => {
            let hash = job.data_text()?.to_ascii_lowercase();
            if !matches!(hash.len(), 32 | 40 | 64) || !hash.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(WorkerError::InvalidData(format!(
                    "`{hash}` is not an MD5, SHA-1 or SHA-256 hash"
                )));
            }
            (format!("/api/v3/files/{hash}"), "file")
        }
        "file" => {
            let content = job.read_file(MAX_FILE_SIZE)?;
            (
                format!("/api/v3/files/{}", content::hashes(&content).sha256),
                "file",
            )
        }
        "url" => (
            format!("/api/v3/urls/{}", url_identifier(job.data_text()?)),
            "url",
        ),
        "domain" | "fqdn" => (
            format!("/api/v3/domains/{}", job.data_text()?.to_ascii_lowercase()),
            "domain",
        ),
        "ip" => (
            format!("/api/v3/ip_addresses/{}", job.data_text()?),
            "ip-address",
        ),
        other => {
            return Err(WorkerError::UnsupportedDataType {
                data_type: other.into(),
                supported: "hash, file, url, domain, fqdn, ip",
            });
        }
    };
    let virustotal = VirusTotal::from_job(job)?;
    let Some(body) = virustotal.get(&path)? else {
        let mut full = Map::new();
        full.insert("found".into(), Value::Bool(false));
        full.insert("message".into(), json!("not found on VirusTotal"));
        return Ok(AnalyzerReport {
            taxonomies: vec![Taxonomy::new(
                Level::Info,
                NAMESPACE,
                "GetReport",
                "not found",
            )],
            full,
            ..AnalyzerReport::default()
        });
    };
    let data = body.get("data").cloned().unwrap_or(Value::Null);
    let attributes = data.get("attributes").cloned().unwrap_or_else(|| json!({}));
    let detections = Detections::from_stats(
        attributes
            .get("last_analysis_stats")
            .unwrap_or(&Value::Null),
    );
    let id = data.get("id").and_then(Value::as_str).unwrap_or_default();
    let mut full = Map::new();
    full.insert("found".into(), Value::Bool(true));
    full.insert(
        "type".into(),
        data.get("type").cloned().unwrap_or(Value::Null),
    );
    full.insert("id".into(), json!(id));
    full.insert(
        "permalink".into(),
        json!(format!("https://www.virustotal.com/gui/{gui_kind}/{id}")),
    );
    full.insert("positives".into(), json!(detections.malicious));
    full.insert("total".into(), json!(detections.total));
    full.insert("attributes".into(), attributes);
    Ok(AnalyzerReport {
        taxonomies: vec![detections.taxonomy("GetReport")],
        full,
        ..AnalyzerReport::default()
    })
}

/// `VirusTotal_Scan`: submits the file or URL, then polls the analysis.
pub fn scan(job: &Job) -> Result<AnalyzerReport, WorkerError> {
    let data_type = job.data_type()?;
    let config = job.config();
    let interval = Duration::from_secs(
        config
            .integer_in("polling_interval", 60, 0..=3600)?
            .unsigned_abs(),
    );
    let attempts = config.integer_in("max_polling_attempts", 10, 1..=1000)?;
    let virustotal = VirusTotal::from_job(job)?;
    let submitted = match data_type {
        "file" => {
            let content = job.read_file(MAX_FILE_SIZE)?;
            let filename = job.filename().unwrap_or("sample").to_owned();
            submit_file(&virustotal, content, filename)?
        }
        "url" => {
            let url = virustotal.url("/api/v3/urls");
            let request = virustotal
                .client
                .post(&url)
                .form(&[("url", job.data_text()?)]);
            virustotal.send(request, &url)?
        }
        other => {
            return Err(WorkerError::UnsupportedDataType {
                data_type: other.into(),
                supported: "file, url",
            });
        }
    };
    let analysis_id = submitted
        .as_ref()
        .and_then(|body| body.pointer("/data/id"))
        .and_then(Value::as_str)
        .ok_or_else(|| {
            WorkerError::Service(
                "VirusTotal accepted the submission but returned no analysis id".into(),
            )
        })?
        .to_owned();

    let mut last_status = String::from("unknown");
    for attempt in 0..attempts {
        if attempt > 0 {
            // The worker is a plain synchronous process; waiting between polls is its job.
            #[allow(clippy::disallowed_methods)]
            std::thread::sleep(interval);
        }
        let Some(analysis) = virustotal.get(&format!("/api/v3/analyses/{analysis_id}"))? else {
            return Err(WorkerError::Service(format!(
                "VirusTotal does not know analysis `{analysis_id}`"
            )));
        };
        let attributes = analysis
            .pointer("/data/attributes")
            .cloned()
            .unwrap_or_else(|| json!({}));
        last_status = attributes
            .get("status")
            .and_then(Value::as_str)
            .unwrap_or("unknown")
            .to_owned();
        if last_status == "completed" {
            return Ok(scan_report(
                &analysis_id,
                attributes,
                analysis.get("meta").cloned(),
            ));
        }
    }
    Err(WorkerError::Service(format!(
        "VirusTotal analysis `{analysis_id}` is still `{last_status}` after {attempts} polls; \
         raise `max_polling_attempts` or `polling_interval`"
    )))
}

fn submit_file(
    virustotal: &VirusTotal,
    content: Vec<u8>,
    filename: String,
) -> Result<Option<Value>, WorkerError> {
    let url = if content.len() > DIRECT_UPLOAD_LIMIT {
        let upload = virustotal
            .get("/api/v3/files/upload_url")?
            .and_then(|body| body.get("data").and_then(Value::as_str).map(str::to_owned))
            .ok_or_else(|| {
                WorkerError::Service("VirusTotal returned no upload URL for a large file".into())
            })?;
        http::check_returned_url("VirusTotal", &upload)?;
        upload
    } else {
        virustotal.url("/api/v3/files")
    };
    let form =
        multipart::Form::new().part("file", multipart::Part::bytes(content).file_name(filename));
    virustotal.send(virustotal.client.post(&url).multipart(form), &url)
}

fn scan_report(analysis_id: &str, attributes: Value, meta: Option<Value>) -> AnalyzerReport {
    let detections = Detections::from_stats(attributes.get("stats").unwrap_or(&Value::Null));
    let mut full = Map::new();
    full.insert("analysis_id".into(), json!(analysis_id));
    full.insert("status".into(), json!("completed"));
    full.insert("positives".into(), json!(detections.malicious));
    full.insert("total".into(), json!(detections.total));
    full.insert(
        "stats".into(),
        attributes.get("stats").cloned().unwrap_or(Value::Null),
    );
    full.insert(
        "results".into(),
        attributes.get("results").cloned().unwrap_or(Value::Null),
    );
    full.insert("meta".into(), meta.unwrap_or(Value::Null));
    AnalyzerReport {
        taxonomies: vec![detections.taxonomy("Scan")],
        full,
        ..AnalyzerReport::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_identifier_is_unpadded_base64url() {
        assert_eq!(
            url_identifier("http://www.example.com/"),
            "aHR0cDovL3d3dy5leGFtcGxlLmNvbS8"
        );
    }

    #[test]
    fn level_follows_the_malicious_count() {
        let level = |malicious, suspicious| {
            Detections {
                malicious,
                suspicious,
                total: 70,
            }
            .level()
        };

        assert_eq!(level(0, 0), Level::Safe);
        assert_eq!(level(0, 2), Level::Suspicious);
        assert_eq!(level(3, 0), Level::Suspicious);
        assert_eq!(level(5, 0), Level::Malicious);
    }

    #[test]
    fn stats_total_counts_engines_with_a_verdict() {
        let stats = json!({"harmless": 60, "malicious": 5, "suspicious": 1, "undetected": 4, "timeout": 3, "type-unsupported": 7});

        let detections = Detections::from_stats(&stats);

        assert_eq!((detections.malicious, detections.total), (5, 70));
    }
}
