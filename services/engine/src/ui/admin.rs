//! Superadmin and orgadmin pages: organisations (create, describe, lock/unlock) and users
//! (create with a role preset, edit, lock, set password, API key create/reveal/renew/revoke).

use actix_web::{HttpRequest, web};
use askama::Template;
use serde::Deserialize;
use serde_json::json;
use skep_http::Fields;
use skep_store::{Page, Query, Sort};
use skep_web::Html;
use skep_web::flash::Flash;
use skep_web::pagination::{self, Paging};

use super::forms::UiForm;
use super::{Ui, UiError, UiResult, done, or_back};
use crate::domain::OrgId;
use crate::domain::organization::{self, OrgStatus, Organization};
use crate::domain::user::{self, User, UserScope, UserStatus};
use crate::roles::Role;
use crate::state::EngineState;

/// The four role presets of the user forms, as Cortex offers them.
pub const PRESETS: [(&str, &str); 4] = [
    ("read", "read"),
    ("analyze", "read, analyze"),
    ("orgadmin", "read, analyze, orgadmin"),
    ("superadmin", "superadmin"),
];

fn preset_roles(preset: &str) -> Option<Vec<&'static str>> {
    match preset {
        "read" => Some(vec!["read"]),
        "analyze" => Some(vec!["read", "analyze"]),
        "orgadmin" => Some(vec!["read", "analyze", "orgadmin"]),
        "superadmin" => Some(vec!["superadmin"]),
        _ => None,
    }
}

fn preset_of(roles: &[Role]) -> &'static str {
    if roles.contains(&Role::SuperAdmin) {
        "superadmin"
    } else if roles.contains(&Role::OrgAdmin) {
        "orgadmin"
    } else if roles.contains(&Role::Analyze) {
        "analyze"
    } else {
        "read"
    }
}

/// Query of the list pages.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    page: Option<u64>,
    per_page: Option<u64>,
    sort: Option<String>,
    q: Option<String>,
}

/// A user row of the lists.
pub struct UserRow {
    login: String,
    name: String,
    organization: String,
    roles: String,
    status: String,
    has_key: bool,
}

impl From<&User> for UserRow {
    fn from(user: &User) -> UserRow {
        UserRow {
            login: user.login.clone(),
            name: user.name.clone(),
            organization: user.organization.to_string(),
            roles: user
                .roles
                .iter()
                .map(|role| role.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            status: status_text(user.status).to_owned(),
            has_key: user.has_key(),
        }
    }
}

fn status_text(status: UserStatus) -> &'static str {
    match status {
        UserStatus::Ok => "Ok",
        UserStatus::Locked => "Locked",
    }
}

#[derive(Template)]
#[template(path = "ui/organizations.html")]
struct Organizations<'a> {
    csrf: &'a str,
    rows: Vec<Organization>,
    pager: Html,
}

#[derive(Template)]
#[template(path = "ui/organization.html")]
struct OrganizationPage<'a> {
    csrf: &'a str,
    org: Organization,
    editable: bool,
    users: Vec<UserRow>,
    pager: Html,
    presets: &'a [(&'a str, &'a str)],
    organizations: Vec<String>,
    fixed_org: Option<String>,
}

#[derive(Template)]
#[template(path = "ui/users.html")]
struct Users<'a> {
    csrf: &'a str,
    users: Vec<UserRow>,
    pager: Html,
    presets: &'a [(&'a str, &'a str)],
    organizations: Vec<String>,
    fixed_org: Option<String>,
    q: String,
}

#[derive(Template)]
#[template(path = "ui/user.html")]
struct UserPage<'a> {
    csrf: &'a str,
    user: UserRow,
    preset: &'static str,
    presets: &'a [(&'a str, &'a str)],
    locked: bool,
    key: Option<String>,
}

fn org_status_text(org: &Organization) -> &'static str {
    match org.status {
        OrgStatus::Active => "Active",
        OrgStatus::Locked => "Locked",
    }
}

/// `GET /organizations`: every organisation, paged and sorted by the server.
pub async fn organizations(
    state: web::Data<EngineState>,
    request: HttpRequest,
    query: web::Query<ListQuery>,
) -> UiResult {
    let ui = Ui::of(&state, &request).await?;
    ui.require(&[Role::SuperAdmin])?;
    let paging = Paging::new(query.page, query.per_page);
    let (field, ascending) = pagination::sort(
        query.sort.as_deref(),
        &["name", "createdAt", "status"],
        ("name", true),
    );
    let sort = [Sort {
        field: field.to_owned(),
        descending: !ascending,
    }];
    let (rows, total) = organization::search(
        &*state.store,
        &Query::All,
        Page {
            offset: paging.offset(),
            limit: Some(paging.per_page),
        },
        &sort,
    )
    .await?;
    let sort_param = query.sort.clone().unwrap_or_default();
    let body = Organizations {
        csrf: ui.csrf(),
        rows,
        pager: paging.nav("/organizations", &[("sort", &sort_param)], total),
    }
    .render()?;
    Ok(ui.page(&request, "Organizations", &body))
}

