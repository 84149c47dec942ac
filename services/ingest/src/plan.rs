//! What one mail becomes: a case (default) or an alert (subject matches the keywords), with its
//! title, Markdown description, TLP/PAP/severity/tags/tasks/template, observables and files.
//! Pure: no I/O, so every rule here is unit-tested.
//!
//! The idempotency key ([`crate::message::Mail::key`]) is the alert `sourceRef` and, on cases,
//! the tag `ingest-key:<key>`: a re-run looks both up before creating anything.

use base64::Engine;
use serde_json::{Map, Value, json};

use crate::config::{MailboxConfig, MailboxRules};
use crate::extract::{self, Observable, Source};
use crate::message::Mail;

/// Prefix of the tag carrying a case's idempotency key.
pub const KEY_TAG_PREFIX: &str = "ingest-key:";

/// The key tag of a case.
pub fn key_tag(key: &str) -> String {
    format!("{KEY_TAG_PREFIX}{key}")
}

/// Case or alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `POST /api/case`, then its observables.
    Case,
    /// `POST /api/alert` with embedded artifacts.
    Alert,
}

/// A file observable to upload.
#[derive(Debug, Clone)]
pub struct FileObservable {
    /// File name.
    pub name: String,
    /// MIME type.
    pub mime: String,
    /// Content.
    pub content: Vec<u8>,
    /// `found:attachment` or `found:original-mail`.
    pub tags: Vec<String>,
    /// Observable message.
    pub message: String,
}

/// Everything the cases service gets for one mail.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Idempotency key.
    pub key: String,
    /// Case or alert.
    pub kind: Kind,
    /// The case or alert JSON (an alert's artifacts included).
    pub body: Map<String, Value>,
    /// TLP of the observables.
    pub tlp: u8,
    /// Value observables (cases: sent after the case).
    pub observables: Vec<Observable>,
    /// File observables (cases: sent after the case).
    pub files: Vec<FileObservable>,
    /// Subject, for logs.
    pub subject: String,
}

/// Builds the plan of a mail. `raw` is the whole message (attached as `.eml` when enabled);
/// `now_ms` stands in for a missing Date header.
pub fn plan(
    mail: &Mail,
    raw: Option<&[u8]>,
    mailbox: &MailboxConfig,
    rules: &MailboxRules,
    now_ms: i64,
) -> Plan {
    let is_alert = rules.keywords.is_match(&mail.subject);
    let kind = if is_alert { Kind::Alert } else { Kind::Case };
    let mut tags: Vec<String> = if is_alert {
        mailbox.alert.tags.clone()
    } else {
        mailbox.case.tags.clone()
    };
    let mut title = mail.subject.clone();
    if is_alert {
        for captures in rules.keywords.captures_iter(&mail.subject) {
            if let Some(found) = captures.get(1).or_else(|| captures.get(0)) {
                push_unique(&mut tags, found.as_str());
            }
        }
        title = rules.keywords.replace_all(&title, "").trim().to_owned();
    }
    if title.is_empty() {
        title = "(no subject)".into();
    }
    if rules
        .spam
        .as_ref()
        .is_some_and(|spam| spam.is_match(&mail.header_block))
    {
        push_unique(&mut tags, &mailbox.spam_tag);
    }
    for problem in &mail.problems {
        push_unique(&mut tags, problem.tag());
    }
    push_unique(&mut tags, &key_tag(&mail.key));

    let sources: Vec<Source<'_>> = mail
        .scan
        .iter()
        .map(|(origin, text)| Source { origin, text })
        .collect();
    let observables = extract::extract(
        &sources,
        mailbox.observables,
        &rules.custom,
        &rules.whitelist,
    );
    let (files, skipped) = files(mail, raw, mailbox, &title);
    let description = describe(mail, &skipped);
    let date = mail.date_ms.unwrap_or(now_ms);
    let tlp = if is_alert {
        mailbox.alert.tlp
    } else {
        mailbox.case.tlp
    };

    let body = if is_alert {
        let mut artifacts: Vec<Value> = observables
            .iter()
            .map(|observable| {
                json!({
                    "dataType": observable.data_type,
                    "data": observable.data,
                    "tlp": tlp,
                    "tags": observable.tags,
                    "message": found_message(&observable.tags),
                    "ioc": false,
                    "sighted": false,
                })
            })
            .collect();
        for file in &files {
            let encoded = base64::engine::general_purpose::STANDARD.encode(&file.content);
            artifacts.push(json!({
                "dataType": "file",
                "data": format!("{};{};{}", file.name, file.mime, encoded),
                "tlp": tlp,
                "tags": file.tags,
                "message": file.message,
                "ioc": false,
                "sighted": false,
            }));
        }
        let mut body = json!({
            "title": title,
            "description": description,
            "type": mailbox.alert.alert_type,
            "source": mail.from.clone().unwrap_or_else(|| "unknown sender".into()),
            "sourceRef": mail.key,
            "severity": mailbox.alert.severity,
            "tlp": tlp,
            "date": date,
            "tags": tags,
            "artifacts": artifacts,
        });
        if let Some(template) = &mailbox.alert.template {
            body["caseTemplate"] = json!(template);
        }
        body
    } else {
        let mut body = json!({
            "title": title,
            "description": description,
            "tlp": tlp,
            "pap": mailbox.case.pap,
            "severity": mailbox.case.severity,
            "flag": false,
            "startDate": date,
            "tags": tags,
        });
        match &mailbox.case.template {
            Some(template) => body["template"] = json!(template),
            None if !mailbox.case.tasks.is_empty() => {
                body["tasks"] = mailbox
                    .case
                    .tasks
                    .iter()
                    .enumerate()
                    .map(|(order, title)| json!({"title": title, "order": order}))
                    .collect();
            }
            None => {}
        }
        body
    };
    let Value::Object(body) = body else {
        unreachable!("json! of an object literal is an object")
    };
    let (observables, files) = if is_alert {
        // An alert carries them inside its JSON.
        (Vec::new(), Vec::new())
    } else {
        (observables, files)
    };
    Plan {
        key: mail.key.clone(),
        kind,
        body,
        tlp,
        observables,
        files,
        subject: mail.subject.clone(),
    }
}

