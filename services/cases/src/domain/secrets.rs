//! The cases service's secret fields: what users hold that no answer, search, sort or
//! aggregation may ever reach (password hashes, sealed API keys and their fingerprints). The
//! store keeps them out of its indexes ([`skep_store::SecretFields::declare`] at startup); the
//! search and stats handlers refuse client queries naming them and strip them from `top` hits;
//! the user renderer and the audit trail leave them out.

use skep_store::SecretFields;

use super::user;

/// Every secret field of the cases service, by store kind.
pub const SECRETS: SecretFields = SecretFields::new(&[(user::KIND, user::SECRET_FIELDS)]);
