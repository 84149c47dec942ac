//! Facts about a byte string: hashes, Shannon entropy, type from magic bytes, ZIP entry names,
//! and printable strings. Pure functions shared by the file and e-mail analyzers.

use md5::Md5;
use serde::Serialize;
use sha1::Sha1;
use sha2::{Digest, Sha256};

/// The three digests TheHive and Cortex record for files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hashes {
    /// MD5, lower-case hex.
    pub md5: String,
    /// SHA-1, lower-case hex.
    pub sha1: String,
    /// SHA-256, lower-case hex.
    pub sha256: String,
}

/// Computes MD5, SHA-1 and SHA-256 of `content`.
pub fn hashes(content: &[u8]) -> Hashes {
    Hashes {
        md5: hex::encode(Md5::digest(content)),
        sha1: hex::encode(Sha1::digest(content)),
        sha256: hex::encode(Sha256::digest(content)),
    }
}

/// Shannon entropy in bits per byte (0 for empty input, 8 for uniformly random bytes),
/// rounded to three decimals.
pub fn entropy(content: &[u8]) -> f64 {
    if content.is_empty() {
        return 0.0;
    }
    let mut counts = [0u64; 256];
    for byte in content {
        counts[usize::from(*byte)] += 1;
    }
    let length = content.len() as f64;
    let bits: f64 = counts
        .iter()
        .filter(|count| **count > 0)
        .map(|count| {
            let probability = *count as f64 / length;
            -probability * probability.log2()
        })
        .sum();
    (bits * 1000.0).round() / 1000.0
}

/// A file type recognised from its first bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileType {
    /// A human description (`PE32 executable`, `ZIP archive`).
    pub description: String,
    /// The MIME type.
    pub mime: &'static str,
    /// Whether the type runs code (executables, scripts, Office documents with macros possible).
    pub executable: bool,
}

impl FileType {
    fn new(description: &str, mime: &'static str, executable: bool) -> Self {
        Self {
            description: description.into(),
            mime,
            executable,
        }
    }
}

