//! Observable extraction: pure functions from texts (headers, plain and HTML bodies) to
//! `(dataType, data)` pairs, each tagged with where it was found.
//!
//! Defanged forms (`hxxp://`, `[.]`, `(.)`, `[@]`, `[:]`) are refanged before matching. Built-in
//! types: `url`, `ip` (valid IPv4 addresses only), `domain` (host names, with a TLD that is two
//! letters or a known generic one, and never a file extension), `mail`, `hash` (32/40/64 hex
//! digits) and `filename` (known risky extensions); then the configured custom types (first
//! capture group, or the whole match). Whitelist entries (case-insensitive regexes searched in
//! the value) remove values. The result keeps the order of first occurrence, one entry per
//! `(dataType, data)`, with every place it was found as a `found:<place>` tag.

use std::net::Ipv4Addr;
use std::sync::LazyLock;

use regex::Regex;

/// One text to scan and where it comes from (`header:from`, `body:plain`, `body:html`, …).
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    /// Where the text was found; becomes the `found:<origin>` tag.
    pub origin: &'a str,
    /// The text.
    pub text: &'a str,
}

/// An extracted observable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observable {
    /// TheHive data type (`ip`, `domain`, `url`, `mail`, `hash`, `filename` or a custom one).
    pub data_type: String,
    /// The value.
    pub data: String,
    /// `found:<origin>` for every place the value was seen.
    pub tags: Vec<String>,
}

/// Extensions that make a token a file name rather than a host name.
const FILE_EXTENSIONS: &[&str] = &[
    "exe", "dll", "bat", "cmd", "sys", "htm", "html", "js", "jse", "jar", "jpg", "jpeg", "png",
    "vb", "vbs", "vbe", "scr", "pif", "chm", "zip", "rar", "7z", "cab", "pdf", "doc", "docx",
    "docm", "ppt", "pptx", "pptm", "xls", "xlsx", "xlsm", "swf", "gif", "ps1", "lnk", "iso", "img",
    "hta", "msi", "one", "eml", "msg", "rtf", "txt", "csv", "svg", "gz", "tgz", "xml", "php",
    "asp", "aspx",
];

/// Generic TLDs recognised besides every two-letter country code.
const GENERIC_TLDS: &[&str] = &[
    "com",
    "net",
    "org",
    "edu",
    "gov",
    "mil",
    "int",
    "info",
    "biz",
    "name",
    "pro",
    "mobi",
    "aero",
    "asia",
    "coop",
    "jobs",
    "museum",
    "tel",
    "travel",
    "xxx",
    "app",
    "dev",
    "io",
    "xyz",
    "online",
    "site",
    "shop",
    "store",
    "top",
    "club",
    "cloud",
    "tech",
    "live",
    "life",
    "link",
    "click",
    "website",
    "space",
    "fun",
    "icu",
    "vip",
    "work",
    "today",
    "world",
    "email",
    "support",
    "services",
    "network",
    "digital",
    "agency",
    "company",
    "solutions",
    "center",
    "global",
    "group",
    "news",
    "blog",
    "page",
    "buzz",
    "monster",
    "rest",
    "bond",
    "cyou",
    "sbs",
    "cfd",
    "quest",
    "loan",
    "win",
    "bid",
    "date",
    "download",
    "racing",
    "review",
    "stream",
    "trade",
    "party",
    "science",
    "men",
    "gdn",
    "host",
    "best",
    "bar",
    "art",
    "ltd",
    "ink",
    "wiki",
    "zone",
    "social",
    "media",
    "finance",
    "bank",
    "money",
    "capital",
    "security",
    "systems",
    "microsoft",
    "google",
    "amazon",
    "apple",
    "local",
    "onion",
    "arpa",
];

macro_rules! regex {
    ($name:ident, $pattern:expr) => {
        static $name: LazyLock<Regex> =
            LazyLock::new(|| Regex::new($pattern).expect("a built-in regex compiles"));
    };
}

