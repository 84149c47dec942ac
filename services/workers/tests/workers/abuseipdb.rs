//! AbuseIPDB against a stand-in speaking the v2 `check` wire format.

use serde_json::{Value, json};

use crate::helpers::{Reply, StandIn, closed_port, run_job};

fn job(url: &str, ip: &str) -> Value {
    json!({
        "data": ip, "dataType": "ip", "tlp": 2, "pap": 2, "message": "", "parameters": {},
        "config": {"worker": "abuseipdb", "check_tlp": true, "max_tlp": 2, "key": "s3cr3t-key", "days": 45, "url": url}
    })
}

fn listed_ip_body() -> Value {
    json!({"data": {
        "ipAddress": "198.51.100.7", "isPublic": true, "ipVersion": 4, "isWhitelisted": false,
        "abuseConfidenceScore": 87, "countryCode": "NL", "usageType": "Data Center/Web Hosting/Transit",
        "isp": "Example Hosting", "domain": "example.net", "hostnames": [], "isTor": false,
        "totalReports": 12, "numDistinctUsers": 5, "lastReportedAt": "2026-11-20T10:00:00+00:00",
        "reports": [
            {"reportedAt": "2026-11-20T10:00:00+00:00", "comment": "ssh brute force", "categories": [18, 22], "reporterId": 1, "reporterCountryCode": "DE"},
            {"reportedAt": "2026-11-19T10:00:00+00:00", "comment": "scan", "categories": [14], "reporterId": 2, "reporterCountryCode": "FR"}
        ]
    }})
}

#[test]
fn a_listed_ip_gets_confidence_and_record_taxonomies_and_the_request_carries_the_key() {
    let service = StandIn::start(|_| {
        Reply::json(200, listed_ip_body())
            .with_header("X-RateLimit-Limit", "1000")
            .with_header("X-RateLimit-Remaining", "999")
    });

    let finished = run_job(job(&service.url, "198.51.100.7"), None);

    finished.assert_success();
    assert_eq!(
        finished.output["summary"]["taxonomies"],
        json!([
            {"level": "malicious", "namespace": "AbuseIPDB", "predicate": "Confidence", "value": "87%"},
            {"level": "malicious", "namespace": "AbuseIPDB", "predicate": "Records", "value": 12}
        ])
    );
    assert_eq!(
        finished.output["full"]["categories"],
        json!(["Brute-Force", "Port Scan", "SSH"])
    );
    assert_eq!(finished.output["full"]["isp"], "Example Hosting");
    let requests = service.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].method, "GET");
    assert_eq!(requests[0].path(), "/api/v2/check");
    assert!(
        requests[0].target.contains("ipAddress=198.51.100.7"),
        "{}",
        requests[0].target
    );
    assert!(
        requests[0].target.contains("maxAgeInDays=45"),
        "{}",
        requests[0].target
    );
    assert_eq!(requests[0].header("Key"), Some("s3cr3t-key"));
    assert_eq!(requests[0].header("Accept"), Some("application/json"));
}

#[test]
fn an_ip_without_reports_is_safe() {
    let service = StandIn::start(|_| {
        Reply::json(
            200,
            json!({"data": {"ipAddress": "203.0.113.5", "abuseConfidenceScore": 0, "totalReports": 0, "isWhitelisted": false, "reports": []}}),
        )
    });

    let finished = run_job(job(&service.url, "203.0.113.5"), None);

    finished.assert_success();
    assert_eq!(
        finished.taxonomy("AbuseIPDB", "Records").unwrap()["level"],
        "safe"
    );
}

#[test]
fn a_rejected_key_fails_with_the_services_message_and_the_key_is_redacted() {
    let service = StandIn::start(|_| {
        Reply::json(
            401,
            json!({"errors": [{"detail": "Authentication failed. Your API key is either missing, incorrect, or revoked. Note: The APIv2 key differs from the APIv1 key.", "status": 401}]}),
        )
    });

    let finished = run_job(job(&service.url, "198.51.100.7"), None);

    let message = finished.error_message();
    assert!(
        message.starts_with("AbuseIPDB rejected the API key (HTTP 401): Authentication failed."),
        "{message}"
    );
    assert_eq!(finished.output["input"]["config"]["key"], "REMOVED");
    assert_eq!(finished.output["input"]["config"]["days"], 45);
}

