//! How an indexed value is encoded in SQLite, and how a document body is flattened into those
//! values and its full text. Pure functions over JSON and SQL values: this module imports no
//! other module of the backend, so the writer's staging (staging.rs) and every reader
//! (translate, aggregate, blocks, term bitmaps) build on it without cycles.

use rusqlite::types::Value as SqlValue;
use serde_json::{Map, Value};

/// The SQL value a JSON scalar is indexed as: integers (and whole floats) as integers, other
/// numbers as reals, strings as text, booleans as 0/1. `None` for null, arrays and objects.
pub(super) fn sql_scalar(value: &Value) -> Option<SqlValue> {
    match value {
        Value::String(text) => Some(SqlValue::Text(text.clone())),
        Value::Bool(flag) => Some(SqlValue::Integer(i64::from(*flag))),
        Value::Number(number) => Some(sql_number(number)),
        _ => None,
    }
}

pub(super) fn sql_number(number: &serde_json::Number) -> SqlValue {
    if let Some(integer) = number.as_i64() {
        return SqlValue::Integer(integer);
    }
    let real = number.as_f64().unwrap_or(f64::NAN);
    // Whole floats within the exactly-representable range compare and group as integers.
    if real.fract() == 0.0 && real.abs() < 9.0e15 {
        return SqlValue::Integer(real as i64);
    }
    SqlValue::Real(real)
}

/// The value row standing for a string longer than the store's threshold
/// ([`crate::sqlite::SqliteOptions::long_text_bytes`]): an empty blob. No JSON scalar is
/// indexed as a blob, and blobs sort after every number and text, so the markers of a path sit
/// at the end of its rows. Every long string of a field shares that one value, so new documents
/// append their marker rows instead of inserting them at random places of the index.
pub(super) const MARKER_SQL: &str = "X''";

/// The marker value ([`MARKER_SQL`]).
pub(super) fn marker() -> SqlValue {
    SqlValue::Blob(Vec::new())
}

/// Whether an index value is the long-string marker.
pub(super) fn is_marker(value: &SqlValue) -> bool {
    matches!(value, SqlValue::Blob(_))
}

/// The strings longer than `long` bytes at dotted `path` of a JSON body, as a JSON array: what
/// the marker rows of that path stand for. SQL function `skep_strings(body, path, long)`.
pub(super) fn long_strings(body: &str, path: &str, long: usize) -> String {
    let Ok(body) = serde_json::from_str::<Map<String, Value>>(body) else {
        return "[]".to_owned();
    };
    let mut strings = Vec::new();
    strings_at(&body, path, long, &mut strings);
    serde_json::to_string(&strings).unwrap_or_else(|_| "[]".to_owned())
}

/// The strings longer than `long` bytes that [`flatten`] files under `path` in `object`,
/// found by walking down the path instead of flattening the whole body.
fn strings_at<'b>(
    object: &'b Map<String, Value>,
    path: &str,
    long: usize,
    found: &mut Vec<&'b str>,
) {
    // A key may itself hold dots, so every key that is a prefix of the path is a way down.
    for (key, value) in object {
        let Some(rest) = path.strip_prefix(key.as_str()) else {
            continue;
        };
        if rest.is_empty() {
            strings_in(value, long, found, None);
        } else if let Some(rest) = rest.strip_prefix('.') {
            strings_in(value, long, found, Some(rest));
        }
    }
}

/// The long strings of `value` itself (`rest` is `None`) or under `rest` in it, arrays spread.
fn strings_in<'b>(value: &'b Value, long: usize, found: &mut Vec<&'b str>, rest: Option<&str>) {
    match (value, rest) {
        (Value::Array(items), _) => {
            for item in items {
                strings_in(item, long, found, rest);
            }
        }
        (Value::String(text), None) if text.len() > long => found.push(text),
        (Value::Object(object), Some(rest)) => strings_at(object, rest, long, found),
        _ => {}
    }
}

