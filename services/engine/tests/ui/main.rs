//! The engine's web UI in real headless Chromium (`tests/ui/*.mjs`, driven by playwright-core):
//! the seed's engine steps on a fresh engine, and the stored-XSS check. Without Chromium these
//! tests fail under `CI=true` and skip loudly elsewhere (`skep_testkit::browser::require`).
// Test support: any failed setup step should stop the run with a panic.
#![allow(clippy::unwrap_used)]

use serde_json::{Map, Value, json};
use skep_engine::Application;
use skep_engine::auth::Identity;
use skep_engine::config::EngineConfig;
use skep_engine::domain::organization::{self, OrgStatus, OrganizationDraft};
use skep_engine::domain::user::{self, UserDraft, UserStatus};
use skep_engine::domain::{OrgId, now_ms};
use skep_engine::jobs::job::{ARTIFACT_KIND, JOB_KIND, REPORT_KIND};
use skep_engine::roles::Role;
use skep_store::NewDocument;
use skep_testkit::browser;
use tempfile::TempDir;

/// A running engine over a fresh store; `configure` adjusts the configuration.
async fn start(configure: impl FnOnce(&mut EngineConfig)) -> (Application, String, TempDir) {
    let data_dir = TempDir::new().unwrap();
    let mut config = EngineConfig::default();
    config.http.host = "127.0.0.1".to_owned();
    config.http.port = 0;
    config.data_dir = data_dir.path().to_path_buf();
    configure(&mut config);
    let application = Application::build(config).await.unwrap();
    let base = format!("http://127.0.0.1:{}", application.port());
    (application, base, data_dir)
}

