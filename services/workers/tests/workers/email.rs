//! The e-mail analyzer on generated samples, valid and malformed.

use base64::Engine as _;
use serde_json::{Value, json};

use crate::helpers::{Finished, garbage, run_job, stored_zip};

fn job() -> Value {
    json!({"dataType": "file", "tlp": 2, "pap": 2, "message": "", "parameters": {}, "config": {"worker": "email", "auto_extract": false}})
}

fn analyze(name: &str, mail: &[u8]) -> Finished {
    run_job(job(), Some((name, mail)))
}

fn base64_lines(content: &[u8]) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(content);
    encoded
        .as_bytes()
        .chunks(76)
        .map(|line| String::from_utf8_lossy(line).into_owned())
        .collect::<Vec<_>>()
        .join("\r\n")
}

const PDF: &[u8] =
    b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";

fn phishing_mail() -> String {
    format!(
        "Return-Path: <bounce@sender.example>\r\n\
Received: from mx.corp.example (mx.corp.example [10.0.0.5])\r\n\tby inbox.corp.example with ESMTPS id 123;\r\n\tThu, 26 Nov 2026 10:00:02 +0000\r\n\
Received: from mail.sender.example (mail.sender.example [93.184.216.34])\r\n\tby mx.corp.example with ESMTP id 456;\r\n\tThu, 26 Nov 2026 10:00:01 +0000\r\n\
Authentication-Results: mx.corp.example; spf=fail smtp.mailfrom=sender.example;\r\n\tdkim=pass header.d=sender.example; dmarc=fail header.from=payroll.example\r\n\
From: \"Payroll\" <payroll@payroll.example>\r\n\
Reply-To: collect@evil.example\r\n\
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

#[test]
fn a_valid_mail_reports_headers_received_chain_authentication_links_and_attachments() {
    let finished = analyze("slip.eml", phishing_mail().as_bytes());

    finished.assert_success();
    let full = &finished.output["full"];
    assert_eq!(full["subject"], "Your salary slip");
    assert_eq!(full["from"], json!(["Payroll <payroll@payroll.example>"]));
    assert_eq!(full["reply_to"], json!(["collect@evil.example"]));
    assert_eq!(full["return_path"], "bounce@sender.example");
    assert_eq!(full["message_id"], "abc@sender.example");
    assert_eq!(full["received"].as_array().unwrap().len(), 2);
    assert_eq!(full["received"][1]["from_ip"], "93.184.216.34");
    assert_eq!(full["authentication"]["spf"], "fail");
    assert_eq!(full["authentication"]["dkim"], "pass");
    assert_eq!(full["authentication"]["dmarc"], "fail");
    assert_eq!(
        full["links"],
        json!(["https://payroll-login.example.com/verify?u=alice"])
    );
    let attachment = &full["attachments"][0];
    assert_eq!(attachment["filename"], "slip.pdf");
    assert_eq!(attachment["size"], PDF.len());
    assert_eq!(attachment["type"]["mime"], "application/pdf");
    assert_eq!(
        attachment["hashes"]["sha256"],
        skep_workers::content::hashes(PDF).sha256
    );
    assert_eq!(
        finished.taxonomy("Email", "SPF").unwrap()["level"],
        "suspicious"
    );
    assert_eq!(finished.taxonomy("Email", "DKIM").unwrap()["level"], "safe");
    assert_eq!(
        finished.taxonomy("Email", "Attachments").unwrap()["value"],
        1
    );
    assert!(
        finished
            .artifact_values("mail")
            .contains(&"collect@evil.example".to_owned())
    );
    assert!(
        finished
            .artifact_values("mail")
            .contains(&"payroll@payroll.example".to_owned())
    );
    assert!(
        finished
            .artifact_values("url")
            .contains(&"https://payroll-login.example.com/verify?u=alice".to_owned())
    );
    assert!(
        finished
            .artifact_values("domain")
            .contains(&"payroll-login.example.com".to_owned())
    );
    assert_eq!(finished.artifact_values("ip"), ["93.184.216.34"]);
}

#[test]
fn attachments_come_back_as_file_artifacts_in_the_output_directory() {
    let finished = analyze("slip.eml", phishing_mail().as_bytes());

    let files: Vec<&Value> = finished.output["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["dataType"] == "file")
        .collect();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0]["filename"], "slip.pdf");
    assert_eq!(files[0]["contentType"], "application/pdf");
    let stored = finished
        .directory
        .path()
        .join("output")
        .join(files[0]["file"].as_str().unwrap());
    assert_eq!(std::fs::read(stored).unwrap(), PDF);
}

#[test]
fn a_truncated_multipart_mail_gives_a_partial_report_with_a_warning() {
    let mail = phishing_mail();
    let truncated = &mail.as_bytes()[..mail.len() - 60];

    let finished = analyze("truncated.eml", truncated);

    finished.assert_success();
    assert_eq!(finished.output["full"]["subject"], "Your salary slip");
    let warnings = finished.output["full"]["warnings"].to_string();
    assert!(
        warnings.contains("boundary `b1` is never closed"),
        "{warnings}"
    );
}

#[test]
fn a_mail_with_a_wrong_or_unknown_charset_is_still_reported() {
    let mut mail = b"From: cafe@shop.example\r\nTo: bob@corp.example\r\nSubject: =?x-bogus?Q?caf=E9?= \xe9t\xe9\r\n\
MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
        .to_vec();
    mail.extend_from_slice(b"Latin-1 bytes in a UTF-8 part: \xe9\xe8\xff and =ZZ bad escape, see http://shop.example/menu\r\n");

    let finished = analyze("charset.eml", &mail);

    finished.assert_success();
    assert!(finished.output["full"]["subject"].is_string());
    assert!(
        finished
            .artifact_values("url")
            .contains(&"http://shop.example/menu".to_owned()),
        "{}",
        finished.output
    );
}

#[test]
fn a_nested_rfc822_message_is_described_inside_its_attachment() {
    let inner = format!(
        "From: attacker@evil.example\r\nTo: victim@corp.example\r\nSubject: Original lure\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"in\"\r\n\r\n--in\r\nContent-Type: text/plain\r\n\r\nGo to http://lure.example/x now\r\n\
--in\r\nContent-Type: application/octet-stream; name=\"payload.bin\"\r\nContent-Disposition: attachment; filename=\"payload.bin\"\r\n\
Content-Transfer-Encoding: base64\r\n\r\n{}\r\n--in--\r\n",
        base64_lines(b"MZ fake payload")
    );
    let outer = format!(
        "From: alice@corp.example\r\nTo: soc@corp.example\r\nSubject: Fwd: suspicious\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"out\"\r\n\r\n--out\r\nContent-Type: text/plain\r\n\r\nPlease check.\r\n\
--out\r\nContent-Type: message/rfc822\r\nContent-Disposition: attachment; filename=\"lure.eml\"\r\n\r\n{inner}\r\n--out--\r\n"
    );

    let finished = analyze("forward.eml", outer.as_bytes());

    finished.assert_success();
    let nested = &finished.output["full"]["attachments"][0];
    assert_eq!(nested["filename"], "lure.eml");
    assert_eq!(nested["message"]["subject"], "Original lure");
    assert_eq!(
        nested["message"]["attachments"][0]["filename"],
        "payload.bin"
    );
    assert_eq!(
        nested["message"]["attachments"][0]["type"]["executable"],
        true
    );
    assert!(
        finished
            .artifact_values("url")
            .contains(&"http://lure.example/x".to_owned()),
        "{}",
        finished.output
    );
    assert_eq!(
        finished.taxonomy("Email", "Attachments").unwrap()["level"],
        "suspicious"
    );
}

#[test]
fn a_zip_attachment_is_hashed_and_its_entries_listed() {
    let zip = stored_zip(&[("invoice.exe", b"MZ..."), ("readme.txt", b"hello")]);
    let mail = format!(
        "From: a@sender.example\r\nTo: b@corp.example\r\nSubject: zip\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"z\"\r\n\r\n--z\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n\
--z\r\nContent-Type: application/zip; name=\"invoice.zip\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n--z--\r\n",
        base64_lines(&zip)
    );

    let finished = analyze("zip.eml", mail.as_bytes());

    finished.assert_success();
    let attachment = &finished.output["full"]["attachments"][0];
    assert_eq!(attachment["filename"], "invoice.zip");
    assert_eq!(
        attachment["hashes"]["md5"],
        skep_workers::content::hashes(&zip).md5
    );
    let names: Vec<&str> = attachment["zip_entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["invoice.exe", "readme.txt"]);
}

#[test]
fn huge_headers_are_cut_and_the_report_still_arrives() {
    let mut mail = String::from("From: a@sender.example\r\nTo: b@corp.example\r\nSubject: big\r\n");
    mail.push_str(&format!("X-Huge: {}\r\n", "A".repeat(2 * 1024 * 1024)));
    for index in 0..3000 {
        mail.push_str(&format!("X-Filler-{index}: value {index}\r\n"));
    }
    mail.push_str("\r\nbody\r\n");

    let finished = analyze("huge.eml", mail.as_bytes());

    finished.assert_success();
    let headers = finished.output["full"]["headers"].as_array().unwrap();
    assert_eq!(headers.len(), 501);
    let huge = headers.iter().find(|h| h["name"] == "X-Huge").unwrap()["value"]
        .as_str()
        .unwrap();
    assert!(
        huge.len() < 5000 && huge.ends_with("more characters]"),
        "{}",
        &huge[huge.len() - 40..]
    );
}

#[test]
fn binary_garbage_gives_a_clear_failure() {
    let finished = analyze("garbage.bin", &garbage(200_000, 7));

    let message = finished.error_message();
    assert!(message.starts_with("not an e-mail message"), "{message}");
}

#[test]
fn an_empty_file_gives_a_clear_failure() {
    let finished = analyze("empty.eml", b"");

    assert!(
        finished
            .error_message()
            .starts_with("not an e-mail message"),
        "{}",
        finished.output
    );
}

/// Runs the analyzer in-process on `mail`, with a deadline, and returns the report.
fn analyze_in_process(mail: Vec<u8>) -> Value {
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let directory = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(directory.path().join("input")).unwrap();
        std::fs::write(directory.path().join("input/mail"), &mail).unwrap();
        let mut input = job();
        input["file"] = json!("mail");
        std::fs::write(directory.path().join("input/input.json"), input.to_string()).unwrap();
        let source = skep_workers::job::JobSource::Directory(directory.path().to_path_buf());
        let _ = sender.send(skep_workers::execute(&source, || Ok(Vec::new())));
    });
    receiver
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("the analyzer hangs")
}

#[test]
fn every_truncation_and_corruption_of_a_mail_gives_a_report_without_crashing() {
    let mail = phishing_mail().into_bytes();
    let mut samples: Vec<Vec<u8>> = (1..40)
        .map(|step| mail[..mail.len() * step / 40].to_vec())
        .collect();
    for (index, noise) in garbage(40, 11).into_iter().enumerate() {
        let mut corrupted = mail.clone();
        let position = (index * 97) % corrupted.len();
        corrupted[position] = noise;
        corrupted.insert(position / 2, 0);
        samples.push(corrupted);
    }

    for sample in samples {
        let report = analyze_in_process(sample);

        assert!(report["success"].is_boolean(), "{report}");
        let message = report["errorMessage"].as_str().unwrap_or_default();
        assert!(!message.starts_with("worker crashed"), "{message}");
    }
}
