//! API tests of the cases service: one binary, one module per resource.
// Test support functions unwrap too: a failed request is a failed test.
#![allow(clippy::unwrap_used)]

mod helpers;

mod case;
mod compat;
mod connector;
mod first_run;
mod observable;
mod robustness;
mod session;
mod task;
mod user;
// Alerts, templates, lists, activity, webhooks, metrics.
mod activity;
mod alert;
mod compat_alerts;
mod metrics;
mod template;
mod webhook;
