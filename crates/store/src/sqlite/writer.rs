//! The one writer thread. Writes that arrive while a commit is under way are grouped into the
//! next transaction, each in its own savepoint, so concurrent callers share one fsync instead of
//! paying one each; every caller is answered only after the commit that holds its write is on
//! disk, so a write that returned is still durable.
//!
//! The fsync is not the writer's: the writer commits without syncing and hands the group to the
//! syncer thread, which syncs the write-ahead log and then answers the group's callers. The
//! writer meanwhile builds and commits the next group, so disk flushes overlap with SQL work.
//! One sync of the log covers every commit written before it, so groups that finished while a
//! sync was running share the next one.

use std::fs::File;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};

use rusqlite::{Connection, Transaction, TransactionBehavior};
use tokio::sync::oneshot;

use super::bitmaps::TermBitmaps;
use super::staging::Staging;
use super::text::TextLink;
use super::{backend, lock};
use crate::{Result, StoreError};

/// Most writes grouped into one commit.
const MAX_GROUP: usize = 256;

/// A queued write: run inside the group's transaction, then told how the commit went.
trait Job: Send {
    /// Runs the write in a savepoint. `Ok(true)`: done; `Ok(false)`: the write failed and was
    /// rolled back on its own; `Err`: the transaction can no longer be trusted.
    fn run(&mut self, transaction: &Transaction<'_>, staging: &mut Staging)
    -> Result<bool, String>;
    /// Answers the caller once the group's commit (or rollback) is known.
    fn finish(self: Box<Self>, commit: Result<(), &str>);
    /// True when the write only inserts documents, so it may run with index rows still
    /// staged; every other write needs them flushed first (it may read or delete them).
    fn inserts_only(&self) -> bool;
}

struct TypedJob<T, F> {
    work: Option<F>,
    inserts_only: bool,
    outcome: Option<Result<T>>,
    reply: oneshot::Sender<Result<T>>,
}

impl<T, F> Job for TypedJob<T, F>
where
    T: Send,
    F: FnOnce(&Transaction<'_>, &mut Staging) -> Result<T> + Send,
{
    fn run(
        &mut self,
        transaction: &Transaction<'_>,
        staging: &mut Staging,
    ) -> Result<bool, String> {
        let Some(work) = self.work.take() else {
            return Ok(true);
        };
        transaction
            .execute_batch("SAVEPOINT skep_write")
            .map_err(|error| error.to_string())?;
        let outcome = work(transaction, staging);
        let statement = match outcome {
            Ok(_) => "RELEASE skep_write",
            Err(_) => "ROLLBACK TO skep_write; RELEASE skep_write",
        };
        transaction
            .execute_batch(statement)
            .map_err(|error| error.to_string())?;
        let succeeded = outcome.is_ok();
        self.outcome = Some(outcome);
        Ok(succeeded)
    }

    fn inserts_only(&self) -> bool {
        self.inserts_only
    }

    fn finish(self: Box<Self>, commit: Result<(), &str>) {
        let TypedJob { outcome, reply, .. } = *self;
        let answer = match (commit, outcome) {
            (_, Some(Err(error))) => Err(error),
            (Ok(()), Some(Ok(value))) => Ok(value),
            (Err(reason), _) => Err(StoreError::Backend(anyhow::anyhow!(
                "the write was not committed: {reason}"
            ))),
            (Ok(()), None) => Err(StoreError::Backend(anyhow::anyhow!(
                "the write was not run"
            ))),
        };
        // The caller may have gone away (a cancelled request); its write stands either way.
        let _ = reply.send(answer);
    }
}

/// The handle callers submit writes through.
pub(super) struct WriterHandle {
    sender: mpsc::Sender<Box<dyn Job>>,
}

impl std::fmt::Debug for WriterHandle {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("WriterHandle")
    }
}

impl WriterHandle {
    /// Starts the writer thread owning `connection`, and the checkpointer thread owning
    /// `checkpointer`.
    /// `generation` is advanced before every commit and again after it, before its callers
    /// are answered: odd while a commit is being made.
    /// `logs` are the write-ahead logs of the database and of its text file, which the syncer
    /// thread syncs; `text` is the link to the text file's thread.
    pub(super) fn start(
        connection: Connection,
        checkpointer: Connection,
        logs: [PathBuf; 2],
        text: TextLink,
        generation: Arc<AtomicU64>,
        columns: Arc<Mutex<TermBitmaps>>,
        staging: Staging,
    ) -> Result<WriterHandle> {
        let (sender, receiver) = mpsc::channel::<Box<dyn Job>>();
        let (committed, commits) = mpsc::sync_channel::<()>(1);
        let (to_sync, unsynced) = mpsc::channel::<ToSync>();
        let synced = Arc::new(AtomicI64::new(0));
        let synced_text = Arc::clone(&synced);
        std::thread::Builder::new()
            .name("skep-sqlite-sync".to_owned())
            .spawn(move || run_syncer(&logs, &unsynced, &synced_text))
            .map_err(|error| StoreError::Unavailable(anyhow::Error::new(error)))?;
        std::thread::Builder::new()
            .name("skep-sqlite-writer".to_owned())
            .spawn(move || {
                run_writer(
                    connection,
                    receiver,
                    &Channels {
                        committed,
                        to_sync,
                        synced,
                    },
                    text,
                    &generation,
                    &columns,
                    staging,
                );
            })
            .map_err(|error| StoreError::Unavailable(anyhow::Error::new(error)))?;
        std::thread::Builder::new()
            .name("skep-sqlite-checkpoint".to_owned())
            .spawn(move || run_checkpointer(&checkpointer, &commits))
            .map_err(|error| StoreError::Unavailable(anyhow::Error::new(error)))?;
        Ok(WriterHandle { sender })
    }

