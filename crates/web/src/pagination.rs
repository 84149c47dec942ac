//! Paging and sorting read from the query string, and the pager links under a list. Lists are
//! always paged by the server: a page never holds more than [`MAX_PER_PAGE`] rows.

use crate::{Html, escape};

/// Rows per page unless the query asks otherwise.
pub const DEFAULT_PER_PAGE: u64 = 25;
/// The most rows a page may ask for.
pub const MAX_PER_PAGE: u64 = 200;

/// One page of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    /// 1-based page number.
    pub page: u64,
    /// Rows per page.
    pub per_page: u64,
}

impl Paging {
    /// From the `page` and `per_page` query parameters (missing, zero or huge values are
    /// clamped).
    pub fn new(page: Option<u64>, per_page: Option<u64>) -> Paging {
        Paging {
            page: page.unwrap_or(1).max(1),
            per_page: per_page.unwrap_or(DEFAULT_PER_PAGE).clamp(1, MAX_PER_PAGE),
        }
    }

    /// Rows to skip.
    pub fn offset(&self) -> u64 {
        (self.page - 1).saturating_mul(self.per_page)
    }

    /// Number of pages for `total` rows (at least 1).
    pub fn pages(&self, total: u64) -> u64 {
        total.div_ceil(self.per_page).max(1)
    }

    /// The pager: previous/next links keeping `params` (the list's filters and sort), and
    /// "Page x of y (n)". `base` is the list's path.
    pub fn nav(&self, base: &str, params: &[(&str, &str)], total: u64) -> Html {
        let link = |page: u64| {
            let mut href = String::from(base);
            href.push('?');
            for (name, value) in params.iter().filter(|(_, value)| !value.is_empty()) {
                href.push_str(&urlencoding::encode(name));
                href.push('=');
                href.push_str(&urlencoding::encode(value));
                href.push('&');
            }
            href.push_str(&format!("page={page}&per_page={}", self.per_page));
            href
        };
        let pages = self.pages(total);
        let mut out = String::from("<nav class=\"pager\" aria-label=\"Pages\">");
        if self.page > 1 {
            out.push_str("<a rel=\"prev\" href=\"");
            escape(&mut out, &link(self.page - 1));
            out.push_str("\">← Previous</a>");
        }
        out.push_str(&format!(
            "<span>Page {} of {pages} ({total} in all)</span>",
            self.page.min(pages)
        ));
        if self.page < pages {
            out.push_str("<a rel=\"next\" href=\"");
            escape(&mut out, &link(self.page + 1));
            out.push_str("\">Next →</a>");
        }
        out.push_str("</nav>");
        Html::from_trusted(out)
    }
}

/// A sort order read from `sort=field` or `sort=-field` (descending), restricted to `allowed`
/// fields; anything else gives `default`.
pub fn sort<'a>(
    query: Option<&str>,
    allowed: &[&'a str],
    default: (&'a str, bool),
) -> (&'a str, bool) {
    let Some(query) = query else {
        return default;
    };
    let (field, ascending) = match query.strip_prefix('-') {
        Some(field) => (field, false),
        None => (query.strip_prefix('+').unwrap_or(query), true),
    };
    allowed
        .iter()
        .find(|allowed| **allowed == field)
        .map(|field| (*field, ascending))
        .unwrap_or(default)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paging_clamps_and_links_keep_filters() {
        let paging = Paging::new(Some(2), Some(10_000));
        assert_eq!(paging.per_page, MAX_PER_PAGE);
        assert_eq!(paging.offset(), 200);
        let nav =
            Paging::new(Some(2), Some(10)).nav("/jobs", &[("status", "Success"), ("q", "a&b")], 35);
        let nav = nav.as_str();
        assert!(
            nav.contains("href=\"/jobs?status=Success&amp;q=a%26b&amp;page=1&amp;per_page=10\""),
            "{nav}"
        );
        assert!(nav.contains("page=3"), "{nav}");
        assert!(nav.contains("Page 2 of 4 (35 in all)"), "{nav}");
        assert_eq!(Paging::new(None, Some(0)).per_page, 1);
    }

    #[test]
    fn sort_accepts_only_allowed_fields() {
        let allowed = ["createdAt", "status"];
        assert_eq!(
            sort(Some("-status"), &allowed, ("createdAt", false)),
            ("status", false)
        );
        assert_eq!(
            sort(Some("status"), &allowed, ("createdAt", false)),
            ("status", true)
        );
        assert_eq!(
            sort(Some("password"), &allowed, ("createdAt", false)),
            ("createdAt", false)
        );
    }
}
