//! The service kernel's behaviour, run against both services: every rule the cases service and
//! the engine once implemented differently is asserted here for each of them.
// A failed request or start is a failed test.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use skep_config::{HttpConfig, Secret};
use skep_service::FirstAdmin;

/// The two services.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Service {
    Cases,
    Engine,
}

const BOTH: [Service; 2] = [Service::Cases, Service::Engine];

/// What a test may set, applied to either service's configuration.
#[derive(Default, Clone)]
struct Settings {
    admin_login: Option<String>,
    admin_password: Option<String>,
    secret: Option<String>,
    basic_auth: bool,
    login_max_failures: Option<u32>,
    host: Option<String>,
    session_ttl_minutes: Option<u64>,
}

struct Running {
    address: String,
    first_admin: Option<FirstAdmin>,
}

impl Service {
    fn name(self) -> &'static str {
        match self {
            Service::Cases => "cases",
            Service::Engine => "engine",
        }
    }

    fn session_cookie(self) -> &'static str {
        match self {
            Service::Cases => "THE_HIVE_SESSION",
            Service::Engine => "CORTEX_SESSION",
        }
    }

    /// The roles of a first administrator in this service.
    fn admin_roles(self) -> serde_json::Value {
        match self {
            Service::Cases => json!(["read", "write", "admin"]),
            Service::Engine => json!(["superadmin"]),
        }
    }

    async fn start(self, data_dir: &Path, settings: Settings) -> anyhow::Result<Running> {
        let adjust_http = |http: &mut HttpConfig| {
            http.host = settings.host.clone().unwrap_or_else(|| "127.0.0.1".into());
            http.port = 0;
            http.basic_auth = settings.basic_auth;
            if let Some(secret) = &settings.secret {
                http.secret = Secret::new(secret.clone());
            }
        };
        let adjust_auth = |auth: &mut skep_config::AuthConfig| {
            if let Some(failures) = settings.login_max_failures {
                auth.login_max_failures = failures;
            }
            if let Some(minutes) = settings.session_ttl_minutes {
                auth.session_ttl_minutes = minutes;
            }
        };
        let password = settings.admin_password.clone().map(Secret::new);
        let (port, first_admin) = match self {
            Service::Cases => {
                let mut config = skep_cases::CasesConfig {
                    data_dir: data_dir.to_path_buf(),
                    ..Default::default()
                };
                adjust_http(&mut config.http);
                adjust_auth(&mut config.auth);
                config.bootstrap.admin_login = settings.admin_login.clone();
                config.bootstrap.admin_password = password;
                let application = skep_cases::Application::build(config).await?;
                let started = (application.port(), application.first_admin().cloned());
                tokio::spawn(application.run_until_stopped());
                started
            }
            Service::Engine => {
                let mut config = skep_engine::EngineConfig {
                    data_dir: data_dir.to_path_buf(),
                    ..Default::default()
                };
                adjust_http(&mut config.http);
                adjust_auth(&mut config.auth);
                config.bootstrap.admin_login = settings.admin_login.clone();
                config.bootstrap.admin_password = password;
                let application = skep_engine::Application::build(config).await?;
                let started = (application.port(), application.first_admin().cloned());
                tokio::spawn(application.run_until_stopped());
                started
            }
        };
        Ok(Running {
            address: format!("http://127.0.0.1:{port}"),
            first_admin,
        })
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

fn admin(login: &str, password: &str) -> Settings {
    Settings {
        admin_login: Some(login.into()),
        admin_password: Some(password.into()),
        ..Settings::default()
    }
}

fn set_cookie_names(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .filter_map(|value| value.split('=').next())
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn a_secret_file_that_cannot_be_read_stops_both_services_and_is_left_alone() {
    for service in BOTH {
        let data_dir = tempfile::tempdir().unwrap();
        // A directory where the secret file should be: reading it fails, but not as "missing".
        let secret_path = data_dir.path().join(format!("{}.secret", service.name()));
        std::fs::create_dir(&secret_path).unwrap();
        let empty_dir = tempfile::tempdir().unwrap();
        let empty_path = empty_dir.path().join(format!("{}.secret", service.name()));
        std::fs::write(&empty_path, "").unwrap();

        let unreadable = service.start(data_dir.path(), Settings::default()).await;
        let empty = service.start(empty_dir.path(), Settings::default()).await;

        let error = format!("{:#}", unreadable.err().expect("the start fails"));
        assert!(error.contains("server secret"), "{service:?}: {error}");
        assert!(secret_path.is_dir(), "{service:?}");
        assert!(
            empty.is_err(),
            "{service:?}: an empty secret file stops the start"
        );
        assert_eq!(
            std::fs::read_to_string(&empty_path).unwrap(),
            "",
            "{service:?}"
        );
    }
}

#[tokio::test]
async fn both_services_create_a_private_secret_file_on_first_start() {
    use std::os::unix::fs::PermissionsExt;
    for service in BOTH {
        let data_dir = tempfile::tempdir().unwrap();

        service
            .start(data_dir.path(), Settings::default())
            .await
            .unwrap();

        let path = data_dir.path().join(format!("{}.secret", service.name()));
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{service:?}");
    }
}

#[tokio::test]
async fn both_services_report_the_first_admin_to_main_the_same_way() {
    for service in BOTH {
        let data_dir = tempfile::tempdir().unwrap();
        let generated = Settings {
            admin_login: Some("root".into()),
            ..Settings::default()
        };

        let first = service
            .start(data_dir.path(), generated.clone())
            .await
            .unwrap();
        let again = service.start(data_dir.path(), generated).await.unwrap();
        let none = service
            .start(tempfile::tempdir().unwrap().path(), Settings::default())
            .await
            .unwrap();
        let given = service
            .start(
                tempfile::tempdir().unwrap().path(),
                admin("root", "given-password"),
            )
            .await
            .unwrap();

        let first = first.first_admin.expect("the first admin is reported");
        assert_eq!(first.login, "root", "{service:?}");
        let password = first.generated_password.expect("a generated password");
        assert_eq!(password.len(), 20, "{service:?}");
        assert!(again.first_admin.is_none(), "{service:?}: reported once");
        assert!(none.first_admin.is_none(), "{service:?}");
        let given = given.first_admin.expect("the configured admin is reported");
        assert_eq!(given.generated_password, None, "{service:?}");
    }
}

#[tokio::test]
async fn concurrent_init_requests_create_exactly_one_first_user_in_both_services() {
    for service in BOTH {
        let data_dir = tempfile::tempdir().unwrap();
        let running = service
            .start(data_dir.path(), Settings::default())
            .await
            .unwrap();
        let client = client();
        let migrated = client
            .post(format!("{}/api/maintenance/migrate", running.address))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert!(migrated.status().is_success(), "{service:?}");

        let attempts = (0..6).map(|index| {
            client
                .post(format!("{}/api/user", running.address))
                .json(&json!({"login": format!("first{index}"), "name": "First",
                    "roles": service.admin_roles(), "password": "first-password"}))
                .send()
        });
        let statuses: Vec<StatusCode> = futures_util::future::join_all(attempts)
            .await
            .into_iter()
            .map(|response| response.unwrap().status())
            .collect();

        let created = statuses.iter().filter(|status| status.is_success()).count();
        assert_eq!(created, 1, "{service:?}: {statuses:?}");
        assert!(
            statuses
                .iter()
                .all(|status| status.is_success() || *status == StatusCode::UNAUTHORIZED),
            "{service:?}: {statuses:?}"
        );
    }
}

#[tokio::test]
async fn basic_authentication_goes_through_the_login_limiter_in_both_services() {
    for service in BOTH {
        let data_dir = tempfile::tempdir().unwrap();
        let settings = Settings {
            basic_auth: true,
            login_max_failures: Some(2),
            ..admin("admin", "admin-password")
        };
        let running = service.start(data_dir.path(), settings).await.unwrap();
        let client = client();
        let current = |password: &'static str| {
            client
                .get(format!("{}/api/user/current", running.address))
                .basic_auth("admin", Some(password))
                .send()
        };

        let right = current("admin-password").await.unwrap().status();
        let first_wrong = current("wrong").await.unwrap().status();
        let second_wrong = current("wrong").await.unwrap().status();
        let right_after = current("admin-password").await.unwrap().status();

        assert_eq!(right, StatusCode::OK, "{service:?}");
        assert_eq!(first_wrong, StatusCode::UNAUTHORIZED, "{service:?}");
        assert_eq!(second_wrong, StatusCode::UNAUTHORIZED, "{service:?}");
        assert_eq!(right_after, StatusCode::TOO_MANY_REQUESTS, "{service:?}");
    }
}

#[tokio::test]
async fn over_long_logins_are_refused_like_wrong_passwords_in_both_services() {
    for service in BOTH {
        let data_dir = tempfile::tempdir().unwrap();
        let running = service
            .start(data_dir.path(), admin("admin", "admin-password"))
            .await
            .unwrap();
        let long_login = "a".repeat(129);

        let response = client()
            .post(format!("{}/api/login", running.address))
            .json(&json!({"user": long_login, "password": "x"}))
            .send()
            .await
            .unwrap();

        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{service:?}");
    }
}

#[tokio::test]
async fn a_large_login_body_is_refused_before_it_is_read_in_both_services() {
    for service in BOTH {
        let data_dir = tempfile::tempdir().unwrap();
        let running = service
            .start(data_dir.path(), admin("admin", "admin-password"))
            .await
            .unwrap();
        let padding = "x".repeat(64 * 1024);

        let response = client()
            .post(format!("{}/api/login", running.address))
            .json(&json!({"user": "admin", "password": "admin-password", "padding": padding}))
            .send()
            .await
            .unwrap();

        assert_eq!(
            response.status(),
            StatusCode::PAYLOAD_TOO_LARGE,
            "{service:?}"
        );
    }
}

#[tokio::test]
async fn a_session_is_renewed_only_past_half_its_lifetime_in_both_services() {
    for service in BOTH {
        let data_dir = tempfile::tempdir().unwrap();
        let settings = Settings {
            secret: Some("secret shared by the test".into()),
            ..admin("admin", "admin-password")
        };
        let running = service.start(data_dir.path(), settings).await.unwrap();
        let client = client();
        let login = client
            .post(format!("{}/api/login", running.address))
            .json(&json!({"user": "admin", "password": "admin-password"}))
            .send()
            .await
            .unwrap();
        assert_eq!(login.status(), StatusCode::OK, "{service:?}");
        let fresh = login
            .cookies()
            .find(|cookie| cookie.name() == service.session_cookie())
            .unwrap()
            .value()
            .to_owned();
        // 10 minutes left of a 60-minute session: past half its lifetime.
        let old =
            skep_auth::session::SessionSigner::new(b"secret shared by the test", service.name())
                .issue("admin", 0, Duration::from_secs(600))
                .unwrap();
        let current = |token: String| {
            client
                .get(format!("{}/api/user/current", running.address))
                .header("Cookie", format!("{}={token}", service.session_cookie()))
                .send()
        };

        let with_fresh = current(fresh).await.unwrap();
        let with_old = current(old).await.unwrap();

        assert_eq!(with_fresh.status(), StatusCode::OK, "{service:?}");
        assert_eq!(
            set_cookie_names(&with_fresh),
            Vec::<String>::new(),
            "{service:?}"
        );
        assert_eq!(with_old.status(), StatusCode::OK, "{service:?}");
        assert_eq!(
            set_cookie_names(&with_old),
            vec![service.session_cookie().to_owned()],
            "{service:?}"
        );
    }
}

#[tokio::test]
async fn changing_a_password_ends_the_users_sessions_in_both_services() {
    for service in BOTH {
        let data_dir = tempfile::tempdir().unwrap();
        let running = service
            .start(data_dir.path(), admin("admin", "admin-password"))
            .await
            .unwrap();
        let client = client();
        let login = |password: &'static str| {
            client
                .post(format!("{}/api/login", running.address))
                .json(&json!({"user": "admin", "password": password}))
                .send()
        };
        let first = login("admin-password").await.unwrap();
        let second = login("admin-password").await.unwrap();
        let cookies = |response: &reqwest::Response| {
            response
                .cookies()
                .map(|cookie| format!("{}={}", cookie.name(), cookie.value()))
                .collect::<Vec<_>>()
                .join("; ")
        };
        let xsrf = first
            .cookies()
            .find(|cookie| cookie.name().contains("XSRF"))
            .unwrap()
            .value()
            .to_owned();
        let xsrf_header = match service {
            Service::Cases => "X-THE-HIVE-XSRF-TOKEN",
            Service::Engine => "X-CORTEX-XSRF-TOKEN",
        };
        let current = |cookie: String| {
            client
                .get(format!("{}/api/user/current", running.address))
                .header("Cookie", cookie)
                .send()
        };
        assert_eq!(
            current(cookies(&second)).await.unwrap().status(),
            StatusCode::OK
        );

        let changed = client
            .post(format!(
                "{}/api/user/admin/password/change",
                running.address
            ))
            .header("Cookie", cookies(&first))
            .header(xsrf_header, xsrf)
            .json(&json!({"currentPassword": "admin-password", "password": "new-password"}))
            .send()
            .await
            .unwrap();
        let old_session = current(cookies(&second)).await.unwrap();
        let new_login = login("new-password").await.unwrap();
        let new_session = current(cookies(&new_login)).await.unwrap();

        assert!(
            changed.status().is_success(),
            "{service:?}: {}",
            changed.status()
        );
        assert_eq!(
            old_session.status(),
            StatusCode::UNAUTHORIZED,
            "{service:?}"
        );
        assert_eq!(new_session.status(), StatusCode::OK, "{service:?}");
    }
}

