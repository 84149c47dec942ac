//! The key tree of a configuration type, read from its `Deserialize` implementation alone.
//!
//! [`keys`] drives `T::deserialize` with a tracing deserializer that offers every field a struct
//! asks for and records the dotted path of each. No `Serialize` impl or hand-kept list is needed,
//! so `--help`, the documentation test and the example files follow the structs as they change.
//! A field whose own `Deserialize` refuses the tracer's placeholder value (an enum read from a
//! string, say) is recorded and then left out of the next pass, where serde's `default` fills it.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, Visitor};

/// What a configuration key holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// A single value (text, number, boolean, path, secret), optional or not.
    Value,
    /// A table of further keys (`[http]`).
    Section,
    /// A list (`[..]`); a list of tables has its keys under `<key>[]`.
    List,
    /// A table whose keys are free (a map).
    Map,
}

/// One key of a configuration: its dotted path (`store.elasticsearch.url`; the fields of a list
/// of tables as `webhooks.endpoints[].url`) and what it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    /// Dotted path from the top of the configuration.
    pub path: String,
    /// What the key holds.
    pub kind: KeyKind,
}

impl Key {
    /// The environment variable that sets this key (`SKEP_STORE__ELASTICSEARCH__URL`), or
    /// `None` for keys variables cannot reach (lists, maps and the fields inside lists).
    pub fn variable(&self) -> Option<String> {
        if self.path.contains("[]") || matches!(self.kind, KeyKind::List | KeyKind::Map) {
            return None;
        }
        Some(format!(
            "SKEP_{}",
            self.path.replace('.', "__").to_ascii_uppercase()
        ))
    }

    /// Whether the key is set to a value (not a section holding other keys).
    pub fn is_leaf(&self) -> bool {
        self.kind != KeyKind::Section
    }
}

/// Every key of configuration type `T`, sections included, sorted by path.
pub fn keys<T: DeserializeOwned>() -> Vec<Key> {
    let state = Rc::new(RefCell::new(Trace::default()));
    // Each pass that fails leaves one more refusing field out; a configuration has far fewer
    // fields than this bound.
    for _ in 0..256 {
        let tracer = Tracer {
            path: String::new(),
            state: state.clone(),
        };
        if T::deserialize(tracer).is_ok() {
            break;
        }
        let mut trace = state.borrow_mut();
        let last = std::mem::take(&mut trace.last);
        if last.is_empty() || !trace.skip.insert(last) {
            break;
        }
    }
    let trace = state.borrow();
    trace
        .keys
        .iter()
        .map(|(path, kind)| Key {
            path: path.clone(),
            kind: *kind,
        })
        .collect()
}

#[derive(Default)]
struct Trace {
    keys: BTreeMap<String, KeyKind>,
    /// Fields left out of the next pass because their `Deserialize` refused the placeholder.
    skip: BTreeSet<String>,
    /// The last value path entered: the culprit when a pass fails.
    last: String,
}

#[derive(Debug)]
struct TraceError(String);

impl std::fmt::Display for TraceError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(&self.0)
    }
}

impl std::error::Error for TraceError {}

impl de::Error for TraceError {
    fn custom<M: std::fmt::Display>(message: M) -> Self {
        TraceError(message.to_string())
    }
}

struct Tracer {
    path: String,
    state: Rc<RefCell<Trace>>,
}

impl Tracer {
    /// Records a value at this path (not for the elements of a list).
    fn leaf(&self, kind: KeyKind) {
        let mut trace = self.state.borrow_mut();
        trace.last = self.path.clone();
        if !self.path.is_empty() && !self.path.ends_with("[]") {
            trace.keys.insert(self.path.clone(), kind);
        }
    }
}

macro_rules! scalar {
    ($($method:ident => $visit:ident($($value:expr)?)),* $(,)?) => {
        $(fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, TraceError> {
            self.leaf(KeyKind::Value);
            visitor.$visit($($value)?)
        })*
    };
}

impl<'de> de::Deserializer<'de> for Tracer {
    type Error = TraceError;