/// Runs a script in Chromium against `base` and fails the test with its output unless it passed.
async fn run_in_browser(script: &'static str, base: String, env: Vec<(String, String)>) {
    let output = tokio::task::spawn_blocking(move || {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        browser::run_script(script, &base, &env)
    })
    .await
    .unwrap();
    let report = skep_testkit::describe_output(&output);
    assert!(output.status.success(), "{script} failed:\n{report}");
    assert!(
        String::from_utf8_lossy(&output.stdout)
            .contains(&format!("ok {}", script.trim_end_matches(".mjs"))),
        "{script} did not finish:\n{report}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seed_engine_steps_work_in_chromium() {
    if !browser::require("the_seed_engine_steps_work_in_chromium") {
        return;
    }
    let worker = std::env::current_exe()
        .unwrap()
        .parent()
        .and_then(|deps| deps.parent())
        .unwrap()
        .join("skep-worker");
    assert!(
        worker.is_file(),
        "the built-in worker {} is missing: run `cargo build -p skep-workers --bins`",
        worker.display()
    );
    let (application, base, _data_dir) = start(|_| {}).await;
    tokio::spawn(application.run_until_stopped());
    run_in_browser("engine_walk.mjs", base, Vec::new()).await;
}

const SCRIPT: &str = "<script>window.__skepXss='script';alert('script')</script>";
const IMG: &str = "<img src=x onerror=\"window.__skepXss='img';alert('img')\">";
const JS_LINK: &str = "javascript:window.__skepXss='link';alert('link')";
const MD_LINK: &str =
    "[click](javascript:window.__skepXss='md') <a href=\"javascript:alert(1)\">x</a>";

fn object(value: Value) -> Map<String, Value> {
    value.as_object().cloned().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_script_payloads_in_a_job_never_run() {
    if !browser::require("stored_script_payloads_in_a_job_never_run") {
        return;
    }
    let (application, base, _data_dir) = start(|config| {
        config.bootstrap.admin_login = "admin".to_owned();
        config.bootstrap.admin_password = skep_config::Secret::new("admin-password");
    })
    .await;
    let state = application.state();
    tokio::spawn(application.run_until_stopped());
    let store = &*state.store;
    let init = Identity::init();
    organization::create(
        store,
        &init,
        OrganizationDraft {
            name: OrgId::new("xss"),
            description: format!("{SCRIPT} org"),
            status: OrgStatus::Active,
        },
    )
    .await
    .unwrap();
    user::create(
        store,
        &init,
        UserDraft {
            login: "xss-analyst".to_owned(),
            name: IMG.to_owned(),
            roles: vec![Role::Read, Role::Analyze],
            organization: Some(OrgId::new("xss")),
            password: Some("xss-password".to_owned()),
            status: UserStatus::Ok,
            avatar: None,
        },
    )
    .await
    .unwrap();
    // A finished job as the runner stores it, its report and an artifact, every text field
    // carrying a payload.
    let job = store
        .put(
            JOB_KIND,
            NewDocument {
                id: None,
                parent: None,
                body: object(json!({
                    "organization": "xss",
                    "status": "Success",
                    "type": "analyzer",
                    "dataType": "ip",
                    "data": SCRIPT,
                    "message": IMG,
                    "tlp": 2, "pap": 2,
                    "workerId": "w", "workerName": format!("Evil{IMG}"), "workerDefinitionId": "Evil_1_0",
                    "createdAt": now_ms(), "startDate": now_ms(), "endDate": now_ms(),
                    "createdBy": "xss-analyst",
                })),
            },
        )
        .await
        .unwrap();
    store
        .put(
            REPORT_KIND,
            NewDocument {
                id: Some(job.id.clone()),
                parent: None,
                body: object(json!({
                    "jobId": job.id,
                    "summary": {"taxonomies": [
                        {"level": "malicious", "namespace": SCRIPT, "predicate": IMG, "value": JS_LINK},
                        {"level": "<b>", "namespace": "N", "predicate": "P", "value": MD_LINK},
                    ]},
                    "full": {
                        "html": format!("{SCRIPT}{IMG}"),
                        "link": JS_LINK,
                        "markdown": MD_LINK,
                        SCRIPT: [IMG, {"nested": JS_LINK}],
                    },
                })),
            },
        )
        .await
        .unwrap();
    store
        .put(
            ARTIFACT_KIND,
            NewDocument {
                id: None,
                parent: None,
                body: object(json!({
                    "jobId": job.id, "position": 0, "organization": "xss",
                    "dataType": "url", "data": JS_LINK, "message": MD_LINK, "tags": [SCRIPT],
                })),
            },
        )
        .await
        .unwrap();
    let failed = store
        .put(
            JOB_KIND,
            NewDocument {
                id: None,
                parent: None,
                body: object(json!({
                    "organization": "xss", "status": "Failure", "type": "analyzer",
                    "dataType": "url", "data": JS_LINK, "tlp": 2, "pap": 2,
                    "workerId": "w", "workerName": "Evil_1_0", "workerDefinitionId": "Evil_1_0",
                    "errorMessage": format!("worker failed: {SCRIPT}{IMG}"),
                    "createdAt": now_ms(), "createdBy": "xss-analyst",
                })),
            },
        )
        .await
        .unwrap();
    run_in_browser(
        "engine_xss.mjs",
        base,
        vec![
            ("SKEP_UI_LOGIN".to_owned(), "xss-analyst".to_owned()),
            ("SKEP_UI_PASSWORD".to_owned(), "xss-password".to_owned()),
            ("SKEP_UI_JOB".to_owned(), job.id.clone()),
            ("SKEP_UI_FAILED_JOB".to_owned(), failed.id.clone()),
        ],
    )
    .await;
}

/// The public Cortex-Analyzers catalog (definitions only), shipped with the shared test data.
const CORTEX_CATALOG: &str = "/work/shared/data/cortex-analyzers-catalog";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_catalog_pages_search_the_real_catalog() {
    if !browser::require("the_catalog_pages_search_the_real_catalog") {
        return;
    }
    let catalog = std::path::Path::new(CORTEX_CATALOG);
    assert!(
        catalog.is_dir(),
        "the Cortex-Analyzers catalog is missing at {CORTEX_CATALOG}"
    );
    let (application, base, _data_dir) = start(|config| {
        config.workers.analyzer_paths = vec![catalog.join("analyzers")];
        config.workers.responder_paths = vec![catalog.join("responders")];
    })
    .await;
    let state = application.state();
    tokio::spawn(application.run_until_stopped());
    let store = &*state.store;
    skep_engine::api::maintenance::migrate_store(&state)
        .await
        .unwrap();
    let init = Identity::init();
    organization::create(
        store,
        &init,
        OrganizationDraft {
            name: OrgId::new("soc"),
            description: "SOC".to_owned(),
            status: OrgStatus::Active,
        },
    )
    .await
    .unwrap();
    user::create(
        store,
        &init,
        UserDraft {
            login: "soc-admin".to_owned(),
            name: "SOC admin".to_owned(),
            roles: vec![Role::Read, Role::Analyze, Role::OrgAdmin],
            organization: Some(OrgId::new("soc")),
            password: Some("soc-admin-password".to_owned()),
            status: UserStatus::Ok,
            avatar: None,
        },
    )
    .await
    .unwrap();
    run_in_browser(
        "engine_catalog.mjs",
        base,
        vec![
            ("SKEP_UI_LOGIN".to_owned(), "soc-admin".to_owned()),
            (
                "SKEP_UI_PASSWORD".to_owned(),
                "soc-admin-password".to_owned(),
            ),
        ],
    )
    .await;
}

/// The value of `name="_csrf"` in a page.
fn csrf_of(html: &str) -> String {
    let marker = "name=\"_csrf\" value=\"";
    let start = html.find(marker).unwrap() + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

#[tokio::test]
async fn a_form_without_its_csrf_token_changes_nothing() {
    let (application, base, _data_dir) = start(|config| {
        config.bootstrap.admin_login = "admin".to_owned();
        config.bootstrap.admin_password = skep_config::Secret::new("admin-password");
    })
    .await;
    let state = application.state();
    tokio::spawn(application.run_until_stopped());
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let login_page = client.get(format!("{base}/login")).send().await.unwrap();
    let csp = login_page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    let html = login_page.text().await.unwrap();
    let refused = client
        .post(format!("{base}/login"))
        .form(&[
            ("user", "admin"),
            ("password", "admin-password"),
            ("_csrf", "forged"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        refused.status().as_u16(),
        403,
        "a login without its token is refused"
    );
    let login = client
        .post(format!("{base}/login"))
        .form(&[
            ("user", "admin"),
            ("password", "admin-password"),
            ("_csrf", &csrf_of(&html)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status().as_u16(), 303);
    let page = client
        .get(format!("{base}/organizations"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let html = page.text().await.unwrap();

    for token in ["", "0123", &"f".repeat(64)] {
        let response = client
            .post(format!("{base}/organizations"))
            .form(&[("name", "forged"), ("description", "x"), ("_csrf", token)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 403, "token {token:?}");
    }
    assert!(
        organization::find(&*state.store, &OrgId::new("forged"))
            .await
            .unwrap()
            .is_none(),
        "no organisation was created by a forged form"
    );
    let created = client
        .post(format!("{base}/organizations"))
        .form(&[
            ("name", "real"),
            ("description", "x"),
            ("_csrf", &csrf_of(&html)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 303);
    assert_eq!(created.headers()["location"], "/organizations/real");
    assert!(
        organization::find(&*state.store, &OrgId::new("real"))
            .await
            .unwrap()
            .is_some()
    );

    // The stylesheet is served under its hashed name with a long cache, nothing else is.
    let stylesheet = skep_web::assets::stylesheet();
    assert!(html.contains(stylesheet), "the page links {stylesheet}");
    let asset = client
        .get(format!("{base}{stylesheet}"))
        .send()
        .await
        .unwrap();
    assert_eq!(asset.status().as_u16(), 200);
    assert_eq!(
        asset.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    let stale = client
        .get(format!("{base}/assets/skep.000000000000.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status().as_u16(), 404);
}
