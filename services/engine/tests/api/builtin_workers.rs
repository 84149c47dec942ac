//! The built-in workers (`skep-worker`) enabled in an organisation, run and reported through the
//! REST API, as an orgadmin and an analyst would: AbuseIPDB and VirusTotal against local
//! stand-ins speaking the services' wire format, the offline analyzers on generated samples,
//! and the Mailer responder delivering to a real SMTP server (aiosmtpd) on loopback.
// Test support: any failed setup step should stop the run with a panic.
#![allow(clippy::unwrap_used)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use skep_testkit::stand_in::{Reply, StandIn};
use tempfile::TempDir;
use tokio::io::AsyncBufReadExt;

use crate::helpers::{TestApp, status_and_json};
use crate::worker_fixture::org_with_users;

// ---------------------------------------------------------------------------------------------
// An engine with the built-in definitions, and an organisation's orgadmin and analyst.

/// An engine started with its default catalog (the built-in definitions), and the keys of an
/// orgadmin and an analyst of a fresh organisation.
struct BuiltIn {
    app: TestApp,
    admin: String,
    analyst: String,
}

/// Where the engine finds `skep-worker` when run from this test binary (`target/debug`, the
/// parent of the test binary's folder).
fn worker_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent()
        .and_then(|deps| deps.parent())
        .unwrap()
        .join("skep-worker")
}

impl BuiltIn {
    async fn spawn() -> BuiltIn {
        let binary = worker_binary();
        assert!(
            binary.is_file(),
            "the built-in worker binary {} is missing: run `cargo build -p skep-workers --bins` \
             (scripts/test builds every binary first)",
            binary.display()
        );
        let app = TestApp::spawn().await;
        let (_, admin, analyst, _) = org_with_users(&app).await;
        BuiltIn {
            app,
            admin,
            analyst,
        }
    }

    /// Enables a definition as the orgadmin with a configuration; returns the worker id.
    async fn enable(&self, kind: &str, definition: &str, configuration: Value) -> String {
        let response = self
            .app
            .post_as(
                &self.admin,
                &format!("/api/organization/{kind}/{definition}"),
                &json!({"name": definition, "configuration": configuration}),
            )
            .await;
        let (status, worker) = status_and_json(response).await;
        assert_eq!(status, 201, "enable {definition}: {worker}");
        worker["id"].as_str().unwrap().to_owned()
    }

    /// Runs a worker as the analyst on a JSON body; returns the job id.
    async fn run(&self, kind: &str, worker: &str, body: Value) -> String {
        let response = self
            .app
            .post_as(&self.analyst, &format!("/api/{kind}/{worker}/run"), &body)
            .await;
        let (status, job) = status_and_json(response).await;
        assert_eq!(status, 200, "run {worker}: {job}");
        job["id"].as_str().unwrap().to_owned()
    }

    /// Runs an analyzer as the analyst on a file uploaded as multipart; returns the job id.
    async fn run_file(&self, worker: &str, name: &str, content: &[u8], tlp: u8) -> String {
        let form = reqwest::multipart::Form::new()
            .text("_json", json!({"dataType": "file", "tlp": tlp}).to_string())
            .part(
                "data",
                reqwest::multipart::Part::bytes(content.to_vec()).file_name(name.to_owned()),
            );
        let response = self
            .app
            .request_as(
                &self.analyst,
                Method::POST,
                &format!("/api/analyzer/{worker}/run"),
            )
            .multipart(form)
            .send()
            .await
            .unwrap();
        let (status, job) = status_and_json(response).await;
        assert_eq!(status, 200, "run {worker} on {name}: {job}");
        job["id"].as_str().unwrap().to_owned()
    }

    /// `GET /api/job/{id}/waitreport?atMost=1minute`: the ended job with its report.
    async fn report(&self, job: &str) -> Value {
        let response = self
            .app
            .request_as(
                &self.analyst,
                Method::GET,
                &format!("/api/job/{job}/waitreport?atMost=1minute"),
            )
            .timeout(Duration::from_secs(90))
            .send()
            .await
            .unwrap();
        let (status, report) = status_and_json(response).await;
        assert_eq!(status, 200, "waitreport {job}: {report}");
        report
    }

