//! The engine's API test binary: one module per resource.

mod helpers;
mod worker_fixture;

mod builtin_workers;
mod catalog;
mod compat;
mod compat_jobs;
mod first_run;
mod isolation;
mod jobs;
mod organization;
mod permissions;
mod secrets;
mod session;
mod user;
mod workers;
