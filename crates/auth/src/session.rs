//! Session tokens (HS256 JSON Web Tokens signed with a subkey of the server secret derived for
//! one service, and naming that service as their audience) and CSRF tokens.
//!
//! A token also carries its user's session epoch: a counter the service raises when the user's
//! password changes or the user is locked, which ends every session issued before.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::{AuthError, Result, derive_subkey, random_bytes};

/// What a verified session token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionClaims {
    /// Login of the user the session belongs to.
    pub login: String,
    /// End of the session, in milliseconds since the Unix epoch.
    pub expires_at_ms: i64,
    /// The user's session epoch when the token was issued.
    pub epoch: u64,
}

/// The claims as written in the token.
#[derive(Debug, Serialize, Deserialize)]
struct TokenClaims {
    sub: String,
    /// Expiry, seconds since the epoch.
    exp: u64,
    /// Issue time, seconds since the epoch.
    iat: u64,
    /// Random token id, so two sessions issued in the same second still differ.
    jti: String,
    /// The service the token was issued by and for.
    aud: String,
    /// The user's session epoch.
    epoch: u64,
}

/// Issues and verifies session tokens.
#[derive(Clone)]
pub struct SessionSigner {
    encoding: EncodingKey,
    decoding: DecodingKey,
    audience: String,
}

impl std::fmt::Debug for SessionSigner {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("SessionSigner([redacted])")
    }
}

impl SessionSigner {
    /// Builds the signer of one service (`audience`, e.g. `cases`) from the server secret: the
    /// key is derived for that service, so two services sharing a secret never accept each
    /// other's tokens.
    pub fn new(secret: &[u8], audience: &str) -> SessionSigner {
        let key = derive_subkey(secret, &format!("session token for {audience}"));
        SessionSigner {
            encoding: EncodingKey::from_secret(&key),
            decoding: DecodingKey::from_secret(&key),
            audience: audience.to_owned(),
        }
    }

    /// Issues a token for `login` at session `epoch` that expires after `ttl`.
    pub fn issue(&self, login: &str, epoch: u64, ttl: Duration) -> Result<String> {
        self.issue_at(login, epoch, ttl, SystemTime::now())
    }

    /// Verifies a token's signature and lifetime.
    pub fn verify(&self, token: &str) -> Result<SessionClaims> {
        self.verify_at(token, SystemTime::now())
    }

    fn issue_at(&self, login: &str, epoch: u64, ttl: Duration, now: SystemTime) -> Result<String> {
        let issued = seconds_since_epoch(now);
        let claims = TokenClaims {
            sub: login.to_owned(),
            exp: issued.saturating_add(ttl.as_secs()),
            iat: issued,
            jti: URL_SAFE_NO_PAD.encode(random_bytes::<16>()),
            aud: self.audience.clone(),
            epoch,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(AuthError::Signing)
    }

    fn verify_at(&self, token: &str, now: SystemTime) -> Result<SessionClaims> {
        let mut validation = Validation::new(Algorithm::HS256);
        // Expiry is checked below against an explicit clock and without leeway.
        validation.validate_exp = false;
        validation.set_required_spec_claims(&["exp", "sub", "aud"]);
        validation.set_audience(&[&self.audience]);
        let data = jsonwebtoken::decode::<TokenClaims>(token, &self.decoding, &validation)
            .map_err(|_| AuthError::SessionInvalid)?;
        if data.claims.exp <= seconds_since_epoch(now) {
            return Err(AuthError::SessionExpired);
        }
        let expires_at_ms = i64::try_from(data.claims.exp)
            .ok()
            .and_then(|seconds| seconds.checked_mul(1000))
            .ok_or(AuthError::SessionInvalid)?;
        Ok(SessionClaims {
            login: data.claims.sub,
            expires_at_ms,
            epoch: data.claims.epoch,
        })
    }
}

/// Generates a random URL-safe CSRF token (256 bits, unpadded base64url).
pub fn csrf_token() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes::<32>())
}

