//! The engine's web UI, served at `/` (Cortex's pages for first run, organisations, users and
//! keys, analyzer and responder configuration, analyses and reports).
//!
//! Handlers are thin: they read a form, call the same domain functions as the REST API
//! ([`crate::domain`], [`crate::jobs`]) and render an askama template (`templates/ui/`) inside
//! the shared shell of `skep-web`. Who is calling comes from the engine's own session cookie
//! ([`crate::auth::authenticate`]); only cookie sessions reach UI pages (an API key or the
//! first-run pseudo-user is sent to the login or first-run page). Every POST checks the form's
//! CSRF token, bound to the `CORTEX-XSRF-TOKEN` cookie, before anything else, and answers with a
//! 303 redirect and a flash message.

mod admin;
mod forms;
mod jobs;
mod session;
mod workers;

use actix_web::cookie::Cookie;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use forms::UiForm;
use skep_http::ApiError;
use skep_web::csrf::{self, Csrf};
use skep_web::flash::Flash;
use skep_web::{Layout, NavLink, UserMenu};

use crate::auth::{self, AuthMethod, Identity, XSRF_COOKIE};
use crate::error::EngineError;
use crate::jobs::JobsError;
use crate::roles::Role;
use crate::state::EngineState;

/// Product name in the header.
const PRODUCT: &str = "Skep engine";

/// Registers the UI pages and the shared assets.
pub fn configure(cfg: &mut web::ServiceConfig) {
    use actix_web::web::{get, post};
    cfg.configure(skep_web::assets::configure);
    cfg.route("/", get().to(session::home))
        .route("/first-run/migrate", post().to(session::migrate))
        .route("/first-run/admin", post().to(session::first_admin))
        .route("/login", get().to(session::login_page))
        .route("/login", post().to(session::login))
        .route("/logout", post().to(session::logout))
        .route("/account", get().to(session::account))
        .route("/account/password", post().to(session::change_password))
        .route("/account/key", post().to(session::own_key))
        .route("/organizations", get().to(admin::organizations))
        .route("/organizations", post().to(admin::create_organization))
        .route("/organizations/{id}", get().to(admin::organization))
        .route("/organizations/{id}", post().to(admin::update_organization))
        .route("/users", get().to(admin::users))
        .route("/users", post().to(admin::create_user))
        .route("/users/{login}", get().to(admin::user))
        .route("/users/{login}", post().to(admin::update_user))
        .route("/users/{login}/password", post().to(admin::set_password))
        .route("/users/{login}/key", post().to(admin::key_action))
        .route("/workers/{kind}", get().to(workers::catalog))
        .route("/workers/{kind}/config", get().to(workers::base_configs))
        .route(
            "/workers/{kind}/config/{name}",
            post().to(workers::save_base_config),
        )
        .route(
            "/workers/{kind}/enable/{definition}",
            get().to(workers::enable_form),
        )
        .route(
            "/workers/{kind}/enable/{definition}",
            post().to(workers::enable),
        )
        .route("/workers/{kind}/edit/{id}", get().to(workers::edit_form))
        .route("/workers/{kind}/edit/{id}", post().to(workers::edit))
        .route("/workers/{kind}/disable/{id}", post().to(workers::disable))
        .route("/analyze", get().to(jobs::new_analysis))
        .route("/analyze", post().to(jobs::submit))
        .route("/jobs", get().to(jobs::list))
        .route("/jobs/{id}", get().to(jobs::job));
}

/// Why a UI request did not get its page.
#[derive(Debug)]
pub enum UiError {
    /// Go elsewhere (not signed in, not migrated), optionally with a message.
    Redirect(String, Option<Flash>),
    /// Show an error page.
    Page(StatusCode, String),
}

impl std::fmt::Display for UiError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UiError::Redirect(to, _) => write!(formatter, "redirect to {to}"),
            UiError::Page(status, message) => write!(formatter, "{status}: {message}"),
        }
    }
}

