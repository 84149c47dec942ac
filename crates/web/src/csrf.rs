//! CSRF tokens for HTML forms.
//!
//! Each browser holds a random *binding* in a cookie (the service names it; the engine reuses its
//! `CORTEX-XSRF-TOKEN` cookie). A form carries `_csrf` = HMAC(server secret, binding). A POST is
//! accepted only when its `_csrf` matches the binding cookie it arrived with: another site can
//! neither read the cookie nor compute the HMAC without the server secret, and a cookie planted
//! by a sibling domain is useless without its matching token.

use actix_web::HttpRequest;
use actix_web::cookie::{Cookie, SameSite};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// Name of the hidden form field carrying the token.
pub const FIELD: &str = "_csrf";

/// Computes and checks form tokens with a key derived from the server secret.
#[derive(Clone)]
pub struct Csrf {
    key: Vec<u8>,
}

impl std::fmt::Debug for Csrf {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("Csrf(..)")
    }
}

impl Csrf {
    /// A token maker keyed by `secret` (the service's server secret; only a derived key is kept,
    /// so the tokens reveal nothing usable for the service's other MACs).
    pub fn new(secret: &[u8]) -> Csrf {
        let mut mac = Self::mac(secret);
        mac.update(b"skep-web csrf key");
        Csrf {
            key: mac.finalize().into_bytes().to_vec(),
        }
    }

    fn mac(key: &[u8]) -> Hmac<Sha256> {
        // HMAC accepts keys of any length.
        <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!())
    }

    /// The token of forms shown to the browser holding `binding`.
    pub fn token(&self, binding: &str) -> String {
        let mut mac = Self::mac(&self.key);
        mac.update(binding.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// True when `token` was made for `binding` (constant time). An empty binding never matches.
    pub fn verify(&self, binding: &str, token: &str) -> bool {
        !binding.is_empty() && bool::from(self.token(binding).as_bytes().ct_eq(token.as_bytes()))
    }
}

/// The binding cookie's value, if the request carries a non-empty one.
pub fn binding(request: &HttpRequest, cookie: &str) -> Option<String> {
    request
        .cookie(cookie)
        .map(|cookie| cookie.value().to_owned())
        .filter(|value| !value.is_empty())
}

/// A fresh random binding (32 hex digits).
pub fn new_binding() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// The cookie holding `binding`: whole site, `SameSite=Lax`, `Secure` when configured. It is
/// readable by scripts on purpose (API clients echo it in a header); it is not a credential.
pub fn binding_cookie(name: &str, binding: String, secure: bool) -> Cookie<'static> {
    Cookie::build(name.to_owned(), binding)
        .path("/")
        .same_site(SameSite::Lax)
        .secure(secure)
        .finish()
}

/// The request's binding, or a new one with the cookie to set on the response.
pub fn binding_or_new(
    request: &HttpRequest,
    cookie: &str,
    secure: bool,
) -> (String, Option<Cookie<'static>>) {
    match binding(request, cookie) {
        Some(binding) => (binding, None),
        None => {
            let binding = new_binding();
            let set = binding_cookie(cookie, binding.clone(), secure);
            (binding, Some(set))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_matches_only_its_binding_and_secret() {
        let csrf = Csrf::new(b"secret");
        let token = csrf.token("browser-1");
        assert!(csrf.verify("browser-1", &token));
        assert!(!csrf.verify("browser-2", &token));
        assert!(!Csrf::new(b"other").verify("browser-1", &token));
        assert!(!csrf.verify("", &csrf.token("")));
        assert!(!csrf.verify("browser-1", ""));
    }
}
