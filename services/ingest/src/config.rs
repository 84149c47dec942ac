//! The ingest configuration: Skep's TOML (one `[[mailboxes]]` table per mailbox plus `[cases]`)
//! or an existing `imap2thehive.conf` read as is ([`crate::ini`] turns it into the same types).
//!
//! Everything is checked here, once, before any connection: regexes compile, the whitelist
//! file reads, TLS settings make sense. A failure is a [`ConfigError`] (exit code 1).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use regex::Regex;
use serde::Deserialize;

/// A configuration that cannot be used, with the key or file to fix.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

impl ConfigError {
    pub(crate) fn new(message: impl Into<String>) -> ConfigError {
        ConfigError(message.into())
    }
}

/// The whole ingest configuration (Skep TOML).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngestConfig {
    /// The cases service.
    pub cases: CasesTarget,
    /// Daemon and pipeline settings.
    #[serde(default)]
    pub ingest: IngestSettings,
    /// The mailboxes to read.
    pub mailboxes: Vec<MailboxConfig>,
}

/// Where cases and alerts go.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CasesTarget {
    /// Base URL of the cases service (or TheHive 3), e.g. `http://127.0.0.1:9000`.
    pub url: String,
    /// API key, sent as `Authorization: Bearer <key>`.
    pub key: String,
    /// Seconds one request may take.
    #[serde(default = "default_request_timeout")]
    pub timeout_secs: u64,
}

fn default_request_timeout() -> u64 {
    30
}

/// Pipeline and daemon settings (`[ingest]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IngestSettings {
    /// Messages fetched per `UID FETCH`.
    pub batch_size: usize,
    /// Mails whose creation is in flight at once.
    pub concurrency: usize,
    /// Seconds between polls when the server has no IDLE (and the longest IDLE wait).
    pub poll_interval_secs: u64,
    /// First retry delay when a server is unreachable; doubles up to `retry_max_secs`.
    pub retry_initial_ms: u64,
    /// Longest delay between retries.
    pub retry_max_secs: u64,
    /// With `--once`: how long to keep retrying an unreachable server before exit code 3.
    pub give_up_after_secs: u64,
    /// Daemon mode: `host:port` serving `GET /metrics`; empty turns it off.
    pub metrics_listen: String,
}

impl Default for IngestSettings {
    fn default() -> IngestSettings {
        IngestSettings {
            batch_size: 50,
            concurrency: 8,
            poll_interval_secs: 60,
            retry_initial_ms: 500,
            retry_max_secs: 60,
            give_up_after_secs: 60,
            metrics_listen: "127.0.0.1:9102".into(),
        }
    }
}

impl IngestSettings {
    /// The delay before retry number `attempt` (0-based): exponential, capped.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let initial = self.retry_initial_ms.max(1);
        let ms = initial.saturating_mul(1u64 << attempt.min(20));
        Duration::from_millis(ms.min(self.retry_max_secs.max(1) * 1000))
    }
}

/// How the IMAP connection is secured.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// TLS from the first byte (port 993; imap2thehive's only mode).
    #[default]
    Implicit,
    /// Plain connection upgraded with `STARTTLS` before login.
    Starttls,
    /// No TLS at all: refused unless `allow_plaintext = true`.
    Plain,
}

/// What happens to a mail once the cases service confirmed it.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum AfterImport {
    /// Set `\Seen` (imap2thehive's default).
    #[default]
    Seen,
    /// Move to `move_to`.
    Move,
    /// Set `\Deleted` and expunge it (imap2thehive's `expunge`).
    Delete,
}

