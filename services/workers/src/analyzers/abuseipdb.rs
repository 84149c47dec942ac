//! AbuseIPDB: checks an IP address with the v2 `check` endpoint.

use std::net::IpAddr;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::error::WorkerError;
use crate::http;
use crate::job::Job;
use crate::report::{AnalyzerReport, Level, Taxonomy, object};

/// The real service; the `url` configuration item overrides it.
pub const DEFAULT_URL: &str = "https://api.abuseipdb.com";
const NAMESPACE: &str = "AbuseIPDB";
/// Reports kept in the full report; the rest are counted only.
const MAX_REPORTS: usize = 100;

/// AbuseIPDB report categories by id, as documented by the service.
const CATEGORIES: &[(u64, &str)] = &[
    (1, "DNS Compromise"),
    (2, "DNS Poisoning"),
    (3, "Fraud Orders"),
    (4, "DDoS Attack"),
    (5, "FTP Brute-Force"),
    (6, "Ping of Death"),
    (7, "Phishing"),
    (8, "Fraud VoIP"),
    (9, "Open Proxy"),
    (10, "Web Spam"),
    (11, "Email Spam"),
    (12, "Blog Spam"),
    (13, "VPN IP"),
    (14, "Port Scan"),
    (15, "Hacking"),
    (16, "SQL Injection"),
    (17, "Spoofing"),
    (18, "Brute-Force"),
    (19, "Bad Web Bot"),
    (20, "Exploited Host"),
    (21, "Web App Attack"),
    (22, "SSH"),
    (23, "IoT Targeted"),
];

/// Runs the check for the job's IP address.
pub fn analyze(job: &Job) -> Result<AnalyzerReport, WorkerError> {
    let data_type = job.data_type()?;
    if data_type != "ip" {
        return Err(WorkerError::UnsupportedDataType {
            data_type: data_type.into(),
            supported: "ip",
        });
    }
    let ip: IpAddr = job.data_text()?.parse().map_err(|_| {
        WorkerError::InvalidData(format!(
            "`{}` is not an IP address",
            job.data_text().unwrap_or_default()
        ))
    })?;
    let config = job.config();
    let key = config.required_string(
        "key",
        "the AbuseIPDB API key (https://www.abuseipdb.com/account/api)",
    )?;
    let days = config.integer_in("days", 30, 1..=365)?;
    let base = http::base_url(job, DEFAULT_URL)?;
    let endpoint = http::join(&base, "/api/v2/check");

    let response = http::client(job)?
        .get(&endpoint)
        .query(&[
            ("ipAddress", ip.to_string()),
            ("maxAgeInDays", days.to_string()),
            ("verbose", String::new()),
        ])
        .header("Key", key)
        .header("Accept", "application/json")
        .send()
        .map_err(|e| http::unreachable("AbuseIPDB", &endpoint, &e))?;
    let data = read_check_response(response)?;
    Ok(report(data))
}

fn read_check_response(response: reqwest::blocking::Response) -> Result<Value, WorkerError> {
    let status = response.status();
    if status.is_success() {
        let body: Value = response.json().map_err(|e| {
            WorkerError::Service(format!(
                "AbuseIPDB answered with a body that is not JSON: {e}"
            ))
        })?;
        return body
            .get("data")
            .filter(|data| data.is_object())
            .cloned()
            .ok_or_else(|| {
                WorkerError::Service("AbuseIPDB answered without a `data` object".into())
            });
    }
    let retry_after = http::header(&response, "Retry-After");
    let limit = http::header(&response, "X-RateLimit-Limit");
    let remaining = http::header(&response, "X-RateLimit-Remaining");
    let reset = http::header(&response, "X-RateLimit-Reset");
    let detail = error_detail(&http::body_excerpt(response));
    let message = match status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => format!(
            "AbuseIPDB rejected the API key (HTTP {}): {detail}; check the `key` configuration item",
            status.as_u16()
        ),
        StatusCode::TOO_MANY_REQUESTS => {
            let mut message = format!("AbuseIPDB quota exceeded (HTTP 429): {detail}");
            if let Some(seconds) = retry_after {
                message.push_str(&format!("; retry after {seconds} seconds"));
            }
            if let Some(limit) = limit {
                message.push_str(&format!("; rate limit {limit}"));
            }
            if let Some(remaining) = remaining {
                message.push_str(&format!(", remaining {remaining}"));
            }
            if let Some(reset) = reset {
                message.push_str(&format!(", resets at {reset}"));
            }
            message
        }
        _ => format!("AbuseIPDB answered HTTP {}: {detail}", status.as_u16()),
    };
    Err(WorkerError::Service(message))
}

/// Extracts `errors[].detail` from an AbuseIPDB error body, or returns the body as is.
fn error_detail(body: &str) -> String {
    let details: Vec<String> = serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|body| body.get("errors").and_then(Value::as_array).cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|error| {
            error
                .get("detail")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .collect();
    if details.is_empty() {
        if body.trim().is_empty() {
            "empty body".into()
        } else {
            body.trim().to_owned()
        }
    } else {
        details.join("; ")
    }
}

/// Level from the abuse confidence score: whitelisted or 0 → safe, below 50 → suspicious,
/// 50 and above → malicious.
pub fn level_for(confidence: u64, whitelisted: bool) -> Level {
    match confidence {
        _ if whitelisted => Level::Safe,
        0 => Level::Safe,
        1..=49 => Level::Suspicious,
        _ => Level::Malicious,
    }
}

fn report(mut data: Value) -> AnalyzerReport {
    let confidence = data
        .get("abuseConfidenceScore")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    let total_reports = data
        .get("totalReports")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    let whitelisted = data
        .get("isWhitelisted")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let level = level_for(confidence, whitelisted);
    let mut taxonomies = vec![
        Taxonomy::new(level, NAMESPACE, "Confidence", format!("{confidence}%")),
        Taxonomy::new(level, NAMESPACE, "Records", total_reports),
    ];
    if data.get("isTor").and_then(Value::as_bool) == Some(true) {
        taxonomies.push(Taxonomy::new(Level::Info, NAMESPACE, "Tor", "exit node"));
    }

    let reports = data
        .get("reports")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut categories: Vec<&str> = reports
        .iter()
        .flat_map(|report| {
            report
                .get("categories")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|id| id.as_u64())
        .filter_map(|id| {
            CATEGORIES
                .iter()
                .find(|(known, _)| *known == id)
                .map(|(_, name)| *name)
        })
        .collect();
    categories.sort_unstable();
    categories.dedup();
    if let Some(map) = data.as_object_mut() {
        map.insert(
            "reports".into(),
            Value::Array(reports.iter().take(MAX_REPORTS).cloned().collect()),
        );
        map.insert("categories".into(), json!(categories));
    }
    AnalyzerReport {
        taxonomies,
        full: object(data),
        ..AnalyzerReport::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_follows_the_confidence_score() {
        assert_eq!(level_for(0, false), Level::Safe);
        assert_eq!(level_for(25, false), Level::Suspicious);
        assert_eq!(level_for(100, false), Level::Malicious);
        assert_eq!(level_for(100, true), Level::Safe);
    }

    #[test]
    fn error_detail_reads_the_errors_array() {
        let body = r#"{"errors":[{"detail":"Authentication failed.","status":401}]}"#;

        assert_eq!(error_detail(body), "Authentication failed.");
        assert_eq!(
            error_detail("<html>bad gateway</html>"),
            "<html>bad gateway</html>"
        );
    }
}
