//! Who is calling: the `Caller<P>` extractor (session cookie, API key, optional Basic, and the
//! `init` pseudo-user while no user exists), the CSRF check, and sliding session renewal.

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use skep_http::ApiError;

use crate::domain::user::{self, UserStatus};
use crate::roles::{Authenticated, Policy, Role, RoleSet};
use crate::state::CasesState;

/// Name of the session cookie (TheHive's).
pub const SESSION_COOKIE: &str = "THE_HIVE_SESSION";
/// Name of the CSRF token cookie.
pub const XSRF_COOKIE: &str = "THE-HIVE-XSRF-TOKEN";
/// Name of the header that must echo the CSRF cookie on cookie-authenticated unsafe calls.
pub const XSRF_HEADER: &str = "X-THE-HIVE-XSRF-TOKEN";
/// Login of the pseudo-user that acts while no user exists.
pub const INIT_LOGIN: &str = "init";

/// How the caller proved who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    /// `THE_HIVE_SESSION` cookie.
    Session,
    /// `Authorization: Bearer <key>`.
    Key,
    /// `Authorization: Basic` (when enabled).
    Basic,
    /// No user exists yet: every request is `init`.
    Init,
}

/// The authenticated caller of a request, checked against the policy `P` before the handler
/// runs (401 without credentials, 403 without any of the required roles or when locked).
#[derive(Debug)]
pub struct Caller<P: Policy = Authenticated> {
    /// Login (lowercase; `init` for the pseudo-user).
    pub login: String,
    /// Display name.
    pub name: String,
    /// Roles held.
    pub roles: RoleSet,
    /// How the caller authenticated.
    pub method: AuthMethod,
    policy: PhantomData<P>,
}

impl<P: Policy> Caller<P> {
    /// Passes when the caller holds any one of `roles`; else 403.
    pub fn require_any(&self, roles: &[Role]) -> Result<(), ApiError> {
        if self.roles.has_any(roles) {
            Ok(())
        } else {
            Err(insufficient_rights())
        }
    }

    /// True when the caller holds `admin`.
    pub fn is_admin(&self) -> bool {
        self.roles.contains(Role::Admin)
    }
}

/// The 403 of a caller without the required role.
pub fn insufficient_rights() -> ApiError {
    ApiError::forbidden("Insufficient rights to perform this action")
}

/// A request-extension marker: the response re-issues the session cookie for this login.
#[derive(Debug, Clone)]
struct SessionRenewal(String);

impl<P: Policy> FromRequest for Caller<P> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(request: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let request = request.clone();
        Box::pin(async move {
            let state = request
                .app_data::<web::Data<CasesState>>()
                .cloned()
                .ok_or_else(|| ApiError::internal(&"cases state missing from app data"))?;
            let identity = authenticate(&request, &state).await?;
            if !identity.roles.has_any(P::REQUIRED) {
                return Err(insufficient_rights());
            }
            crate::domain::audit::set_actor(&identity.login);
            if matches!(identity.method, AuthMethod::Session | AuthMethod::Basic) {
                request
                    .extensions_mut()
                    .insert(SessionRenewal(identity.login.clone()));
            }
            Ok(Caller {
                login: identity.login,
                name: identity.name,
                roles: identity.roles,
                method: identity.method,
                policy: PhantomData,
            })
        })
    }
}

struct Identity {
    login: String,
    name: String,
    roles: RoleSet,
    method: AuthMethod,
}

/// Tries the session cookie, then an API key, then Basic (when enabled), then `init`.
async fn authenticate(request: &HttpRequest, state: &CasesState) -> Result<Identity, ApiError> {
    if !state.is_migrated() {
        return Err(ApiError::not_migrated());
    }
    if let Some(token) = skep_http::request::cookie_value(request, SESSION_COOKIE)
        && let Ok(claims) = state.sessions.verify(&token)
        && let Some(found) = cached_user(state, CacheKey::Login(&claims.login)).await?
    {
        if !skep_http::request::csrf_valid(request, SESSION_COOKIE, XSRF_COOKIE, XSRF_HEADER) {
            return Err(ApiError::forbidden_plain_text(
                "CSRF token missing or invalid",
            ));
        }
        return identity(found, AuthMethod::Session);
    }
    if let Some(key) = skep_http::request::bearer_token(request) {
        let fingerprint = state.keys.fingerprint(key);
        return match cached_user(state, CacheKey::Fingerprint(&fingerprint)).await? {
            Some(found) => identity(found, AuthMethod::Key),
            None => Err(ApiError::unauthenticated()),
        };
    }
    if basic_enabled(state)
        && let Some((login, password)) = skep_http::request::basic_credentials(request)
    {
        let found = user::find(&*state.store, &login)
            .await?
            .ok_or_else(ApiError::unauthenticated)?;
        if !user::password_matches(&found, &password).await {
            return Err(ApiError::unauthenticated());
        }
        return identity(CachedUser::from(found), AuthMethod::Basic);
    }
    if !has_users(state).await? {
        return Ok(Identity {
            login: INIT_LOGIN.to_owned(),
            name: INIT_LOGIN.to_owned(),
            roles: RoleSet::of(&[Role::Admin, Role::Read, Role::Alert]),
            method: AuthMethod::Init,
        });
    }
    Err(ApiError::unauthenticated())
}

