//! Reading credentials and client facts off a request; no decisions are made here.

use actix_web::HttpRequest;
use actix_web::http::Method;
use actix_web::http::header::AUTHORIZATION;
use base64_decode::decode_basic;

/// The key of an `Authorization: Bearer <key>` header.
pub fn bearer_token(request: &HttpRequest) -> Option<&str> {
    let value = request.headers().get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The login and password of an `Authorization: Basic …` header.
pub fn basic_credentials(request: &HttpRequest) -> Option<(String, String)> {
    let value = request.headers().get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    decode_basic(encoded.trim())
}

/// The value of a cookie, if sent and not empty.
pub fn cookie_value(request: &HttpRequest, name: &str) -> Option<String> {
    request
        .cookie(name)
        .map(|cookie| cookie.value().to_owned())
        .filter(|value| !value.is_empty())
}

/// Whether a request passes the CSRF check of both compatible APIs: only unsafe requests under
/// `/api` (except `/api/login`) that carry a session cookie must echo the token cookie in the
/// token header.
pub fn csrf_valid(
    request: &HttpRequest,
    session_cookie: &str,
    token_cookie: &str,
    token_header: &str,
) -> bool {
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    let path = request.path();
    if safe || !path.starts_with("/api") || path == "/api/login" {
        return true;
    }
    if cookie_value(request, session_cookie).is_none() {
        return true;
    }
    let Some(cookie) = cookie_value(request, token_cookie) else {
        return false;
    };
    let header = request
        .headers()
        .get(token_header)
        .and_then(|value| value.to_str().ok());
    header.is_some_and(|header| skep_auth_free_eq(header.as_bytes(), cookie.as_bytes()))
}

/// The client's address as seen by the server (peer address; proxies are not trusted).
pub fn client_address(request: &HttpRequest) -> String {
    request
        .peer_addr()
        .map(|address| address.ip().to_string())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// Constant-time byte comparison (kept local so this module needs no auth crate calls).
fn skep_auth_free_eq(left: &[u8], right: &[u8]) -> bool {
    if left.len() != right.len() {
        return false;
    }
    left.iter()
        .zip(right)
        .fold(0u8, |acc, (a, b)| acc | (a ^ b))
        == 0
}

mod base64_decode {
    //! Minimal standard base64 decoding for Basic credentials.

    pub(super) fn decode_basic(encoded: &str) -> Option<(String, String)> {
        let bytes = decode(encoded)?;
        let text = String::from_utf8(bytes).ok()?;
        let (login, password) = text.split_once(':')?;
        Some((login.to_owned(), password.to_owned()))
    }

    fn decode(encoded: &str) -> Option<Vec<u8>> {
        let mut output = Vec::with_capacity(encoded.len() * 3 / 4);
        let mut buffer = 0u32;
        let mut bits = 0u32;
        for byte in encoded.bytes().filter(|byte| *byte != b'=') {
            let value = match byte {
                b'A'..=b'Z' => byte - b'A',
                b'a'..=b'z' => byte - b'a' + 26,
                b'0'..=b'9' => byte - b'0' + 52,
                b'+' | b'-' => 62,
                b'/' | b'_' => 63,
                _ => return None,
            };
            buffer = (buffer << 6) | u32::from(value);
            bits += 6;
            if bits >= 8 {
                bits -= 8;
                output.push(((buffer >> bits) & 0xff) as u8);
            }
        }
        Some(output)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::cookie::Cookie;
    use actix_web::test::TestRequest;

    #[test]
    fn bearer_and_basic_credentials_are_read_from_the_authorization_header() {
        let request = TestRequest::get()
            .insert_header((AUTHORIZATION, "Bearer abc123"))
            .to_http_request();
        assert_eq!(bearer_token(&request), Some("abc123"));

        let request = TestRequest::get()
            .insert_header((AUTHORIZATION, "Basic YWRtaW46czNjcjN0OnBhc3M="))
            .to_http_request();
        assert_eq!(
            basic_credentials(&request),
            Some(("admin".into(), "s3cr3t:pass".into()))
        );
    }

    #[test]
    fn csrf_is_only_checked_for_cookie_authenticated_unsafe_api_calls() {
        let key_client = TestRequest::post().uri("/api/case").to_http_request();
        assert!(csrf_valid(&key_client, "S", "T", "X-T"));

        let forged = TestRequest::post()
            .uri("/api/case")
            .cookie(Cookie::new("S", "session"))
            .to_http_request();
        assert!(!csrf_valid(&forged, "S", "T", "X-T"));

        let echoed = TestRequest::post()
            .uri("/api/case")
            .cookie(Cookie::new("S", "session"))
            .cookie(Cookie::new("T", "tok"))
            .insert_header(("X-T", "tok"))
            .to_http_request();
        assert!(csrf_valid(&echoed, "S", "T", "X-T"));

        let login = TestRequest::post()
            .uri("/api/login")
            .cookie(Cookie::new("S", "session"))
            .to_http_request();
        assert!(csrf_valid(&login, "S", "T", "X-T"));
    }
}
