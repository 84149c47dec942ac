//! The state every handler receives: configuration, store, and the service kernel (credential
//! tools and first-run flags).

use std::sync::Arc;

use skep_auth::key::KeySealer;
use skep_service::{FirstRun, Kernel, LoginGate, Sessions};
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
    /// Issues, reads and renews `CORTEX_SESSION` sessions.
    pub sessions: Sessions,
    /// Seals API keys at rest and fingerprints them for lookup.
    pub keys: KeySealer,
    /// Password verification: limiter, decoy hash, bounded hashing work.
    pub logins: LoginGate,
    /// Migration and first-user flags, and the first-user guard.
    pub first_run: FirstRun,
}

impl EngineState {
    /// Builds the state from the configuration and the started kernel.
    pub fn new(config: Arc<EngineConfig>, kernel: Kernel) -> EngineState {
        // An analyzer's full report is opaque (data-valued keys, per-engine results): indexed
        // field by field it would grow the index mapping without bound.
        kernel
            .store
            .set_unindexed(crate::jobs::job::REPORT_KIND, &["full"]);
        EngineState {
            config,
            store: kernel.store,
            sessions: kernel.sessions,
            keys: kernel.keys,
            logins: kernel.logins,
            first_run: kernel.first_run,
        }
    }

    /// Answers 520 (empty body) until `POST /api/maintenance/migrate` has run once.
    pub async fn ensure_migrated(&self) -> Result<(), EngineError> {
        if self.first_run.is_migrated() {
            return Ok(());
        }
        match self.store.get(META_KIND, MIGRATION_MARKER).await {
            Ok(_) => {
                self.first_run.mark_migrated();
                Ok(())
            }
            Err(skep_store::StoreError::NotFound { .. }) => Err(EngineError::NotMigrated),
            Err(error) => Err(error.into()),
        }
    }

    /// Remembers that the store is migrated.
    pub fn mark_migrated(&self) {
        self.first_run.mark_migrated();
    }

    /// True once at least one user exists (the `init` pseudo-user is then refused).
    pub async fn has_users(&self) -> Result<bool, EngineError> {
        if self.first_run.known_to_have_users() {
            return Ok(true);
        }
        let count = self.store.count(USER_KIND, &Query::All).await?;
        if count > 0 {
            self.first_run.mark_has_users();
        }
        Ok(count > 0)
    }

    /// Remembers that a user exists.
    pub fn mark_has_users(&self) {
        self.first_run.mark_has_users();
    }
}