    /// Waits for a job that must succeed; returns the job with its report.
    async fn success(&self, job: &str) -> Value {
        let report = self.report(job).await;
        assert_eq!(report["status"], "Success", "{report}");
        assert_eq!(report["report"]["success"], true, "{report}");
        report
    }

    /// `GET /api/job/{id}/artifacts`: the artifact entities of a job.
    async fn artifacts(&self, job: &str) -> Vec<Value> {
        let response = self
            .app
            .get_as(&self.analyst, &format!("/api/job/{job}/artifacts"))
            .await;
        let (status, artifacts) = status_and_json(response).await;
        assert_eq!(status, 200, "artifacts of {job}: {artifacts}");
        artifacts.as_array().unwrap().clone()
    }

    /// Every text the engine serves about a job: the job, its report and its artifacts.
    async fn everything_served_about(&self, job: &str) -> String {
        let mut texts = Vec::new();
        for path in [
            format!("/api/job/{job}"),
            format!("/api/job/{job}/report"),
            format!("/api/job/{job}/artifacts"),
        ] {
            let response = self.app.get_as(&self.analyst, &path).await;
            assert_eq!(response.status().as_u16(), 200, "{path}");
            texts.push(response.text().await.unwrap());
        }
        texts.join("\n")
    }
}

/// The summary taxonomies of a report.
fn taxonomies(report: &Value) -> Value {
    report["report"]["summary"]["taxonomies"].clone()
}

/// The `(dataType, data)` pairs of artifact entities.
fn artifact_pairs(artifacts: &[Value]) -> Vec<(String, String)> {
    artifacts
        .iter()
        .filter_map(|artifact| {
            Some((
                artifact["dataType"].as_str()?.to_owned(),
                artifact["data"].as_str()?.to_owned(),
            ))
        })
        .collect()
}

fn pair(data_type: &str, data: &str) -> (String, String) {
    (data_type.to_owned(), data.to_owned())
}

// ---------------------------------------------------------------------------------------------
// AbuseIPDB (the v2 `check` endpoint).

const ABUSEIPDB_KEY: &str = "abuseipdb-s3cr3t-key";

fn abuseipdb_listed_ip() -> Value {
    json!({"data": {
        "ipAddress": "198.51.100.7", "isPublic": true, "ipVersion": 4, "isWhitelisted": false,
        "abuseConfidenceScore": 87, "countryCode": "NL", "usageType": "Data Center/Web Hosting/Transit",
        "isp": "Example Hosting", "domain": "example.net", "hostnames": [], "isTor": false,
        "totalReports": 12, "numDistinctUsers": 5, "lastReportedAt": "2026-11-20T10:00:00+00:00",
        "reports": [
            {"reportedAt": "2026-11-20T10:00:00+00:00", "comment": "ssh brute force", "categories": [18, 22],
             "reporterId": 1, "reporterCountryCode": "DE"}
        ]
    }})
}

#[tokio::test]
async fn abuseipdb_reports_the_confidence_and_records_of_an_ip_through_the_api() {
    let service = StandIn::start(|_| {
        Reply::json(200, abuseipdb_listed_ip())
            .with_header("X-RateLimit-Limit", "1000")
            .with_header("X-RateLimit-Remaining", "999")
    });
    let engine = BuiltIn::spawn().await;
    let worker = engine
        .enable(
            "analyzer",
            "AbuseIPDB_1_0",
            json!({"key": ABUSEIPDB_KEY, "days": 45, "url": service.url}),
        )
        .await;

    let job = engine
        .run(
            "analyzer",
            &worker,
            json!({"dataType": "ip", "data": "198.51.100.7", "tlp": 2, "pap": 2}),
        )
        .await;
    let report = engine.success(&job).await;

    assert_eq!(
        taxonomies(&report),
        json!([
            {"level": "malicious", "namespace": "AbuseIPDB", "predicate": "Confidence", "value": "87%"},
            {"level": "malicious", "namespace": "AbuseIPDB", "predicate": "Records", "value": 12}
        ])
    );
    let full = &report["report"]["full"];
    assert_eq!(full["isp"], "Example Hosting");
    assert_eq!(full["categories"], json!(["Brute-Force", "SSH"]));
    assert!(engine.artifacts(&job).await.is_empty());
    let requests = service.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        (requests[0].method.as_str(), requests[0].path()),
        ("GET", "/api/v2/check")
    );
    assert!(
        requests[0].target.contains("ipAddress=198.51.100.7")
            && requests[0].target.contains("maxAgeInDays=45"),
        "{}",
        requests[0].target
    );
    assert_eq!(requests[0].header("Key"), Some(ABUSEIPDB_KEY));
}

