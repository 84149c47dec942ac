//! HTML mail bodies to readable Markdown: paragraphs and line breaks kept, links as
//! `[text](href)`, lists as `- item`, headings as `#`, bold/italic, scripts, styles and the
//! document head dropped, entities decoded. A small tolerant scanner, not a full HTML parser:
//! mail HTML is often broken, and the result only has to read well.

/// Converts an HTML body to Markdown.
pub fn to_markdown(html: &str) -> String {
    let mut out = String::with_capacity(html.len() / 2);
    let mut rest = html;
    let mut skip_until: Option<&'static str> = None;
    let mut link: Option<(String, usize)> = None;
    let mut list_depth = 0usize;
    while !rest.is_empty() {
        let Some(open) = rest.find('<') else {
            if skip_until.is_none() {
                push_text(&mut out, rest);
            }
            break;
        };
        if skip_until.is_none() {
            push_text(&mut out, &rest[..open]);
        }
        rest = &rest[open..];
        if rest.starts_with("<!--") {
            rest = rest.find("-->").map_or("", |end| &rest[end + 3..]);
            continue;
        }
        let Some(close) = rest.find('>') else {
            if skip_until.is_none() {
                push_text(&mut out, rest);
            }
            break;
        };
        let tag = &rest[1..close];
        rest = &rest[close + 1..];
        let closing = tag.starts_with('/');
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        if let Some(end) = skip_until {
            if closing && name == end {
                skip_until = None;
            }
            continue;
        }
        match (name.as_str(), closing) {
            ("script", false) => skip_until = Some("script"),
            ("style", false) => skip_until = Some("style"),
            ("head", false) => skip_until = Some("head"),
            ("title", false) => skip_until = Some("title"),
            ("br", _) => out.push_str("  \n"),
            ("p" | "div" | "table" | "tr" | "blockquote" | "section" | "article", _) => {
                block_break(&mut out)
            }
            ("td" | "th", true) => out.push_str(" | "),
            ("hr", _) => {
                block_break(&mut out);
                out.push_str("---\n\n");
            }
            ("h1" | "h2" | "h3" | "h4" | "h5" | "h6", false) => {
                block_break(&mut out);
                let level = name[1..].parse::<usize>().unwrap_or(1);
                out.push_str(&"#".repeat(level));
                out.push(' ');
            }
            ("h1" | "h2" | "h3" | "h4" | "h5" | "h6", true) => block_break(&mut out),
            ("ul" | "ol", false) => {
                list_depth += 1;
                line_break(&mut out);
            }
            ("ul" | "ol", true) => {
                list_depth = list_depth.saturating_sub(1);
                block_break(&mut out);
            }
            ("li", false) => {
                line_break(&mut out);
                out.push_str(&"  ".repeat(list_depth.saturating_sub(1)));
                out.push_str("- ");
            }
            ("b" | "strong", _) => out.push_str("**"),
            ("i" | "em", _) => out.push('*'),
            ("a", false) => {
                link = attribute(tag, "href").map(|href| (decode_entities(&href), out.len()));
            }
            ("a", true) => {
                if let Some((href, start)) = link.take() {
                    let text = out[start..].trim().to_owned();
                    out.truncate(start);
                    if text.is_empty() || text == href {
                        out.push_str(&href);
                    } else {
                        out.push_str(&format!("[{text}]({href})"));
                    }
                }
            }
            ("img", _) => {
                if let Some(alt) = attribute(tag, "alt").filter(|alt| !alt.is_empty()) {
                    out.push_str(&format!("[image: {}]", decode_entities(&alt)));
                }
            }
            _ => {}
        }
    }
    tidy(&out)
}

/// Appends text with HTML whitespace collapsed and entities decoded.
fn push_text(out: &mut String, text: &str) {
    let decoded = decode_entities(text);
    let mut last_space = out.ends_with([' ', '\n']) || out.is_empty();
    for c in decoded.chars() {
        if c.is_whitespace() && c != '\u{a0}' {
            if !last_space {
                out.push(' ');
                last_space = true;
            }
        } else {
            out.push(if c == '\u{a0}' { ' ' } else { c });
            last_space = false;
        }
    }
}

