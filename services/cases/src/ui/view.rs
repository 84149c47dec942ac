//! Small view helpers shared by the pages: reading a stored body's fields as text, labels of
//! severities and TLP/PAP levels, dates, and the page script (`assets/cases.js`, embedded and
//! served under a content-hashed name).

use std::sync::LazyLock;

use actix_web::HttpResponse;
use actix_web::http::header;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// The embedded page script.
const SCRIPT: &str = include_str!("assets/cases.js");

/// Route of the page script (the name carries its hash).
pub const SCRIPT_ROUTE: &str = "/static/{file}";

static SCRIPT_URL: LazyLock<String> = LazyLock::new(|| {
    let digest = hex::encode(Sha256::digest(SCRIPT.as_bytes()));
    format!("/static/cases.{}.js", &digest[..12])
});

/// The URL of the page script.
pub fn script_url() -> &'static str {
    &SCRIPT_URL
}

/// `GET /static/cases.<hash>.js`: the page script, cached for a year.
pub async fn script(file: actix_web::web::Path<String>) -> HttpResponse {
    if format!("/static/{}", file.as_str()) != *SCRIPT_URL {
        return HttpResponse::NotFound().finish();
    }
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(SCRIPT)
}

/// A string field (empty when absent; numbers and booleans as their JSON text).
pub fn text(body: &Map<String, Value>, key: &str) -> String {
    match body.get(key) {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

/// An integer field (0 when absent).
pub fn number(body: &Map<String, Value>, key: &str) -> i64 {
    body.get(key)
        .and_then(|value| {
            value
                .as_i64()
                .or_else(|| value.as_str().and_then(|text| text.parse().ok()))
        })
        .unwrap_or(0)
}

/// A boolean field.
pub fn flag(body: &Map<String, Value>, key: &str) -> bool {
    crate::domain::entity::flag(body.get(key))
}

/// The strings of an array field.
pub fn strings(body: &Map<String, Value>, key: &str) -> Vec<String> {
    body.get(key)
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|item| item.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// A date field as `YYYY-MM-DD HH:MM` (UTC); empty when absent.
pub fn date(body: &Map<String, Value>, key: &str) -> String {
    body.get(key)
        .and_then(Value::as_i64)
        .map(format_millis)
        .unwrap_or_default()
}

/// Epoch milliseconds as `YYYY-MM-DD HH:MM` (UTC).
pub fn format_millis(millis: i64) -> String {
    chrono::DateTime::from_timestamp_millis(millis)
        .map(|date| date.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

/// Severity names, 1 to 4.
pub const SEVERITIES: [(i64, &str); 4] = [(1, "Low"), (2, "Medium"), (3, "High"), (4, "Critical")];
/// TLP and PAP names, 0 to 3.
pub const LEVELS: [(i64, &str); 4] = [(0, "WHITE"), (1, "GREEN"), (2, "AMBER"), (3, "RED")];

/// The name of a severity.
pub fn severity(value: i64) -> &'static str {
    SEVERITIES
        .iter()
        .find(|(number, _)| *number == value)
        .map_or("?", |(_, name)| name)
}

/// The name of a TLP or PAP level.
pub fn level(value: i64) -> &'static str {
    LEVELS
        .iter()
        .find(|(number, _)| *number == value)
        .map_or("?", |(_, name)| name)
}

/// Tags as links to the case list filtered by each (escaped here, written with `|safe`).
pub fn tag_links(tags: &[String], list: &str) -> skep_web::Html {
    let mut out = String::from("<span class=\"tags\">");
    for tag in tags {
        out.push_str("<a class=\"tag\" href=\"");
        skep_web::escape(
            &mut out,
            &format!("{list}?status=any&tag={}", urlencoding::encode(tag)),
        );
        out.push_str("\">");
        skep_web::escape(&mut out, tag);
        out.push_str("</a> ");
    }
    out.push_str("</span>");
    skep_web::Html::from_trusted(out)
}

/// An option of a `<select>`.
#[derive(Debug, Clone)]
pub struct Choice {
    /// Submitted value.
    pub value: String,
    /// Shown text.
    pub label: String,
    /// Pre-selected.
    pub selected: bool,
}

impl Choice {
    /// The choices of `items`, `current` pre-selected.
    pub fn list(items: &[(i64, &str)], current: i64) -> Vec<Choice> {
        items
            .iter()
            .map(|(value, label)| Choice {
                value: value.to_string(),
                label: (*label).to_owned(),
                selected: *value == current,
            })
            .collect()
    }

    /// Choices whose value is their label, `current` pre-selected.
    pub fn names<S: AsRef<str>>(items: &[S], current: &str) -> Vec<Choice> {
        items
            .iter()
            .map(|item| Choice {
                value: item.as_ref().to_owned(),
                label: item.as_ref().to_owned(),
                selected: item.as_ref() == current,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_read_as_text_numbers_and_dates() {
        let body = json!({"title": "t", "severity": 3, "tags": ["a", 1], "startDate": 0})
            .as_object()
            .cloned()
            .unwrap();
        assert_eq!(text(&body, "title"), "t");
        assert_eq!(text(&body, "severity"), "3");
        assert_eq!(number(&body, "severity"), 3);
        assert_eq!(strings(&body, "tags"), vec!["a"]);
        assert_eq!(date(&body, "startDate"), "1970-01-01 00:00");
        assert_eq!(severity(4), "Critical");
        assert_eq!(level(0), "WHITE");
    }

    #[test]
    fn the_script_is_served_only_under_its_hashed_name() {
        assert!(script_url().starts_with("/static/cases.") && script_url().ends_with(".js"));
    }
}
