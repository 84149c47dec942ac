//! Translation of a [`Query`] into an SQL condition over the `documents` table.
//!
//! Kind and path staging are resolved to their interned ids while translating (an unknown path
//! can match nothing, so its condition is the constant `0`); values travel as bound
//! parameters, never as SQL text.

use std::sync::Mutex;

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OptionalExtension};
use serde_json::Value;

use super::bitmaps::TermBitmaps;
use super::rows::RowSet;
use super::values::{MARKER_SQL, sql_number, sql_scalar};
use crate::query::{Query, RangeOp};
use crate::{Result, Sort};

/// Fields that name document metadata columns rather than body paths.
pub(super) fn column(field: &str) -> Option<&'static str> {
    match field {
        "_id" => Some("id"),
        "_parent" => Some("parent"),
        _ => None,
    }
}

/// Where a field's values are stored.
enum Target {
    /// A column of `documents` (`_id`, `_parent`).
    Column(&'static str),
    /// An interned body path in `field_values`.
    Path(i64),
}

impl Target {
    /// The SQL expression of the field's value inside [`Translator::on_values`].
    fn value(&self, alias: &str) -> String {
        match self {
            Target::Column(column) => format!("{alias}.{column}"),
            Target::Path(_) => "value".to_owned(),
        }
    }
}

/// How a leaf checks the long strings of a path, which are indexed by their marker only
/// (values.rs): `filter` is written over `s.value`, one long string of a candidate document;
/// `narrow` is an optional extra condition on the candidate `b.row`.
struct Long {
    filter: String,
    narrow: String,
}

/// The kind a (sub)query runs against.
#[derive(Debug, Clone)]
pub(super) struct Scope<'a> {
    pub(super) name: &'a str,
    pub(super) id: i64,
    /// The in-memory columns and the generation of the connection's snapshot, when the
    /// caller knows it (aggregations): equality leaves may then read a column's bitmaps.
    pub(super) columns: Option<(&'a Mutex<TermBitmaps>, u64)>,
}

impl<'a> Scope<'a> {
    /// A scope whose leaves always read the index.
    pub(super) fn plain(name: &'a str, id: i64) -> Scope<'a> {
        Scope {
            name,
            id,
            columns: None,
        }
    }
}

/// Builds conditions and collects their parameters.
pub(super) struct Translator<'c> {
    connection: &'c Connection,
    pub(super) params: Vec<SqlValue>,
    aliases: usize,
    /// Set by the row evaluator: a condition on a body path is written as the bare
    /// `SELECT doc FROM …` listing its rows, not as a condition on `alias`.
    pub(super) rows_only: bool,
    /// The file's long-string threshold, once read.
    long: Option<usize>,
    /// Whether the full-text index had every committed group, once read.
    text_caught_up: Option<bool>,
}

impl<'c> Translator<'c> {
    pub(super) fn new(connection: &'c Connection) -> Self {
        Translator {
            connection,
            params: Vec::new(),
            aliases: 0,
            rows_only: false,
            long: None,
            text_caught_up: None,
        }
    }

    /// Whether the full-text index has applied every group the main file committed (text.rs):
    /// only then may it narrow the documents whose long strings are read. While it is behind
    /// (a failed text write, until its replay), every body holding a long string is read.
    fn text_caught_up(&mut self) -> Result<bool> {
        if let Some(caught_up) = self.text_caught_up {
            return Ok(caught_up);
        }
        let caught_up: bool = self
            .connection
            .prepare_cached(
                "SELECT coalesce((SELECT applied FROM fts.text_state WHERE id = 1), 0) \
                 >= coalesce((SELECT value FROM meta WHERE key = 'text_group'), 0)",
            )
            .and_then(|mut statement| statement.query_row([], |row| row.get(0)))
            .map_err(super::backend)?;
        self.text_caught_up = Some(caught_up);
        Ok(caught_up)
    }

