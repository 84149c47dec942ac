//! Reads an existing `imap2thehive.conf` as is (Python `configparser` syntax) into an
//! [`IngestConfig`] with one mailbox.
//!
//! Supported: `[imap]` host/port/user/password/folder/expunge/spam, `[thehive]`
//! url/apikey/observables/whitelists, `[alert]` keywords/tlp/tags, `[case]`
//! tlp/tags/tasks/template/files, `[custom_observables]`. The logging sections are ignored
//! silently; any other section or key is named in a warning. Differences on purpose: list
//! values are trimmed (`email, x` is the tag `x`, not `" x"`), an empty `tasks:` means no task,
//! and the certificate is verified (imap2thehive never did) unless `[imap] tls_verify` says no.

use std::collections::BTreeMap;

use crate::config::{
    AfterImport, AlertSettings, CaseSettings, CasesTarget, ConfigError, IngestConfig,
    IngestSettings, Loaded, MailboxConfig, TlsMode,
};

/// Sections of `configparser`: section → (key → value), keys lowercased, in file order.
type Sections = Vec<(String, Vec<(String, String)>)>;

/// True when the text is an imap2thehive INI file (it has an `[imap]` section).
pub fn looks_like_imap2thehive(text: &str) -> bool {
    text.lines().any(|line| line.trim() == "[imap]")
}

/// Parses `configparser` text: `[section]`, `key: value` / `key = value`, `#`/`;` comments,
/// indented continuation lines, `%%` for a literal `%`.
pub fn parse(text: &str) -> Result<Sections, ConfigError> {
    let mut sections: Sections = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim_end_matches('\r');
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        if line.starts_with([' ', '\t']) {
            // Continuation of the previous value.
            let value = sections
                .last_mut()
                .and_then(|(_, keys)| keys.last_mut())
                .ok_or_else(|| {
                    ConfigError::new(format!("line {}: continuation without a key", index + 1))
                })?;
            value.1.push('\n');
            value.1.push_str(&unescape(trimmed));
            continue;
        }
        if let Some(name) = trimmed.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            sections.push((name.to_owned(), Vec::new()));
            continue;
        }
        let split = trimmed
            .find([':', '='])
            .ok_or_else(|| ConfigError::new(format!("line {}: expected key: value", index + 1)))?;
        let (key, value) = trimmed.split_at(split);
        let (_, keys) = sections.last_mut().ok_or_else(|| {
            ConfigError::new(format!("line {}: key outside any section", index + 1))
        })?;
        keys.push((
            key.trim().to_lowercase(),
            unescape(value[1..].trim()).to_owned(),
        ));
    }
    Ok(sections)
}

fn unescape(value: &str) -> String {
    value.replace("%%", "%")
}

fn is_logging_section(name: &str) -> bool {
    matches!(name, "loggers" | "handlers" | "formatters")
        || ["logger_", "handler_", "formatter_"]
            .iter()
            .any(|prefix| name.starts_with(prefix))
}

/// `1`, `true`, `yes` (as imap2thehive compares them).
fn truthy(value: &str) -> bool {
    matches!(value, "1" | "true" | "yes")
}

