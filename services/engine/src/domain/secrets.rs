//! The engine's secret fields: what users and workers hold that no answer, search, sort or
//! aggregation may ever reach — password hashes, sealed API keys and their fingerprints, and
//! worker configurations (API keys, SMTP passwords: every item of a definition, whether typed
//! `password` or named like a key, lives inside `configuration`). The store keeps them out of
//! its indexes ([`skep_store::SecretFields::declare`] at startup); searches and stats refuse
//! client queries naming them and strip them from `top` hits. Orgadmins read a worker's
//! configuration through the worker routes only (see [`crate::jobs::worker::Worker::to_json`]).

use skep_store::SecretFields;

use super::{USER_KIND, user};
use crate::jobs::worker::{WORKER_CONFIG_KIND, WORKER_KIND};

/// Every secret field of the engine, by store kind.
pub const SECRETS: SecretFields = SecretFields::new(&[
    (USER_KIND, user::SECRET_FIELDS),
    (WORKER_KIND, &["configuration"]),
    (WORKER_CONFIG_KIND, &["config"]),
]);