fn line_break(out: &mut String) {
    let trimmed = out.trim_end_matches(' ').len();
    out.truncate(trimmed);
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
}

fn block_break(out: &mut String) {
    line_break(out);
    if !out.is_empty() && !out.ends_with("\n\n") {
        out.push('\n');
    }
}

/// Blank lines at most two in a row, no trailing spaces at line ends (except Markdown breaks).
fn tidy(text: &str) -> String {
    let mut result = String::with_capacity(text.len());
    let mut blank = 0;
    for line in text.lines() {
        let kept = if line.ends_with("  ") && !line.trim().is_empty() {
            format!("{}  ", line.trim())
        } else {
            line.trim().to_owned()
        };
        if kept.is_empty() {
            blank += 1;
            if blank > 1 {
                continue;
            }
        } else {
            blank = 0;
        }
        result.push_str(&kept);
        result.push('\n');
    }
    result.trim().to_owned()
}

/// The value of attribute `name` in a tag's text (quoted or not).
fn attribute(tag: &str, name: &str) -> Option<String> {
    let lower = tag.to_ascii_lowercase();
    let mut from = 0;
    while let Some(found) = lower[from..].find(name) {
        let at = from + found;
        from = at + name.len();
        let before_ok = at > 0 && lower.as_bytes()[at - 1].is_ascii_whitespace();
        let after = lower[from..].trim_start();
        if !before_ok || !after.starts_with('=') {
            continue;
        }
        let value_start = tag.len() - after.len() + 1;
        let value = tag[value_start..].trim_start();
        return Some(match value.chars().next() {
            Some(quote @ ('"' | '\'')) => value[1..]
                .split(quote)
                .next()
                .unwrap_or_default()
                .to_owned(),
            _ => value
                .split(|c: char| c.is_whitespace() || c == '>')
                .next()
                .unwrap_or_default()
                .trim_end_matches('/')
                .to_owned(),
        });
    }
    None
}

/// Decodes the named entities mail HTML uses and every numeric one.
pub fn decode_entities(text: &str) -> String {
    if !text.contains('&') {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let end = rest[1..].find(';').map(|i| i + 1).filter(|&i| i <= 10);
        let Some(end) = end else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let entity = &rest[1..end];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            "nbsp" => Some('\u{a0}'),
            "copy" => Some('©'),
            "reg" => Some('®'),
            "euro" => Some('€'),
            "hellip" => Some('…'),
            "mdash" => Some('—'),
            "ndash" => Some('–'),
            "rsquo" | "lsquo" => Some('\''),
            "rdquo" | "ldquo" => Some('"'),
            _ => entity
                .strip_prefix("#x")
                .or_else(|| entity.strip_prefix("#X"))
                .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|dec| dec.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paragraphs_links_lists_and_emphasis_become_markdown() {
        let html = r#"<html><head><title>x</title><style>p{color:red}</style></head>
<body><h1>Alert</h1><p>Hello <b>team</b>,<br>please check
<a href="https://evil.example.com/a?b=1&amp;c=2">this link</a>.</p>
<ul><li>one</li><li>two &amp; three</li></ul><script>alert(1)</script><p>Bye&nbsp;now</p></body></html>"#;
        let markdown = to_markdown(html);
        assert_eq!(
            markdown,
            "# Alert\n\nHello **team**,  \nplease check [this link](https://evil.example.com/a?b=1&c=2).\n\n- one\n- two & three\n\nBye now"
        );
    }

    #[test]
    fn broken_html_still_gives_its_text() {
        assert_eq!(to_markdown("<p>unclosed <b>bold"), "unclosed **bold");
        assert_eq!(to_markdown("text < 5 and <"), "text < 5 and <");
    }

    #[test]
    fn numeric_entities_decode() {
        assert_eq!(
            decode_entities("&#72;&#x69; &unknown; & x"),
            "Hi &unknown; & x"
        );
    }
}
