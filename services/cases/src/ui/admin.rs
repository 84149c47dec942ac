//! Administration (admin role): users (create, roles, lock/unlock, password, API key
//! create/reveal/renew/revoke), case templates, custom fields, observable data types; and the
//! About box (versions, store health, the engine servers with their version and status), which
//! every signed-in user may open.

use actix_web::{HttpRequest, web};
use askama::Template;
use serde_json::{Map, Value, json};
use skep_store::{Page, Query, Sort};

use super::form::{self, Form};
use super::view::{self, Choice};
use super::{UiResult, Viewer, verify_csrf};
use crate::domain::{custom_field, list, migration, template, user};
use crate::roles::Role;
use crate::state::CasesState;

/// Registers the routes of this module.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin", web::get().to(users))
        .route("/admin/users", web::get().to(users))
        .route("/admin/users", web::post().to(create_user))
        .route("/admin/users/{login}", web::post().to(change_user))
        .route("/admin/templates", web::get().to(templates))
        .route("/admin/templates", web::post().to(create_template))
        .route(
            "/admin/templates/{id}/delete",
            web::post().to(delete_template),
        )
        .route("/admin/custom-fields", web::get().to(custom_fields))
        .route("/admin/custom-fields", web::post().to(create_custom_field))
        .route("/admin/data-types", web::get().to(data_types))
        .route("/admin/data-types", web::post().to(add_data_type))
        .route(
            "/admin/lists/{item}/delete",
            web::post().to(delete_list_item),
        )
        .route("/about", web::get().to(about));
}

#[derive(Debug)]
struct UserRow {
    login: String,
    name: String,
    roles: Vec<(&'static str, bool)>,
    locked: bool,
    has_key: bool,
}

#[derive(Template)]
#[template(path = "admin_users.html")]
struct UsersPage<'a> {
    viewer: &'a Viewer,
    users: Vec<UserRow>,
    revealed: Option<(String, String)>,
}

async fn users_page(
    state: &CasesState,
    request: &HttpRequest,
    viewer: &Viewer,
    revealed: Option<(String, String)>,
) -> UiResult {
    viewer.require_admin()?;
    let hits = state
        .store
        .search(
            user::KIND,
            &Query::All,
            Page {
                offset: 0,
                limit: Some(1000),
            },
            &[Sort {
                field: "createdAt".into(),
                descending: false,
            }],
        )
        .await?;
    let users = hits
        .documents
        .iter()
        .map(|document| {
            let held = crate::roles::RoleSet::from_json(document.body.get("roles"));
            UserRow {
                login: document.id.clone(),
                name: view::text(&document.body, "name"),
                roles: Role::ALL
                    .iter()
                    .map(|role| (role.as_str(), held.contains(*role)))
                    .collect(),
                locked: view::text(&document.body, "status") == "Locked",
                has_key: document.body.contains_key("keySealed"),
            }
        })
        .collect();
    let page = UsersPage {
        viewer,
        users,
        revealed,
    };
    viewer.page(request, "Users", &page)
}

/// `GET /admin/users`.
async fn users(state: web::Data<CasesState>, request: HttpRequest, viewer: Viewer) -> UiResult {
    users_page(&state, &request, &viewer, None).await
}

fn roles_of(form: &Form) -> Vec<String> {
    form.all("roles")
        .into_iter()
        .filter(|role| Role::parse(role).is_some())
        .collect()
}

/// `POST /admin/users`: login, name, roles, optional password.
async fn create_user(
    state: web::Data<CasesState>,
    request: HttpRequest,
    viewer: Viewer,
    form: Form,
) -> UiResult {
    verify_csrf(&state, &request, &form)?;
    viewer.require_admin()?;
    let mut input = Map::new();
    input.insert("login".into(), json!(form.text("login")));
    input.insert(
        "name".into(),
        json!(form.optional("name").unwrap_or_else(|| form.text("login"))),
    );
    input.insert("roles".into(), json!(roles_of(&form)));
    if !form.raw("password").is_empty() {
        input.insert("password".into(), json!(form.raw("password")));
    }
    let result = user::create(&*state.store, &state.keys, &viewer.login, input).await;
    state.identities.clear();
    super::outcome("/admin/users", result, "User created.")
}

