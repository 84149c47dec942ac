//! One raw mail read into what a case or alert needs: idempotency key, subject, sender, body
//! text, texts to scan for observables, attachments, and the problems met while reading.
//!
//! Reading never fails: a mail without `From`, with broken MIME or an unknown charset still
//! gives a [`Mail`] with what could be read, and [`Mail::problems`] says what was wrong.

use std::borrow::Cow;

use mail_parser::{MessageParser, MimeHeaders, PartType};
use sha2::{Digest, Sha256};

/// An attachment (or a nested message, as `.eml`).
#[derive(Debug, Clone)]
pub struct Attachment {
    /// File name (generated when the part has none).
    pub name: String,
    /// MIME type, lowercase `type/subtype`.
    pub mime: String,
    /// Decoded content.
    pub content: Vec<u8>,
}

/// A mail as read.
#[derive(Debug, Clone)]
pub struct Mail {
    /// The idempotency key: from the Message-ID, else from the raw bytes (32 hex digits).
    pub key: String,
    /// The Message-ID without angle brackets, when present.
    pub message_id: Option<String>,
    /// Decoded subject (empty when absent).
    pub subject: String,
    /// Decoded sender as `Name <address>` (or the address).
    pub from: Option<String>,
    /// Date header, ms since the epoch.
    pub date_ms: Option<i64>,
    /// The description body: the plain text, or the HTML as Markdown.
    pub body: String,
    /// Header block as text (the spam pattern is matched against it).
    pub header_block: String,
    /// Texts to scan for observables: (origin, text).
    pub scan: Vec<(String, String)>,
    /// Attachments and nested messages.
    pub attachments: Vec<Attachment>,
    /// What could not be read; each becomes part of the description and a tag.
    pub problems: Vec<Problem>,
}

/// Something wrong with a mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// No `From` header.
    NoFrom,
    /// The MIME structure is broken (missing boundary, undecodable part).
    BrokenMime(String),
    /// A part declares a charset this reader does not know (read as UTF-8, lossily).
    UnknownCharset(String),
    /// The message could not be parsed at all; its raw text is the body.
    Unparseable,
    /// The mail exceeds the size limit; only its headers were read.
    TooLarge {
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },
}

impl Problem {
    /// The tag a case or alert gets for this problem.
    pub fn tag(&self) -> &'static str {
        match self {
            Problem::NoFrom => "ingest:no-from",
            Problem::BrokenMime(_) => "ingest:broken-mime",
            Problem::UnknownCharset(_) => "ingest:unknown-charset",
            Problem::Unparseable => "ingest:unparseable",
            Problem::TooLarge { .. } => "ingest:too-large",
        }
    }

    /// A sentence for the description.
    pub fn describe(&self) -> String {
        match self {
            Problem::NoFrom => "the mail has no From header".into(),
            Problem::BrokenMime(what) => format!("broken MIME structure: {what}"),
            Problem::UnknownCharset(charset) => {
                format!("unknown charset {charset:?}: text read as UTF-8, invalid bytes replaced")
            }
            Problem::Unparseable => "the mail could not be parsed; its raw text follows".into(),
            Problem::TooLarge { size, limit } => format!(
                "the mail is {size} bytes, over the limit of {limit} bytes: only its headers were read"
            ),
        }
    }
}

/// The idempotency key of a mail: SHA-256 of its Message-ID (or of its raw bytes), 32 hex digits.
pub fn idempotency_key(message_id: Option<&str>, raw: &[u8]) -> String {
    let digest = match message_id {
        Some(id) => Sha256::digest(format!("message-id:{id}").as_bytes()),
        None => Sha256::digest(raw),
    };
    hex::encode(&digest[..16])
}

/// Charsets read natively besides those mail-parser decodes.
fn charset_known(charset: &str) -> bool {
    let lower = charset.to_ascii_lowercase();
    matches!(lower.as_str(), "utf-8" | "utf8" | "us-ascii" | "ascii")
        || mail_parser::decoders::charsets::map::charset_decoder(lower.as_bytes()).is_some()
}

