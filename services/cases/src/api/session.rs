//! `POST /api/login`, `GET /api/logout`.

use actix_web::{HttpRequest, HttpResponse, web};
use skep_http::{ApiError, Fields};

use crate::auth;
use crate::domain::user::UserStatus;
use crate::state::CasesState;

/// `POST /api/login` `{user, password}`: 200 with an empty body and the session and CSRF
/// cookies; 401 on bad credentials, 403 when locked, 520 before initialisation.
pub async fn login(
    state: web::Data<CasesState>,
    request: HttpRequest,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    if !state.is_migrated() {
        return Err(ApiError::not_migrated());
    }
    let login = fields.str("user").unwrap_or_default();
    let password = fields.str("password").unwrap_or_default();
    let source = skep_http::request::client_address(&request);
    let found = auth::check_password(&state, login, password, &source).await?;
    if found.status == UserStatus::Locked {
        return Err(ApiError::forbidden("Your account is locked"));
    }
    let [session, csrf] = state
        .sessions
        .login_cookies(&found.login, found.session_epoch)
        .map_err(|error| ApiError::internal(&error))?;
    Ok(HttpResponse::Ok().cookie(session).cookie(csrf).finish())
}

/// `GET /api/logout`: 200, the session and CSRF cookies cleared.
pub async fn logout(state: web::Data<CasesState>) -> HttpResponse {
    let mut response = HttpResponse::Ok();
    for cookie in state.sessions.removal_cookies() {
        response.cookie(cookie);
    }
    response.finish()
}