    /// The file's long-string threshold: strings longer than this have a marker row only.
    pub(super) fn long_bytes(&mut self) -> Result<usize> {
        if let Some(long) = self.long {
            return Ok(long);
        }
        let long = super::schema::long_text_bytes(self.connection).map_err(super::backend)?;
        self.long = Some(long);
        Ok(long)
    }

    pub(super) fn kind_id(&self, name: &str) -> Result<Option<i64>> {
        self.connection
            .prepare_cached("SELECT id FROM kinds WHERE name = ?1")
            .and_then(|mut statement| statement.query_row([name], |row| row.get(0)).optional())
            .map_err(super::backend)
    }

    pub(super) fn path_id(&self, name: &str) -> Result<Option<i64>> {
        self.connection
            .prepare_cached("SELECT id FROM paths WHERE name = ?1")
            .and_then(|mut statement| statement.query_row([name], |row| row.get(0)).optional())
            .map_err(super::backend)
    }

    /// Ids of `name` and of every path below it (`name.…`).
    fn path_ids_under(&self, name: &str) -> Result<Vec<i64>> {
        let lower = format!("{name}.");
        let upper = format!("{name}/");
        let mut statement = self
            .connection
            .prepare_cached("SELECT id FROM paths WHERE name = ?1 OR (name >= ?2 AND name < ?3)")
            .map_err(super::backend)?;
        let ids = statement
            .query_map([name, &lower, &upper], |row| row.get(0))
            .and_then(Iterator::collect)
            .map_err(super::backend)?;
        Ok(ids)
    }

    fn bind(&mut self, value: SqlValue) -> String {
        self.params.push(value);
        format!("?{}", self.params.len())
    }

    /// The condition that `alias` (a `documents` row of `scope`) matches `query`.
    pub(super) fn condition(
        &mut self,
        query: &Query,
        scope: &Scope<'_>,
        alias: &str,
    ) -> Result<String> {
        Ok(match query {
            Query::All => "1".into(),
            Query::And(parts) if parts.is_empty() => "1".into(),
            Query::Or(parts) if parts.is_empty() => "0".into(),
            Query::And(parts) => self.join(parts, " AND ", scope, alias)?,
            Query::Or(parts) => self.join(parts, " OR ", scope, alias)?,
            Query::Not(inner) => format!("NOT ({})", self.condition(inner, scope, alias)?),
            Query::Eq { field, value } => {
                self.equals(field, std::slice::from_ref(value), scope, alias)?
            }
            Query::In { field, values } => self.equals(field, values, scope, alias)?,
            Query::Range { field, op, value } => {
                self.range(field, &[(*op, value)], scope, alias)?
            }
            Query::Between { field, from, to } => self.range(
                field,
                &[(RangeOp::Gt, from), (RangeOp::Lt, to)],
                scope,
                alias,
            )?,
            Query::Exists(field) => self.exists(field, scope, alias)?,
            Query::Id(ids) => {
                if ids.is_empty() {
                    "0".into()
                } else {
                    let list = ids
                        .iter()
                        .map(|id| self.bind(SqlValue::Text(id.clone())))
                        .collect::<Vec<_>>()
                        .join(", ");
                    format!("{alias}.id IN ({list})")
                }
            }
            Query::Like { field, text } => self.like(field, text, scope, alias)?,
            Query::Wildcard { field, pattern } => self.wildcard(field, pattern, scope, alias)?,
            Query::QueryString { parsed, .. } => self.condition(parsed, scope, alias)?,
            Query::FullText(text) => match fts_expression(text) {
                None => "0".into(),
                Some(expression) => {
                    let parameter = self.bind(SqlValue::Text(expression));
                    format!(
                        "{alias}.row IN (SELECT rowid FROM fts.full_text WHERE full_text MATCH {parameter})"
                    )
                }
            },
            Query::Type(kind) => if kind == scope.name { "1" } else { "0" }.into(),
            Query::Parent { kind, query } => {
                let Some(id) = self.kind_id(kind)? else {
                    return Ok("0".into());
                };
                let inner = self.next_alias();
                let condition = self.condition(query, &Scope::plain(kind, id), &inner)?;
                format!(
                    "{alias}.parent IN (SELECT {inner}.id FROM documents {inner} \
                     WHERE {inner}.kind = {id} AND {inner}.deleted = 0 AND ({condition}))"
                )
            }
            Query::Child { kind, query } => {
                let Some(id) = self.kind_id(kind)? else {
                    return Ok("0".into());
                };
                let inner = self.next_alias();
                let condition = self.condition(query, &Scope::plain(kind, id), &inner)?;
                format!(
                    "{alias}.id IN (SELECT {inner}.parent FROM documents {inner} \
                     WHERE {inner}.kind = {id} AND {inner}.deleted = 0 \
                     AND {inner}.parent IS NOT NULL AND ({condition}))"
                )
            }
        })
    }