/// Reads a full raw mail.
pub fn read(raw: &[u8]) -> Mail {
    let Some(message) = MessageParser::default().parse(raw) else {
        return unparseable(raw);
    };
    let message_id = message
        .message_id()
        .map(|id| id.trim().trim_matches(['<', '>']).to_owned())
        .filter(|id| !id.is_empty());
    let key = idempotency_key(message_id.as_deref(), raw);
    let mut problems = Vec::new();
    let from = message.from().and_then(|address| {
        address
            .first()
            .map(|addr| match (addr.name(), addr.address()) {
                (Some(name), Some(address)) => format!("{name} <{address}>"),
                (None, Some(address)) => address.to_owned(),
                (Some(name), None) => name.to_owned(),
                (None, None) => String::new(),
            })
    });
    let from = from.filter(|from| !from.is_empty());
    if from.is_none() {
        problems.push(Problem::NoFrom);
    }
    let header_end = message.root_part().offset_body as usize;
    let header_block = String::from_utf8_lossy(&raw[..header_end.min(raw.len())]).into_owned();
    let mut scan = Vec::new();
    for (name, value) in message.headers_raw() {
        let lower = name.to_ascii_lowercase();
        if matches!(
            lower.as_str(),
            "from"
                | "reply-to"
                | "return-path"
                | "sender"
                | "subject"
                | "received"
                | "x-originating-ip"
                | "x-sender-ip"
                | "authentication-results"
        ) {
            let decoded = if lower == "subject" {
                message.subject().unwrap_or(value).to_owned()
            } else {
                value.to_owned()
            };
            scan.push((format!("header:{lower}"), decoded));
        }
    }
    check_mime(&message, raw, &mut problems);

    let mut body = String::new();
    let mut attachments = Vec::new();
    walk(&message, raw, "body", &mut scan, &mut attachments);
    let plain: Vec<&str> = message
        .text_bodies()
        .filter_map(|part| match &part.body {
            PartType::Text(text) => Some(text.as_ref()),
            _ => None,
        })
        .collect();
    if !plain.is_empty() {
        body = plain.join("\n\n").trim().to_owned();
    }
    if body.is_empty()
        && let Some(html) = message
            .html_bodies()
            .next()
            .and_then(|part| part.text_contents())
    {
        body = crate::html::to_markdown(html);
    }
    Mail {
        key,
        message_id,
        subject: message.subject().unwrap_or_default().trim().to_owned(),
        from,
        date_ms: message.date().map(|date| date.to_timestamp() * 1000),
        body,
        header_block,
        scan,
        attachments,
        problems: dedup(problems),
    }
}

fn dedup(problems: Vec<Problem>) -> Vec<Problem> {
    let mut kept: Vec<Problem> = Vec::new();
    for problem in problems {
        if !kept.contains(&problem) {
            kept.push(problem);
        }
    }
    kept
}

/// Reads only the headers of a mail too large to read whole.
pub fn read_headers_only(header: &[u8], size: u64, limit: u64) -> Mail {
    let mut mail = read(header);
    mail.body.clear();
    mail.attachments.clear();
    mail.scan
        .retain(|(origin, _)| origin.starts_with("header:"));
    mail.problems.retain(|problem| *problem == Problem::NoFrom);
    mail.problems.push(Problem::TooLarge { size, limit });
    mail
}

fn unparseable(raw: &[u8]) -> Mail {
    let text = String::from_utf8_lossy(raw);
    let body: String = text.chars().take(64 * 1024).collect();
    Mail {
        key: idempotency_key(None, raw),
        message_id: None,
        subject: String::new(),
        from: None,
        date_ms: None,
        body: body.clone(),
        header_block: String::new(),
        scan: vec![("body:raw".into(), body)],
        attachments: Vec::new(),
        problems: vec![Problem::Unparseable, Problem::NoFrom],
    }
}

/// Multipart parts must have a boundary that occurs in the body.
fn check_mime(message: &mail_parser::Message<'_>, raw: &[u8], problems: &mut Vec<Problem>) {
    for part in &message.parts {
        if part.is_encoding_problem {
            problems.push(Problem::BrokenMime("a part could not be decoded".into()));
        }
        let Some(content_type) = part.content_type() else {
            continue;
        };
        if content_type.c_type.eq_ignore_ascii_case("multipart") {
            match content_type.attribute("boundary") {
                None => problems.push(Problem::BrokenMime("multipart without a boundary".into())),
                Some(boundary) => {
                    let marker = format!("--{boundary}");
                    let found = raw
                        .windows(marker.len())
                        .any(|window| window == marker.as_bytes());
                    if !found {
                        problems.push(Problem::BrokenMime(format!(
                            "boundary {boundary:?} never occurs"
                        )));
                    }
                }
            }
        }
        if let Some(charset) = content_type.attribute("charset")
            && (part.is_text() || part.is_text_html())
            && !charset_known(charset)
        {
            problems.push(Problem::UnknownCharset(charset.to_owned()));
        }
    }
}

