//! One pass over a mailbox, and the daemon loop around it.
//!
//! A pass lists unseen UIDs, then per batch: fetch with `BODY.PEEK[]`, read and plan every mail,
//! look up all their idempotency keys in one search, create the missing ones with several
//! requests in flight, and only then mark the confirmed mails (seen, moved or deleted). A mail
//! whose case exists already is marked without a second case; one the service refused stays
//! in the mailbox and is counted as failed. When the cases service or the IMAP server is
//! unreachable, the pass retries with backoff from a fresh connection: what was confirmed is
//! marked, what was not is still unseen, and the key lookup keeps a retried creation from
//! making a second case.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;

use crate::cases::{CasesClient, CasesError, Existing, Submitted};
use crate::config::{IngestSettings, MailboxConfig, MailboxRules};
use crate::imap::{ImapError, Mailbox};
use crate::metrics::Counters;
use crate::plan::{Kind, Plan};

/// Why a pass stopped.
#[derive(Debug, thiserror::Error)]
pub enum PassError {
    /// A server stayed unreachable (or refused the connection) past the retry deadline.
    #[error("{0}")]
    Unreachable(String),
}

/// What a pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PassReport {
    /// Mails fetched.
    pub seen: u64,
    /// New cases or alerts.
    pub imported: u64,
    /// Mails whose case or alert existed already.
    pub duplicates: u64,
    /// Mails refused (UID and reason), left in the mailbox.
    pub failed: Vec<String>,
}

/// One mailbox and everything a pass over it needs.
pub struct MailboxRunner {
    /// The mailbox configuration.
    pub config: MailboxConfig,
    rules: MailboxRules,
    settings: IngestSettings,
    cases: CasesClient,
    counters: Arc<Counters>,
    ssl_cert_file: Option<String>,
    /// UIDs refused during this process's life: not retried until restart (or unflagged by hand).
    refused: HashSet<u32>,
    connection: Option<Mailbox>,
}

/// One mail's submission in flight (boxed: the daemon's spawned task needs a nameable type).
type Submission<'a> = std::pin::Pin<
    Box<dyn std::future::Future<Output = (usize, Result<Submitted, CasesError>)> + Send + 'a>,
>;

/// Something that failed in a way worth retrying.
enum Transient {
    Imap(ImapError),
    Cases(CasesError),
}

impl std::fmt::Display for Transient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Transient::Imap(error) => error.fmt(f),
            Transient::Cases(error) => error.fmt(f),
        }
    }
}

impl MailboxRunner {
    /// A runner for one mailbox.
    pub fn new(
        config: MailboxConfig,
        settings: IngestSettings,
        cases: CasesClient,
        counters: Arc<Counters>,
        ssl_cert_file: Option<String>,
    ) -> Result<MailboxRunner, crate::config::ConfigError> {
        let rules = MailboxRules::compile(&config)?;
        Ok(MailboxRunner {
            config,
            rules,
            settings,
            cases,
            counters,
            ssl_cert_file,
            refused: HashSet::new(),
            connection: None,
        })
    }