    /// Runs `work` in the next group transaction and returns its result once committed.
    /// `inserts_only`: the work only inserts new documents (see [`Job::inserts_only`]).
    pub(super) async fn submit<T, F>(&self, inserts_only: bool, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>, &mut Staging) -> Result<T> + Send + 'static,
    {
        let answer = self.queue(inserts_only, work)?;
        answer.await.map_err(|_| {
            StoreError::Backend(anyhow::anyhow!(
                "the store's writer stopped before answering"
            ))
        })?
    }

    /// Queues `work` for the next group without waiting for it: it is durable with the first
    /// commit after it, and a write queued later by the same thread commits with it or after.
    pub(super) fn send<F>(&self, work: F) -> Result<()>
    where
        F: FnOnce(&Transaction<'_>, &mut Staging) -> Result<()> + Send + 'static,
    {
        self.queue(false, work).map(drop)
    }

    fn queue<T, F>(&self, inserts_only: bool, work: F) -> Result<oneshot::Receiver<Result<T>>>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>, &mut Staging) -> Result<T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job: Box<dyn Job> = Box::new(TypedJob {
            work: Some(work),
            inserts_only,
            outcome: None,
            reply,
        });
        self.sender.send(job).map_err(|_| {
            StoreError::Unavailable(anyhow::anyhow!("the store's writer has stopped"))
        })?;
        Ok(answer)
    }
}

/// What the writer tells the syncer about a group, in this order.
enum ToSync {
    /// The group's commit is about to write its log frames: the syncer may sync what is
    /// written of them so far, so that less is left to sync once the commit is made.
    Committing,
    /// The group is committed in the main file (its log frames are written): the syncer may
    /// start syncing the log while the writer waits for the text file.
    Committed(Vec<Box<dyn Job>>),
    /// The group is finished (text committed, columns and generation up to date): its callers
    /// may hear of it once the log is synced. Carries the group's number when it committed
    /// text changes in the text file too.
    Finished(Option<i64>),
}

/// How the writer talks to the checkpointer and the syncer.
struct Channels {
    /// Wakes the checkpointer.
    committed: mpsc::SyncSender<()>,
    to_sync: mpsc::Sender<ToSync>,
    /// The last group whose text commit is synced (set by the syncer): its queue entries and
    /// those before it may go.
    synced: Arc<AtomicI64>,
}

