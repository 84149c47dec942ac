//! Password verification, the one way into either service with a login and a password (the
//! login form and `Authorization: Basic` alike).
//!
//! In order, before any password hashing: a login longer than [`MAX_LOGIN_BYTES`] is refused;
//! the attempt is checked against the limiter and counted as a failure at once (so concurrent
//! guesses cannot overrun the limit); a verification slot is taken from a semaphore of about the
//! number of cores, and when more requests wait than [`WAITING_PER_SLOT`] per slot the request
//! is refused as busy. Unknown logins are verified against a decoy hash, so they take as long as
//! wrong passwords.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use skep_auth::login_limiter::LoginLimiter;
use tokio::sync::Semaphore;

/// Longest accepted login, in bytes; longer ones are refused before any work.
pub const MAX_LOGIN_BYTES: usize = 128;
/// Largest accepted body of a login request, in bytes.
pub const MAX_LOGIN_BODY_BYTES: usize = 8 * 1024;
/// The body limit to put on login routes (`web::resource("/api/login").app_data(…)`), so a
/// login cannot make the service read a large body.
pub fn body_limit() -> skep_http::BodyLimit {
    skep_http::BodyLimit(MAX_LOGIN_BODY_BYTES)
}

/// Requests allowed to wait per verification slot before new ones are refused as busy.
pub const WAITING_PER_SLOT: usize = 8;

/// Why a login and password were not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoginError {
    /// Unknown login, wrong password, a user without password, or an over-long login.
    #[error("authentication failure")]
    Refused,
    /// Too many failed attempts for this account or source; retry after the duration.
    #[error("too many failed logins, retry later")]
    TooManyAttempts(Duration),
    /// Every verification slot is taken and the waiting line is full.
    #[error("too many logins in progress, retry later")]
    Busy,
    /// The stored user could not be read.
    #[error("cannot read the user: {0}")]
    Lookup(String),
}

impl From<LoginError> for skep_http::ApiError {
    fn from(error: LoginError) -> skep_http::ApiError {
        use skep_http::ApiError;
        match error {
            LoginError::Refused => ApiError::unauthenticated(),
            LoginError::TooManyAttempts(retry_after) => {
                ApiError::too_many_requests("Too many failed login attempts, try again later")
                    .with_detail("retryAfterSeconds", retry_after.as_secs().max(1).into())
            }
            LoginError::Busy => ApiError::new(
                503,
                "ServiceUnavailable",
                "too many logins in progress, try again later",
            ),
            LoginError::Lookup(cause) => ApiError::internal(&cause),
        }
    }
}

/// The password checker of one service.
#[derive(Debug)]
pub struct LoginGate {
    limiter: LoginLimiter,
    decoy_hash: String,
    slots: Semaphore,
    slot_count: usize,
    waiting: AtomicUsize,
}

impl LoginGate {
    /// A gate allowing `max_failures` failures per account and per source within `window`,
    /// verifying at most about one password per core at a time.
    pub async fn new(max_failures: u32, window: Duration) -> anyhow::Result<LoginGate> {
        let slot_count = std::thread::available_parallelism().map_or(2, |count| count.get());
        LoginGate::with_slots(max_failures, window, slot_count).await
    }

    /// A gate with `slot_count` concurrent verifications.
    pub async fn with_slots(
        max_failures: u32,
        window: Duration,
        slot_count: usize,
    ) -> anyhow::Result<LoginGate> {
        let slot_count = slot_count.max(1);
        let decoy_hash = skep_auth::password::hash(&skep_auth::password::generate()).await?;
        Ok(LoginGate {
            limiter: LoginLimiter::new(max_failures, window),
            decoy_hash,
            slots: Semaphore::new(slot_count),
            slot_count,
            waiting: AtomicUsize::new(0),
        })
    }

