//! Secret fields: the fields of a kind that are stored but must never be searched, sorted,
//! aggregated or answered (password hashes, sealed keys, worker configurations).
//!
//! A service declares its list once ([`SecretFields::new`]), has the store keep those fields out
//! of every index ([`SecretFields::declare`], so neither a field query nor full text can match
//! them), refuses any client query, sort or aggregation naming one ([`SecretFields::check_query`]
//! and friends: [`StoreError::InvalidQuery`], a 400 for clients), and strips them from what it
//! answers ([`SecretFields::strip`], [`SecretFields::strip_aggregations`] for `top` hits). The
//! service's own lookups never go through the checks; they are for what a client sends.

use serde_json::{Map, Value};

use crate::{Aggregation, Query, Sort, Store, StoreError};

/// The secret fields of each kind.
#[derive(Debug, Clone, Copy)]
pub struct SecretFields {
    kinds: &'static [(&'static str, &'static [&'static str])],
}

impl SecretFields {
    /// A list of `(kind, fields)`: each field is a dotted path; everything inside it is secret.
    pub const fn new(kinds: &'static [(&'static str, &'static [&'static str])]) -> SecretFields {
        SecretFields { kinds }
    }

    /// The secret fields of `kind` (empty when it has none).
    pub fn of(&self, kind: &str) -> &'static [&'static str] {
        self.kinds
            .iter()
            .find(|(known, _)| *known == kind)
            .map_or(&[], |(_, fields)| fields)
    }

    /// Has the store keep every secret field out of its indexes (call once at startup, before
    /// any write).
    pub fn declare(&self, store: &dyn Store) {
        for (kind, fields) in self.kinds {
            store.set_unindexed(kind, fields);
        }
    }

    /// The secret field of `kind` that `field` names or lies inside, if any.
    pub fn secret_in<'a>(&self, kind: &str, field: &'a str) -> Option<&'a str> {
        let named = self.of(kind).iter().any(|secret| {
            field
                .strip_prefix(secret)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
        });
        named.then_some(field)
    }

    /// Refuses a query on `kind` that names a secret field anywhere in its tree (`_parent` and
    /// `_child` sub-queries are checked against their own kind).
    pub fn check_query(&self, kind: &str, query: &Query) -> Result<(), StoreError> {
        let mut found = None;
        visit_query(kind, query, &mut |kind, field| {
            if found.is_none() && self.secret_in(kind, field).is_some() {
                found = Some(field.to_owned());
            }
        });
        match found {
            Some(field) => Err(refusal(&field)),
            None => Ok(()),
        }
    }

    /// Refuses a sort on a secret field of `kind`.
    pub fn check_sort(&self, kind: &str, sort: &[Sort]) -> Result<(), StoreError> {
        match sort
            .iter()
            .find(|key| self.secret_in(kind, &key.field).is_some())
        {
            Some(key) => Err(refusal(&key.field)),
            None => Ok(()),
        }
    }

    /// Refuses aggregations on `kind` naming a secret field (field, order or filter).
    pub fn check_aggregations(
        &self,
        kind: &str,
        aggregations: &[Aggregation],
    ) -> Result<(), StoreError> {
        for aggregation in aggregations {
            self.check_aggregation(kind, aggregation)?;
        }
        Ok(())
    }

    fn check_aggregation(&self, kind: &str, aggregation: &Aggregation) -> Result<(), StoreError> {
        let check_field = |field: &str| match self.secret_in(kind, field) {
            Some(field) => Err(refusal(field)),
            None => Ok(()),
        };
        match aggregation {
            Aggregation::Count { query, .. } => self.check_optional(kind, query.as_ref()),
            Aggregation::Metric { field, query, .. } => {
                check_field(field)?;
                self.check_optional(kind, query.as_ref())
            }
            Aggregation::Terms { field, select, .. } => {
                check_field(field)?;
                self.check_aggregations(kind, select)
            }
            Aggregation::Time { fields, select, .. } => {
                for field in fields {
                    check_field(field)?;
                }
                self.check_aggregations(kind, select)
            }
            Aggregation::Category {
                categories, select, ..
            } => {
                for (_, query) in categories {
                    self.check_query(kind, query)?;
                }
                self.check_aggregations(kind, select)
            }
            Aggregation::Top { order, .. } => self.check_sort(kind, order),
        }
    }

    fn check_optional(&self, kind: &str, query: Option<&Query>) -> Result<(), StoreError> {
        match query {
            Some(query) => self.check_query(kind, query),
            None => Ok(()),
        }
    }

    /// Checks a whole client search on `kind`: its query and its sort.
    pub fn check_search(&self, kind: &str, query: &Query, sort: &[Sort]) -> Result<(), StoreError> {
        self.check_query(kind, query)?;
        self.check_sort(kind, sort)
    }

    /// Checks a whole client `_stats` on `kind`: its query and its aggregations.
    pub fn check_stats(
        &self,
        kind: &str,
        query: &Query,
        aggregations: &[Aggregation],
    ) -> Result<(), StoreError> {
        self.check_query(kind, query)?;
        self.check_aggregations(kind, aggregations)
    }

    /// Removes the secret fields of `kind` from a document body or rendered object.
    pub fn strip(&self, kind: &str, object: &mut Map<String, Value>) {
        for field in self.of(kind) {
            remove_path(object, field);
        }
    }

    /// Removes the secret fields of `kind` from every `top` hit of an aggregation result: the
    /// hits are the objects inside arrays (no other result shape holds an array of objects).
    pub fn strip_aggregations(&self, kind: &str, result: &mut Map<String, Value>) {
        if self.of(kind).is_empty() {
            return;
        }
        for value in result.values_mut() {
            self.strip_value(kind, value);
        }
    }

    fn strip_value(&self, kind: &str, value: &mut Value) {
        match value {
            Value::Array(items) => {
                for item in items {
                    if let Value::Object(hit) = item {
                        self.strip(kind, hit);
                    }
                }
            }
            Value::Object(object) => {
                for inner in object.values_mut() {
                    self.strip_value(kind, inner);
                }
            }
            _ => {}
        }
    }
}

