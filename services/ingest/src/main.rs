//! `skep-ingest --config FILE [--once]`: IMAP mailboxes to cases and alerts.
//!
//! Exit codes: 0 all imported, 1 configuration error, 2 some mails failed (named in the log),
//! 3 a server unreachable.

use std::process::ExitCode;

const USAGE: &str = "usage: skep-ingest --config FILE [--once]";

#[tokio::main]
async fn main() -> ExitCode {
    skep_config::init_tracing("info");
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut file = None;
    let mut once = false;
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "--config" | "-c" => file = iter.next().cloned(),
            "--once" => once = true,
            "--help" | "-h" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            other => {
                eprintln!("unknown argument {other:?}\n{USAGE}");
                return ExitCode::from(1);
            }
        }
    }
    let Some(file) = file else {
        eprintln!("{USAGE}");
        return ExitCode::from(1);
    };
    let loaded = match skep_ingest::config::load(std::path::Path::new(&file)) {
        Ok(loaded) => loaded,
        Err(error) => {
            tracing::error!(%error, "configuration error");
            return ExitCode::from(1);
        }
    };
    for warning in &loaded.warnings {
        tracing::warn!(file = %file, "{warning}");
    }
    // The one place the process environment is read: the standard custom-CA variable.
    let ssl_cert_file = std::env::var("SSL_CERT_FILE")
        .ok()
        .filter(|v| !v.is_empty());
    if once {
        let outcome = skep_ingest::run_once(&loaded.config, ssl_cert_file).await;
        match &outcome {
            skep_ingest::Outcome::AllImported => {}
            skep_ingest::Outcome::SomeFailed(failed) => {
                tracing::error!(count = failed.len(), mails = ?failed, "some mails failed");
            }
            skep_ingest::Outcome::Unreachable(error) => {
                tracing::error!(%error, "a server is unreachable");
            }
        }
        ExitCode::from(outcome.exit_code() as u8)
    } else {
        match skep_ingest::run_daemon(&loaded.config, ssl_cert_file).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                tracing::error!(%error, "cannot start");
                ExitCode::from(3)
            }
        }
    }
}
