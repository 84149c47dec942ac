//! The e-mail analyzer: parses a mail file (RFC 5322/MIME) without any network access and
//! reports headers, the received chain, SPF/DKIM/DMARC results as recorded in the headers,
//! links, attachments with hashes (nested messages included) and the observables found.

mod headers;

use std::collections::BTreeSet;
use std::net::IpAddr;

use mail_parser::{Message, MessageParser, MimeHeaders};
use regex::Regex;
use serde_json::{Map, Value, json};

use self::headers::{address_list, authentication, cut, headers, received_chain};
use crate::analyzers::observable_sanity::{IpClass, classify_ip};
use crate::content;
use crate::error::WorkerError;
use crate::extract::{Extractor, Found};
use crate::job::Job;
use crate::report::{AnalyzerReport, Artifact, Level, Taxonomy};

const NAMESPACE: &str = "Email";
/// Mail files above this size are refused.
const MAX_MAIL_SIZE: u64 = 100 * 1024 * 1024;
/// Nested messages deeper than this are listed but not opened.
const MAX_DEPTH: usize = 5;
/// Text scanned for observables, per body part.
const MAX_SCANNED_TEXT: usize = 2 * 1024 * 1024;
/// Caps on what goes into the report.
const MAX_ARTIFACTS: usize = 300;
const MAX_FILE_ARTIFACTS: usize = 50;
const MAX_BODY_EXCERPT: usize = 10_000;
/// Headers of which at least one must be present for the file to count as a mail.
const MAIL_HEADERS: &[&str] = &[
    "from",
    "to",
    "subject",
    "date",
    "received",
    "message-id",
    "mime-version",
    "return-path",
    "delivered-to",
];

/// What the walk over a message and its nested messages collects.
struct Walk<'a> {
    extractor: &'a Extractor,
    auth_pattern: Regex,
    observables: BTreeSet<Found>,
    links: BTreeSet<String>,
    received_ips: BTreeSet<String>,
    addresses: BTreeSet<(String, &'static str)>,
    files: Vec<(String, Option<String>, Vec<u8>)>,
    attachment_count: usize,
    executable_attachments: usize,
    warnings: Vec<String>,
}

