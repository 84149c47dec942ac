//! App defaults: extractor error handlers that answer the common error body, the fallback for
//! unknown routes, and listener binding.

use std::net::TcpListener;

use actix_web::{HttpRequest, HttpResponse, error, web};

use crate::ApiError;

/// JSON extractor configuration whose errors answer 400 (or 413) with the common error body.
pub fn json_config(limit: usize) -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(limit)
        .error_handler(|error, _request| {
            let api_error = match &error {
                error::JsonPayloadError::Overflow { .. }
                | error::JsonPayloadError::OverflowKnownLength { .. } => {
                    ApiError::payload_too_large(error.to_string())
                }
                _ => ApiError::bad_request(format!("invalid JSON body: {error}")),
            };
            api_error.into()
        })
}

/// Path extractor configuration whose errors answer 400 with the common error body.
pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|error, _request| {
        ApiError::bad_request(format!("invalid path: {error}")).into()
    })
}

/// Query-string extractor configuration whose errors answer 400 with the common error body.
pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|error, _request| {
        ApiError::bad_request(format!("invalid query string: {error}")).into()
    })
}

/// Fallback for unknown routes: 404 `NotFoundError` under `/api`, a plain 404 elsewhere.
pub async fn not_found_handler(request: HttpRequest) -> HttpResponse {
    if request.path().starts_with("/api") {
        actix_web::ResponseError::error_response(&ApiError::not_found(format!(
            "no route for {} {}",
            request.method(),
            request.path()
        )))
    } else {
        HttpResponse::NotFound().body("not found")
    }
}

/// Binds a listener (`port` 0 picks a free port; read it back with `local_addr`).
pub fn bind(host: &str, port: u16) -> std::io::Result<TcpListener> {
    TcpListener::bind((host, port))
}
