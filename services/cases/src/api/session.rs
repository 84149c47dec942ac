//! `POST /api/login`, `GET /api/logout`.

use actix_web::cookie::Cookie;
use actix_web::{HttpRequest, HttpResponse, web};
use skep_http::{ApiError, Fields};

use crate::auth;
use crate::domain::user::{self, UserStatus};
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
    let login = user::normalise_login(fields.str("user").unwrap_or_default());
    let password = fields.str("password").unwrap_or_default();
    let source = skep_http::request::client_address(&request);
    if state.login_limiter.check(&login, &source).is_err() {
        return Err(ApiError::too_many_requests(
            "too many failed logins, retry later",
        ));
    }
    let found = user::find(&*state.store, &login).await?;
    let verified = match &found {
        Some(found) => user::password_matches(found, password).await,
        None => false,
    };
    let Some(found) = found.filter(|_| verified) else {
        state.login_limiter.record_failure(&login, &source);
        return Err(ApiError::unauthenticated());
    };
    if found.status == UserStatus::Locked {
        return Err(ApiError::forbidden("Your account is locked"));
    }
    state.login_limiter.record_success(&login, &source);
    Ok(HttpResponse::Ok()
        .cookie(auth::session_cookie(&state, &found.login)?)
        .cookie(auth::xsrf_cookie(state.config.http.secure_cookies))
        .finish())
}

/// `GET /api/logout`: 200, the session cookie cleared.
pub async fn logout(state: web::Data<CasesState>) -> HttpResponse {
    let mut expired = Cookie::build(auth::SESSION_COOKIE, "")
        .path("/")
        .secure(state.config.http.secure_cookies)
        .finish();
    expired.make_removal();
    HttpResponse::Ok().cookie(expired).finish()
}
