//! The state every handler receives: configuration, store, credential tools and first-run flags.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use skep_auth::key::KeySealer;
use skep_auth::login_limiter::LoginLimiter;
use skep_auth::session::SessionSigner;
use skep_store::{Query, Store};

use crate::config::EngineConfig;
use crate::domain::{META_KIND, USER_KIND};
use crate::error::EngineError;

/// Id of the store document whose presence marks the store as migrated.
pub const MIGRATION_MARKER: &str = "migrated";

/// Shared state of the engine, cloned into every worker thread by actix (`web::Data`).
#[derive(Debug)]
pub struct EngineState {
    /// The configuration the engine started with.
    pub config: Arc<EngineConfig>,
    /// The document store.
    pub store: Arc<dyn Store>,
    /// Issues and verifies `CORTEX_SESSION` tokens.
    pub sessions: SessionSigner,
    /// Seals API keys at rest and fingerprints them for lookup.
    pub keys: KeySealer,
    /// Rate limit of failed logins per account and per source.
    pub login_limiter: LoginLimiter,
    /// Serialises the creation of the first user by the `init` pseudo-user.
    pub first_user_lock: tokio::sync::Mutex<()>,
    /// A password hash checked when a login names no known user, so unknown logins cost the same
    /// time as wrong passwords.
    pub decoy_password_hash: String,
    migrated: AtomicBool,
    has_users: AtomicBool,
}

impl EngineState {
    /// Builds the state from its parts; `secret` is the server secret.
    pub fn new(
        config: Arc<EngineConfig>,
        store: Arc<dyn Store>,
        secret: &[u8],
        decoy_password_hash: String,
    ) -> EngineState {
        let login_limiter = LoginLimiter::new(
            config.auth.login_max_failures,
            Duration::from_secs(config.auth.login_window_seconds),
        );
        // An analyzer's full report is opaque (data-valued keys, per-engine results): indexed
        // field by field it would grow the index mapping without bound.
        store.set_unindexed(crate::jobs::job::REPORT_KIND, &["full"]);
        EngineState {
            config,
            store,
            sessions: SessionSigner::new(secret),
            keys: KeySealer::new(secret),
            login_limiter,
            first_user_lock: tokio::sync::Mutex::new(()),
            decoy_password_hash,
            migrated: AtomicBool::new(false),
            has_users: AtomicBool::new(false),
        }
    }

    /// Answers 520 (empty body) until `POST /api/maintenance/migrate` has run once.
    pub async fn ensure_migrated(&self) -> Result<(), EngineError> {
        if self.migrated.load(Ordering::Acquire) {
            return Ok(());
        }
        match self.store.get(META_KIND, MIGRATION_MARKER).await {
            Ok(_) => {
                self.migrated.store(true, Ordering::Release);
                Ok(())
            }
            Err(skep_store::StoreError::NotFound { .. }) => Err(EngineError::NotMigrated),
            Err(error) => Err(error.into()),
        }
    }

    /// Remembers that the store is migrated.
    pub fn mark_migrated(&self) {
        self.migrated.store(true, Ordering::Release);
    }

    /// True once at least one user exists (the `init` pseudo-user is then refused).
    pub async fn has_users(&self) -> Result<bool, EngineError> {
        if self.has_users.load(Ordering::Acquire) {
            return Ok(true);
        }
        let count = self.store.count(USER_KIND, &Query::All).await?;
        if count > 0 {
            self.has_users.store(true, Ordering::Release);
        }
        Ok(count > 0)
    }

    /// Remembers that a user exists.
    pub fn mark_has_users(&self) {
        self.has_users.store(true, Ordering::Release);
    }

    /// Lifetime of login sessions.
    pub fn session_ttl(&self) -> Duration {
        Duration::from_secs(self.config.auth.session_ttl_minutes.saturating_mul(60))
    }
}
