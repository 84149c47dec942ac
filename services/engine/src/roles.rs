//! The engine's four roles and the policy markers that put a role requirement in a handler's
//! signature (`Caller<roles::OrgAdmin>`).
//!
//! There is no hierarchy: a policy is satisfied when the caller holds at least one of its roles,
//! exactly as the Cortex permission table reads. A superadmin therefore reads no reports and runs
//! no jobs unless it also holds `read`/`analyze`.

use serde::{Deserialize, Serialize};

/// A role a user holds, spelled in lower case on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads workers, jobs and reports of the own organisation.
    Read,
    /// Runs analyzers and responders, deletes jobs.
    Analyze,
    /// Manages users and workers of the own organisation.
    OrgAdmin,
    /// Manages organisations and users of every organisation.
    SuperAdmin,
}

impl Role {
    /// Every role, in wire order.
    pub const ALL: [Role; 4] = [Role::Read, Role::Analyze, Role::OrgAdmin, Role::SuperAdmin];

    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Read => "read",
            Role::Analyze => "analyze",
            Role::OrgAdmin => "orgadmin",
            Role::SuperAdmin => "superadmin",
        }
    }

    /// Parses the wire spelling (case-insensitively, as Cortex accepts `orgAdmin`).
    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str().eq_ignore_ascii_case(text.trim()))
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.as_str())
    }
}

pub use skep_service::Policy;

skep_service::policies! {
    crate::state::EngineState, Role;
    /// Any authenticated caller.
    Any => [];
    /// Holders of `read`.
    Read => [Read];
    /// Holders of `analyze`.
    Analyze => [Analyze];
    /// Holders of `orgadmin`.
    OrgAdmin => [OrgAdmin];
    /// Holders of `superadmin`.
    SuperAdmin => [SuperAdmin];
    /// Holders of `orgadmin` or `superadmin`.
    Admin => [OrgAdmin, SuperAdmin];
    /// Holders of `read` or `superadmin` (`GET /api/user/:id`).
    ReadOrSuperAdmin => [Read, SuperAdmin];
    /// Holders of `analyze` or `orgadmin` (`DELETE /api/job/:id`).
    AnalyzeOrOrgAdmin => [Analyze, OrgAdmin];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_through_their_wire_spelling() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
            assert_eq!(serde_json::to_value(role).unwrap(), role.as_str());
        }
        assert_eq!(Role::parse("orgAdmin"), Some(Role::OrgAdmin));
        assert_eq!(Role::parse("admin"), None);
    }
}
