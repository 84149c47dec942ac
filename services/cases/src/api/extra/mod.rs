//! The HTTP edge of alerts, case templates, lists, custom fields, describe and activity (audit,
//! flow, stream, server-sent events). [`configure`] registers every route; [`AuditScope`] is the
//! middleware that groups the audits of a request.

pub mod activity;
pub mod alert;
mod audit_scope;
pub mod dashboard;
pub mod list;
pub mod template;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde_json::{Value, json};
use skep_http::ApiError;

pub use audit_scope::AuditScope;

/// Registers the routes of this module (called from [`crate::routes`] before the case routes,
/// so `/api/case/template…` is never taken for a case id).
pub fn configure(cfg: &mut web::ServiceConfig) {
    template::configure(cfg);
    alert::configure(cfg);
    list::configure(cfg);
    activity::configure(cfg);
    dashboard::configure(cfg);
}

/// TheHive's multi output of bulk calls: all succeeded → `status` + array; all failed → 400 +
/// array of errors; mixed → 207 `{"success": [...], "failure": [...]}`.
pub fn multi_output(
    results: Vec<(String, Result<Value, ApiError>)>,
    status: StatusCode,
) -> HttpResponse {
    let mut successes = Vec::new();
    let mut failures = Vec::new();
    for (id, result) in results {
        match result {
            Ok(value) => successes.push(value),
            Err(error) => {
                let mut body = error
                    .body()
                    .map(|body| json!(body))
                    .unwrap_or_else(|| json!({}));
                body["id"] = json!(id);
                failures.push(body);
            }
        }
    }
    match (successes.is_empty(), failures.is_empty()) {
        (_, true) => HttpResponse::build(status).json(successes),
        (true, false) => HttpResponse::BadRequest().json(failures),
        (false, false) => HttpResponse::build(StatusCode::MULTI_STATUS)
            .json(json!({"success": successes, "failure": failures})),
    }
}
