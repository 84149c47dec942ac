//! The Mailer responder: mails a case, task, alert or observable to the address found in its
//! `mail:` tags, a `mail` observable, or a task's `mailto:` line, over SMTP.

use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{Message, SmtpTransport, Transport};
use serde_json::{Value, json};

use crate::error::{WorkerError, chain};
use crate::job::{Config, Job};
use crate::report::{Operation, ResponderReport, object};

/// The tag added to the case, alert or observable once the mail is sent.
pub const SENT_TAG: &str = "mail sent";

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// Plain text (local relays only; credentials are refused in this mode).
    None,
    /// Plain connection upgraded with STARTTLS, which is required.
    StartTls,
    /// TLS from the first byte (SMTPS, usually port 465).
    Tls,
}

/// Where and how to send, from the job's configuration.
#[derive(Debug)]
struct SmtpSettings {
    from: Mailbox,
    host: String,
    port: u16,
    tls: TlsMode,
    credentials: Option<(String, String)>,
    ca_file: Option<String>,
    timeout: Duration,
}

impl SmtpSettings {
    fn from_config(config: Config<'_>) -> Result<Self, WorkerError> {
        let from_text = config.required_string("from", "the sender address of the mails")?;
        let from = from_text
            .parse::<Mailbox>()
            .map_err(|e| WorkerError::InvalidConfig {
                name: "from",
                reason: format!("`{from_text}` is not a mail address: {e}"),
            })?;
        let tls = match config
            .string("tls")
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("none") => TlsMode::None,
            Some("starttls") => TlsMode::StartTls,
            Some("tls") | Some("ssl") => TlsMode::Tls,
            Some(other) => {
                return Err(WorkerError::InvalidConfig {
                    name: "tls",
                    reason: format!("`{other}` is not one of none, starttls, tls"),
                });
            }
        };
        let credentials = match (config.string("smtp_user"), config.string("smtp_pwd")) {
            (Some(user), Some(password)) => Some((user, password)),
            (None, None) => None,
            _ => {
                return Err(WorkerError::InvalidConfig {
                    name: "smtp_user",
                    reason: "set both smtp_user and smtp_pwd, or neither".into(),
                });
            }
        };
        if credentials.is_some() && tls == TlsMode::None {
            return Err(WorkerError::InvalidConfig {
                name: "tls",
                reason: "refusing to send the SMTP password over a plain connection; set tls to starttls or tls".into(),
            });
        }
        let port = config.integer_in("smtp_port", 25, 1..=65_535)?;
        Ok(Self {
            from,
            host: config
                .string("smtp_host")
                .unwrap_or_else(|| "localhost".into()),
            port: u16::try_from(port).unwrap_or(25),
            tls,
            credentials,
            ca_file: config.string("ca_file"),
            timeout: Duration::from_secs(config.integer_in("timeout", 30, 1..=600)?.unsigned_abs()),
        })
    }

    /// The transport to the checked address of `smtp_host` (resolved once, so the name cannot
    /// resolve elsewhere when connecting); TLS still verifies the host name.
    fn transport(&self) -> Result<SmtpTransport, WorkerError> {
        let addresses = crate::outbound::Outbound::from_environment().resolve(
            "smtp_host",
            &self.host,
            self.port,
        )?;
        let server = addresses
            .first()
            .map_or_else(|| self.host.clone(), |address| address.ip().to_string());
        let mut builder = SmtpTransport::builder_dangerous(server)
            .port(self.port)
            .timeout(Some(self.timeout));
        builder = match self.tls {
            TlsMode::None => builder.tls(Tls::None),
            TlsMode::StartTls => builder.tls(Tls::Required(self.tls_parameters()?)),
            TlsMode::Tls => builder.tls(Tls::Wrapper(self.tls_parameters()?)),
        };
        if let Some((user, password)) = &self.credentials {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        Ok(builder.build())
    }

    fn tls_parameters(&self) -> Result<TlsParameters, WorkerError> {
        let mut builder = TlsParameters::builder(self.host.clone());
        if let Some(path) = &self.ca_file {
            let pem = std::fs::read(path)
                .map_err(|e| WorkerError::io(format!("cannot read ca_file {path}"), e))?;
            let certificate =
                Certificate::from_pem(&pem).map_err(|e| WorkerError::InvalidConfig {
                    name: "ca_file",
                    reason: chain(&e),
                })?;
            builder = builder.add_root_certificate(certificate);
        }
        builder
            .build_rustls()
            .map_err(|e| WorkerError::InvalidConfig {
                name: "tls",
                reason: format!("cannot set up TLS: {}", chain(&e)),
            })
    }
}