/// One mailbox (`[[mailboxes]]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailboxConfig {
    /// Name in logs and metrics (default: `user@host/folder`).
    #[serde(default)]
    pub name: String,
    /// IMAP server.
    pub host: String,
    /// Port (default 993 for implicit TLS, else 143).
    #[serde(default)]
    pub port: Option<u16>,
    /// `implicit` (default), `starttls` or `plain`.
    #[serde(default)]
    pub tls: TlsMode,
    /// Must be true for `tls = "plain"`: the password would cross the network in clear.
    #[serde(default)]
    pub allow_plaintext: bool,
    /// PEM file of the CA(s) to trust (else `SSL_CERT_FILE`, else the public web roots).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// False turns certificate verification off (a warning is logged at each connection).
    #[serde(default = "yes")]
    pub tls_verify: bool,
    /// Login.
    pub user: String,
    /// Password.
    pub password: String,
    /// Folder to read.
    #[serde(default = "default_folder")]
    pub folder: String,
    /// `seen` (default), `move` or `delete`.
    #[serde(default)]
    pub after: AfterImport,
    /// Destination folder for `after = "move"`.
    #[serde(default)]
    pub move_to: Option<String>,
    /// Regex over the header block (multi-line): a match adds the `spam` tag.
    #[serde(default)]
    pub spam: Option<String>,
    /// Tag added to spam mails.
    #[serde(default = "default_spam_tag")]
    pub spam_tag: String,
    /// Extract observables from headers and bodies.
    #[serde(default = "yes")]
    pub observables: bool,
    /// Whitelist file (one regex per line, imap2thehive's format).
    #[serde(default)]
    pub whitelist: Option<PathBuf>,
    /// Attach the original message as a `.eml` file observable.
    #[serde(default = "yes")]
    pub attach_eml: bool,
    /// Mails larger than this are not parsed: a case says so (headers only).
    #[serde(default = "default_max_message")]
    pub max_message_bytes: u64,
    /// Attachments larger than this are not uploaded (the case lists them).
    #[serde(default = "default_max_attachment")]
    pub max_attachment_bytes: u64,
    /// Alert settings.
    #[serde(default)]
    pub alert: AlertSettings,
    /// Case settings.
    #[serde(default)]
    pub case: CaseSettings,
    /// Extra observable types: data type → regex (first group, or the whole match).
    #[serde(default)]
    pub custom_observables: BTreeMap<String, String>,
}

fn yes() -> bool {
    true
}
fn default_folder() -> String {
    "INBOX".into()
}
fn default_spam_tag() -> String {
    "spam".into()
}
fn default_max_message() -> u64 {
    25 * 1024 * 1024
}
fn default_max_attachment() -> u64 {
    10 * 1024 * 1024
}

/// `[mailboxes.alert]`: when a mail becomes an alert, and what the alert carries.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertSettings {
    /// Regex searched in the subject; a match makes an alert (default `\[ALERT\]`).
    pub keywords: String,
    /// TLP (0–3).
    pub tlp: u8,
    /// Severity (1–4).
    pub severity: u8,
    /// Tags.
    pub tags: Vec<String>,
    /// Alert `type`.
    #[serde(rename = "type")]
    pub alert_type: String,
    /// Case template applied when the alert is imported.
    pub template: Option<String>,
}

impl Default for AlertSettings {
    fn default() -> AlertSettings {
        AlertSettings {
            keywords: r"\[ALERT\]".into(),
            tlp: 2,
            severity: 2,
            tags: Vec::new(),
            alert_type: "external".into(),
            template: None,
        }
    }
}

/// `[mailboxes.case]`: what a case carries.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CaseSettings {
    /// TLP (0–3).
    pub tlp: u8,
    /// PAP (0–3).
    pub pap: u8,
    /// Severity (1–4).
    pub severity: u8,
    /// Tags.
    pub tags: Vec<String>,
    /// Task titles (ignored when a template is set).
    pub tasks: Vec<String>,
    /// Case template name.
    pub template: Option<String>,
    /// MIME types of attachments kept as file observables; absent = all, empty = none.
    pub files: Option<Vec<String>>,
}

impl Default for CaseSettings {
    fn default() -> CaseSettings {
        CaseSettings {
            tlp: 2,
            pap: 2,
            severity: 2,
            tags: Vec::new(),
            tasks: Vec::new(),
            template: None,
            files: None,
        }
    }
}

/// A configuration as read, with the warnings reading it produced (unsupported keys).
#[derive(Debug)]
pub struct Loaded {
    /// The configuration.
    pub config: IngestConfig,
    /// Things the operator should know (each is logged as a warning).
    pub warnings: Vec<String>,
}

/// Reads `path`: an imap2thehive INI file when it has an `[imap]` section, else Skep TOML.
pub fn load(path: &Path) -> Result<Loaded, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| ConfigError::new(format!("cannot read {}: {error}", path.display())))?;
    let base = path.parent().unwrap_or(Path::new("."));
    let loaded = if crate::ini::looks_like_imap2thehive(&text) {
        crate::ini::convert(&text)?
    } else {
        let config: IngestConfig = toml::from_str(&text)
            .map_err(|error| ConfigError::new(format!("{}: {error}", path.display())))?;
        Loaded {
            config,
            warnings: Vec::new(),
        }
    };
    let mut loaded = loaded;
    resolve_paths(&mut loaded.config, base);
    validate(&loaded.config)?;
    Ok(loaded)
}

