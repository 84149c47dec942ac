//! Placeholder.

use actix_web::web;

/// Registers the routes of this module.
pub fn configure(_cfg: &mut web::ServiceConfig) {}