/// The mail to send, derived from the TheHive entity.
#[derive(Debug, PartialEq, Eq)]
pub struct Letter {
    /// The recipient's address.
    pub recipient: String,
    /// The subject line.
    pub subject: String,
    /// The body, Markdown as TheHive stores it.
    pub body: String,
    /// The operation type that tags the entity (`AddTagToCase`…).
    pub tag_operation: &'static str,
}

/// Sends the mail for the job's entity.
pub fn respond(job: &Job) -> Result<ResponderReport, WorkerError> {
    let data_type = job.data_type()?;
    let entity = job.data_entity()?;
    let letter = compose(data_type, &entity)?;
    let settings = SmtpSettings::from_config(job.config())?;
    let recipient = letter.recipient.parse::<Mailbox>().map_err(|e| {
        WorkerError::InvalidData(format!(
            "recipient `{}` is not a mail address: {e}",
            letter.recipient
        ))
    })?;
    let message = Message::builder()
        .from(settings.from.clone())
        .to(recipient)
        .subject(letter.subject.clone())
        .date_now()
        .message_id(None)
        .multipart(MultiPart::alternative_plain_html(
            letter.body.clone(),
            markdown_to_html(&letter.body),
        ))
        .map_err(|e| WorkerError::InvalidData(format!("cannot build the mail: {e}")))?;
    settings.transport()?.send(&message).map_err(|e| {
        WorkerError::Smtp(format!(
            "cannot send the mail through {}:{}: {}",
            settings.host,
            settings.port,
            chain(&e)
        ))
    })?;
    Ok(ResponderReport {
        full: object(json!({
            "message": format!("message sent to {}", letter.recipient),
            "recipient": letter.recipient,
            "subject": letter.subject,
        })),
        operations: vec![Operation::add_tag(letter.tag_operation, SENT_TAG)],
    })
}

fn text_field<'a>(entity: &'a Value, name: &str) -> Option<&'a str> {
    entity
        .get(name)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|text| !text.is_empty())
}

/// The last `mail:<address>` or `mail=<address>` tag.
fn recipient_from_tags(entity: &Value) -> Option<String> {
    entity
        .get("tags")?
        .as_array()?
        .iter()
        .filter_map(Value::as_str)
        .filter_map(|tag| {
            tag.strip_prefix("mail:")
                .or_else(|| tag.strip_prefix("mail="))
        })
        .map(str::trim)
        .rfind(|address| !address.is_empty())
        .map(str::to_owned)
}

/// The last `mail` observable: an alert's `artifacts`, or the observable itself.
fn recipient_from_observables(entity: &Value) -> Option<String> {
    if entity.get("dataType").and_then(Value::as_str) == Some("mail") {
        return text_field(entity, "data").map(str::to_owned);
    }
    entity
        .get("artifacts")?
        .as_array()?
        .iter()
        .filter(|artifact| artifact.get("dataType").and_then(Value::as_str) == Some("mail"))
        .filter_map(|artifact| text_field(artifact, "data"))
        .next_back()
        .map(str::to_owned)
}

/// `mailto:<address>` (or `mailto=`) on the first line of a description.
fn recipient_from_description(description: &str) -> Option<String> {
    let first = description.lines().next()?.trim();
    let position = first.find("mailto:").or_else(|| first.find("mailto="))?;
    let address = first[position + "mailto:".len()..].trim();
    Some(address.to_owned()).filter(|address| !address.is_empty())
}

fn case_prefix(case_number: Option<&Value>) -> String {
    match case_number.and_then(Value::as_i64) {
        Some(number) => format!("[Case #{number}] "),
        None => String::new(),
    }
}

