//! Credentials for every Skep service: argon2id password hashing, API keys (generation, sealing at
//! rest, lookup fingerprints), signed session tokens, CSRF tokens, constant-time comparison and a
//! login rate limiter.
//!
//! This crate knows nothing of HTTP or of the roles a service defines; `skep-http` and the
//! services build on it. Start with [`password`], [`key`] and [`session`].
#![warn(missing_docs)]

mod error;
pub mod key;
pub mod login_limiter;
pub mod password;
pub mod session;

pub use error::{AuthError, Result};

/// Compares two byte strings in time that depends only on their lengths, never on where they
/// first differ, so a comparison of a secret leaks nothing through timing.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    // `subtle` answers "not equal" at once for different lengths; lengths are not secret.
    a.ct_eq(b).into()
}

/// Derives an independent 32-byte subkey from the server secret for one purpose, so the same
/// configured secret can key several primitives without one leaking into another.
pub(crate) fn derive_subkey(secret: &[u8], purpose: &str) -> [u8; 32] {
    use hmac::{Hmac, Mac};
    // HMAC accepts keys of any length, including empty ones, so this cannot fail.
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(secret)
        .expect("HMAC-SHA256 accepts keys of any length");
    mac.update(b"skep subkey v1\0");
    mac.update(purpose.as_bytes());
    mac.finalize().into_bytes().into()
}

/// Fills a fixed-size array with bytes from the operating system's secure random source.
pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    use rand::RngCore;
    let mut bytes = [0u8; N];
    rand::rng().fill_bytes(&mut bytes);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_byte_strings_compare_equal() {
        assert!(constant_time_eq(b"same secret", b"same secret"));
    }

    #[test]
    fn different_or_differently_sized_byte_strings_compare_unequal() {
        assert!(!constant_time_eq(b"secret-a", b"secret-b"));
        assert!(!constant_time_eq(b"secret", b"secret-longer"));
        assert!(!constant_time_eq(b"", b"x"));
    }

    #[test]
    fn subkeys_for_different_purposes_differ() {
        assert_ne!(derive_subkey(b"s", "a"), derive_subkey(b"s", "b"));
        assert_eq!(derive_subkey(b"s", "a"), derive_subkey(b"s", "a"));
    }
}