fn push_unique(tags: &mut Vec<String>, tag: &str) {
    if !tag.is_empty() && !tags.iter().any(|existing| existing == tag) {
        tags.push(tag.to_owned());
    }
}

/// "Found in header:from, body:html".
pub fn found_message(tags: &[String]) -> String {
    let places: Vec<&str> = tags
        .iter()
        .filter_map(|tag| tag.strip_prefix("found:"))
        .collect();
    format!("Found in {}", places.join(", "))
}

/// The file observables of a mail, and a line for each attachment left out.
fn files(
    mail: &Mail,
    raw: Option<&[u8]>,
    mailbox: &MailboxConfig,
    title: &str,
) -> (Vec<FileObservable>, Vec<String>) {
    let mut kept = Vec::new();
    let mut skipped = Vec::new();
    let limit = mailbox.max_attachment_bytes;
    for attachment in &mail.attachments {
        let size = attachment.content.len() as u64;
        let listed = mailbox.case.files.as_ref().is_none_or(|types| {
            types
                .iter()
                .any(|wanted| wanted.eq_ignore_ascii_case(&attachment.mime))
        });
        if !listed {
            skipped.push(format!(
                "{} ({}, {size} bytes): type not in the configured files",
                attachment.name, attachment.mime
            ));
        } else if size > limit {
            skipped.push(format!(
                "{} ({}, {size} bytes): over the attachment limit of {limit} bytes",
                attachment.name, attachment.mime
            ));
        } else {
            kept.push(FileObservable {
                name: attachment.name.clone(),
                mime: attachment.mime.clone(),
                content: attachment.content.clone(),
                tags: vec!["found:attachment".into()],
                message: "Found as email attachment".into(),
            });
        }
    }
    if mailbox.attach_eml
        && let Some(raw) = raw
    {
        let name = format!("{}.eml", crate::message::file_stem(title));
        if raw.len() as u64 <= limit {
            kept.push(FileObservable {
                name,
                mime: "message/rfc822".into(),
                content: raw.to_vec(),
                tags: vec!["found:original-mail".into()],
                message: "The original email".into(),
            });
        } else {
            skipped.push(format!(
                "{name} (the original mail, {} bytes): over the attachment limit of {limit} bytes",
                raw.len()
            ));
        }
    }
    (kept, skipped)
}

