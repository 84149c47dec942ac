//! Password-protected zip archives of one file (ZipCrypto, as TheHive and Cortex serve
//! attachments, so analysts' tools open them with the usual `malware` password).

use std::io::Write;

use zip::unstable::write::FileOptionsExt;

/// The archive could not be written (an internal fault, never the client's).
#[derive(Debug, thiserror::Error)]
#[error("cannot write the zip archive: {0}")]
pub struct ZipError(String);

/// A zip archive holding `content` as `name`, deflated and encrypted under `password`.
pub fn encrypted_zip(name: &str, content: &[u8], password: &str) -> Result<Vec<u8>, ZipError> {
    let failed = |error: &dyn std::fmt::Display| ZipError(error.to_string());
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .with_deprecated_encryption(password.as_bytes())
        .map_err(|error| failed(&error))?;
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    writer
        .start_file(name, options)
        .map_err(|error| failed(&error))?;
    writer.write_all(content).map_err(|error| failed(&error))?;
    let cursor = writer.finish().map_err(|error| failed(&error))?;
    Ok(cursor.into_inner())
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn the_archive_opens_with_its_password_only() {
        let archive = encrypted_zip("sample.exe", b"MZ payload", "malware").unwrap();
        let mut reader = zip::ZipArchive::new(std::io::Cursor::new(archive)).unwrap();

        let mut content = Vec::new();
        reader
            .by_index_decrypt(0, b"malware")
            .unwrap()
            .read_to_end(&mut content)
            .unwrap();

        assert_eq!(content, b"MZ payload");
        assert!(reader.by_index_decrypt(0, b"wrong").is_err());
        assert_eq!(
            reader.by_index_raw(0).unwrap().name().unwrap(),
            "sample.exe"
        );
    }
}