fn seconds_since_epoch(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);

    #[test]
    fn an_issued_token_verifies_to_its_login_and_expiry() {
        let signer = SessionSigner::new(b"server secret", "cases");
        let now = SystemTime::now();

        let token = signer.issue_at("alice@example.org", 0, HOUR, now).unwrap();
        let claims = signer.verify_at(&token, now).unwrap();

        assert_eq!(claims.login, "alice@example.org");
        let expected_ms = (seconds_since_epoch(now) + 3600) as i64 * 1000;
        assert_eq!(claims.expires_at_ms, expected_ms);
    }

    #[test]
    fn the_public_issue_and_verify_pair_round_trips() {
        let signer = SessionSigner::new(b"server secret", "cases");

        let token = signer.issue("bob", 0, HOUR).unwrap();

        assert_eq!(signer.verify(&token).unwrap().login, "bob");
    }

    #[test]
    fn a_token_is_rejected_as_expired_once_its_lifetime_has_passed() {
        let signer = SessionSigner::new(b"server secret", "cases");
        let issued = SystemTime::now();
        let token = signer.issue_at("alice", 0, HOUR, issued).unwrap();

        let just_before = signer.verify_at(&token, issued + HOUR - Duration::from_secs(1));
        let at_expiry = signer.verify_at(&token, issued + HOUR);

        assert!(just_before.is_ok());
        assert!(matches!(at_expiry, Err(AuthError::SessionExpired)));
    }

    #[test]
    fn a_token_with_an_altered_payload_is_rejected() {
        let signer = SessionSigner::new(b"server secret", "cases");
        let token = signer.issue("alice", 0, HOUR).unwrap();
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        let forged = TokenClaims {
            sub: "admin".into(),
            exp: u64::MAX / 2000,
            iat: 0,
            jti: "x".into(),
            aud: "cases".into(),
            epoch: 0,
        };
        parts[1] = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).unwrap());

        let result = signer.verify(&parts.join("."));

        assert!(matches!(result, Err(AuthError::SessionInvalid)));
    }

    #[test]
    fn a_token_signed_with_another_secret_is_rejected() {
        let token = SessionSigner::new(b"secret one", "cases")
            .issue("alice", 0, HOUR)
            .unwrap();

        let result = SessionSigner::new(b"secret two", "cases").verify(&token);

        assert!(matches!(result, Err(AuthError::SessionInvalid)));
    }

    #[test]
    fn garbage_is_rejected_as_invalid() {
        let signer = SessionSigner::new(b"server secret", "cases");

        assert!(matches!(
            signer.verify("garbage"),
            Err(AuthError::SessionInvalid)
        ));
        assert!(matches!(signer.verify(""), Err(AuthError::SessionInvalid)));
    }

    #[test]
    fn two_tokens_for_the_same_login_and_second_differ() {
        let signer = SessionSigner::new(b"server secret", "cases");
        let now = SystemTime::now();

        let first = signer.issue_at("alice", 0, HOUR, now).unwrap();
        let second = signer.issue_at("alice", 0, HOUR, now).unwrap();

        assert_ne!(first, second);
    }

    #[test]
    fn csrf_tokens_are_url_safe_and_unique() {
        let first = csrf_token();
        let second = csrf_token();

        assert_eq!(first.len(), 43);
        assert!(
            first
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        assert_ne!(first, second);
    }

    #[test]
    fn a_token_of_one_service_is_refused_by_another_sharing_the_secret() {
        let token = SessionSigner::new(b"shared", "cases")
            .issue("alice", 0, HOUR)
            .unwrap();

        let result = SessionSigner::new(b"shared", "engine").verify(&token);

        assert!(matches!(result, Err(AuthError::SessionInvalid)));
    }

    #[test]
    fn a_token_carries_the_epoch_it_was_issued_at() {
        let signer = SessionSigner::new(b"server secret", "engine");

        let token = signer.issue("alice", 7, HOUR).unwrap();

        assert_eq!(signer.verify(&token).unwrap().epoch, 7);
    }

    proptest::proptest! {
        #[test]
        fn verifying_arbitrary_text_never_panics_and_never_succeeds(text in ".*") {
            let result = SessionSigner::new(b"server secret", "cases").verify(&text);

            proptest::prop_assert!(result.is_err());
        }
    }
}
