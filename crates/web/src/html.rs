//! [`Html`]: markup this crate produced and vouches for; everything else is escaped.

use std::fmt;

/// A piece of HTML that is safe to write into a page unescaped (`{{ value|safe }}`): produced
/// by this crate's renderers from escaped or sanitized input.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Html(String);

impl Html {
    /// Wraps markup the caller built from escaped parts. Never pass attacker-controlled text.
    pub fn from_trusted(markup: String) -> Html {
        Html(markup)
    }

    /// Escapes plain text.
    pub fn text(text: &str) -> Html {
        let mut out = String::with_capacity(text.len());
        escape(&mut out, text);
        Html(out)
    }

    /// The markup.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The markup, owned.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for Html {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

/// Appends `text` to `out` with `& < > " '` escaped (valid in text and in quoted attributes).
pub fn escape(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_for_elements_and_attributes() {
        assert_eq!(
            Html::text(r#"<img src=x onerror="a('b')">&"#).as_str(),
            "&lt;img src=x onerror=&quot;a(&#39;b&#39;)&quot;&gt;&amp;"
        );
    }
}