    fn next_alias(&mut self) -> String {
        self.aliases += 1;
        format!("j{}", self.aliases)
    }

    fn join(
        &mut self,
        parts: &[Query],
        separator: &str,
        scope: &Scope<'_>,
        alias: &str,
    ) -> Result<String> {
        let mut conditions = Vec::with_capacity(parts.len());
        for part in parts {
            conditions.push(format!("({})", self.condition(part, scope, alias)?));
        }
        Ok(conditions.join(separator))
    }

    /// Where a field's values live: a metadata column, a known path, or nowhere (`None`).
    fn target(&self, field: &str) -> Result<Option<Target>> {
        if let Some(column) = column(field) {
            return Ok(Some(Target::Column(column)));
        }
        Ok(self.path_id(field)?.map(Target::Path))
    }

    /// The condition that the field's value satisfies `filter` (written over `value`), or for
    /// the long strings of a path, `long`.
    fn on_values(
        &mut self,
        target: &Target,
        field: &str,
        filter: &str,
        long: Option<Long>,
        scope: &Scope<'_>,
        alias: &str,
    ) -> Result<String> {
        Ok(match target {
            Target::Column(_) => format!("({filter})"),
            Target::Path(path) => {
                let kind = scope.id;
                let exact = format!(
                    "SELECT doc FROM field_values WHERE kind = {kind} AND path = {path} AND {filter}"
                );
                let rows = match long {
                    None => exact,
                    Some(Long {
                        filter: long_filter,
                        narrow,
                    }) => {
                        let bytes = self.long_bytes()?;
                        let name = self.bind(SqlValue::Text(field.to_owned()));
                        // A narrowed read looks at a few candidates: each is looked up among
                        // the markers, instead of collecting every document with one.
                        let marked = if narrow.is_empty() {
                            let markers = self.bind(SqlValue::Blob(
                                marker_rows(self.connection, kind, *path)?.to_blob(),
                            ));
                            format!("skep_member({markers}, b.row)")
                        } else {
                            marked_row(self.connection, kind, *path)?
                        };
                        let strings = long_strings_from(
                            kind,
                            field,
                            &name,
                            bytes,
                            &marked,
                            !narrow.is_empty(),
                        );
                        format!(
                            "SELECT doc FROM ({exact} UNION ALL SELECT b.row AS doc {strings}\
                             {narrow} AND {long_filter})"
                        )
                    }
                };
                if self.rows_only {
                    rows
                } else {
                    format!("{alias}.row IN ({rows})")
                }
            }
        })
    }

