//! The HTTP edge: one module per resource. Handlers extract, convert, make one domain call and
//! convert back; [`AttributeReader`] turns request fields into checked values.

pub mod maintenance;
pub mod organization;
pub mod session;
pub mod status;
pub mod user;
pub mod workers;

use serde_json::{Map, Value};
use skep_http::AttributeError;

use crate::error::EngineError;

/// Reads attributes of a request body, collecting every refusal so that one 400
/// `AttributeCheckingError` lists them all.
///
/// Keys starting with `_` and the read-only envelope keys clients echo back (`id`, `createdAt`,
/// …) are ignored; `null` counts as absent; anything else not read is an unknown attribute.
pub struct AttributeReader {
    table: &'static str,
    body: Map<String, Value>,
    errors: Vec<AttributeError>,
}

/// Envelope keys clients send back unchanged; never stored from input.
const ECHOED_KEYS: [&str; 7] = [
    "id",
    "createdAt",
    "createdBy",
    "updatedAt",
    "updatedBy",
    "hasKey",
    "hasPassword",
];

impl AttributeReader {
    /// Starts reading `body` for entity `table`.
    pub fn new(table: &'static str, body: Map<String, Value>) -> AttributeReader {
        let body = body
            .into_iter()
            .filter(|(key, value)| {
                !value.is_null() && !key.starts_with('_') && !ECHOED_KEYS.contains(&key.as_str())
            })
            .collect();
        AttributeReader {
            table,
            body,
            errors: Vec::new(),
        }
    }

    /// Takes an optional string attribute.
    pub fn optional_string(&mut self, name: &str) -> Option<String> {
        match self.body.remove(name)? {
            Value::String(text) => Some(text),
            other => {
                self.errors
                    .push(AttributeError::invalid(name, other, "a string"));
                None
            }
        }
    }

    /// Takes a required, non-blank string attribute.
    pub fn required_string(&mut self, name: &str) -> Option<String> {
        match self.optional_string(name) {
            Some(text) if !text.trim().is_empty() => Some(text),
            Some(text) => {
                self.errors.push(AttributeError::invalid(
                    name,
                    Value::String(text),
                    "a non-empty string",
                ));
                None
            }
            None => {
                if !self.errors.iter().any(|error| error.name == name) {
                    self.errors.push(AttributeError::missing(name));
                }
                None
            }
        }
    }

    /// Takes an optional string attribute and converts it, refusing values `parse` rejects.
    pub fn optional_parsed<T>(
        &mut self,
        name: &str,
        expected: &str,
        parse: impl Fn(&str) -> Option<T>,
    ) -> Option<T> {
        let text = self.optional_string(name)?;
        match parse(&text) {
            Some(value) => Some(value),
            None => {
                self.errors
                    .push(AttributeError::invalid(name, Value::String(text), expected));
                None
            }
        }
    }

    /// Takes an optional list of strings (a JSON array, or one comma-separated string).
    pub fn optional_string_list(&mut self, name: &str) -> Option<Vec<String>> {
        match self.body.remove(name)? {
            Value::String(text) => Some(
                text.split(',')
                    .map(str::trim)
                    .filter(|item| !item.is_empty())
                    .map(str::to_owned)
                    .collect(),
            ),
            Value::Array(items) if items.iter().all(Value::is_string) => Some(
                items
                    .into_iter()
                    .filter_map(|item| item.as_str().map(str::to_owned))
                    .collect(),
            ),
            other => {
                self.errors
                    .push(AttributeError::invalid(name, other, "a list of strings"));
                None
            }
        }
    }

    /// Takes an optional attribute of any JSON type.
    pub fn optional_value(&mut self, name: &str) -> Option<Value> {
        self.body.remove(name)
    }

    /// Refuses an attribute that is present (e.g. read-only on update).
    pub fn refuse_read_only(&mut self, name: &str) {
        if let Some(value) = self.body.remove(name) {
            self.errors.push(AttributeError::read_only(name, value));
        }
    }

    /// Records a refusal found by the caller.
    pub fn push_error(&mut self, error: AttributeError) {
        self.errors.push(error);
    }

    /// Ends reading: unknown attributes and collected refusals give one 400.
    pub fn finish(mut self) -> Result<(), EngineError> {
        let unknown: Vec<AttributeError> = std::mem::take(&mut self.body)
            .into_iter()
            .map(|(name, value)| AttributeError::unknown(&name, value))
            .collect();
        self.errors.extend(unknown);
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(EngineError::InvalidAttributes {
                table: self.table,
                errors: self.errors,
            })
        }
    }
}

/// True for names usable as ids in URLs: 1 to 128 letters, digits and `._@+-`.
pub fn is_valid_name(name: &str) -> bool {
    (1..=128).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '@' | '+' | '-'))
}
