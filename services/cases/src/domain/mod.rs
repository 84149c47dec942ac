//! Types and rules of the cases service, one module per entity; handlers call these.

pub mod case;
pub mod connector;
pub mod datastore;
pub mod entity;
pub mod log;
pub mod migration;
pub mod observable;
pub mod similarity;
pub mod task;
pub mod user;
// Alerts, templates, lists, activity (api::extra's domain).
pub mod alert;
pub mod alert_artifact;
pub mod alert_import;
pub mod audit;
pub mod audit_store;
pub mod custom_field;
pub mod dashboard;
pub mod describe;
pub mod flow;
pub mod list;
pub mod metrics;
pub mod stream;
pub mod template;
pub mod webhook;
