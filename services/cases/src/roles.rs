//! The four TheHive roles, held as a set with no hierarchy, and the policy markers that put the
//! required role into a handler's signature (`Caller<roles::Write>`).

use serde::{Deserialize, Serialize};

/// One role. An endpoint passes when the caller holds any one of the roles it lists; `admin`
/// does not imply `read` (spec §1.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Read cases, alerts and everything else.
    Read,
    /// Create and change cases, tasks, observables; act on alerts.
    Write,
    /// Manage users, templates, lists.
    Admin,
    /// Create alerts (feeders).
    Alert,
}

impl Role {
    /// Every role, in display order.
    pub const ALL: [Role; 4] = [Role::Read, Role::Write, Role::Admin, Role::Alert];

    /// The lowercase wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Read => "read",
            Role::Write => "write",
            Role::Admin => "admin",
            Role::Alert => "alert",
        }
    }

    /// Parses a role name case-insensitively.
    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str().eq_ignore_ascii_case(text.trim()))
    }
}

/// A set of roles.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RoleSet(u8);

impl RoleSet {
    /// The set of the given roles.
    pub fn of(roles: &[Role]) -> RoleSet {
        RoleSet(
            roles
                .iter()
                .fold(0, |bits, role| bits | RoleSet::bit(*role)),
        )
    }

    fn bit(role: Role) -> u8 {
        1 << (role as u8)
    }

    /// True when the role is held.
    pub fn contains(self, role: Role) -> bool {
        self.0 & RoleSet::bit(role) != 0
    }

    /// True when any one of `required` is held (an empty list passes).
    pub fn has_any(self, required: &[Role]) -> bool {
        required.is_empty() || required.iter().any(|role| self.contains(*role))
    }

    /// The roles held, in display order.
    pub fn to_vec(self) -> Vec<Role> {
        Role::ALL
            .into_iter()
            .filter(|role| self.contains(*role))
            .collect()
    }

    /// The lowercase names, as stored and rendered.
    pub fn names(self) -> Vec<&'static str> {
        self.to_vec().into_iter().map(Role::as_str).collect()
    }

    /// Reads the `roles` array of a stored user; unknown names are ignored.
    pub fn from_json(value: Option<&serde_json::Value>) -> RoleSet {
        let roles: Vec<Role> = value
            .and_then(serde_json::Value::as_array)
            .map(|names| {
                names
                    .iter()
                    .filter_map(|name| name.as_str().and_then(Role::parse))
                    .collect()
            })
            .unwrap_or_default();
        RoleSet::of(&roles)
    }
}

pub use skep_service::Policy;

skep_service::policies! {
    crate::state::CasesState, Role;
    /// Any authenticated caller.
    Any => [];
    /// Callers holding `read`.
    Read => [Read];
    /// Callers holding `write`.
    Write => [Write];
    /// Callers holding `admin`.
    Admin => [Admin];
    /// Callers holding `alert` (alert creation: write or admin do not suffice).
    Alert => [Alert];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_a_set_without_hierarchy() {
        let admin_only = RoleSet::of(&[Role::Admin]);

        assert!(admin_only.has_any(&[Role::Admin]));
        assert!(!admin_only.has_any(&[Role::Read]));
        assert!(admin_only.has_any(&[]));
    }

    #[test]
    fn role_names_parse_case_insensitively() {
        assert_eq!(Role::parse("WRITE"), Some(Role::Write));
        assert_eq!(Role::parse("superuser"), None);
        let set = RoleSet::from_json(Some(&serde_json::json!(["Read", "alert", "x"])));
        assert_eq!(set.names(), vec!["read", "alert"]);
    }
}