fn refusal(field: &str) -> StoreError {
    StoreError::InvalidQuery(format!(
        "the field {field} is secret: it cannot be searched, sorted or aggregated"
    ))
}

fn remove_path(object: &mut Map<String, Value>, path: &str) {
    match path.split_once('.') {
        None => {
            object.remove(path);
        }
        Some((head, rest)) => {
            if let Some(Value::Object(inner)) = object.get_mut(head) {
                remove_path(inner, rest);
            }
        }
    }
}

/// Calls `visit(kind, field)` for every field a query names, with the kind it refers to.
fn visit_query(kind: &str, query: &Query, visit: &mut dyn FnMut(&str, &str)) {
    match query {
        Query::All | Query::Id(_) | Query::FullText(_) | Query::Type(_) => {}
        Query::And(parts) | Query::Or(parts) => {
            for part in parts {
                visit_query(kind, part, visit);
            }
        }
        Query::Not(inner) => visit_query(kind, inner, visit),
        Query::Eq { field, .. }
        | Query::Range { field, .. }
        | Query::Between { field, .. }
        | Query::In { field, .. }
        | Query::Like { field, .. }
        | Query::Wildcard { field, .. }
        | Query::Exists(field) => visit(kind, field),
        Query::QueryString { parsed, .. } => visit_query(kind, parsed, visit),
        Query::Parent { kind, query } | Query::Child { kind, query } => {
            visit_query(kind, query, visit)
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const SECRETS: SecretFields = SecretFields::new(&[
        ("user", &["password", "keySealed"]),
        ("worker", &["configuration"]),
    ]);

    fn secrets() -> SecretFields {
        SECRETS
    }

    #[test]
    fn queries_naming_a_secret_field_anywhere_are_refused() {
        let secrets = secrets();
        for query in [
            json!({"_gte": {"password": "$argon2"}}),
            json!({"_and": [{"name": "a"}, {"_not": {"_wildcard": {"_field": "keySealed", "_value": "a*"}}}]}),
            json!({"_string": "password:a*"}),
            json!({"_contains": "password"}),
        ] {
            let parsed = Query::parse(&query).unwrap();
            assert!(secrets.check_query("user", &parsed).is_err(), "{query}");
        }
        let nested = Query::parse(&json!({"_gte": {"configuration.key": "m"}})).unwrap();
        assert!(secrets.check_query("worker", &nested).is_err());
        let through_parent =
            Query::parse(&json!({"_parent": {"_type": "user", "_query": {"password": "x"}}}))
                .unwrap();
        assert!(secrets.check_query("case", &through_parent).is_err());
    }

    #[test]
    fn other_fields_and_other_kinds_pass() {
        let secrets = secrets();
        let query = Query::parse(&json!({"_and": [{"passwordHint": "x"}, {"name": "y"}]})).unwrap();

        assert!(secrets.check_query("user", &query).is_ok());
        assert!(
            secrets
                .check_query("case", &Query::parse(&json!({"password": "x"})).unwrap())
                .is_ok()
        );
    }

    #[test]
    fn sorts_and_aggregations_on_secret_fields_are_refused() {
        let secrets = secrets();
        let sort = Sort::parse_list(["-keySealed"]);
        let terms = Aggregation::parse_list(&json!([{"_agg": "field", "_field": "password"}]));
        let top = Aggregation::parse_list(&json!([{"_agg": "top", "_order": ["+password"]}]));

        assert!(secrets.check_sort("user", &sort).is_err());
        assert!(secrets.check_aggregations("user", &terms.unwrap()).is_err());
        assert!(secrets.check_aggregations("user", &top.unwrap()).is_err());
    }

    #[test]
    fn top_hits_lose_their_secret_fields() {
        let secrets = secrets();
        let mut result = json!({"top": [{"_id": "a", "password": "h", "name": "A"}],
            "Ok": {"named": [{"keySealed": "s", "login": "b"}]}, "count": 2});
        let result = result.as_object_mut().unwrap();

        secrets.strip_aggregations("user", result);

        assert_eq!(
            Value::Object(result.clone()),
            json!({"top": [{"_id": "a", "name": "A"}],
                "Ok": {"named": [{"login": "b"}]}, "count": 2})
        );
    }
}