/// Recognises common types by magic bytes; falls back to text or `data`.
pub fn file_type(content: &[u8]) -> FileType {
    let starts = |magic: &[u8]| content.starts_with(magic);
    if starts(b"MZ") {
        return portable_executable_type(content);
    }
    let simple: &[(&[u8], &str, &'static str, bool)] = &[
        (
            b"\x7fELF",
            "ELF executable",
            "application/x-executable",
            true,
        ),
        (b"%PDF-", "PDF document", "application/pdf", false),
        (
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
            "OLE2 compound document (legacy Office, MSI, MSG)",
            "application/x-ole-storage",
            true,
        ),
        (b"{\\rtf", "RTF document", "application/rtf", false),
        (b"\x89PNG\r\n\x1a\n", "PNG image", "image/png", false),
        (b"\xff\xd8\xff", "JPEG image", "image/jpeg", false),
        (b"GIF87a", "GIF image", "image/gif", false),
        (b"GIF89a", "GIF image", "image/gif", false),
        (
            b"\x1f\x8b",
            "gzip compressed data",
            "application/gzip",
            false,
        ),
        (
            b"7z\xbc\xaf\x27\x1c",
            "7-zip archive",
            "application/x-7z-compressed",
            false,
        ),
        (b"Rar!\x1a\x07", "RAR archive", "application/vnd.rar", false),
        (
            b"BZh",
            "bzip2 compressed data",
            "application/x-bzip2",
            false,
        ),
        (
            b"\xfd7zXZ\x00",
            "xz compressed data",
            "application/x-xz",
            false,
        ),
        (
            b"\xca\xfe\xba\xbe",
            "Java class or Mach-O universal binary",
            "application/octet-stream",
            true,
        ),
        (
            b"\xcf\xfa\xed\xfe",
            "Mach-O 64-bit executable",
            "application/x-mach-binary",
            true,
        ),
        (
            b"\xce\xfa\xed\xfe",
            "Mach-O executable",
            "application/x-mach-binary",
            true,
        ),
        (b"#!", "script with shebang", "text/x-script", true),
        (
            b"MSCF",
            "Microsoft Cabinet archive",
            "application/vnd.ms-cab-compressed",
            false,
        ),
        (
            b"ITSF",
            "Microsoft compiled HTML help (CHM)",
            "application/vnd.ms-htmlhelp",
            true,
        ),
        (
            b"L\x00\x00\x00\x01\x14\x02\x00",
            "Windows shortcut (LNK)",
            "application/x-ms-shortcut",
            true,
        ),
    ];
    for (magic, description, mime, executable) in simple {
        if starts(magic) {
            return FileType::new(description, mime, *executable);
        }
    }
    if starts(b"PK\x03\x04") || starts(b"PK\x05\x06") {
        return zip_type(content);
    }
    text_type(content)
}

fn portable_executable_type(content: &[u8]) -> FileType {
    let pe_offset = content
        .get(0x3c..0x40)
        .map(|bytes| u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize);
    let header = pe_offset.and_then(|offset| content.get(offset..offset.checked_add(26)?));
    match header {
        Some(header) if header.starts_with(b"PE\x00\x00") => {
            let characteristics = u16::from_le_bytes([header[22], header[23]]);
            let magic = u16::from_le_bytes([header[24], header[25]]);
            let bits = if magic == 0x20b { "PE32+" } else { "PE32" };
            let kind = if characteristics & 0x2000 != 0 {
                "DLL"
            } else {
                "executable"
            };
            FileType::new(
                &format!("{bits} {kind} (Windows)"),
                "application/vnd.microsoft.portable-executable",
                true,
            )
        }
        _ => FileType::new("MS-DOS executable", "application/x-dosexec", true),
    }
}

fn zip_type(content: &[u8]) -> FileType {
    let names = zip_entry_names(content);
    let has = |name: &str| names.iter().any(|entry| entry.name == name);
    let has_prefix = |prefix: &str| names.iter().any(|entry| entry.name.starts_with(prefix));
    let encrypted = names.iter().any(|entry| entry.encrypted);
    let (description, mime, executable) = if has("[Content_Types].xml") && has_prefix("word/") {
        (
            "Microsoft Word document (OOXML)",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            false,
        )
    } else if has("[Content_Types].xml") && has_prefix("xl/") {
        (
            "Microsoft Excel workbook (OOXML)",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            false,
        )
    } else if has("[Content_Types].xml") && has_prefix("ppt/") {
        (
            "Microsoft PowerPoint presentation (OOXML)",
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            false,
        )
    } else if has("AndroidManifest.xml") {
        (
            "Android package (APK)",
            "application/vnd.android.package-archive",
            true,
        )
    } else if has("META-INF/MANIFEST.MF") {
        ("Java archive (JAR)", "application/java-archive", true)
    } else {
        ("ZIP archive", "application/zip", false)
    };
    let macros = has_prefix("word/vbaProject")
        || has_prefix("xl/vbaProject")
        || has_prefix("ppt/vbaProject");
    let mut description = description.to_owned();
    if macros {
        description.push_str(" with VBA macros");
    }
    if encrypted {
        description.push_str(", encrypted entries");
    }
    FileType {
        description,
        mime,
        executable: executable || macros,
    }
}

fn text_type(content: &[u8]) -> FileType {
    let sample = &content[..content.len().min(8192)];
    let head = String::from_utf8_lossy(&sample[..sample.len().min(512)]).to_ascii_lowercase();
    let head = head.trim_start();
    let is_text = std::str::from_utf8(sample).is_ok()
        || sample
            .iter()
            .all(|byte| !matches!(byte, 0..=8 | 14..=31 | 127));
    if !is_text || content.is_empty() {
        let description = if content.is_empty() { "empty" } else { "data" };
        return FileType::new(description, "application/octet-stream", false);
    }
    if head.starts_with("<!doctype html") || head.starts_with("<html") || head.contains("<script") {
        return FileType::new("HTML document", "text/html", head.contains("<script"));
    }
    if head.starts_with("<?xml") || head.starts_with("<svg") {
        return FileType::new("XML document", "application/xml", false);
    }
    let mail_headers = [
        "received:",
        "from:",
        "return-path:",
        "message-id:",
        "mime-version:",
        "delivered-to:",
        "subject:",
        "date:",
        "to:",
    ];
    if mail_headers.iter().any(|header| head.starts_with(header)) {
        return FileType::new("RFC 822 mail message", "message/rfc822", false);
    }
    FileType::new("text", "text/plain", false)
}

/// One entry of a ZIP central directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ZipEntry {
    /// The entry's path inside the archive.
    pub name: String,
    /// Uncompressed size as recorded (not verified).
    pub size: u64,
    /// Whether the entry is encrypted.
    pub encrypted: bool,
}

