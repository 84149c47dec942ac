//! The service kernel: what the cases service and the engine both need to start and to know
//! who is calling, written once.
//!
//! [`Kernel::start`] validates the shared configuration sections, creates the data directory,
//! reads or creates the server secret ([`secret`]), opens the store, and builds the credential
//! tools: API-key sealing, [`session::Sessions`] (tokens bound to the service, cookies, one
//! renewal rule), the [`login::LoginGate`] (limiter, decoy hash, bounded argon2 work) and the
//! [`first_run::FirstRun`] flags. [`caller`] holds the generic `Caller<P>` extractor over a
//! service's role set; [`zip`] the password-protected downloads.
//!
//! **Invariant:** nothing here knows a service's entities or roles; a service plugs in through
//! [`caller::Authenticate`] and its own role enum.
#![warn(missing_docs)]

pub mod caller;
pub mod first_run;
pub mod login;
pub mod panic;
pub mod secret;
pub mod session;
pub mod zip;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use skep_auth::key::KeySealer;
use skep_config::{AuthConfig, HttpConfig, StoreConfig};
use skep_store::Store;

pub use caller::{Authenticate, Caller, Policy};
pub use first_run::{FirstAdmin, FirstRun};
pub use login::{LoginError, LoginGate};
pub use session::{CookieNames, Sessions};

/// What [`Kernel::start`] needs of a service.
#[derive(Debug, Clone, Copy)]
pub struct KernelSettings<'a> {
    /// The service's name (`cases`, `engine`): the sessions' audience, and the stem of its
    /// files in the data directory (`<name>.secret`, `<name>.db`).
    pub service: &'static str,
    /// `[http]`.
    pub http: &'a HttpConfig,
    /// `[store]`.
    pub store: &'a StoreConfig,
    /// `[auth]`.
    pub auth: &'a AuthConfig,
    /// The data directory.
    pub data_dir: &'a Path,
    /// The service's cookie names.
    pub cookies: CookieNames,
}

/// The started kernel of one service.
#[derive(Debug)]
pub struct Kernel {
    /// The opened store.
    pub store: Arc<dyn Store>,
    /// Seals API keys at rest and fingerprints them for lookup.
    pub keys: KeySealer,
    /// Login sessions and their cookies.
    pub sessions: Sessions,
    /// Password verification.
    pub logins: LoginGate,
    /// First-run flags and guard.
    pub first_run: FirstRun,
}

impl Kernel {
    /// Validates the shared sections, creates the data directory, prepares the secret and
    /// opens the store. Every error names what to fix.
    pub async fn start(settings: KernelSettings<'_>) -> anyhow::Result<Kernel> {
        settings.http.validate()?;
        settings.store.validate()?;
        settings.auth.validate()?;
        std::fs::create_dir_all(settings.data_dir).with_context(|| {
            format!(
                "cannot create the data directory {}; set data_dir to a writable path",
                settings.data_dir.display()
            )
        })?;
        let secret_path = settings
            .data_dir
            .join(format!("{}.secret", settings.service));
        let secret = secret::server_secret(&settings.http.secret, &secret_path)?;
        let store = open_store(settings.store, settings.data_dir, settings.service).await?;
        let ttl = Duration::from_secs(settings.auth.session_ttl_minutes.saturating_mul(60));
        Ok(Kernel {
            store,
            keys: KeySealer::new(secret.as_bytes()),
            sessions: Sessions::new(
                secret.as_bytes(),
                settings.service,
                settings.cookies,
                ttl,
                settings.http.secure_cookies,
            ),
            logins: LoginGate::new(
                settings.auth.login_max_failures,
                Duration::from_secs(settings.auth.login_window_seconds),
            )
            .await?,
            first_run: FirstRun::default(),
        })
    }
}

/// Opens the configured store; SQLite defaults to `<data_dir>/<service>.db`.
pub async fn open_store(
    store: &StoreConfig,
    data_dir: &Path,
    service: &str,
) -> anyhow::Result<Arc<dyn Store>> {
    let backend = store.backend(data_dir, &format!("{service}.db"));
    skep_store::open(&backend)
        .await
        .with_context(|| format!("cannot open the {service} store (check the [store] section)"))
}

/// Logs each warning about a deprecated configuration key.
pub fn warn_deprecated(warnings: &[String]) {
    for warning in warnings {
        tracing::warn!("{warning}");
    }
}
