//! The full-text index, in its own database file written by its own thread.
//!
//! Why a second file: FTS5 is about a quarter of the writer's work, and SQLite lets one writer
//! at a time into a file. With the index in a file of its own (`<store>-text`), a second thread
//! indexes a group's text on the second core while the writer inserts the same group's value
//! rows. The writer commits, then waits for the text commit before the group counts as done;
//! callers are answered once the main log is synced (writer.rs). The text log is synced later,
//! off their path: the queue below makes what it might lose recoverable.
//!
//! Keeping the two files in step:
//! - Every row whose text a write changes is also queued in the main file (`text_queue`), in the
//!   transaction of that write, under the number of its group; the main file's `meta` keeps the
//!   last group number, the text file's `text_state` the last group it applied.
//! - Groups the text file missed (a crash between the two commits, a failed text write) are
//!   replayed: each queued row is indexed again from its current body, at start or by the text
//!   thread at the end of its next group.
//! - A text file that is missing, ahead of the main file (a power cut kept the text commit but
//!   lost the main one), split into words under another rule (words.rs), or a store whose index
//!   is still in the main file (the layout before this split), is rebuilt from the documents'
//!   bodies when the store opens.
//! - What is indexed again when the store opens leaves out the unindexed fields the file last
//!   recorded (the live declarations come after opening), as the writes that indexed it did.
//! - Queue entries go once the text commit that applied them is synced.
//!
//! Readers attach the text file as `fts`. The text of a write becomes searchable a moment after
//! its documents (between the two commits), and always before its caller is answered.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::{Arc, mpsc};

use rusqlite::{Connection, OptionalExtension, params};

use super::values::flatten;
use crate::unindexed::Unindexed;
use crate::{Result, StoreError};

