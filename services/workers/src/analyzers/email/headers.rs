//! Header-level facts of one message: addresses, raw headers, the Received chain and the
//! authentication results the receiving server recorded.

use mail_parser::{Address, HeaderValue, Message};
use regex::Regex;
use serde_json::{Map, Value, json};

/// Header values are cut to this many characters in the report.
const MAX_HEADER_CHARS: usize = 4096;
/// At most this many headers per message are reported.
const MAX_HEADERS: usize = 500;

/// The members of an address header as `(display, lower-case address)`.
pub(super) fn address_list(address: Option<&Address<'_>>) -> Vec<(String, String)> {
    let members: Vec<&mail_parser::Addr<'_>> = match address {
        Some(Address::List(list)) => list.iter().collect(),
        Some(Address::Group(groups)) => groups
            .iter()
            .flat_map(|group| group.addresses.iter())
            .collect(),
        None => Vec::new(),
    };
    members
        .into_iter()
        .filter_map(|member| {
            let email = member.address.as_deref()?.trim().to_ascii_lowercase();
            let display = match member.name.as_deref() {
                Some(name) if !name.trim().is_empty() => format!("{} <{email}>", name.trim()),
                _ => email.clone(),
            };
            Some((display, email))
        })
        .collect()
}

/// The raw text of a header, unfolded and cut to `MAX_HEADER_CHARS`.
fn raw_header(message: &Message<'_>, header: &mail_parser::Header<'_>) -> String {
    let bytes = message
        .raw_message()
        .get(header.offset_start() as usize..header.offset_end() as usize)
        .unwrap_or_default();
    let text = String::from_utf8_lossy(bytes);
    let unfolded = text
        .split(['\r', '\n'])
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    cut(&unfolded, MAX_HEADER_CHARS)
}

/// Cuts `text` to `limit` characters, saying how many were left out.
pub(super) fn cut(text: &str, limit: usize) -> String {
    let mut chars = text.chars();
    let mut out: String = chars.by_ref().take(limit).collect();
    let rest = chars.count();
    if rest > 0 {
        out.push_str(&format!("… [{rest} more characters]"));
    }
    out
}

/// Every header as `{name, value}`, in order, at most `MAX_HEADERS`.
pub(super) fn headers(message: &Message<'_>) -> Value {
    let all = message.headers();
    let mut list: Vec<Value> = all
        .iter()
        .take(MAX_HEADERS)
        .map(|header| json!({"name": header.name(), "value": raw_header(message, header)}))
        .collect();
    if all.len() > MAX_HEADERS {
        list.push(json!({"name": "(skipped)", "value": format!("{} more headers", all.len() - MAX_HEADERS)}));
    }
    Value::Array(list)
}

/// The Received chain, topmost hop first, with the fields mail-parser could read.
pub(super) fn received_chain(message: &Message<'_>) -> Value {
    let hops: Vec<Value> = message
        .headers()
        .iter()
        .filter(|header| header.name().eq_ignore_ascii_case("received"))
        .enumerate()
        .map(|(hop, header)| {
            let parsed = match header.value() {
                HeaderValue::Received(received) => Some(received),
                _ => None,
            };
            json!({
                "hop": hop,
                "from": parsed.and_then(|r| r.from()).map(|host| host.to_string()),
                "from_ip": parsed.and_then(|r| r.from_ip()).map(|ip| ip.to_string()),
                "by": parsed.and_then(|r| r.by()).map(|host| host.to_string()),
                "with": parsed.and_then(|r| r.with()).map(|protocol| protocol.to_string()),
                "date": parsed.and_then(|r| r.date.as_ref()).map(|date| date.to_rfc3339()),
                "raw": raw_header(message, header),
            })
        })
        .collect();
    Value::Array(hops)
}

/// SPF/DKIM/DMARC as the receiving server recorded them: the topmost `Authentication-Results`
/// header, with `Received-SPF` as a fallback for SPF.
pub(super) fn authentication(message: &Message<'_>, pattern: &Regex) -> Value {
    let results: Vec<String> = message
        .headers()
        .iter()
        .filter(|header| header.name().eq_ignore_ascii_case("authentication-results"))
        .map(|header| raw_header(message, header))
        .collect();
    let mut verdicts = Map::new();
    if let Some(first) = results.first() {
        for capture in pattern.captures_iter(first) {
            let method = capture[1].to_ascii_lowercase();
            verdicts
                .entry(method)
                .or_insert_with(|| json!(capture[2].to_ascii_lowercase()));
        }
    }
    if !verdicts.contains_key("spf") {
        let received_spf = message
            .headers()
            .iter()
            .find(|header| header.name().eq_ignore_ascii_case("received-spf"))
            .map(|header| raw_header(message, header));
        if let Some(result) = received_spf
            .as_deref()
            .and_then(|text| text.split_whitespace().next())
        {
            verdicts.insert("spf".into(), json!(result.to_ascii_lowercase()));
        }
    }
    json!({
        "spf": verdicts.get("spf"),
        "dkim": verdicts.get("dkim"),
        "dmarc": verdicts.get("dmarc"),
        "arc": verdicts.get("arc"),
        "authentication_results": results,
    })
}