/// Relative `whitelist` and `ca_file` paths are read from the configuration file's folder.
fn resolve_paths(config: &mut IngestConfig, base: &Path) {
    for mailbox in &mut config.mailboxes {
        for path in [&mut mailbox.whitelist, &mut mailbox.ca_file]
            .into_iter()
            .flatten()
        {
            if path.is_relative() {
                *path = base.join(&*path);
            }
        }
    }
}

/// Checks what serde cannot: URLs, ranges, regexes, the whitelist file, TLS choices.
pub fn validate(config: &IngestConfig) -> Result<(), ConfigError> {
    skep_config::validate_url("cases.url", &config.cases.url)
        .map_err(|error| ConfigError::new(error.to_string()))?;
    if config.cases.key.trim().is_empty() {
        return Err(ConfigError::new("cases.key is empty (set the API key)"));
    }
    if config.mailboxes.is_empty() {
        return Err(ConfigError::new("no [[mailboxes]] configured"));
    }
    if config.ingest.batch_size == 0 || config.ingest.concurrency == 0 {
        return Err(ConfigError::new(
            "ingest.batch_size and ingest.concurrency must be at least 1",
        ));
    }
    for mailbox in &config.mailboxes {
        let at = mailbox.display_name();
        if mailbox.tls == TlsMode::Plain && !mailbox.allow_plaintext {
            return Err(ConfigError::new(format!(
                "mailbox {at}: tls = \"plain\" sends the password in clear; set allow_plaintext = true to accept that"
            )));
        }
        if mailbox.after == AfterImport::Move && mailbox.move_to.as_deref().unwrap_or("").is_empty()
        {
            return Err(ConfigError::new(format!(
                "mailbox {at}: after = \"move\" needs move_to"
            )));
        }
        for (key, value, max) in [
            ("alert.tlp", mailbox.alert.tlp, 3),
            ("case.tlp", mailbox.case.tlp, 3),
            ("case.pap", mailbox.case.pap, 3),
        ] {
            if value > max {
                return Err(ConfigError::new(format!(
                    "mailbox {at}: {key} = {value} (0 to {max})"
                )));
            }
        }
        for (key, value) in [
            ("alert.severity", mailbox.alert.severity),
            ("case.severity", mailbox.case.severity),
        ] {
            if !(1..=4).contains(&value) {
                return Err(ConfigError::new(format!(
                    "mailbox {at}: {key} = {value} (1 to 4)"
                )));
            }
        }
        MailboxRules::compile(mailbox)?;
    }
    Ok(())
}

impl MailboxConfig {
    /// The name used in logs and metrics.
    pub fn display_name(&self) -> String {
        if self.name.is_empty() {
            format!("{}@{}/{}", self.user, self.host, self.folder)
        } else {
            self.name.clone()
        }
    }

    /// The port, defaulted by TLS mode.
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(match self.tls {
            TlsMode::Implicit => 993,
            _ => 143,
        })
    }
}

/// The compiled regexes and whitelist of one mailbox.
#[derive(Debug, Clone)]
pub struct MailboxRules {
    /// Subject keywords (alert selection).
    pub keywords: Regex,
    /// Spam header pattern.
    pub spam: Option<Regex>,
    /// Custom observable types.
    pub custom: Vec<(String, Regex)>,
    /// Whitelist entries.
    pub whitelist: Vec<Regex>,
}

impl MailboxRules {
    /// Compiles a mailbox's regexes and reads its whitelist file.
    pub fn compile(mailbox: &MailboxConfig) -> Result<MailboxRules, ConfigError> {
        let at = mailbox.display_name();
        let regex = |key: &str, pattern: &str, flags: &str| {
            Regex::new(&format!("{flags}{pattern}")).map_err(|error| {
                ConfigError::new(format!("mailbox {at}: {key} is not a valid regex: {error}"))
            })
        };
        let keywords = regex("alert.keywords", &mailbox.alert.keywords, "")?;
        let spam = match mailbox.spam.as_deref().filter(|s| !s.is_empty()) {
            Some(pattern) => Some(regex("spam", pattern, "(?m)")?),
            None => None,
        };
        let mut custom = Vec::new();
        for (data_type, pattern) in &mailbox.custom_observables {
            custom.push((
                data_type.clone(),
                regex(&format!("custom_observables.{data_type}"), pattern, "(?im)")?,
            ));
        }
        let whitelist = match &mailbox.whitelist {
            Some(path) => read_whitelist(path)?,
            None => Vec::new(),
        };
        Ok(MailboxRules {
            keywords,
            spam,
            custom,
            whitelist,
        })
    }
}

