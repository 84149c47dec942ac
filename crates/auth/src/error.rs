//! The one error type of the crate.

/// What can go wrong while hashing, sealing or verifying credentials.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// A stored password hash is not a valid argon2 PHC string.
    #[error("stored password hash is malformed")]
    MalformedHash(#[source] argon2::password_hash::Error),
    /// Computing a password hash failed.
    #[error("password hashing failed")]
    Hashing(#[source] argon2::password_hash::Error),
    /// The blocking task that hashed a password did not complete.
    #[error("password hashing task failed")]
    Task(#[source] tokio::task::JoinError),
    /// A sealed API key could not be decoded or failed authentication (wrong secret or tampered).
    #[error("sealed api key cannot be opened")]
    SealedKeyInvalid,
    /// A session token is malformed, tampered with, or signed with another secret.
    #[error("session token is invalid")]
    SessionInvalid,
    /// A session token was valid but its lifetime has ended.
    #[error("session token has expired")]
    SessionExpired,
    /// A session token could not be signed.
    #[error("session token cannot be signed")]
    Signing(#[source] jsonwebtoken::errors::Error),
}

/// Result of the operations of this crate.
pub type Result<T, E = AuthError> = std::result::Result<T, E>;
