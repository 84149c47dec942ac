//! The file analyzer on generated samples.

use serde_json::json;

use crate::helpers::{Finished, garbage, run_job, stored_zip};

fn analyze(name: &str, content: &[u8]) -> Finished {
    run_job(
        json!({"tlp": 2, "pap": 2, "config": {"worker": "file_info"}}),
        Some((name, content)),
    )
}

#[test]
fn a_text_file_reports_hashes_entropy_and_the_observables_in_its_strings() {
    let content = b"beacon config\nc2=http://update-check.example.com/gate.php\nfallback 45.33.32.156\nowner ops@evil-mail.example.org\n";

    let finished = analyze("config.txt", content);

    finished.assert_success();
    let full = &finished.output["full"];
    assert_eq!(full["filename"], "config.txt");
    assert_eq!(full["size"], content.len());
    assert_eq!(
        full["hashes"]["sha1"],
        skep_workers::content::hashes(content).sha1
    );
    assert_eq!(full["type"]["mime"], "text/plain");
    assert!(full["entropy"].as_f64().unwrap() > 3.0);
    assert_eq!(
        finished.artifact_values("url"),
        ["http://update-check.example.com/gate.php"]
    );
    assert_eq!(finished.artifact_values("ip"), ["45.33.32.156"]);
    assert_eq!(
        finished.artifact_values("mail"),
        ["ops@evil-mail.example.org"]
    );
    assert_eq!(
        finished.taxonomy("FileInfo", "Type").unwrap()["value"],
        "text"
    );
}

#[test]
fn a_zip_file_lists_its_entries() {
    let zip = stored_zip(&[
        ("word/document.xml", b"<w/>"),
        ("[Content_Types].xml", b"<Types/>"),
    ]);

    let finished = analyze("report.docx", &zip);

    finished.assert_success();
    assert_eq!(
        finished.output["full"]["type"]["description"],
        "Microsoft Word document (OOXML)"
    );
    assert_eq!(
        finished.output["full"]["zip_entries"][0]["name"],
        "word/document.xml"
    );
}

#[test]
fn a_packed_looking_executable_has_a_suspicious_entropy() {
    let mut content = b"\x7fELF\x02\x01\x01".to_vec();
    content.extend(garbage(100_000, 3));

    let finished = analyze("dropper", &content);

    finished.assert_success();
    assert_eq!(
        finished.output["full"]["type"]["description"],
        "ELF executable"
    );
    assert_eq!(
        finished.taxonomy("FileInfo", "Entropy").unwrap()["level"],
        "suspicious"
    );
}

#[test]
fn a_windows_executable_is_recognised_with_utf16_strings() {
    let mut content = vec![0u8; 0x200];
    content[..2].copy_from_slice(b"MZ");
    content[0x3c..0x40].copy_from_slice(&0x80u32.to_le_bytes());
    content[0x80..0x84].copy_from_slice(b"PE\0\0");
    content[0x80 + 22..0x80 + 24].copy_from_slice(&0x0102u16.to_le_bytes());
    content[0x80 + 24..0x80 + 26].copy_from_slice(&0x10bu16.to_le_bytes());
    for byte in "https://c2.badhost.example/x".bytes() {
        content.extend_from_slice(&[byte, 0]);
    }
    content.extend_from_slice(&[0, 0]);

    let finished = analyze("setup.exe", &content);

    finished.assert_success();
    assert_eq!(
        finished.output["full"]["type"]["description"],
        "PE32 executable (Windows)"
    );
    assert_eq!(
        finished.artifact_values("url"),
        ["https://c2.badhost.example/x"]
    );
}

#[test]
fn an_empty_file_is_reported_not_crashed() {
    let finished = analyze("empty", b"");

    finished.assert_success();
    assert_eq!(finished.output["full"]["type"]["description"], "empty");
    assert_eq!(finished.output["full"]["entropy"], 0.0);
}

#[test]
fn a_file_job_without_its_file_fails_clearly() {
    let finished = run_job(
        json!({"dataType": "file", "file": "attachment-missing", "config": {"worker": "file_info"}}),
        None,
    );

    assert!(
        finished
            .error_message()
            .starts_with("cannot read the job file"),
        "{}",
        finished.output
    );
}
