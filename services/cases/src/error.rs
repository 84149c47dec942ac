//! The errors of the cases service meet HTTP here: handlers return
//! `Result<_, skep_http::ApiError>`; this module names the cases-specific answers once.

use skep_http::ApiError;

/// Result of a handler or domain call.
pub type Result<T, E = ApiError> = std::result::Result<T, E>;

/// `404 NotFoundError` `"<model> <id> not found"`.
pub fn not_found(model: &str, id: &str) -> ApiError {
    ApiError::not_found(format!("{model} {id} not found"))
}

/// Maps a store "not found" to the TheHive message for `model`, other errors unchanged.
pub fn or_not_found(model: &str, id: &str, error: skep_store::StoreError) -> ApiError {
    match error {
        skep_store::StoreError::NotFound { .. } => not_found(model, id),
        other => other.into(),
    }
}
