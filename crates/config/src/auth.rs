//! `[auth]`: login and session settings, the same keys in every service.

use serde::Deserialize;

use crate::ConfigError;

/// `[auth]`: session lifetime and the failed-login limit (Basic authentication is
/// `http.basic_auth`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// Lifetime of a login session, in minutes; renewed once half of it has passed.
    pub session_ttl_minutes: u64,
    /// Failed logins allowed per account and per source address within the window.
    pub login_max_failures: u32,
    /// Length of the failed-login window, in seconds.
    pub login_window_seconds: u64,
    /// Former name of `login_max_failures`, accepted for one release.
    #[serde(rename = "max_login_failures")]
    pub deprecated_max_login_failures: Option<u32>,
    /// Former name of `login_window_seconds`, accepted for one release.
    #[serde(rename = "login_lockout_seconds")]
    pub deprecated_login_lockout_seconds: Option<u64>,
}

/// Longest accepted session lifetime: one year.
const MAX_SESSION_TTL_MINUTES: u64 = 366 * 24 * 60;
/// Longest accepted failed-login window: one day.
const MAX_LOGIN_WINDOW_SECONDS: u64 = 24 * 60 * 60;

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            session_ttl_minutes: 60,
            login_max_failures: 10,
            login_window_seconds: 300,
            deprecated_max_login_failures: None,
            deprecated_login_lockout_seconds: None,
        }
    }
}

impl AuthConfig {
    /// Applies the former key names (they win only when set) and returns one warning per
    /// former name in use, naming the key to write instead.
    pub fn resolve_deprecated(&mut self, section: &str) -> Vec<String> {
        let mut warnings = Vec::new();
        if let Some(value) = self.deprecated_max_login_failures.take() {
            self.login_max_failures = value;
            warnings.push(format!(
                "`{section}.max_login_failures` is deprecated; write `{section}.login_max_failures`"
            ));
        }
        if let Some(value) = self.deprecated_login_lockout_seconds.take() {
            self.login_window_seconds = value;
            warnings.push(format!(
                "`{section}.login_lockout_seconds` is deprecated; write `{section}.login_window_seconds`"
            ));
        }
        warnings
    }

    /// Checks the bounds serde cannot: a session lifetime of 1 minute to a year, at least one
    /// allowed failure, a window of 1 second to a day.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key: &str, message: &str| ConfigError::InvalidValue {
            key: format!("auth.{key}"),
            message: message.to_owned(),
        };
        if !(1..=MAX_SESSION_TTL_MINUTES).contains(&self.session_ttl_minutes) {
            return Err(invalid(
                "session_ttl_minutes",
                "must be between 1 and 527040 (one year)",
            ));
        }
        if self.login_max_failures == 0 {
            return Err(invalid("login_max_failures", "must be at least 1"));
        }
        if !(1..=MAX_LOGIN_WINDOW_SECONDS).contains(&self.login_window_seconds) {
            return Err(invalid(
                "login_window_seconds",
                "must be between 1 and 86400 (one day)",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_former_key_sets_the_new_one_and_is_named_in_a_warning() {
        let mut config = AuthConfig {
            deprecated_max_login_failures: Some(3),
            deprecated_login_lockout_seconds: Some(60),
            ..AuthConfig::default()
        };

        let warnings = config.resolve_deprecated("auth");

        assert_eq!(config.login_max_failures, 3);
        assert_eq!(config.login_window_seconds, 60);
        assert_eq!(warnings.len(), 2);
        assert!(
            warnings[0].contains("auth.login_max_failures"),
            "{warnings:?}"
        );
        assert!(
            warnings[1].contains("auth.login_window_seconds"),
            "{warnings:?}"
        );
    }

    #[test]
    fn out_of_range_values_are_refused_with_their_key() {
        let zero_ttl = AuthConfig {
            session_ttl_minutes: 0,
            ..AuthConfig::default()
        };
        let huge_window = AuthConfig {
            login_window_seconds: u64::MAX,
            ..AuthConfig::default()
        };

        assert!(
            zero_ttl
                .validate()
                .unwrap_err()
                .to_string()
                .contains("auth.session_ttl_minutes")
        );
        assert!(
            huge_window
                .validate()
                .unwrap_err()
                .to_string()
                .contains("auth.login_window_seconds")
        );
        assert!(AuthConfig::default().validate().is_ok());
    }
}
