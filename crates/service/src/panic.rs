//! The panic guard: a handler that panics is a bug, but its client gets a logged 500 with the
//! usual error body instead of a dropped connection.

use std::panic::AssertUnwindSafe;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use futures_util::FutureExt;

/// Middleware (`actix_web::middleware::from_fn`): answers 500 `InternalError` when the rest of
/// the chain panics, logging the panic with the request's method and path. (The answer is
/// returned as an error, which the server renders: the request itself went down with the
/// panicking handler.)
pub async fn catch_panic(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody + 'static>, actix_web::Error> {
    let (method, path) = (request.method().clone(), request.path().to_owned());
    match AssertUnwindSafe(next.call(request)).catch_unwind().await {
        Ok(result) => result,
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|text| (*text).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            let cause = format!("handler panicked on {method} {path}: {message}");
            Err(skep_http::ApiError::internal(&cause).into())
        }
    }
}

#[cfg(test)]
mod tests {
    use actix_web::dev::Service;
    use actix_web::middleware::from_fn;
    use actix_web::{App, test, web};

    use super::*;

    async fn panics() -> &'static str {
        let empty: Vec<&'static str> = Vec::new();
        // Indexing past the end: the panic a handler bug would cause.
        empty[empty.len()]
    }

    #[actix_web::test]
    async fn a_panicking_handler_answers_500_with_an_error_body() {
        let app = test::init_service(
            App::new()
                .wrap(from_fn(catch_panic))
                .route("/boom", web::get().to(panics))
                .route("/fine", web::get().to(|| async { "fine" })),
        )
        .await;

        let boom = app
            .call(test::TestRequest::get().uri("/boom").to_request())
            .await
            .err()
            .expect("the panic becomes an error answer");
        let fine =
            test::call_service(&app, test::TestRequest::get().uri("/fine").to_request()).await;

        let answer = boom.error_response();
        assert_eq!(answer.status().as_u16(), 500);
        let body = actix_web::body::to_bytes(answer.into_body()).await.unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["type"], "InternalError");
        assert_eq!(fine.status().as_u16(), 200);
    }
}
