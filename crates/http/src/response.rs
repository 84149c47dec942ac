//! Response helpers: lists as a bare JSON array with `X-Total`, and the plain shapes.

use actix_web::HttpResponse;
use actix_web::http::header::ContentType;
use serde::Serialize;
use serde_json::Value;

/// Name of the header carrying the total number of matches of a list.
pub const TOTAL_HEADER: &str = "X-Total";

/// 200 with a bare JSON array and `X-Total: <total>`.
pub fn list(items: Vec<Value>, total: u64) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((TOTAL_HEADER, total.to_string()))
        .json(items)
}

/// 200 with a JSON body.
pub fn ok(body: &impl Serialize) -> HttpResponse {
    HttpResponse::Ok().json(body)
}

/// 201 with a JSON body.
pub fn created(body: &impl Serialize) -> HttpResponse {
    HttpResponse::Created().json(body)
}

/// 204 with no body.
pub fn no_content() -> HttpResponse {
    HttpResponse::NoContent().finish()
}

/// 200 with a `text/plain` body (API keys, stream ids).
pub fn text(body: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::plaintext())
        .body(body)
}