/// `POST /organizations`: creates an organisation.
pub async fn create_organization(
    state: web::Data<EngineState>,
    request: HttpRequest,
    fields: UiForm,
) -> UiResult {
    let ui = Ui::posting(&state, &request, &fields).await?;
    ui.require(&[Role::SuperAdmin])?;
    let body = json!({
        "name": fields.str("name").unwrap_or_default().trim(),
        "description": fields.str("description").unwrap_or_default(),
    });
    let created = async {
        let draft = crate::api::organization::draft_from(Fields::from_map(
            body.as_object().cloned().unwrap_or_default(),
        ))?;
        organization::create(&*state.store, &ui.identity, draft).await
    }
    .await
    .map_err(|error| match error {
        crate::error::EngineError::Store(store) if store.is_duplicate() => UiError::Page(
            actix_web::http::StatusCode::BAD_REQUEST,
            "An organisation with this name exists already".to_owned(),
        ),
        other => other.into(),
    });
    let created = or_back(created, "/organizations")?;
    Ok(done(
        &format!("/organizations/{}", urlencoding_path(created.name.as_str())),
        Flash::success(format!("Organisation {} created", created.name)),
    ))
}

fn urlencoding_path(segment: &str) -> String {
    segment
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@' | '+') {
                c.to_string()
            } else {
                format!("%{:02X}", c as u32 & 0xff)
            }
        })
        .collect()
}

async fn organization_names(state: &EngineState) -> Result<Vec<String>, UiError> {
    let (orgs, _) = organization::search(
        &*state.store,
        &Query::All,
        Page {
            offset: 0,
            limit: Some(1000),
        },
        &[Sort {
            field: "name".into(),
            descending: false,
        }],
    )
    .await?;
    Ok(orgs.into_iter().map(|org| org.name.to_string()).collect())
}

/// `GET /organizations/{id}`: describes an organisation and lists its users.
pub async fn organization(
    state: web::Data<EngineState>,
    request: HttpRequest,
    id: web::Path<String>,
    query: web::Query<ListQuery>,
) -> UiResult {
    let ui = Ui::of(&state, &request).await?;
    ui.require(&[Role::SuperAdmin, Role::OrgAdmin])?;
    let id = OrgId::new(id.into_inner());
    let org = organization::get_visible(&*state.store, &ui.identity, &id).await?;
    let paging = Paging::new(query.page, query.per_page);
    let (users, total) = user::search(
        &*state.store,
        &ui.identity,
        UserScope::Organization(id.clone()),
        Query::All,
        Page {
            offset: paging.offset(),
            limit: Some(paging.per_page),
        },
        &[Sort {
            field: "login".into(),
            descending: false,
        }],
    )
    .await?;
    let body = OrganizationPage {
        csrf: ui.csrf(),
        editable: ui.identity.is_superadmin() && !id.is_default(),
        users: users.iter().map(UserRow::from).collect(),
        pager: paging.nav(
            &format!("/organizations/{}", urlencoding_path(id.as_str())),
            &[],
            total,
        ),
        presets: &PRESETS,
        organizations: Vec::new(),
        fixed_org: Some(id.to_string()),
        org,
    }
    .render()?;
    Ok(ui.page(&request, &format!("Organization {id}"), &body))
}

/// `POST /organizations/{id}`: `action=lock|unlock|describe`.
pub async fn update_organization(
    state: web::Data<EngineState>,
    request: HttpRequest,
    id: web::Path<String>,
    fields: UiForm,
) -> UiResult {
    let ui = Ui::posting(&state, &request, &fields).await?;
    ui.require(&[Role::SuperAdmin])?;
    let id = OrgId::new(id.into_inner());
    let back = format!("/organizations/{}", urlencoding_path(id.as_str()));
    let patch = match fields.str("action") {
        Some("lock") => organization::OrganizationPatch {
            description: None,
            status: Some(OrgStatus::Locked),
        },
        Some("unlock") => organization::OrganizationPatch {
            description: None,
            status: Some(OrgStatus::Active),
        },
        _ => organization::OrganizationPatch {
            description: fields.str("description").map(str::to_owned),
            status: None,
        },
    };
    let updated = organization::update(&*state.store, &ui.identity, &id, patch)
        .await
        .map_err(UiError::from);
    let updated = or_back(updated, &back)?;
    Ok(done(
        &back,
        Flash::success(format!(
            "Organisation {} saved ({})",
            updated.name,
            org_status_text(&updated)
        )),
    ))
}