    scalar! {
        deserialize_any => visit_unit(),
        deserialize_bool => visit_bool(false),
        deserialize_i8 => visit_i64(0),
        deserialize_i16 => visit_i64(0),
        deserialize_i32 => visit_i64(0),
        deserialize_i64 => visit_i64(0),
        deserialize_u8 => visit_u64(0),
        deserialize_u16 => visit_u64(0),
        deserialize_u32 => visit_u64(0),
        deserialize_u64 => visit_u64(0),
        deserialize_f32 => visit_f64(0.0),
        deserialize_f64 => visit_f64(0.0),
        deserialize_char => visit_char('x'),
        deserialize_str => visit_str(""),
        deserialize_string => visit_str(""),
        deserialize_bytes => visit_bytes(&[]),
        deserialize_byte_buf => visit_bytes(&[]),
        deserialize_unit => visit_unit(),
        deserialize_identifier => visit_str(""),
        deserialize_ignored_any => visit_unit(),
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, TraceError> {
        visitor.visit_some(self)
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, TraceError> {
        self.leaf(KeyKind::Value);
        visitor.visit_unit()
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, TraceError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, TraceError> {
        self.leaf(KeyKind::List);
        let element = Tracer {
            path: format!("{}[]", self.path),
            state: self.state.clone(),
        };
        visitor.visit_seq(OneElement(Some(element)))
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, TraceError> {
        self.leaf(KeyKind::Value);
        visitor.visit_seq(OneElement(None))
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, TraceError> {
        self.deserialize_tuple(len, visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, TraceError> {
        self.leaf(KeyKind::Map);
        visitor.visit_map(de::value::MapDeserializer::new(std::iter::empty::<(
            String,
            String,
        )>()))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, TraceError> {
        if !self.path.is_empty() && !self.path.ends_with("[]") {
            self.state
                .borrow_mut()
                .keys
                .insert(self.path.clone(), KeyKind::Section);
        }
        let skip = self.state.borrow().skip.clone();
        let fields: Vec<String> = fields
            .iter()
            .map(|field| join(&self.path, field))
            .filter(|path| !skip.contains(path))
            .collect();
        visitor.visit_map(Fields {
            fields: fields.into_iter(),
            current: None,
            state: self.state,
        })
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, TraceError> {
        self.leaf(KeyKind::Value);
        let first = variants.first().copied().unwrap_or_default();
        visitor.visit_enum(first.into_deserializer())
    }
}

fn join(parent: &str, field: &str) -> String {
    if parent.is_empty() {
        field.to_owned()
    } else {
        format!("{parent}.{field}")
    }
}

/// The fields of a struct, offered one by one with a tracer for each value.
struct Fields {
    fields: std::vec::IntoIter<String>,
    current: Option<String>,
    state: Rc<RefCell<Trace>>,
}

impl<'de> de::MapAccess<'de> for Fields {
    type Error = TraceError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, TraceError> {
        let Some(path) = self.fields.next() else {
            return Ok(None);
        };
        let name = path
            .rsplit(['.', ']'])
            .next()
            .unwrap_or_default()
            .to_owned();
        self.current = Some(path);
        let name: de::value::StringDeserializer<TraceError> = name.into_deserializer();
        seed.deserialize(name).map(Some)
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<S::Value, TraceError> {
        let path = self.current.take().unwrap_or_default();
        seed.deserialize(Tracer {
            path,
            state: self.state.clone(),
        })
    }
}

/// A list with one traced element (or none, for tuples).
struct OneElement(Option<Tracer>);

impl<'de> de::SeqAccess<'de> for OneElement {
    type Error = TraceError;

    fn next_element_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, TraceError> {
        match self.0.take() {
            Some(element) => seed.deserialize(element).map(Some),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{HttpConfig, StoreConfig};
    use serde::Deserialize;
    use std::collections::HashMap;
    use std::path::PathBuf;

    #[derive(Deserialize, Default)]
    #[serde(deny_unknown_fields, default)]
    #[allow(dead_code)]
    struct Sample {
        http: HttpConfig,
        store: StoreConfig,
        data_dir: PathBuf,
        tags: Vec<String>,
        hooks: Vec<Hook>,
        labels: HashMap<String, String>,
        mode: Mode,
        limit: Option<u32>,
    }

    #[derive(Deserialize, Default)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Hook {
        name: String,
        url: String,
    }

    #[derive(Deserialize, Default)]
    #[serde(rename_all = "lowercase")]
    enum Mode {
        #[default]
        Fast,
        Slow,
    }

    fn paths(kind: KeyKind) -> Vec<String> {
        keys::<Sample>()
            .into_iter()
            .filter(|key| key.kind == kind)
            .map(|key| key.path)
            .collect()
    }

    #[test]
    fn every_value_key_is_found_with_its_dotted_path() {
        assert_eq!(
            paths(KeyKind::Value),
            [
                "data_dir",
                "hooks[].name",
                "hooks[].url",
                "http.basic_auth",
                "http.host",
                "http.max_body_bytes",
                "http.port",
                "http.secret",
                "http.secure_cookies",
                "limit",
                "mode",
                "store.backend",
                "store.elasticsearch.index_prefix",
                "store.elasticsearch.password",
                "store.elasticsearch.tls_ca_file",
                "store.elasticsearch.tls_insecure",
                "store.elasticsearch.url",
                "store.elasticsearch.username",
                "store.sqlite_path",
            ]
        );
    }

    #[test]
    fn sections_lists_and_maps_are_told_apart() {
        assert_eq!(
            paths(KeyKind::Section),
            ["http", "store", "store.elasticsearch"]
        );
        assert_eq!(paths(KeyKind::List), ["hooks", "tags"]);
        assert_eq!(paths(KeyKind::Map), ["labels"]);
    }

    #[test]
    fn a_key_names_its_variable_unless_it_lives_in_a_list() {
        let all = keys::<Sample>();
        let variable = |path: &str| {
            all.iter()
                .find(|key| key.path == path)
                .and_then(Key::variable)
        };

        assert_eq!(
            variable("store.elasticsearch.url").as_deref(),
            Some("SKEP_STORE__ELASTICSEARCH__URL")
        );
        assert_eq!(variable("hooks[].url"), None);
        assert_eq!(variable("tags"), None);
    }
}
