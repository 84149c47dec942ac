//! The server secret: `http.secret` when configured, else the one kept in
//! `<data_dir>/<service>.secret`, generated once with mode 0600.
//!
//! A secret file that exists but cannot be read stops the service: generating a new secret
//! would silently make every sealed API key and every session unusable.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use skep_config::Secret;

/// The configured secret, or the one kept in the file at `path` (created on first start).
pub fn server_secret(configured: &Secret, path: &Path) -> anyhow::Result<String> {
    if !configured.expose().is_empty() {
        return Ok(configured.expose().to_owned());
    }
    match std::fs::read_to_string(path) {
        Ok(secret) if !secret.trim().is_empty() => Ok(secret.trim().to_owned()),
        Ok(_) => anyhow::bail!(
            "the server secret file {} is empty; restore it from a backup or set http.secret",
            path.display()
        ),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => write_new_secret(path),
        Err(error) => Err(error).with_context(|| {
            format!(
                "cannot read the server secret {}; set http.secret or fix the file's permissions",
                path.display()
            )
        }),
    }
}

fn write_new_secret(path: &Path) -> anyhow::Result<String> {
    use std::os::unix::fs::OpenOptionsExt;
    let secret = hex::encode(rand::random::<[u8; 32]>());
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| {
            format!(
                "cannot create the server secret {}; set http.secret or make data_dir writable",
                path.display()
            )
        })?;
    file.write_all(secret.as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write the server secret {}", path.display()))?;
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn a_generated_secret_is_kept_private_and_read_back() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("svc.secret");

        let first = server_secret(&Secret::default(), &path).unwrap();
        let second = server_secret(&Secret::default(), &path).unwrap();

        assert_eq!(first, second);
        assert_eq!(first.len(), 64);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn an_unreadable_or_empty_secret_file_is_an_error_and_is_left_alone() {
        let folder = tempfile::tempdir().unwrap();
        let directory = folder.path().join("a-directory");
        std::fs::create_dir(&directory).unwrap();
        let empty = folder.path().join("empty.secret");
        std::fs::write(&empty, "").unwrap();

        assert!(server_secret(&Secret::default(), &directory).is_err());
        assert!(server_secret(&Secret::default(), &empty).is_err());
        assert_eq!(std::fs::read_to_string(&empty).unwrap(), "");
    }

    #[test]
    fn a_configured_secret_wins_and_writes_no_file() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("svc.secret");

        let secret = server_secret(&Secret::new("configured"), &path).unwrap();

        assert_eq!(secret, "configured");
        assert!(!path.exists());
    }
}
