//! `/api/login`, `/api/logout`: password login with a session cookie and its CSRF companion.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::{HttpRequest, HttpResponse, web};
use skep_http::request::client_address;
use skep_http::{ApiError, Fields};

use crate::api::user::UserResponse;
use crate::auth::{self, AuthMethod, SESSION_COOKIE, XSRF_COOKIE};
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
    let token = state
        .sessions
        .issue(&found.login, state.session_ttl())
        .map_err(EngineError::from)?;
    let secure = state.config.http.secure_cookies;
    let csrf_cookie = Cookie::build(XSRF_COOKIE, skep_auth::session::csrf_token())
        .path("/")
        .same_site(SameSite::Lax)
        .secure(secure)
        .finish();
    Ok(HttpResponse::Ok()
        .cookie(auth::session_cookie(token, secure))
        .cookie(csrf_cookie)
        .json(UserResponse::from(found)))
}

/// `GET /api/logout`: clears the session and CSRF cookies.
pub async fn logout() -> HttpResponse {
    let mut response = HttpResponse::Ok().finish();
    for name in [SESSION_COOKIE, XSRF_COOKIE] {
        let mut cookie = Cookie::build(name, "").path("/").finish();
        cookie.make_removal();
        // Adding a removal cookie cannot fail for these fixed, valid names.
        let _ = response.add_cookie(&cookie);
    }
    response
}