/// `GET /users`: users of the organisation (every user for superadmins), paged.
pub async fn users(
    state: web::Data<EngineState>,
    request: HttpRequest,
    query: web::Query<ListQuery>,
) -> UiResult {
    let ui = Ui::of(&state, &request).await?;
    ui.require(&[Role::SuperAdmin, Role::OrgAdmin])?;
    let paging = Paging::new(query.page, query.per_page);
    let (field, ascending) = pagination::sort(
        query.sort.as_deref(),
        &["login", "name", "organization", "status", "createdAt"],
        ("login", true),
    );
    let scope = if ui.identity.is_superadmin() {
        UserScope::All
    } else {
        UserScope::Organization(ui.identity.organization.clone())
    };
    let q = query.q.clone().unwrap_or_default();
    let filter = if q.trim().is_empty() {
        Query::All
    } else {
        Query::Or(vec![
            Query::Like {
                field: "login".into(),
                text: q.trim().to_owned(),
            },
            Query::Like {
                field: "name".into(),
                text: q.trim().to_owned(),
            },
        ])
    };
    let (found, total) = user::search(
        &*state.store,
        &ui.identity,
        scope,
        filter,
        Page {
            offset: paging.offset(),
            limit: Some(paging.per_page),
        },
        &[Sort {
            field: field.to_owned(),
            descending: !ascending,
        }],
    )
    .await?;
    let (organizations, fixed_org) = if ui.identity.is_superadmin() {
        (organization_names(&state).await?, None)
    } else {
        (Vec::new(), Some(ui.identity.organization.to_string()))
    };
    let sort_param = query.sort.clone().unwrap_or_default();
    let body = Users {
        csrf: ui.csrf(),
        users: found.iter().map(UserRow::from).collect(),
        pager: paging.nav("/users", &[("q", &q), ("sort", &sort_param)], total),
        presets: if ui.identity.is_superadmin() {
            &PRESETS
        } else {
            &PRESETS[..3]
        },
        organizations,
        fixed_org,
        q,
    }
    .render()?;
    Ok(ui.page(&request, "Users", &body))
}

/// `POST /users`: creates a user with a role preset (and an optional password).
pub async fn create_user(
    state: web::Data<EngineState>,
    request: HttpRequest,
    fields: UiForm,
) -> UiResult {
    let ui = Ui::posting(&state, &request, &fields).await?;
    ui.require(&[Role::SuperAdmin, Role::OrgAdmin])?;
    let back = fields
        .str("back")
        .filter(|back| back.starts_with('/') && !back.starts_with("//"))
        .unwrap_or("/users")
        .to_owned();
    let Some(roles) = preset_roles(fields.str("preset").unwrap_or_default()) else {
        return Ok(done(&back, Flash::error("Choose the user's roles")));
    };
    let mut body = json!({
        "login": fields.str("login").unwrap_or_default().trim(),
        "name": fields.str("name").unwrap_or_default(),
        "roles": roles,
    });
    if let Some(org) = fields.str("organization").filter(|org| !org.is_empty()) {
        body["organization"] = json!(org);
    }
    if let Some(password) = fields.str("password").filter(|pw| !pw.is_empty()) {
        body["password"] = json!(password);
    }
    let created = async {
        let draft = crate::api::user::draft_from(Fields::from_map(
            body.as_object().cloned().unwrap_or_default(),
        ))?;
        user::create(&*state.store, &ui.identity, draft).await
    }
    .await
    .map_err(|error| match error {
        crate::error::EngineError::Store(store) if store.is_duplicate() => UiError::Page(
            actix_web::http::StatusCode::BAD_REQUEST,
            "A user with this login exists already".to_owned(),
        ),
        other => other.into(),
    });
    let created = or_back(created, &back)?;
    Ok(done(
        &format!("/users/{}", urlencoding_path(&created.login)),
        Flash::success(format!("User {} created", created.login)),
    ))
}

