//! In-memory rate limiting of login attempts, per account and per source address.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Above this many tracked subjects, expired entries are swept on the next failure, which keeps
/// memory bounded under a spray of attempts from many addresses.
const SWEEP_THRESHOLD: usize = 10_000;

/// A source of the current time, injectable so tests control the clock.
pub trait Clock: Send + Sync + 'static {
    /// Returns the current instant.
    fn now(&self) -> Instant;
}

/// The real monotonic clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// Who an attempt is counted against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Subject {
    Account(String),
    Source(String),
}

#[derive(Debug, Clone, Copy)]
struct FailureWindow {
    started: Instant,
    failures: u32,
}

/// Counts failed logins per account and per source address within a fixed window that starts at
/// the first failure. Once either count reaches `max_failures`, [`LoginLimiter::check`] refuses
/// further attempts until that window ends.
///
/// A successful login clears the account's count but not the source's, so one valid account
/// cannot be used to reset a source that is guessing other accounts' passwords. Account names
/// are compared case-insensitively.
pub struct LoginLimiter {
    max_failures: u32,
    window: Duration,
    clock: Arc<dyn Clock>,
    windows: Mutex<HashMap<Subject, FailureWindow>>,
}

impl std::fmt::Debug for LoginLimiter {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("LoginLimiter")
            .field("max_failures", &self.max_failures)
            .field("window", &self.window)
            .finish_non_exhaustive()
    }
}

impl LoginLimiter {
    /// Builds a limiter on the system clock that allows `max_failures` failures per `window`.
    pub fn new(max_failures: u32, window: Duration) -> LoginLimiter {
        LoginLimiter::with_clock(max_failures, window, Arc::new(SystemClock))
    }