#[test]
fn quota_exhaustion_fails_with_retry_after_and_rate_limit_headers() {
    let service = StandIn::start(|_| {
        Reply::json(429, json!({"errors": [{"detail": "Daily rate limit of 1000 requests exceeded for this endpoint. See headers for additional details.", "status": 429}]}))
            .with_header("Retry-After", "29")
            .with_header("X-RateLimit-Limit", "1000")
            .with_header("X-RateLimit-Remaining", "0")
            .with_header("X-RateLimit-Reset", "1764288000")
    });

    let finished = run_job(job(&service.url, "198.51.100.7"), None);

    assert_eq!(
        finished.error_message(),
        "AbuseIPDB quota exceeded (HTTP 429): Daily rate limit of 1000 requests exceeded for this endpoint. \
         See headers for additional details.; retry after 29 seconds; rate limit 1000, remaining 0, resets at 1764288000"
    );
}

#[test]
fn an_invalid_ip_answer_from_the_service_is_reported() {
    let service = StandIn::start(|_| {
        Reply::json(
            422,
            json!({"errors": [{"detail": "The max age in days must be between 1 and 365.", "status": 422, "source": {"parameter": "maxAgeInDays"}}]}),
        )
    });

    let finished = run_job(job(&service.url, "198.51.100.7"), None);

    assert_eq!(
        finished.error_message(),
        "AbuseIPDB answered HTTP 422: The max age in days must be between 1 and 365."
    );
}

#[test]
fn an_unreachable_service_fails_with_a_clear_message() {
    let url = format!("http://127.0.0.1:{}", closed_port());

    let finished = run_job(job(&url, "198.51.100.7"), None);

    let message = finished.error_message();
    assert!(
        message.starts_with(&format!("cannot reach AbuseIPDB at {url}/api/v2/check")),
        "{message}"
    );
}

#[test]
fn a_missing_key_fails_before_any_request() {
    let service = StandIn::start(|_| Reply::json(200, listed_ip_body()));
    let mut input = job(&service.url, "198.51.100.7");
    input["config"]["key"] = Value::Null;

    let finished = run_job(input, None);

    assert!(
        finished
            .error_message()
            .starts_with("missing configuration item `key`"),
        "{}",
        finished.output
    );
    assert!(service.requests().is_empty());
}

#[test]
fn a_value_that_is_not_an_ip_is_refused() {
    let finished = run_job(job("http://127.0.0.1:9", "not-an-ip"), None);

    assert_eq!(finished.error_message(), "`not-an-ip` is not an IP address");
}

#[test]
fn tlp_above_the_maximum_is_refused_like_cortexutils() {
    let mut input = job("http://127.0.0.1:9", "198.51.100.7");
    input["tlp"] = json!(3);

    let finished = run_job(input, None);

    assert_eq!(finished.error_message(), "TLP is higher than allowed.");
    assert_eq!(finished.output["input"]["config"]["key"], "REMOVED");
}

#[test]
fn the_jobs_http_proxy_carries_the_request() {
    let proxy = StandIn::start(|_| Reply::json(200, listed_ip_body()));
    let mut input = job("http://api.abuseipdb.invalid", "198.51.100.7");
    input["config"]["proxy"] = json!({"http": proxy.url});

    let finished = run_job(input, None);

    finished.assert_success();
    let requests = proxy.requests();
    assert!(
        requests[0]
            .target
            .starts_with("http://api.abuseipdb.invalid/api/v2/check?"),
        "the proxy gets the absolute URL: {}",
        requests[0].target
    );
}

#[test]
fn pap_above_the_maximum_is_refused_like_cortexutils() {
    let mut input = job("http://127.0.0.1:9", "198.51.100.7");
    input["pap"] = json!(3);
    input["config"]["check_pap"] = json!(true);
    input["config"]["max_pap"] = json!(1);

    let finished = run_job(input, None);

    assert_eq!(finished.error_message(), "PAP is higher than allowed.");
}
