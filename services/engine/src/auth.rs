//! Who is calling: the [`Caller`] extractor (session cookie, `Bearer` key, optional Basic, and the
//! first-run `init` pseudo-user), password login with its rate limit, and the lock checks.
//!
//! Every engine route except status, login, logout and migrate goes through [`Caller`], so the
//! 520 "not migrated" answer, the 401/403 refusals and the CSRF check happen before a handler
//! body runs.

use std::marker::PhantomData;
use std::ops::Deref;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use skep_http::ApiError;
use skep_http::request::{
    basic_credentials, bearer_token, client_address, cookie_value, csrf_valid,
};

use crate::domain::user::{self, User, UserStatus};
use crate::domain::{OrgId, now_ms, organization};
use crate::error::EngineError;
use crate::roles::{self, Policy, Role};
use crate::state::EngineState;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "CORTEX_SESSION";
/// Name of the CSRF cookie set at login.
pub const XSRF_COOKIE: &str = "CORTEX-XSRF-TOKEN";
/// Name of the header that must echo the CSRF cookie on cookie-authenticated writes.
pub const XSRF_HEADER: &str = "X-CORTEX-XSRF-TOKEN";
/// Login of the first-run pseudo-user.
pub const INIT_LOGIN: &str = "init";

/// A fresh session token issued while serving a request, set as the session cookie on its
/// response by [`renew_session_cookie`], so that active users stay logged in (sliding expiry).
#[derive(Debug, Clone)]
pub struct RenewedSession(pub String);

/// The `CORTEX_SESSION` cookie carrying `token`; `secure` as configured
/// (`http.secure_cookies`).
pub fn session_cookie(token: String, secure: bool) -> Cookie<'static> {
    Cookie::build(SESSION_COOKIE, token)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .finish()
}

/// True once less than half of a session's lifetime remains: it is then re-issued.
fn needs_renewal(expires_at_ms: i64, now_ms: i64, ttl: std::time::Duration) -> bool {
    let half_ttl_ms = i64::try_from(ttl.as_millis() / 2).unwrap_or(i64::MAX);
    expires_at_ms.saturating_sub(now_ms) < half_ttl_ms
}

/// Response step of the session renewal: sets the cookie of a [`RenewedSession`] the request
/// carries. Installed on the app with `wrap_fn`.
pub fn renew_session_cookie<B>(response: &mut actix_web::dev::ServiceResponse<B>) {
    let renewed = response
        .request()
        .extensions()
        .get::<RenewedSession>()
        .cloned();
    let secure = response
        .request()
        .app_data::<actix_web::web::Data<EngineState>>()
        .is_some_and(|state| state.config.http.secure_cookies);
    if let Some(RenewedSession(token)) = renewed {
        // A cookie with a fixed, valid name and a JWT value always serialises.
        let _ = response
            .response_mut()
            .add_cookie(&session_cookie(token, secure));
    }
}

/// How the caller proved who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    /// The `CORTEX_SESSION` cookie.
    Session,
    /// `Authorization: Bearer <key>`.
    Key,
    /// `Authorization: Basic` (when enabled).
    Basic,
    /// No user exists yet: the first-run pseudo-user holding every role.
    Init,
}

/// An authenticated caller: login, organisation and roles.
#[derive(Debug, Clone)]
pub struct Identity {
    /// The user's login (`init` for the first-run pseudo-user).
    pub login: String,
    /// The user's display name.
    pub name: String,
    /// The caller's organisation; every engine query is scoped by it.
    pub organization: OrgId,
    /// The caller's roles (no hierarchy between them).
    pub roles: Vec<Role>,
    /// How the caller authenticated.
    pub method: AuthMethod,
}

impl Identity {
    /// The first-run pseudo-user: every role, in the default organisation.
    pub fn init() -> Identity {
        Identity {
            login: INIT_LOGIN.to_owned(),
            name: INIT_LOGIN.to_owned(),
            organization: OrgId::default_org(),
            roles: Role::ALL.to_vec(),
            method: AuthMethod::Init,
        }
    }

    /// True when the caller holds `role`.
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// True when the caller holds at least one of `roles`.
    pub fn has_any(&self, roles: &[Role]) -> bool {
        roles.iter().any(|role| self.has(*role))
    }

    /// Refuses with 403 unless the caller holds at least one of `roles`.
    pub fn require_any(&self, roles: &[Role]) -> Result<(), EngineError> {
        if self.has_any(roles) {
            Ok(())
        } else {
            Err(EngineError::insufficient_rights())
        }
    }

    /// True for superadmins.
    pub fn is_superadmin(&self) -> bool {
        self.has(Role::SuperAdmin)
    }

    /// True when the caller administers users of `organization` (superadmin anywhere, orgadmin in
    /// its own organisation).
    pub fn administers(&self, organization: &OrgId) -> bool {
        self.is_superadmin() || (self.has(Role::OrgAdmin) && &self.organization == organization)
    }

    /// True when the caller may see objects of `organization` at all; anything else is 404.
    pub fn sees(&self, organization: &OrgId) -> bool {
        self.is_superadmin() || &self.organization == organization
    }
}