#[tokio::test]
async fn abuseipdb_with_a_rejected_key_fails_clearly_and_the_key_is_never_served() {
    let service = StandIn::start(|_| {
        Reply::json(
            401,
            json!({"errors": [{"detail": "Authentication failed. Your API key is either missing, incorrect, or revoked.", "status": 401}]}),
        )
    });
    let engine = BuiltIn::spawn().await;
    let worker = engine
        .enable(
            "analyzer",
            "AbuseIPDB_1_0",
            json!({"key": ABUSEIPDB_KEY, "url": service.url}),
        )
        .await;

    let job = engine
        .run(
            "analyzer",
            &worker,
            json!({"dataType": "ip", "data": "198.51.100.8"}),
        )
        .await;
    let report = engine.report(&job).await;

    assert_eq!(report["status"], "Failure", "{report}");
    assert_eq!(
        report["errorMessage"],
        "AbuseIPDB rejected the API key (HTTP 401): Authentication failed. Your API key is either \
         missing, incorrect, or revoked.; check the `key` configuration item"
    );
    let input: Value = serde_json::from_str(report["report"]["input"].as_str().unwrap()).unwrap();
    assert_eq!(input["config"]["key"], "REMOVED");
    let served = engine.everything_served_about(&job).await;
    assert!(!served.contains(ABUSEIPDB_KEY), "{served}");
}

// ---------------------------------------------------------------------------------------------
// VirusTotal (API v3).

const VIRUSTOTAL_KEY: &str = "virustotal-s3cr3t-key";

fn virustotal_not_found() -> Reply {
    Reply::json(
        404,
        json!({"error": {"code": "NotFoundError", "message": "Resource not found"}}),
    )
}

fn virustotal_object(kind: &str, id: &str, malicious: u64, suspicious: u64) -> Reply {
    Reply::json(
        200,
        json!({"data": {"id": id, "type": kind,
        "links": {"self": format!("https://www.virustotal.com/api/v3/{kind}s/{id}")},
        "attributes": {
            "meaningful_name": "invoice.exe", "last_analysis_date": 1764200000,
            "last_analysis_stats": {"harmless": 10, "type-unsupported": 4, "suspicious": suspicious,
                "confirmed-timeout": 0, "timeout": 1, "failure": 0, "malicious": malicious,
                "undetected": 60 - malicious - suspicious},
            "last_analysis_results": {"Engine": {"category": "malicious", "engine_name": "Engine", "result": "Trojan.Gen"}}
        }}}),
    )
}

/// The SHA-256 of `content` in lower-case hex.
fn sha256_hex(content: &[u8]) -> String {
    hex::encode(Sha256::digest(content))
}

