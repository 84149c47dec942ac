//! Browser tests of the cases web UI: a real cases service on port 0 (SQLite in a temp dir),
//! driven by Debian's headless Chromium through playwright-core (`tests/ui/*.mjs`, helpers in
//! `tests/ui/lib.mjs`), installed by `scripts/test.d/30-chromium.sh`.
//!
//! Without Chromium or the node modules the tests fail when `CI=true` and are skipped loudly
//! otherwise. Screenshots go to `target/ui-screenshots/` (or `SKEP_UI_SCREENSHOTS`).
// Test support functions unwrap too: a failed request is a failed test.
#![allow(clippy::unwrap_used)]

#[allow(dead_code)]
#[path = "api/helpers.rs"]
mod helpers;

use std::path::{Path, PathBuf};

use helpers::{ADMIN_LOGIN, ADMIN_PASSWORD, TestApp, json_of};
use serde_json::{Value, json};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The playwright-core modules and Chromium, or `None` (skipped) outside CI.
fn browser() -> Option<(PathBuf, PathBuf)> {
    let modules = std::env::var_os("SKEP_TEST_UI_NODE_MODULES")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join(".test-env/node/node_modules"));
    let chromium = std::env::var_os("SKEP_TEST_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    if modules.join("playwright-core").is_dir() && chromium.exists() {
        return Some((modules, chromium));
    }
    let why = format!(
        "Chromium ({}) or playwright-core ({}) is missing: run scripts/test.d/30-chromium.sh",
        chromium.display(),
        modules.display()
    );
    if std::env::var("CI").is_ok_and(|value| value == "true") {
        panic!("{why}");
    }
    eprintln!("SKIPPED (not run): {why}");
    None
}

/// Runs `tests/ui/<script>` against `base` with `args`; fails the test with its output when it
/// does not end with `ok`.
async fn run_script(script: &str, base: &str, args: &[String]) {
    let Some((modules, chromium)) = browser() else {
        return;
    };
    let screenshots = std::env::var_os("SKEP_UI_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target/ui-screenshots"));
    let output = tokio::process::Command::new("node")
        .arg(workspace().join("tests/ui").join(script))
        .arg(base)
        .args(args)
        .env("SKEP_TEST_UI_NODE_MODULES", modules)
        .env("SKEP_TEST_CHROMIUM", chromium)
        .env("SKEP_UI_SCREENSHOTS", screenshots)
        .kill_on_drop(true)
        .output()
        .await
        .expect("node runs (install nodejs)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{script} failed\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    let name = script.trim_end_matches(".mjs");
    assert!(
        stdout.lines().any(|line| line == format!("ok {name}")),
        "{script} did not finish\n{stdout}"
    );
}

#[tokio::test]
async fn the_case_workflow_runs_in_a_browser_on_a_fresh_service() {
    let app = TestApp::spawn_fresh().await;

    run_script("cases_workflow.mjs", &app.address, &[]).await;

    if browser().is_some() {
        // What the browser did is in the store: two cases, the second from the alert.
        let (total, cases) = app_search(&app).await;
        assert_eq!(total, 2);
        assert!(cases.iter().any(|case| {
            case["tags"]
                .as_array()
                .is_some_and(|tags| tags.contains(&json!("mail:reporter@example.org")))
        }));
    }
}

/// Every case in the store (the store, not the UI, answers).
async fn app_search(app: &TestApp) -> (u64, Vec<Value>) {
    let hits = app
        .state
        .store
        .search("case", &skep_store::Query::All, skep_store::Page::ALL, &[])
        .await
        .unwrap();
    let items = hits
        .documents
        .iter()
        .map(|document| Value::Object(document.body.clone()))
        .collect();
    (hits.total, items)
}

/// A script payload for every field a reported mail can fill.
const PAYLOAD: &str = r#"<img src=x onerror="window.__skepXss='img'"><script>window.__skepXss='script'</script>"><svg onload="window.__skepXss='svg'">"#;

/// The payload of attachment names, which may not hold `<>":;` (the datastore refuses them):
/// it tries to break out of a quoted attribute instead.
const NAME_PAYLOAD: &str = "x' onfocus='window.__skepXss=1' autofocus tabindex='1";

