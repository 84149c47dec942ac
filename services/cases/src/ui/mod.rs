//! The cases service's web UI at `/`: server-rendered pages (askama templates in
//! `templates/`, wrapped by the shared shell of [`skep_web`]) over the same domain functions
//! as the TheHive API, so a click and an API call change the store the same way and land in the
//! same activity stream.
//!
//! Templates live in `services/cases/templates/`. What it owns: page routes ([`configure`]), the page caller ([`Viewer`]: the API's session
//! cookie, redirects instead of JSON errors), form reading with CSRF ([`form`]), and the view
//! models of each page. What it does not own: sessions, roles and cookies (they are
//! [`crate::auth`]'s), and every rule about cases, alerts and users (they are
//! [`crate::domain`]'s). Forms work without JavaScript (POST, then a 303 redirect); the one
//! page script (`assets/cases.js`) only adds the live activity feed, select-all boxes and
//! in-place editing.

mod activity;
mod admin;
mod alerts;
mod case_page;
mod cases;
mod charts;
mod dashboard;
pub mod form;
mod session;
mod view;

use actix_web::cookie::Cookie;
use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError, web};
use askama::Template;
use futures_util::future::LocalBoxFuture;
use skep_http::ApiError;
use skep_web::flash::Flash;
use skep_web::{Layout, NavLink, UserMenu};

use crate::auth::{AuthMethod, Caller, XSRF_COOKIE};
use crate::roles::{Authenticated, Role, RoleSet};
use crate::state::CasesState;

/// The product name in the header.
const PRODUCT: &str = "Skep cases";

/// Registers every page route (before the API's, which all live under `/api`).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.configure(skep_web::assets::configure)
        .route(view::SCRIPT_ROUTE, web::get().to(view::script));
    session::configure(cfg);
    cases::configure(cfg);
    case_page::configure(cfg);
    alerts::configure(cfg);
    activity::configure(cfg);
    dashboard::configure(cfg);
    admin::configure(cfg);
}

/// The CSRF token maker of this service's forms. Its key is derived from the server secret
/// through the API-key sealer (a keyed MAC of a fixed label), so the state needs no new field.
fn csrf(state: &CasesState) -> skep_web::csrf::Csrf {
    skep_web::csrf::Csrf::new(state.keys.fingerprint("skep-cases-ui csrf").as_bytes())
}

/// The browser's CSRF binding (the API's `THE-HIVE-XSRF-TOKEN` cookie), and the cookie to set
/// when it had none.
fn binding(state: &CasesState, request: &HttpRequest) -> (String, Option<Cookie<'static>>) {
    skep_web::csrf::binding_or_new(request, XSRF_COOKIE, state.config.http.secure_cookies)
}

/// The token for the forms of a page shown to this browser.
fn token(state: &CasesState, binding: &str) -> String {
    csrf(state).token(binding)
}

/// Refuses a form whose `_csrf` does not match the browser's binding cookie.
fn verify_csrf(
    state: &CasesState,
    request: &HttpRequest,
    form: &form::Form,
) -> Result<(), UiError> {
    let binding = skep_web::csrf::binding(request, XSRF_COOKIE).unwrap_or_default();
    let sent = form.text(skep_web::csrf::FIELD);
    if csrf(state).verify(&binding, &sent) {
        Ok(())
    } else {
        Err(UiError::Api(ApiError::forbidden(
            "The form expired or came from another site: reload the page and try again.",
        )))
    }
}

/// What a page handler returns.
pub type UiResult = Result<HttpResponse, UiError>;

/// Why a page is not shown: a redirect (to the first run or the login page) or an error shown
/// as a small page with its HTTP status.
#[derive(Debug)]
pub enum UiError {
    /// `303 See Other` to this path.
    Redirect(String),
    /// An error of the domain or of the request.
    Api(ApiError),
}

impl From<ApiError> for UiError {
    fn from(error: ApiError) -> Self {
        UiError::Api(error)
    }
}

impl From<skep_store::StoreError> for UiError {
    fn from(error: skep_store::StoreError) -> Self {
        UiError::Api(error.into())
    }
}

impl From<askama::Error> for UiError {
    fn from(error: askama::Error) -> Self {
        UiError::Api(ApiError::internal(&error))
    }
}

impl std::fmt::Display for UiError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UiError::Redirect(location) => write!(formatter, "redirect to {location}"),
            UiError::Api(error) => error.fmt(formatter),
        }
    }
}

/// The text of an error for a person (the API's message).
pub fn message(error: &ApiError) -> String {
    error
        .body()
        .map(|body| body.message.clone())
        .unwrap_or_else(|| error.to_string())
}

impl ResponseError for UiError {
    fn status_code(&self) -> StatusCode {
        match self {
            UiError::Redirect(_) => StatusCode::SEE_OTHER,
            UiError::Api(error) => error.status(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            UiError::Redirect(location) => skep_web::response::redirect(location),
            UiError::Api(error) => {
                let layout = Layout {
                    product: PRODUCT.to_owned(),
                    title: format!("Error {}", error.status().as_u16()),
                    nav: Vec::new(),
                    user: None,
                };
                let mut body = String::from("<p class=\"error\">");
                skep_web::escape(&mut body, &message(error));
                body.push_str("</p><p><a href=\"/cases\">Back to the cases</a></p>");
                let mut builder = HttpResponse::build(error.status());
                skep_web::response::secure(&mut builder)
                    .content_type("text/html; charset=utf-8")
                    .body(layout.render(None, &body))
            }
        }
    }
}

/// The signed-in user of a page. Extraction reuses the API's [`Caller`] (session cookie, API
/// key, Basic) and turns its refusals into redirects: to the first run before the database is
/// initialised or while no user exists, to the login page without a session.
#[derive(Debug)]
pub struct Viewer {
    /// Login.
    pub login: String,
    /// Display name.
    pub name: String,
    /// Roles held.
    pub roles: RoleSet,
    /// The CSRF token of this page's forms.
    pub csrf: String,
    /// The binding cookie to set when the browser had none.
    new_binding: Option<Cookie<'static>>,
    /// The requested path (which navigation link is active).
    path: String,
}

impl FromRequest for Viewer {
    type Error = UiError;
    type Future = LocalBoxFuture<'static, Result<Self, UiError>>;