/// Takes the first queued write, then every write already waiting (up to [`MAX_GROUP`]), and
/// commits them together; ends when the store is dropped.
fn run_writer(
    mut connection: Connection,
    receiver: mpsc::Receiver<Box<dyn Job>>,
    channels: &Channels,
    mut text: TextLink,
    generation: &AtomicU64,
    columns: &Mutex<TermBitmaps>,
    mut staging: Staging,
) {
    while let Ok(first) = receiver.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match receiver.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        staging.refresh_wanted(&lock(columns));
        commit_group(
            &mut connection,
            &mut staging,
            &mut text,
            channels,
            group,
            generation,
            columns,
        );
        // Wakes the checkpointer; a wake-up already pending covers this commit too.
        let _ = channels.committed.try_send(());
    }
}

/// Pause between checkpoints, so one checkpoint covers many commits.
const CHECKPOINT_PAUSE: std::time::Duration = std::time::Duration::from_millis(250);

/// Copies committed WAL frames into the database file off the writer thread (the writer's own
/// automatic checkpoint is only a safety net), so checkpoint I/O and its fsync do not hold up
/// writes. Passive: it never blocks readers or the writer. Ends with the writer.
fn run_checkpointer(connection: &Connection, commits: &mpsc::Receiver<()>) {
    while commits.recv().is_ok() {
        // Let more commits arrive, so one checkpoint covers them.
        let deadline = std::time::Instant::now() + CHECKPOINT_PAUSE;
        let mut writer_gone = false;
        while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
            match commits.recv_timeout(left) {
                Ok(()) => {}
                Err(mpsc::RecvTimeoutError::Timeout) => break,
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    writer_gone = true;
                    break;
                }
            }
        }
        if let Err(error) = connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::warn!(%error, "background WAL checkpoint failed");
        }
        if writer_gone {
            return;
        }
    }
}

/// Least time between two syncs of the full-text log (see [`run_syncer`]).
const TEXT_SYNC_PAUSE: std::time::Duration = std::time::Duration::from_millis(200);

/// Syncs the write-ahead log, then answers the groups committed before the sync once the
/// writer has finished them. Ends with the writer.
///
/// The sync starts as soon as a group is committed in the main file, while the writer still
/// waits for the group's text commit: the two waits overlap. Syncs start even earlier, while
/// the commit writes its frames ([`sync_early`]): a batch's frames are megabytes, and the disk
/// writes most of them while the commit is still writing the rest, so the sync the callers
/// wait for has less left to write.
///
/// The full-text log is not waited for: what its file loses in a crash is replayed from the
/// queue in the main file (text.rs). It is synced at most every [`TEXT_SYNC_PAUSE`], after the
/// callers are answered, and only then may the queue entries of the groups it covers go.
fn run_syncer(logs: &[PathBuf; 2], unsynced: &mpsc::Receiver<ToSync>, synced: &AtomicI64) {
    let [log, text_log] = logs;
    let (mut file, mut text_file): (Option<File>, Option<File>) = (None, None);
    let mut text_unsynced = None;
    let mut text_synced_at = std::time::Instant::now();
    while let Ok(first) = unsynced.recv() {
        let first = match first {
            ToSync::Committing => match sync_early(&mut file, log, unsynced) {
                Some(message) => message,
                None => break,
            },
            message => message,
        };
        // Every group committed so far, and how many of them are not finished yet. The writer
        // finishes a group before it commits the next, so no commit comes after the sync
        // starts until the groups it covers are finished.
        let mut jobs = Vec::new();
        let mut unfinished = 0_usize;
        for message in std::iter::once(first).chain(unsynced.try_iter()) {
            match message {
                ToSync::Committed(group) => {
                    jobs.extend(group);
                    unfinished += 1;
                }
                ToSync::Finished(text_group) => {
                    unfinished = unfinished.saturating_sub(1);
                    text_unsynced = text_unsynced.max(text_group);
                }
                ToSync::Committing => {}
            }
        }
        let outcome = sync_log(&mut file, log);
        while unfinished > 0 {
            match unsynced.recv() {
                Ok(ToSync::Finished(text_group)) => {
                    unfinished -= 1;
                    text_unsynced = text_unsynced.max(text_group);
                }
                Ok(ToSync::Committing) => {}
                // Not sent by the writer before the groups above are finished.
                Ok(ToSync::Committed(group)) => {
                    for job in group {
                        job.finish(Err("the store's writer sent a commit out of order"));
                    }
                }
                // The writer is gone mid-group: its callers get an answer all the same.
                Err(_) => break,
            }
        }
        let failed = outcome.as_ref().err().map(String::as_str);
        let answer = match (failed, unfinished) {
            (Some(reason), _) => Err(reason),
            (None, 0) => Ok(()),
            (None, _) => Err("the store's writer stopped before finishing the write"),
        };
        for job in jobs {
            job.finish(answer);
        }
        if let Some(group) = text_unsynced
            && text_synced_at.elapsed() >= TEXT_SYNC_PAUSE
        {
            text_synced_at = std::time::Instant::now();
            if sync_log(&mut text_file, text_log).is_ok() {
                synced.store(group, Ordering::Release);
                text_unsynced = None;
            }
        }
    }
}

