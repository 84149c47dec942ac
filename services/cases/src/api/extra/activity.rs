//! `/api/audit…`, `/api/flow`, `/api/stream…`: reading activity, long-poll streams and
//! server-sent events (`GET /api/stream/sse`, for the Skep UI).

use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use serde_json::json;
use skep_http::search::{SearchRequest, StatsRequest};
use skep_http::{ApiError, Fields};

use crate::auth::Caller;
use crate::domain::flow;
use crate::domain::stream::PollError;
use crate::roles::Read;
use crate::state::CasesState;

/// A session expiring sooner than this makes polls answer 220, seconds.
const SESSION_WARNING_SECONDS: i64 = 5 * 60;

/// `GET /api/flow?rootId=&count=`.
pub async fn get_flow(
    state: web::Data<CasesState>,
    _caller: Caller<Read>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    let count = fields
        .get("count")
        .and_then(|count| {
            count
                .as_u64()
                .or_else(|| count.as_str().and_then(|text| text.trim().parse().ok()))
        })
        .unwrap_or(10);
    let (items, total) = flow::flow(&*state.store, fields.str("rootId"), count).await?;
    Ok(skep_http::response::list(items, total))
}

/// `GET /api/audit`, `POST /api/audit/_search`.
pub async fn search_audits(
    state: web::Data<CasesState>,
    _caller: Caller<Read>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    let request = SearchRequest::from_fields(&fields)?;
    let (items, total) = flow::search(&*state.store, &request).await?;
    Ok(skep_http::response::list(items, total))
}

/// `POST /api/audit/_stats`.
pub async fn audit_stats(
    state: web::Data<CasesState>,
    _caller: Caller<Read>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    let request = StatsRequest::from_fields(&fields)?;
    Ok(skep_http::response::ok(
        &flow::stats(&*state.store, &request).await?,
    ))
}

/// `POST /api/stream`: a new stream id (plain text). Works before the database is initialised
/// (the "Update Database" page listens to migration progress).
pub async fn create_stream(
    state: web::Data<CasesState>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    if state.is_migrated() {
        Caller::<Read>::extract(&request).await?;
    }
    Ok(skep_http::response::text(state.activity.streams.create()))
}

/// `GET /api/stream/:id`: the messages since the last poll, waiting for one up to the refresh
/// delay; 220 instead of 200 when the session expires soon; unknown id → 404 StreamNotFound.
pub async fn poll_stream(
    state: web::Data<CasesState>,
    request: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    if state.is_migrated() {
        Caller::<crate::roles::Any>::extract(&request).await?;
    }
    let messages = match state.activity.streams.poll(&path).await {
        Ok(messages) => messages,
        Err(PollError::NotFound) => {
            return Err(ApiError::new(
                404,
                "StreamNotFound",
                format!("Stream {} doesn't exist", path.as_str()),
            ));
        }
        Err(PollError::Malformed) => {
            return Err(ApiError::bad_request(format!(
                "Invalid stream id {}",
                path.as_str()
            )));
        }
    };
    let status = match session_remaining_seconds(&state, &request) {
        Some(remaining) if remaining < SESSION_WARNING_SECONDS => {
            StatusCode::from_u16(220).unwrap_or(StatusCode::OK)
        }
        _ => StatusCode::OK,
    };
    Ok(HttpResponse::build(status).json(messages))
}

/// `GET /api/stream/status`: `{"remaining": <seconds>, "warning": bool}` from the session.
pub async fn stream_status(state: web::Data<CasesState>, request: HttpRequest) -> HttpResponse {
    let remaining = session_remaining_seconds(&state, &request)
        .unwrap_or(0)
        .max(0);
    skep_http::response::ok(
        &json!({"remaining": remaining, "warning": remaining < SESSION_WARNING_SECONDS}),
    )
}

fn session_remaining_seconds(state: &CasesState, request: &HttpRequest) -> Option<i64> {
    let claims = state.sessions.read(request)?.claims;
    Some((claims.expires_at_ms - chrono::Utc::now().timestamp_millis()) / 1000)
}

/// `GET /api/stream/sse`: every stream message as a server-sent event (`data: <json>`), with
/// a comment line every 15 seconds to keep proxies from closing the connection.
pub async fn stream_events(state: web::Data<CasesState>, _caller: Caller<Read>) -> HttpResponse {
    let receiver = state.activity.subscribe();
    let events = futures_util::stream::unfold(receiver, |mut receiver| async move {
        let chunk =
            match tokio::time::timeout(std::time::Duration::from_secs(15), receiver.recv()).await {
                Ok(Ok(message)) => format!("data: {message}\n\n"),
                Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(missed))) => {
                    format!("event: lagged\ndata: {missed}\n\n")
                }
                Ok(Err(tokio::sync::broadcast::error::RecvError::Closed)) => return None,
                Err(_) => ": keep-alive\n\n".to_owned(),
            };
        Some((Ok::<_, actix_web::Error>(web::Bytes::from(chunk)), receiver))
    });
    HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("Cache-Control", "no-cache"))
        .streaming(events)
}

/// Registers the activity routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/flow", web::get().to(get_flow))
        .route("/api/audit", web::get().to(search_audits))
        .route("/api/audit/_search", web::post().to(search_audits))
        .route("/api/audit/_stats", web::post().to(audit_stats))
        .route("/api/stream", web::post().to(create_stream))
        .route("/api/stream/status", web::get().to(stream_status))
        .route("/api/stream/sse", web::get().to(stream_events))
        .route("/api/stream/{id}", web::get().to(poll_stream));
}
