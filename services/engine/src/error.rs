//! [`EngineError`]: what engine domain functions report, and its one mapping to [`ApiError`].

use skep_http::{ApiError, AttributeError};

/// What went wrong in an engine operation.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The store has not been migrated yet (answered 520 with an empty body).
    #[error("the store is not migrated")]
    NotMigrated,
    /// No credentials, or wrong ones.
    #[error("authentication failure")]
    Unauthenticated,
    /// The user or its organisation is locked.
    #[error("account is locked")]
    AccountLocked,
    /// The caller lacks the right for this action.
    #[error("{0}")]
    Forbidden(String),
    /// A cookie-authenticated request failed the CSRF check (answered as plain text, as the
    /// web framework's CSRF filter does, not as an API error body).
    #[error("CSRF token missing or invalid")]
    CsrfRefused,
    /// The object does not exist, or belongs to another organisation.
    #[error("{kind} {id} not found")]
    NotFound {
        /// What was looked for.
        kind: &'static str,
        /// Its id.
        id: String,
    },
    /// The request is well-formed but not acceptable.
    #[error("{0}")]
    BadRequest(String),
    /// Attributes of the request are missing, malformed or unknown.
    #[error("invalid attributes of {table}")]
    InvalidAttributes {
        /// The entity (`user`, `organization`).
        table: &'static str,
        /// Each refused attribute.
        errors: Vec<AttributeError>,
    },
    /// A login and password were not accepted (wrong, rate-limited or busy).
    #[error(transparent)]
    Login(#[from] skep_service::LoginError),
    /// The store failed or refused the write.
    #[error(transparent)]
    Store(#[from] skep_store::StoreError),
    /// Hashing, sealing or signing failed.
    #[error("credential processing failed")]
    Credentials(#[from] skep_auth::AuthError),
}

impl EngineError {
    /// The standard refusal of an action the caller's roles do not allow.
    pub fn insufficient_rights() -> EngineError {
        EngineError::Forbidden("Insufficient rights to perform this action".to_owned())
    }

    /// A not-found error.
    pub fn not_found(kind: &'static str, id: impl Into<String>) -> EngineError {
        EngineError::NotFound {
            kind,
            id: id.into(),
        }
    }

    /// One invalid attribute.
    pub fn invalid(table: &'static str, error: AttributeError) -> EngineError {
        EngineError::InvalidAttributes {
            table,
            errors: vec![error],
        }
    }
}

impl From<EngineError> for ApiError {
    fn from(error: EngineError) -> ApiError {
        match error {
            EngineError::NotMigrated => ApiError::not_migrated(),
            EngineError::Unauthenticated => ApiError::unauthenticated(),
            EngineError::AccountLocked => ApiError::forbidden("Your account is locked"),
            EngineError::Forbidden(message) => ApiError::forbidden(message),
            EngineError::CsrfRefused => {
                ApiError::forbidden_plain_text("CSRF token missing or invalid")
            }
            EngineError::NotFound { kind, id } => {
                ApiError::not_found(format!("{kind} {id} not found"))
            }
            EngineError::BadRequest(message) => ApiError::bad_request(message),
            EngineError::InvalidAttributes { table, errors } => {
                ApiError::attribute_errors(table, errors)
            }
            EngineError::Login(error) => ApiError::from(error),
            EngineError::Store(error) => ApiError::from(error),
            EngineError::Credentials(error) => ApiError::internal(&error),
        }
    }
}
