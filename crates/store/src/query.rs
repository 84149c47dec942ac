//! The TheHive/Cortex query DSL as a typed tree, and its parser from JSON.
//!
//! [`Query::parse`] is a pure function from the JSON a client sends to a [`Query`]; anything
//! malformed gives [`StoreError::InvalidQuery`](crate::StoreError::InvalidQuery), never a
//! panic. Field names are dotted paths into the document body; `_id` names the document id.
//! Backends translate the tree: SQLite to SQL, Elasticsearch to its query JSON.

use serde_json::Value;

/// A query over documents of one kind.
#[derive(Debug, Clone, PartialEq)]
pub enum Query {
    /// Every document (`{}`, `{"_any": …}`).
    All,
    /// All sub-queries match (`_and`; empty list: all documents).
    And(Vec<Query>),
    /// At least one sub-query matches (`_or`; empty list: no document).
    Or(Vec<Query>),
    /// The sub-query does not match (`_not`).
    Not(Box<Query>),
    /// Exact match of a scalar (`{"_field": f, "_value": v}` or `{f: v}`). On an array field,
    /// matches when any element equals the value. Strings compare case-sensitively.
    Eq {
        /// Dotted field path.
        field: String,
        /// String, number or boolean.
        value: Value,
    },
    /// One-sided range (`_gt`, `_gte`, `_lt`, `_lte`).
    Range {
        /// Dotted field path.
        field: String,
        /// Which comparison.
        op: RangeOp,
        /// The bound.
        value: Value,
    },
    /// Open interval `from < field < to` (`_between`).
    Between {
        /// Dotted field path.
        field: String,
        /// Exclusive lower bound.
        from: Value,
        /// Exclusive upper bound.
        to: Value,
    },
    /// Field equals one of the values (`_in`).
    In {
        /// Dotted field path.
        field: String,
        /// Accepted values.
        values: Vec<Value>,
    },
    /// Field is present and not null (`_contains`).
    Exists(String),
    /// Document id is one of these (`_id`).
    Id(Vec<String>),
    /// Full-text match of the words of `text` in the field (`_like`): every word must occur,
    /// case-insensitively.
    Like {
        /// Dotted field path.
        field: String,
        /// Words to find.
        text: String,
    },
    /// Wildcard match on the raw value: `*` any run, `?` one character (`_wildcard`).
    Wildcard {
        /// Dotted field path.
        field: String,
        /// Pattern.
        pattern: String,
    },
    /// A Lucene query string (`_string`), kept raw for Elasticsearch and parsed into a tree
    /// of the other variants for backends that evaluate it themselves.
    QueryString {
        /// The text the client sent.
        raw: String,
        /// Its meaning as a tree (bare words become [`Query::FullText`]).
        parsed: Box<Query>,
    },
    /// Words found anywhere in the document's text (a bare word of a `_string` query).
    FullText(String),
    /// Documents of this kind (`_type`). A search is already scoped to one kind, so this is
    /// true when it names that kind and false otherwise.
    Type(String),
    /// Children whose parent (of `kind`) matches `query` (`_parent`; with `_id` the query is
    /// [`Query::Id`]).
    Parent {
        /// Kind of the parent.
        kind: String,
        /// What the parent must match.
        query: Box<Query>,
    },
    /// Parents having at least one child of `kind` matching `query` (`_child`).
    Child {
        /// Kind of the children.
        kind: String,
        /// What a child must match.
        query: Box<Query>,
    },
}

/// The comparison of a one-sided range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeOp {
    /// `>`
    Gt,
    /// `>=`
    Gte,
    /// `<`
    Lt,
    /// `<=`
    Lte,
}

mod dsl;
mod lucene;

pub use lucene::parse_query_string;

impl Query {
    /// Parses the JSON query DSL of TheHive and Cortex (see the module documentation and the
    /// specs) into a typed tree. `null` and `{}` match everything.
    ///
    /// Lenient on purpose where clients are: `{"_gt": {"_field": f, "_value": v}}` is accepted
    /// next to `{"_gt": {f: v}}`, an object with several plain keys means all of them, and
    /// `{f: null}` means the field is missing.
    pub fn parse(json: &Value) -> crate::Result<Query> {
        dsl::parse(json)
    }

    /// A query that matches every document whose `field` equals `value`.
    pub fn eq(field: impl Into<String>, value: impl Into<Value>) -> Query {
        Query::Eq {
            field: field.into(),
            value: value.into(),
        }
    }

    /// The conjunction of `self` and `other`, flattening nested `And`s and dropping `All`.
    pub fn and(self, other: Query) -> Query {
        let mut parts = Vec::new();
        for query in [self, other] {
            match query {
                Query::All => {}
                Query::And(inner) => parts.extend(inner),
                other => parts.push(other),
            }
        }
        match parts.len() {
            0 => Query::All,
            1 => parts.pop().unwrap_or(Query::All),
            _ => Query::And(parts),
        }
    }
}

pub(crate) use dsl::type_name as dsl_type_name;