async fn user_page(
    state: &EngineState,
    request: &HttpRequest,
    ui: &Ui,
    login: &str,
    key: Option<String>,
) -> UiResult {
    ui.require(&[Role::SuperAdmin, Role::OrgAdmin])?;
    let found = user::get_visible(&*state.store, &ui.identity, login).await?;
    if !ui.identity.administers(&found.organization) {
        return Err(UiError::Page(
            actix_web::http::StatusCode::NOT_FOUND,
            format!("user {login} not found"),
        ));
    }
    let body = UserPage {
        csrf: ui.csrf(),
        preset: preset_of(&found.roles),
        presets: if ui.identity.is_superadmin() {
            &PRESETS
        } else {
            &PRESETS[..3]
        },
        locked: found.status == UserStatus::Locked,
        user: UserRow::from(&found),
        key,
    }
    .render()?;
    Ok(ui.page(request, &format!("User {login}"), &body))
}

/// `GET /users/{login}`.
pub async fn user(
    state: web::Data<EngineState>,
    request: HttpRequest,
    login: web::Path<String>,
) -> UiResult {
    let ui = Ui::of(&state, &request).await?;
    user_page(&state, &request, &ui, &login, None).await
}

/// `POST /users/{login}`: name and role preset, or `action=lock|unlock`.
pub async fn update_user(
    state: web::Data<EngineState>,
    request: HttpRequest,
    login: web::Path<String>,
    fields: UiForm,
) -> UiResult {
    let ui = Ui::posting(&state, &request, &fields).await?;
    ui.require(&[Role::SuperAdmin, Role::OrgAdmin])?;
    let back = format!("/users/{}", urlencoding_path(&login));
    let mut body = serde_json::Map::new();
    match fields.str("action") {
        Some("lock") => {
            body.insert("status".into(), json!("Locked"));
        }
        Some("unlock") => {
            body.insert("status".into(), json!("Ok"));
        }
        _ => {
            if let Some(name) = fields.str("name").filter(|name| !name.trim().is_empty()) {
                body.insert("name".into(), json!(name));
            }
            match fields.str("preset").map(preset_roles) {
                Some(Some(roles)) => {
                    body.insert("roles".into(), json!(roles));
                }
                Some(None) => return Ok(done(&back, Flash::error("Choose the user's roles"))),
                None => {}
            }
        }
    }
    let updated = async {
        let patch = crate::api::user::patch_from(Fields::from_map(body))?;
        user::update(&*state.store, &ui.identity, &login, patch).await
    }
    .await
    .map_err(UiError::from);
    let updated = or_back(updated, &back)?;
    Ok(done(
        &back,
        Flash::success(format!(
            "User {} saved ({})",
            updated.login,
            status_text(updated.status)
        )),
    ))
}

/// `POST /users/{login}/password`: sets a user's password.
pub async fn set_password(
    state: web::Data<EngineState>,
    request: HttpRequest,
    login: web::Path<String>,
    fields: UiForm,
) -> UiResult {
    let ui = Ui::posting(&state, &request, &fields).await?;
    let back = format!("/users/{}", urlencoding_path(&login));
    let password = fields.str("password").unwrap_or_default();
    if password.is_empty() {
        return Ok(done(&back, Flash::error("The password is empty")));
    }
    let set = user::set_password(&*state.store, &ui.identity, &login, password)
        .await
        .map_err(UiError::from);
    or_back(set, &back)?;
    Ok(done(&back, Flash::success("Password set")))
}

/// `POST /users/{login}/key`: `action=renew|reveal|revoke`; a created or revealed key is shown
/// on the page answered.
pub async fn key_action(
    state: web::Data<EngineState>,
    request: HttpRequest,
    login: web::Path<String>,
    fields: UiForm,
) -> UiResult {
    let ui = Ui::posting(&state, &request, &fields).await?;
    ui.require(&[Role::SuperAdmin, Role::OrgAdmin])?;
    let back = format!("/users/{}", urlencoding_path(&login));
    let store = &*state.store;
    let key = match fields.str("action") {
        Some("renew") => user::renew_key(store, &state.keys, &ui.identity, &login)
            .await
            .map(Some),
        Some("revoke") => user::revoke_key(store, &ui.identity, &login)
            .await
            .map(|()| None),
        _ => user::get_key(store, &state.keys, &ui.identity, &login)
            .await
            .map(Some),
    };
    let key = or_back(key.map_err(UiError::from), &back)?;
    match key {
        Some(key) => user_page(&state, &request, &ui, &login, Some(key)).await,
        None => Ok(done(&back, Flash::success("API key revoked"))),
    }
}