    fn equals(
        &mut self,
        field: &str,
        values: &[Value],
        scope: &Scope<'_>,
        alias: &str,
    ) -> Result<String> {
        let candidates: Vec<SqlValue> = values.iter().flat_map(equal_candidates).collect();
        let Some(target) = self.target(field)? else {
            return Ok("0".into());
        };
        if candidates.is_empty() {
            return Ok("0".into());
        }
        let long = match target {
            Target::Path(_) => {
                let bytes = self.long_bytes()?;
                candidates
                    .iter()
                    .filter_map(|candidate| match candidate {
                        SqlValue::Text(text) if text.len() > bytes => Some(text.clone()),
                        _ => None,
                    })
                    .collect()
            }
            Target::Column(_) => Vec::new(),
        };
        let list = candidates
            .into_iter()
            .map(|value| self.bind(value))
            .collect::<Vec<_>>()
            .join(", ");
        let long = if long.is_empty() {
            None
        } else {
            // A long value is one of the document's texts, so its words are in the full-text
            // index as a phrase: that finds the few documents whose bodies need a look.
            let caught_up = self.text_caught_up()?;
            let narrow = match phrases(&long).filter(|_| caught_up) {
                Some(expression) => {
                    let parameter = self.bind(SqlValue::Text(expression));
                    format!(
                        " AND b.row IN (SELECT rowid FROM fts.full_text \
                         WHERE full_text MATCH {parameter})"
                    )
                }
                None => String::new(),
            };
            let list = long
                .into_iter()
                .map(|value| self.bind(SqlValue::Text(value)))
                .collect::<Vec<_>>()
                .join(", ");
            Some(Long {
                filter: format!("s.value IN ({list})"),
                narrow,
            })
        };
        self.on_values(
            &target,
            field,
            &format!("{} IN ({list})", target.value(alias)),
            long,
            scope,
            alias,
        )
    }

    fn range(
        &mut self,
        field: &str,
        bounds: &[(RangeOp, &Value)],
        scope: &Scope<'_>,
        alias: &str,
    ) -> Result<String> {
        let Some(target) = self.target(field)? else {
            return Ok("0".into());
        };
        let mut typed = Vec::new();
        for (op, bound) in bounds {
            let Some(bound) = range_bound(bound) else {
                return Ok("0".into());
            };
            typed.push((*op, bound));
        }
        let value = target.value(alias);
        let mut filters = Vec::new();
        // Long strings are text: a numeric bound excludes them.
        let mut long = Some(Vec::new());
        for (op, bound) in typed {
            let numeric = !matches!(bound, SqlValue::Text(_));
            let symbol = match op {
                RangeOp::Gt => ">",
                RangeOp::Gte => ">=",
                RangeOp::Lt => "<",
                RangeOp::Lte => "<=",
            };
            let parameter = self.bind(bound);
            filters.push(format!("{value} {symbol} {parameter}"));
            // Numbers sort before text, and text before the long-string marker (a blob), in
            // SQLite: keep each bound within its own type.
            match (numeric, op) {
                (true, RangeOp::Gt | RangeOp::Gte) => filters.push(format!("{value} < ''")),
                (false, RangeOp::Lt | RangeOp::Lte) => filters.push(format!("{value} >= ''")),
                (false, RangeOp::Gt | RangeOp::Gte) => {
                    filters.push(format!("{value} < {MARKER_SQL}"));
                }
                _ => {}
            }
            if numeric {
                long = None;
            } else if let Some(long) = long.as_mut() {
                long.push(format!("s.value {symbol} {parameter}"));
            }
        }
        let long = long.map(|filters| Long {
            filter: filters.join(" AND "),
            narrow: String::new(),
        });
        self.on_values(&target, field, &filters.join(" AND "), long, scope, alias)
    }

    fn exists(&mut self, field: &str, scope: &Scope<'_>, alias: &str) -> Result<String> {
        if let Some(column) = column(field) {
            return Ok(format!("{alias}.{column} IS NOT NULL"));
        }
        let ids = self.path_ids_under(field)?;
        if ids.is_empty() {
            return Ok("0".into());
        }
        let list = ids
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        let rows = format!(
            "SELECT doc FROM field_values WHERE kind = {} AND path IN ({list})",
            scope.id
        );
        Ok(if self.rows_only {
            rows
        } else {
            format!("{alias}.row IN ({rows})")
        })
    }