    /// Builds a limiter on the given clock.
    pub fn with_clock(max_failures: u32, window: Duration, clock: Arc<dyn Clock>) -> LoginLimiter {
        LoginLimiter {
            max_failures: max_failures.max(1),
            window,
            clock,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Answers whether a login attempt may proceed; `Err` carries how long to wait.
    pub fn check(&self, account: &str, source: &str) -> Result<(), Duration> {
        let now = self.clock.now();
        let windows = self.lock();
        let retry_after = subjects(account, source)
            .iter()
            .filter_map(|subject| windows.get(subject))
            .filter(|entry| entry.failures >= self.max_failures)
            .filter_map(|entry| (entry.started + self.window).checked_duration_since(now))
            .filter(|remaining| !remaining.is_zero())
            .max();
        match retry_after {
            Some(remaining) => Err(remaining),
            None => Ok(()),
        }
    }

    /// Counts a failed attempt against both the account and the source.
    pub fn record_failure(&self, account: &str, source: &str) {
        let now = self.clock.now();
        let mut windows = self.lock();
        if windows.len() > SWEEP_THRESHOLD {
            windows.retain(|_, entry| now < entry.started + self.window);
        }
        for subject in subjects(account, source) {
            let entry = windows.entry(subject).or_insert(FailureWindow {
                started: now,
                failures: 0,
            });
            if now >= entry.started + self.window {
                *entry = FailureWindow {
                    started: now,
                    failures: 0,
                };
            }
            entry.failures = entry.failures.saturating_add(1);
        }
    }

    /// Clears the account's failure count after a successful login.
    pub fn record_success(&self, account: &str, _source: &str) {
        self.lock()
            .remove(&Subject::Account(account.to_lowercase()));
    }

    /// Checks and counts an attempt in one step, before its password is verified, so that
    /// concurrent guesses cannot all pass the check before the first failure is counted. The
    /// attempt stays counted as a failure unless [`LoginLimiter::record_verified`] follows.
    pub fn begin(&self, account: &str, source: &str) -> Result<(), Duration> {
        let now = self.clock.now();
        let mut windows = self.lock();
        if windows.len() > SWEEP_THRESHOLD {
            windows.retain(|_, entry| now < entry.started + self.window);
        }
        let retry_after = subjects(account, source)
            .iter()
            .filter_map(|subject| windows.get(subject))
            .filter(|entry| entry.failures >= self.max_failures)
            .filter_map(|entry| (entry.started + self.window).checked_duration_since(now))
            .filter(|remaining| !remaining.is_zero())
            .max();
        if let Some(remaining) = retry_after {
            return Err(remaining);
        }
        for subject in subjects(account, source) {
            let entry = windows.entry(subject).or_insert(FailureWindow {
                started: now,
                failures: 0,
            });
            if now >= entry.started + self.window {
                *entry = FailureWindow {
                    started: now,
                    failures: 0,
                };
            }
            entry.failures = entry.failures.saturating_add(1);
        }
        Ok(())
    }

    /// Undoes the count of an attempt begun with [`LoginLimiter::begin`] whose password was
    /// right: the account's count is cleared, the source's loses this one attempt only.
    pub fn record_verified(&self, account: &str, source: &str) {
        let mut windows = self.lock();
        windows.remove(&Subject::Account(account.to_lowercase()));
        if let Some(entry) = windows.get_mut(&Subject::Source(source.to_owned())) {
            entry.failures = entry.failures.saturating_sub(1);
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<Subject, FailureWindow>> {
        // The map stays consistent even if a holder panicked: every update is a single insert.
        self.windows
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn subjects(account: &str, source: &str) -> [Subject; 2] {
    [
        Subject::Account(account.to_lowercase()),
        Subject::Source(source.to_owned()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A clock that only moves when told to.
    struct ManualClock(Mutex<Instant>);

    impl ManualClock {
        fn advance(&self, by: Duration) {
            *self.0.lock().unwrap() += by;
        }
    }

    impl Clock for ManualClock {
        fn now(&self) -> Instant {
            *self.0.lock().unwrap()
        }
    }

    const WINDOW: Duration = Duration::from_secs(60);

    fn limiter(max_failures: u32) -> (LoginLimiter, Arc<ManualClock>) {
        let clock = Arc::new(ManualClock(Mutex::new(Instant::now())));
        (
            LoginLimiter::with_clock(max_failures, WINDOW, clock.clone()),
            clock,
        )
    }

    #[test]
    fn attempts_below_the_limit_are_allowed() {
        let (limiter, _) = limiter(3);

        limiter.record_failure("alice", "10.0.0.1");
        limiter.record_failure("alice", "10.0.0.1");

        assert_eq!(limiter.check("alice", "10.0.0.1"), Ok(()));
    }

    #[test]
    fn reaching_the_limit_blocks_the_account_with_the_remaining_window_as_retry_after() {
        let (limiter, clock) = limiter(3);
        for _ in 0..3 {
            limiter.record_failure("alice", "10.0.0.1");
        }
        clock.advance(Duration::from_secs(20));

        let result = limiter.check("alice", "10.0.0.2");

        assert_eq!(result, Err(Duration::from_secs(40)));
    }

    #[test]
    fn reaching_the_limit_blocks_the_source_for_every_account() {
        let (limiter, _) = limiter(3);
        limiter.record_failure("alice", "10.0.0.1");
        limiter.record_failure("bob", "10.0.0.1");
        limiter.record_failure("carol", "10.0.0.1");

        let same_source = limiter.check("dave", "10.0.0.1");
        let other_source = limiter.check("dave", "10.0.0.2");

        assert_eq!(same_source, Err(WINDOW));
        assert_eq!(other_source, Ok(()));
    }

    #[test]
    fn the_block_lifts_when_the_window_ends() {
        let (limiter, clock) = limiter(2);
        limiter.record_failure("alice", "10.0.0.1");
        limiter.record_failure("alice", "10.0.0.1");

        clock.advance(WINDOW);

        assert_eq!(limiter.check("alice", "10.0.0.1"), Ok(()));
    }

    #[test]
    fn failures_in_an_expired_window_do_not_count_toward_the_next() {
        let (limiter, clock) = limiter(2);
        limiter.record_failure("alice", "10.0.0.1");
        clock.advance(WINDOW + Duration::from_secs(1));

        limiter.record_failure("alice", "10.0.0.1");

        assert_eq!(limiter.check("alice", "10.0.0.1"), Ok(()));
    }

    #[test]
    fn a_success_clears_the_account_but_not_the_source() {
        let (limiter, _) = limiter(2);
        limiter.record_failure("alice", "10.0.0.1");
        limiter.record_failure("alice", "10.0.0.1");

        limiter.record_success("alice", "10.0.0.1");

        assert_eq!(limiter.check("alice", "10.0.0.2"), Ok(()));
        assert!(limiter.check("alice", "10.0.0.1").is_err());
    }

    #[test]
    fn account_names_are_counted_case_insensitively() {
        let (limiter, _) = limiter(2);
        limiter.record_failure("Alice", "10.0.0.1");
        limiter.record_failure("ALICE", "10.0.0.2");

        assert!(limiter.check("alice", "10.0.0.3").is_err());
    }

    #[test]
    fn the_system_clock_limiter_blocks_after_the_limit() {
        let limiter = LoginLimiter::new(1, Duration::from_secs(300));

        limiter.record_failure("alice", "::1");

        assert!(limiter.check("alice", "::1").is_err());
    }

    #[test]
    fn attempts_are_counted_before_verification_and_a_verified_one_is_given_back() {
        let limiter = LoginLimiter::new(2, WINDOW);

        assert!(limiter.begin("alice", "10.0.0.1").is_ok());
        assert!(limiter.begin("alice", "10.0.0.1").is_ok());
        // Two attempts in flight, none verified yet: the third is refused already.
        assert!(limiter.begin("alice", "10.0.0.1").is_err());

        let other = LoginLimiter::new(2, WINDOW);
        for _ in 0..5 {
            other.begin("bob", "10.0.0.2").unwrap();
            other.record_verified("bob", "10.0.0.2");
        }
        assert!(other.begin("bob", "10.0.0.2").is_ok());
    }
}
