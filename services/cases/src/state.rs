//! `CasesState`: what every handler can reach, built once by `Application::build`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use skep_auth::key::KeySealer;
use skep_auth::login_limiter::LoginLimiter;
use skep_auth::session::SessionSigner;
use skep_store::Store;

use crate::config::CasesConfig;

/// Shared service state (handlers receive it as `web::Data<CasesState>`).
#[derive(Debug)]
pub struct CasesState {
    /// The loaded configuration.
    pub config: Arc<CasesConfig>,
    /// The document store.
    pub store: Arc<dyn Store>,
    /// Signs and verifies `THE_HIVE_SESSION` cookies.
    pub sessions: SessionSigner,
    /// Seals API keys and computes their lookup fingerprints.
    pub keys: KeySealer,
    /// Slows down password guessing.
    pub login_limiter: LoginLimiter,
    /// Recently authenticated users, so a request costs no user lookup (cleared on user writes).
    pub identities: crate::auth::IdentityCache,
    /// Audit trail, streams, server-sent events and webhooks.
    pub activity: Arc<crate::domain::audit::ActivityHub>,
    /// The engines of `[[cortex.servers]]` and the jobs being followed on them.
    pub connector: Arc<crate::domain::connector::Connector>,
    /// Set once `POST /api/maintenance/migrate` has run (before that, most routes answer 520).
    migrated: AtomicBool,
    /// Set once a user exists (before that, every request is the `init` pseudo-user).
    has_users: AtomicBool,
}

impl CasesState {
    /// Builds the state from its parts; `secret` keys sessions and API-key sealing.
    pub fn new(config: Arc<CasesConfig>, store: Arc<dyn Store>, secret: &[u8]) -> CasesState {
        let limiter = LoginLimiter::new(
            config.auth.max_login_failures,
            Duration::from_secs(config.auth.login_lockout_seconds),
        );
        // An audit entry keeps a snapshot of its object for the flow and the stream; nobody
        // searches it (TheHive does not even store it), so it is not indexed.
        store.set_unindexed(crate::domain::audit::KIND, &["object"]);
        // Engine reports are shown, never searched (their taxonomies are searched on the
        // observable's `reports`); templates are served whole.
        crate::domain::connector::set_unindexed(&*store);
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
        let connector = Arc::new(crate::domain::connector::Connector::new(&config.cortex));
        CasesState {
            activity,
            connector,
            config,
            store,
            sessions: SessionSigner::new(secret),
            keys: KeySealer::new(secret),
            login_limiter: limiter,
            identities: crate::auth::IdentityCache::default(),
            migrated: AtomicBool::new(false),
            has_users: AtomicBool::new(false),
        }
    }

    /// True once the database has been initialised.
    pub fn is_migrated(&self) -> bool {
        self.migrated.load(Ordering::Acquire)
    }

    /// Records that the database is initialised.
    pub fn mark_migrated(&self) {
        self.migrated.store(true, Ordering::Release);
    }

    /// True once a user is known to exist (users are never hard-deleted, so it stays true).
    pub fn known_to_have_users(&self) -> bool {
        self.has_users.load(Ordering::Acquire)
    }

    /// Records that a user exists.
    pub fn mark_has_users(&self) {
        self.has_users.store(true, Ordering::Release);
    }

    /// Session inactivity timeout.
    pub fn session_ttl(&self) -> Duration {
        Duration::from_secs(self.config.auth.session_ttl_minutes.max(1) * 60)
    }
}
