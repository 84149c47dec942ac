//! API keys: generation, sealing at rest, and lookup fingerprints.
//!
//! Keys stay revealable to their owner (as users of the compatible APIs expect), yet a copy of
//! the database alone yields no working key: the database holds the key sealed with a subkey of
//! the server secret, plus a keyed fingerprint to find the key's owner. See
//! `docs/adr/0002-api-key-storage.md`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::{AuthError, Result, derive_subkey, random_bytes};

/// Length in bytes of the nonce that prefixes every sealed key.
const NONCE_LEN: usize = 12;

/// Generates a new API key: 24 random bytes (192 bits) in standard base64, 32 characters.
pub fn generate() -> String {
    STANDARD.encode(random_bytes::<24>())
}

/// Seals API keys for storage and computes their lookup fingerprints, with two subkeys derived
/// from the server secret: one for ChaCha20-Poly1305 encryption, one for HMAC-SHA256 lookup.
#[derive(Clone)]
pub struct KeySealer {
    cipher: ChaCha20Poly1305,
    lookup_key: [u8; 32],
}

impl std::fmt::Debug for KeySealer {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("KeySealer([redacted])")
    }
}

impl KeySealer {
    /// Builds a sealer from the server secret.
    pub fn new(secret: &[u8]) -> KeySealer {
        let encryption_key = derive_subkey(secret, "api key encryption");
        KeySealer {
            cipher: ChaCha20Poly1305::new(Key::from_slice(&encryption_key)),
            lookup_key: derive_subkey(secret, "api key lookup"),
        }
    }

    /// Encrypts a key with a fresh random nonce; returns base64 text of `nonce || ciphertext`.
    pub fn seal(&self, key: &str) -> String {
        let nonce_bytes = random_bytes::<NONCE_LEN>();
        let nonce = Nonce::from_slice(&nonce_bytes);
        // ChaCha20-Poly1305 encryption fails only for messages beyond 256 GiB.
        let ciphertext = self
            .cipher
            .encrypt(nonce, key.as_bytes())
            .expect("an API key is far below the ChaCha20-Poly1305 message limit");
        let mut sealed = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        sealed.extend_from_slice(&nonce_bytes);
        sealed.extend_from_slice(&ciphertext);
        STANDARD.encode(sealed)
    }

    /// Decrypts a sealed key. Fails if the text was altered or sealed under another secret.
    pub fn open(&self, sealed: &str) -> Result<String> {
        let bytes = STANDARD
            .decode(sealed.trim())
            .map_err(|_| AuthError::SealedKeyInvalid)?;
        if bytes.len() < NONCE_LEN {
            return Err(AuthError::SealedKeyInvalid);
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let plain = self
            .cipher
            .decrypt(Nonce::from_slice(nonce), ciphertext)
            .map_err(|_| AuthError::SealedKeyInvalid)?;
        String::from_utf8(plain).map_err(|_| AuthError::SealedKeyInvalid)
    }

    /// Returns the lowercase hex HMAC-SHA256 of a key under the lookup subkey: stable for a given
    /// secret, so it can be an indexed field to find a key's owner without storing the key.
    pub fn fingerprint(&self, key: &str) -> String {
        // HMAC accepts keys of any length, so this cannot fail.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.lookup_key)
            .expect("HMAC-SHA256 accepts keys of any length");
        mac.update(key.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn generated_keys_are_32_base64_characters() {
        let key = generate();

        assert_eq!(key.len(), 32);
        assert!(
            key.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '/'),
            "{key}"
        );
        assert_eq!(STANDARD.decode(&key).unwrap().len(), 24);
    }

    #[test]
    fn generated_keys_do_not_repeat() {
        let keys: HashSet<String> = (0..1000).map(|_| generate()).collect();

        assert_eq!(keys.len(), 1000);
    }

    #[test]
    fn a_sealed_key_opens_to_the_original_and_does_not_contain_it() {
        let sealer = KeySealer::new(b"server secret");
        let key = generate();

        let sealed = sealer.seal(&key);

        assert!(!sealed.contains(&key));
        assert_eq!(sealer.open(&sealed).unwrap(), key);
    }

    #[test]
    fn sealing_the_same_key_twice_gives_different_texts() {
        let sealer = KeySealer::new(b"server secret");

        assert_ne!(sealer.seal("k"), sealer.seal("k"));
    }

    #[test]
    fn a_tampered_sealed_key_does_not_open() {
        let sealer = KeySealer::new(b"server secret");
        let mut bytes = STANDARD.decode(sealer.seal("some key")).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0x01;

        let result = sealer.open(&STANDARD.encode(bytes));

        assert!(matches!(result, Err(AuthError::SealedKeyInvalid)));
    }

    #[test]
    fn a_key_sealed_under_another_secret_does_not_open() {
        let sealed = KeySealer::new(b"secret one").seal("some key");

        let result = KeySealer::new(b"secret two").open(&sealed);

        assert!(matches!(result, Err(AuthError::SealedKeyInvalid)));
    }

    #[test]
    fn garbage_and_truncated_sealed_texts_do_not_open() {
        let sealer = KeySealer::new(b"server secret");

        assert!(sealer.open("not base64 !!").is_err());
        assert!(sealer.open("").is_err());
        assert!(sealer.open(&STANDARD.encode([0u8; 5])).is_err());
    }

    #[test]
    fn fingerprints_are_stable_per_secret_and_differ_between_secrets_and_keys() {
        let one = KeySealer::new(b"secret one");
        let again = KeySealer::new(b"secret one");
        let two = KeySealer::new(b"secret two");

        let fingerprint = one.fingerprint("key-a");

        assert_eq!(fingerprint.len(), 64);
        assert!(fingerprint.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(fingerprint, again.fingerprint("key-a"));
        assert_ne!(fingerprint, two.fingerprint("key-a"));
        assert_ne!(fingerprint, one.fingerprint("key-b"));
    }

    #[test]
    fn the_debug_output_reveals_no_key_material() {
        let sealer = KeySealer::new(b"server secret");

        assert_eq!(format!("{sealer:?}"), "KeySealer([redacted])");
    }

    proptest::proptest! {
        #[test]
        fn any_key_round_trips_through_seal_and_open(key in ".*") {
            let sealer = KeySealer::new(b"server secret");

            proptest::prop_assert_eq!(sealer.open(&sealer.seal(&key)).unwrap(), key);
        }

        #[test]
        fn opening_arbitrary_text_never_panics(text in ".*") {
            let _ = KeySealer::new(b"server secret").open(&text);
        }
    }
}
