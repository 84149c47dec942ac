//! Argon2id password hashing, run off the async threads.

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash};
use rand::Rng;
use rand::distr::Alphanumeric;

use crate::{AuthError, Result};

/// Hashes a password with argon2id and a random salt, returning the PHC string
/// (`$argon2id$v=19$…`) to store. Runs on a blocking thread.
pub async fn hash(password: &str) -> Result<String> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || hash_blocking(&password))
        .await
        .map_err(AuthError::Task)?
}

/// Checks a password against a stored PHC string. Runs on a blocking thread.
///
/// Answers `Ok(false)` when the password does not match, and `Err` only when the stored hash is
/// malformed or uses an unsupported algorithm.
pub async fn verify(password: &str, phc: &str) -> Result<bool> {
    let password = password.to_owned();
    let phc = phc.to_owned();
    tokio::task::spawn_blocking(move || verify_blocking(&password, &phc))
        .await
        .map_err(AuthError::Task)?
}

/// Generates a random 20-character alphanumeric password, e.g. for the first administrator.
pub fn generate() -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(20)
        .map(char::from)
        .collect()
}

fn hash_blocking(password: &str) -> Result<String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(AuthError::Hashing)
}

fn verify_blocking(password: &str, phc: &str) -> Result<bool> {
    let parsed = PasswordHash::new(phc).map_err(|error| AuthError::MalformedHash(error.into()))?;
    match Argon2::default().verify_password(password.as_bytes(), &parsed) {
        Ok(()) => Ok(true),
        Err(argon2::password_hash::Error::PasswordInvalid) => Ok(false),
        Err(other) => Err(AuthError::MalformedHash(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hashed_password_verifies_and_a_wrong_one_does_not() {
        let phc = hash("correct horse").await.unwrap();

        let right = verify("correct horse", &phc).await.unwrap();
        let wrong = verify("battery staple", &phc).await.unwrap();

        assert!(phc.starts_with("$argon2id$"), "{phc}");
        assert!(right);
        assert!(!wrong);
    }

    #[tokio::test]
    async fn hashing_the_same_password_twice_uses_different_salts() {
        let first = hash("pw").await.unwrap();
        let second = hash("pw").await.unwrap();

        assert_ne!(first, second);
    }

    #[tokio::test]
    async fn a_malformed_stored_hash_is_an_error_not_a_mismatch() {
        let result = verify("pw", "not a phc string").await;

        assert!(
            matches!(result, Err(AuthError::MalformedHash(_))),
            "{result:?}"
        );
    }

    #[test]
    fn generated_passwords_are_20_alphanumeric_characters_and_differ() {
        let first = generate();
        let second = generate();

        assert_eq!(first.len(), 20);
        assert!(first.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(first, second);
    }
}
