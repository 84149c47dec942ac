//! The one error type of the crate: every message names the key (or file) to fix.

use std::path::PathBuf;

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The configuration file is missing, unreadable or not valid TOML.
    #[error("cannot read configuration file `{}`: {message}", path.display())]
    File {
        /// The file that was asked for.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A key that no section knows (often a typo).
    #[error("unknown key `{key}`{}", valid_keys_hint(valid))]
    UnknownKey {
        /// The full dotted key, e.g. `store.backnd`.
        key: String,
        /// The keys accepted at that place.
        valid: Vec<String>,
    },
    /// A value of the wrong type or outside the accepted set.
    #[error("invalid value for `{key}`: {message}")]
    InvalidValue {
        /// The full dotted key, e.g. `http.port`.
        key: String,
        /// What is wrong and, when known, where the value came from.
        message: String,
    },
    /// A key without default that the configuration does not set.
    #[error("missing key `{key}`")]
    MissingKey {
        /// The full dotted key.
        key: String,
    },
    /// Anything the layers above cannot attribute to one key.
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

impl ConfigError {
    /// The dotted key the problem is about, when it is about one.
    pub fn key(&self) -> Option<&str> {
        match self {
            ConfigError::UnknownKey { key, .. }
            | ConfigError::InvalidValue { key, .. }
            | ConfigError::MissingKey { key } => Some(key),
            ConfigError::File { .. } | ConfigError::Invalid(_) => None,
        }
    }
}

fn valid_keys_hint(valid: &[String]) -> String {
    if valid.is_empty() {
        String::new()
    } else {
        let names: Vec<String> = valid.iter().map(|name| format!("`{name}`")).collect();
        format!(" (valid keys here: {})", names.join(", "))
    }
}