/// The text file's tables.
const TEXT_SCHEMA: &str = "
CREATE VIRTUAL TABLE IF NOT EXISTS full_text USING fts5 (
    text, content = '', contentless_delete = 1, tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TABLE IF NOT EXISTS text_state (id INTEGER PRIMARY KEY CHECK (id = 1), applied INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS text_words (id INTEGER PRIMARY KEY CHECK (id = 1), stamp TEXT NOT NULL);
";

/// A change to the text of one document row: its new text, or `None` to remove it.
pub(super) type TextOp = (i64, Option<String>);

/// The text file next to the store's file at `path`.
pub(super) fn path_for(path: &Path) -> PathBuf {
    suffixed(path, "-text")
}

/// `path` with `suffix` appended to its file name (SQLite staging its side files this way).
pub(super) fn suffixed(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Attaches the database file at `path` as `schema`: the text file as `fts` on reader and
/// checkpointer connections, the main file as `docs` on the text thread's.
pub(super) fn attach(connection: &Connection, path: &Path, schema: &str) -> rusqlite::Result<()> {
    connection.execute(
        &format!("ATTACH DATABASE ?1 AS {schema}"),
        [path.to_string_lossy().as_ref()],
    )?;
    Ok(())
}

enum Message {
    Ops(Vec<TextOp>),
    /// The group's text is all sent (until a later write, if any): write it out.
    Flush,
    End {
        group: i64,
        committed: bool,
        reply: mpsc::SyncSender<Result<(), String>>,
    },
}

/// The writer's side of the text thread: stages a group's text changes in the queue and hands
/// them to the text thread, and tracks which queue entries may go.
#[derive(Debug)]
pub(super) struct TextLink {
    sender: mpsc::Sender<Message>,
    /// The last group whose text changes were committed in the main file.
    committed: i64,
    /// The current group has text changes (queued and sent).
    in_group: bool,
    /// The queue's last `seq` of the current group.
    last_seq: i64,
    /// Committed groups whose queue entries are still there: (group, its last `seq`).
    pending: VecDeque<(i64, i64)>,
}

impl TextLink {
    /// Queues `ops` in the main file's transaction and sends them to the text thread, which
    /// applies them while the writer goes on with the group.
    pub(super) fn stage(
        &mut self,
        connection: &Connection,
        ops: Vec<TextOp>,
    ) -> rusqlite::Result<()> {
        let group = self.committed + 1;
        if !self.in_group {
            connection
                .prepare_cached(
                    "INSERT INTO meta (key, value) VALUES ('text_group', ?1) \
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                )?
                .execute([group])?;
        }
        let mut insert =
            connection.prepare_cached("INSERT INTO text_queue (grp, row) VALUES (?1, ?2)")?;
        for (row, _) in &ops {
            insert.execute(params![group, row])?;
        }
        self.last_seq = connection.last_insert_rowid();
        self.in_group = true;
        // A stopped text thread is noticed at the end of the group.
        let _ = self.sender.send(Message::Ops(ops));
        Ok(())
    }

    /// Tells the text thread the group has sent its text (see [`Message::Flush`]).
    pub(super) fn flush(&self) {
        if self.in_group {
            let _ = self.sender.send(Message::Flush);
        }
    }

    /// Ends the group in the text file: commits it there when the main file committed it (or
    /// rolls it back). `None` when the group changed no text; otherwise the text commit's
    /// outcome and the group's number.
    pub(super) fn end_group(&mut self, committed: bool) -> Option<(i64, Result<(), String>)> {
        if !std::mem::take(&mut self.in_group) {
            return None;
        }
        let group = self.committed + 1;
        if committed {
            self.committed = group;
            self.pending.push_back((group, self.last_seq));
        }
        let (reply, answer) = mpsc::sync_channel(1);
        let outcome = match self.sender.send(Message::End {
            group,
            committed,
            reply,
        }) {
            Ok(()) => answer
                .recv()
                .unwrap_or_else(|_| Err("the full-text writer stopped".to_owned())),
            Err(_) => Err("the full-text writer has stopped".to_owned()),
        };
        Some((group, outcome))
    }

    /// Removes the queue entries of the groups up to `synced`, whose text commits are on disk.
    pub(super) fn trim(&mut self, connection: &Connection, synced: i64) -> rusqlite::Result<()> {
        let mut upto = None;
        while let Some(&(group, seq)) = self.pending.front() {
            if group > synced {
                break;
            }
            upto = Some(seq);
            self.pending.pop_front();
        }
        if let Some(seq) = upto {
            connection
                .prepare_cached("DELETE FROM text_queue WHERE seq <= ?1")?
                .execute([seq])?;
        }
        Ok(())
    }
}

/// Opens the text file, brings it level with the main file (`main`, the writer's connection,
/// before any write) with the unindexed fields the file last recorded (`recorded`), and starts
/// the text thread, which follows the live declarations (`unindexed`). Returns the writer's
/// link to it.
pub(super) fn start(
    main_path: &Path,
    text_path: &Path,
    main: &Connection,
    unindexed: Arc<Unindexed>,
    recorded: &Unindexed,
) -> Result<TextLink> {
    let connection = open(main_path, text_path).map_err(|error| {
        StoreError::Unavailable(
            anyhow::Error::new(error).context(format!("cannot open {}", text_path.display())),
        )
    })?;
    let committed = recover(&connection, main, recorded).map_err(|error| {
        StoreError::Backend(anyhow::anyhow!(
            "cannot bring the full-text index {} up to date: {error}",
            text_path.display()
        ))
    })?;
    let (sender, receiver) = mpsc::channel();
    std::thread::Builder::new()
        .name("skep-sqlite-text".to_owned())
        .spawn(move || run(&connection, &receiver, &unindexed))
        .map_err(|error| StoreError::Unavailable(anyhow::Error::new(error)))?;
    Ok(TextLink {
        sender,
        committed,
        in_group: false,
        last_seq: 0,
        pending: VecDeque::new(),
    })
}

/// The text thread's connection: the text file, with the main file attached as `docs` (read
/// only by replays and rebuilds).
fn open(main_path: &Path, text_path: &Path) -> rusqlite::Result<Connection> {
    let connection = Connection::open(text_path)?;
    super::schema::configure(&connection)?;
    connection.execute_batch(TEXT_SCHEMA)?;
    // As the main writer: the syncer thread syncs the log before callers are answered, and the
    // checkpointer's connection (which attaches this file) keeps it short.
    super::schema::configure_writer(&connection)?;
    // Merges in larger steps than FTS5's default: fewer rewrites of the same postings on every
    // commit, for a few more segments to read.
    connection.execute(
        "INSERT INTO full_text (full_text, rank) VALUES ('automerge', 8)",
        [],
    )?;
    attach(&connection, main_path, "docs")?;
    Ok(connection)
}

/// Makes the text file match the main file's committed state, durably, and empties the queue.
/// Returns the main file's last group number.
fn recover(
    connection: &Connection,
    main: &Connection,
    unindexed: &Unindexed,
) -> rusqlite::Result<i64> {
    let counter: i64 = main
        .query_row(
            "SELECT value FROM meta WHERE key = 'text_group'",
            [],
            |row| row.get(0),
        )
        .optional()?
        .unwrap_or(0);
    let applied = applied(connection)?;
    let any_documents: bool =
        main.query_row("SELECT EXISTS (SELECT 1 FROM documents)", [], |row| {
            row.get(0)
        })?;
    let stamp = crate::words::stamp();
    let split_as_now = words_stamp(connection)?.as_deref() == Some(stamp.as_str());
    let rebuild = match applied {
        None => any_documents,
        Some(applied) => applied > counter || !split_as_now,
    };
    if rebuild {
        tracing::info!("rebuilding the full-text index from the stored documents");
        rebuild_from_bodies(connection, counter, unindexed)?;
    } else if applied.unwrap_or(0) < counter {
        tracing::info!("replaying full-text changes the index had not applied");
        replay(connection, unindexed)?;
    }
    set_applied(connection, counter)?;
    if !split_as_now {
        connection.execute(
            "INSERT INTO text_words (id, stamp) VALUES (1, ?1) \
             ON CONFLICT (id) DO UPDATE SET stamp = excluded.stamp",
            [&stamp],
        )?;
    }
    // On disk before the queue entries it covers are removed.
    connection.query_row("PRAGMA main.wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    main.execute("DELETE FROM text_queue", [])?;
    Ok(counter)
}

/// How the text file's text was split into words (words.rs); `None` for a new text file.
fn words_stamp(connection: &Connection) -> rusqlite::Result<Option<String>> {
    connection
        .query_row("SELECT stamp FROM text_words WHERE id = 1", [], |row| {
            row.get(0)
        })
        .optional()
}

fn applied(connection: &Connection) -> rusqlite::Result<Option<i64>> {
    connection
        .query_row("SELECT applied FROM text_state WHERE id = 1", [], |row| {
            row.get(0)
        })
        .optional()
}

fn set_applied(connection: &Connection, group: i64) -> rusqlite::Result<()> {
    connection
        .prepare_cached(
            "INSERT INTO text_state (id, applied) VALUES (1, ?1) \
             ON CONFLICT (id) DO UPDATE SET applied = excluded.applied",
        )?
        .execute([group])?;
    Ok(())
}

/// Applies text changes in order inside the current transaction.
fn apply(connection: &Connection, ops: &[TextOp]) -> rusqlite::Result<()> {
    let mut insert =
        connection.prepare_cached("INSERT INTO full_text (rowid, text) VALUES (?1, ?2)")?;
    let mut delete = connection.prepare_cached("DELETE FROM full_text WHERE rowid = ?1")?;
    for (row, text) in ops {
        match text {
            Some(text) => insert.execute(params![row, text])?,
            None => delete.execute([row])?,
        };
    }
    Ok(())
}

/// Indexes again, in one transaction, the rows queued by the groups the text file has not
/// applied.
fn replay(connection: &Connection, unindexed: &Unindexed) -> rusqlite::Result<()> {
    let transaction = connection.unchecked_transaction()?;
    // A write first: SQLite waits for a busy write lock (the busy timeout) only in a transaction
    // that has not read yet. (`BEGIN IMMEDIATE` would lock the attached main file too.)
    transaction.execute("UPDATE text_state SET applied = applied", [])?;
    let applied = applied(&transaction)?.unwrap_or(0);
    let (last, rows): (Option<i64>, Vec<i64>) = {
        let last = transaction.query_row(
            "SELECT max(grp) FROM docs.text_queue WHERE grp > ?1",
            [applied],
            |row| row.get(0),
        )?;
        let mut select = transaction
            .prepare("SELECT DISTINCT row FROM docs.text_queue WHERE grp > ?1 ORDER BY row")?;
        let rows = select
            .query_map([applied], |row| row.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        (last, rows)
    };
    let mut delete = transaction.prepare_cached("DELETE FROM full_text WHERE rowid = ?1")?;
    let mut body = transaction.prepare(
        "SELECT k.name, json(d.body) FROM docs.documents d JOIN docs.kinds k ON k.id = d.kind \
         WHERE d.row = ?1 AND d.deleted = 0",
    )?;
    for row in rows {
        delete.execute([row])?;
        let live: Option<(String, String)> = body
            .query_row([row], |found| Ok((found.get(0)?, found.get(1)?)))
            .optional()?;
        if let Some((kind, body)) = live {
            index_body(&transaction, row, &kind, &body, unindexed)?;
        }
    }
    drop((delete, body));
    set_applied(&transaction, last.unwrap_or(applied).max(applied))?;
    transaction.commit()
}

/// Indexes the text of one live document from its stored body.
fn index_body(
    connection: &Connection,
    row: i64,
    kind: &str,
    body: &str,
    unindexed: &Unindexed,
) -> rusqlite::Result<()> {
    let Ok(serde_json::Value::Object(body)) = serde_json::from_str(body) else {
        tracing::warn!(
            row,
            "a stored body is not a JSON object; its text is not indexed"
        );
        return Ok(());
    };
    let (_, text) = flatten(&body, &unindexed.of(kind));
    if !text.is_empty() {
        connection
            .prepare_cached("INSERT INTO full_text (rowid, text) VALUES (?1, ?2)")?
            .execute(params![row, text])?;
    }
    Ok(())
}

/// Replaces the whole index with the text of every live document.
fn rebuild_from_bodies(
    connection: &Connection,
    counter: i64,
    unindexed: &Unindexed,
) -> rusqlite::Result<()> {
    let transaction = connection.unchecked_transaction()?;
    transaction.execute(
        "INSERT INTO full_text (full_text) VALUES ('delete-all')",
        [],
    )?;
    {
        let mut select = transaction.prepare(
            "SELECT d.row, k.name, json(d.body) FROM docs.documents d \
             JOIN docs.kinds k ON k.id = d.kind WHERE d.deleted = 0",
        )?;
        let mut rows = select.query([])?;
        while let Some(row) = rows.next()? {
            let (document, kind, body): (i64, String, String) =
                (row.get(0)?, row.get(1)?, row.get(2)?);
            index_body(&transaction, document, &kind, &body, unindexed)?;
        }
    }
    set_applied(&transaction, counter)?;
    transaction.commit()
}

/// The text thread: applies each group's changes as they come, commits when the writer says the
/// main file committed. After a failure it ignores changes sent in memory and, at the end of
/// each committed group, replays the queue instead until that succeeds.
fn run(connection: &Connection, receiver: &mpsc::Receiver<Message>, unindexed: &Unindexed) {
    let mut open = false;
    let mut failed = false;
    while let Ok(message) = receiver.recv() {
        match message {
            Message::Ops(ops) => {
                if failed {
                    continue;
                }
                let outcome = if open {
                    Ok(())
                } else {
                    connection.execute_batch("BEGIN")
                }
                .map(|()| open = true)
                .and_then(|()| apply(connection, &ops));
                if let Err(error) = outcome {
                    tracing::error!(%error, "writing the full-text index failed; it will be replayed");
                    failed = true;
                }
            }
            Message::Flush => {
                if failed || !open {
                    continue;
                }
                // Writes the group's postings (and merges segments) while the writer inserts its
                // value rows, instead of at the commit the writer waits for.
                let flushed = connection
                    .prepare_cached("INSERT INTO full_text (full_text) VALUES ('flush')")
                    .and_then(|mut statement| statement.execute([]));
                if let Err(error) = flushed {
                    tracing::error!(%error, "writing the full-text index failed; it will be replayed");
                    failed = true;
                }
            }
            Message::End {
                group,
                committed,
                reply,
            } => {
                let mut outcome = Ok(());
                if committed && !failed {
                    let commit = if open {
                        Ok(())
                    } else {
                        connection.execute_batch("BEGIN")
                    }
                    .map(|()| open = true)
                    .and_then(|()| set_applied(connection, group))
                    .and_then(|()| connection.execute_batch("COMMIT"));
                    if let Err(error) = commit {
                        tracing::error!(%error, "committing the full-text index failed; it will be replayed");
                        failed = true;
                    }
                }
                if open && (failed || !committed) && !connection.is_autocommit() {
                    let _ = connection.execute_batch("ROLLBACK");
                }
                open = false;
                if committed && failed {
                    outcome = replay(connection, unindexed).map_err(|error| {
                        format!("the full-text index could not be brought up to date: {error}")
                    });
                    failed = outcome.is_err();
                }
                let _ = reply.send(outcome);
            }
        }
    }
}