/// Pause between the syncs made while a commit writes its frames.
const EARLY_SYNC_PAUSE: std::time::Duration = std::time::Duration::from_millis(2);

/// Most syncs made while one commit writes its frames (a commit that fails sends nothing
/// more, so this also ends the wait).
const MOST_EARLY_SYNCS: usize = 16;

/// While a commit writes its log frames, syncs the frames written so far every
/// [`EARLY_SYNC_PAUSE`], so the disk writes them while the commit writes the rest. Returns the
/// next message, or `None` when the writer is gone.
fn sync_early(
    file: &mut Option<File>,
    log: &Path,
    unsynced: &mpsc::Receiver<ToSync>,
) -> Option<ToSync> {
    for _ in 0..MOST_EARLY_SYNCS {
        match unsynced.recv_timeout(EARLY_SYNC_PAUSE) {
            Ok(message) => return Some(message),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                // A failure here shows again in the sync that answers the callers.
                let _ = sync_log(file, log);
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => return None,
        }
    }
    unsynced.recv().ok()
}

/// `fdatasync` of the log: it covers every frame written to the file before it, whichever
/// handle wrote them. The log is opened once; it stays the same file while the writer's
/// connection is open (a checkpoint rewinds or truncates it in place).
fn sync_log(file: &mut Option<File>, log: &Path) -> Result<(), String> {
    let handle = match file {
        Some(handle) => handle,
        None => file.insert(
            File::open(log)
                .map_err(|error| format!("cannot open {} to sync it: {error}", log.display()))?,
        ),
    };
    handle.sync_data().map_err(|error| {
        tracing::error!(%error, "syncing the SQLite write-ahead log failed");
        format!("the write-ahead log could not be synced: {error}")
    })
}

