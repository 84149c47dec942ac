//! The store's one error type.

/// What went wrong in a store call.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No document of that kind and id (or it was soft-deleted).
    #[error("{kind} {id} not found")]
    NotFound {
        /// Kind searched.
        kind: String,
        /// Id searched.
        id: String,
    },
    /// A document with that id already exists, or the version expected by an update is stale.
    #[error("{kind} {id}: {reason}")]
    Conflict {
        /// Kind written.
        kind: String,
        /// Id written.
        id: String,
        /// `document already exists` or `version conflict`.
        reason: String,
    },
    /// The query, sort, range or aggregation is malformed; the message says what and where.
    #[error("invalid query: {0}")]
    InvalidQuery(String),
    /// The backend cannot be reached.
    #[error("storage backend unavailable")]
    Unavailable(#[source] anyhow::Error),
    /// The backend failed.
    #[error("storage backend failed")]
    Backend(#[source] anyhow::Error),
}

impl StoreError {
    /// True for the "already exists" flavour of [`StoreError::Conflict`].
    pub fn is_duplicate(&self) -> bool {
        matches!(self, StoreError::Conflict { reason, .. } if reason == DUPLICATE)
    }
}

/// Reason text of a duplicate-id conflict.
pub const DUPLICATE: &str = "document already exists";
/// Reason text of a stale-version conflict.
pub const STALE_VERSION: &str = "version conflict";

/// Result of a store call.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
