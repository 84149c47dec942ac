//! Login sessions and their cookies: one token format (audience = the service, the user's
//! session epoch), one CSRF companion cookie, one renewal rule.
//!
//! **Renewal:** a request authenticated by its session cookie gets a fresh session cookie on its
//! response once less than half of the session's lifetime remains, so active users stay logged
//! in while most requests set no cookie. Basic and API-key requests never get a session.

use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpRequest};
use skep_auth::session::{SessionClaims, SessionSigner};

/// The cookie and header names of one service's dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CookieNames {
    /// The session cookie (`THE_HIVE_SESSION`, `CORTEX_SESSION`).
    pub session: &'static str,
    /// The CSRF token cookie, readable by the UI's JavaScript.
    pub xsrf: &'static str,
    /// The header that must echo the CSRF cookie on cookie-authenticated unsafe calls.
    pub xsrf_header: &'static str,
}

/// A session cookie with a valid token, read off a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionCookie {
    /// What the token says.
    pub claims: SessionClaims,
    /// Whether the CSRF rule is satisfied (always true for safe methods).
    pub csrf_valid: bool,
}

/// Issues, reads and renews one service's sessions.
#[derive(Debug)]
pub struct Sessions {
    signer: SessionSigner,
    names: CookieNames,
    ttl: Duration,
    secure: bool,
}

/// The session cookie to set on the response of the request carrying it (see
/// [`renew_session_cookie`]).
#[derive(Debug, Clone)]
struct RenewedSession(Cookie<'static>);

impl Sessions {
    /// The sessions of service `audience`, keyed by a subkey of `secret` derived for it, lasting
    /// `ttl`; cookies are `Secure` when `secure`.
    pub fn new(
        secret: &[u8],
        audience: &str,
        names: CookieNames,
        ttl: Duration,
        secure: bool,
    ) -> Sessions {
        Sessions {
            signer: SessionSigner::new(secret, audience),
            names,
            ttl,
            secure,
        }
    }

    /// The cookie names.
    pub fn names(&self) -> CookieNames {
        self.names
    }

    /// The session lifetime.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The session cookie and a fresh CSRF cookie for a login at session `epoch`.
    pub fn login_cookies(
        &self,
        login: &str,
        epoch: u64,
    ) -> Result<[Cookie<'static>; 2], skep_auth::AuthError> {
        let token = self.signer.issue(login, epoch, self.ttl)?;
        Ok([self.session_cookie(token), self.xsrf_cookie()])
    }

    /// Cookies that clear the session and the CSRF token.
    pub fn removal_cookies(&self) -> [Cookie<'static>; 2] {
        [self.names.session, self.names.xsrf].map(|name| {
            let mut cookie = Cookie::build(name, "")
                .path("/")
                .secure(self.secure)
                .finish();
            cookie.make_removal();
            cookie
        })
    }

    /// The request's session, when it carries a session cookie with a valid token of this
    /// service (the user's epoch and status are the caller's to check).
    pub fn read(&self, request: &HttpRequest) -> Option<SessionCookie> {
        let token = skep_http::request::cookie_value(request, self.names.session)?;
        let claims = self.signer.verify(&token).ok()?;
        let csrf_valid = skep_http::request::csrf_valid(
            request,
            self.names.session,
            self.names.xsrf,
            self.names.xsrf_header,
        );
        Some(SessionCookie { claims, csrf_valid })
    }

    /// Schedules a fresh session cookie on the response when `claims` are due for renewal.
    pub fn renew_if_due(&self, request: &HttpRequest, claims: &SessionClaims) {
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| {
                i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
            });
        if needs_renewal(claims.expires_at_ms, now_ms, self.ttl)
            && let Ok(token) = self.signer.issue(&claims.login, claims.epoch, self.ttl)
        {
            request
                .extensions_mut()
                .insert(RenewedSession(self.session_cookie(token)));
        }
    }

    fn session_cookie(&self, token: String) -> Cookie<'static> {
        Cookie::build(self.names.session, token)
            .path("/")
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(self.secure)
            .finish()
    }

    fn xsrf_cookie(&self) -> Cookie<'static> {
        Cookie::build(self.names.xsrf, skep_auth::session::csrf_token())
            .path("/")
            .same_site(SameSite::Lax)
            .secure(self.secure)
            .finish()
    }
}

/// True once less than half of a session's lifetime remains.
pub fn needs_renewal(expires_at_ms: i64, now_ms: i64, ttl: Duration) -> bool {
    let half_ttl_ms = i64::try_from(ttl.as_millis() / 2).unwrap_or(i64::MAX);
    expires_at_ms.saturating_sub(now_ms) < half_ttl_ms
}

/// Middleware (`actix_web::middleware::from_fn`): sets the cookie scheduled by
/// [`Sessions::renew_if_due`] unless the handler set a session cookie itself.
pub async fn renew_session_cookie(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody + 'static>, actix_web::Error> {
    let mut response = next.call(request).await?;
    let renewed = response
        .request()
        .extensions()
        .get::<RenewedSession>()
        .cloned();
    if let Some(RenewedSession(cookie)) = renewed {
        let already_set = response
            .response()
            .cookies()
            .any(|set| set.name() == cookie.name());
        if !already_set {
            // A cookie with a fixed, valid name and a JWT value always serialises.
            let _ = response.response_mut().add_cookie(&cookie);
        }
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
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