/// Runs and commits one group. Returns the group when its commit succeeded (its callers are
/// answered once the log is synced); a failed group is answered here. `synced`: the last
/// group whose text commit is on disk.
fn commit_group(
    connection: &mut Connection,
    staging: &mut Staging,
    text: &mut TextLink,
    channels: &Channels,
    mut group: Vec<Box<dyn Job>>,
    generation: &AtomicU64,
    columns: &Mutex<TermBitmaps>,
) {
    let synced = channels.synced.load(Ordering::Acquire);
    let transaction = match connection.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(transaction) => transaction,
        Err(error) => {
            staging.clear();
            let reason = backend(error).to_string();
            for job in group {
                job.finish(Err(&reason));
            }
            return;
        }
    };
    let mut broken = text
        .trim(&transaction, synced)
        .err()
        .map(|error| error.to_string());
    for job in &mut group {
        if broken.is_some() {
            break;
        }
        if !job.inserts_only()
            && let Err(error) = staging.flush(&transaction, text)
        {
            broken = Some(error.to_string());
            break;
        }
        let mark = staging.mark();
        // A panicking write must not take the writer thread (and every later write) with it.
        match catch_unwind(AssertUnwindSafe(|| job.run(&transaction, staging))) {
            Ok(Ok(true)) => {
                if let Err(error) = staging.send_text(&transaction, text) {
                    broken = Some(error.to_string());
                    break;
                }
            }
            Ok(Ok(false)) => {
                // Its staged rows and the staging it interned were rolled back with it.
                staging.rewind(mark);
                staging.clear();
            }
            Ok(Err(reason)) => {
                broken = Some(reason);
                break;
            }
            Err(_) => {
                broken = Some("a write panicked".to_owned());
                break;
            }
        }
    }
    if broken.is_none()
        && let Err(error) = staging.flush(&transaction, text)
    {
        broken = Some(error.to_string());
    }
    // Odd while the commit is made (see aggregate::run_parallel), even again once it is done.
    let before = generation.fetch_add(1, Ordering::AcqRel);
    if broken.is_none() {
        let _ = channels.to_sync.send(ToSync::Committing);
    }
    let commit = match broken {
        Some(reason) => {
            let _ = transaction.rollback();
            Err(reason)
        }
        None => transaction.commit().map_err(|error| error.to_string()),
    };
    let mut to_sync = true;
    match &commit {
        Ok(()) => {
            if let Err(mpsc::SendError(ToSync::Committed(jobs))) = channels
                .to_sync
                .send(ToSync::Committed(std::mem::take(&mut group)))
            {
                // The syncer is gone (it never stops first): answer rather than leave callers
                // waiting.
                to_sync = false;
                for job in jobs {
                    job.finish(Err("the store's syncer has stopped"));
                }
            }
        }
        Err(_) => {
            staging.clear();
            staging.discard();
        }
    }
    // The text file commits (or rolls back) the group's text changes after the main file: the
    // group is done, for readers and callers, once both are.
    let text_group = match text.end_group(commit.is_ok()) {
        Some((group, Ok(()))) => Some(group),
        Some((_, Err(reason))) => {
            // The documents are committed; their text is replayed from the queue by the text
            // thread at its next group, or when the store next opens.
            tracing::error!(reason, "the full-text index is behind the documents");
            None
        }
        None => None,
    };
    // The in-memory columns follow the commit before any reader can see its generation.
    let (version, changes) = staging.take_changes();
    lock(columns).commit(before, before + 2, version, changes);
    // Before any caller hears of its write, so a reader that starts after that sees a newer
    // generation than any cached result computed before the write.
    generation.fetch_add(1, Ordering::AcqRel);
    match commit {
        Ok(()) if to_sync => {
            // A send error means the syncer is gone; it answered or dropped the jobs it had.
            let _ = channels.to_sync.send(ToSync::Finished(text_group));
        }
        Ok(()) => {}
        Err(reason) => {
            for job in group {
                job.finish(Err(&reason));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syncing_a_missing_log_is_an_error_naming_it() {
        let directory = tempfile::tempdir().unwrap();
        let log = directory.path().join("store.db-wal");
        let mut file = None;

        let error = sync_log(&mut file, &log).unwrap_err();

        assert!(error.contains("store.db-wal"), "{error}");
        assert!(file.is_none());
        std::fs::write(&log, b"frames").unwrap();
        sync_log(&mut file, &log).unwrap();
        assert!(file.is_some(), "the opened log is kept for the next sync");
    }

    #[test]
    fn early_syncs_run_until_the_commit_is_announced() {
        let directory = tempfile::tempdir().unwrap();
        let log = directory.path().join("store.db-wal");
        std::fs::write(&log, b"frames").unwrap();
        let (sender, receiver) = mpsc::channel();

        // Sent at once: no early sync is made.
        sender.send(ToSync::Finished(Some(7))).unwrap();
        let mut file = None;
        let next = sync_early(&mut file, &log, &receiver);
        assert!(matches!(next, Some(ToSync::Finished(Some(7)))));
        assert!(file.is_none(), "nothing was synced");

        // A commit that takes longer than the pause: the log is synced meanwhile.
        let late = std::thread::spawn(move || {
            // A pause (std::thread::sleep is not used in this workspace).
            let (_sender, pause) = mpsc::channel::<()>();
            let _ = pause.recv_timeout(EARLY_SYNC_PAUSE * 3);
            sender.send(ToSync::Committed(Vec::new())).unwrap();
        });
        let next = sync_early(&mut file, &log, &receiver);
        assert!(matches!(next, Some(ToSync::Committed(jobs)) if jobs.is_empty()));
        assert!(
            file.is_some(),
            "the log was synced while the commit was written"
        );
        late.join().unwrap();

        // The writer is gone.
        assert!(sync_early(&mut file, &log, &receiver).is_none());
    }
}