#[tokio::test]
async fn virustotal_get_report_looks_up_a_hash_a_domain_a_url_an_ip_and_a_file_through_the_api() {
    let hash = "44d88612fea8a8f36de82e1278abb02f";
    let file = b"MZ a sample the analyst uploads\n".to_vec();
    let file_sha256 = sha256_hex(&file);
    let known_file = file_sha256.clone();
    let service = StandIn::start(move |request| {
        if request.method != "GET" {
            return virustotal_not_found();
        }
        match request.path() {
            path if path == format!("/api/v3/files/{hash}") => {
                virustotal_object("file", "abc123", 5, 0)
            }
            path if path == format!("/api/v3/files/{known_file}") => {
                virustotal_object("file", &known_file, 0, 0)
            }
            "/api/v3/domains/example.org" => virustotal_object("domain", "example.org", 0, 1),
            // The URL's id is the URL in base64url without padding.
            "/api/v3/urls/aHR0cDovL3d3dy5leGFtcGxlLmNvbS8" => virustotal_object("url", "u1", 2, 0),
            "/api/v3/ip_addresses/192.0.2.1" => virustotal_object("ip_address", "192.0.2.1", 0, 0),
            _ => virustotal_not_found(),
        }
    });
    let engine = BuiltIn::spawn().await;
    let worker = engine
        .enable(
            "analyzer",
            "VirusTotal_GetReport_1_0",
            json!({"key": VIRUSTOTAL_KEY, "url": service.url}),
        )
        .await;

    let mut jobs = Vec::new();
    for (data_type, data) in [
        ("hash", hash),
        ("domain", "example.org"),
        ("url", "http://www.example.com/"),
        ("ip", "192.0.2.1"),
    ] {
        let body = json!({"dataType": data_type, "data": data, "tlp": 2});
        jobs.push(engine.run("analyzer", &worker, body).await);
    }
    jobs.push(engine.run_file(&worker, "invoice.exe", &file, 2).await);
    let mut ratios = Vec::new();
    for job in &jobs {
        let report = engine.success(job).await;
        assert!(engine.artifacts(job).await.is_empty());
        ratios.push(taxonomies(&report));
    }

    let taxonomy = |level: &str, value: &str| json!([{"level": level, "namespace": "VT", "predicate": "GetReport", "value": value}]);
    assert_eq!(
        ratios,
        [
            taxonomy("malicious", "5/70"),
            taxonomy("suspicious", "0/70"),
            taxonomy("suspicious", "2/70"),
            taxonomy("safe", "0/70"),
            taxonomy("safe", "0/70"),
        ]
    );
    let requests = service.requests();
    assert_eq!(requests.len(), 5);
    assert!(
        requests
            .iter()
            .all(|request| request.header("x-apikey") == Some(VIRUSTOTAL_KEY))
    );
    assert!(
        requests
            .iter()
            .any(|request| request.path() == format!("/api/v3/files/{file_sha256}")),
        "the file is looked up by its SHA-256, not uploaded"
    );
}

#[tokio::test]
async fn virustotal_get_report_with_a_wrong_key_fails_clearly_and_the_key_is_never_served() {
    let service = StandIn::start(|_| {
        Reply::json(
            401,
            json!({"error": {"code": "WrongCredentialsError", "message": "Wrong API key"}}),
        )
    });
    let engine = BuiltIn::spawn().await;
    let worker = engine
        .enable(
            "analyzer",
            "VirusTotal_GetReport_1_0",
            json!({"key": VIRUSTOTAL_KEY, "url": service.url}),
        )
        .await;

    let job = engine
        .run(
            "analyzer",
            &worker,
            json!({"dataType": "domain", "data": "example.org"}),
        )
        .await;
    let report = engine.report(&job).await;

    assert_eq!(report["status"], "Failure", "{report}");
    assert_eq!(
        report["errorMessage"],
        "VirusTotal rejected the API key (HTTP 401 WrongCredentialsError): Wrong API key; check \
         the `key` configuration item"
    );
    let input: Value = serde_json::from_str(report["report"]["input"].as_str().unwrap()).unwrap();
    assert_eq!(input["config"]["key"], "REMOVED");
    let served = engine.everything_served_about(&job).await;
    assert!(!served.contains(VIRUSTOTAL_KEY), "{served}");
}

fn virustotal_analysis(status: &str) -> Reply {
    Reply::json(
        200,
        json!({"data": {"id": "an-1", "type": "analysis", "attributes": {
            "status": status, "date": 1764200000,
            "stats": {"harmless": 0, "malicious": 9, "suspicious": 1, "undetected": 60, "timeout": 0},
            "results": {"Engine": {"category": "malicious", "result": "EICAR-Test-File"}}}}}),
    )
}

const EICAR: &[u8] = br"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";

