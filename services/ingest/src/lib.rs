//! The Skep ingest service: reads IMAP mailboxes and turns each mail into a case or an alert
//! in the cases service (TheHive 3 REST API, API key), with its observables and attachments,
//! every mail exactly once.
//!
//! Reading order: [`config`] (and [`ini`] for imap2thehive files), [`message`] (raw mail to
//! [`message::Mail`]), [`extract`] and [`html`] (pure text functions), [`plan`] (a mail to the
//! JSON the cases service gets), [`cases`] (the REST client), [`imap`] (the mailbox),
//! [`pipeline`] (one pass: fetch, look up, create, flag), [`metrics`].

pub mod cases;
pub mod config;
pub mod extract;
pub mod html;
pub mod imap;
pub mod ini;
pub mod message;
pub mod metrics;
pub mod pipeline;
pub mod plan;

use std::time::Duration;

/// How a run ended; [`Outcome::exit_code`] is the process exit code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Every mail seen was imported (or already there).
    AllImported,
    /// Some mails were refused; they are named in the log and stay in the mailbox.
    SomeFailed(Vec<String>),
    /// A server stayed unreachable (or refused the connection).
    Unreachable(String),
}

impl Outcome {
    /// 0 all imported, 2 some mails failed, 3 a server unreachable (1 is a configuration error,
    /// reported before any run).
    pub fn exit_code(&self) -> i32 {
        match self {
            Outcome::AllImported => 0,
            Outcome::SomeFailed(_) => 2,
            Outcome::Unreachable(_) => 3,
        }
    }
}

/// Builds one runner per mailbox, with their counters registered.
pub fn runners(
    config: &config::IngestConfig,
    ssl_cert_file: Option<String>,
) -> Result<(Vec<pipeline::MailboxRunner>, metrics::Registry), String> {
    let cases = cases::CasesClient::new(
        &config.cases.url,
        &config.cases.key,
        Duration::from_secs(config.cases.timeout_secs.max(1)),
    )
    .map_err(|error| error.to_string())?;
    let mut registry = metrics::Registry::default();
    let mut runners = Vec::new();
    for mailbox in &config.mailboxes {
        let counters = registry.mailbox(&mailbox.display_name());
        runners.push(
            pipeline::MailboxRunner::new(
                mailbox.clone(),
                config.ingest.clone(),
                cases.clone(),
                counters,
                ssl_cert_file.clone(),
            )
            .map_err(|error| error.to_string())?,
        );
    }
    Ok((runners, registry))
}

/// `--once`: one pass over every mailbox, retrying unreachable servers for at most
/// `ingest.give_up_after_secs`.
pub async fn run_once(config: &config::IngestConfig, ssl_cert_file: Option<String>) -> Outcome {
    let (runners, _) = match runners(config, ssl_cert_file) {
        Ok(built) => built,
        Err(error) => return Outcome::Unreachable(error),
    };
    let limit = Duration::from_secs(config.ingest.give_up_after_secs);
    let mut failed = Vec::new();
    let mut unreachable = None;
    for mut runner in runners {
        match runner.pass(Some(limit)).await {
            Ok(report) => failed.extend(report.failed),
            Err(error) => unreachable = Some(error.to_string()),
        }
        runner.close().await;
    }
    match (unreachable, failed.is_empty()) {
        (Some(error), _) => Outcome::Unreachable(error),
        (None, false) => Outcome::SomeFailed(failed),
        (None, true) => Outcome::AllImported,
    }
}

/// Daemon mode: every mailbox in its own task, `GET /metrics` on `ingest.metrics_listen`.
pub async fn run_daemon(
    config: &config::IngestConfig,
    ssl_cert_file: Option<String>,
) -> Result<(), String> {
    let (runners, registry) = runners(config, ssl_cert_file)?;
    if !config.ingest.metrics_listen.is_empty() {
        let listener = tokio::net::TcpListener::bind(&config.ingest.metrics_listen)
            .await
            .map_err(|error| {
                format!(
                    "cannot listen on {} (set ingest.metrics_listen): {error}",
                    config.ingest.metrics_listen
                )
            })?;
        let address = listener.local_addr().map_err(|error| error.to_string())?;
        tracing::info!(%address, "metrics at GET /metrics");
        tokio::spawn(metrics::serve(listener, registry));
    }
    let tasks: Vec<_> = runners
        .into_iter()
        .map(|runner| tokio::spawn(runner.run_forever()))
        .collect();
    for task in tasks {
        let _ = task.await;
    }
    Ok(())
}