fn description() -> String {
    format!(
        "# Report\n\n{PAYLOAD}\n\n[click me](javascript:window.__skepXss='link') \
         [ok](https://example.org/xss) <a href=\"javascript:window.__skepXss='a'\">raw link</a>\n\n\
         <iframe src=\"javascript:window.__skepXss='frame'\"></iframe>"
    )
}

#[tokio::test]
async fn script_payloads_in_every_mail_field_never_run() {
    let app = TestApp::spawn().await;
    let case = json_of(
        app.create_case(&json!({
            "title": format!("Phish {PAYLOAD}"),
            "description": description(),
            "tags": [PAYLOAD, "mail:reporter@example.org"],
        }))
        .await,
    )
    .await;
    let case_id = case["id"].as_str().unwrap().to_owned();
    let task = app.new_task(&case_id, &format!("Triage {PAYLOAD}")).await;
    let task_id = task["id"].as_str().unwrap().to_owned();
    let form = reqwest::multipart::Form::new()
        .text("_json", json!({"message": description()}).to_string())
        .part(
            "attachment",
            reqwest::multipart::Part::bytes(b"payload".to_vec())
                .file_name(format!("{NAME_PAYLOAD}.eml"))
                .mime_str("message/rfc822")
                .unwrap(),
        );
    let response = app
        .client
        .post(app.url(&format!("/api/case/task/{task_id}/log")))
        .bearer_auth(&app.admin_key)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status().as_u16(),
        201,
        "{}",
        response.text().await.unwrap()
    );
    let response = app
        .create_observable(
            &case_id,
            &json!({"dataType": "other", "data": [PAYLOAD, "javascript:window.__skepXss='data'"],
                    "message": PAYLOAD, "tags": [PAYLOAD]}),
        )
        .await;
    assert_eq!(
        response.status().as_u16(),
        201,
        "{}",
        response.text().await.unwrap()
    );
    let observables: Value = response.json().await.unwrap();
    let observable_id = observables[0]["id"].as_str().unwrap().to_owned();
    let form = reqwest::multipart::Form::new()
        .text(
            "_json",
            json!({"dataType": "file", "message": "attachment", "tags": [PAYLOAD]}).to_string(),
        )
        .part(
            "attachment",
            reqwest::multipart::Part::bytes(b"MZ".to_vec())
                .file_name(format!("{NAME_PAYLOAD}.exe"))
                .mime_str("application/octet-stream")
                .unwrap(),
        );
    let response = app
        .client
        .post(app.url(&format!("/api/case/{case_id}/artifact")))
        .bearer_auth(&app.admin_key)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status().as_u16(),
        201,
        "{}",
        response.text().await.unwrap()
    );
    let response = app
        .post(
            "/api/alert",
            &json!({
                "title": format!("Alert {PAYLOAD}"), "description": description(),
                "type": PAYLOAD, "source": PAYLOAD, "sourceRef": PAYLOAD,
                "tags": [PAYLOAD],
                "artifacts": [
                    {"dataType": "other", "data": PAYLOAD, "message": PAYLOAD, "tags": [PAYLOAD]},
                    {"dataType": "file", "data": format!("{NAME_PAYLOAD}.txt;text/plain;cGF5bG9hZA=="), "message": "file"},
                ],
            }),
        )
        .await;
    assert_eq!(
        response.status().as_u16(),
        201,
        "{}",
        response.text().await.unwrap()
    );
    let alert: Value = response.json().await.unwrap();
    let alert_id = alert["id"].as_str().unwrap().to_owned();

    let pages = [
        "/cases".to_owned(),
        format!("/cases?status=any&q={}", urlencoding::encode("Phish")),
        format!("/cases/{case_id}"),
        format!("/cases/{case_id}/tasks"),
        format!("/cases/{case_id}/observables"),
        format!("/tasks/{task_id}"),
        format!("/observables/{observable_id}"),
        "/alerts".to_owned(),
        format!("/alerts/{alert_id}"),
        "/activity".to_owned(),
        "/dashboard".to_owned(),
    ];
    let mut args = vec![ADMIN_LOGIN.to_owned(), ADMIN_PASSWORD.to_owned()];
    args.extend(pages);
    run_script("cases_xss.mjs", &app.address, &args).await;
}