/// Every (dotted path, scalar) of a body, arrays flattened into their parent path, and the
/// text the full-text index gets (strings and numbers); the `skip` fields (and what they hold)
/// are left out.
pub(super) fn flatten(
    body: &Map<String, Value>,
    skip: &[String],
) -> (Vec<(String, SqlValue)>, String) {
    let flat = Flattening::of(body, skip, usize::MAX);
    let values = flat
        .values
        .into_iter()
        .map(|(start, end, value)| (flat.paths[start..end].to_owned(), value))
        .collect();
    (values, flat.text)
}

/// A flattened body. The paths share one string (each value holds its path's range in it):
/// one allocation per body instead of one per value, which the writer thread would free.
struct Flattening<'s> {
    skip: &'s [String],
    /// Strings longer than this get the [`marker`] instead of their value.
    long: usize,
    paths: String,
    values: Vec<(usize, usize, SqlValue)>,
    text: String,
}

impl<'s> Flattening<'s> {
    fn of(body: &Map<String, Value>, skip: &'s [String], long: usize) -> Flattening<'s> {
        let mut flat = Flattening {
            skip,
            long,
            paths: String::new(),
            values: Vec::new(),
            text: String::new(),
        };
        for (key, value) in body {
            flat.value(key, value);
        }
        flat
    }

    fn push(&mut self, path: &str, value: SqlValue) {
        // Items of one array share their path's range.
        let range = match self.values.last() {
            Some(&(start, end, _)) if self.paths[start..end] == *path => (start, end),
            _ => {
                let start = self.paths.len();
                self.paths.push_str(path);
                (start, self.paths.len())
            }
        };
        self.values.push((range.0, range.1, value));
    }

    fn value(&mut self, path: &str, value: &Value) {
        if !self.skip.is_empty() && crate::unindexed::skipped(self.skip, path) {
            return;
        }
        match value {
            Value::Null => {}
            Value::Object(object) => {
                for (key, inner) in object {
                    self.value(&format!("{path}.{key}"), inner);
                }
            }
            Value::Array(items) => {
                for item in items {
                    self.value(path, item);
                }
            }
            Value::String(string) => {
                crate::words::push_for_tokenizer(&mut self.text, string);
                self.text.push('\n');
                let value = if string.len() > self.long {
                    marker()
                } else {
                    SqlValue::Text(string.clone())
                };
                self.push(path, value);
            }
            Value::Number(number) => {
                self.text.push_str(&number.to_string());
                self.text.push('\n');
                self.push(path, sql_number(number));
            }
            Value::Bool(flag) => self.push(path, SqlValue::Integer(i64::from(*flag))),
        }
    }
}

/// SQLite's order of two indexed scalars: NULL, then numbers (by value), then text (by
/// bytes), then blobs (the long-string marker).
pub(super) fn compare_sql(left: &SqlValue, right: &SqlValue) -> std::cmp::Ordering {
    fn class(value: &SqlValue) -> u8 {
        match value {
            SqlValue::Null => 0,
            SqlValue::Integer(_) | SqlValue::Real(_) => 1,
            SqlValue::Text(_) => 2,
            SqlValue::Blob(_) => 3,
        }
    }
    fn number(value: &SqlValue) -> f64 {
        match value {
            SqlValue::Integer(integer) => *integer as f64,
            SqlValue::Real(real) => *real,
            _ => f64::NAN,
        }
    }
    match (left, right) {
        (SqlValue::Integer(left), SqlValue::Integer(right)) => left.cmp(right),
        (SqlValue::Text(left), SqlValue::Text(right)) => left.as_bytes().cmp(right.as_bytes()),
        (SqlValue::Blob(left), SqlValue::Blob(right)) => left.cmp(right),
        _ => class(left).cmp(&class(right)).then_with(|| {
            if class(left) == 1 {
                number(left).total_cmp(&number(right))
            } else {
                std::cmp::Ordering::Equal
            }
        }),
    }
}

/// A body flattened for the index: its (dotted path, scalar) values and its full text.
/// Computed by the caller before a write is queued, so the writer thread only interns paths.
#[derive(Debug)]
pub(super) struct Flat {
    /// Every value's path, one after the other.
    pub(super) paths: String,
    /// Each value with its path's range in `paths`.
    pub(super) values: Vec<(usize, usize, SqlValue)>,
    pub(super) text: String,
}

impl Flat {
    /// The index rows of `body`, without those of the `skip` fields; strings longer than
    /// `long` bytes get the [`marker`] (their words are in the full text all the same).
    pub(super) fn of(body: &Map<String, Value>, skip: &[String], long: usize) -> Flat {
        let Flattening {
            paths,
            values,
            text,
            ..
        } = Flattening::of(body, skip, long);
        Flat {
            paths,
            values,
            text,
        }
    }

