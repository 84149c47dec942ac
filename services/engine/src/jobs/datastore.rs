//! The attachment store: uploaded files and file artifacts kept on disk, content-addressed by
//! SHA-256 (so identical files are stored once). The password-protected download is
//! `skep_service::zip`.

use std::io::Write;
use std::path::{Path, PathBuf};

use md5::Md5;
use serde::{Deserialize, Serialize};
use sha1::Sha1;
use sha2::{Digest, Sha256};

/// What the engine records about a stored file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attachment {
    /// Original file name.
    pub name: String,
    /// `[sha256, sha1, md5]` in hex.
    pub hashes: Vec<String>,
    /// Size in bytes.
    pub size: u64,
    /// MIME type.
    pub content_type: String,
    /// The SHA-256, which is the key in the store.
    pub id: String,
}

/// Content-addressed files under one folder.
#[derive(Debug, Clone)]
pub struct Datastore {
    folder: PathBuf,
}

/// True for a lowercase 64-hex-digit SHA-256.
pub fn is_sha256(text: &str) -> bool {
    text.len() == 64
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl Datastore {
    /// A datastore rooted at `folder` (created when missing).
    pub fn open(folder: &Path) -> std::io::Result<Datastore> {
        std::fs::create_dir_all(folder)?;
        Ok(Datastore {
            folder: folder.to_path_buf(),
        })
    }

    fn path_of(&self, sha256: &str) -> PathBuf {
        self.folder.join(&sha256[..2]).join(sha256)
    }

    /// Stores `content` (blocking I/O) and describes it.
    pub fn put(
        &self,
        name: &str,
        content_type: &str,
        content: &[u8],
    ) -> std::io::Result<Attachment> {
        let sha256 = hex::encode(Sha256::digest(content));
        let path = self.path_of(&sha256);
        if !path.exists() {
            let folder = self.folder.join(&sha256[..2]);
            std::fs::create_dir_all(&folder)?;
            let mut temporary = tempfile::NamedTempFile::new_in(&folder)?;
            temporary.write_all(content)?;
            temporary.persist(&path).map_err(|error| error.error)?;
        }
        Ok(Attachment {
            name: name.to_owned(),
            hashes: vec![
                sha256.clone(),
                hex::encode(Sha1::digest(content)),
                hex::encode(Md5::digest(content)),
            ],
            size: content.len() as u64,
            content_type: content_type.to_owned(),
            id: sha256,
        })
    }

    /// Reads a stored file (blocking I/O); `None` when the id is malformed or unknown.
    pub fn get(&self, sha256: &str) -> Option<Vec<u8>> {
        if !is_sha256(sha256) {
            return None;
        }
        std::fs::read(self.path_of(sha256)).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_content_is_stored_once_under_its_sha256() {
        let folder = tempfile::tempdir().unwrap();
        let store = Datastore::open(folder.path()).unwrap();

        let first = store.put("a.txt", "text/plain", b"hello").unwrap();
        let second = store.put("b.txt", "text/plain", b"hello").unwrap();

        assert_eq!(first.id, second.id);
        assert_eq!(
            first.id,
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
        assert_eq!(store.get(&first.id).unwrap(), b"hello");
        assert_eq!(store.get("../../etc/passwd"), None);
    }
}
