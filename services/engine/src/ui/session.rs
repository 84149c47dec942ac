//! First run ("Update Database", then the first superadmin), login, logout, and the user's own
//! settings (password, API key).

use actix_web::cookie::Cookie;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde_json::json;
use skep_http::Fields;
use skep_http::request::client_address;
use skep_web::Layout;
use skep_web::flash::Flash;

use super::forms::UiForm;
use super::{Binding, PRODUCT, Ui, UiError, UiResult, check_csrf, done, or_back};
use crate::auth::{self, AuthMethod, SESSION_COOKIE, XSRF_COOKIE};
use crate::domain::user;
use crate::error::EngineError;
use crate::roles::Role;
use crate::state::EngineState;

#[derive(Template)]
#[template(path = "ui/first_run.html")]
struct FirstRun<'a> {
    csrf: &'a str,
    migrated: bool,
}

#[derive(Template)]
#[template(path = "ui/login.html")]
struct Login<'a> {
    csrf: &'a str,
}

#[derive(Template)]
#[template(path = "ui/account.html")]
struct Account<'a> {
    csrf: &'a str,
    login: &'a str,
    name: &'a str,
    organization: &'a str,
    roles: String,
    has_key: bool,
    key: Option<String>,
}

/// A page for a visitor who is not signed in.
fn public_page(request: &HttpRequest, binding: &Binding, title: &str, body: &str) -> HttpResponse {
    let layout = Layout {
        product: PRODUCT.to_owned(),
        title: title.to_owned(),
        nav: Vec::new(),
        user: None,
    };
    let mut response = skep_web::response::page(request, &layout, body);
    if let Some(cookie) = &binding.set {
        let _ = response.add_cookie(cookie);
    }
    response
}

/// `GET /`: the first-run steps while they are due, else the signed-in user's start page.
pub async fn home(state: web::Data<EngineState>, request: HttpRequest) -> UiResult {
    let migrated = match state.ensure_migrated().await {
        Ok(()) => true,
        Err(EngineError::NotMigrated) => false,
        Err(other) => return Err(other.into()),
    };
    if !migrated || !state.has_users().await? {
        let binding = Binding::of(&state, &request);
        let body = FirstRun {
            csrf: &binding.token,
            migrated,
        }
        .render()?;
        let title = if migrated {
            "Create the administrator"
        } else {
            "Update Database"
        };
        return Ok(public_page(&request, &binding, title, &body));
    }
    let ui = Ui::of(&state, &request).await?;
    // Administrators start where their work is (organisations, users), analysts on the jobs.
    let start = if ui.identity.is_superadmin() {
        "/organizations"
    } else if ui.identity.has(Role::OrgAdmin) {
        "/users"
    } else if ui.identity.has(Role::Read) {
        "/jobs"
    } else {
        "/account"
    };
    Ok(skep_web::response::redirect(start))
}

/// `POST /first-run/migrate`: "Update Database".
pub async fn migrate(
    state: web::Data<EngineState>,
    request: HttpRequest,
    fields: UiForm,
) -> UiResult {
    check_csrf(&state, &request, &fields)?;
    crate::api::maintenance::migrate_store(&state).await?;
    Ok(done("/", Flash::success("The database is up to date")))
}

/// `POST /first-run/admin`: creates the first superadmin while no user exists.
pub async fn first_admin(
    state: web::Data<EngineState>,
    request: HttpRequest,
    fields: UiForm,
) -> UiResult {
    check_csrf(&state, &request, &fields)?;
    state.ensure_migrated().await?;
    let password = fields.str("password").unwrap_or_default().to_owned();
    if password.is_empty() || fields.str("confirm") != Some(password.as_str()) {
        return Ok(done(
            "/",
            Flash::error("The password is empty or its confirmation differs"),
        ));
    }
    let body = json!({
        "login": fields.str("login").unwrap_or_default(),
        "name": fields.str("name").unwrap_or_default(),
        "password": password,
        "roles": ["superadmin"],
    });
    let created = async {
        let draft = crate::api::user::draft_from(Fields::from_map(
            body.as_object().cloned().unwrap_or_default(),
        ))?;
        let _only_one = state.first_user_lock.lock().await;
        if state.has_users().await? {
            return Err(EngineError::Forbidden(
                "The administrator already exists; log in".to_owned(),
            ));
        }
        let created = user::create(&*state.store, &auth::Identity::init(), draft).await?;
        state.mark_has_users();
        Ok(created)
    }
    .await
    .map_err(UiError::from);
    let created = or_back(created, "/")?;
    Ok(done(
        "/login",
        Flash::success(format!(
            "Administrator {} created; log in with its password",
            created.login
        )),
    ))
}

/// `GET /login`.
pub async fn login_page(state: web::Data<EngineState>, request: HttpRequest) -> UiResult {
    if matches!(state.ensure_migrated().await, Err(EngineError::NotMigrated))
        || !state.has_users().await?
    {
        return Ok(skep_web::response::redirect("/"));
    }
    let binding = Binding::of(&state, &request);
    let body = Login {
        csrf: &binding.token,
    }
    .render()?;
    Ok(public_page(&request, &binding, "Log in", &body))
}