    /// The (path, value) pairs, in body order.
    pub(super) fn pairs(&self) -> Vec<(&str, &SqlValue)> {
        self.values
            .iter()
            .map(|(start, end, value)| (&self.paths[*start..*end], value))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn bodies_flatten_into_dotted_paths_with_arrays_spread() {
        let body = json!({"a": 1, "b": {"c": "x", "d": [true, {"e": 2.5}]}, "n": null, "w": 3.0});
        let Value::Object(body) = body else {
            panic!("object")
        };

        let (values, text) = flatten(&body, &[]);

        assert_eq!(
            values,
            vec![
                ("a".into(), SqlValue::Integer(1)),
                ("b.c".into(), SqlValue::Text("x".into())),
                ("b.d".into(), SqlValue::Integer(1)),
                ("b.d.e".into(), SqlValue::Real(2.5)),
                ("w".into(), SqlValue::Integer(3)),
            ]
        );
        assert_eq!(text, "1\nx\n2.5\n3.0\n");
    }

    #[test]
    fn long_strings_become_the_marker_and_are_read_back_from_the_body() {
        let body =
            json!({"a": "short", "b": ["x".repeat(10), "y".repeat(3)], "c": {"d": "z".repeat(10)}});
        let Value::Object(body) = body else {
            panic!("object")
        };

        let flat = Flat::of(&body, &[], 5);

        assert_eq!(
            flat.pairs(),
            vec![
                ("a", &SqlValue::Text("short".into())),
                ("b", &marker()),
                ("b", &SqlValue::Text("yyy".into())),
                ("c.d", &marker()),
            ]
        );
        assert_eq!(flat.paths, "abc.d", "an array's items share their path");
        let text = serde_json::to_string(&body).expect("serialises");
        assert_eq!(
            long_strings(&text, "b", 5),
            format!("[\"{}\"]", "x".repeat(10))
        );
        assert_eq!(
            long_strings(&text, "c.d", 5),
            format!("[\"{}\"]", "z".repeat(10))
        );
        assert_eq!(long_strings(&text, "a", 5), "[]");
        assert_eq!(long_strings("not json", "a", 5), "[]");
        // The same paths flatten gives: arrays of objects, and keys holding dots.
        let nested =
            json!({"x": [{"y": "q".repeat(9)}, {"y": ["r".repeat(9), 7]}], "x.y": "s".repeat(9)});
        let text = serde_json::to_string(&nested).expect("serialises");
        let Value::Object(nested) = nested else {
            panic!("object")
        };
        let flattened: Vec<String> = flatten(&nested, &[])
            .0
            .into_iter()
            .filter_map(|(path, value)| match value {
                SqlValue::Text(text) if path == "x.y" => Some(text),
                _ => None,
            })
            .collect();
        assert_eq!(
            long_strings(&text, "x.y", 5),
            serde_json::to_string(&flattened).expect("json")
        );
        assert_eq!(flattened.len(), 3);
    }

    #[test]
    fn the_marker_sorts_after_numbers_and_text_as_in_sqlite() {
        use std::cmp::Ordering::{Equal, Greater, Less};
        let (number, real, text) = (
            SqlValue::Integer(2),
            SqlValue::Real(1.5),
            SqlValue::Text("a".into()),
        );
        assert_eq!(compare_sql(&real, &number), Less);
        assert_eq!(compare_sql(&number, &text), Less);
        assert_eq!(compare_sql(&text, &marker()), Less);
        assert_eq!(compare_sql(&marker(), &number), Greater);
        assert_eq!(compare_sql(&marker(), &marker()), Equal);
        assert_eq!(compare_sql(&SqlValue::Null, &number), Less);
        assert!(is_marker(&marker()) && !is_marker(&text));
    }
}