#[tokio::test]
async fn virustotal_scan_submits_a_file_and_a_url_and_polls_each_analysis_through_the_api() {
    let polls = Arc::new(Mutex::new(0_usize));
    let counted = Arc::clone(&polls);
    let service = StandIn::start(
        move |request| match (request.method.as_str(), request.path()) {
            ("POST", "/api/v3/files" | "/api/v3/urls") => Reply::json(
                200,
                json!({"data": {"type": "analysis", "id": "an-1", "links": {"self": "x"}}}),
            ),
            ("GET", "/api/v3/analyses/an-1") => {
                let mut polls = counted.lock().unwrap();
                *polls += 1;
                // Every other poll finds the analysis still queued.
                virustotal_analysis(if *polls % 2 == 1 {
                    "queued"
                } else {
                    "completed"
                })
            }
            _ => virustotal_not_found(),
        },
    );
    let engine = BuiltIn::spawn().await;
    let worker = engine
        .enable(
            "analyzer",
            "VirusTotal_Scan_1_0",
            json!({"key": VIRUSTOTAL_KEY, "url": service.url, "polling_interval": 0, "max_polling_attempts": 5}),
        )
        .await;

    let file_job = engine.run_file(&worker, "eicar.com", EICAR, 1).await;
    let file_report = engine.success(&file_job).await;
    let url_job = engine
        .run(
            "analyzer",
            &worker,
            json!({"dataType": "url", "data": "http://evil.example/landing", "tlp": 1}),
        )
        .await;
    let url_report = engine.success(&url_job).await;

    let scanned =
        json!([{"level": "malicious", "namespace": "VT", "predicate": "Scan", "value": "9/70"}]);
    assert_eq!(taxonomies(&file_report), scanned);
    assert_eq!(taxonomies(&url_report), scanned);
    assert!(engine.artifacts(&file_job).await.is_empty());
    let requests = service.requests();
    let upload = requests
        .iter()
        .find(|r| r.method == "POST" && r.path() == "/api/v3/files")
        .expect("the file is uploaded");
    assert!(
        upload
            .header("content-type")
            .unwrap()
            .starts_with("multipart/form-data; boundary=")
    );
    let body = String::from_utf8_lossy(&upload.body);
    assert!(
        body.contains("name=\"file\"; filename=\"eicar.com\""),
        "{body}"
    );
    assert!(
        body.contains("EICAR-STANDARD-ANTIVIRUS-TEST-FILE"),
        "{body}"
    );
    let submitted_url = requests
        .iter()
        .find(|r| r.method == "POST" && r.path() == "/api/v3/urls")
        .expect("the URL is submitted");
    assert_eq!(
        String::from_utf8_lossy(&submitted_url.body),
        "url=http%3A%2F%2Fevil.example%2Flanding"
    );
    assert_eq!(*polls.lock().unwrap(), 4);
}

#[tokio::test]
async fn virustotal_scan_over_quota_fails_clearly_and_the_key_is_never_served() {
    let service = StandIn::start(|_| {
        Reply::json(
            429,
            json!({"error": {"code": "QuotaExceededError", "message": "Quota exceeded"}}),
        )
    });
    let engine = BuiltIn::spawn().await;
    let worker = engine
        .enable(
            "analyzer",
            "VirusTotal_Scan_1_0",
            json!({"key": VIRUSTOTAL_KEY, "url": service.url, "polling_interval": 0}),
        )
        .await;

    let job = engine
        .run(
            "analyzer",
            &worker,
            json!({"dataType": "url", "data": "http://evil.example/other", "tlp": 1}),
        )
        .await;
    let report = engine.report(&job).await;

    assert_eq!(report["status"], "Failure", "{report}");
    assert_eq!(
        report["errorMessage"],
        "VirusTotal quota exceeded (HTTP 429 QuotaExceededError): Quota exceeded"
    );
    let input: Value = serde_json::from_str(report["report"]["input"].as_str().unwrap()).unwrap();
    assert_eq!(input["config"]["key"], "REMOVED");
    let served = engine.everything_served_about(&job).await;
    assert!(!served.contains(VIRUSTOTAL_KEY), "{served}");
}

// ---------------------------------------------------------------------------------------------
// The offline analyzers.

/// Standard base64 with padding, in lines of 76 characters (as MIME writes it).
fn base64_lines(content: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut encoded = String::new();
    for chunk in content.chunks(3) {
        let bytes = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let group = u32::from(bytes[0]) << 16 | u32::from(bytes[1]) << 8 | u32::from(bytes[2]);
        for index in 0..4 {
            if index <= chunk.len() {
                encoded.push(char::from(
                    ALPHABET[(group >> (18 - 6 * index)) as usize & 63],
                ));
            } else {
                encoded.push('=');
            }
        }
    }
    encoded
        .as_bytes()
        .chunks(76)
        .map(|line| String::from_utf8_lossy(line).into_owned())
        .collect::<Vec<_>>()
        .join("\r\n")
}

