//! The observable-sanity analyzer: validates and normalises IP addresses, domains, URLs, mail
//! addresses and hashes, classifies IP ranges, and refangs defanged forms.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde_json::{Map, Value, json};

use crate::error::WorkerError;
use crate::extract::{refang, url_host};
use crate::job::Job;
use crate::report::{AnalyzerReport, Artifact, Level, Taxonomy};

const NAMESPACE: &str = "Sanity";

/// The range an IP address belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpClass {
    /// Globally routable.
    Public,
    /// RFC 1918 (IPv4) or unique local `fc00::/7` (IPv6).
    Private,
    /// `127.0.0.0/8`, `::1`.
    Loopback,
    /// `169.254.0.0/16`, `fe80::/10`.
    LinkLocal,
    /// `224.0.0.0/4`, `ff00::/8`.
    Multicast,
    /// Documentation ranges: `192.0.2.0/24`, `198.51.100.0/24`, `203.0.113.0/24`, `2001:db8::/32`.
    Documentation,
    /// Carrier-grade NAT `100.64.0.0/10`.
    SharedAddressSpace,
    /// Benchmarking `198.18.0.0/15`.
    Benchmarking,
    /// `0.0.0.0`, `::`.
    Unspecified,
    /// `255.255.255.255`.
    Broadcast,
    /// Other reserved ranges (`240.0.0.0/4`, `0.0.0.0/8`, `192.0.0.0/24`).
    Reserved,
}

impl IpClass {
    /// The class as reported (`public`, `private`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Private => "private",
            Self::Loopback => "loopback",
            Self::LinkLocal => "link-local",
            Self::Multicast => "multicast",
            Self::Documentation => "documentation",
            Self::SharedAddressSpace => "shared-address-space",
            Self::Benchmarking => "benchmarking",
            Self::Unspecified => "unspecified",
            Self::Broadcast => "broadcast",
            Self::Reserved => "reserved",
        }
    }
}

/// Classifies an address; IPv4-mapped IPv6 addresses are classified as their IPv4 address.
pub fn classify_ip(ip: IpAddr) -> IpClass {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => classify_v4(v4),
            None => classify_v6(v6),
        },
    }
}

fn classify_v4(ip: Ipv4Addr) -> IpClass {
    let [a, b, c, _] = ip.octets();
    match (a, b, c) {
        _ if ip.is_unspecified() => IpClass::Unspecified,
        _ if ip.is_broadcast() => IpClass::Broadcast,
        _ if ip.is_loopback() => IpClass::Loopback,
        _ if ip.is_private() => IpClass::Private,
        _ if ip.is_link_local() => IpClass::LinkLocal,
        _ if ip.is_multicast() => IpClass::Multicast,
        _ if ip.is_documentation() => IpClass::Documentation,
        (100, 64..=127, _) => IpClass::SharedAddressSpace,
        (198, 18..=19, _) => IpClass::Benchmarking,
        (0, _, _) | (240..=255, _, _) | (192, 0, 0) => IpClass::Reserved,
        _ => IpClass::Public,
    }
}

fn classify_v6(ip: Ipv6Addr) -> IpClass {
    let segments = ip.segments();
    match segments[0] {
        _ if ip.is_unspecified() => IpClass::Unspecified,
        _ if ip.is_loopback() => IpClass::Loopback,
        _ if ip.is_multicast() => IpClass::Multicast,
        0xfc00..=0xfdff => IpClass::Private,
        0xfe80..=0xfebf => IpClass::LinkLocal,
        0x2001 if segments[1] == 0x0db8 => IpClass::Documentation,
        0x2000..=0x3fff => IpClass::Public,
        _ => IpClass::Reserved,
    }
}

/// What the analyzer concluded about one observable.
struct Verdict {
    valid: bool,
    normalized: Option<String>,
    reason: Option<String>,
    details: Map<String, Value>,
    related: Vec<(&'static str, String)>,
}

impl Verdict {
    fn invalid(reason: impl Into<String>) -> Self {
        Self {
            valid: false,
            normalized: None,
            reason: Some(reason.into()),
            details: Map::new(),
            related: Vec::new(),
        }
    }

