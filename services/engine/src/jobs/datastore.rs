//! The attachment store: uploaded files and file artifacts kept on disk, content-addressed by
//! SHA-256 (so identical files are stored once), and the password-protected zip download.

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

/// Builds a zip archive holding one file encrypted with the traditional PKWARE ("ZipCrypto")
/// scheme, stored without compression: what Cortex clients expect from `/api/datastorezip`.
pub fn encrypted_zip(file_name: &str, content: &[u8], password: &str) -> Vec<u8> {
    let crc = crc32(content);
    let mut keys = ZipCryptoKeys::new(password.as_bytes());
    let mut header: [u8; 12] = rand::random();
    header[11] = (crc >> 24) as u8;
    let mut encrypted = Vec::with_capacity(12 + content.len());
    encrypted.extend(header.iter().map(|&byte| keys.encrypt(byte)));
    encrypted.extend(content.iter().map(|&byte| keys.encrypt(byte)));

    let name = file_name.as_bytes();
    let size = content.len() as u32;
    let compressed = encrypted.len() as u32;
    let (time, date) = (0u16, (1 << 5) | 1); // 1980-01-01 00:00
    let mut zip = Vec::with_capacity(encrypted.len() + 2 * name.len() + 100);
    // Local file header.
    zip.extend(0x0403_4b50u32.to_le_bytes());
    for field in [20u16, 1, 0, time, date] {
        zip.extend(field.to_le_bytes());
    }
    for field in [crc, compressed, size] {
        zip.extend(field.to_le_bytes());
    }
    zip.extend((name.len() as u16).to_le_bytes());
    zip.extend(0u16.to_le_bytes());
    zip.extend(name);
    zip.extend(&encrypted);
    // Central directory.
    let directory_offset = zip.len() as u32;
    zip.extend(0x0201_4b50u32.to_le_bytes());
    for field in [20u16, 20, 1, 0, time, date] {
        zip.extend(field.to_le_bytes());
    }
    for field in [crc, compressed, size] {
        zip.extend(field.to_le_bytes());
    }
    for field in [name.len() as u16, 0, 0, 0, 0] {
        zip.extend(field.to_le_bytes());
    }
    zip.extend(0u32.to_le_bytes()); // external attributes
    zip.extend(0u32.to_le_bytes()); // local header offset
    zip.extend(name);
    let directory_size = zip.len() as u32 - directory_offset;
    // End of central directory.
    zip.extend(0x0605_4b50u32.to_le_bytes());
    for field in [0u16, 0, 1, 1] {
        zip.extend(field.to_le_bytes());
    }
    zip.extend(directory_size.to_le_bytes());
    zip.extend(directory_offset.to_le_bytes());
    zip.extend(0u16.to_le_bytes());
    zip
}

const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut index = 0;
    while index < 256 {
        let mut value = index as u32;
        let mut bit = 0;
        while bit < 8 {
            value = if value & 1 == 1 {
                0xEDB8_8320 ^ (value >> 1)
            } else {
                value >> 1
            };
            bit += 1;
        }
        table[index] = value;
        index += 1;
    }
    table
};

fn crc32_update(crc: u32, byte: u8) -> u32 {
    CRC_TABLE[((crc ^ u32::from(byte)) & 0xff) as usize] ^ (crc >> 8)
}

fn crc32(data: &[u8]) -> u32 {
    !data
        .iter()
        .fold(0xFFFF_FFFF, |crc, &byte| crc32_update(crc, byte))
}

struct ZipCryptoKeys([u32; 3]);

impl ZipCryptoKeys {
    fn new(password: &[u8]) -> ZipCryptoKeys {
        let mut keys = ZipCryptoKeys([0x1234_5678, 0x2345_6789, 0x3456_7890]);
        for &byte in password {
            keys.update(byte);
        }
        keys
    }

    fn update(&mut self, byte: u8) {
        let [k0, k1, k2] = &mut self.0;
        *k0 = crc32_update(*k0, byte);
        *k1 = k1
            .wrapping_add(*k0 & 0xff)
            .wrapping_mul(134_775_813)
            .wrapping_add(1);
        *k2 = crc32_update(*k2, (*k1 >> 24) as u8);
    }

    fn encrypt(&mut self, plain: u8) -> u8 {
        let temp = (self.0[2] | 2) & 0xffff;
        let stream = ((temp.wrapping_mul(temp ^ 1)) >> 8) as u8;
        self.update(plain);
        plain ^ stream
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_the_reference_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

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