const PDF: &[u8] =
    b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";

/// A phishing mail as a mail server delivers it: a Received chain, the receiving server's
/// authentication results, a text and an HTML body with a link, and a PDF attachment.
fn phishing_mail() -> String {
    format!(
        "Return-Path: <bounce@sender.example>\r\n\
Received: from mx.corp.example (mx.corp.example [10.0.0.5])\r\n\tby inbox.corp.example with ESMTPS id 123;\r\n\tThu, 26 Nov 2026 10:00:02 +0000\r\n\
Received: from mail.sender.example (mail.sender.example [93.184.216.34])\r\n\tby mx.corp.example with ESMTP id 456;\r\n\tThu, 26 Nov 2026 10:00:01 +0000\r\n\
Authentication-Results: mx.corp.example; spf=fail smtp.mailfrom=sender.example;\r\n\tdkim=pass header.d=sender.example; dmarc=fail header.from=payroll.example\r\n\
From: \"Payroll\" <payroll@payroll.example>\r\n\
To: alice@corp.example\r\n\
Subject: Your salary slip\r\n\
Date: Thu, 26 Nov 2026 10:00:00 +0000\r\n\
Message-ID: <abc@sender.example>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"b1\"\r\n\
\r\n\
--b1\r\n\
Content-Type: multipart/alternative; boundary=\"b2\"\r\n\
\r\n\
--b2\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
\r\n\
Please log in at https://payroll-login.example.com/verify?u=alice to see your slip.\r\n\
--b2\r\n\
Content-Type: text/html; charset=utf-8\r\n\
\r\n\
<html><body><a href=\"https://payroll-login.example.com/verify?u=alice\">log in</a></body></html>\r\n\
--b2--\r\n\
--b1\r\n\
Content-Type: application/pdf; name=\"slip.pdf\"\r\n\
Content-Disposition: attachment; filename=\"slip.pdf\"\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
{}\r\n\
--b1--\r\n",
        base64_lines(PDF)
    )
}

#[tokio::test]
async fn the_email_analyzer_reports_an_uploaded_eml_and_stores_its_attachment_as_an_artifact() {
    let engine = BuiltIn::spawn().await;
    let worker = engine
        .enable("analyzer", "EmailAnalyzer_1_0", json!({}))
        .await;

    let job = engine
        .run_file(&worker, "salary-slip.eml", phishing_mail().as_bytes(), 2)
        .await;
    let report = engine.success(&job).await;
    let artifacts = engine.artifacts(&job).await;

    let taxonomy = |level: &str, predicate: &str, value: Value| json!({"level": level, "namespace": "Email", "predicate": predicate, "value": value});
    assert_eq!(
        taxonomies(&report),
        json!([
            taxonomy("info", "Attachments", json!(1)),
            taxonomy("info", "Links", json!(1)),
            taxonomy("suspicious", "SPF", json!("fail")),
            taxonomy("safe", "DKIM", json!("pass")),
            taxonomy("suspicious", "DMARC", json!("fail")),
        ])
    );
    let full = &report["report"]["full"];
    assert_eq!(full["subject"], "Your salary slip");
    assert_eq!(full["received"][1]["from_ip"], "93.184.216.34");
    assert_eq!(full["attachments"][0]["filename"], "slip.pdf");
    let pairs = artifact_pairs(&artifacts);
    for expected in [
        pair("mail", "payroll@payroll.example"),
        pair("ip", "93.184.216.34"),
        pair("url", "https://payroll-login.example.com/verify?u=alice"),
        pair("hash", &sha256_hex(PDF)),
    ] {
        assert!(pairs.contains(&expected), "{expected:?} in {artifacts:?}");
    }
    let files: Vec<&Value> = artifacts
        .iter()
        .filter(|artifact| artifact["dataType"] == "file")
        .collect();
    assert_eq!(files.len(), 1, "{artifacts:?}");
    assert_eq!(files[0]["_type"], "artifact");
    assert_eq!(files[0]["attachment"]["name"], "slip.pdf");
    let stored = files[0]["attachment"]["id"].as_str().unwrap();
    let download = engine
        .app
        .get_as(&engine.analyst, &format!("/api/datastore/{stored}"))
        .await;
    assert_eq!(download.status().as_u16(), 200);
    assert_eq!(download.bytes().await.unwrap().as_ref(), PDF);
}

