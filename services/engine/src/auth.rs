//! Who is calling: the [`Caller`] extractor (session cookie, `Bearer` key, optional Basic, and the
//! first-run `init` pseudo-user), password login with its rate limit, and the lock checks.
//!
//! Every engine route except status, login, logout and migrate goes through [`Caller`], so the
//! 520 "not migrated" answer, the 401/403 refusals and the CSRF check happen before a handler
//! body runs.

use actix_web::HttpRequest;
use skep_http::ApiError;
use skep_http::request::{basic_credentials, bearer_token, client_address};
use skep_service::CookieNames;

use crate::domain::user::{self, User, UserStatus};
use crate::domain::{OrgId, organization};
use crate::error::EngineError;
use crate::roles::{self, Role};
use crate::state::EngineState;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "CORTEX_SESSION";
/// Name of the CSRF cookie set at login.
pub const XSRF_COOKIE: &str = "CORTEX-XSRF-TOKEN";
/// Name of the header that must echo the CSRF cookie on cookie-authenticated writes.
pub const XSRF_HEADER: &str = "X-CORTEX-XSRF-TOKEN";
/// The engine's cookie names (Cortex's).
pub const COOKIES: CookieNames = CookieNames {
    session: SESSION_COOKIE,
    xsrf: XSRF_COOKIE,
    xsrf_header: XSRF_HEADER,
};
/// Login of the first-run pseudo-user.
pub const INIT_LOGIN: &str = "init";

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

/// The extractor of an authenticated caller holding at least one role of policy `P`
/// (dereferences to its [`Identity`]).
///
/// Rejections: 520 before migration, 401 without valid credentials, 403 for locked accounts,
/// missing roles or a failed CSRF check.
pub type Caller<P = roles::Any> = skep_service::Caller<P>;

impl skep_service::Authenticate for EngineState {
    type Identity = Identity;
    type Role = Role;

    async fn authenticate(&self, request: &HttpRequest) -> Result<Identity, ApiError> {
        Ok(authenticate(self, request).await?)
    }

    fn holds_any(identity: &Identity, roles: &[Role]) -> bool {
        identity.has_any(roles)
    }

    fn insufficient_rights() -> ApiError {
        EngineError::insufficient_rights().into()
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
    if let Some(session) = state.sessions.read(request) {
        if !session.csrf_valid {
            return Err(EngineError::CsrfRefused);
        }
        let user = user::find(store, &session.claims.login)
            .await?
            .filter(|user| user.session_epoch == session.claims.epoch)
            .ok_or(EngineError::Unauthenticated)?;
        let identity = active_identity(state, user, AuthMethod::Session).await?;
        state.sessions.renew_if_due(request, &session.claims);
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

/// Checks a login and password through the login gate (rate limit per account and source,
/// bounded hashing, decoy hash for unknown logins: a wrong password and an unknown login fail
/// identically).
pub async fn check_password(
    state: &EngineState,
    login: &str,
    password: &str,
    source: &str,
) -> Result<User, EngineError> {
    let store = &*state.store;
    let lookup = async {
        user::find(store, login).await.map(|found| {
            found.map(|user| {
                let hash = user.password.clone();
                (user, hash)
            })
        })
    };
    Ok(state.logins.verify(login, password, source, lookup).await?)
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
