//! First run ("Update Database", then the first administrator), login, logout and the user's
//! own settings (password, API key). Sessions and cookies are the API's ([`crate::auth`]).

use actix_web::cookie::Cookie;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde_json::json;
use skep_web::Layout;
use skep_web::flash::Flash;

use super::form::Form;
use super::{UiError, UiResult, Viewer, local_path, verify_csrf};
use crate::auth;
use crate::domain::{migration, user};
use crate::state::CasesState;

/// Registers the routes of this module.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(home))
        .route("/first-run", web::get().to(first_run))
        .route("/first-run/migrate", web::post().to(migrate))
        .route("/first-run/admin", web::post().to(create_admin))
        .route("/login", web::get().to(login_page))
        .route("/login", web::post().to(login))
        .route("/logout", web::post().to(logout))
        .route("/settings", web::get().to(settings))
        .route("/settings/password", web::post().to(change_password))
        .route("/settings/key", web::post().to(own_key));
}

/// A page of a visitor who is not signed in: no navigation, the binding cookie set.
fn anonymous_page(
    request: &HttpRequest,
    title: &str,
    body: &impl Template,
    new_binding: Option<Cookie<'static>>,
) -> UiResult {
    let layout = Layout {
        product: super::PRODUCT.to_owned(),
        title: title.to_owned(),
        nav: Vec::new(),
        user: None,
    };
    let mut response = skep_web::response::page(request, &layout, &body.render()?);
    if let Some(cookie) = new_binding {
        let _ = response.add_cookie(&cookie);
    }
    Ok(response)
}

/// `GET /`: the case list (TheHive's home), through the first run or the login when needed.
async fn home(_viewer: Viewer) -> HttpResponse {
    skep_web::response::redirect("/cases")
}

#[derive(Template)]
#[template(path = "first_run.html")]
struct FirstRunPage {
    csrf: String,
    migrated: bool,
}

/// `GET /first-run`: "Update Database" before the database exists, then the first
/// administrator's form; the login once a user exists.
async fn first_run(state: web::Data<CasesState>, request: HttpRequest) -> UiResult {
    let migrated = state.is_migrated();
    if migrated && auth::has_users(&state).await? {
        return Err(UiError::Redirect("/login".into()));
    }
    let (binding, new_binding) = super::binding(&state, &request);
    let page = FirstRunPage {
        csrf: super::token(&state, &binding),
        migrated,
    };
    let title = if migrated {
        "Create the administrator"
    } else {
        "Update Database"
    };
    anonymous_page(&request, title, &page, new_binding)
}

/// `POST /first-run/migrate`: initialises the database (idempotent).
async fn migrate(state: web::Data<CasesState>, request: HttpRequest, form: Form) -> UiResult {
    verify_csrf(&state, &request, &form)?;
    migration::migrate(&state).await?;
    super::done("/first-run", "The database is ready.")
}

/// `POST /first-run/admin`: the first user, with every role; only while no user exists.
async fn create_admin(state: web::Data<CasesState>, request: HttpRequest, form: Form) -> UiResult {
    verify_csrf(&state, &request, &form)?;
    if !state.is_migrated() {
        return Err(UiError::Redirect("/first-run".into()));
    }
    if auth::has_users(&state).await? {
        return Err(crate::auth::insufficient_rights().into());
    }
    let password = form.raw("password");
    if password.is_empty() || password != form.raw("password_again") {
        return super::failed(
            "/first-run",
            &skep_http::ApiError::bad_request("The two passwords differ or are empty."),
        );
    }
    let input = json!({
        "login": form.text("login"),
        "name": form.optional("name").unwrap_or_else(|| form.text("login")),
        "roles": ["read", "write", "admin", "alert"],
        "password": password,
    });
    let input = input.as_object().cloned().unwrap_or_default();
    match user::create(&*state.store, &state.keys, auth::INIT_LOGIN, input).await {
        Ok(_) => {
            state.mark_has_users();
            state.identities.clear();
            super::done("/login", "Administrator created: log in.")
        }
        Err(error) => super::failed("/first-run", &error),
    }
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    csrf: String,
    next: String,
}

/// `GET /login`.
async fn login_page(state: web::Data<CasesState>, request: HttpRequest) -> UiResult {
    if !state.is_migrated() || !auth::has_users(&state).await? {
        return Err(UiError::Redirect("/first-run".into()));
    }
    let (binding, new_binding) = super::binding(&state, &request);
    let next = web::Query::<Vec<(String, String)>>::from_query(request.query_string())
        .ok()
        .and_then(|query| {
            query
                .iter()
                .find(|(name, _)| name == "next")
                .map(|(_, value)| value.clone())
        })
        .unwrap_or_default();
    let page = LoginPage {
        csrf: super::token(&state, &binding),
        next: local_path(&next, "/cases"),
    };
    anonymous_page(&request, "Log in", &page, new_binding)
}

