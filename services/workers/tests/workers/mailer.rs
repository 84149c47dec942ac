//! The Mailer responder against a real SMTP server (aiosmtpd) on loopback.

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

use crate::helpers::{SmtpServer, closed_port, run_job};

fn mailer_config(port: u16) -> Value {
    json!({"worker": "mailer", "from": "skep@soc.example", "smtp_host": "127.0.0.1", "smtp_port": port, "tls": "none",
           "smtp_user": null, "smtp_pwd": null, "ca_file": null, "timeout": 20})
}

fn case_job(port: u16) -> Value {
    json!({
        "dataType": "thehive:case", "tlp": 2, "pap": 2, "message": "", "parameters": {},
        "data": {"_type": "case", "id": "AYx1", "caseId": 42, "title": "Phishing from payroll",
                 "description": "Hello,\n\nWe blocked **the sender**.\n\n- check your inbox\n- report more",
                 "tags": ["phishing", "mail:reporter@corp.example"], "tlp": 2, "severity": 2},
        "config": mailer_config(port)
    })
}

/// The decoded text of a delivered message (lettre may use quoted-printable or base64).
fn delivered_text(raw: &str) -> String {
    raw.replace("=\r\n", "")
        .replace("=\n", "")
        .replace("=2E", ".")
        .replace("=3D", "=")
}

#[test]
fn a_case_is_mailed_to_its_mail_tag_with_title_subject_and_description_body() {
    let smtp = SmtpServer::plain();

    let finished = run_job(case_job(smtp.port), None);

    finished.assert_success();
    assert_eq!(
        finished.output["operations"],
        json!([{"type": "AddTagToCase", "tag": "mail sent"}])
    );
    assert_eq!(
        finished.output["full"]["message"],
        "message sent to reporter@corp.example"
    );
    let delivered = smtp.delivered();
    assert_eq!(delivered.len(), 1);
    let message = delivered_text(&delivered[0]);
    assert!(
        message.contains("X-RcptTo: reporter@corp.example"),
        "{message}"
    );
    assert!(
        message.contains("X-MailFrom: skep@soc.example"),
        "{message}"
    );
    assert!(
        message.contains("Subject: [Case #42] Phishing from payroll"),
        "{message}"
    );
    assert!(message.contains("To: reporter@corp.example"), "{message}");
    assert!(message.contains("Content-Type: text/plain"), "{message}");
    assert!(message.contains("We blocked **the sender**."), "{message}");
    assert!(message.contains("Content-Type: text/html"), "{message}");
    assert!(message.contains("<strong>the sender</strong>"), "{message}");
    assert!(message.contains("Message-ID: <"), "{message}");
    assert!(message.contains("Date: "), "{message}");
}

#[test]
fn a_task_is_mailed_to_the_address_on_its_mailto_line() {
    let smtp = SmtpServer::plain();
    let job = json!({
        "dataType": "thehive:case_task", "tlp": 2, "pap": 2,
        "data": {"_type": "case_task", "title": "Ask the user", "description": "mailto: user@corp.example\nDid you click the link?",
                 "case": {"caseId": 7, "title": "c"}},
        "config": mailer_config(smtp.port)
    });

    let finished = run_job(job, None);

    finished.assert_success();
    let message = delivered_text(&smtp.delivered()[0]);
    assert!(message.contains("X-RcptTo: user@corp.example"), "{message}");
    assert!(
        message.contains("Subject: [Case #7] Ask the user"),
        "{message}"
    );
    assert!(message.contains("Did you click the link?"), "{message}");
    assert!(!message.contains("mailto: user@corp.example"), "{message}");
}

#[test]
fn an_alert_is_mailed_to_its_mail_observable_and_tags_the_alert() {
    let smtp = SmtpServer::plain();
    let job = json!({
        "dataType": "thehive:alert", "tlp": 2, "pap": 2,
        "data": {"_type": "alert", "title": "Suspicious login", "description": "Seen from 203.0.113.9",
                 "tags": [], "artifacts": [{"dataType": "mail", "data": "owner@corp.example"}]},
        "config": mailer_config(smtp.port)
    });

    let finished = run_job(job, None);

    finished.assert_success();
    assert_eq!(
        finished.output["operations"],
        json!([{"type": "AddTagToAlert", "tag": "mail sent"}])
    );
    assert!(smtp.delivered()[0].contains("X-RcptTo: owner@corp.example"));
}

#[test]
fn a_missing_recipient_gives_a_failure_report_and_sends_nothing() {
    let smtp = SmtpServer::plain();
    let mut job = case_job(smtp.port);
    job["data"]["tags"] = json!(["phishing"]);

    let finished = run_job(job, None);

    assert!(
        finished
            .error_message()
            .starts_with("recipient address not found"),
        "{}",
        finished.output
    );
    assert!(smtp.delivered().is_empty());
}