impl ResponseError for UiError {
    fn status_code(&self) -> StatusCode {
        match self {
            UiError::Redirect(..) => StatusCode::SEE_OTHER,
            UiError::Page(status, _) => *status,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            UiError::Redirect(to, None) => skep_web::response::redirect(to),
            UiError::Redirect(to, Some(flash)) => {
                skep_web::response::redirect_with_flash(to, flash)
            }
            UiError::Page(status, message) => {
                let layout = Layout {
                    product: PRODUCT.to_owned(),
                    title: status.canonical_reason().unwrap_or("Error").to_owned(),
                    nav: vec![NavLink::new("/", "Home", "")],
                    user: None,
                };
                let mut body = String::from("<p class=\"flash flash-error\">");
                skep_web::escape(&mut body, message);
                body.push_str("</p><p><a href=\"/\">Back to the start page</a></p>");
                let document = layout.render(None, &body);
                let mut builder = HttpResponse::build(*status);
                skep_web::response::secure(&mut builder)
                    .content_type("text/html; charset=utf-8")
                    .body(document)
            }
        }
    }
}

/// The user-facing text of an API error (its message, and each refused attribute).
fn message_of(error: ApiError) -> String {
    let Some(body) = error.body() else {
        return "The database needs an update first".to_owned();
    };
    let mut message = body.message.clone();
    if let Some(serde_json::Value::Array(errors)) = body.details.get("errors") {
        let details: Vec<String> = errors
            .iter()
            .filter_map(|error| error.get("message").and_then(|m| m.as_str()))
            .map(str::to_owned)
            .collect();
        if !details.is_empty() {
            message = format!("{message}: {}", details.join("; "));
        }
    }
    message
}

impl From<EngineError> for UiError {
    fn from(error: EngineError) -> UiError {
        match error {
            EngineError::NotMigrated => UiError::Redirect("/".to_owned(), None),
            EngineError::Unauthenticated => UiError::Redirect("/login".to_owned(), None),
            other => {
                let api = ApiError::from(other);
                UiError::Page(api.status(), message_of(api))
            }
        }
    }
}

impl From<JobsError> for UiError {
    fn from(error: JobsError) -> UiError {
        match error {
            JobsError::Engine(engine) => UiError::from(engine),
            other => {
                let api = ApiError::from(other);
                UiError::Page(api.status(), message_of(api))
            }
        }
    }
}

impl From<ApiError> for UiError {
    fn from(error: ApiError) -> UiError {
        UiError::Page(error.status(), message_of(error))
    }
}

impl From<askama::Error> for UiError {
    fn from(error: askama::Error) -> UiError {
        tracing::error!(%error, "a UI template failed to render");
        UiError::Page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The page could not be drawn".to_owned(),
        )
    }
}

/// The result of a UI handler.
pub type UiResult = Result<HttpResponse, UiError>;

/// The CSRF token maker of this engine: keyed by a value derived from the server secret.
fn csrf_maker(state: &EngineState) -> Csrf {
    Csrf::new(state.keys.fingerprint("skep-web csrf key").as_bytes())
}

/// A browser's CSRF binding (the `CORTEX-XSRF-TOKEN` cookie), made when missing.
pub(crate) struct Binding {
    token: String,
    set: Option<Cookie<'static>>,
}

impl Binding {
    fn of(state: &EngineState, request: &HttpRequest) -> Binding {
        let (binding, set) =
            csrf::binding_or_new(request, XSRF_COOKIE, state.config.http.secure_cookies);
        Binding {
            token: csrf_maker(state).token(&binding),
            set,
        }
    }
}

/// Refuses a POST whose `_csrf` field does not match the browser's binding cookie.
fn check_csrf(state: &EngineState, request: &HttpRequest, fields: &UiForm) -> Result<(), UiError> {
    let binding = csrf::binding(request, XSRF_COOKIE).unwrap_or_default();
    let token = fields.str(csrf::FIELD).unwrap_or_default();
    if csrf_maker(state).verify(&binding, token) {
        Ok(())
    } else {
        Err(UiError::Page(
            StatusCode::FORBIDDEN,
            "The form has expired or did not come from this site; reload the page and try again"
                .to_owned(),
        ))
    }
}

/// A signed-in user on a UI page: identity, the form token, and the current path.
pub(crate) struct Ui {
    identity: Identity,
    binding: Binding,
    path: String,
}

