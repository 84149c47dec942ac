//! Login sessions, CSRF, logout, Basic authentication and the login rate limit.

use reqwest::Method;
use reqwest::header::{CONTENT_TYPE, COOKIE};
use serde_json::json;
use skep_testkit::set_cookie_headers;

use crate::helpers::{ADMIN_LOGIN, ADMIN_PASSWORD, TestApp, set_cookie, status_and_json, unique};

fn cookie_header(session: &str, csrf: &str) -> String {
    format!("CORTEX_SESSION={session}; CORTEX-XSRF-TOKEN={csrf}")
}

#[tokio::test]
async fn a_json_login_answers_the_user_and_sets_the_session_and_csrf_cookies() {
    let app = TestApp::spawn().await;

    let response = app.login(ADMIN_LOGIN, ADMIN_PASSWORD).await;

    assert_eq!(response.status().as_u16(), 200);
    let set_cookies = set_cookie_headers(&response);
    let session = set_cookies
        .iter()
        .find(|c| c.starts_with("CORTEX_SESSION="))
        .unwrap();
    assert!(session.contains("HttpOnly"), "{session}");
    assert!(
        set_cookies
            .iter()
            .any(|c| c.starts_with("CORTEX-XSRF-TOKEN="))
    );
    let (_, body) = status_and_json(response).await;
    assert_eq!(body["id"], ADMIN_LOGIN);
    assert_eq!(body["roles"], json!(["superadmin"]));
    assert!(body.get("password").is_none());
}

#[tokio::test]
async fn a_form_login_is_accepted() {
    let app = TestApp::spawn().await;

    let response = app
        .request(Method::POST, "/api/login")
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(format!("user={ADMIN_LOGIN}&password={ADMIN_PASSWORD}"))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status().as_u16(), 200);
    assert!(set_cookie(&response, "CORTEX_SESSION").is_some());
}

#[tokio::test]
async fn the_session_cookie_authenticates_and_current_user_carries_preferences() {
    let app = TestApp::spawn().await;
    let login = app.login(ADMIN_LOGIN, ADMIN_PASSWORD).await;
    let session = set_cookie(&login, "CORTEX_SESSION").unwrap();
    let csrf = set_cookie(&login, "CORTEX-XSRF-TOKEN").unwrap();

    let (status, body) = status_and_json(
        app.request(Method::GET, "/api/user/current")
            .header(COOKIE, cookie_header(&session, &csrf))
            .send()
            .await
            .unwrap(),
    )
    .await;

    assert_eq!(status, 200);
    assert_eq!(body["id"], ADMIN_LOGIN);
    assert_eq!(body["preferences"], json!({}));
}

