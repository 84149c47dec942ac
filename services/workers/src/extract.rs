//! Observable extraction from free text (mail bodies, strings in files) and refanging of
//! defanged observables (`hxxp://`, `example[.]com`, `user[at]example.com`).

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use regex::Regex;

/// Top-level domains accepted for bare domain names found in text. A bare `word.word` is far
/// more often a file name or code than a domain, so only common, real TLDs are accepted; URLs
/// and mail addresses are not filtered this way.
const COMMON_TLDS: &[&str] = &[
    "com", "net", "org", "info", "biz", "io", "co", "me", "app", "dev", "xyz", "top", "site",
    "online", "club", "shop", "store", "tech", "live", "cloud", "link", "click", "win", "icu",
    "gov", "edu", "mil", "int", "eu", "uk", "de", "fr", "it", "es", "nl", "be", "ch", "at", "se",
    "no", "dk", "fi", "pl", "cz", "ru", "ua", "cn", "jp", "kr", "in", "br", "ca", "au", "us", "tk",
    "ml", "ga", "cf", "gq", "pw", "cc", "tv", "ws", "su", "ir", "tr", "mx", "ar", "za", "onion",
];

/// A typed observable found in text.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Found {
    /// The TheHive data type: `url`, `mail`, `ip`, `domain` or `hash`.
    pub data_type: &'static str,
    /// The observable, normalised (lower-case hosts, no trailing punctuation).
    pub value: String,
}

/// Compiled extraction patterns; build once per worker run.
#[derive(Debug)]
pub struct Extractor {
    url: Regex,
    mail: Regex,
    ipv4: Regex,
    domain: Regex,
    hash: Regex,
}

