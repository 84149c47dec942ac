//! Who is calling: the `Caller<P>` extractor (session cookie, API key, optional Basic, and the
//! `init` pseudo-user while no user exists) over the cases roles, and the CSRF check. Sessions,
//! their renewal and password checks are the service kernel's (`skep_service`).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::HttpRequest;
use skep_http::ApiError;
use skep_service::CookieNames;

use crate::domain::user::{self, UserStatus};
use crate::roles::{Any, Role, RoleSet};
use crate::state::CasesState;

/// Name of the session cookie (TheHive's).
pub const SESSION_COOKIE: &str = "THE_HIVE_SESSION";
/// Name of the CSRF token cookie.
pub const XSRF_COOKIE: &str = "THE-HIVE-XSRF-TOKEN";
/// Name of the header that must echo the CSRF cookie on cookie-authenticated unsafe calls.
pub const XSRF_HEADER: &str = "X-THE-HIVE-XSRF-TOKEN";
/// The service's cookie names (TheHive's).
pub const COOKIES: CookieNames = CookieNames {
    session: SESSION_COOKIE,
    xsrf: XSRF_COOKIE,
    xsrf_header: XSRF_HEADER,
};
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
/// runs (401 without credentials, 403 without any of the required roles or when locked);
/// dereferences to its [`Identity`].
pub type Caller<P = Any> = skep_service::Caller<P>;

/// Who is calling.
#[derive(Debug, Clone)]
pub struct Identity {
    /// Login (lowercase; `init` for the pseudo-user).
    pub login: String,
    /// Display name.
    pub name: String,
    /// Roles held.
    pub roles: RoleSet,
    /// How the caller authenticated.
    pub method: AuthMethod,
}

impl Identity {
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

impl skep_service::Authenticate for CasesState {
    type Identity = Identity;
    type Role = Role;

    async fn authenticate(&self, request: &HttpRequest) -> Result<Identity, ApiError> {
        let identity = authenticate(request, self).await?;
        crate::domain::audit::set_actor(&identity.login);
        Ok(identity)
    }

    fn holds_any(identity: &Identity, roles: &[Role]) -> bool {
        identity.roles.has_any(roles)
    }

    fn insufficient_rights() -> ApiError {
        insufficient_rights()
    }
}

/// Tries the session cookie, then an API key, then Basic (when enabled), then `init`.
async fn authenticate(request: &HttpRequest, state: &CasesState) -> Result<Identity, ApiError> {
    if !state.first_run.is_migrated() {
        return Err(ApiError::not_migrated());
    }
    if let Some(session) = state.sessions.read(request)
        && let Some(found) = cached_user(state, CacheKey::Login(&session.claims.login)).await?
        && found.session_epoch == session.claims.epoch
    {
        if !session.csrf_valid {
            return Err(ApiError::forbidden_plain_text(
                "CSRF token missing or invalid",
            ));
        }
        let identity = identity(found, AuthMethod::Session)?;
        state.sessions.renew_if_due(request, &session.claims);
        return Ok(identity);
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
        let source = skep_http::request::client_address(request);
        let found = check_password(state, &login, &password, &source).await?;
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
    session_epoch: u64,
}

impl From<user::StoredUser> for CachedUser {
    fn from(found: user::StoredUser) -> Self {
        CachedUser {
            login: found.login,
            name: found.name,
            roles: found.roles,
            status: found.status,
            session_epoch: found.session_epoch,
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
    if state.first_run.known_to_have_users() {
        return Ok(true);
    }
    let count = state
        .store
        .count(user::KIND, &skep_store::Query::All)
        .await?;
    if count > 0 {
        state.first_run.mark_has_users();
    }
    Ok(count > 0)
}

/// Checks a login and password through the kernel's login gate (rate limit, bounded hashing,
/// decoy hash for unknown logins): the login form and Basic authentication alike.
pub async fn check_password(
    state: &CasesState,
    login: &str,
    password: &str,
    source: &str,
) -> Result<user::StoredUser, ApiError> {
    let login = user::normalise_login(login);
    let store = &*state.store;
    let lookup = async {
        user::find(store, &login).await.map(|found| {
            found.map(|found| {
                let hash = user::password_hash(&found).map(str::to_owned);
                (found, hash)
            })
        })
    };
    Ok(state
        .logins
        .verify(&login, password, source, lookup)
        .await?)
}