regex!(URL, r#"(?i)\b(?:https?|ftp)://[^\s<>"'`{}|\\^\[\]]+"#);
regex!(IPV4, r"\b(?:\d{1,3}\.){3}\d{1,3}\b");
regex!(
    HOST,
    r"(?i)\b(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,23}[a-z0-9]\b"
);
regex!(
    MAIL,
    r"(?i)\b[a-z0-9][a-z0-9._%+-]{0,63}@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,24}\b"
);
regex!(HASH, r"(?i)\b(?:[a-f0-9]{64}|[a-f0-9]{40}|[a-f0-9]{32})\b");
regex!(
    FILENAME,
    r"(?i)\b[a-z0-9_\-][a-z0-9_\-.]*\.([a-z0-9]{1,5})\b"
);
regex!(DEFANG_DOT, r"(?i)\[\.\]|\(\.\)|\{\.\}|\[dot\]|\(dot\)");
regex!(DEFANG_AT, r"(?i)\[@\]|\(@\)|\[at\]|\(at\)");
regex!(DEFANG_SCHEME, r"(?i)\bh(?:xx|\*\*|XX)p(s?)(\[?:\]?)//");

/// Undoes the usual defanging so the regexes see the real values.
pub fn refang(text: &str) -> String {
    let text = DEFANG_SCHEME.replace_all(text, "http$1://");
    let text = DEFANG_DOT.replace_all(&text, ".");
    let text = DEFANG_AT.replace_all(&text, "@");
    text.replace("[:]", ":").replace("[://]", "://")
}

/// True when the last label of `host` makes it a plausible host name.
fn has_known_tld(host: &str) -> bool {
    let Some(tld) = host.rsplit('.').next() else {
        return false;
    };
    let tld = tld.to_ascii_lowercase();
    if FILE_EXTENSIONS.contains(&tld.as_str()) {
        return false;
    }
    (tld.len() == 2 && tld.chars().all(|c| c.is_ascii_alphabetic()))
        || GENERIC_TLDS.contains(&tld.as_str())
}

/// Collects observables, merging the places each value was found in.
#[derive(Default)]
struct Collector {
    items: Vec<Observable>,
}

impl Collector {
    fn add(&mut self, data_type: &str, data: &str, origin: &str) {
        let data = data.trim();
        if data.is_empty() {
            return;
        }
        let tag = format!("found:{origin}");
        if let Some(existing) = self
            .items
            .iter_mut()
            .find(|item| item.data_type == data_type && item.data == data)
        {
            if !existing.tags.contains(&tag) {
                existing.tags.push(tag);
            }
            return;
        }
        self.items.push(Observable {
            data_type: data_type.to_owned(),
            data: data.to_owned(),
            tags: vec![tag],
        });
    }
}

/// Trims what usually follows a URL in prose.
fn trim_url(mut url: &str) -> &str {
    loop {
        let before = url.len();
        url = url.trim_end_matches(['.', ',', ';', ':', '!', '?', '\'', '"']);
        // A closing parenthesis belongs to the URL only when it opened one.
        if url.ends_with(')') && url.matches('(').count() < url.matches(')').count() {
            url = &url[..url.len() - 1];
        }
        if url.len() == before {
            return url;
        }
    }
}

/// Scans `sources` for the built-in types (when `builtin`) and the `custom` ones, and drops
/// values matching a `whitelist` entry.
pub fn extract(
    sources: &[Source<'_>],
    builtin: bool,
    custom: &[(String, Regex)],
    whitelist: &[Regex],
) -> Vec<Observable> {
    let mut collector = Collector::default();
    for source in sources {
        let text = refang(source.text);
        let origin = source.origin;
        if builtin {
            scan_builtin(&text, origin, &mut collector);
        }
        for (data_type, regex) in custom {
            for captures in regex.captures_iter(&text) {
                let value = captures.get(1).or_else(|| captures.get(0));
                if let Some(value) = value {
                    collector.add(data_type, value.as_str(), origin);
                }
            }
        }
    }
    collector
        .items
        .into_iter()
        .filter(|item| !whitelist.iter().any(|entry| entry.is_match(&item.data)))
        .collect()
}

fn scan_builtin(text: &str, origin: &str, collector: &mut Collector) {
    let mut url_spans = Vec::new();
    for found in URL.find_iter(text) {
        let url = trim_url(found.as_str());
        url_spans.push(found.start()..found.start() + url.len());
        collector.add("url", url, origin);
        if let Some(host) = url
            .split("://")
            .nth(1)
            .and_then(|rest| rest.split(['/', '?', '#']).next())
        {
            let host = host.rsplit('@').next().unwrap_or(host);
            let host = host.split(':').next().unwrap_or(host);
            if host.parse::<Ipv4Addr>().is_ok() {
                collector.add("ip", host, origin);
            } else if has_known_tld(host) {
                collector.add("domain", &host.to_ascii_lowercase(), origin);
            }
        }
    }
    let inside_url = |start: usize| url_spans.iter().any(|span| span.contains(&start));
    let mut mail_spans = Vec::new();
    for found in MAIL.find_iter(text) {
        mail_spans.push(found.range());
        let mail = found.as_str().to_ascii_lowercase();
        collector.add("mail", &mail, origin);
        if let Some((_, domain)) = mail.split_once('@')
            && has_known_tld(domain)
        {
            collector.add("domain", domain, origin);
        }
    }
    let inside_mail = |start: usize| mail_spans.iter().any(|span| span.contains(&start));
    for found in IPV4.find_iter(text) {
        if found.as_str().parse::<Ipv4Addr>().is_ok() {
            collector.add("ip", found.as_str(), origin);
        }
    }
    for found in HOST.find_iter(text) {
        let host = found.as_str();
        if inside_url(found.start()) || inside_mail(found.start()) {
            continue;
        }
        if host.parse::<Ipv4Addr>().is_err() && has_known_tld(host) {
            collector.add("domain", &host.to_ascii_lowercase(), origin);
        }
    }
    for found in HASH.find_iter(text) {
        collector.add("hash", &found.as_str().to_ascii_lowercase(), origin);
    }
    for captures in FILENAME.captures_iter(text) {
        let (Some(whole), Some(extension)) = (captures.get(0), captures.get(1)) else {
            continue;
        };
        if inside_url(whole.start()) || inside_mail(whole.start()) {
            continue;
        }
        let extension = extension.as_str().to_ascii_lowercase();
        if FILE_EXTENSIONS.contains(&extension.as_str()) {
            collector.add("filename", whole.as_str(), origin);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(items: &[Observable]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|item| (item.data_type.clone(), item.data.clone()))
            .collect()
    }

    fn has(items: &[Observable], data_type: &str, data: &str) -> bool {
        items
            .iter()
            .any(|item| item.data_type == data_type && item.data == data)
    }

    fn scan(text: &str) -> Vec<Observable> {
        extract(
            &[Source {
                origin: "body:plain",
                text,
            }],
            true,
            &[],
            &[],
        )
    }

    #[test]
    fn finds_each_builtin_type() {
        let items = scan(
            "Login from 203.0.113.7 to https://evil-site.example.com/login?id=5&x=y_z, \
             sender bad.actor@phish.co.uk, dropped invoice_2024.pdf.exe, \
             md5 44d88612fea8a8f36de82e1278abb02f and www.bad-domain.ru today.",
        );
        assert!(has(&items, "ip", "203.0.113.7"));
        assert!(has(
            &items,
            "url",
            "https://evil-site.example.com/login?id=5&x=y_z"
        ));
        assert!(has(&items, "domain", "evil-site.example.com"));
        assert!(has(&items, "mail", "bad.actor@phish.co.uk"));
        assert!(has(&items, "domain", "phish.co.uk"));
        assert!(has(&items, "filename", "invoice_2024.pdf.exe"));
        assert!(has(&items, "hash", "44d88612fea8a8f36de82e1278abb02f"));
        assert!(has(&items, "domain", "www.bad-domain.ru"));
        assert!(
            !items
                .iter()
                .any(|item| item.data_type == "domain" && item.data.ends_with(".exe")),
            "{items:?}"
        );
    }

    #[test]
    fn defanged_values_are_refanged() {
        let items = scan(
            "visit hxxps://bad[.]example[.]org/x and mail evil[@]bad(.)com from 10[.]1[.]2[.]3",
        );
        assert!(has(&items, "url", "https://bad.example.org/x"), "{items:?}");
        assert!(has(&items, "domain", "bad.example.org"));
        assert!(has(&items, "mail", "evil@bad.com"));
        assert!(has(&items, "ip", "10.1.2.3"));
    }

    #[test]
    fn invalid_ips_and_plain_words_are_not_observables() {
        let items = scan("version 999.1.2.3 and 1.2.3 of the thing. End.of.line");
        assert!(
            !items.iter().any(|item| item.data_type == "ip"),
            "{items:?}"
        );
        assert!(
            !items.iter().any(|item| item.data_type == "domain"),
            "{items:?}"
        );
    }

    #[test]
    fn a_value_seen_twice_is_one_observable_with_both_places() {
        let items = extract(
            &[
                Source {
                    origin: "header:from",
                    text: "Bob <bob@partner.net>",
                },
                Source {
                    origin: "body:html",
                    text: "<a href=\"mailto:bob@partner.net\">bob</a>",
                },
            ],
            true,
            &[],
            &[],
        );
        let mail: Vec<_> = items
            .iter()
            .filter(|item| item.data_type == "mail")
            .collect();
        assert_eq!(mail.len(), 1);
        assert_eq!(mail[0].tags, ["found:header:from", "found:body:html"]);
    }

    #[test]
    fn custom_types_take_the_first_group_and_the_whitelist_removes_values() {
        let custom = vec![(
            "ossec_rule".to_owned(),
            Regex::new(r"(?im)Rule: (\d+) fired").unwrap(),
        )];
        let whitelist = crate::config::parse_whitelist("192\\.168\\.\\d+\\.\\d+\n").unwrap();
        let items = extract(
            &[Source {
                origin: "body:plain",
                text: "Rule: 5710 fired (level 5) from 192.168.1.10 and 198.51.100.4",
            }],
            true,
            &custom,
            &whitelist,
        );
        assert!(has(&items, "ossec_rule", "5710"));
        assert!(!has(&items, "ip", "192.168.1.10"));
        assert!(has(&items, "ip", "198.51.100.4"));
    }

    #[test]
    fn builtin_types_can_be_off_while_custom_ones_stay() {
        let custom = vec![("ticket".to_owned(), Regex::new(r"TICKET-\d+").unwrap())];
        let items = extract(
            &[Source {
                origin: "body:plain",
                text: "TICKET-42 at 203.0.113.9",
            }],
            false,
            &custom,
            &[],
        );
        assert_eq!(
            pairs(&items),
            [("ticket".to_owned(), "TICKET-42".to_owned())]
        );
    }

    #[test]
    fn urls_lose_trailing_punctuation() {
        let items = scan("(see https://example.org/a/b/c/d.) and \"http://example.net/q?x=1\".");
        assert!(
            has(&items, "url", "https://example.org/a/b/c/d"),
            "{items:?}"
        );
        assert!(has(&items, "url", "http://example.net/q?x=1"), "{items:?}");
    }
}
