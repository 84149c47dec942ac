//! Login, sessions, CSRF, API keys and Basic.

use serde_json::{Value, json};
use skep_testkit::set_cookie_headers;

use crate::helpers::{ADMIN_LOGIN, ADMIN_PASSWORD, TestApp, http_client};

fn cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .cookies()
        .find(|cookie| cookie.name() == name)
        .map(|cookie| cookie.value().to_owned())
}

async fn login(app: &TestApp, user: &str, password: &str) -> reqwest::Response {
    http_client()
        .post(app.url("/api/login"))
        .json(&json!({"user": user, "password": password}))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn login_answers_200_with_an_empty_body_and_the_session_and_csrf_cookies() {
    let app = TestApp::spawn().await;

    let response = login(&app, ADMIN_LOGIN, ADMIN_PASSWORD).await;

    assert_eq!(response.status().as_u16(), 200);
    assert!(cookie(&response, "THE_HIVE_SESSION").is_some());
    assert!(cookie(&response, "THE-HIVE-XSRF-TOKEN").is_some());
    assert!(response.text().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_wrong_password_or_unknown_login_answers_401_authentication_error() {
    let app = TestApp::spawn().await;

    let wrong = login(&app, ADMIN_LOGIN, "nope").await;
    let unknown = login(&app, "ghost", "nope").await;

    assert_eq!(wrong.status().as_u16(), 401);
    let body: Value = wrong.json().await.unwrap();
    assert_eq!(
        body,
        json!({"type": "AuthenticationError", "message": "Authentication failure"})
    );
    assert_eq!(unknown.status().as_u16(), 401);
}

#[tokio::test]
async fn a_session_cookie_authenticates_reads_and_unsafe_calls_need_the_csrf_header() {
    let app = TestApp::spawn().await;
    let response = login(&app, ADMIN_LOGIN, ADMIN_PASSWORD).await;
    let session = cookie(&response, "THE_HIVE_SESSION").unwrap();
    let xsrf = cookie(&response, "THE-HIVE-XSRF-TOKEN").unwrap();
    let cookies = format!("THE_HIVE_SESSION={session}; THE-HIVE-XSRF-TOKEN={xsrf}");
    let client = http_client();

    let current = client
        .get(app.url("/api/user/current"))
        .header("Cookie", &cookies)
        .send()
        .await
        .unwrap();
    let case = json!({"title": "t", "description": "d"});
    let without_header = client
        .post(app.url("/api/case"))
        .header("Cookie", &cookies)
        .json(&case)
        .send()
        .await
        .unwrap();
    let with_header = client
        .post(app.url("/api/case"))
        .header("Cookie", &cookies)
        .header("X-THE-HIVE-XSRF-TOKEN", &xsrf)
        .json(&case)
        .send()
        .await
        .unwrap();

    assert_eq!(current.status().as_u16(), 200);
    assert!(
        cookie(&current, "THE_HIVE_SESSION").is_none(),
        "a fresh session is renewed only once half of its lifetime has passed"
    );
    assert_eq!(without_header.status().as_u16(), 403);
    assert!(
        without_header
            .headers()
            .get("content-type")
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.starts_with("text/plain")),
        "a CSRF refusal is plain text, as TheHive answers it"
    );
    assert_eq!(
        without_header.text().await.unwrap(),
        "CSRF token missing or invalid"
    );
    assert_eq!(with_header.status().as_u16(), 201);
}

#[tokio::test]
async fn logout_clears_the_session_cookie() {
    let app = TestApp::spawn().await;

    let response = http_client()
        .get(app.url("/api/logout"))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(cookie(&response, "THE_HIVE_SESSION").as_deref(), Some(""));
}

#[tokio::test]
async fn requests_without_credentials_or_with_an_unknown_key_answer_401() {
    let app = TestApp::spawn().await;

    let anonymous = http_client()
        .get(app.url("/api/case/abc"))
        .send()
        .await
        .unwrap();
    let unknown_key = app.get_as("not-a-key", "/api/user/current").await;

    assert_eq!(anonymous.status().as_u16(), 401);
    assert_eq!(unknown_key.status().as_u16(), 401);
}

#[tokio::test]
async fn basic_authentication_is_off_by_default_and_works_when_enabled() {
    let off = TestApp::spawn().await;
    let on = TestApp::spawn_with(|config| config.http.basic_auth = true).await;

    let refused = http_client()
        .get(off.url("/api/user/current"))
        .basic_auth(ADMIN_LOGIN, Some(ADMIN_PASSWORD))
        .send()
        .await
        .unwrap();
    let accepted = http_client()
        .get(on.url("/api/user/current"))
        .basic_auth(ADMIN_LOGIN, Some(ADMIN_PASSWORD))
        .send()
        .await
        .unwrap();
    let status: Value = http_client()
        .get(on.url("/api/status"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    assert_eq!(refused.status().as_u16(), 401);
    assert_eq!(accepted.status().as_u16(), 200);
    assert_eq!(
        status["config"]["authType"],
        json!(["key", "local", "basic"])
    );
}

#[tokio::test]
async fn a_locked_user_is_refused_with_403_on_login_and_with_its_key() {
    let app = TestApp::spawn().await;
    let key = app.create_user("locked-analyst", &["read", "write"]).await;

    let lock = app.delete("/api/user/locked-analyst").await;
    let with_key = app.get_as(&key, "/api/user/current").await;
    let with_password = login(&app, "locked-analyst", "locked-analyst-password").await;

    assert_eq!(lock.status().as_u16(), 204);
    assert_eq!(with_key.status().as_u16(), 403);
    assert_eq!(with_password.status().as_u16(), 403);
}

#[tokio::test]
async fn repeated_failed_logins_are_throttled_with_429() {
    let app = TestApp::spawn_with(|config| config.auth.login_max_failures = 3).await;
    for _ in 0..3 {
        assert_eq!(
            login(&app, ADMIN_LOGIN, "wrong").await.status().as_u16(),
            401
        );
    }

    let throttled = login(&app, ADMIN_LOGIN, ADMIN_PASSWORD).await;

    assert_eq!(throttled.status().as_u16(), 429);
    assert_eq!(
        throttled.json::<Value>().await.unwrap()["type"],
        "RateLimitExceeded"
    );
}

#[tokio::test]
async fn session_cookies_are_secure_only_when_configured_including_renewals_and_logout() {
    let plain = TestApp::spawn().await;
    let behind_tls = TestApp::spawn_with(|config| {
        config.http.secure_cookies = true;
        config.http.secret = skep_config::Secret::new("a secret the test signs with");
    })
    .await;

    let plain_login = login(&plain, ADMIN_LOGIN, ADMIN_PASSWORD).await;
    let secure_login = login(&behind_tls, ADMIN_LOGIN, ADMIN_PASSWORD).await;

    let plain_cookies = set_cookie_headers(&plain_login);
    assert_eq!(plain_cookies.len(), 2, "{plain_cookies:?}");
    assert!(
        plain_cookies.iter().all(|c| !c.contains("Secure")),
        "{plain_cookies:?}"
    );
    let secure_cookies = set_cookie_headers(&secure_login);
    assert_eq!(secure_cookies.len(), 2, "{secure_cookies:?}");
    assert!(
        secure_cookies.iter().all(|c| c.contains("; Secure")),
        "{secure_cookies:?}"
    );
    // The renewal of a session past half of its lifetime (10 of 60 minutes left), and the
    // logout's removal.
    let session = skep_auth::session::SessionSigner::new(b"a secret the test signs with", "cases")
        .issue(ADMIN_LOGIN, 0, std::time::Duration::from_secs(600))
        .unwrap();
    let client = http_client();
    let current = client
        .get(behind_tls.url("/api/user/current"))
        .header("Cookie", format!("THE_HIVE_SESSION={session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(current.status().as_u16(), 200);
    let renewed = set_cookie_headers(&current);
    assert!(
        renewed
            .iter()
            .any(|c| c.starts_with("THE_HIVE_SESSION=") && c.contains("; Secure")),
        "{renewed:?}"
    );
    let logout = client
        .get(behind_tls.url("/api/logout"))
        .header("Cookie", format!("THE_HIVE_SESSION={session}"))
        .send()
        .await
        .unwrap();
    let removal = set_cookie_headers(&logout);
    assert!(
        removal
            .iter()
            .any(|c| c.starts_with("THE_HIVE_SESSION=;") && c.contains("; Secure")),
        "{removal:?}"
    );
}

#[tokio::test]
async fn locking_a_user_or_resetting_its_password_ends_its_sessions() {
    let app = TestApp::spawn().await;
    app.create_user("pat", &["read"]).await;
    let reset = app
        .post("/api/user/pat/password/set", &json!({"password": "first"}))
        .await;
    assert_eq!(reset.status().as_u16(), 204);
    let current = |session: String| {
        let client = http_client();
        let url = app.url("/api/user/current");
        async move {
            client
                .get(url)
                .header("Cookie", format!("THE_HIVE_SESSION={session}"))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    let before_reset = cookie(&login(&app, "pat", "first").await, "THE_HIVE_SESSION").unwrap();
    assert_eq!(current(before_reset.clone()).await, 200);

    app.post("/api/user/pat/password/set", &json!({"password": "second"}))
        .await;
    let before_lock = cookie(&login(&app, "pat", "second").await, "THE_HIVE_SESSION").unwrap();
    let after_reset = current(before_reset).await;
    let locked = app.delete("/api/user/pat").await;
    let after_lock = current(before_lock).await;

    assert_eq!(after_reset, 401);
    assert!(locked.status().is_success(), "{}", locked.status());
    assert_eq!(after_lock, 401);
}