impl Extractor {
    /// Compiles the patterns.
    pub fn new() -> Self {
        // The patterns are literals checked by the unit tests below.
        let compile = |pattern: &str| Regex::new(pattern).expect("extraction patterns are valid");
        Self {
            url: compile(r#"(?i)\b(?:https?|ftp)://[^\s"'<>`\\^{}|\[\]]{2,}"#),
            mail: compile(
                r"(?i-u)\b[a-z0-9][a-z0-9._%+\-]*@(?:[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?\.)+[a-z]{2,24}\b",
            ),
            ipv4: compile(r"(?-u)\b(?:[0-9]{1,3}\.){3}[0-9]{1,3}\b"),
            domain: compile(r"(?i-u)\b(?:[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?\.)+[a-z]{2,24}\b"),
            hash: compile(r"(?i-u)\b(?:[a-f0-9]{64}|[a-f0-9]{40}|[a-f0-9]{32})\b"),
        }
    }

    /// Finds URLs, mail addresses, IPv4 addresses, domains and hashes in `text`, deduplicated
    /// and sorted. Domains inside URLs and mail addresses are reported as well.
    pub fn find(&self, text: &str) -> BTreeSet<Found> {
        let mut found = BTreeSet::new();
        for url in self.url.find_iter(text) {
            let url = url
                .as_str()
                .trim_end_matches(['.', ',', ';', ':', ')', '!', '?', '\'', '"', '>']);
            if let Some(host) = url_host(url) {
                self.add_host(&mut found, &host);
            }
            found.insert(Found {
                data_type: "url",
                value: url.to_owned(),
            });
        }
        for mail in self.mail.find_iter(text) {
            let mail = mail.as_str().to_ascii_lowercase();
            if let Some((_, domain)) = mail.rsplit_once('@') {
                found.insert(Found {
                    data_type: "domain",
                    value: domain.to_owned(),
                });
            }
            found.insert(Found {
                data_type: "mail",
                value: mail,
            });
        }
        for ip in self.ipv4.find_iter(text) {
            if ip.as_str().parse::<Ipv4Addr>().is_ok() {
                found.insert(Found {
                    data_type: "ip",
                    value: ip.as_str().to_owned(),
                });
            }
        }
        for domain in self.domain.find_iter(text) {
            let domain = domain.as_str().to_ascii_lowercase();
            let tld = domain.rsplit('.').next().unwrap_or_default();
            if COMMON_TLDS.contains(&tld) {
                found.insert(Found {
                    data_type: "domain",
                    value: domain,
                });
            }
        }
        for hash in self.hash.find_iter(text) {
            let hash = hash.as_str();
            // A run of one repeated digit (padding, zeroed fields) is not a hash.
            if hash.chars().any(|c| c.is_ascii_alphabetic())
                && hash.chars().any(|c| c.is_ascii_digit())
            {
                found.insert(Found {
                    data_type: "hash",
                    value: hash.to_ascii_lowercase(),
                });
            }
        }
        found
    }

    fn add_host(&self, found: &mut BTreeSet<Found>, host: &str) {
        if host.parse::<std::net::IpAddr>().is_ok() {
            found.insert(Found {
                data_type: "ip",
                value: host.to_owned(),
            });
        } else if host.contains('.') {
            found.insert(Found {
                data_type: "domain",
                value: host.to_owned(),
            });
        }
    }
}

impl Default for Extractor {
    fn default() -> Self {
        Self::new()
    }
}

/// The host of a URL (`scheme://[user@]host[:port]/...`), lower-cased, without brackets.
pub fn url_host(url: &str) -> Option<String> {
    let (_, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host_port = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let host = if let Some(bracketed) = host_port.strip_prefix('[') {
        bracketed.split(']').next()?
    } else {
        host_port.split(':').next()?
    };
    Some(host.to_ascii_lowercase()).filter(|host| !host.is_empty())
}

/// Undoes the usual defanging: `hxxp`/`hxxps`/`fxp` schemes, `[.]`, `(.)`, `{.}`, `[dot]`,
/// `[:]`, `[://]`, `[at]`, `(at)`, `[@]`. Returns the refanged text and whether anything changed.
pub fn refang(text: &str) -> (String, bool) {
    let mut out = text.trim().to_owned();
    for (from, to) in [
        ("[://]", "://"),
        ("[:]", ":"),
        ("[.]", "."),
        ("(.)", "."),
        ("{.}", "."),
        ("[dot]", "."),
        ("(dot)", "."),
        ("[@]", "@"),
        ("[at]", "@"),
        ("(at)", "@"),
        ("{at}", "@"),
    ] {
        out = replace_ignore_case(&out, from, to);
    }
    let lower = out.to_ascii_lowercase();
    for (from, to) in [
        ("hxxps://", "https://"),
        ("hxxp://", "http://"),
        ("fxp://", "ftp://"),
    ] {
        if lower.starts_with(from) {
            out = format!("{to}{}", &out[from.len()..]);
            break;
        }
    }
    let changed = out != text.trim();
    (out, changed)
}

fn replace_ignore_case(text: &str, from: &str, to: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut position = 0;
    while let Some(offset) = lower[position..].find(from) {
        out.push_str(&text[position..position + offset]);
        out.push_str(to);
        position += offset + from.len();
    }
    out.push_str(&text[position..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(found: &BTreeSet<Found>, data_type: &str) -> Vec<String> {
        found
            .iter()
            .filter(|f| f.data_type == data_type)
            .map(|f| f.value.clone())
            .collect()
    }

    #[test]
    fn urls_mails_ips_domains_and_hashes_are_found_in_text() {
        let text = "Visit https://evil.example.com/login?x=1. Mail boss@corp.example.org or 203.0.113.9 \
                    hash d41d8cd98f00b204e9800998ecf8427e and paypal-secure.com, not file.exe";

        let found = Extractor::new().find(text);

        assert_eq!(
            values(&found, "url"),
            ["https://evil.example.com/login?x=1"]
        );
        assert_eq!(values(&found, "mail"), ["boss@corp.example.org"]);
        assert_eq!(values(&found, "ip"), ["203.0.113.9"]);
        assert_eq!(values(&found, "hash"), ["d41d8cd98f00b204e9800998ecf8427e"]);
        assert!(values(&found, "domain").contains(&"paypal-secure.com".to_owned()));
        assert!(values(&found, "domain").contains(&"evil.example.com".to_owned()));
        assert!(!values(&found, "domain").iter().any(|d| d.ends_with(".exe")));
    }

    #[test]
    fn invalid_ipv4_is_ignored() {
        assert!(values(&Extractor::new().find("999.1.1.1 and 1.2.3"), "ip").is_empty());
    }

    #[test]
    fn defanged_forms_are_refanged() {
        assert_eq!(
            refang("hxxps://evil[.]example(.)com/a"),
            ("https://evil.example.com/a".to_owned(), true)
        );
        assert_eq!(
            refang("user[at]example[.]org"),
            ("user@example.org".to_owned(), true)
        );
        assert_eq!(
            refang("HXXP[://]1.2.3[.]4"),
            ("http://1.2.3.4".to_owned(), true)
        );
        assert_eq!(refang("example.com"), ("example.com".to_owned(), false));
    }

    #[test]
    fn url_host_handles_credentials_ports_and_ipv6() {
        assert_eq!(
            url_host("http://u:p@Example.COM:8080/x").as_deref(),
            Some("example.com")
        );
        assert_eq!(
            url_host("http://[2001:db8::1]:80/").as_deref(),
            Some("2001:db8::1")
        );
    }
}
