//! First run: the "migrated" and "has users" flags, the guard that lets only one `init` request
//! create the first user, and the first administrator created from configuration, reported to
//! `main` (never printed from inside a service).

use std::sync::atomic::{AtomicBool, Ordering};

use skep_config::Secret;

/// The first-run flags of one service. Both only ever go from false to true.
#[derive(Debug, Default)]
pub struct FirstRun {
    migrated: AtomicBool,
    has_users: AtomicBool,
    first_user: tokio::sync::Mutex<()>,
}

impl FirstRun {
    /// True once the store is known to be migrated.
    pub fn is_migrated(&self) -> bool {
        self.migrated.load(Ordering::Acquire)
    }

    /// Records that the store is migrated.
    pub fn mark_migrated(&self) {
        self.migrated.store(true, Ordering::Release);
    }

    /// True once a user is known to exist (users are never hard-deleted).
    pub fn known_to_have_users(&self) -> bool {
        self.has_users.load(Ordering::Acquire)
    }

    /// Records that a user exists.
    pub fn mark_has_users(&self) {
        self.has_users.store(true, Ordering::Release);
    }

    /// Serialises the creation of the first user by the `init` pseudo-user: hold the guard,
    /// re-check that no user exists, create, then [`FirstRun::mark_has_users`].
    pub async fn first_user_guard(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.first_user.lock().await
    }
}

/// The first administrator created at start from the `[bootstrap]` section, for `main` to show
/// once.
#[derive(Clone, PartialEq, Eq)]
pub struct FirstAdmin {
    /// Its login.
    pub login: String,
    /// Its password when it was generated (`None` when it came from the configuration).
    pub generated_password: Option<String>,
}

impl FirstAdmin {
    /// The line `main` prints for the operator, prefixed with the service's name.
    pub fn announcement(&self, service: &str) -> String {
        match &self.generated_password {
            Some(password) => format!(
                "{service}: first administrator `{}` created with password `{password}` (shown once)",
                self.login
            ),
            None => format!("{service}: first administrator `{}` created", self.login),
        }
    }
}

impl std::fmt::Debug for FirstAdmin {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("FirstAdmin")
            .field("login", &self.login)
            .field(
                "generated_password",
                &self.generated_password.as_ref().map(|_| "[redacted]"),
            )
            .finish()
    }
}

/// The password of the first administrator: the configured one, or a generated one that is
/// also returned to be shown once.
pub fn first_admin_password(configured: Option<&Secret>) -> (String, Option<String>) {
    match configured {
        Some(secret) if !secret.expose().is_empty() => (secret.expose().to_owned(), None),
        _ => {
            let password = skep_auth::password::generate();
            (password.clone(), Some(password))
        }
    }
}

/// The configured first administrator's login, when one is configured (blank means none).
pub fn first_admin_login(configured: Option<&str>) -> Option<String> {
    configured
        .map(str::trim)
        .filter(|login| !login.is_empty())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_password_is_reported_and_a_configured_one_is_not() {
        let (password, shown) = first_admin_password(None);
        let (configured, not_shown) = first_admin_password(Some(&Secret::new("given")));

        assert_eq!(shown.as_deref(), Some(password.as_str()));
        assert_eq!(configured, "given");
        assert_eq!(not_shown, None);
    }

    #[test]
    fn the_announcement_shows_a_generated_password_and_debug_hides_it() {
        let admin = FirstAdmin {
            login: "admin".into(),
            generated_password: Some("pw-123".into()),
        };

        assert!(admin.announcement("skep cases").contains("pw-123"));
        assert!(!format!("{admin:?}").contains("pw-123"));
        assert_eq!(first_admin_login(Some("  ")), None);
        assert_eq!(first_admin_login(Some(" root ")).as_deref(), Some("root"));
    }
}