    /// Verifies `password` for `login` from `source`. `lookup` finds the user and its stored
    /// password hash (`None` when unknown); it runs only once the attempt is admitted. Returns
    /// the user when the password matches.
    pub async fn verify<U, E, F>(
        &self,
        login: &str,
        password: &str,
        source: &str,
        lookup: F,
    ) -> Result<U, LoginError>
    where
        F: Future<Output = Result<Option<(U, Option<String>)>, E>>,
        E: std::fmt::Debug,
    {
        if login.len() > MAX_LOGIN_BYTES || login.is_empty() {
            return Err(LoginError::Refused);
        }
        let _slot = self.slot().await?;
        self.limiter
            .begin(login, source)
            .map_err(LoginError::TooManyAttempts)?;
        let found = lookup
            .await
            .map_err(|error| LoginError::Lookup(format!("{error:?}")))?;
        let (user, stored_hash) = match found {
            Some((user, Some(hash))) => (Some(user), hash),
            Some((_, None)) | None => (None, self.decoy_hash.clone()),
        };
        let matches = skep_auth::password::verify(password, &stored_hash)
            .await
            .unwrap_or(false);
        match user {
            Some(user) if matches => {
                self.limiter.record_verified(login, source);
                Ok(user)
            }
            _ => Err(LoginError::Refused),
        }
    }

    /// Takes a verification slot, waiting in a bounded line.
    async fn slot(&self) -> Result<tokio::sync::SemaphorePermit<'_>, LoginError> {
        if let Ok(permit) = self.slots.try_acquire() {
            return Ok(permit);
        }
        let waiting = self.waiting.fetch_add(1, Ordering::AcqRel);
        let _leave = Leave(&self.waiting);
        if waiting >= self.slot_count.saturating_mul(WAITING_PER_SLOT) {
            return Err(LoginError::Busy);
        }
        self.slots.acquire().await.map_err(|_| LoginError::Busy)
    }
}

/// Leaves the waiting line when dropped.
struct Leave<'a>(&'a AtomicUsize);

impl Drop for Leave<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WINDOW: Duration = Duration::from_secs(60);

    async fn hashed(password: &str) -> String {
        skep_auth::password::hash(password).await.unwrap()
    }

    type Found = Result<Option<(&'static str, Option<String>)>, String>;

    #[tokio::test]
    async fn a_right_password_passes_and_a_wrong_one_or_an_unknown_login_is_refused() {
        let gate = LoginGate::with_slots(10, WINDOW, 2).await.unwrap();
        let hash = hashed("right").await;

        let right = gate
            .verify("alice", "right", "s", async {
                Found::Ok(Some(("alice", Some(hash.clone()))))
            })
            .await;
        let wrong = gate
            .verify("alice", "wrong", "s", async {
                Found::Ok(Some(("alice", Some(hash.clone()))))
            })
            .await;
        let unknown = gate
            .verify("nobody", "right", "s", async { Found::Ok(None) })
            .await;
        let no_password = gate
            .verify("bob", "", "s", async { Found::Ok(Some(("bob", None))) })
            .await;

        assert_eq!(right, Ok("alice"));
        assert_eq!(wrong, Err(LoginError::Refused));
        assert_eq!(unknown, Err(LoginError::Refused));
        assert_eq!(no_password, Err(LoginError::Refused));
    }

    #[tokio::test]
    async fn an_over_long_login_is_refused_without_looking_it_up() {
        let gate = LoginGate::with_slots(10, WINDOW, 2).await.unwrap();
        let login = "a".repeat(MAX_LOGIN_BYTES + 1);

        let result = gate
            .verify(&login, "x", "s", async {
                panic!("an over-long login must not be looked up");
                #[allow(unreachable_code)]
                Found::Ok(None)
            })
            .await;

        assert_eq!(result, Err(LoginError::Refused));
    }

    #[tokio::test]
    async fn failures_beyond_the_limit_are_refused_before_verification() {
        let gate = LoginGate::with_slots(2, WINDOW, 2).await.unwrap();
        for _ in 0..2 {
            let _ = gate
                .verify("alice", "x", "s", async { Found::Ok(None) })
                .await;
        }

        let result = gate
            .verify("alice", "x", "s", async {
                panic!("a limited attempt must not be looked up");
                #[allow(unreachable_code)]
                Found::Ok(None)
            })
            .await;

        assert!(matches!(result, Err(LoginError::TooManyAttempts(_))));
    }

    #[tokio::test]
    async fn a_full_waiting_line_is_refused_as_busy() {
        let gate = LoginGate::with_slots(100, WINDOW, 1).await.unwrap();
        let _held = gate.slots.acquire().await.unwrap();
        gate.waiting.store(WAITING_PER_SLOT, Ordering::Release);

        let result = gate
            .verify("alice", "x", "s", async { Found::Ok(None) })
            .await;

        assert_eq!(result, Err(LoginError::Busy));
    }
}
