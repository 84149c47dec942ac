//! The error body of both compatible APIs: `{"type": …, "message": …}` plus optional details.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// An error as clients of TheHive and Cortex read it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Error type name, e.g. `NotFoundError`, `AuthenticationError`, `AttributeCheckingError`.
    #[serde(rename = "type")]
    pub error_type: String,
    /// Human-readable message.
    pub message: String,
    /// Extra keys some errors carry (`errors`, `tableName`, `object`).
    #[serde(flatten)]
    pub details: Map<String, Value>,
}

impl ErrorBody {
    /// An error body without details.
    pub fn new(error_type: impl Into<String>, message: impl Into<String>) -> Self {
        ErrorBody {
            error_type: error_type.into(),
            message: message.into(),
            details: Map::new(),
        }
    }
}