/// Lists the entries of a ZIP archive from its central directory, without decompressing
/// anything. A damaged archive yields the entries that could be read (possibly none).
pub fn zip_entry_names(content: &[u8]) -> Vec<ZipEntry> {
    let read_u16 = |at: usize| {
        content
            .get(at..at + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]) as usize)
    };
    let read_u32 = |at: usize| {
        content
            .get(at..at + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    // The end-of-central-directory record sits in the last 64 KiB + 22 bytes.
    let search_start = content.len().saturating_sub(65_557);
    let Some(end_record) = content[search_start..]
        .windows(4)
        .rposition(|window| window == b"PK\x05\x06")
        .map(|position| search_start + position)
    else {
        return Vec::new();
    };
    let (Some(count), Some(directory_offset)) =
        (read_u16(end_record + 10), read_u32(end_record + 16))
    else {
        return Vec::new();
    };
    let mut entries = Vec::new();
    let mut at = directory_offset as usize;
    for _ in 0..count.min(10_000) {
        if content.get(at..at + 4) != Some(b"PK\x01\x02") {
            break;
        }
        let (Some(flags), Some(size), Some(name_length), Some(extra_length), Some(comment_length)) = (
            read_u16(at + 8),
            read_u32(at + 24),
            read_u16(at + 28),
            read_u16(at + 30),
            read_u16(at + 32),
        ) else {
            break;
        };
        let Some(name) = content.get(at + 46..at + 46 + name_length) else {
            break;
        };
        entries.push(ZipEntry {
            name: String::from_utf8_lossy(name).into_owned(),
            size: u64::from(size),
            encrypted: flags & 1 == 1,
        });
        at += 46 + name_length + extra_length + comment_length;
    }
    entries
}

/// Printable strings of at least `minimum` characters: ASCII runs and UTF-16LE runs (common in
/// Windows binaries). At most `limit` strings are returned.
pub fn printable_strings(content: &[u8], minimum: usize, limit: usize) -> Vec<String> {
    let printable = |byte: u8| byte == b'\t' || (0x20..0x7f).contains(&byte);
    let mut strings = Vec::new();
    let mut current = String::new();
    for byte in content {
        if printable(*byte) {
            current.push(char::from(*byte));
        } else {
            if current.len() >= minimum && strings.len() < limit {
                strings.push(std::mem::take(&mut current));
            }
            current.clear();
        }
    }
    if current.len() >= minimum && strings.len() < limit {
        strings.push(current);
    }
    // UTF-16LE strings may start at an even or an odd offset.
    for start in 0..2 {
        let mut wide = String::new();
        for pair in content.get(start..).unwrap_or_default().chunks_exact(2) {
            if printable(pair[0]) && pair[1] == 0 {
                wide.push(char::from(pair[0]));
            } else {
                if wide.len() >= minimum && strings.len() < limit {
                    strings.push(std::mem::take(&mut wide));
                }
                wide.clear();
            }
        }
        if wide.len() >= minimum && strings.len() < limit {
            strings.push(wide);
        }
    }
    strings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_of_empty_input_are_the_well_known_values() {
        let hashes = hashes(b"");

        assert_eq!(hashes.md5, "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(hashes.sha1, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        assert_eq!(
            hashes.sha256,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn entropy_is_zero_for_one_repeated_byte_and_eight_for_all_bytes() {
        let all_bytes: Vec<u8> = (0..=255).collect();

        assert_eq!(entropy(&[7; 100]), 0.0);
        assert_eq!(entropy(&all_bytes), 8.0);
    }

    #[test]
    fn magic_bytes_name_the_type() {
        assert_eq!(file_type(b"%PDF-1.7\n...").mime, "application/pdf");
        assert_eq!(file_type(b"\x7fELF\x02\x01").description, "ELF executable");
        assert_eq!(file_type(b"plain words\n").mime, "text/plain");
        assert_eq!(file_type(&[0, 1, 2, 3, 200, 201]).description, "data");
        assert_eq!(
            file_type(b"Received: from x\r\nFrom: a@b\r\n").mime,
            "message/rfc822"
        );
    }

    #[test]
    fn strings_include_ascii_and_utf16_runs() {
        let content =
            b"\x00\x01hello world\x00\x02h\x00t\x00t\x00p\x00:\x00/\x00/\x00x\x00\x00\x00";

        let strings = printable_strings(content, 5, 10);

        assert!(strings.contains(&"hello world".to_owned()));
        assert!(strings.contains(&"http://x".to_owned()));
    }
}
