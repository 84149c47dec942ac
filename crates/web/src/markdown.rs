//! Markdown to HTML (pulldown-cmark), then sanitized (ammonia): raw HTML in the source survives
//! only as the allow-listed tags and attributes, links keep only `http`, `https` and `mailto`
//! targets and get `rel="noopener noreferrer nofollow"`.

use std::collections::HashSet;
use std::sync::LazyLock;

use pulldown_cmark::{Options, Parser, html};

use crate::Html;

static SANITIZER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut builder = ammonia::Builder::default();
    builder
        .url_schemes(HashSet::from(["http", "https", "mailto"]))
        .link_rel(Some("noopener noreferrer nofollow"))
        // Images would load from anywhere (tracking pixels in reported mails): the policy
        // forbids remote images anyway, so they are dropped rather than shown broken.
        .rm_tags(["img"]);
    builder
});

/// Renders Markdown (CommonMark with tables and strikethrough) to sanitized HTML.
pub fn render(source: &str) -> Html {
    let mut options = Options::empty();
    options.insert(Options::ENABLE_TABLES);
    options.insert(Options::ENABLE_STRIKETHROUGH);
    let mut raw = String::with_capacity(source.len() + source.len() / 4);
    html::push_html(&mut raw, Parser::new_ext(source, options));
    sanitize(&raw)
}

/// Sanitizes untrusted HTML with the same rules as rendered Markdown.
pub fn sanitize(untrusted: &str) -> Html {
    Html::from_trusted(SANITIZER.clean(untrusted).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_handlers_and_javascript_links_are_removed() {
        let html = render(
            "# Hi\n\n<script>alert(1)</script><b onclick=\"x()\">bold</b>\n\n\
             [click](javascript:alert(2)) [ok](https://example.org) <img src=x onerror=alert(3)>",
        );
        let html = html.as_str();
        assert!(html.contains("<h1>Hi</h1>"), "{html}");
        assert!(html.contains("<b>bold</b>"), "{html}");
        assert!(!html.contains("script"), "{html}");
        assert!(!html.contains("onclick"), "{html}");
        assert!(!html.contains("javascript:"), "{html}");
        assert!(!html.contains("onerror"), "{html}");
        assert!(
            html.contains(
                r#"<a href="https://example.org" rel="noopener noreferrer nofollow">ok</a>"#
            ),
            "{html}"
        );
    }
}
