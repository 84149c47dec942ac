//! `CasesState`: what every handler can reach, built once by `Application::build`.

use std::sync::Arc;

use skep_auth::key::KeySealer;
use skep_service::{FirstRun, Kernel, LoginGate, Sessions};
use skep_store::Store;

use crate::config::CasesConfig;

/// Shared service state (handlers receive it as `web::Data<CasesState>`).
#[derive(Debug)]
pub struct CasesState {
    /// The loaded configuration.
    pub config: Arc<CasesConfig>,
    /// The document store.
    pub store: Arc<dyn Store>,
    /// Issues, reads and renews `THE_HIVE_SESSION` sessions.
    pub sessions: Sessions,
    /// Seals API keys and computes their lookup fingerprints.
    pub keys: KeySealer,
    /// Password verification: limiter, decoy hash, bounded hashing work.
    pub logins: LoginGate,
    /// Recently authenticated users, so a request costs no user lookup (cleared on user writes).
    pub identities: crate::auth::IdentityCache,
    /// Audit trail, streams, server-sent events and webhooks.
    pub activity: Arc<crate::domain::audit::ActivityHub>,
    /// Migration and first-user flags (before migration most routes answer 520; before the
    /// first user every request is the `init` pseudo-user) and the first-user guard.
    pub first_run: FirstRun,
}

impl CasesState {
    /// Builds the state from the configuration and the started kernel.
    pub fn new(config: Arc<CasesConfig>, kernel: Kernel) -> CasesState {
        let store = kernel.store;
        // An audit entry keeps a snapshot of its object for the flow and the stream; nobody
        // searches it (TheHive does not even store it), so it is not indexed.
        store.set_unindexed(crate::domain::audit::KIND, &["object"]);
        // Opaque copies nobody searches field by field: each would add fields to the index.
        store.set_unindexed(crate::domain::webhook::KIND, &["payload"]);
        store.set_unindexed(crate::domain::datastore::KIND, &["binary"]);
        // Rows nobody searches right after writing them: no wait for a refresh per row.
        store.set_visibility(crate::domain::audit::KIND, skep_store::Visibility::Eventual);
        store.set_visibility(
            crate::domain::webhook::KIND,
            skep_store::Visibility::Eventual,
        );
        let activity = crate::domain::audit::ActivityHub::start(
            store.clone(),
            &config.webhooks,
            config.stream,
        );
        // Every write through the state's store is audited; the hub keeps the raw store.
        let store = crate::domain::audit_store::AuditedStore::wrap(store);
        CasesState {
            activity,
            config,
            store,
            sessions: kernel.sessions,
            keys: kernel.keys,
            logins: kernel.logins,
            identities: crate::auth::IdentityCache::default(),
            first_run: kernel.first_run,
        }
    }

    /// True once the database has been initialised.
    pub fn is_migrated(&self) -> bool {
        self.first_run.is_migrated()
    }

    /// Records that the database is initialised.
    pub fn mark_migrated(&self) {
        self.first_run.mark_migrated();
    }

    /// Records that a user exists.
    pub fn mark_has_users(&self) {
        self.first_run.mark_has_users();
    }
}