    fn like(&mut self, field: &str, text: &str, scope: &Scope<'_>, alias: &str) -> Result<String> {
        let Some(target) = self.target(field)? else {
            return Ok("0".into());
        };
        let parameter = self.bind(SqlValue::Text(text.to_owned()));
        // Each wanted word is a word of the long string, so the full-text index (which has
        // every word of the document) narrows the bodies to read. The words go as written, so
        // the index folds their case exactly as it folded the document's text.
        let words: Vec<String> = crate::words::split(text).map(str::to_owned).collect();
        let caught_up = self.text_caught_up()?;
        let narrow = match phrases(&words).filter(|_| caught_up) {
            Some(_) => {
                let all = words
                    .iter()
                    .map(|word| quoted(word))
                    .collect::<Vec<_>>()
                    .join(" AND ");
                let expression = self.bind(SqlValue::Text(all));
                format!(
                    " AND b.row IN (SELECT rowid FROM fts.full_text \
                     WHERE full_text MATCH {expression})"
                )
            }
            None => String::new(),
        };
        let long = Long {
            filter: format!("skep_words(s.value, {parameter})"),
            narrow,
        };
        self.on_values(
            &target,
            field,
            &format!("skep_words({}, {parameter})", target.value(alias)),
            Some(long),
            scope,
            alias,
        )
    }

    fn wildcard(
        &mut self,
        field: &str,
        pattern: &str,
        scope: &Scope<'_>,
        alias: &str,
    ) -> Result<String> {
        let Some(target) = self.target(field)? else {
            return Ok("0".into());
        };
        let parameter = self.bind(SqlValue::Text(glob_pattern(pattern)));
        let value = target.value(alias);
        let filter = match target {
            // The marker reads as '' to GLOB.
            Target::Path(_) => format!("{value} GLOB {parameter} AND {value} < {MARKER_SQL}"),
            Target::Column(_) => format!("{value} GLOB {parameter}"),
        };
        let long = Long {
            filter: format!("s.value GLOB {parameter}"),
            narrow: String::new(),
        };
        self.on_values(&target, field, &filter, Some(long), scope, alias)
    }

