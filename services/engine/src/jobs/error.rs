//! [`JobsError`]: what worker and job operations report, and its one mapping to [`ApiError`].

use serde_json::Value;
use skep_http::{ApiError, AttributeError, AttributeErrorType};

use super::configuration::{ConfigurationError, ConfigurationErrorKind};
use crate::error::EngineError;

/// What went wrong in a worker or job operation.
#[derive(Debug, thiserror::Error)]
pub enum JobsError {
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
        /// The entity (`worker`, `job`).
        table: &'static str,
        /// Each refused attribute.
        errors: Vec<AttributeError>,
    },
    /// The object already exists.
    #[error("{message}")]
    Conflict {
        /// Explanation.
        message: String,
        /// The conflicting object as the client sent it.
        object: Value,
    },
    /// The worker's rate limit is reached.
    #[error("{0}")]
    RateLimitExceeded(String),
    /// The store failed or refused the write.
    #[error(transparent)]
    Store(#[from] skep_store::StoreError),
    /// Writing an attachment or a job folder failed.
    #[error("file storage failed")]
    Io(#[from] std::io::Error),
    /// A tenancy-layer error (authentication, lookups).
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl JobsError {
    /// A not-found error.
    pub fn not_found(kind: &'static str, id: impl Into<String>) -> JobsError {
        JobsError::NotFound {
            kind,
            id: id.into(),
        }
    }

    /// One invalid attribute of `table`.
    pub fn invalid(table: &'static str, error: AttributeError) -> JobsError {
        JobsError::InvalidAttributes {
            table,
            errors: vec![error],
        }
    }

    /// Configuration errors as attribute errors of the worker.
    pub fn configuration(errors: Vec<ConfigurationError>) -> JobsError {
        let errors = errors
            .into_iter()
            .map(|error| AttributeError {
                name: format!("configuration.{}", error.name),
                value: error.value,
                error_type: match error.kind {
                    ConfigurationErrorKind::Missing => AttributeErrorType::Missing,
                    ConfigurationErrorKind::InvalidFormat => AttributeErrorType::InvalidFormat,
                    ConfigurationErrorKind::Unknown => AttributeErrorType::Unknown,
                },
                message: error.message,
            })
            .collect();
        JobsError::InvalidAttributes {
            table: "worker",
            errors,
        }
    }
}

impl From<JobsError> for ApiError {
    fn from(error: JobsError) -> ApiError {
        match error {
            JobsError::NotFound { kind, id } => {
                ApiError::not_found(format!("{kind} {id} not found"))
            }
            JobsError::BadRequest(message) => ApiError::bad_request(message),
            JobsError::InvalidAttributes { table, errors } => {
                ApiError::attribute_errors(table, errors)
            }
            JobsError::Conflict { message, object } => ApiError::conflict(message, object),
            JobsError::RateLimitExceeded(message) => ApiError::too_many_requests(message),
            JobsError::Store(error) => ApiError::from(error),
            JobsError::Io(error) => ApiError::internal(&error),
            JobsError::Engine(error) => ApiError::from(error),
        }
    }
}

/// Result of worker and job operations.
pub type Result<T, E = JobsError> = std::result::Result<T, E>;
