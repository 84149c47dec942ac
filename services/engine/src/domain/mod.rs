//! Engine domain: organisations and users (tenancy), plus the worker/job modules.
//!
//! Domain functions take what they use (`&dyn Store`, the caller's [`Identity`](crate::auth::Identity))
//! and return [`EngineError`](crate::error::EngineError); they never see HTTP.

pub mod organization;
pub mod secrets;
pub mod user;

use serde::{Deserialize, Serialize};

/// Store kind of organisations.
pub const ORGANIZATION_KIND: &str = "organization";
/// Store kind of users.
pub const USER_KIND: &str = "user";
/// Store kind of the engine's own bookkeeping documents (the migration marker).
pub const META_KIND: &str = "engine_meta";

/// The id (= name) of an organisation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OrgId(String);

impl OrgId {
    /// Name of the default organisation created by the migration; it holds the superadmins.
    pub const DEFAULT: &'static str = "cortex";

    /// Wraps an organisation name.
    pub fn new(name: impl Into<String>) -> OrgId {
        OrgId(name.into())
    }

    /// The default organisation `cortex`.
    pub fn default_org() -> OrgId {
        OrgId(Self::DEFAULT.to_owned())
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True for the immutable default organisation.
    pub fn is_default(&self) -> bool {
        self.0 == Self::DEFAULT
    }
}

impl std::fmt::Display for OrgId {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(&self.0)
    }
}

/// Current time in epoch milliseconds, the date format of the wire.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