fn list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Turns imap2thehive's INI text into Skep's configuration.
pub fn convert(text: &str) -> Result<Loaded, ConfigError> {
    let sections = parse(text)?;
    let mut warnings = Vec::new();
    let mut values: BTreeMap<(String, String), String> = BTreeMap::new();
    let mut custom = BTreeMap::new();
    for (section, keys) in &sections {
        if is_logging_section(section) {
            continue;
        }
        let supported: &[&str] = match section.as_str() {
            "imap" => &[
                "host",
                "port",
                "user",
                "password",
                "folder",
                "expunge",
                "spam",
                "tls",
                "allow_plaintext",
                "ca_file",
                "tls_verify",
            ],
            "thehive" => &["url", "apikey", "observables", "whitelists"],
            "alert" => &["keywords", "tlp", "tags"],
            "case" => &["tlp", "tags", "tasks", "template", "files"],
            // Skep's own pipeline settings, optional.
            "ingest" => &[
                "batch_size",
                "concurrency",
                "poll_interval_secs",
                "retry_initial_ms",
                "retry_max_secs",
                "give_up_after_secs",
                "metrics_listen",
            ],
            "custom_observables" => {
                for (key, value) in keys {
                    custom.insert(key.clone(), value.clone());
                }
                continue;
            }
            _ => {
                warnings.push(format!(
                    "section [{section}] is not supported and is ignored"
                ));
                continue;
            }
        };
        for (key, value) in keys {
            if supported.contains(&key.as_str()) {
                values.insert((section.clone(), key.clone()), value.clone());
            } else {
                warnings.push(format!("[{section}] {key} is not supported and is ignored"));
            }
        }
    }
    let get = |section: &str, key: &str| values.get(&(section.to_owned(), key.to_owned()));
    let required = |section: &str, key: &str| {
        get(section, key)
            .cloned()
            .ok_or_else(|| ConfigError::new(format!("[{section}] {key} is required")))
    };
    let number = |section: &str, key: &str, default: u8| -> Result<u8, ConfigError> {
        match get(section, key) {
            None => Ok(default),
            Some(value) => value.trim().parse().map_err(|_| {
                ConfigError::new(format!("[{section}] {key} = {value:?} is not a number"))
            }),
        }
    };
    let port = match get("imap", "port") {
        None => None,
        Some(value) => Some(value.trim().parse::<u16>().map_err(|_| {
            ConfigError::new(format!("[imap] port = {value:?} is not a port number"))
        })?),
    };
    let tls = match get("imap", "tls").map(|v| v.to_lowercase()) {
        None => TlsMode::Implicit,
        Some(mode) => match mode.as_str() {
            "implicit" => TlsMode::Implicit,
            "starttls" => TlsMode::Starttls,
            "plain" => TlsMode::Plain,
            other => {
                return Err(ConfigError::new(format!(
                    "[imap] tls = {other:?} (implicit, starttls or plain)"
                )));
            }
        },
    };
    let mut alert = AlertSettings {
        tlp: number("alert", "tlp", 2)?,
        tags: get("alert", "tags").map(|v| list(v)).unwrap_or_default(),
        ..AlertSettings::default()
    };
    if let Some(keywords) = get("alert", "keywords").filter(|v| !v.is_empty()) {
        alert.keywords = keywords.clone();
    }
    let case = CaseSettings {
        tlp: number("case", "tlp", 2)?,
        tags: get("case", "tags").map(|v| list(v)).unwrap_or_default(),
        tasks: get("case", "tasks").map(|v| list(v)).unwrap_or_default(),
        template: get("case", "template").filter(|v| !v.is_empty()).cloned(),
        files: get("case", "files").map(|v| list(v)),
        ..CaseSettings::default()
    };
    if case.template.is_some() && !case.tasks.is_empty() {
        warnings.push("[case] tasks are ignored because a template is set".into());
    }
    let mailbox = MailboxConfig {
        name: String::new(),
        host: required("imap", "host")?,
        port,
        tls,
        allow_plaintext: get("imap", "allow_plaintext").is_some_and(|v| truthy(v)),
        ca_file: get("imap", "ca_file").map(Into::into),
        tls_verify: get("imap", "tls_verify").is_none_or(|v| truthy(v)),
        user: required("imap", "user")?,
        password: required("imap", "password")?,
        folder: required("imap", "folder")?,
        after: if get("imap", "expunge").is_some_and(|v| truthy(v)) {
            AfterImport::Delete
        } else {
            AfterImport::Seen
        },
        move_to: None,
        spam: get("imap", "spam").filter(|v| !v.is_empty()).cloned(),
        spam_tag: "spam".into(),
        observables: get("thehive", "observables").is_some_and(|v| truthy(v)),
        whitelist: get("thehive", "whitelists")
            .filter(|v| !v.is_empty())
            .map(Into::into),
        attach_eml: true,
        max_message_bytes: 25 * 1024 * 1024,
        max_attachment_bytes: 10 * 1024 * 1024,
        alert,
        case,
        custom_observables: custom,
    };
    let mut ingest = IngestSettings::default();
    let whole = |key: &str, default: u64| -> Result<u64, ConfigError> {
        match get("ingest", key) {
            None => Ok(default),
            Some(value) => value.trim().parse().map_err(|_| {
                ConfigError::new(format!("[ingest] {key} = {value:?} is not a number"))
            }),
        }
    };
    ingest.batch_size = whole("batch_size", ingest.batch_size as u64)? as usize;
    ingest.concurrency = whole("concurrency", ingest.concurrency as u64)? as usize;
    ingest.poll_interval_secs = whole("poll_interval_secs", ingest.poll_interval_secs)?;
    ingest.retry_initial_ms = whole("retry_initial_ms", ingest.retry_initial_ms)?;
    ingest.retry_max_secs = whole("retry_max_secs", ingest.retry_max_secs)?;
    ingest.give_up_after_secs = whole("give_up_after_secs", ingest.give_up_after_secs)?;
    if let Some(listen) = get("ingest", "metrics_listen") {
        ingest.metrics_listen = listen.clone();
    }
    let config = IngestConfig {
        cases: CasesTarget {
            url: required("thehive", "url")?,
            key: required("thehive", "apikey")?,
            timeout_secs: 30,
        },
        ingest,
        mailboxes: vec![mailbox],
    };
    Ok(Loaded { config, warnings })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
[imap]
host: imap.example.org
port: 10993
user: soc@example.org
password: s3cret
folder: thehive
expunge: true
spam: (X-Spam-Flag: YES)
idle_timeout: 30

[thehive]
url: http://127.0.0.1:9000
apikey: KEY
observables: yes
whitelists: /etc/imap2thehive.whitelists

[alert]
keywords: \\S*(ALERT|VTMIS)\\S*
tlp: 3
tags: email, imap

[case]
tlp: 1
tags: email,case
tasks: Investigation,Communication,
  Tracking
files: application/pdf

[custom_observables]
OSSEC_rule: Rule: (\\d+) fired \\(level

[loggers]
keys=root

[handler_file]
args=('/var/log/imap2thehive.log', 'w')

[misc]
x = 1
";

    #[test]
    fn an_imap2thehive_file_is_read_as_is() {
        assert!(looks_like_imap2thehive(SAMPLE));
        let Loaded {
            mut config,
            warnings,
        } = convert(SAMPLE).unwrap();
        assert_eq!(
            config.mailboxes[0].whitelist.as_deref(),
            Some(std::path::Path::new("/etc/imap2thehive.whitelists"))
        );
        config.mailboxes[0].whitelist = None;
        crate::config::validate(&config).unwrap();
        assert_eq!(config.cases.url, "http://127.0.0.1:9000");
        assert_eq!(config.cases.key, "KEY");
        let mailbox = &config.mailboxes[0];
        assert_eq!(mailbox.host, "imap.example.org");
        assert_eq!(mailbox.port(), 10993);
        assert_eq!(mailbox.tls, TlsMode::Implicit);
        assert!(mailbox.tls_verify);
        assert_eq!(mailbox.folder, "thehive");
        assert_eq!(mailbox.after, AfterImport::Delete);
        assert_eq!(mailbox.spam.as_deref(), Some("(X-Spam-Flag: YES)"));
        assert!(mailbox.observables);
        assert_eq!(mailbox.alert.keywords, r"\S*(ALERT|VTMIS)\S*");
        assert_eq!(mailbox.alert.tlp, 3);
        assert_eq!(mailbox.alert.tags, ["email", "imap"]);
        assert_eq!(mailbox.case.tlp, 1);
        assert_eq!(mailbox.case.tags, ["email", "case"]);
        assert_eq!(
            mailbox.case.tasks,
            ["Investigation", "Communication", "Tracking"]
        );
        assert_eq!(
            mailbox.case.files.as_deref(),
            Some(&["application/pdf".to_owned()][..])
        );
        assert_eq!(
            mailbox
                .custom_observables
                .get("ossec_rule")
                .map(String::as_str),
            Some(r"Rule: (\d+) fired \(level")
        );
        assert_eq!(
            warnings,
            [
                "[imap] idle_timeout is not supported and is ignored",
                "section [misc] is not supported and is ignored"
            ]
        );
    }

    #[test]
    fn missing_required_keys_and_bad_numbers_are_errors() {
        let error = convert("[imap]\nhost: h\n").unwrap_err().to_string();
        assert!(error.contains("[imap] user is required"), "{error}");
        let text = SAMPLE.replace("tlp: 3", "tlp: three");
        let error = convert(&text).unwrap_err().to_string();
        assert!(error.contains("[alert] tlp"), "{error}");
    }

    #[test]
    fn an_empty_files_key_keeps_no_attachment_and_a_missing_one_keeps_all() {
        let text = SAMPLE.replace("files: application/pdf", "files:");
        let config = convert(&text).unwrap().config;
        assert_eq!(config.mailboxes[0].case.files.as_deref(), Some(&[][..]));
        let text = SAMPLE.replace("files: application/pdf", "");
        let config = convert(&text).unwrap().config;
        assert_eq!(config.mailboxes[0].case.files, None);
    }

    #[test]
    fn expunge_is_true_only_for_python_truthy_words() {
        let text = SAMPLE.replace("expunge: true", "expunge: True");
        let config = convert(&text).unwrap().config;
        assert_eq!(config.mailboxes[0].after, AfterImport::Seen);
    }
}
