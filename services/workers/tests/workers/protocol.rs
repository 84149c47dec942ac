//! The job protocol itself: stdin mode, unknown workers, malformed input.

use std::process::Command;

use serde_json::json;

use crate::helpers::{run_job, run_stdin, worker_binary};

#[test]
fn stdin_mode_reads_the_job_and_writes_the_report_to_stdout() {
    let report = run_stdin(
        &json!({"data": "10.0.0.1", "dataType": "ip", "config": {"worker": "observable_sanity"}}),
    );

    assert_eq!(report["success"], true);
    assert_eq!(report["full"]["class"], "private");
}

#[test]
fn an_unknown_worker_name_fails_with_the_list_of_workers() {
    let finished = run_job(
        json!({"data": "x", "dataType": "ip", "config": {"worker": "nope"}}),
        None,
    );

    assert_eq!(
        finished.error_message(),
        "unknown worker `nope`: config.worker must be one of abuseipdb, virustotal_get_report, virustotal_scan, email, file_info, observable_sanity, mailer"
    );
}

#[test]
fn malformed_input_json_fails_with_a_clear_message_in_output_json() {
    let directory = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(directory.path().join("input")).unwrap();
    std::fs::write(directory.path().join("input/input.json"), b"{\"data\": ").unwrap();

    let status = Command::new(worker_binary())
        .arg(directory.path())
        .status()
        .unwrap();

    assert!(!status.success());
    let output: serde_json::Value = serde_json::from_slice(
        &std::fs::read(directory.path().join("output/output.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(output["success"], false);
    assert!(
        output["errorMessage"]
            .as_str()
            .unwrap()
            .starts_with("invalid job input: input.json is not valid JSON")
    );
}

#[test]
fn a_successful_report_has_the_shape_the_engine_reads() {
    let finished = run_job(
        json!({"data": "example.org", "dataType": "domain", "config": {"worker": "observable_sanity"}}),
        None,
    );

    let output = finished.output.as_object().unwrap();
    let mut keys: Vec<&str> = output.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["artifacts", "full", "operations", "success", "summary"]
    );
    assert!(output["full"].is_object());
    assert!(output["summary"]["taxonomies"].is_array());
}
