//! Documents as stored and returned, and the paging/sorting vocabulary of searches.

use serde_json::{Map, Value};

/// Optimistic-concurrency version of a stored document. SQLite counts writes in `seq_no` with a
/// `primary_term` of 1; Elasticsearch reports its own pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Version {
    /// Sequence number of the last write.
    pub seq_no: u64,
    /// Primary term of the last write.
    pub primary_term: u64,
}

/// A document to create.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewDocument {
    /// The caller's id; generated when `None`.
    pub id: Option<String>,
    /// Id of the parent document (of another kind), for `_parent`/`_child` queries.
    pub parent: Option<String>,
    /// The JSON body.
    pub body: Map<String, Value>,
}

/// A stored document.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// Its id.
    pub id: String,
    /// Its parent's id, if any.
    pub parent: Option<String>,
    /// Its current version.
    pub version: Version,
    /// Its JSON body.
    pub body: Map<String, Value>,
}

/// A window of search results: `offset` then at most `limit` documents (`None`: all).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// Number of documents skipped.
    pub offset: u64,
    /// Maximum number returned; `None` for all.
    pub limit: Option<u64>,
}

impl Page {
    /// Every match.
    pub const ALL: Page = Page {
        offset: 0,
        limit: None,
    };

    /// Parses the TheHive/Cortex `range` parameter: `"all"`, `"a-b"` (end exclusive), `"a"`
    /// (10 from a); missing gives `0-10`; `b <= a` gives a limit of 10; garbage offsets give 0.
    pub fn parse_range(range: Option<&str>) -> Page {
        const DEFAULT_LIMIT: u64 = 10;
        let Some(range) = range.map(str::trim) else {
            return Page {
                offset: 0,
                limit: Some(DEFAULT_LIMIT),
            };
        };
        if range.eq_ignore_ascii_case("all") {
            return Page::ALL;
        }
        let (start, end) = match range.split_once('-') {
            Some((start, end)) => (start, Some(end)),
            None => (range, None),
        };
        let offset = start.trim().parse::<u64>().unwrap_or(0);
        let limit = match end.and_then(|end| end.trim().parse::<u64>().ok()) {
            Some(end) if end > offset => end - offset,
            _ => DEFAULT_LIMIT,
        };
        Page {
            offset,
            limit: Some(limit),
        }
    }
}

/// One sort key: a (dotted) field name and a direction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sort {
    /// Field path; `_id` sorts by document id.
    pub field: String,
    /// True for descending.
    pub descending: bool,
}

impl Sort {
    /// Parses `+field`, `-field` or `field`; empty names give `None`.
    pub fn parse(text: &str) -> Option<Sort> {
        let text = text.trim();
        let (field, descending) = match text.as_bytes().first()? {
            b'-' => (&text[1..], true),
            b'+' => (&text[1..], false),
            _ => (text, false),
        };
        (!field.is_empty()).then(|| Sort {
            field: field.to_owned(),
            descending,
        })
    }

    /// Parses a list of sort keys, dropping duplicates of a field already listed.
    pub fn parse_list<'a>(texts: impl IntoIterator<Item = &'a str>) -> Vec<Sort> {
        let mut sorts: Vec<Sort> = Vec::new();
        for sort in texts.into_iter().filter_map(Sort::parse) {
            if !sorts.iter().any(|known| known.field == sort.field) {
                sorts.push(sort);
            }
        }
        sorts
    }
}

/// A page of search results and the total number of matches.
#[derive(Debug, Clone, PartialEq)]
pub struct Hits {
    /// Total matches, ignoring the page.
    pub total: u64,
    /// The documents of the page.
    pub documents: Vec<Document>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_forms_follow_the_thehive_rules() {
        assert_eq!(
            Page::parse_range(None),
            Page {
                offset: 0,
                limit: Some(10)
            }
        );
        assert_eq!(Page::parse_range(Some("all")), Page::ALL);
        assert_eq!(
            Page::parse_range(Some("5-15")),
            Page {
                offset: 5,
                limit: Some(10)
            }
        );
        assert_eq!(
            Page::parse_range(Some("7")),
            Page {
                offset: 7,
                limit: Some(10)
            }
        );
        assert_eq!(
            Page::parse_range(Some("9-3")),
            Page {
                offset: 9,
                limit: Some(10)
            }
        );
        assert_eq!(
            Page::parse_range(Some("x-3")),
            Page {
                offset: 0,
                limit: Some(3)
            }
        );
    }

    #[test]
    fn sort_lists_drop_repeated_fields() {
        let sorts = Sort::parse_list(["-createdAt", "+title", "createdAt", ""]);
        assert_eq!(
            sorts,
            vec![
                Sort {
                    field: "createdAt".into(),
                    descending: true
                },
                Sort {
                    field: "title".into(),
                    descending: false
                }
            ]
        );
    }
}