#[test]
fn an_unreachable_smtp_server_gives_a_failure_report() {
    let port = closed_port();

    let finished = run_job(case_job(port), None);

    let message = finished.error_message();
    assert!(
        message.starts_with(&format!("cannot send the mail through 127.0.0.1:{port}: ")),
        "{message}"
    );
}

#[test]
fn credentials_over_a_plain_connection_are_refused_and_redacted() {
    let mut job = case_job(closed_port());
    job["config"]["smtp_user"] = json!("mailer");
    job["config"]["smtp_pwd"] = json!("hunter2");

    let finished = run_job(job, None);

    assert_eq!(
        finished.error_message(),
        "invalid configuration item `tls`: refusing to send the SMTP password over a plain connection; set tls to starttls or tls"
    );
    assert_eq!(finished.output["input"]["config"]["smtp_pwd"], "REMOVED");
}

fn openssl(directory: &Path, args: &[&str]) {
    let status = Command::new("openssl")
        .current_dir(directory)
        .args(args)
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&status.stderr)
    );
}

/// A CA and a leaf for 127.0.0.1/localhost (rustls refuses a CA certificate used as the leaf).
fn test_pki(directory: &Path) {
    openssl(
        directory,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=skep test CA",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
        ],
    );
    openssl(
        directory,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=localhost",
            "-keyout",
            "key.pem",
            "-out",
            "leaf.csr",
        ],
    );
    std::fs::write(
        directory.join("leaf.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        directory,
        &[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "leaf.ext",
            "-out",
            "cert.pem",
        ],
    );
}

#[test]
fn mail_goes_over_starttls_with_authentication_to_a_server_the_ca_file_trusts() {
    let pki = tempfile::tempdir().unwrap();
    test_pki(pki.path());
    let smtp = SmtpServer::starttls_with_auth(
        &pki.path().join("cert.pem"),
        &pki.path().join("key.pem"),
        "mailer",
        "s3cret",
    );
    let mut job = case_job(smtp.port);
    job["config"]["tls"] = json!("starttls");
    job["config"]["smtp_user"] = json!("mailer");
    job["config"]["smtp_pwd"] = json!("s3cret");
    job["config"]["ca_file"] = json!(pki.path().join("ca.pem"));

    let finished = run_job(job.clone(), None);

    finished.assert_success();
    assert!(smtp.delivered()[0].contains("X-RcptTo: reporter@corp.example"));

    job["config"]["smtp_pwd"] = json!("wrong");
    let rejected = run_job(job, None);
    let message = rejected.error_message();
    assert!(
        message.starts_with("cannot send the mail through 127.0.0.1:"),
        "{message}"
    );
    assert!(
        message.contains("535"),
        "the server's authentication failure is shown: {message}"
    );
}

#[test]
fn a_server_certificate_outside_the_trusted_roots_is_refused() {
    let pki = tempfile::tempdir().unwrap();
    test_pki(pki.path());
    let smtp = SmtpServer::starttls_with_auth(
        &pki.path().join("cert.pem"),
        &pki.path().join("key.pem"),
        "mailer",
        "s3cret",
    );
    let mut job = case_job(smtp.port);
    job["config"]["tls"] = json!("starttls");
    job["config"]["smtp_user"] = json!("mailer");
    job["config"]["smtp_pwd"] = json!("s3cret");

    let finished = run_job(job, None);

    let message = finished.error_message();
    assert!(message.to_lowercase().contains("certificate"), "{message}");
    assert!(smtp.delivered().is_empty());
}

#[test]
fn a_mail_observable_is_mailed_to_itself_and_tagged() {
    let smtp = SmtpServer::plain();
    let job = json!({
        "dataType": "thehive:case_artifact", "tlp": 2, "pap": 2,
        "data": {"_type": "case_artifact", "dataType": "mail", "data": "victim@corp.example",
                 "message": "You were targeted by a phishing campaign.", "tags": [], "case": {"caseId": 9}},
        "config": mailer_config(smtp.port)
    });

    let finished = run_job(job, None);

    finished.assert_success();
    assert_eq!(
        finished.output["operations"],
        json!([{"type": "AddTagToArtifact", "tag": "mail sent"}])
    );
    let message = delivered_text(&smtp.delivered()[0]);
    assert!(
        message.contains("X-RcptTo: victim@corp.example"),
        "{message}"
    );
    assert!(
        message.contains("Subject: [Case #9] Observable mail: victim@corp.example"),
        "{message}"
    );
    assert!(
        message.contains("You were targeted by a phishing campaign."),
        "{message}"
    );
}
