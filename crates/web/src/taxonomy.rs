//! Taxonomy labels: `namespace:predicate="value"` coloured by level (info blue, safe green,
//! suspicious orange, malicious red), as analysts know them from reports.

use serde_json::Value;

use crate::{Html, escape};

/// The level of a taxonomy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Blue.
    Info,
    /// Green.
    Safe,
    /// Orange.
    Suspicious,
    /// Red.
    Malicious,
}

impl Level {
    /// Parses a report's level (case-insensitive); anything unknown is `Info`.
    pub fn parse(text: &str) -> Level {
        match text.trim().to_ascii_lowercase().as_str() {
            "safe" => Level::Safe,
            "suspicious" => Level::Suspicious,
            "malicious" => Level::Malicious,
            _ => Level::Info,
        }
    }

    /// The level's name, lower case.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Info => "info",
            Level::Safe => "safe",
            Level::Suspicious => "suspicious",
            Level::Malicious => "malicious",
        }
    }

    /// The CSS class of its colour.
    pub fn class(self) -> &'static str {
        match self {
            Level::Info => "tax tax-info",
            Level::Safe => "tax tax-safe",
            Level::Suspicious => "tax tax-suspicious",
            Level::Malicious => "tax tax-malicious",
        }
    }
}

/// One label.
pub fn label(namespace: &str, predicate: &str, value: &str, level: Level) -> Html {
    let mut out = String::with_capacity(64 + namespace.len() + predicate.len() + value.len());
    out.push_str("<span class=\"");
    out.push_str(level.class());
    out.push_str("\" title=\"");
    out.push_str(level.as_str());
    out.push_str("\">");
    escape(&mut out, namespace);
    out.push(':');
    escape(&mut out, predicate);
    out.push_str("=\"");
    escape(&mut out, value);
    out.push_str("\"</span>");
    Html::from_trusted(out)
}

/// The labels of a list of taxonomy objects (`{level, namespace, predicate, value}`), e.g. a
/// report's `summary.taxonomies`; non-objects are skipped.
pub fn labels(taxonomies: &[Value]) -> Html {
    let mut out = String::new();
    for taxonomy in taxonomies {
        let field = |name: &str| match taxonomy.get(name) {
            Some(Value::String(text)) => text.clone(),
            Some(Value::Null) | None => String::new(),
            Some(other) => other.to_string(),
        };
        if !taxonomy.is_object() {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(
            label(
                &field("namespace"),
                &field("predicate"),
                &field("value"),
                Level::parse(&field("level")),
            )
            .as_str(),
        );
    }
    Html::from_trusted(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn labels_are_coloured_by_level_and_escaped() {
        let html = labels(&[
            json!({"level": "malicious", "namespace": "VT", "predicate": "GetReport", "value": "<b>5/70</b>"}),
            json!({"level": "weird", "namespace": "A", "predicate": "B", "value": 3}),
        ]);
        assert_eq!(
            html.as_str(),
            "<span class=\"tax tax-malicious\" title=\"malicious\">VT:GetReport=\"&lt;b&gt;5/70&lt;/b&gt;\"</span> \
             <span class=\"tax tax-info\" title=\"info\">A:B=\"3\"</span>"
        );
    }
}