/// Collects the texts to scan and the attachments, recursing into nested messages.
fn walk(
    message: &mail_parser::Message<'_>,
    raw: &[u8],
    prefix: &str,
    scan: &mut Vec<(String, String)>,
    attachments: &mut Vec<Attachment>,
) {
    let body_ids: Vec<u32> = message
        .text_body
        .iter()
        .chain(message.html_body.iter())
        .copied()
        .collect();
    for (index, part) in message.parts.iter().enumerate() {
        let is_body = body_ids.contains(&(index as u32));
        match &part.body {
            PartType::Text(text) if is_body => {
                scan.push((format!("{prefix}:plain"), text.to_string()));
            }
            PartType::Html(html) if is_body => {
                scan.push((format!("{prefix}:html"), crate::html::decode_entities(html)));
            }
            PartType::Multipart(_) => {}
            PartType::Message(nested) => {
                let subject = nested.subject().unwrap_or("attached message");
                let bytes = nested.raw_message();
                let bytes = if bytes.is_empty() {
                    &raw[part.offset_body as usize..part.offset_end as usize]
                } else {
                    bytes
                };
                attachments.push(Attachment {
                    name: format!("{}.eml", file_stem(subject)),
                    mime: "message/rfc822".into(),
                    content: bytes.to_vec(),
                });
                let mut inner = Vec::new();
                walk(nested, bytes, "attached-mail", scan, &mut inner);
            }
            body => {
                let content: Cow<'_, [u8]> = match body {
                    PartType::Text(text) | PartType::Html(text) => Cow::Borrowed(text.as_bytes()),
                    PartType::Binary(bytes) | PartType::InlineBinary(bytes) => {
                        Cow::Borrowed(bytes.as_ref())
                    }
                    _ => continue,
                };
                let mime = part
                    .content_type()
                    .map(|ct| match &ct.c_subtype {
                        Some(sub) => format!("{}/{}", ct.c_type, sub),
                        None => ct.c_type.to_string(),
                    })
                    .unwrap_or_else(|| "application/octet-stream".into())
                    .to_ascii_lowercase();
                let name = part
                    .attachment_name()
                    .map(sanitize_name)
                    .unwrap_or_else(|| format!("part-{index}.{}", extension_for(&mime)));
                attachments.push(Attachment {
                    name,
                    mime,
                    content: content.into_owned(),
                });
            }
        }
    }
}

fn extension_for(mime: &str) -> &'static str {
    match mime {
        "text/plain" => "txt",
        "text/html" => "html",
        "application/pdf" => "pdf",
        "image/png" => "png",
        "image/jpeg" => "jpg",
        "application/zip" => "zip",
        _ => "bin",
    }
}

/// A file name without path separators or control characters.
fn sanitize_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let cleaned: String = base
        .chars()
        .map(|c| if c.is_control() { '_' } else { c })
        .collect();
    if cleaned.trim().is_empty() {
        "attachment".into()
    } else {
        cleaned.trim().to_owned()
    }
}

