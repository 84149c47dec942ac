//! VirusTotal GetReport and Scan against a stand-in speaking the v3 wire format.

use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value, json};

use crate::helpers::{Reply, StandIn, run_job};

fn config(worker: &str, url: &str) -> Value {
    json!({"worker": worker, "check_tlp": true, "max_tlp": 2, "key": "vt-key", "url": url,
           "polling_interval": 0, "max_polling_attempts": 5})
}

fn file_object(id: &str, malicious: u64) -> Value {
    json!({"data": {"id": id, "type": "file", "links": {"self": format!("https://www.virustotal.com/api/v3/files/{id}")},
    "attributes": {
        "meaningful_name": "invoice.exe", "size": 1234, "type_description": "Win32 EXE",
        "last_analysis_date": 1764200000,
        "last_analysis_stats": {"harmless": 0, "type-unsupported": 4, "suspicious": 0, "confirmed-timeout": 0,
                                "timeout": 1, "failure": 0, "malicious": malicious, "undetected": 70 - malicious},
        "last_analysis_results": {"Engine": {"category": "malicious", "engine_name": "Engine", "result": "Trojan.Gen"}}
    }}})
}

fn not_found(what: &str) -> Reply {
    Reply::json(
        404,
        json!({"error": {"code": "NotFoundError", "message": format!("{what} not found")}}),
    )
}

#[test]
fn a_hash_report_gives_the_detection_ratio_taxonomy() {
    let hash = "44d88612fea8a8f36de82e1278abb02f";
    let service = StandIn::start(move |request| {
        if request.path() == format!("/api/v3/files/{hash}") {
            Reply::json(200, file_object("abc123", 5))
        } else {
            not_found("x")
        }
    });

    let finished = run_job(
        json!({"data": hash, "dataType": "hash", "tlp": 2, "config": config("virustotal_get_report", &service.url)}),
        None,
    );

    finished.assert_success();
    assert_eq!(
        finished.output["summary"]["taxonomies"],
        json!([{"level": "malicious", "namespace": "VT", "predicate": "GetReport", "value": "5/70"}])
    );
    assert_eq!(
        finished.output["full"]["attributes"]["meaningful_name"],
        "invoice.exe"
    );
    assert_eq!(
        finished.output["full"]["permalink"],
        "https://www.virustotal.com/gui/file/abc123"
    );
    assert_eq!(service.requests()[0].header("x-apikey"), Some("vt-key"));
}

#[test]
fn a_url_is_looked_up_by_its_unpadded_base64url_id() {
    let service = StandIn::start(|request| {
        if request.path() == "/api/v3/urls/aHR0cDovL3d3dy5leGFtcGxlLmNvbS8" {
            Reply::json(
                200,
                json!({"data": {"id": "u1", "type": "url", "attributes": {
                "last_analysis_stats": {"harmless": 66, "malicious": 2, "suspicious": 0, "undetected": 2, "timeout": 0}}}}),
            )
        } else {
            not_found("URL")
        }
    });

    let finished = run_job(
        json!({"data": "http://www.example.com/", "dataType": "url", "config": config("virustotal_get_report", &service.url)}),
        None,
    );

    finished.assert_success();
    assert_eq!(
        finished.taxonomy("VT", "GetReport").unwrap(),
        json!({"level": "suspicious", "namespace": "VT", "predicate": "GetReport", "value": "2/70"})
    );
}

#[test]
fn domains_and_ips_use_their_own_endpoints() {
    let service = StandIn::start(|request| {
        let stats = json!({"harmless": 70, "malicious": 0, "suspicious": 0, "undetected": 0});
        match request.path() {
            "/api/v3/domains/example.org" | "/api/v3/ip_addresses/192.0.2.1" => Reply::json(
                200,
                json!({"data": {"id": "x", "type": "domain", "attributes": {"last_analysis_stats": stats}}}),
            ),
            _ => not_found("object"),
        }
    });

    let domain = run_job(
        json!({"data": "Example.org", "dataType": "domain", "config": config("virustotal_get_report", &service.url)}),
        None,
    );
    let ip = run_job(
        json!({"data": "192.0.2.1", "dataType": "ip", "config": config("virustotal_get_report", &service.url)}),
        None,
    );

    assert_eq!(domain.taxonomy("VT", "GetReport").unwrap()["value"], "0/70");
    assert_eq!(domain.taxonomy("VT", "GetReport").unwrap()["level"], "safe");
    assert_eq!(ip.taxonomy("VT", "GetReport").unwrap()["value"], "0/70");
}

#[test]
fn a_file_is_looked_up_by_its_sha256() {
    // SHA-256 of "hello\n".
    let sha256 = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03";
    let service = StandIn::start(move |request| {
        if request.path() == format!("/api/v3/files/{sha256}") {
            Reply::json(200, file_object(sha256, 0))
        } else {
            not_found("file")
        }
    });

    let finished = run_job(
        json!({"tlp": 2, "config": config("virustotal_get_report", &service.url)}),
        Some(("hello.txt", b"hello\n")),
    );

    finished.assert_success();
    assert_eq!(
        finished.taxonomy("VT", "GetReport").unwrap()["value"],
        "0/70"
    );
}

#[test]
fn an_unknown_hash_is_reported_as_not_found_with_an_info_taxonomy() {
    let service = StandIn::start(|_| not_found("File \"0123\""));

    let finished = run_job(
        json!({"data": "0".repeat(63) + "1", "dataType": "hash", "config": config("virustotal_get_report", &service.url)}),
        None,
    );

    finished.assert_success();
    assert_eq!(
        finished.output["summary"]["taxonomies"],
        json!([{"level": "info", "namespace": "VT", "predicate": "GetReport", "value": "not found"}])
    );
    assert_eq!(finished.output["full"]["found"], false);
}

