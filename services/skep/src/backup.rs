//! `skep backup DEST-DIR`: a consistent copy of every SQLite store while the services run.
//!
//! Each database file is copied with SQLite's `VACUUM INTO`, a read transaction on its own
//! connection: the copy is the database as of one commit, whatever the services write meanwhile
//! (WAL readers never block the writer). The full-text file of a store is copied before its main
//! file, so it is never newer than the documents; a store rebuilds an older text file at start.
//! The generated secrets are copied too (API keys are sealed with them, ADR 0002), and the
//! engine's attachment folder, whose files are written once under their SHA-256.
//! Elasticsearch stores are backed up with snapshots instead (`docs/operations.md`).

use std::path::{Path, PathBuf};

use anyhow::Context;
use skep_config::StoreBackend;

use crate::LauncherConfig;

/// Copies the stores, secrets and attachments of `config` into `destination` (created, and
/// required to be empty), returning the files written.
pub fn backup(config: &LauncherConfig, destination: &Path) -> anyhow::Result<Vec<PathBuf>> {
    if destination.exists()
        && std::fs::read_dir(destination)
            .with_context(|| format!("cannot read {}", destination.display()))?
            .next()
            .is_some()
    {
        anyhow::bail!(
            "{} is not empty; give a new or empty directory",
            destination.display()
        );
    }
    create_private_dir(destination)?;
    let data_dir = &config.data_dir;
    let mut written = Vec::new();
    let stores = [
        (
            "cases",
            &config.cases.store,
            config.cases.store.sqlite_path.clone(),
            "cases.db",
        ),
        (
            "engine",
            &config.engine.store,
            config.engine.store.sqlite_path.clone(),
            "engine.db",
        ),
    ];
    for (service, store, configured, default_file) in stores {
        if store.backend != StoreBackend::Sqlite {
            eprintln!("skep backup: the {service} store is on Elasticsearch; use a snapshot");
            continue;
        }
        let main = configured.unwrap_or_else(|| data_dir.join(default_file));
        let text = with_suffix(&main, "-text");
        // The text index first: it must not be newer than the documents it indexes.
        for file in [text, main] {
            if !file.exists() {
                continue;
            }
            let target = destination.join(file.file_name().unwrap_or_default());
            vacuum_into(&file, &target)?;
            written.push(target);
        }
    }
    for secret in ["cases.secret", "engine.secret"] {
        let source = data_dir.join(secret);
        if source.exists() {
            let target = destination.join(secret);
            std::fs::copy(&source, &target)
                .with_context(|| format!("cannot copy {}", source.display()))?;
            written.push(target);
        }
    }
    let attachments = config.engine.workers.datastore_directory(data_dir);
    if attachments.is_dir() {
        written.extend(copy_tree(&attachments, &destination.join("datastore"))?);
    }
    Ok(written)
}

/// A consistent copy of the database at `source` (one read transaction) written to `target`.
pub fn vacuum_into(source: &Path, target: &Path) -> anyhow::Result<()> {
    let connection = rusqlite::Connection::open_with_flags(
        source,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .with_context(|| format!("cannot open {}", source.display()))?;
    // The services' writer may hold its lock for a commit; wait rather than fail.
    connection.busy_timeout(std::time::Duration::from_secs(30))?;
    let target_text = target
        .to_str()
        .with_context(|| format!("{} is not valid UTF-8", target.display()))?;
    connection
        .execute("VACUUM INTO ?1", [target_text])
        .with_context(|| format!("cannot copy {} to {}", source.display(), target.display()))?;
    Ok(())
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn create_private_dir(path: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(path).with_context(|| format!("cannot create {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

fn copy_tree(source: &Path, target: &Path) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(target)?;
    let mut written = Vec::new();
    for entry in std::fs::read_dir(source)? {
        let entry = entry?;
        let to = target.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            written.extend(copy_tree(&entry.path(), &to)?);
        } else {
            std::fs::copy(entry.path(), &to)
                .with_context(|| format!("cannot copy {}", entry.path().display()))?;
            written.push(to);
        }
    }
    Ok(written)
}
