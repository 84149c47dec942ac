//! Skep's built-in workers: analyzers and responders that speak the Cortex job protocol, so the
//! engine runs them exactly like catalog workers.
//!
//! One executable, `skep-worker <job-dir>`, serves every built-in worker; the definition's
//! static `config.worker` picks which one runs. The flavor definitions live in
//! `services/workers/definitions/`. This crate does no HTTP serving and knows nothing of the
//! engine's storage: it reads `input/input.json` and writes `output/output.json`.
//!
//! Start reading at [`run`], then [`job::Job`] and [`report`].

#![warn(missing_docs)]

pub mod analyzers;
pub mod content;
pub mod error;
pub mod extract;
pub mod http;
pub mod job;
pub mod outbound;
pub mod report;
pub mod responders;

use serde_json::Value;

use crate::error::WorkerError;
use crate::job::{Job, JobSource};
use crate::report::{Outcome, failure_output};

/// The values `config.worker` may take, in the order the documentation lists them.
pub const WORKER_NAMES: &[&str] = &[
    "abuseipdb",
    "virustotal_get_report",
    "virustotal_scan",
    "email",
    "file_info",
    "observable_sanity",
    "mailer",
];

/// Runs the worker the job's `config.worker` names, after the TLP/PAP checks.
pub fn run(job: &Job) -> Result<Outcome, WorkerError> {
    job.check_tlp_and_pap()?;
    let worker = job.config().string("worker").unwrap_or_default();
    match worker.as_str() {
        "abuseipdb" => analyzers::abuseipdb::analyze(job).map(Outcome::Analyzer),
        "virustotal_get_report" => analyzers::virustotal::get_report(job).map(Outcome::Analyzer),
        "virustotal_scan" => analyzers::virustotal::scan(job).map(Outcome::Analyzer),
        "email" => analyzers::email::analyze(job).map(Outcome::Analyzer),
        "file_info" => analyzers::file_info::analyze(job).map(Outcome::Analyzer),
        "observable_sanity" => analyzers::observable_sanity::analyze(job).map(Outcome::Analyzer),
        "mailer" => responders::mailer::respond(job).map(Outcome::Responder),
        _ => Err(WorkerError::UnknownWorker(worker)),
    }
}

/// Reads the job from `source`, runs it, and returns the `output.json` body. A panic inside a
/// worker becomes a failure report too, so the engine always gets an answer.
pub fn execute(source: &JobSource, stdin: impl FnOnce() -> std::io::Result<Vec<u8>>) -> Value {
    let job = match source {
        JobSource::Directory(directory) => Job::read(directory),
        JobSource::Stdin => stdin()
            .map_err(|e| WorkerError::io("cannot read the job from stdin", e))
            .and_then(|bytes| {
                serde_json::from_slice(&bytes)
                    .map_err(|e| WorkerError::InvalidInput(format!("stdin is not valid JSON: {e}")))
            })
            .and_then(|input| Job::new(input, None)),
    };
    let job = match job {
        Ok(job) => job,
        Err(error) => return failure_output(&error.to_string(), None),
    };
    match std::panic::catch_unwind(|| run(&job)) {
        Ok(Ok(outcome)) => outcome.to_output(),
        Ok(Err(error)) => failure_output(&error.to_string(), Some(job.redacted_input())),
        Err(panic) => {
            let detail = panic
                .downcast_ref::<&str>()
                .map(|text| (*text).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "no detail".into());
            failure_output(
                &format!("worker crashed: {detail}"),
                Some(job.redacted_input()),
            )
        }
    }
}