    fn from_request(request: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let request = request.clone();
        Box::pin(async move {
            let state = request
                .app_data::<web::Data<CasesState>>()
                .cloned()
                .ok_or_else(|| ApiError::internal(&"cases state missing from app data"))?;
            if !state.is_migrated() {
                return Err(UiError::Redirect("/first-run".into()));
            }
            let caller = match Caller::<Authenticated>::extract(&request).await {
                Ok(caller) => caller,
                Err(error) if error.status() == StatusCode::UNAUTHORIZED => {
                    let next = urlencoding::encode(request.path()).into_owned();
                    return Err(UiError::Redirect(format!("/login?next={next}")));
                }
                Err(error) => return Err(error.into()),
            };
            if caller.method == AuthMethod::Init {
                return Err(UiError::Redirect("/first-run".into()));
            }
            let (binding, new_binding) = binding(&state, &request);
            Ok(Viewer {
                csrf: token(&state, &binding),
                login: caller.login,
                name: caller.name,
                roles: caller.roles,
                new_binding,
                path: request.path().to_owned(),
            })
        })
    }
}

impl Viewer {
    /// True when the user may change cases, tasks, observables and alerts.
    pub fn can_write(&self) -> bool {
        self.roles.contains(Role::Write)
    }

    /// True for administrators.
    pub fn is_admin(&self) -> bool {
        self.roles.contains(Role::Admin)
    }

    /// 403 unless the user holds `write`.
    pub fn require_write(&self) -> Result<(), UiError> {
        if self.can_write() {
            Ok(())
        } else {
            Err(crate::auth::insufficient_rights().into())
        }
    }

    /// 403 unless the user holds `admin`.
    pub fn require_admin(&self) -> Result<(), UiError> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(crate::auth::insufficient_rights().into())
        }
    }

    /// The shell of this user's pages.
    pub fn layout(&self, title: &str) -> Layout {
        let mut nav = vec![
            NavLink::new("/cases", "Cases", &self.path),
            NavLink::new("/alerts", "Alerts", &self.path),
            NavLink::new("/activity", "Activity", &self.path),
            NavLink::new("/dashboard", "Dashboard", &self.path),
        ];
        if self.is_admin() {
            nav.push(NavLink::new("/admin", "Admin", &self.path));
        }
        nav.push(NavLink::new("/about", "About", &self.path));
        Layout {
            product: PRODUCT.to_owned(),
            title: title.to_owned(),
            nav,
            user: Some(UserMenu {
                name: self.name.clone(),
                detail: self.roles.names().join(", "),
                settings_href: "/settings".into(),
                logout_action: "/logout".into(),
                csrf: self.csrf.clone(),
            }),
        }
    }

    /// The full page of `body` titled `title`.
    pub fn page(&self, request: &HttpRequest, title: &str, body: &impl Template) -> UiResult {
        let body = body.render()?;
        let mut response = skep_web::response::page(request, &self.layout(title), &body);
        if let Some(cookie) = &self.new_binding {
            let _ = response.add_cookie(cookie);
        }
        Ok(response)
    }
}

/// `303` to `location` with a success message.
pub fn done(location: &str, text: impl Into<String>) -> UiResult {
    Ok(skep_web::response::redirect_with_flash(
        location,
        &Flash::success(text),
    ))
}

/// `303` back to `location` with the error's message (a refused form keeps the page).
pub fn failed(location: &str, error: &ApiError) -> UiResult {
    Ok(skep_web::response::redirect_with_flash(
        location,
        &Flash::error(message(error)),
    ))
}

/// `303` to `location` with `Ok` → success text, `Err` → the error's message.
pub fn outcome<T>(location: &str, result: Result<T, ApiError>, success: &str) -> UiResult {
    match result {
        Ok(_) => done(location, success),
        Err(error) if error.status().is_server_error() => Err(error.into()),
        Err(error) => failed(location, &error),
    }
}

/// A same-site path from a `next` parameter, else `fallback` (no open redirects).
pub fn local_path(next: &str, fallback: &str) -> String {
    if next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') {
        next.to_owned()
    } else {
        fallback.to_owned()
    }
}

/// `Location` of a response (tests of handlers).
#[cfg(test)]
fn location(response: &HttpResponse) -> Option<&str> {
    response
        .headers()
        .get(actix_web::http::header::LOCATION)
        .and_then(|value| value.to_str().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_parameters_stay_on_this_site() {
        assert_eq!(local_path("/cases/x", "/"), "/cases/x");
        assert_eq!(local_path("//evil.example", "/"), "/");
        assert_eq!(local_path("https://evil.example", "/"), "/");
        assert_eq!(local_path("/\\evil.example", "/"), "/");
    }

    #[test]
    fn redirects_answer_see_other() {
        let response = UiError::Redirect("/login".into()).error_response();
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&response), Some("/login"));
    }
}