/// Works out recipient, subject and body for a TheHive entity.
pub fn compose(data_type: &str, entity: &Value) -> Result<Letter, WorkerError> {
    let description = text_field(entity, "description").unwrap_or_default();
    let missing_title = || WorkerError::InvalidData("title is missing".into());
    let not_found = || {
        WorkerError::InvalidData(
            "recipient address not found: add a `mail:<address>` tag, a `mail` observable, or a first description line `mailto:<address>`".into(),
        )
    };
    let tagged = || recipient_from_tags(entity).or_else(|| recipient_from_observables(entity));
    match data_type {
        "thehive:case" => Ok(Letter {
            recipient: tagged()
                .or_else(|| recipient_from_description(description))
                .ok_or_else(not_found)?,
            subject: format!(
                "{}{}",
                case_prefix(entity.get("caseId")),
                text_field(entity, "title").ok_or_else(missing_title)?
            ),
            body: description.to_owned(),
            tag_operation: "AddTagToCase",
        }),
        "thehive:alert" => Ok(Letter {
            recipient: tagged()
                .or_else(|| recipient_from_description(description))
                .ok_or_else(not_found)?,
            subject: text_field(entity, "title")
                .ok_or_else(missing_title)?
                .to_owned(),
            body: description.to_owned(),
            tag_operation: "AddTagToAlert",
        }),
        "thehive:case_task" | "thehive:task" => {
            let title = text_field(entity, "title").ok_or_else(missing_title)?;
            let (recipient, body) = match tagged() {
                Some(recipient) => (recipient, description.to_owned()),
                None => {
                    let recipient =
                        recipient_from_description(description).ok_or_else(not_found)?;
                    let rest = description
                        .split_once('\n')
                        .map_or("", |(_, rest)| rest)
                        .trim()
                        .to_owned();
                    (recipient, rest)
                }
            };
            Ok(Letter {
                recipient,
                subject: format!("{}{title}", case_prefix(entity.pointer("/case/caseId"))),
                body,
                tag_operation: "AddTagToCase",
            })
        }
        "thehive:case_artifact" => {
            let observable = text_field(entity, "data")
                .or_else(|| entity.pointer("/attachment/name").and_then(Value::as_str))
                .unwrap_or("(no data)");
            let kind = text_field(entity, "dataType").unwrap_or("observable");
            let recipient = recipient_from_tags(entity)
                .or_else(|| recipient_from_observables(entity))
                .or_else(|| entity.get("case").and_then(recipient_from_tags))
                .ok_or_else(not_found)?;
            Ok(Letter {
                recipient,
                subject: format!(
                    "{}Observable {kind}: {observable}",
                    case_prefix(entity.pointer("/case/caseId"))
                ),
                body: text_field(entity, "message").unwrap_or_default().to_owned(),
                tag_operation: "AddTagToArtifact",
            })
        }
        other => Err(WorkerError::UnsupportedDataType {
            data_type: other.into(),
            supported: "thehive:case, thehive:case_task, thehive:alert, thehive:case_artifact",
        }),
    }
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Bold, inline code and `[text](http…)` links inside one escaped line.
fn inline_markdown(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    let mut bold = false;
    let mut code = false;
    while let Some(position) = rest.find(['*', '`', '[']) {
        out.push_str(&rest[..position]);
        let tail = &rest[position..];
        if let Some(after) = tail.strip_prefix("**") {
            out.push_str(if bold { "</strong>" } else { "<strong>" });
            bold = !bold;
            rest = after;
        } else if let Some(after) = tail.strip_prefix('`') {
            out.push_str(if code { "</code>" } else { "<code>" });
            code = !code;
            rest = after;
        } else if let Some((text, url, consumed)) = link(tail) {
            out.push_str(&format!("<a href=\"{url}\">{text}</a>"));
            rest = &tail[consumed..];
        } else {
            out.push_str(&tail[..1]);
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    if bold {
        out.push_str("</strong>");
    }
    if code {
        out.push_str("</code>");
    }
    out
}

fn link(tail: &str) -> Option<(&str, &str, usize)> {
    let close = tail.find("](")?;
    let end = close + 2 + tail[close + 2..].find(')')?;
    let text = &tail[1..close];
    let url = &tail[close + 2..end];
    (url.starts_with("http://") || url.starts_with("https://") || url.starts_with("mailto:"))
        .then_some((text, url, end + 1))
}

/// Renders the small Markdown subset TheHive descriptions use (headings, lists, code blocks,
/// bold, inline code, links, paragraphs) as HTML; everything else stays escaped text.
pub fn markdown_to_html(markdown: &str) -> String {
    let mut html = String::from("<html><body>\n");
    let mut paragraph: Vec<String> = Vec::new();
    let mut in_list = false;
    let mut in_code = false;
    let flush = |html: &mut String, paragraph: &mut Vec<String>| {
        if !paragraph.is_empty() {
            html.push_str(&format!("<p>{}</p>\n", paragraph.join("<br>\n")));
            paragraph.clear();
        }
    };
    for raw_line in markdown.lines() {
        let line = escape_html(raw_line);
        if raw_line.trim_start().starts_with("```") {
            flush(&mut html, &mut paragraph);
            html.push_str(if in_code { "</pre>\n" } else { "<pre>" });
            in_code = !in_code;
            continue;
        }
        if in_code {
            html.push_str(&line);
            html.push('\n');
            continue;
        }
        let trimmed = line.trim_start();
        let item = trimmed
            .strip_prefix("- ")
            .or_else(|| trimmed.strip_prefix("* "));
        if item.is_none() && in_list {
            html.push_str("</ul>\n");
            in_list = false;
        }
        let level = trimmed.chars().take_while(|c| *c == '#').count();
        if let Some(item) = item {
            flush(&mut html, &mut paragraph);
            if !in_list {
                html.push_str("<ul>\n");
                in_list = true;
            }
            html.push_str(&format!("<li>{}</li>\n", inline_markdown(item)));
        } else if (1..=6).contains(&level) && trimmed[level..].starts_with(' ') {
            flush(&mut html, &mut paragraph);
            html.push_str(&format!(
                "<h{level}>{}</h{level}>\n",
                inline_markdown(trimmed[level..].trim())
            ));
        } else if trimmed.is_empty() {
            flush(&mut html, &mut paragraph);
        } else {
            paragraph.push(inline_markdown(&line));
        }
    }
    flush(&mut html, &mut paragraph);
    if in_list {
        html.push_str("</ul>\n");
    }
    if in_code {
        html.push_str("</pre>\n");
    }
    html.push_str("</body></html>\n");
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_recipient_is_the_last_mail_tag() {
        let case = json!({"caseId": 7, "title": "Phish", "description": "d", "tags": ["mail:a@x.org", "x", "mail=b@x.org"]});

        let letter = compose("thehive:case", &case).unwrap();

        assert_eq!(letter.recipient, "b@x.org");
        assert_eq!(letter.subject, "[Case #7] Phish");
    }

    #[test]
    fn task_recipient_comes_from_the_mailto_line_which_leaves_the_body() {
        let task = json!({"title": "Ask user", "description": "mailto: user@corp.example\nPlease confirm."});

        let letter = compose("thehive:case_task", &task).unwrap();

        assert_eq!(
            (letter.recipient.as_str(), letter.body.as_str()),
            ("user@corp.example", "Please confirm.")
        );
    }

    #[test]
    fn alert_recipient_falls_back_to_a_mail_observable() {
        let alert = json!({"title": "t", "description": "d", "tags": [], "artifacts": [{"dataType": "mail", "data": "r@x.org"}]});

        assert_eq!(
            compose("thehive:alert", &alert).unwrap().recipient,
            "r@x.org"
        );
    }

    #[test]
    fn missing_recipient_is_reported() {
        let error =
            compose("thehive:case", &json!({"title": "t", "description": "d"})).unwrap_err();

        assert!(error.to_string().starts_with("recipient address not found"));
    }

    #[test]
    fn markdown_renders_headings_lists_bold_and_escapes_html() {
        let html = markdown_to_html(
            "# Title\n\n- **one**\n- two\n\n<script>x</script> [site](https://x.org)",
        );

        assert!(html.contains("<h1>Title</h1>"));
        assert!(html.contains("<li><strong>one</strong></li>"));
        assert!(html.contains("&lt;script&gt;"));
        assert!(html.contains("<a href=\"https://x.org\">site</a>"));
    }
}
