//! The Cortex connector: the engines of `[[cortex.servers]]`, reached over HTTP with
//! `skep_client::EngineClient`. It owns the analysis jobs (`case_artifact_job`, children of
//! observables), the responder actions (`action`), their following until the engine ends them
//! ([`follow`]), the results written back (report and taxonomies on the observable, responder
//! operations applied to this service's entities, [`operations`]) and the report templates
//! ([`report_template`]).
//!
//! Every write goes through the auditing store, so each step shows in the activity stream.
//! Engine API keys live only inside the clients (whose `Debug` hides them) and are never logged.

pub mod action;
pub mod follow;
pub mod job;
pub mod operations;
pub mod report_template;
pub mod server;

pub use server::{Connector, Server};

use skep_client::ClientError;
use skep_http::ApiError;
use skep_store::Store;

/// The answer for a failed engine call made on behalf of a request: the engine's refusals
/// (bad data type, TLP above the worker's limit, …) as `400` with the engine's message, an
/// unreachable engine or a refused key as `502 CortexError`.
pub fn engine_error(server: &str, error: &ClientError) -> ApiError {
    match error {
        ClientError::Status { status, body } if *status == 401 || *status == 403 => ApiError::new(
            502,
            "CortexError",
            format!("engine {server} refused the connector's API key ({status})"),
        ),
        ClientError::Status { status, body } if (400..500).contains(status) => {
            let message = serde_json::from_str::<serde_json::Value>(body)
                .ok()
                .and_then(|body| body["message"].as_str().map(str::to_owned))
                .unwrap_or_else(|| body.clone());
            ApiError::new(
                400,
                "CortexError",
                format!("engine {server} refused the request: {message}"),
            )
        }
        ClientError::Status { status, .. } => ApiError::new(
            502,
            "CortexError",
            format!("engine {server} answered {status}"),
        ),
        ClientError::Unreachable { .. } => ApiError::new(
            502,
            "CortexError",
            format!("engine {server} is unreachable"),
        ),
        ClientError::Decode(_) => ApiError::new(
            502,
            "CortexError",
            format!("engine {server} answered with an unreadable body"),
        ),
        ClientError::Build(_) => ApiError::new(
            502,
            "CortexError",
            format!("engine {server} has an unusable TLS configuration"),
        ),
    }
}

/// Declares the fields of the connector's kinds that are stored but never indexed.
pub fn set_unindexed(store: &dyn Store) {
    store.set_unindexed(job::KIND, &["report"]);
    store.set_unindexed(action::KIND, &["report", "operations"]);
    store.set_unindexed(report_template::KIND, &["content"]);
}