/// `POST /login`: the API's checks (login limiter, locked accounts), then its session cookie.
async fn login(state: web::Data<CasesState>, request: HttpRequest, form: Form) -> UiResult {
    verify_csrf(&state, &request, &form)?;
    let login = user::normalise_login(&form.text("user"));
    let next = local_path(&form.text("next"), "/cases");
    let back = format!("/login?next={}", urlencoding::encode(&next));
    let source = skep_http::request::client_address(&request);
    if state.login_limiter.check(&login, &source).is_err() {
        return super::failed(
            &back,
            &skep_http::ApiError::too_many_requests("Too many failed logins: retry later."),
        );
    }
    let found = user::find(&*state.store, &login).await?;
    let verified = match &found {
        Some(found) => user::password_matches(found, form.raw("password")).await,
        None => false,
    };
    let Some(found) = found.filter(|_| verified) else {
        state.login_limiter.record_failure(&login, &source);
        return Ok(skep_web::response::redirect_with_flash(
            &back,
            &Flash::error("Wrong login or password."),
        ));
    };
    if found.status == user::UserStatus::Locked {
        return super::failed(
            &back,
            &skep_http::ApiError::forbidden("Your account is locked."),
        );
    }
    state.login_limiter.record_success(&login, &source);
    let mut response = skep_web::response::redirect(&next);
    response
        .add_cookie(&auth::session_cookie(&state, &found.login)?)
        .map_err(|error| skep_http::ApiError::internal(&error))?;
    // Keep the browser's CSRF binding: its open forms stay valid.
    if skep_web::csrf::binding(&request, auth::XSRF_COOKIE).is_none() {
        let _ = response.add_cookie(&auth::xsrf_cookie(state.config.http.secure_cookies));
    }
    Ok(response)
}

/// `POST /logout`: the session cookie cleared, back to the login page.
async fn logout(state: web::Data<CasesState>, request: HttpRequest, form: Form) -> UiResult {
    verify_csrf(&state, &request, &form)?;
    let mut expired = Cookie::build(auth::SESSION_COOKIE, "")
        .path("/")
        .secure(state.config.http.secure_cookies)
        .finish();
    expired.make_removal();
    let mut response =
        skep_web::response::redirect_with_flash("/login", &Flash::info("You are logged out."));
    let _ = response.add_cookie(&expired);
    Ok(response)
}

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage<'a> {
    viewer: &'a Viewer,
    has_key: bool,
    key: Option<String>,
}

/// `GET /settings`: own password and API key.
async fn settings(state: web::Data<CasesState>, request: HttpRequest, viewer: Viewer) -> UiResult {
    let found = user::get(&*state.store, &viewer.login).await?;
    let page = SettingsPage {
        viewer: &viewer,
        has_key: found.document.body.contains_key("keySealed"),
        key: None,
    };
    viewer.page(&request, "Settings", &page)
}

/// `POST /settings/password`: the current password, then the new one twice.
async fn change_password(
    state: web::Data<CasesState>,
    request: HttpRequest,
    viewer: Viewer,
    form: Form,
) -> UiResult {
    verify_csrf(&state, &request, &form)?;
    let password = form.raw("password");
    if password.is_empty() || password != form.raw("password_again") {
        return super::failed(
            "/settings",
            &skep_http::ApiError::bad_request("The two new passwords differ or are empty."),
        );
    }
    let result = user::change_password(
        &*state.store,
        &viewer.login,
        &viewer.login,
        form.raw("current"),
        password,
    )
    .await;
    super::outcome("/settings", result, "Password changed.")
}

/// `POST /settings/key` (`action` = `reveal` or `renew`): shows the user's own API key.
async fn own_key(
    state: web::Data<CasesState>,
    request: HttpRequest,
    viewer: Viewer,
    form: Form,
) -> UiResult {
    verify_csrf(&state, &request, &form)?;
    let key = if form.text("action") == "renew" {
        let key = user::renew_key(
            &*state.store,
            &state.keys,
            &viewer.login,
            &viewer.login,
            None,
        )
        .await;
        state.identities.clear();
        key
    } else {
        user::key(&*state.store, &state.keys, &viewer.login).await
    };
    let key = match key {
        Ok(key) => key,
        Err(error) => return super::failed("/settings", &error),
    };
    let page = SettingsPage {
        viewer: &viewer,
        has_key: true,
        key: Some(key),
    };
    viewer.page(&request, "Settings", &page)
}