/// `POST /login`: password login; sets the session cookie and a fresh CSRF binding.
pub async fn login(
    state: web::Data<EngineState>,
    request: HttpRequest,
    fields: UiForm,
) -> UiResult {
    check_csrf(&state, &request, &fields)?;
    state.ensure_migrated().await?;
    let login = fields.str("user").unwrap_or_default();
    let password = fields.str("password").unwrap_or_default();
    let checked = async {
        let found =
            auth::check_password(&state, login, password, &client_address(&request)).await?;
        auth::active_identity(&state, found.clone(), AuthMethod::Session).await?;
        Ok::<_, EngineError>(state.sessions.issue(&found.login, state.session_ttl())?)
    }
    .await;
    let token = match checked {
        Ok(token) => token,
        Err(EngineError::Unauthenticated) => {
            return Ok(done("/login", Flash::error("Wrong login or password")));
        }
        Err(EngineError::AccountLocked) => {
            return Ok(done(
                "/login",
                Flash::error("This account or its organisation is locked"),
            ));
        }
        Err(EngineError::TooManyLogins) => {
            return Ok(done(
                "/login",
                Flash::error("Too many failed logins; wait a few minutes"),
            ));
        }
        Err(other) => return Err(other.into()),
    };
    let secure = state.config.http.secure_cookies;
    let mut response = skep_web::response::redirect("/");
    let _ = response.add_cookie(&auth::session_cookie(token, secure));
    let _ = response.add_cookie(&skep_web::csrf::binding_cookie(
        XSRF_COOKIE,
        skep_web::csrf::new_binding(),
        secure,
    ));
    Ok(response)
}

/// `POST /logout`: clears the session and its CSRF binding.
pub async fn logout(
    state: web::Data<EngineState>,
    request: HttpRequest,
    fields: UiForm,
) -> UiResult {
    check_csrf(&state, &request, &fields)?;
    let mut response = done("/login", Flash::info("You are logged out"));
    for name in [SESSION_COOKIE, XSRF_COOKIE] {
        let mut cookie = Cookie::build(name, "").path("/").finish();
        cookie.make_removal();
        let _ = response.add_cookie(&cookie);
    }
    Ok(response)
}

async fn account_page(
    state: &EngineState,
    request: &HttpRequest,
    ui: &Ui,
    key: Option<String>,
) -> UiResult {
    let me = user::current(&*state.store, &ui.identity).await?;
    let roles: Vec<&str> = me.roles.iter().map(|role| role.as_str()).collect();
    let body = Account {
        csrf: ui.csrf(),
        login: &me.login,
        name: &me.name,
        organization: me.organization.as_str(),
        roles: roles.join(", "),
        has_key: me.has_key(),
        key,
    }
    .render()?;
    Ok(ui.page(request, "My settings", &body))
}

/// `GET /account`: own password and API key.
pub async fn account(state: web::Data<EngineState>, request: HttpRequest) -> UiResult {
    let ui = Ui::of(&state, &request).await?;
    account_page(&state, &request, &ui, None).await
}

/// `POST /account/password`: changes the own password (the current one is required).
pub async fn change_password(
    state: web::Data<EngineState>,
    request: HttpRequest,
    fields: UiForm,
) -> UiResult {
    let ui = Ui::posting(&state, &request, &fields).await?;
    let new = fields.str("password").unwrap_or_default();
    if new.is_empty() || fields.str("confirm") != Some(new) {
        return Ok(done(
            "/account",
            Flash::error("The new password is empty or its confirmation differs"),
        ));
    }
    let changed = user::change_password(
        &*state.store,
        &ui.identity,
        &ui.identity.login,
        fields.str("current").unwrap_or_default(),
        new,
    )
    .await
    .map_err(|error| match error {
        EngineError::Unauthenticated => UiError::Page(
            actix_web::http::StatusCode::BAD_REQUEST,
            "The current password is wrong".to_owned(),
        ),
        other => other.into(),
    });
    or_back(changed, "/account")?;
    Ok(done("/account", Flash::success("Password changed")))
}

/// `POST /account/key`: `action=reveal|renew` of the own API key; the key is shown on the page
/// answered (never put in a URL or a cookie).
pub async fn own_key(
    state: web::Data<EngineState>,
    request: HttpRequest,
    fields: UiForm,
) -> UiResult {
    let ui = Ui::posting(&state, &request, &fields).await?;
    let login = ui.identity.login.clone();
    let key = match fields.str("action") {
        Some("renew") => user::renew_key(&*state.store, &state.keys, &ui.identity, &login).await,
        _ => user::get_key(&*state.store, &state.keys, &ui.identity, &login).await,
    };
    let key = or_back(key.map_err(UiError::from), "/account")?;
    account_page(&state, &request, &ui, Some(key)).await
}