/// The extractor of an authenticated caller holding at least one role of policy `P`.
///
/// Rejections: 520 before migration, 401 without valid credentials, 403 for locked accounts,
/// missing roles or a failed CSRF check.
#[derive(Debug, Clone)]
pub struct Caller<P: Policy = roles::Any> {
    identity: Identity,
    _policy: PhantomData<P>,
}

impl<P: Policy> Caller<P> {
    /// The caller's identity, for domain functions.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// Consumes the extractor, keeping the identity.
    pub fn into_identity(self) -> Identity {
        self.identity
    }
}

impl<P: Policy> Deref for Caller<P> {
    type Target = Identity;

    fn deref(&self) -> &Identity {
        &self.identity
    }
}

impl<P: Policy> FromRequest for Caller<P> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(request: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let request = request.clone();
        Box::pin(async move {
            let state = request
                .app_data::<web::Data<EngineState>>()
                .cloned()
                .ok_or_else(|| ApiError::internal(&"engine state is not registered"))?;
            let identity = authenticate(&state, &request).await?;
            if !P::ANY_OF.is_empty() {
                identity.require_any(P::ANY_OF)?;
            }
            Ok(Caller {
                identity,
                _policy: PhantomData,
            })
        })
    }
}

/// Establishes who is calling, trying the session cookie, a Bearer key, Basic credentials (when
/// enabled) and finally the first-run pseudo-user.
pub async fn authenticate(
    state: &EngineState,
    request: &HttpRequest,
) -> Result<Identity, EngineError> {
    state.ensure_migrated().await?;
    let store = &*state.store;
    if let Some(token) = cookie_value(request, SESSION_COOKIE)
        && let Ok(claims) = state.sessions.verify(&token)
    {
        if !csrf_valid(request, SESSION_COOKIE, XSRF_COOKIE, XSRF_HEADER) {
            return Err(EngineError::CsrfRefused);
        }
        let user = user::find(store, &claims.login)
            .await?
            .ok_or(EngineError::Unauthenticated)?;
        let identity = active_identity(state, user, AuthMethod::Session).await?;
        if needs_renewal(claims.expires_at_ms, now_ms(), state.session_ttl())
            && let Ok(token) = state.sessions.issue(&identity.login, state.session_ttl())
        {
            request.extensions_mut().insert(RenewedSession(token));
        }
        return Ok(identity);
    }
    if let Some(key) = bearer_token(request) {
        let user = user::find_by_key(store, &state.keys, key)
            .await?
            .ok_or(EngineError::Unauthenticated)?;
        return active_identity(state, user, AuthMethod::Key).await;
    }
    if let Some((login, password)) = basic_credentials(request) {
        if !state.config.http.basic_auth {
            return Err(EngineError::Unauthenticated);
        }
        let user = check_password(state, &login, &password, &client_address(request)).await?;
        return active_identity(state, user, AuthMethod::Basic).await;
    }
    if !state.has_users().await? {
        return Ok(Identity::init());
    }
    Err(EngineError::Unauthenticated)
}

/// Checks a login and password, rate-limited per account and per source address. A wrong
/// password and an unknown login fail identically (same error, same hashing work).
pub async fn check_password(
    state: &EngineState,
    login: &str,
    password: &str,
    source: &str,
) -> Result<User, EngineError> {
    if state.login_limiter.check(login, source).is_err() {
        return Err(EngineError::TooManyLogins);
    }
    let user = user::find(&*state.store, login).await?;
    let stored_hash = user
        .as_ref()
        .and_then(|user| user.password.clone())
        .unwrap_or_else(|| state.decoy_password_hash.clone());
    let matches = skep_auth::password::verify(password, &stored_hash)
        .await
        .unwrap_or(false);
    match user {
        Some(user) if matches && user.password.is_some() => {
            state.login_limiter.record_success(login, source);
            Ok(user)
        }
        _ => {
            state.login_limiter.record_failure(login, source);
            Err(EngineError::Unauthenticated)
        }
    }
}

/// Turns a user into an identity, refusing locked users and users of locked organisations.
pub async fn active_identity(
    state: &EngineState,
    user: User,
    method: AuthMethod,
) -> Result<Identity, EngineError> {
    if user.status == UserStatus::Locked {
        return Err(EngineError::AccountLocked);
    }
    let organization_active = organization::find(&*state.store, &user.organization)
        .await?
        .is_some_and(|organization| organization.is_active());
    if !organization_active {
        return Err(EngineError::AccountLocked);
    }
    Ok(Identity {
        login: user.login,
        name: user.name,
        organization: user.organization,
        roles: user.roles,
        method,
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_session_is_renewed_once_less_than_half_its_lifetime_remains() {
        let hour = Duration::from_secs(3600);
        let now = 1_700_000_000_000;

        assert!(!needs_renewal(now + 3_600_000, now, hour));
        assert!(!needs_renewal(now + 1_800_001, now, hour));
        assert!(needs_renewal(now + 1_799_999, now, hour));
        assert!(needs_renewal(now - 1, now, hour));
    }
}