#[tokio::test]
async fn a_session_of_one_service_never_works_on_the_other_even_with_a_shared_secret() {
    let (cases_dir, engine_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let shared = Settings {
        secret: Some("one secret for both".into()),
        ..admin("admin", "admin-password")
    };
    let cases = Service::Cases
        .start(cases_dir.path(), shared.clone())
        .await
        .unwrap();
    let engine = Service::Engine
        .start(engine_dir.path(), shared)
        .await
        .unwrap();
    let client = client();
    let tokens = futures_util::future::join_all([&cases, &engine].map(|running| {
        client
            .post(format!("{}/api/login", running.address))
            .json(&json!({"user": "admin", "password": "admin-password"}))
            .send()
    }))
    .await;
    let token = |response: &reqwest::Response, name: &str| {
        response
            .cookies()
            .find(|cookie| cookie.name() == name)
            .unwrap()
            .value()
            .to_owned()
    };
    let cases_token = token(tokens[0].as_ref().unwrap(), "THE_HIVE_SESSION");
    let engine_token = token(tokens[1].as_ref().unwrap(), "CORTEX_SESSION");

    let on_engine = client
        .get(format!("{}/api/user/current", engine.address))
        .header("Cookie", format!("CORTEX_SESSION={cases_token}"))
        .send()
        .await
        .unwrap();
    let on_cases = client
        .get(format!("{}/api/user/current", cases.address))
        .header("Cookie", format!("THE_HIVE_SESSION={engine_token}"))
        .send()
        .await
        .unwrap();

    assert_eq!(on_engine.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(on_cases.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn both_services_refuse_an_invalid_configuration_before_listening() {
    for service in BOTH {
        let blank_host = Settings {
            host: Some(" ".into()),
            ..Settings::default()
        };
        let no_session = Settings {
            session_ttl_minutes: Some(0),
            ..Settings::default()
        };

        let host_error = service
            .start(tempfile::tempdir().unwrap().path(), blank_host)
            .await
            .err()
            .expect("a blank host is refused");
        let ttl_error = service
            .start(tempfile::tempdir().unwrap().path(), no_session)
            .await
            .err()
            .expect("a zero session lifetime is refused");

        assert!(
            host_error.to_string().contains("http.host"),
            "{service:?}: {host_error}"
        );
        assert!(
            ttl_error.to_string().contains("auth.session_ttl_minutes"),
            "{service:?}: {ttl_error}"
        );
    }
}
