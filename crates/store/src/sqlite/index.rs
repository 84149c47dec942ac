//! Flattening a document body into indexed scalar values and full text, and keeping the index
//! rows of a document in step with its body.

use std::collections::HashMap;

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, params};
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

/// Every (dotted path, scalar) of a body, arrays flattened into their parent path, and the
/// text the full-text index gets (strings and numbers).
pub(super) fn flatten(body: &Map<String, Value>) -> (Vec<(String, SqlValue)>, String) {
    let mut values = Vec::new();
    let mut text = String::new();
    for (key, value) in body {
        flatten_value(key, value, &mut values, &mut text);
    }
    (values, text)
}

fn flatten_value(
    path: &str,
    value: &Value,
    values: &mut Vec<(String, SqlValue)>,
    text: &mut String,
) {
    match value {
        Value::Null => {}
        Value::Object(object) => {
            for (key, inner) in object {
                flatten_value(&format!("{path}.{key}"), inner, values, text);
            }
        }
        Value::Array(items) => {
            for item in items {
                flatten_value(path, item, values, text);
            }
        }
        Value::String(string) => {
            text.push_str(string);
            text.push('\n');
            values.push((path.to_owned(), SqlValue::Text(string.clone())));
        }
        Value::Number(number) => {
            text.push_str(&number.to_string());
            text.push('\n');
            values.push((path.to_owned(), sql_number(number)));
        }
        Value::Bool(flag) => values.push((path.to_owned(), SqlValue::Integer(i64::from(*flag)))),
    }
}

/// Interned kind and path ids, cached by the single writer. Cleared when a write fails, since
/// ids handed out inside a rolled-back transaction are gone.
#[derive(Debug, Default)]
pub(super) struct Names {
    kinds: HashMap<String, i64>,
    paths: HashMap<String, i64>,
}

impl Names {
    pub(super) fn clear(&mut self) {
        self.kinds.clear();
        self.paths.clear();
    }

    pub(super) fn kind(&mut self, connection: &Connection, name: &str) -> rusqlite::Result<i64> {
        intern(&mut self.kinds, connection, "kinds", name)
    }

    pub(super) fn path(&mut self, connection: &Connection, name: &str) -> rusqlite::Result<i64> {
        intern(&mut self.paths, connection, "paths", name)
    }
}

fn intern(
    cache: &mut HashMap<String, i64>,
    connection: &Connection,
    table: &str,
    name: &str,
) -> rusqlite::Result<i64> {
    if let Some(id) = cache.get(name) {
        return Ok(*id);
    }
    connection
        .prepare_cached(&format!("INSERT OR IGNORE INTO {table} (name) VALUES (?1)"))?
        .execute([name])?;
    let id: i64 = connection
        .prepare_cached(&format!("SELECT id FROM {table} WHERE name = ?1"))?
        .query_row([name], |row| row.get(0))?;
    cache.insert(name.to_owned(), id);
    Ok(id)
}

/// Rows written per `INSERT` statement: several rows per statement save most of the per-call
/// overhead, and a few fixed sizes keep the prepared-statement cache small.
const CHUNKS: [usize; 3] = [16, 4, 1];

/// Writes the index rows of a live document.
pub(super) fn add(
    connection: &Connection,
    names: &mut Names,
    kind: i64,
    row: i64,
    body: &Map<String, Value>,
) -> rusqlite::Result<()> {
    let (values, text) = flatten(body);
    let mut rows = Vec::with_capacity(values.len());
    for (path, value) in values {
        rows.push((names.path(connection, &path)?, value));
    }
    let mut rest = rows.as_slice();
    for size in CHUNKS {
        while rest.len() >= size {
            let (chunk, tail) = rest.split_at(size);
            insert_chunk(connection, kind, row, chunk)?;
            rest = tail;
        }
    }
    if !text.is_empty() {
        connection
            .prepare_cached("INSERT INTO full_text (rowid, text) VALUES (?1, ?2)")?
            .execute(params![row, text])?;
    }
    Ok(())
}

fn insert_chunk(
    connection: &Connection,
    kind: i64,
    row: i64,
    chunk: &[(i64, SqlValue)],
) -> rusqlite::Result<()> {
    let placeholders = (0..chunk.len())
        .map(|index| format!("(?1, ?2, ?{}, ?{})", 3 + 2 * index, 4 + 2 * index))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "INSERT OR IGNORE INTO field_values (kind, doc, path, value) VALUES {placeholders}"
    );
    let mut statement = connection.prepare_cached(&sql)?;
    statement.raw_bind_parameter(1, kind)?;
    statement.raw_bind_parameter(2, row)?;
    for (index, (path, value)) in chunk.iter().enumerate() {
        statement.raw_bind_parameter(3 + 2 * index, path)?;
        statement.raw_bind_parameter(4 + 2 * index, value)?;
    }
    statement.raw_execute()?;
    Ok(())
}

/// Removes the index rows of a document, given the body they were written from.
pub(super) fn remove(
    connection: &Connection,
    names: &mut Names,
    kind: i64,
    row: i64,
    body: &Map<String, Value>,
) -> rusqlite::Result<()> {
    let (values, _) = flatten(body);
    let mut delete = connection.prepare_cached(
        "DELETE FROM field_values WHERE kind = ?1 AND path = ?2 AND value = ?3 AND doc = ?4",
    )?;
    for (path, value) in values {
        let path = names.path(connection, &path)?;
        delete.execute(params![kind, path, value, row])?;
    }
    connection
        .prepare_cached("DELETE FROM full_text WHERE rowid = ?1")?
        .execute([row])?;
    Ok(())
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

        let (values, text) = flatten(&body);

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
}