/// `POST /admin/users/{login}` (`action` = `roles` | `lock` | `unlock` | `password` |
/// `reveal` | `renew` | `revoke`).
async fn change_user(
    state: web::Data<CasesState>,
    request: HttpRequest,
    viewer: Viewer,
    path: web::Path<String>,
    form: Form,
) -> UiResult {
    verify_csrf(&state, &request, &form)?;
    viewer.require_admin()?;
    let store = &*state.store;
    let login = path.into_inner();
    let actor = viewer.login.as_str();
    let back = "/admin/users";
    let result: Result<&str, skep_http::ApiError> = match form.text("action").as_str() {
        "roles" => {
            let changes = Map::from_iter([("roles".to_owned(), json!(roles_of(&form)))]);
            user::update(store, actor, true, &login, changes)
                .await
                .map(|_| "Roles saved.")
        }
        "lock" => user::lock(store, actor, &login)
            .await
            .map(|_| "User locked."),
        "unlock" => {
            let changes = Map::from_iter([("status".to_owned(), json!("Ok"))]);
            user::update(store, actor, true, &login, changes)
                .await
                .map(|_| "User unlocked.")
        }
        "password" => user::set_password(store, actor, &login, form.raw("password"))
            .await
            .map(|_| "Password set."),
        "revoke" => user::revoke_key(store, actor, &login)
            .await
            .map(|_| "API key revoked."),
        "reveal" | "renew" => {
            let key = if form.text("action") == "renew" {
                user::renew_key(store, &state.keys, actor, &login, None).await
            } else {
                user::key(store, &state.keys, &login).await
            };
            state.identities.clear();
            return match key {
                Ok(key) => users_page(&state, &request, &viewer, Some((login, key))).await,
                Err(error) => super::failed(back, &error),
            };
        }
        _ => Err(skep_http::ApiError::bad_request("Unknown action.")),
    };
    state.identities.clear();
    match result {
        Ok(text) => super::done(back, text),
        Err(error) => super::failed(back, &error),
    }
}

#[derive(Debug)]
struct TemplateRow {
    id: String,
    name: String,
    prefix: String,
    severity: &'static str,
    tags: String,
    tasks: Vec<String>,
}

#[derive(Template)]
#[template(path = "admin_templates.html")]
struct TemplatesPage<'a> {
    viewer: &'a Viewer,
    templates: Vec<TemplateRow>,
    severities: Vec<Choice>,
    levels: Vec<Choice>,
}

/// `GET /admin/templates`.
async fn templates(state: web::Data<CasesState>, request: HttpRequest, viewer: Viewer) -> UiResult {
    viewer.require_admin()?;
    let hits = state
        .store
        .search(
            template::KIND,
            &Query::Not(Box::new(Query::eq("status", "Deleted"))),
            Page {
                offset: 0,
                limit: Some(500),
            },
            &[Sort {
                field: "name".into(),
                descending: false,
            }],
        )
        .await?;
    let templates = hits
        .documents
        .iter()
        .map(|document| {
            let body = &document.body;
            TemplateRow {
                id: document.id.clone(),
                name: view::text(body, "name"),
                prefix: view::text(body, "titlePrefix"),
                severity: view::severity(view::number(body, "severity")),
                tags: view::strings(body, "tags").join(", "),
                tasks: body
                    .get("tasks")
                    .and_then(Value::as_array)
                    .map(|tasks| {
                        tasks
                            .iter()
                            .filter_map(|task| task.get("title").and_then(Value::as_str))
                            .map(str::to_owned)
                            .collect()
                    })
                    .unwrap_or_default(),
            }
        })
        .collect();
    let page = TemplatesPage {
        viewer: &viewer,
        templates,
        severities: Choice::list(&view::SEVERITIES, 2),
        levels: Choice::list(&view::LEVELS, 2),
    };
    viewer.page(&request, "Case templates", &page)
}

/// `POST /admin/templates`: name, title prefix, severity, TLP, PAP, tags, description, tasks
/// (one title per line).
async fn create_template(
    state: web::Data<CasesState>,
    request: HttpRequest,
    viewer: Viewer,
    form: Form,
) -> UiResult {
    verify_csrf(&state, &request, &form)?;
    viewer.require_admin()?;
    let tasks: Vec<Value> = form
        .raw("tasks")
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .enumerate()
        .map(|(order, title)| json!({"title": title, "order": order}))
        .collect();
    let mut input = Map::new();
    input.insert("name".into(), json!(form.text("name")));
    input.insert("titlePrefix".into(), json!(form.text("titlePrefix")));
    input.insert("description".into(), json!(form.raw("description")));
    for key in ["severity", "tlp", "pap"] {
        if let Some(value) = form.optional(key) {
            input.insert(key.into(), json!(value));
        }
    }
    input.insert("tags".into(), json!(form::list(form.raw("tags"))));
    input.insert("metrics".into(), json!({}));
    input.insert("tasks".into(), Value::Array(tasks));
    let result = template::create(&*state.store, &viewer.login, input).await;
    super::outcome("/admin/templates", result, "Template created.")
}

/// `POST /admin/templates/{id}/delete`.
async fn delete_template(
    state: web::Data<CasesState>,
    request: HttpRequest,
    viewer: Viewer,
    path: web::Path<String>,
    form: Form,
) -> UiResult {
    verify_csrf(&state, &request, &form)?;
    viewer.require_admin()?;
    let result = template::delete(&*state.store, &path).await;
    super::outcome("/admin/templates", result, "Template deleted.")
}

#[derive(Debug)]
struct ListRow {
    id: String,
    text: String,
    detail: String,
}

#[derive(Template)]
#[template(path = "admin_list.html")]
struct ListPage<'a> {
    viewer: &'a Viewer,
    action: &'static str,
    custom_fields: bool,
    items: Vec<ListRow>,
}