#[tokio::test]
async fn a_cookie_authenticated_write_needs_the_csrf_header() {
    let app = TestApp::spawn().await;
    let login = app.login(ADMIN_LOGIN, ADMIN_PASSWORD).await;
    let session = set_cookie(&login, "CORTEX_SESSION").unwrap();
    let csrf = set_cookie(&login, "CORTEX-XSRF-TOKEN").unwrap();
    let org = json!({"name": unique("csrf"), "description": "x"});

    let without = app
        .request(Method::POST, "/api/organization")
        .header(COOKIE, cookie_header(&session, &csrf))
        .json(&org)
        .send()
        .await
        .unwrap();
    let wrong = app
        .request(Method::POST, "/api/organization")
        .header(COOKIE, cookie_header(&session, &csrf))
        .header("X-CORTEX-XSRF-TOKEN", "forged")
        .json(&org)
        .send()
        .await
        .unwrap();
    let with = app
        .request(Method::POST, "/api/organization")
        .header(COOKIE, cookie_header(&session, &csrf))
        .header("X-CORTEX-XSRF-TOKEN", &csrf)
        .json(&org)
        .send()
        .await
        .unwrap();

    assert_eq!(without.status().as_u16(), 403);
    assert!(
        without.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    assert_eq!(
        without.text().await.unwrap(),
        "CSRF token missing or invalid"
    );
    assert_eq!(wrong.status().as_u16(), 403);
    assert_eq!(with.status().as_u16(), 201);
}

#[tokio::test]
async fn api_key_clients_are_never_subject_to_csrf() {
    let app = TestApp::spawn().await;

    let response = app
        .post(
            "/api/organization",
            &json!({"name": unique("key"), "description": "x"}),
        )
        .await;

    assert_eq!(response.status().as_u16(), 201);
}

#[tokio::test]
async fn logout_answers_200_and_expires_both_cookies() {
    let app = TestApp::spawn().await;

    let response = app
        .request(Method::GET, "/api/logout")
        .send()
        .await
        .unwrap();

    assert_eq!(response.status().as_u16(), 200);
    let set_cookies = set_cookie_headers(&response);
    for name in ["CORTEX_SESSION=", "CORTEX-XSRF-TOKEN="] {
        let cookie = set_cookies.iter().find(|c| c.starts_with(name)).unwrap();
        assert!(cookie.contains("Max-Age=0"), "{cookie}");
    }
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_login_look_identical() {
    let app = TestApp::spawn().await;

    let wrong_password = status_and_json(app.login(ADMIN_LOGIN, "not-the-password").await).await;
    let unknown_login = status_and_json(app.login("nobody-here", "not-the-password").await).await;

    assert_eq!(wrong_password.0, 401);
    assert_eq!(wrong_password, unknown_login);
    assert_eq!(
        wrong_password.1,
        json!({"type": "AuthenticationError", "message": "Authentication failure"})
    );
}

#[tokio::test]
async fn repeated_failed_logins_are_refused_with_429_even_with_the_right_password() {
    let app = TestApp::spawn_with(|config| config.auth.login_max_failures = 3).await;

    for _ in 0..3 {
        assert_eq!(app.login(ADMIN_LOGIN, "wrong").await.status().as_u16(), 401);
    }
    let (status, body) = status_and_json(app.login(ADMIN_LOGIN, ADMIN_PASSWORD).await).await;

    assert_eq!(status, 429);
    assert_eq!(body["type"], "RateLimitExceeded");
}

#[tokio::test]
async fn failed_logins_from_one_source_are_limited_across_accounts() {
    let app = TestApp::spawn_with(|config| config.auth.login_max_failures = 3).await;

    for attempt in 0..3 {
        app.login(&format!("guess-{attempt}"), "wrong").await;
    }
    let response = app.login(ADMIN_LOGIN, ADMIN_PASSWORD).await;

    assert_eq!(response.status().as_u16(), 429);
}

#[tokio::test]
async fn a_locked_user_cannot_log_in_nor_use_its_key() {
    let app = TestApp::spawn().await;
    let org = app.new_org().await;
    let login = unique("locked");
    let key = app.create_user(&org, &login, &["read"]).await;
    app.set_password(&login, "pw-123456").await;
    app.patch(&format!("/api/user/{login}"), &json!({"status": "Locked"}))
        .await;

    let (login_status, login_body) = status_and_json(app.login(&login, "pw-123456").await).await;
    let (key_status, key_body) = status_and_json(app.get_as(&key, "/api/user/current").await).await;

    assert_eq!(login_status, 403);
    assert_eq!(login_body["message"], "Your account is locked");
    assert_eq!(key_status, 403);
    assert_eq!(key_body["message"], "Your account is locked");
}

#[tokio::test]
async fn basic_authentication_is_off_by_default() {
    let app = TestApp::spawn().await;

    let response = app
        .request(Method::GET, "/api/user/current")
        .basic_auth(ADMIN_LOGIN, Some(ADMIN_PASSWORD))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status().as_u16(), 401);
}

#[tokio::test]
async fn basic_authentication_works_when_enabled() {
    let app = TestApp::spawn_with(|config| config.http.basic_auth = true).await;

    let response = app
        .request(Method::GET, "/api/user/current")
        .basic_auth(ADMIN_LOGIN, Some(ADMIN_PASSWORD))
        .send()
        .await
        .unwrap();
    let (status, body) = status_and_json(
        app.request(Method::GET, "/api/status")
            .send()
            .await
            .unwrap(),
    )
    .await;

    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(status, 200);
    assert_eq!(body["config"]["authType"], json!(["local", "key", "basic"]));
}

#[tokio::test]
async fn an_unknown_api_key_answers_401() {
    let app = TestApp::spawn().await;

    let (status, body) = status_and_json(
        app.get_as("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "/api/user/current")
            .await,
    )
    .await;

    assert_eq!(status, 401);
    assert_eq!(body["type"], "AuthenticationError");
}

#[tokio::test]
async fn a_tampered_session_cookie_is_not_accepted() {
    let app = TestApp::spawn().await;

    let response = app
        .request(Method::GET, "/api/user/current")
        .header(COOKIE, "CORTEX_SESSION=eyJhbGciOiJIUzI1NiJ9.e30.forged")
        .send()
        .await
        .unwrap();

    assert_eq!(response.status().as_u16(), 401);
}

#[tokio::test]
async fn session_and_csrf_cookies_are_secure_only_when_configured() {
    let plain = TestApp::spawn().await;
    let behind_tls = TestApp::spawn_with(|config| config.http.secure_cookies = true).await;

    let plain_cookies = set_cookie_headers(&plain.login(ADMIN_LOGIN, ADMIN_PASSWORD).await);
    let secure_cookies = set_cookie_headers(&behind_tls.login(ADMIN_LOGIN, ADMIN_PASSWORD).await);

    assert_eq!(plain_cookies.len(), 2, "{plain_cookies:?}");
    assert!(
        plain_cookies.iter().all(|c| !c.contains("Secure")),
        "{plain_cookies:?}"
    );
    assert_eq!(secure_cookies.len(), 2, "{secure_cookies:?}");
    assert!(
        secure_cookies.iter().all(|c| c.contains("; Secure")),
        "{secure_cookies:?}"
    );
}

#[tokio::test]
async fn locking_a_user_or_resetting_its_password_ends_its_sessions() {
    let app = TestApp::spawn().await;
    let org = app.new_org().await;
    let login = unique("pat");
    app.create_user(&org, &login, &["read"]).await;
    app.set_password(&login, "first-password").await;
    let current = |session: String| {
        let request = app
            .request(Method::GET, "/api/user/current")
            .header(COOKIE, format!("CORTEX_SESSION={session}"));
        async move { request.send().await.unwrap().status().as_u16() }
    };
    let first = app.login(&login, "first-password").await;
    let before_reset = set_cookie(&first, "CORTEX_SESSION").unwrap();
    assert_eq!(current(before_reset.clone()).await, 200);

    app.set_password(&login, "second-password").await;
    let second = app.login(&login, "second-password").await;
    let before_lock = set_cookie(&second, "CORTEX_SESSION").unwrap();
    let after_reset = current(before_reset).await;
    let locked = app.delete(&format!("/api/user/{login}")).await;
    let after_lock = current(before_lock).await;

    assert_eq!(after_reset, 401);
    assert!(locked.status().is_success(), "{}", locked.status());
    assert_eq!(after_lock, 401);
}