impl Ui {
    /// The signed-in user of a page, or a redirect to the first-run or login page.
    async fn of(state: &EngineState, request: &HttpRequest) -> Result<Ui, UiError> {
        let identity = match auth::authenticate(state, request).await {
            Ok(identity) if identity.method == AuthMethod::Session => identity,
            Ok(identity) if identity.method == AuthMethod::Init => {
                return Err(UiError::Redirect("/".to_owned(), None));
            }
            Ok(_) => return Err(UiError::Redirect("/login".to_owned(), None)),
            Err(EngineError::NotMigrated) => return Err(UiError::Redirect("/".to_owned(), None)),
            Err(EngineError::AccountLocked) => {
                return Err(UiError::Redirect(
                    "/login".to_owned(),
                    Some(Flash::error("This account or its organisation is locked")),
                ));
            }
            Err(EngineError::Unauthenticated) => {
                return Err(UiError::Redirect("/login".to_owned(), None));
            }
            Err(other) => return Err(other.into()),
        };
        Ok(Ui {
            identity,
            binding: Binding::of(state, request),
            path: request.path().to_owned(),
        })
    }

    /// Like [`Ui::of`] for a POST: also checks the form's CSRF token.
    async fn posting(
        state: &EngineState,
        request: &HttpRequest,
        fields: &UiForm,
    ) -> Result<Ui, UiError> {
        let ui = Ui::of(state, request).await?;
        check_csrf(state, request, fields)?;
        Ok(ui)
    }

    /// Refuses (403 page) unless the user holds one of `roles`.
    fn require(&self, roles: &[Role]) -> Result<(), UiError> {
        if self.identity.has_any(roles) {
            Ok(())
        } else {
            Err(UiError::Page(
                StatusCode::FORBIDDEN,
                "Your roles do not allow this page".to_owned(),
            ))
        }
    }

    /// The form token.
    fn csrf(&self) -> &str {
        &self.binding.token
    }

    /// The shell of a page titled `title`, with the navigation the user's roles open.
    fn layout(&self, title: &str) -> Layout {
        let who = &self.identity;
        let mut links: Vec<(&str, &str)> = Vec::new();
        if who.has(Role::Analyze) {
            links.push(("/analyze", "New Analysis"));
        }
        if who.has(Role::Read) {
            links.push(("/jobs", "Jobs"));
        }
        if who.is_superadmin() {
            links.push(("/organizations", "Organizations"));
        }
        if who.has_any(&[Role::OrgAdmin, Role::SuperAdmin]) {
            links.push(("/users", "Users"));
        }
        if who.has(Role::OrgAdmin) {
            links.push(("/workers/analyzer", "Analyzers"));
            links.push(("/workers/analyzer/config", "Analyzers Config"));
            links.push(("/workers/responder", "Responders"));
            links.push(("/workers/responder/config", "Responders Config"));
        }
        let roles: Vec<&str> = who.roles.iter().map(|role| role.as_str()).collect();
        Layout {
            product: PRODUCT.to_owned(),
            title: title.to_owned(),
            nav: links
                .into_iter()
                .map(|(href, label)| NavLink::new(href, label, &self.path))
                .collect(),
            user: Some(UserMenu {
                name: who.name.clone(),
                detail: format!("{} · {}", who.organization, roles.join(", ")),
                settings_href: "/account".to_owned(),
                logout_action: "/logout".to_owned(),
                csrf: self.binding.token.clone(),
            }),
        }
    }

    /// The page `title` with `body`, setting the binding cookie if it was missing.
    fn page(&self, request: &HttpRequest, title: &str, body: &str) -> HttpResponse {
        let mut response = skep_web::response::page(request, &self.layout(title), body);
        if let Some(cookie) = &self.binding.set {
            let _ = response.add_cookie(cookie);
        }
        response
    }
}

/// A 303 back to `to` with `flash`.
fn done(to: &str, flash: Flash) -> HttpResponse {
    skep_web::response::redirect_with_flash(to, &flash)
}

/// Turns a domain failure of a POST into a 303 back to the form with the error as flash; other
/// UI errors pass through.
fn or_back<T>(result: Result<T, UiError>, to: &str) -> Result<T, UiError> {
    result.map_err(|error| match error {
        UiError::Page(status, message) if status.is_client_error() => {
            UiError::Redirect(to.to_owned(), Some(Flash::error(message)))
        }
        other => other,
    })
}