#[test]
fn a_wrong_key_fails_with_the_services_error_code() {
    let service = StandIn::start(|_| {
        Reply::json(
            401,
            json!({"error": {"code": "WrongCredentialsError", "message": "Wrong API key"}}),
        )
    });

    let finished = run_job(
        json!({"data": "example.org", "dataType": "domain", "config": config("virustotal_get_report", &service.url)}),
        None,
    );

    assert_eq!(
        finished.error_message(),
        "VirusTotal rejected the API key (HTTP 401 WrongCredentialsError): Wrong API key; check the `key` configuration item"
    );
    assert_eq!(finished.output["input"]["config"]["key"], "REMOVED");
}

#[test]
fn quota_exhaustion_is_reported() {
    let service = StandIn::start(|_| {
        Reply::json(
            429,
            json!({"error": {"code": "QuotaExceededError", "message": "Quota exceeded"}}),
        )
    });

    let finished = run_job(
        json!({"data": "example.org", "dataType": "domain", "config": config("virustotal_get_report", &service.url)}),
        None,
    );

    assert_eq!(
        finished.error_message(),
        "VirusTotal quota exceeded (HTTP 429 QuotaExceededError): Quota exceeded"
    );
}

fn analysis(status: &str) -> Value {
    json!({"data": {"id": "an-1", "type": "analysis", "attributes": {
        "status": status, "date": 1764200000,
        "stats": {"harmless": 0, "malicious": 9, "suspicious": 1, "undetected": 60, "timeout": 0},
        "results": {"Engine": {"category": "malicious", "result": "EICAR-Test-File"}}}},
        "meta": {"file_info": {"sha256": "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f", "size": 68}}})
}

#[test]
fn scanning_a_file_uploads_it_and_polls_until_the_analysis_completes() {
    let polls = AtomicUsize::new(0);
    let service = StandIn::start(
        move |request| match (request.method.as_str(), request.path()) {
            ("POST", "/api/v3/files") => Reply::json(
                200,
                json!({"data": {"type": "analysis", "id": "an-1", "links": {"self": "x"}}}),
            ),
            ("GET", "/api/v3/analyses/an-1") => {
                let status = if polls.fetch_add(1, Ordering::SeqCst) < 2 {
                    "queued"
                } else {
                    "completed"
                };
                Reply::json(200, analysis(status))
            }
            _ => not_found("route"),
        },
    );
    let eicar = br"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";

    let finished = run_job(
        json!({"tlp": 1, "config": config("virustotal_scan", &service.url)}),
        Some(("eicar.com", eicar)),
    );

    finished.assert_success();
    assert_eq!(
        finished.taxonomy("VT", "Scan").unwrap(),
        json!({"level": "malicious", "namespace": "VT", "predicate": "Scan", "value": "9/70"})
    );
    let requests = service.requests();
    let upload = &requests[0];
    assert_eq!(
        (upload.method.as_str(), upload.path()),
        ("POST", "/api/v3/files")
    );
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
    assert!(body.contains("EICAR-STANDARD-ANTIVIRUS-TEST-FILE"));
    assert_eq!(
        requests
            .iter()
            .filter(|r| r.path() == "/api/v3/analyses/an-1")
            .count(),
        3
    );
}

#[test]
fn scanning_a_url_posts_it_as_a_form() {
    let service = StandIn::start(|request| match (request.method.as_str(), request.path()) {
        ("POST", "/api/v3/urls") => {
            Reply::json(200, json!({"data": {"type": "analysis", "id": "an-1"}}))
        }
        ("GET", "/api/v3/analyses/an-1") => Reply::json(200, analysis("completed")),
        _ => not_found("route"),
    });

    let finished = run_job(
        json!({"data": "http://evil.example/a b", "dataType": "url", "tlp": 1, "config": config("virustotal_scan", &service.url)}),
        None,
    );

    finished.assert_success();
    let submit = &service.requests()[0];
    assert_eq!(
        submit.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(
        String::from_utf8_lossy(&submit.body),
        "url=http%3A%2F%2Fevil.example%2Fa+b"
    );
}

#[test]
fn an_analysis_that_never_completes_fails_after_the_configured_polls() {
    let service = StandIn::start(|request| match request.method.as_str() {
        "POST" => Reply::json(200, json!({"data": {"type": "analysis", "id": "an-1"}})),
        _ => Reply::json(200, analysis("queued")),
    });

    let finished = run_job(
        json!({"data": "http://slow.example/", "dataType": "url", "tlp": 1, "config": config("virustotal_scan", &service.url)}),
        None,
    );

    assert_eq!(
        finished.error_message(),
        "VirusTotal analysis `an-1` is still `queued` after 5 polls; raise `max_polling_attempts` or `polling_interval`"
    );
}

#[test]
fn scanning_is_refused_above_the_scan_flavors_tlp() {
    let finished = run_job(
        json!({"data": "http://x.example/", "dataType": "url", "tlp": 2,
               "config": {"worker": "virustotal_scan", "check_tlp": true, "max_tlp": 1, "key": "k"}}),
        None,
    );

    assert_eq!(finished.error_message(), "TLP is higher than allowed.");
}

#[test]
fn an_unreachable_service_fails_with_a_clear_message() {
    let url = format!("http://127.0.0.1:{}", crate::helpers::closed_port());

    let finished = run_job(
        json!({"data": "example.org", "dataType": "domain", "config": config("virustotal_get_report", &url)}),
        None,
    );

    let message = finished.error_message();
    assert!(
        message.starts_with(&format!(
            "cannot reach VirusTotal at {url}/api/v3/domains/example.org"
        )),
        "{message}"
    );
}
