//! The collapsible, searchable JSON view of a report: nested `<details>` (collapsible without
//! any script, keyboard-operable), every key and value escaped, and a search box that the
//! script wires to hide non-matching rows and open the branches of matching ones.

use serde_json::Value;

use crate::{Html, escape};

/// Branches deeper than this start collapsed.
const OPEN_DEPTH: usize = 2;
/// Past this many nodes the rest is left out (a note says so): a page must stay small.
const MAX_NODES: usize = 20_000;

/// Renders `value` as a JSON view with a search box labelled `label`.
pub fn render(value: &Value, label: &str) -> Html {
    let mut out = String::with_capacity(1024);
    out.push_str("<div class=\"json-view\"><input type=\"search\" class=\"json-search\" data-json-search placeholder=\"Search ");
    escape(&mut out, label);
    out.push_str("\" aria-label=\"Search ");
    escape(&mut out, label);
    out.push_str("\"><ul class=\"json-tree\">");
    let mut budget = MAX_NODES;
    node(&mut out, None, value, 0, &mut budget);
    out.push_str("</ul>");
    if budget == 0 {
        out.push_str("<p class=\"muted\">The report is too large to show whole; download it from the API.</p>");
    }
    out.push_str("</div>");
    Html::from_trusted(out)
}

fn key(out: &mut String, key: Option<&str>) {
    if let Some(key) = key {
        out.push_str("<span class=\"jv-key\">");
        escape(out, key);
        out.push_str("</span>: ");
    }
}

fn node(out: &mut String, name: Option<&str>, value: &Value, depth: usize, budget: &mut usize) {
    if *budget == 0 {
        return;
    }
    *budget -= 1;
    match value {
        Value::Object(map) => branch(
            out,
            name,
            &format!("{{{}}}", map.len()),
            depth,
            map.iter().map(|(key, value)| (Some(key.as_str()), value)),
            budget,
        ),
        Value::Array(items) => branch(
            out,
            name,
            &format!("[{}]", items.len()),
            depth,
            items.iter().map(|value| (None, value)),
            budget,
        ),
        scalar => {
            out.push_str("<li class=\"jv-row\">");
            key(out, name);
            let (class, text) = match scalar {
                Value::String(text) => ("jv-str", format!("\"{text}\"")),
                Value::Number(number) => ("jv-num", number.to_string()),
                Value::Bool(flag) => ("jv-bool", flag.to_string()),
                _ => ("jv-null", "null".to_owned()),
            };
            out.push_str("<span class=\"");
            out.push_str(class);
            out.push_str("\">");
            escape(out, &text);
            out.push_str("</span></li>");
        }
    }
}

fn branch<'a>(
    out: &mut String,
    name: Option<&str>,
    size: &str,
    depth: usize,
    children: impl Iterator<Item = (Option<&'a str>, &'a Value)>,
    budget: &mut usize,
) {
    out.push_str("<li class=\"jv-branch\"><details");
    if depth < OPEN_DEPTH {
        out.push_str(" open");
    }
    out.push_str("><summary>");
    key(out, name);
    out.push_str("<span class=\"jv-size\">");
    out.push_str(size);
    out.push_str("</span></summary><ul>");
    for (key, child) in children {
        node(out, key, child, depth + 1, budget);
    }
    out.push_str("</ul></details></li>");
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_and_values_are_escaped_and_branches_collapse_when_deep() {
        let html = render(
            &json!({"<k>": "<script>x</script>", "a": {"b": {"c": [1, true, null]}}}),
            "report",
        );
        let html = html.as_str();
        assert!(html.contains("&lt;k&gt;"), "{html}");
        assert!(
            html.contains("&quot;&lt;script&gt;x&lt;/script&gt;&quot;"),
            "{html}"
        );
        assert!(!html.contains("<script>"), "{html}");
        assert_eq!(html.matches("<details open>").count(), 2, "{html}");
        assert_eq!(html.matches("<details>").count(), 2, "{html}");
        assert!(
            html.contains("<span class=\"jv-size\">[3]</span>"),
            "{html}"
        );
    }
}