    fn valid(normalized: String) -> Self {
        Self {
            valid: true,
            normalized: Some(normalized),
            reason: None,
            details: Map::new(),
            related: Vec::new(),
        }
    }
}

/// Checks the job's observable.
pub fn analyze(job: &Job) -> Result<AnalyzerReport, WorkerError> {
    let data_type = job.data_type()?.to_owned();
    let original = job.data_text()?.to_owned();
    let (refanged, defanged) = refang(&original);
    let verdict = match data_type.as_str() {
        "ip" => check_ip(&refanged),
        "domain" | "fqdn" => check_domain(&refanged),
        "url" => check_url(&refanged),
        "mail" => check_mail(&refanged),
        "hash" => check_hash(&refanged),
        other => {
            return Err(WorkerError::UnsupportedDataType {
                data_type: other.into(),
                supported: "ip, domain, fqdn, url, mail, hash",
            });
        }
    };

    let mut taxonomies = vec![if verdict.valid {
        Taxonomy::new(Level::Info, NAMESPACE, "Valid", "yes")
    } else {
        Taxonomy::new(Level::Suspicious, NAMESPACE, "Valid", "no")
    }];
    if defanged {
        taxonomies.push(Taxonomy::new(Level::Info, NAMESPACE, "Defanged", "yes"));
    }
    for (key, predicate) in [("class", "Class"), ("hash_type", "HashType")] {
        if let Some(value) = verdict.details.get(key).and_then(Value::as_str) {
            taxonomies.push(Taxonomy::new(Level::Info, NAMESPACE, predicate, value));
        }
    }

    let mut artifacts = Vec::new();
    if let Some(normalized) = verdict
        .normalized
        .as_ref()
        .filter(|normalized| **normalized != original)
    {
        let tag = if defanged { "refanged" } else { "normalized" };
        artifacts.push(Artifact::data(
            &data_type,
            normalized.clone(),
            format!("{tag} form of {original}"),
            &[tag],
        ));
    }
    for (related_type, value) in &verdict.related {
        artifacts.push(Artifact::data(
            related_type,
            value.clone(),
            format!("part of {original}"),
            &["sanity"],
        ));
    }

    let mut full = Map::new();
    full.insert("data".into(), json!(original));
    full.insert("dataType".into(), json!(data_type));
    full.insert("valid".into(), json!(verdict.valid));
    full.insert("normalized".into(), json!(verdict.normalized));
    full.insert("defanged".into(), json!(defanged));
    full.insert("reason".into(), json!(verdict.reason));
    full.extend(verdict.details);
    Ok(AnalyzerReport {
        taxonomies,
        full,
        artifacts,
        ..AnalyzerReport::default()
    })
}

fn check_ip(text: &str) -> Verdict {
    let text = text.trim_start_matches('[').trim_end_matches(']');
    let (address, prefix) = match text.split_once('/') {
        Some((address, prefix)) => (address, Some(prefix)),
        None => (text, None),
    };
    let Ok(ip) = address.parse::<IpAddr>() else {
        return Verdict::invalid(format!("`{address}` is not an IPv4 or IPv6 address"));
    };
    let mut normalized = ip.to_string();
    if let Some(prefix) = prefix {
        let maximum = if ip.is_ipv4() { 32 } else { 128 };
        match prefix.parse::<u8>() {
            Ok(bits) if bits <= maximum => normalized.push_str(&format!("/{bits}")),
            _ => {
                return Verdict::invalid(format!(
                    "`/{prefix}` is not a valid prefix length (0..={maximum})"
                ));
            }
        }
    }
    let class = classify_ip(ip);
    let mut verdict = Verdict::valid(normalized);
    verdict
        .details
        .insert("version".into(), json!(if ip.is_ipv4() { 4 } else { 6 }));
    verdict
        .details
        .insert("class".into(), json!(class.as_str()));
    verdict
        .details
        .insert("routable".into(), json!(class == IpClass::Public));
    verdict
}

/// Validates a host name: 1–253 characters, labels of 1–63 letters, digits or hyphens (not
/// at either end), at least two labels, and a top-level label that is not all digits.
fn domain_problem(domain: &str) -> Option<String> {
    if domain.is_empty() || domain.len() > 253 {
        return Some(format!(
            "a domain has 1 to 253 characters, `{domain}` has {}",
            domain.len()
        ));
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 {
        return Some(format!(
            "`{domain}` has no dot: a domain needs at least two labels"
        ));
    }
    for label in &labels {
        if label.is_empty() || label.chars().count() > 63 {
            return Some(format!("label `{label}` must have 1 to 63 characters"));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Some(format!("label `{label}` starts or ends with a hyphen"));
        }
        if let Some(bad) = label
            .chars()
            .find(|c| !(c.is_alphanumeric() || *c == '-' || *c == '_'))
        {
            return Some(format!("label `{label}` contains `{bad}`"));
        }
    }
    let top = labels.last().copied().unwrap_or_default();
    if top.chars().all(|c| c.is_ascii_digit()) {
        return Some(format!("the top-level label `{top}` is numeric"));
    }
    None
}

fn check_domain(text: &str) -> Verdict {
    let domain = text.trim_end_matches('.').to_lowercase();
    if let Some(problem) = domain_problem(&domain) {
        return Verdict::invalid(problem);
    }
    let internationalized =
        !domain.is_ascii() || domain.split('.').any(|label| label.starts_with("xn--"));
    let mut verdict = Verdict::valid(domain.clone());
    verdict
        .details
        .insert("internationalized".into(), json!(internationalized));
    verdict
        .details
        .insert("labels".into(), json!(domain.split('.').count()));
    verdict
}

fn check_url(text: &str) -> Verdict {
    let Some((scheme, rest)) = text.split_once("://") else {
        return Verdict::invalid("a URL needs a scheme such as `https://`");
    };
    let scheme = scheme.to_ascii_lowercase();
    if scheme.is_empty()
        || !scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    {
        return Verdict::invalid(format!("`{scheme}` is not a URL scheme"));
    }
    if text.chars().any(char::is_whitespace) {
        return Verdict::invalid("a URL cannot contain whitespace");
    }
    let Some(host) = url_host(text) else {
        return Verdict::invalid("the URL has no host");
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let host_kind = if host.parse::<IpAddr>().is_ok() {
        "ip"
    } else if let Some(problem) = domain_problem(&host) {
        return Verdict::invalid(format!("invalid host: {problem}"));
    } else {
        "domain"
    };
    let authority = authority
        .rsplit_once('@')
        .map_or(authority.to_ascii_lowercase(), |(user, host)| {
            format!("{user}@{}", host.to_ascii_lowercase())
        });
    let mut verdict = Verdict::valid(format!("{scheme}://{authority}{path}"));
    verdict.details.insert("scheme".into(), json!(scheme));
    verdict.details.insert("host".into(), json!(host));
    verdict.related.push((host_kind, host));
    verdict
}

fn check_mail(text: &str) -> Verdict {
    let text = text.trim_start_matches("mailto:");
    let Some((local, domain)) = text.rsplit_once('@') else {
        return Verdict::invalid("a mail address needs an `@`");
    };
    if local.is_empty() || local.len() > 64 {
        return Verdict::invalid("the local part must have 1 to 64 characters");
    }
    let allowed = |c: char| c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c);
    if let Some(bad) = local.chars().find(|c| !allowed(*c)) {
        return Verdict::invalid(format!("the local part contains `{bad}`"));
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Verdict::invalid("the local part has a misplaced dot");
    }
    let domain = domain.trim_end_matches('.').to_lowercase();
    if let Some(problem) = domain_problem(&domain) {
        return Verdict::invalid(format!("invalid domain: {problem}"));
    }
    let mut verdict = Verdict::valid(format!("{local}@{domain}"));
    verdict.details.insert("domain".into(), json!(domain));
    verdict.related.push(("domain", domain));
    verdict
}

fn check_hash(text: &str) -> Verdict {
    let hash = text.to_ascii_lowercase();
    if let Some(bad) = hash.chars().find(|c| !c.is_ascii_hexdigit()) {
        return Verdict::invalid(format!("a hash is hexadecimal; `{bad}` is not a hex digit"));
    }
    let kind = match hash.len() {
        32 => "md5",
        40 => "sha1",
        56 => "sha224",
        64 => "sha256",
        96 => "sha384",
        128 => "sha512",
        other => {
            return Verdict::invalid(format!(
                "no common hash has {other} hex digits (32, 40, 56, 64, 96, 128)"
            ));
        }
    };
    let mut verdict = Verdict::valid(hash);
    verdict.details.insert("hash_type".into(), json!(kind));
    verdict
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_ranges_are_classified() {
        let class = |text: &str| classify_ip(text.parse().unwrap());

        assert_eq!(class("8.8.8.8"), IpClass::Public);
        assert_eq!(class("10.1.2.3"), IpClass::Private);
        assert_eq!(class("172.16.0.1"), IpClass::Private);
        assert_eq!(class("127.0.0.1"), IpClass::Loopback);
        assert_eq!(class("198.51.100.7"), IpClass::Documentation);
        assert_eq!(class("100.64.1.1"), IpClass::SharedAddressSpace);
        assert_eq!(class("240.0.0.1"), IpClass::Reserved);
        assert_eq!(class("::ffff:192.168.1.1"), IpClass::Private);
        assert_eq!(class("fd00::1"), IpClass::Private);
        assert_eq!(class("2001:db8::1"), IpClass::Documentation);
        assert_eq!(class("2606:4700::1111"), IpClass::Public);
    }

    #[test]
    fn domains_are_validated() {
        assert!(check_domain("Example.COM.").valid);
        assert_eq!(
            check_domain("Example.COM.").normalized.as_deref(),
            Some("example.com")
        );
        assert!(!check_domain("-bad.example").valid);
        assert!(!check_domain("localhost").valid);
        assert!(!check_domain("a..b").valid);
    }

    #[test]
    fn hashes_are_typed_by_length() {
        assert_eq!(check_hash(&"a".repeat(40)).details["hash_type"], "sha1");
        assert!(!check_hash("xyz").valid);
        assert!(!check_hash(&"a".repeat(33)).valid);
    }

    #[test]
    fn mails_and_urls_are_normalised() {
        assert_eq!(
            check_mail("Bob@Example.ORG").normalized.as_deref(),
            Some("Bob@example.org")
        );
        assert_eq!(
            check_url("HTTPS://Evil.Example.com/Path?q=1")
                .normalized
                .as_deref(),
            Some("https://evil.example.com/Path?q=1")
        );
        assert!(!check_url("not a url").valid);
    }
}