/// Reads a whitelist file: one regex per line (matched case-insensitively anywhere in the
/// value); empty lines and lines starting with `#` are skipped.
pub fn read_whitelist(path: &Path) -> Result<Vec<Regex>, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|error| {
        ConfigError::new(format!("cannot read whitelist {}: {error}", path.display()))
    })?;
    parse_whitelist(&text).map_err(|(line, error)| {
        ConfigError::new(format!(
            "whitelist {} line {line}: not a valid regex: {error}",
            path.display()
        ))
    })
}

/// Parses whitelist text; on error, the 1-based line number and the regex error.
pub fn parse_whitelist(text: &str) -> Result<Vec<Regex>, (usize, regex::Error)> {
    let mut entries = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        entries.push(Regex::new(&format!("(?i){line}")).map_err(|error| (index + 1, error))?);
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minimal() -> &'static str {
        r#"
[cases]
url = "http://127.0.0.1:9000"
key = "k"

[[mailboxes]]
host = "imap.example.org"
user = "soc"
password = "pw"
"#
    }

    #[test]
    fn a_minimal_toml_gets_the_defaults() {
        let config: IngestConfig = toml::from_str(minimal()).unwrap();
        validate(&config).unwrap();
        let mailbox = &config.mailboxes[0];
        assert_eq!(mailbox.tls, TlsMode::Implicit);
        assert_eq!(mailbox.port(), 993);
        assert_eq!(mailbox.folder, "INBOX");
        assert_eq!(mailbox.after, AfterImport::Seen);
        assert!(mailbox.tls_verify);
        assert_eq!(mailbox.alert.keywords, r"\[ALERT\]");
        assert_eq!(mailbox.display_name(), "soc@imap.example.org/INBOX");
    }

    #[test]
    fn plain_imap_needs_an_explicit_allowance() {
        let text = format!("{}tls = \"plain\"\n", minimal());
        let config: IngestConfig = toml::from_str(&text).unwrap();
        let error = validate(&config).unwrap_err().to_string();
        assert!(error.contains("allow_plaintext"), "{error}");
        let text = format!("{}tls = \"plain\"\nallow_plaintext = true\n", minimal());
        let config: IngestConfig = toml::from_str(&text).unwrap();
        validate(&config).unwrap();
        assert_eq!(config.mailboxes[0].port(), 143);
    }

    #[test]
    fn bad_regexes_and_ranges_are_configuration_errors() {
        let text = format!("{}spam = \"(unclosed\"\n", minimal());
        let config: IngestConfig = toml::from_str(&text).unwrap();
        assert!(validate(&config).unwrap_err().to_string().contains("spam"));
        let text = format!("{}[mailboxes.case]\ntlp = 7\n", minimal());
        let config: IngestConfig = toml::from_str(&text).unwrap();
        assert!(
            validate(&config)
                .unwrap_err()
                .to_string()
                .contains("case.tlp")
        );
    }

    #[test]
    fn unknown_toml_keys_are_refused() {
        let text = format!("{}colour = \"red\"\n", minimal());
        assert!(toml::from_str::<IngestConfig>(&text).is_err());
    }

    #[test]
    fn whitelist_lines_are_case_insensitive_substring_regexes() {
        let list =
            parse_whitelist("# comment\n\n192\\.168\\.\\d+\\.\\d+\n\\.rootshell\\.be\n").unwrap();
        assert_eq!(list.len(), 2);
        assert!(list[0].is_match("192.168.1.10"));
        assert!(list[1].is_match("www.ROOTSHELL.be"));
        assert!(!list[1].is_match("rootshell.be"));
        assert_eq!(parse_whitelist("ok\n(bad\n").unwrap_err().0, 2);
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let settings = IngestSettings {
            retry_initial_ms: 100,
            retry_max_secs: 1,
            ..IngestSettings::default()
        };
        assert_eq!(settings.backoff(0), Duration::from_millis(100));
        assert_eq!(settings.backoff(2), Duration::from_millis(400));
        assert_eq!(settings.backoff(10), Duration::from_secs(1));
    }
}