/// The description: the body, then a block of mail facts.
fn describe(mail: &Mail, skipped: &[String]) -> String {
    let mut text = String::new();
    if !mail.body.is_empty() {
        text.push_str(&mail.body);
        text.push_str("\n\n");
    }
    text.push_str("---\n");
    let mut line = |label: &str, value: &str| {
        text.push_str(&format!("**{label}:** {value}  \n"));
    };
    line("From", mail.from.as_deref().unwrap_or("(none)"));
    if let Some(id) = &mail.message_id {
        line("Message-ID", id);
    }
    if !mail.attachments.is_empty() {
        let names: Vec<String> = mail
            .attachments
            .iter()
            .map(|a| format!("{} ({})", a.name, a.mime))
            .collect();
        line("Attachments", &names.join(", "));
    }
    for item in skipped {
        line("Not uploaded", item);
    }
    for problem in &mail.problems {
        line("Reading problem", &problem.describe());
    }
    text.trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::IngestConfig;

    fn mailbox(extra: &str) -> (MailboxConfig, MailboxRules) {
        let text = format!(
            "[cases]\nurl = \"http://127.0.0.1:9000\"\nkey = \"k\"\n[[mailboxes]]\nhost = \"h\"\nuser = \"u\"\npassword = \"p\"\n{extra}"
        );
        let config: IngestConfig = toml::from_str(&text).unwrap();
        let mailbox = config.mailboxes[0].clone();
        let rules = MailboxRules::compile(&mailbox).unwrap();
        (mailbox, rules)
    }

    const RAW: &[u8] = b"From: Rep <rep@partner.net>\r\nSubject: [ALERT] Suspicious login\r\nMessage-ID: <m1@partner.net>\r\nX-Spam-Flag: YES\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nfrom 203.0.113.7\r\n--B\r\nContent-Type: application/pdf; name=a.pdf\r\nContent-Disposition: attachment; filename=a.pdf\r\n\r\n%PDF\r\n--B\r\nContent-Type: image/png; name=p.png\r\nContent-Disposition: attachment; filename=p.png\r\n\r\nPNG\r\n--B--\r\n";

    #[test]
    fn a_keyword_subject_becomes_an_alert_with_embedded_artifacts() {
        let (mailbox, rules) = mailbox(
            "spam = \"^X-Spam-Flag: YES\"\n[mailboxes.alert]\ntags = [\"email\"]\ntlp = 3\n[mailboxes.case]\nfiles = [\"application/pdf\"]\n",
        );
        let mail = crate::message::read(RAW);
        let plan = plan(&mail, Some(RAW), &mailbox, &rules, 0);
        assert_eq!(plan.kind, Kind::Alert);
        let body = Value::Object(plan.body);
        assert_eq!(body["title"], "Suspicious login");
        assert_eq!(body["sourceRef"], mail.key);
        assert_eq!(body["source"], "Rep <rep@partner.net>");
        assert_eq!(body["type"], "external");
        assert_eq!(body["tlp"], 3);
        let tags: Vec<&str> = body["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap())
            .collect();
        assert_eq!(
            tags,
            ["email", "[ALERT]", "spam", &key_tag(&mail.key) as &str]
        );
        let artifacts = body["artifacts"].as_array().unwrap();
        assert!(
            artifacts
                .iter()
                .any(|a| a["dataType"] == "ip" && a["data"] == "203.0.113.7")
        );
        let files: Vec<&str> = artifacts
            .iter()
            .filter(|a| a["dataType"] == "file")
            .map(|a| a["data"].as_str().unwrap().split(';').next().unwrap())
            .collect();
        assert_eq!(files, ["a.pdf", "Suspicious_login.eml"]);
        assert!(
            body["description"]
                .as_str()
                .unwrap()
                .contains("p.png (image/png, 3 bytes): type not in the configured files")
        );
    }

    #[test]
    fn other_subjects_become_cases_with_tasks_and_separate_observables() {
        let (mailbox, rules) = mailbox(
            "[mailboxes.case]\ntasks = [\"Investigation\", \"Tracking\"]\ntags = [\"email\"]\npap = 3\n",
        );
        let raw = b"From: a@b.org\r\nSubject: Re: [alert] lower case\r\n\r\nhello 198.51.100.1\r\n";
        let mail = crate::message::read(raw);
        let plan = plan(&mail, Some(raw), &mailbox, &rules, 7);
        assert_eq!(plan.kind, Kind::Case);
        let body = Value::Object(plan.body.clone());
        assert_eq!(body["title"], "Re: [alert] lower case");
        assert_eq!(body["pap"], 3);
        assert_eq!(body["startDate"], 7);
        assert_eq!(body["tasks"][1]["title"], "Tracking");
        assert!(
            body["tags"]
                .as_array()
                .unwrap()
                .contains(&json!(key_tag(&mail.key)))
        );
        assert!(
            plan.observables
                .iter()
                .any(|o| o.data_type == "ip" && o.data == "198.51.100.1")
        );
        assert_eq!(plan.files.len(), 1);
        assert_eq!(plan.files[0].mime, "message/rfc822");
    }

    #[test]
    fn a_template_replaces_the_tasks_and_problems_become_tags() {
        let (mailbox, rules) =
            mailbox("[mailboxes.case]\ntasks = [\"x\"]\ntemplate = \"Phishing\"\n");
        let raw = b"Subject: no sender\r\n\r\nbody\r\n";
        let mail = crate::message::read(raw);
        let plan = plan(&mail, Some(raw), &mailbox, &rules, 0);
        let body = Value::Object(plan.body);
        assert_eq!(body["template"], "Phishing");
        assert!(body.get("tasks").is_none());
        assert!(
            body["tags"]
                .as_array()
                .unwrap()
                .contains(&json!("ingest:no-from"))
        );
        assert!(
            body["description"]
                .as_str()
                .unwrap()
                .contains("the mail has no From header")
        );
    }
}