#[tokio::test]
async fn pages_send_a_strict_policy_and_forms_refuse_a_missing_token() {
    let app = TestApp::spawn().await;
    let client = skep_testkit::cookie_client();
    let login = client.get(app.url("/login")).send().await.unwrap();
    assert_eq!(login.status().as_u16(), 200);
    let policy = login
        .headers()
        .get("content-security-policy")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(policy.contains("script-src 'self'"), "{policy}");
    assert!(!policy.contains("unsafe-inline"), "{policy}");
    let page = login.text().await.unwrap();
    let token = page
        .split("name=\"_csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();

    let refused = client
        .post(app.url("/login"))
        .form(&[("user", ADMIN_LOGIN), ("password", ADMIN_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(
        refused.status().as_u16(),
        403,
        "a form without its token is refused"
    );

    let accepted = client
        .post(app.url("/login"))
        .form(&[
            ("_csrf", token.as_str()),
            ("user", ADMIN_LOGIN),
            ("password", ADMIN_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status().as_u16(), 200, "login then the case list");
    assert!(accepted.url().path().ends_with("/cases"));
    let created = client
        .post(app.url("/cases"))
        .form(&[("title", "no token"), ("description", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 403);
    let (total, _) = app.search("/api/case/_search", &json!({})).await;
    assert_eq!(total, 0, "nothing was created without the token");
}

/// A browser-like session of the seeded admin: a cookie client and the forms' CSRF token.
async fn session(app: &TestApp) -> (reqwest::Client, String) {
    let client = skep_testkit::cookie_client();
    let page = client
        .get(app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = page
        .split("name=\"_csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    let response = client
        .post(app.url("/login"))
        .form(&[
            ("_csrf", token.as_str()),
            ("user", ADMIN_LOGIN),
            ("password", ADMIN_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert!(response.url().path().ends_with("/cases"));
    (client, token)
}

/// Posts a form; returns the page it redirects to (status, final path, body).
async fn post_form(
    client: &reqwest::Client,
    app: &TestApp,
    path: &str,
    fields: &[(&str, &str)],
) -> (u16, String, String) {
    let response = client
        .post(app.url(path))
        .form(fields)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let path = response.url().path().to_owned();
    (status, path, response.text().await.unwrap())
}

#[tokio::test]
async fn forms_change_the_store_as_the_api_does() {
    let app = TestApp::spawn().await;
    let (client, token) = session(&app).await;
    let token = token.as_str();
    let first = app.new_case("first").await;
    let second = app.new_case("second").await;
    let (first_id, second_id) = (
        first["id"].as_str().unwrap().to_owned(),
        second["id"].as_str().unwrap().to_owned(),
    );

    // Bulk: tag, then close both.
    let (status, _, page) = post_form(
        &client,
        &app,
        "/cases/bulk",
        &[
            ("_csrf", token),
            ("ids", &first_id),
            ("ids", &second_id),
            ("action", "tag"),
            ("tags", "wave-1, bulk"),
        ],
    )
    .await;
    assert_eq!(status, 200);
    assert!(page.contains("2 case(s) changed."), "{page}");
    let tagged = json_of(app.get(&format!("/api/case/{second_id}")).await).await;
    assert_eq!(tagged["tags"], json!(["wave-1", "bulk"]));

    // Merge: both cases into a new one, which the browser is sent to.
    let (status, path, _) = post_form(
        &client,
        &app,
        &format!("/cases/{first_id}/merge"),
        &[("_csrf", token), ("other", "#2")],
    )
    .await;
    assert_eq!(status, 200);
    let merged_id = path.trim_start_matches("/cases/").to_owned();
    let merged = json_of(app.get(&format!("/api/case/{merged_id}")).await).await;
    assert_eq!(merged["title"], "first / second");
    let source = json_of(app.get(&format!("/api/case/{first_id}")).await).await;
    assert_eq!(source["resolutionStatus"], "Duplicated");

    // Close with a resolution, then the observable flags and a task log with a file.
    let (_, _, _) = post_form(
        &client,
        &app,
        &format!("/cases/{merged_id}/close"),
        &[
            ("_csrf", token),
            ("resolutionStatus", "FalsePositive"),
            ("summary", "benign"),
        ],
    )
    .await;
    let closed = json_of(app.get(&format!("/api/case/{merged_id}")).await).await;
    assert_eq!(closed["status"], "Resolved");
    assert_eq!(closed["resolutionStatus"], "FalsePositive");
    let observable = json_of(
        app.create_observable(
            &first_id,
            &json!({"dataType": "ip", "data": "192.0.2.1", "message": "m"}),
        )
        .await,
    )
    .await;
    let observable_id = observable["id"].as_str().unwrap();
    post_form(
        &client,
        &app,
        &format!("/observables/{observable_id}/flags"),
        &[("_csrf", token), ("ioc", "on")],
    )
    .await;
    let flagged = json_of(
        app.get(&format!("/api/case/artifact/{observable_id}"))
            .await,
    )
    .await;
    assert_eq!(
        (flagged["ioc"].clone(), flagged["sighted"].clone()),
        (json!(true), json!(false))
    );
    let task = app.new_task(&first_id, "Triage").await;
    let task_id = task["id"].as_str().unwrap();
    let form = reqwest::multipart::Form::new()
        .text("_csrf", token.to_owned())
        .text("message", "Headers **checked**")
        .part(
            "attachment",
            reqwest::multipart::Part::bytes(b"Received: x".to_vec()).file_name("headers.txt"),
        );
    let page = client
        .post(app.url(&format!("/tasks/{task_id}/logs")))
        .multipart(form)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("<strong>checked</strong>"),
        "the log is rendered: {page}"
    );
    assert!(page.contains("headers.txt"), "the attachment is linked");

    // Alerts: ignore.
    let alert = json_of(
        app.post(
            "/api/alert",
            &json!({"title": "a", "description": "d", "type": "t", "source": "s", "sourceRef": "1"}),
        )
        .await,
    )
    .await;
    let alert_id = alert["id"].as_str().unwrap();
    post_form(
        &client,
        &app,
        &format!("/alerts/{alert_id}/ignore"),
        &[("_csrf", token)],
    )
    .await;
    let ignored = json_of(app.get(&format!("/api/alert/{alert_id}")).await).await;
    assert_eq!(ignored["status"], "Ignored");

    // A custom field defined in the admin pages, then set on a case.
    post_form(
        &client,
        &app,
        "/admin/custom-fields",
        &[
            ("_csrf", token),
            ("reference", "cvss"),
            ("name", "CVSS"),
            ("type", "number"),
        ],
    )
    .await;
    let (_, _, page) = post_form(
        &client,
        &app,
        &format!("/cases/{second_id}/update"),
        &[("_csrf", token), ("section", "fields"), ("cf.cvss", "7.5")],
    )
    .await;
    assert!(page.contains("name=\"cf.cvss\" value=\"7.5\""), "{page}");
    let with_field = json_of(app.get(&format!("/api/case/{second_id}")).await).await;
    assert_eq!(with_field["customFields"]["cvss"]["number"], json!(7.5));

    // Admin: a user with roles, then its API key, which works against the API.
    post_form(
        &client,
        &app,
        "/admin/users",
        &[
            ("_csrf", token),
            ("login", "analyst"),
            ("name", "Ann"),
            ("roles", "read"),
            ("roles", "write"),
        ],
    )
    .await;
    let (_, _, page) = post_form(
        &client,
        &app,
        "/admin/users/analyst",
        &[("_csrf", token), ("action", "renew")],
    )
    .await;
    let key = page
        .split("id=\"revealed-key\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap()
        .to_owned();
    let me = json_of(app.get_as(&key, "/api/user/current").await).await;
    assert_eq!(me["roles"], json!(["read", "write"]));
}

#[tokio::test]
async fn a_reconnecting_feed_gets_what_it_missed_after_its_last_event_id() {
    let app = TestApp::spawn().await;
    app.new_case("seen before the disconnection").await;
    let page = app.get("/activity").await.text().await.unwrap();
    let last_id = page
        .split("data-event-id=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    assert!(
        page.contains("created case #1 seen before the disconnection"),
        "{page}"
    );
    app.new_case("missed while disconnected").await;

    let mut response = app
        .client
        .get(app.url("/activity/events"))
        .bearer_auth(&app.admin_key)
        .header("Last-Event-ID", &last_id)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "text/event-stream"
    );
    let mut received = String::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    while !received.contains("missed while disconnected") {
        let chunk = tokio::time::timeout_at(deadline, response.chunk())
            .await
            .expect("the missed event is replayed")
            .unwrap()
            .expect("the stream stays open");
        received.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(received.contains("event: activity\ndata: "), "{received}");
    assert!(received.contains("created case #2 missed while disconnected"));
    assert!(
        !received.contains("seen before the disconnection"),
        "the last event seen is not sent again: {received}"
    );
}