fn basic_enabled(state: &CasesState) -> bool {
    state.config.http.basic_auth
}

fn identity(found: CachedUser, method: AuthMethod) -> Result<Identity, ApiError> {
    if found.status == UserStatus::Locked {
        return Err(ApiError::forbidden("Your account is locked"));
    }
    Ok(Identity {
        login: found.login,
        name: found.name,
        roles: found.roles,
        method,
    })
}

/// How long an authenticated user is remembered without a lookup.
const IDENTITY_TTL: Duration = Duration::from_secs(10);

/// What authentication needs of a user.
#[derive(Debug, Clone)]
struct CachedUser {
    login: String,
    name: String,
    roles: RoleSet,
    status: UserStatus,
}

impl From<user::StoredUser> for CachedUser {
    fn from(found: user::StoredUser) -> Self {
        CachedUser {
            login: found.login,
            name: found.name,
            roles: found.roles,
            status: found.status,
        }
    }
}

/// Users recently found by login or key fingerprint. Every user write through the API clears
/// it ([`IdentityCache::clear`]); entries also expire after a few seconds, so a change made by
/// another instance over the same store takes effect quickly.
#[derive(Debug, Default)]
pub struct IdentityCache {
    entries: Mutex<HashMap<String, (CachedUser, Instant)>>,
}

impl IdentityCache {
    fn get(&self, key: &str) -> Option<CachedUser> {
        let entries = self.entries.lock().ok()?;
        let (found, at) = entries.get(key)?;
        (at.elapsed() < IDENTITY_TTL).then(|| found.clone())
    }

    fn put(&self, key: String, found: CachedUser) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() > 10_000 {
                entries.clear();
            }
            entries.insert(key, (found, Instant::now()));
        }
    }

    /// Forgets every entry (after a user was created, changed, locked or re-keyed).
    pub fn clear(&self) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.clear();
        }
    }
}

enum CacheKey<'a> {
    Login(&'a str),
    Fingerprint(&'a str),
}

async fn cached_user(
    state: &CasesState,
    key: CacheKey<'_>,
) -> Result<Option<CachedUser>, ApiError> {
    let cache_key = match &key {
        CacheKey::Login(login) => format!("login:{}", user::normalise_login(login)),
        CacheKey::Fingerprint(fingerprint) => format!("key:{fingerprint}"),
    };
    if let Some(found) = state.identities.get(&cache_key) {
        return Ok(Some(found));
    }
    let found = match key {
        CacheKey::Login(login) => user::find(&*state.store, login).await?,
        CacheKey::Fingerprint(fingerprint) => {
            user::find_by_key_fingerprint(&*state.store, fingerprint).await?
        }
    };
    let Some(found) = found else { return Ok(None) };
    let cached = CachedUser::from(found);
    state.identities.put(cache_key, cached.clone());
    Ok(Some(cached))
}

/// True when at least one user exists (cached once true).
pub async fn has_users(state: &CasesState) -> Result<bool, ApiError> {
    if state.known_to_have_users() {
        return Ok(true);
    }
    let count = state
        .store
        .count(user::KIND, &skep_store::Query::All)
        .await?;
    if count > 0 {
        state.mark_has_users();
    }
    Ok(count > 0)
}

/// Builds the session cookie for `login`.
pub fn session_cookie(state: &CasesState, login: &str) -> Result<Cookie<'static>, ApiError> {
    let token = state
        .sessions
        .issue(login, state.session_ttl())
        .map_err(|error| ApiError::internal(&error))?;
    Ok(Cookie::build(SESSION_COOKIE, token)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.config.http.secure_cookies)
        .finish())
}

/// Builds a fresh CSRF token cookie (readable by the UI's JavaScript); `secure` as configured
/// (`http.secure_cookies`).
pub fn xsrf_cookie(secure: bool) -> Cookie<'static> {
    Cookie::build(XSRF_COOKIE, skep_auth::session::csrf_token())
        .path("/")
        .same_site(SameSite::Lax)
        .secure(secure)
        .finish()
}

/// Middleware: re-issues the session cookie (sliding expiry) on every request authenticated by
/// session or Basic, as TheHive does.
pub async fn renew_session(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody + 'static>, actix_web::Error> {
    let state = request.app_data::<web::Data<CasesState>>().cloned();
    let mut response = next.call(request).await?;
    let renewal = response
        .request()
        .extensions()
        .get::<SessionRenewal>()
        .cloned();
    let already_set = response
        .response()
        .cookies()
        .any(|cookie| cookie.name() == SESSION_COOKIE);
    if let (Some(SessionRenewal(login)), Some(state), false) = (renewal, state, already_set)
        && let Ok(cookie) = session_cookie(&state, &login)
    {
        let _ = response.response_mut().add_cookie(&cookie);
    }
    Ok(response)
}