#[tokio::test]
async fn the_file_analyzer_describes_an_uploaded_file_and_returns_the_observables_in_its_strings() {
    let engine = BuiltIn::spawn().await;
    let worker = engine
        .enable("analyzer", "SkepFileInfo_1_0", json!({}))
        .await;
    let content = b"beacon config\nc2=http://update-check.example.com/gate.php\nfallback 45.33.32.156\nowner ops@evil-mail.example.org\n";

    let job = engine.run_file(&worker, "config.txt", content, 2).await;
    let report = engine.success(&job).await;
    let artifacts = engine.artifacts(&job).await;

    let taxonomies = taxonomies(&report);
    let found = |predicate: &str| {
        taxonomies
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["namespace"] == "FileInfo" && t["predicate"] == predicate)
            .unwrap_or_else(|| panic!("FileInfo:{predicate} in {taxonomies}"))
            .clone()
    };
    assert_eq!(found("Type")["value"], "text");
    assert_eq!(found("Size")["value"], content.len());
    assert!(found("Entropy")["value"].is_string());
    assert!(
        taxonomies
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["level"] == "info"),
        "{taxonomies}"
    );
    let full = &report["report"]["full"];
    assert_eq!(full["filename"], "config.txt");
    assert_eq!(full["hashes"]["sha256"], sha256_hex(content));
    assert_eq!(full["type"]["mime"], "text/plain");
    let pairs = artifact_pairs(&artifacts);
    for expected in [
        pair("url", "http://update-check.example.com/gate.php"),
        pair("ip", "45.33.32.156"),
        pair("mail", "ops@evil-mail.example.org"),
    ] {
        assert!(pairs.contains(&expected), "{expected:?} in {artifacts:?}");
    }
    assert!(
        artifacts
            .iter()
            .all(|artifact| artifact["tags"] == json!(["file-strings"])),
        "{artifacts:?}"
    );
    assert_eq!(found("Observables")["value"], artifacts.len());
}

#[tokio::test]
async fn observable_sanity_refangs_a_defanged_url_and_domain_through_the_api() {
    let engine = BuiltIn::spawn().await;
    let worker = engine
        .enable("analyzer", "ObservableSanity_1_0", json!({}))
        .await;

    let url_job = engine
        .run(
            "analyzer",
            &worker,
            json!({"dataType": "url", "data": "hxxps://login-paypal[.]example(.)com/verify"}),
        )
        .await;
    let domain_job = engine
        .run(
            "analyzer",
            &worker,
            json!({"dataType": "domain", "data": "evil-payroll[.]example"}),
        )
        .await;
    let url_report = engine.success(&url_job).await;
    let domain_report = engine.success(&domain_job).await;

    let valid_and_defanged = json!([
        {"level": "info", "namespace": "Sanity", "predicate": "Valid", "value": "yes"},
        {"level": "info", "namespace": "Sanity", "predicate": "Defanged", "value": "yes"}
    ]);
    assert_eq!(taxonomies(&url_report), valid_and_defanged);
    assert_eq!(taxonomies(&domain_report), valid_and_defanged);
    assert_eq!(
        url_report["report"]["full"]["normalized"],
        "https://login-paypal.example.com/verify"
    );
    assert_eq!(
        artifact_pairs(&engine.artifacts(&url_job).await),
        [
            pair("url", "https://login-paypal.example.com/verify"),
            pair("domain", "login-paypal.example.com"),
        ]
    );
    assert_eq!(
        artifact_pairs(&engine.artifacts(&domain_job).await),
        [pair("domain", "evil-payroll.example")]
    );
}

// ---------------------------------------------------------------------------------------------
// The Mailer responder against a real SMTP server.

/// A real SMTP server (aiosmtpd's command line with its Maildir handler) on a free loopback
/// port; killed when dropped.
struct SmtpServer {
    child: Child,
    port: u16,
    maildir: TempDir,
}