/// `GET /admin/custom-fields`.
async fn custom_fields(
    state: web::Data<CasesState>,
    request: HttpRequest,
    viewer: Viewer,
) -> UiResult {
    viewer.require_admin()?;
    let items = list::items(&*state.store, custom_field::LIST)
        .await?
        .iter()
        .map(|document| {
            let value = document
                .body
                .get("value")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            ListRow {
                id: document.id.clone(),
                text: format!(
                    "{} ({})",
                    view::text(&value, "name"),
                    view::text(&value, "reference")
                ),
                detail: format!(
                    "{} · {}",
                    view::text(&value, "type"),
                    view::text(&value, "description")
                ),
            }
        })
        .collect();
    let page = ListPage {
        viewer: &viewer,
        action: "/admin/custom-fields",
        custom_fields: true,
        items,
    };
    viewer.page(&request, "Custom fields", &page)
}

/// `POST /admin/custom-fields`: name, reference, description, type, options (one per line).
async fn create_custom_field(
    state: web::Data<CasesState>,
    request: HttpRequest,
    viewer: Viewer,
    form: Form,
) -> UiResult {
    verify_csrf(&state, &request, &form)?;
    viewer.require_admin()?;
    let reference = form.text("reference");
    if reference.is_empty() || reference.contains(['.', ' ']) {
        return super::failed(
            "/admin/custom-fields",
            &skep_http::ApiError::bad_request("The reference must be one word without dots."),
        );
    }
    let options: Vec<String> = form
        .raw("options")
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect();
    let value = json!({
        "name": form.optional("name").unwrap_or_else(|| reference.clone()),
        "reference": reference,
        "description": form.text("description"),
        "type": form.optional("type").unwrap_or_else(|| "string".into()),
        "options": options,
        "mandatory": form.checked("mandatory"),
    });
    let result = list::add(&*state.store, &viewer.login, custom_field::LIST, value).await;
    super::outcome("/admin/custom-fields", result, "Custom field created.")
}

/// `GET /admin/data-types`.
async fn data_types(
    state: web::Data<CasesState>,
    request: HttpRequest,
    viewer: Viewer,
) -> UiResult {
    viewer.require_admin()?;
    let items = list::items(&*state.store, migration::DATA_TYPE_LIST)
        .await?
        .iter()
        .map(|document| ListRow {
            id: document.id.clone(),
            text: view::text(&document.body, "value"),
            detail: String::new(),
        })
        .collect();
    let page = ListPage {
        viewer: &viewer,
        action: "/admin/data-types",
        custom_fields: false,
        items,
    };
    viewer.page(&request, "Observable data types", &page)
}

/// `POST /admin/data-types` (`value`).
async fn add_data_type(
    state: web::Data<CasesState>,
    request: HttpRequest,
    viewer: Viewer,
    form: Form,
) -> UiResult {
    verify_csrf(&state, &request, &form)?;
    viewer.require_admin()?;
    let value = form.text("value");
    if value.is_empty() {
        return super::failed(
            "/admin/data-types",
            &skep_http::ApiError::bad_request("Name the data type."),
        );
    }
    let result = list::add(
        &*state.store,
        &viewer.login,
        migration::DATA_TYPE_LIST,
        json!(value),
    )
    .await;
    super::outcome("/admin/data-types", result, "Data type added.")
}

/// `POST /admin/lists/{item}/delete` (`back`): removes a custom field or data type.
async fn delete_list_item(
    state: web::Data<CasesState>,
    request: HttpRequest,
    viewer: Viewer,
    path: web::Path<String>,
    form: Form,
) -> UiResult {
    verify_csrf(&state, &request, &form)?;
    viewer.require_admin()?;
    let back = super::local_path(&form.text("back"), "/admin");
    let result = list::delete(&*state.store, &path).await;
    super::outcome(&back, result, "Removed.")
}

#[derive(Debug)]
struct Server {
    name: String,
    version: String,
    status: String,
}

#[derive(Template)]
#[template(path = "about.html")]
struct AboutPage {
    thehive: String,
    skep: String,
    store: String,
    servers: Vec<Server>,
}

/// `GET /about`: what `/api/status` says, as a page (read from that handler, so the engine
/// check lives in one place).
async fn about(state: web::Data<CasesState>, request: HttpRequest, viewer: Viewer) -> UiResult {
    let response = crate::api::status::get_status(state.clone()).await?;
    let bytes = actix_web::body::to_bytes(response.into_body())
        .await
        .map_err(|error| skep_http::ApiError::internal(&error.to_string()))?;
    let status: Value = serde_json::from_slice(&bytes).unwrap_or_default();
    let text = |pointer: &str| {
        status
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let servers = status
        .pointer("/connectors/cortex/servers")
        .and_then(Value::as_array)
        .map(|servers| {
            servers
                .iter()
                .filter_map(Value::as_object)
                .map(|server| Server {
                    name: view::text(server, "name"),
                    version: view::text(server, "version"),
                    status: view::text(server, "status"),
                })
                .collect()
        })
        .unwrap_or_default();
    let page = AboutPage {
        thehive: text("/versions/TheHive"),
        skep: text("/versions/Skep"),
        store: text("/health/elasticsearch"),
        servers,
    };
    viewer.page(&request, "About", &page)
}
