//! The one error type of the crate.

/// Why a call to another service failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The service could not be reached, or the connection failed or timed out mid-request.
    #[error("`{url}` is unreachable")]
    Unreachable {
        /// The URL that was requested.
        url: String,
        /// The transport error.
        #[source]
        source: reqwest::Error,
    },
    /// The service answered with a non-success status.
    #[error("service answered {status}: {body}")]
    Status {
        /// The HTTP status code.
        status: u16,
        /// The response body, truncated to a few kilobytes.
        body: String,
    },
    /// The service answered 2xx with a body that is not the expected JSON.
    #[error("service answered with an undecodable body")]
    Decode(#[source] serde_json::Error),
    /// The HTTP client could not be built (TLS set-up failed).
    #[error("cannot build the http client")]
    Build(#[source] reqwest::Error),
}

/// Result of the calls of this crate.
pub type Result<T, E = ClientError> = std::result::Result<T, E>;