/// A file stem from a subject: letters, digits, `-` and `_` kept, at most 60 characters.
pub fn file_stem(subject: &str) -> String {
    let stem: String = subject
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(60)
        .collect();
    let stem = stem.trim_matches('_').to_owned();
    if stem.is_empty() { "mail".into() } else { stem }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MULTIPART: &[u8] = b"From: =?utf-8?q?J=C3=B6rg_M=C3=BCller?= <jorg@partner.net>\r\n\
To: soc@example.org\r\n\
Subject: =?utf-8?b?w5xuw69jb2Rl?= [ALERT] test\r\n\
Message-ID: <abc-123@partner.net>\r\n\
Date: Tue, 1 Dec 2026 10:00:00 +0000\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"XX\"\r\n\
\r\n\
--XX\r\n\
Content-Type: multipart/alternative; boundary=\"YY\"\r\n\
\r\n\
--YY\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
\r\n\
Plain body with 203.0.113.7\r\n\
--YY\r\n\
Content-Type: text/html; charset=utf-8\r\n\
\r\n\
<p>HTML body with <a href=\"http://evil.example.com/x\">link</a> 198.51.100.2</p>\r\n\
--YY--\r\n\
--XX\r\n\
Content-Type: application/pdf; name=\"invoice.pdf\"\r\n\
Content-Disposition: attachment; filename=\"invoice.pdf\"\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
JVBERi0xLjQK\r\n\
--XX--\r\n";

    #[test]
    fn a_multipart_mail_gives_body_texts_and_attachments() {
        let mail = read(MULTIPART);
        assert_eq!(mail.message_id.as_deref(), Some("abc-123@partner.net"));
        assert_eq!(mail.key, idempotency_key(Some("abc-123@partner.net"), b""));
        assert_eq!(mail.subject, "Ünïcode [ALERT] test");
        assert_eq!(mail.from.as_deref(), Some("Jörg Müller <jorg@partner.net>"));
        assert_eq!(mail.body, "Plain body with 203.0.113.7");
        assert!(
            mail.scan
                .iter()
                .any(|(origin, text)| origin == "body:html" && text.contains("198.51.100.2"))
        );
        assert!(mail.scan.iter().any(|(origin, _)| origin == "header:from"));
        assert_eq!(mail.attachments.len(), 1);
        assert_eq!(mail.attachments[0].name, "invoice.pdf");
        assert_eq!(mail.attachments[0].mime, "application/pdf");
        assert_eq!(mail.attachments[0].content, b"%PDF-1.4\n");
        assert!(mail.problems.is_empty(), "{:?}", mail.problems);
        assert!(
            mail.header_block
                .contains("Message-ID: <abc-123@partner.net>")
        );
    }

    #[test]
    fn a_mail_without_from_or_message_id_is_still_read() {
        let raw = b"Subject: anonymous\r\n\r\nbody text\r\n";
        let mail = read(raw);
        assert_eq!(mail.problems, [Problem::NoFrom]);
        assert_eq!(mail.message_id, None);
        assert_eq!(mail.key, idempotency_key(None, raw));
        assert_eq!(mail.body, "body text");
    }

    #[test]
    fn broken_mime_and_unknown_charsets_are_problems() {
        let raw = b"From: a@b.org\r\nSubject: broken\r\nContent-Type: multipart/mixed; boundary=\"nope\"\r\n\r\nno boundary here\r\n";
        let mail = read(raw);
        assert!(
            mail.problems
                .iter()
                .any(|p| matches!(p, Problem::BrokenMime(_))),
            "{:?}",
            mail.problems
        );
        let raw = b"From: a@b.org\r\nSubject: odd\r\nContent-Type: text/plain; charset=x-klingon\r\n\r\nqapla\r\n";
        let mail = read(raw);
        assert_eq!(mail.problems, [Problem::UnknownCharset("x-klingon".into())]);
        assert_eq!(mail.body, "qapla");
    }

    #[test]
    fn an_html_only_mail_gets_a_markdown_body() {
        let raw = b"From: a@b.org\r\nSubject: html\r\nContent-Type: text/html; charset=iso-8859-1\r\n\r\n<p>Gr\xfc\xdfe <b>team</b></p>\r\n";
        let mail = read(raw);
        assert_eq!(mail.body, "Grüße **team**");
    }

    #[test]
    fn a_nested_message_is_an_eml_attachment_and_is_scanned() {
        let raw = b"From: a@b.org\r\nSubject: fwd\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--B\r\nContent-Type: message/rfc822\r\n\r\nFrom: evil@bad.example.com\r\nSubject: Pay now\r\n\r\nGo to http://pay.bad.example.com/now please\r\n--B--\r\n";
        let mail = read(raw);
        let eml = mail
            .attachments
            .iter()
            .find(|a| a.mime == "message/rfc822")
            .expect("eml");
        assert_eq!(eml.name, "Pay_now.eml");
        assert!(String::from_utf8_lossy(&eml.content).contains("Subject: Pay now"));
        assert!(
            mail.scan
                .iter()
                .any(|(origin, text)| origin == "attached-mail:plain"
                    && text.contains("pay.bad.example.com"))
        );
    }

    #[test]
    fn headers_only_reading_says_the_mail_was_too_large() {
        let mail = read_headers_only(b"From: a@b.org\r\nSubject: big\r\n\r\n", 100, 10);
        assert_eq!(mail.subject, "big");
        assert_eq!(
            mail.problems,
            [Problem::TooLarge {
                size: 100,
                limit: 10
            }]
        );
    }
}
