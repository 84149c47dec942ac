//! `skep-worker <job-dir>`: runs one job of a built-in worker (Cortex job protocol).

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use skep_workers::job::{JobSource, write_output};

fn main() -> ExitCode {
    let directory = std::env::args_os()
        .nth(1)
        .map_or_else(|| PathBuf::from("/job"), PathBuf::from);
    let source = JobSource::detect(&directory);
    let output = skep_workers::execute(&source, || {
        let mut bytes = Vec::new();
        std::io::stdin().read_to_end(&mut bytes).map(|_| bytes)
    });
    let succeeded = output.get("success").and_then(serde_json::Value::as_bool) == Some(true);
    if let Err(error) = write_output(&source, &output) {
        eprintln!("skep-worker: {error}");
        return ExitCode::FAILURE;
    }
    if succeeded {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