/// Analyzes the job's mail file.
pub fn analyze(job: &Job) -> Result<AnalyzerReport, WorkerError> {
    let data_type = job.data_type()?;
    if data_type != "file" {
        return Err(WorkerError::UnsupportedDataType {
            data_type: data_type.into(),
            supported: "file",
        });
    }
    let raw = job.read_file(MAX_MAIL_SIZE)?;
    let message = MessageParser::default().parse(&raw).ok_or_else(|| {
        WorkerError::InvalidData("not an e-mail message: no header could be parsed".into())
    })?;
    let known_headers = message
        .headers()
        .iter()
        .filter(|header| MAIL_HEADERS.contains(&header.name().to_ascii_lowercase().as_str()))
        .count();
    if known_headers == 0 {
        return Err(WorkerError::InvalidData(
            "not an e-mail message: none of the usual headers (From, To, Subject, Date, Received, Message-ID) is present".into(),
        ));
    }

    let extractor = Extractor::new();
    let mut walk = Walk {
        extractor: &extractor,
        auth_pattern: Regex::new(r"(?i)\b(spf|dkim|dmarc|arc)\s*=\s*([a-z]+)")
            .expect("authentication pattern is valid"),
        observables: BTreeSet::new(),
        links: BTreeSet::new(),
        received_ips: BTreeSet::new(),
        addresses: BTreeSet::new(),
        files: Vec::new(),
        attachment_count: 0,
        executable_attachments: 0,
        warnings: Vec::new(),
    };
    let mut full = match describe(&message, 0, &mut walk) {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    full.insert("size".into(), json!(raw.len()));
    full.insert("hashes".into(), json!(content::hashes(&raw)));
    full.insert("links".into(), json!(walk.links));
    full.insert("warnings".into(), json!(walk.warnings));

    let taxonomies = taxonomies(&full, &walk);
    let artifacts = artifacts(job, &mut walk)?;
    Ok(AnalyzerReport {
        taxonomies,
        full,
        artifacts,
        ..AnalyzerReport::default()
    })
}

/// Describes one message; nested `message/rfc822` attachments are described recursively.
fn describe(message: &Message<'_>, depth: usize, walk: &mut Walk<'_>) -> Value {
    let subject = message.subject().map(str::to_owned);
    if let Some(subject) = &subject {
        let found = walk.extractor.find(subject);
        walk.observables
            .extend(found.into_iter().filter(|found| found.data_type != "hash"));
    }
    let mut addresses = Map::new();
    for (field, address, role) in [
        ("from", message.from(), "from"),
        ("sender", message.sender(), "from"),
        ("reply_to", message.reply_to(), "reply-to"),
        ("to", message.to(), "to"),
        ("cc", message.cc(), "to"),
    ] {
        let list = address_list(address);
        if depth == 0 {
            for (_, email) in &list {
                walk.addresses.insert((email.clone(), role));
            }
        }
        let displays: Vec<&String> = list.iter().map(|(display, _)| display).collect();
        addresses.insert(field.into(), json!(displays));
    }
    let received = received_chain(message);
    if depth == 0 {
        let hops = received.as_array().map(Vec::as_slice).unwrap_or_default();
        let public_ips = hops
            .iter()
            .filter_map(|hop| hop["from_ip"].as_str()?.parse::<IpAddr>().ok())
            .filter(|ip| classify_ip(*ip) == IpClass::Public);
        walk.received_ips
            .extend(public_ips.map(|ip| ip.to_string()));
    }
    let authentication = authentication(message, &walk.auth_pattern);
    check_structure(message, depth, walk);
    let body = bodies(message, walk);
    let attachments = attachments(message, depth, walk);
    json!({
        "subject": subject,
        "from": addresses.get("from"),
        "sender": addresses.get("sender"),
        "reply_to": addresses.get("reply_to"),
        "to": addresses.get("to"),
        "cc": addresses.get("cc"),
        "return_path": message.return_address(),
        "date": message.date().map(|date| date.to_rfc3339()),
        "message_id": message.message_id(),
        "headers": headers(message),
        "received": received,
        "authentication": authentication,
        "body": body,
        "attachments": attachments,
    })
}

/// Flags parts the parser could not decode and multipart boundaries that are never closed
/// (a truncated message).
fn check_structure(message: &Message<'_>, depth: usize, walk: &mut Walk<'_>) {
    let raw = message.raw_message();
    let place = if depth == 0 {
        String::from("message")
    } else {
        format!("nested message (depth {depth})")
    };
    for (index, part) in message.parts.iter().enumerate() {
        if part.is_encoding_problem {
            walk.warnings.push(format!(
                "{place}: part {index} could not be decoded cleanly (charset or transfer encoding)"
            ));
        }
        let boundary = part
            .content_type()
            .filter(|ct| ct.ctype().eq_ignore_ascii_case("multipart"))
            .and_then(|ct| ct.attribute("boundary"));
        if let Some(boundary) = boundary {
            let closing = format!("--{boundary}--");
            if !raw
                .windows(closing.len())
                .any(|window| window == closing.as_bytes())
            {
                walk.warnings.push(format!(
                    "{place}: multipart boundary `{boundary}` is never closed; the message looks truncated"
                ));
            }
        }
    }
}

fn bodies(message: &Message<'_>, walk: &mut Walk<'_>) -> Value {
    let mut text_excerpt = None;
    for part in message.text_bodies().chain(message.html_bodies()) {
        let Some(text) = part.text_contents() else {
            continue;
        };
        let scanned = &text[..floor_char_boundary(text, MAX_SCANNED_TEXT)];
        for found in walk.extractor.find(scanned) {
            if found.data_type == "url" {
                walk.links.insert(found.value.clone());
            }
            walk.observables.insert(found);
        }
        if text_excerpt.is_none() && part.is_text() && !part.is_text_html() {
            text_excerpt = Some(cut(text, MAX_BODY_EXCERPT));
        }
    }
    json!({
        "text_parts": message.text_body_count(),
        "html_parts": message.html_body_count(),
        "text": text_excerpt.or_else(|| message.body_text(0).map(|text| cut(&text, MAX_BODY_EXCERPT))),
    })
}

fn floor_char_boundary(text: &str, limit: usize) -> usize {
    if limit >= text.len() {
        return text.len();
    }
    (0..=limit)
        .rev()
        .find(|index| text.is_char_boundary(*index))
        .unwrap_or(0)
}

fn attachments(message: &Message<'_>, depth: usize, walk: &mut Walk<'_>) -> Value {
    let mut list = Vec::new();
    for (index, part) in message.attachments().enumerate() {
        walk.attachment_count += 1;
        let bytes = part.contents();
        let content_type = part.content_type().map(|ct| match ct.subtype() {
            Some(subtype) => format!("{}/{}", ct.ctype(), subtype),
            None => ct.ctype().to_owned(),
        });
        let name = part
            .attachment_name()
            .map(str::to_owned)
            .unwrap_or_else(|| {
                if part.is_message() {
                    format!("message-{index}.eml")
                } else {
                    format!("attachment-{index}")
                }
            });
        let file_type = content::file_type(bytes);
        if file_type.executable {
            walk.executable_attachments += 1;
        }
        let mut entry = json!({
            "filename": name,
            "content_type": content_type,
            "size": bytes.len(),
            "hashes": content::hashes(bytes),
            "type": file_type,
        });
        if file_type.mime.starts_with("application/") && bytes.starts_with(b"PK") {
            let entries: Vec<_> = content::zip_entry_names(bytes)
                .into_iter()
                .take(200)
                .collect();
            entry["zip_entries"] = json!(entries);
        }
        if let Some(nested) = part.message() {
            entry["message"] = if depth + 1 < MAX_DEPTH {
                describe(nested, depth + 1, walk)
            } else {
                walk.warnings.push(format!(
                    "nested messages deeper than {MAX_DEPTH} levels are not opened"
                ));
                Value::Null
            };
        }
        if walk.files.len() < MAX_FILE_ARTIFACTS {
            walk.files.push((name, content_type, bytes.to_vec()));
        }
        list.push(entry);
    }
    Value::Array(list)
}

fn verdict_level(verdict: &str) -> Level {
    match verdict {
        "pass" => Level::Safe,
        "fail" | "softfail" | "permerror" | "hardfail" => Level::Suspicious,
        _ => Level::Info,
    }
}

fn taxonomies(full: &Map<String, Value>, walk: &Walk<'_>) -> Vec<Taxonomy> {
    let attachments_level = if walk.executable_attachments > 0 {
        Level::Suspicious
    } else {
        Level::Info
    };
    let mut taxonomies = vec![
        Taxonomy::new(
            attachments_level,
            NAMESPACE,
            "Attachments",
            walk.attachment_count,
        ),
        Taxonomy::new(Level::Info, NAMESPACE, "Links", walk.links.len()),
    ];
    for (method, predicate) in [("spf", "SPF"), ("dkim", "DKIM"), ("dmarc", "DMARC")] {
        let verdict = full
            .get("authentication")
            .and_then(|auth| auth.get(method))
            .and_then(Value::as_str);
        if let Some(verdict) = verdict {
            taxonomies.push(Taxonomy::new(
                verdict_level(verdict),
                NAMESPACE,
                predicate,
                verdict,
            ));
        }
    }
    if !walk.warnings.is_empty() {
        taxonomies.push(Taxonomy::new(
            Level::Info,
            NAMESPACE,
            "Warnings",
            walk.warnings.len(),
        ));
    }
    taxonomies
}

fn artifacts(job: &Job, walk: &mut Walk<'_>) -> Result<Vec<Artifact>, WorkerError> {
    let mut artifacts = Vec::new();
    for (email, role) in &walk.addresses {
        let message = format!("{role} address of the mail");
        artifacts.push(Artifact::data(
            "mail",
            email.clone(),
            message,
            &["email", role],
        ));
    }
    for ip in &walk.received_ips {
        let message = "sending host in the Received chain";
        artifacts.push(Artifact::data(
            "ip",
            ip.clone(),
            message,
            &["email", "received"],
        ));
    }
    for found in &walk.observables {
        let duplicate = artifacts.iter().any(|a| {
            a.data.as_deref() == Some(found.value.as_str()) && a.data_type == found.data_type
        });
        if !duplicate {
            let message = "found in the mail body or subject";
            artifacts.push(Artifact::data(
                found.data_type,
                found.value.clone(),
                message,
                &["email", "body"],
            ));
        }
    }
    artifacts.truncate(MAX_ARTIFACTS);
    // File artifacts need the job's output directory, which stdin mode does not have.
    let output = job.output_directory();
    for (index, (name, content_type, bytes)) in walk.files.drain(..).enumerate() {
        let sha256 = content::hashes(&bytes).sha256;
        let message = format!("SHA-256 of attachment {name}");
        artifacts.push(Artifact::data(
            "hash",
            sha256,
            message,
            &["email", "attachment"],
        ));
        if let Some(output) = &output {
            let stored = format!("attachment-{index}");
            let mut artifact = Artifact::file(
                output,
                &stored,
                &name,
                content_type.as_deref(),
                &bytes,
                "attachment of the mail",
            )?;
            artifact.tags = vec!["email".into(), "attachment".into()];
            artifacts.push(artifact);
        }
    }
    Ok(artifacts)
}