/// A loopback port nobody listens on (bound, then released).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl SmtpServer {
    async fn start() -> SmtpServer {
        let maildir = TempDir::new().unwrap();
        let port = free_port();
        let child = Command::new(skep_testkit::python())
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(maildir.path().join("Maildir"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let server = SmtpServer {
            child,
            port,
            maildir,
        };
        let greeted = skep_testkit::wait_until(Duration::from_secs(20), || async move {
            let Ok(stream) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await else {
                return false;
            };
            let mut greeting = String::new();
            let read = tokio::io::BufReader::new(stream)
                .read_line(&mut greeting)
                .await;
            read.is_ok() && greeting.starts_with("220")
        })
        .await;
        assert!(greeted, "aiosmtpd did not greet on port {port}");
        server
    }

    /// The delivered messages, as raw text.
    fn delivered(&self) -> Vec<String> {
        let new = self.maildir.path().join("Maildir").join("new");
        let Ok(entries) = std::fs::read_dir(new) else {
            return Vec::new();
        };
        entries
            .filter_map(|entry| std::fs::read_to_string(entry.ok()?.path()).ok())
            .collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The text of a delivered message with quoted-printable soft line breaks and escapes undone.
fn decoded(raw: &str) -> String {
    raw.replace("=\r\n", "")
        .replace("=\n", "")
        .replace("=2E", ".")
        .replace("=3D", "=")
}

fn reported_case() -> Value {
    json!({"_type": "case", "id": "AYx1", "caseId": 42, "title": "Phishing from payroll",
           "description": "Hello,\n\nWe blocked the sender of the salary slip mail.\nThank you for reporting it.",
           "tags": ["phishing", "mail:someone@example.org"], "tlp": 2, "pap": 2, "severity": 2})
}

#[tokio::test]
async fn the_mailer_responder_delivers_a_case_to_a_real_smtp_server_and_tags_the_case() {
    let smtp = SmtpServer::start().await;
    let engine = BuiltIn::spawn().await;
    let responder = engine
        .enable(
            "responder",
            "Mailer_1_0",
            json!({"from": "skep@soc.example", "smtp_host": "127.0.0.1", "smtp_port": smtp.port, "tls": "none"}),
        )
        .await;

    let job = engine
        .run(
            "responder",
            &responder,
            json!({"dataType": "thehive:case", "data": reported_case(), "tlp": 2, "pap": 2}),
        )
        .await;
    let report = engine.success(&job).await;

    assert_eq!(
        report["report"]["operations"],
        json!([{"type": "AddTagToCase", "tag": "mail sent"}])
    );
    assert_eq!(report["report"]["full"]["recipient"], "someone@example.org");
    let delivered = smtp.delivered();
    assert_eq!(delivered.len(), 1, "{delivered:?}");
    let message = decoded(&delivered[0]);
    assert!(
        message.contains("X-RcptTo: someone@example.org"),
        "{message}"
    );
    assert!(
        message.contains("X-MailFrom: skep@soc.example"),
        "{message}"
    );
    assert!(message.contains("To: someone@example.org"), "{message}");
    assert!(
        message.contains("Subject: [Case #42] Phishing from payroll"),
        "{message}"
    );
    assert!(
        message.contains("We blocked the sender of the salary slip mail."),
        "{message}"
    );
    assert!(message.contains("Thank you for reporting it."), "{message}");
}

#[tokio::test]
async fn the_mailer_responder_without_a_reachable_smtp_server_fails_clearly() {
    let port = free_port();
    let engine = BuiltIn::spawn().await;
    let responder = engine
        .enable(
            "responder",
            "Mailer_1_0",
            json!({"from": "skep@soc.example", "smtp_host": "127.0.0.1", "smtp_port": port, "tls": "none", "timeout": 5}),
        )
        .await;

    let job = engine
        .run(
            "responder",
            &responder,
            json!({"dataType": "thehive:case", "data": reported_case()}),
        )
        .await;
    let report = engine.report(&job).await;

    assert_eq!(report["status"], "Failure", "{report}");
    let message = report["errorMessage"].as_str().unwrap();
    assert!(
        message.starts_with(&format!("cannot send the mail through 127.0.0.1:{port}: ")),
        "{message}"
    );
}
