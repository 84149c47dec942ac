//! `/api/login`, `/api/logout`: password login with a session cookie and its CSRF companion.

use actix_web::{HttpRequest, HttpResponse, web};
use skep_http::request::client_address;
use skep_http::{ApiError, Fields};

use crate::api::user::UserResponse;
use crate::auth::{self, AuthMethod};
use crate::error::EngineError;
use crate::state::EngineState;

/// `POST /api/login`: `{"user", "password"}` (JSON or form) → 200 with the user, the
/// `CORTEX_SESSION` cookie and the `CORTEX-XSRF-TOKEN` cookie.
pub async fn login(
    state: web::Data<EngineState>,
    request: HttpRequest,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    state.ensure_migrated().await?;
    let login = fields.str("user").unwrap_or_default().to_owned();
    let password = fields.str("password").unwrap_or_default().to_owned();
    let source = client_address(&request);
    let found = auth::check_password(&state, &login, &password, &source).await?;
    auth::active_identity(&state, found.clone(), AuthMethod::Session).await?;
    let [session, csrf] = state
        .sessions
        .login_cookies(&found.login, found.session_epoch)
        .map_err(EngineError::from)?;
    Ok(HttpResponse::Ok()
        .cookie(session)
        .cookie(csrf)
        .json(UserResponse::from(found)))
}

/// `GET /api/logout`: clears the session and CSRF cookies.
pub async fn logout(state: web::Data<EngineState>) -> HttpResponse {
    let mut response = HttpResponse::Ok();
    for cookie in state.sessions.removal_cookies() {
        response.cookie(cookie);
    }
    response.finish()
}
