//! Analyzers, responders and jobs: the worker catalogs, per-organisation worker configuration,
//! job submission with cache and rate limits, the durable queue and executor, the process
//! runner of the Cortex job protocol, and the attachment store.
//!
//! Start at [`runtime::JobRuntime`] (what the HTTP layer holds), then [`job`] (submission and
//! reads) and [`runner`] (the only place worker processes are spawned).

pub mod catalog;
pub mod configuration;
pub mod datastore;
pub mod duration;
pub mod error;
pub mod job;
pub mod report;
pub mod runner;
pub mod runtime;
pub mod worker;

pub use catalog::WorkerKind;
pub use error::JobsError;
pub use runtime::JobRuntime;
