//! Fields a kind stores without indexing them (see [`crate::Store::set_unindexed`]).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// The unindexed fields of each kind, declared at startup and read on every write.
#[derive(Debug, Default)]
pub(crate) struct Unindexed {
    kinds: RwLock<HashMap<String, Arc<[String]>>>,
}

impl Unindexed {
    pub(crate) fn set(&self, kind: &str, fields: &[&str]) {
        let fields: Arc<[String]> = fields.iter().map(|field| (*field).to_owned()).collect();
        self.kinds
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(kind.to_owned(), fields);
    }

    /// The unindexed fields of `kind` (empty when none were declared).
    pub(crate) fn of(&self, kind: &str) -> Arc<[String]> {
        self.kinds
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(kind)
            .cloned()
            .unwrap_or_else(|| Arc::from(Vec::new()))
    }
}

/// Whether the dotted `path` is one of `fields` or inside one of them.
pub(crate) fn skipped(fields: &[String], path: &str) -> bool {
    fields.iter().any(|field| {
        path.strip_prefix(field.as_str())
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_field_skips_itself_and_what_it_contains_only() {
        let fields = vec!["object".to_owned(), "details.raw".to_owned()];

        assert!(skipped(&fields, "object"));
        assert!(skipped(&fields, "object.title"));
        assert!(skipped(&fields, "details.raw.x"));
        assert!(!skipped(&fields, "objectId"));
        assert!(!skipped(&fields, "details"));
        assert!(!skipped(&fields, "details.rawest"));
    }

    #[test]
    fn kinds_without_a_declaration_skip_nothing() {
        let unindexed = Unindexed::default();
        unindexed.set("audit", &["object"]);

        assert_eq!(&*unindexed.of("audit"), &["object".to_owned()]);
        assert!(unindexed.of("case").is_empty());
    }
}