    /// `ORDER BY` terms for `sorts`, then newest first.
    pub(super) fn order_by(&mut self, sorts: &[Sort], alias: &str) -> Result<String> {
        let mut terms = Vec::new();
        for sort in sorts {
            let direction = if sort.descending { "DESC" } else { "ASC" };
            let expression = match sort.field.as_str() {
                "_doc" | "_score" => continue,
                field => match column(field) {
                    Some(column) => format!("{alias}.{column}"),
                    None => match json_path(field) {
                        // Read from the body: a per-document index would double insert costs.
                        // Arrays sort by their JSON text; missing values go last either way.
                        Some(path) => {
                            format!("json_extract({alias}.body, '{}')", path.replace('\'', "''"))
                        }
                        None => continue,
                    },
                },
            };
            terms.push(format!("{expression} {direction} NULLS LAST"));
        }
        terms.push(format!("{alias}.row DESC"));
        Ok(terms.join(", "))
    }
}

/// The stored values an exact match on `value` accepts: numbers match their text and numeric
/// text matches the number, as a keyword or numeric Elasticsearch field would coerce.
pub(super) fn equal_candidates(value: &Value) -> Vec<SqlValue> {
    match value {
        Value::String(text) => {
            let mut candidates = vec![SqlValue::Text(text.clone())];
            if let Ok(number) = serde_json::from_str::<serde_json::Number>(text) {
                candidates.push(sql_number(&number));
            }
            match text.as_str() {
                "true" => candidates.push(SqlValue::Integer(1)),
                "false" => candidates.push(SqlValue::Integer(0)),
                _ => {}
            }
            candidates
        }
        Value::Number(number) => vec![sql_number(number), SqlValue::Text(number.to_string())],
        Value::Bool(flag) => vec![
            SqlValue::Integer(i64::from(*flag)),
            SqlValue::Text(flag.to_string()),
        ],
        Value::Array(items) => items.iter().flat_map(equal_candidates).collect(),
        Value::Null | Value::Object(_) => Vec::new(),
    }
}

/// The `FROM … WHERE …` listing the long strings of `field` in the documents of `kind` that
/// have a marker for it (values.rs): one row per string, `s.value`, with its document `b.row`.
/// `name` is the SQL parameter holding the field's name, `marked` the condition that `b.row`
/// has a marker: a bound row set ([`marker_rows`]) for a read of every document, a lookup per
/// row ([`marked_row`]) for a narrowed one. Callers append conditions with `AND`.
///
/// A field without dots holding one string is the common case (a description): SQLite reads
/// it straight from the JSONB body. Anything else (arrays, nested paths, keys with dots) is
/// walked the way the index flattened it, from the body as JSON text.
pub(super) fn long_strings_from(
    kind: i64,
    field: &str,
    name: &str,
    bytes: usize,
    marked: &str,
    narrowed: bool,
) -> String {
    let walked = format!("skep_strings(json(b.body), {name}, {bytes})");
    let strings = match json_path(field) {
        Some(json) if !field.contains('.') => {
            let json = json.replace('\'', "''");
            format!(
                "CASE WHEN json_type(b.body, '{json}') = 'text' \
                 THEN json_array(b.body ->> '{json}') ELSE {walked} END"
            )
        }
        _ => walked,
    };
    // A narrowed read must start from the few candidates (`b.row IN …`), not from every
    // document of the kind: the unary plus keeps SQLite off the index on `kind`.
    let kind_is = if narrowed { "+b.kind" } else { "b.kind" };
    format!(
        "FROM documents b, json_each({strings}) s \
         WHERE {kind_is} = {kind} AND {marked}"
    )
}

/// The condition that document `b.row` has a long-string marker at `path`, looked up for that
/// row alone: its row, or its entry in the tail or in the sealed block whose range holds it
/// (blocks.rs).
pub(super) fn marked_row(connection: &Connection, kind: i64, path: i64) -> Result<String> {
    let marker = |alias: &str| {
        format!("{alias}kind = {kind} AND {alias}path = {path} AND {alias}value = {MARKER_SQL}")
    };
    if !super::blocks::enabled(connection).map_err(super::backend)? {
        return Ok(format!(
            "EXISTS (SELECT 1 FROM field_values WHERE {} AND doc = b.row)",
            marker("")
        ));
    }
    Ok(format!(
        "(EXISTS (SELECT 1 FROM field_rows WHERE {unaliased} AND doc = b.row) \
         OR EXISTS (SELECT 1 FROM field_blocks f, json_each(f.docs) j WHERE {aliased} \
         AND f.first IN ({tail}, (SELECT max(first) FROM field_blocks WHERE {unaliased} \
         AND first <= b.row)) AND j.value = b.row))",
        unaliased = marker(""),
        aliased = marker("f."),
        tail = super::blocks::TAIL,
    ))
}

/// The documents of `kind` with a long-string marker at `path` (rows and posting blocks).
pub(super) fn marker_rows(connection: &Connection, kind: i64, path: i64) -> Result<RowSet> {
    super::rows::select(
        connection,
        &format!(
            "SELECT doc FROM field_values WHERE kind = {kind} AND path = {path} \
             AND value = {MARKER_SQL}"
        ),
        &[],
    )
}

/// An FTS5 expression matching any of `texts` as a phrase; `None` when there are none, or one
/// of them has no ASCII letter or digit (it might have no word the index knows, and so no phrase to find).
fn phrases(texts: &[String]) -> Option<String> {
    if texts.is_empty() {
        // An empty expression is an FTS5 syntax error (a `_like` with no word, found by fuzzing).
        return None;
    }
    let mut phrases = Vec::with_capacity(texts.len());
    for text in texts {
        if !text.bytes().any(|byte| byte.is_ascii_alphanumeric()) {
            return None;
        }
        phrases.push(quoted(text));
    }
    Some(phrases.join(" OR "))
}

/// `text` as one FTS5 phrase, split into words as the index's text was (words.rs).
fn quoted(text: &str) -> String {
    // FTS5 reads its query as C text: a NUL would end it mid-string.
    let text = crate::words::for_tokenizer(text).replace(char::is_control, " ");
    format!("\"{}\"", text.replace('"', "\"\""))
}

/// A range bound: numbers (and numeric text, as dates often arrive) compare as numbers.
fn range_bound(value: &Value) -> Option<SqlValue> {
    match value {
        Value::String(text) => Some(
            serde_json::from_str::<serde_json::Number>(text.trim())
                .map(|number| sql_number(&number))
                .unwrap_or_else(|_| SqlValue::Text(text.clone())),
        ),
        other => sql_scalar(other),
    }
}

/// Converts a wildcard pattern (`*`, `?`, backslash escapes) to an SQLite GLOB pattern.
fn glob_pattern(pattern: &str) -> String {
    let mut glob = String::with_capacity(pattern.len() + 4);
    let mut chars = pattern.chars();
    while let Some(character) = chars.next() {
        match character {
            '\\' => match chars.next() {
                Some(escaped) => push_literal(&mut glob, escaped),
                None => push_literal(&mut glob, '\\'),
            },
            '*' | '?' => glob.push(character),
            other => push_literal(&mut glob, other),
        }
    }
    glob
}

fn push_literal(glob: &mut String, character: char) {
    match character {
        '*' | '?' | '[' => {
            glob.push('[');
            glob.push(character);
            glob.push(']');
        }
        other => glob.push(other),
    }
}

/// The SQLite JSON path of a dotted field (`a.b` → `$."a"."b"`); `None` if a segment cannot be
/// quoted.
fn json_path(field: &str) -> Option<String> {
    let mut path = String::from("$");
    for segment in field.split('.') {
        if segment.is_empty() || segment.contains(['"', '\\']) {
            return None;
        }
        path.push_str(&format!(".\"{segment}\""));
    }
    Some(path)
}

/// An FTS5 expression requiring every word of `text`; a trailing `*` (or an inner wildcard)
/// makes a word a prefix. `None` when no word is left.
pub(super) fn fts_expression(text: &str) -> Option<String> {
    let mut terms = Vec::new();
    // FTS5 reads its query as C text: a NUL would end it mid-string.
    let text = text.replace(char::is_control, " ");
    for piece in text.split_whitespace() {
        // Full text has no infix search: a leading wildcard keeps the rest as a prefix.
        let (stem, prefix) = match piece.find(['*', '?']) {
            Some(0) => (piece.replace(['*', '?'], ""), true),
            Some(position) => (piece[..position].to_owned(), true),
            None => (piece.to_owned(), false),
        };
        if !stem.chars().any(char::is_alphanumeric) {
            continue;
        }
        let quoted = quoted(&stem);
        terms.push(if prefix { format!("{quoted}*") } else { quoted });
    }
    (!terms.is_empty()).then(|| terms.join(" AND "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_patterns_become_glob_patterns_with_literals_escaped() {
        assert_eq!(glob_pattern("*.example.com"), "*.example.com");
        assert_eq!(glob_pattern(r"a\*b?[c]"), "a[*]b?[[]c]");
    }

    #[test]
    fn long_values_become_quoted_phrases_unless_one_has_no_word() {
        assert_eq!(
            phrases(&["say \"hi\" now".into(), "a\0b".into()]),
            Some("\"say \"\"hi\"\" now\" OR \"a b\"".into())
        );
        assert_eq!(phrases(&["word".into(), "---".into()]), None);
        assert_eq!(phrases(&[]), None);
    }

    #[test]
    fn full_text_expressions_quote_words_and_keep_prefixes() {
        assert_eq!(
            fts_expression("phish* mail"),
            Some("\"phish\"* AND \"mail\"".into())
        );
        assert_eq!(
            fts_expression("say \"hi\""),
            Some("\"say\" AND \"\"\"hi\"\"\"".into())
        );
        assert_eq!(fts_expression(" - * "), None);
        assert_eq!(fts_expression("*hish*"), Some("\"hish\"*".into()));
        assert_eq!(fts_expression("a\0b"), Some("\"a\" AND \"b\"".into()));
    }
}