    /// One pass, retried with backoff while a server is unreachable; gives up after
    /// `give_up_after` (None: never).
    pub async fn pass(&mut self, give_up_after: Option<Duration>) -> Result<PassReport, PassError> {
        let started = Instant::now();
        let mut report = PassReport::default();
        let mut attempt = 0u32;
        loop {
            match self.try_pass(&mut report).await {
                Ok(()) => {
                    tracing::info!(
                        mailbox = %self.config.display_name(),
                        seen = report.seen,
                        imported = report.imported,
                        duplicates = report.duplicates,
                        failed = report.failed.len(),
                        "pass done"
                    );
                    return Ok(report);
                }
                Err(error) => {
                    self.connection = None;
                    let permanent = matches!(error, Transient::Imap(ImapError::Refused(_)));
                    let delay = self.settings.backoff(attempt);
                    let out_of_time =
                        give_up_after.is_some_and(|limit| started.elapsed() + delay > limit);
                    if permanent || out_of_time {
                        tracing::error!(
                            mailbox = %self.config.display_name(),
                            seen = report.seen,
                            imported = report.imported,
                            duplicates = report.duplicates,
                            failed = report.failed.len(),
                            %error,
                            "pass stopped; the mails not imported stay unseen"
                        );
                        return Err(PassError::Unreachable(error.to_string()));
                    }
                    tracing::warn!(
                        mailbox = %self.config.display_name(),
                        %error,
                        retry_in_ms = delay.as_millis() as u64,
                        "server unreachable, retrying"
                    );
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
            }
        }
    }

    async fn connection(&mut self) -> Result<&mut Mailbox, Transient> {
        if self.connection.is_none() {
            let mailbox = Mailbox::open(&self.config, self.ssl_cert_file.as_deref())
                .await
                .map_err(Transient::Imap)?;
            self.connection = Some(mailbox);
        }
        Ok(self.connection.as_mut().expect("set just above"))
    }

    async fn try_pass(&mut self, report: &mut PassReport) -> Result<(), Transient> {
        let refused = self.refused.clone();
        let uids: Vec<u32> = self
            .connection()
            .await?
            .unseen()
            .await
            .map_err(Transient::Imap)?
            .into_iter()
            .filter(|uid| !refused.contains(uid))
            .collect();
        let batches: Vec<&[u32]> = uids.chunks(self.settings.batch_size).collect();
        let max = self.config.max_message_bytes;
        let mut fetched = match batches.first() {
            Some(first) => self
                .connection()
                .await?
                .fetch(first, max)
                .await
                .map_err(Transient::Imap)?,
            None => return Ok(()),
        };
        for index in 0..batches.len() {
            // The next batch is fetched while this one's mails are being created.
            fetched = self
                .batch(fetched, batches.get(index + 1).copied(), report)
                .await?;
        }
        Ok(())
    }

    /// Processes one fetched batch; returns the next batch, fetched meanwhile.
    async fn batch(
        &mut self,
        fetched: Vec<crate::imap::Fetched>,
        next: Option<&[u32]>,
        report: &mut PassReport,
    ) -> Result<Vec<crate::imap::Fetched>, Transient> {
        let max = self.config.max_message_bytes;
        let now = chrono::Utc::now().timestamp_millis();
        let plans: Vec<(u32, Plan)> = fetched
            .iter()
            .map(|fetched| {
                let mail = if fetched.headers_only {
                    crate::message::read_headers_only(&fetched.raw, fetched.size, max)
                } else {
                    crate::message::read(&fetched.raw)
                };
                let raw = (!fetched.headers_only).then_some(fetched.raw.as_slice());
                (
                    fetched.uid,
                    crate::plan::plan(&mail, raw, &self.config, &self.rules, now),
                )
            })
            .collect();
        drop(fetched);
        report.seen += plans.len() as u64;
        Counters::add(&self.counters.seen, plans.len() as u64);

        let mut keys: Vec<String> = plans.iter().map(|(_, plan)| plan.key.clone()).collect();
        keys.sort();
        keys.dedup();
        let existing = self
            .cases
            .existing(&keys)
            .await
            .map_err(|error| match error {
                CasesError::Rejected { status, body } => Transient::Cases(CasesError::Unreachable(
                    format!("the key lookup was refused ({status}): {body}"),
                )),
                other => Transient::Cases(other),
            })?;

        // One submission per key; other mails with the same key share its outcome.
        let mut leaders: Vec<usize> = Vec::new();
        let mut followers: HashMap<&str, Vec<u32>> = HashMap::new();
        for (index, entry) in plans.iter().enumerate() {
            if leaders
                .iter()
                .any(|&leader| plans[leader].1.key == entry.1.key)
            {
                followers.entry(&entry.1.key).or_default().push(entry.0);
            } else {
                leaders.push(index);
            }
        }
        if self.connection.is_none() {
            self.connection().await?;
        }
        let (cases, settings) = (&self.cases, &self.settings);
        let existing = &existing;
        let mut submissions: Vec<Submission<'_>> = Vec::with_capacity(leaders.len());
        for index in leaders {
            let plan = &plans[index].1;
            submissions.push(Box::pin(async move {
                (index, submit(cases, settings, plan, existing).await)
            }));
        }
        let connection = self.connection.as_mut().expect("opened above");
        let (outcomes, next_fetched): (Vec<(usize, Result<Submitted, CasesError>)>, _) =
            futures_util::future::join(
                futures_util::stream::iter(submissions)
                    .buffer_unordered(settings.concurrency)
                    .collect(),
                async {
                    match next {
                        Some(uids) => connection.fetch(uids, max).await,
                        None => Ok(Vec::new()),
                    }
                },
            )
            .await;

        let mut done = Vec::new();
        let mut unreachable = None;
        for (index, outcome) in outcomes {
            let (uid, plan) = (plans[index].0, &plans[index].1);
            let same_key = followers
                .get(plan.key.as_str())
                .cloned()
                .unwrap_or_default();
            match outcome {
                Ok(submitted) => {
                    let (imported, duplicates) = match submitted {
                        Submitted::Created => (1, same_key.len() as u64),
                        Submitted::Duplicate => (0, 1 + same_key.len() as u64),
                    };
                    report.imported += imported;
                    report.duplicates += duplicates;
                    Counters::add(&self.counters.imported, imported);
                    Counters::add(&self.counters.duplicates, duplicates);
                    done.push(uid);
                    done.extend(same_key);
                }
                Err(CasesError::Rejected { status, body }) => {
                    for uid in std::iter::once(uid).chain(same_key) {
                        tracing::error!(
                            mailbox = %self.config.display_name(),
                            uid,
                            subject = %plan.subject,
                            key = %plan.key,
                            status,
                            %body,
                            "the cases service refused this mail; it stays in the mailbox"
                        );
                        report
                            .failed
                            .push(format!("uid {uid} ({:?}): {status} {body}", plan.subject));
                        self.refused.insert(uid);
                        Counters::add(&self.counters.failed, 1);
                    }
                }
                Err(error @ CasesError::Unreachable(_)) => unreachable = Some(error),
            }
        }
        done.sort_unstable();
        let after = self.config.after;
        let move_to = self.config.move_to.clone();
        self.connection()
            .await?
            .finish(&done, after, move_to.as_deref())
            .await
            .map_err(Transient::Imap)?;
        match unreachable {
            Some(error) => Err(Transient::Cases(error)),
            None => next_fetched.map_err(Transient::Imap),
        }
    }

    /// Daemon mode: pass, then wait for news (IDLE when offered, else the poll interval),
    /// forever; unreachable servers are retried with backoff.
    pub async fn run_forever(mut self) {
        let interval = Duration::from_secs(self.settings.poll_interval_secs.max(1));
        loop {
            if let Err(error) = self.pass(None).await {
                tracing::error!(mailbox = %self.config.display_name(), %error, "pass failed");
                tokio::time::sleep(interval).await;
                continue;
            }
            match self.connection.take() {
                Some(mailbox) if mailbox.has_capability("IDLE") => {
                    match mailbox.idle(interval).await {
                        Ok(mailbox) => self.connection = Some(mailbox),
                        Err(error) => {
                            tracing::warn!(
                                mailbox = %self.config.display_name(),
                                %error,
                                "IDLE ended with an error; reconnecting"
                            );
                        }
                    }
                }
                other => {
                    self.connection = other;
                    tokio::time::sleep(interval).await;
                }
            }
        }
    }

    /// Logs out (once mode, at the end).
    pub async fn close(&mut self) {
        if let Some(mailbox) = self.connection.take() {
            mailbox.close().await;
        }
    }
}

/// Submits one plan; a retry after an unreachable service first looks the key up again, so a
/// case created by the lost attempt is completed, not created twice.
async fn submit(
    cases: &CasesClient,
    settings: &IngestSettings,
    plan: &Plan,
    existing: &Existing,
) -> Result<Submitted, CasesError> {
    if plan.kind == Kind::Alert && existing.alerts.contains(&plan.key) {
        return Ok(Submitted::Duplicate);
    }
    let mut known_case = existing.cases.get(&plan.key).cloned();
    let mut attempt = 0u32;
    loop {
        let result = cases.submit(plan, known_case.as_deref()).await;
        match result {
            Err(CasesError::Unreachable(_)) if attempt < 3 => {
                tokio::time::sleep(settings.backoff(attempt)).await;
                attempt += 1;
                match cases.existing(std::slice::from_ref(&plan.key)).await {
                    Ok(found) => {
                        if plan.kind == Kind::Alert && found.alerts.contains(&plan.key) {
                            return Ok(Submitted::Duplicate);
                        }
                        if let Some(id) = found.cases.get(&plan.key) {
                            known_case = Some(id.clone());
                        }
                    }
                    Err(error) => return Err(error),
                }
            }
            other => return other,
        }
    }
}
