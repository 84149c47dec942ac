//! `/api/user…` and `/api/organization/{id}/user…`: users, passwords and API keys.

use actix_web::{HttpResponse, web};
use serde::Serialize;
use serde_json::Value;
use skep_http::search::{SearchRequest, StatsRequest};
use skep_http::{ApiError, AttributeError, Fields, response};

use crate::api::{AttributeReader, is_valid_name};
use crate::auth::{AuthMethod, Caller};
use crate::domain::OrgId;
use crate::domain::user::{self, User, UserDraft, UserPatch, UserScope, UserStatus};
use crate::error::EngineError;
use crate::roles::{self, Role};
use crate::state::EngineState;

const TABLE: &str = "user";

/// A user on the wire: never the password nor the key.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserResponse {
    id: String,
    #[serde(rename = "_id")]
    underscore_id: String,
    #[serde(rename = "_type")]
    entity_type: &'static str,
    name: String,
    organization: OrgId,
    roles: Vec<Role>,
    status: UserStatus,
    has_key: bool,
    has_password: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    avatar: Option<String>,
    created_by: String,
    created_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    updated_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    updated_at: Option<i64>,
    /// Only on `/api/user/current`.
    #[serde(skip_serializing_if = "Option::is_none")]
    preferences: Option<Value>,
}

impl From<User> for UserResponse {
    fn from(user: User) -> Self {
        UserResponse {
            id: user.login.clone(),
            underscore_id: user.login.clone(),
            entity_type: TABLE,
            has_key: user.has_key(),
            has_password: user.has_password(),
            name: user.name,
            organization: user.organization,
            roles: user.roles,
            status: user.status,
            avatar: user.avatar,
            created_by: user.created_by,
            created_at: user.created_at,
            updated_by: user.updated_by,
            updated_at: user.updated_at,
            preferences: None,
        }
    }
}

impl UserResponse {
    /// The response of `/api/user/current`, which carries the preferences object.
    pub fn with_preferences(user: User) -> UserResponse {
        let preferences = match user.preferences.clone() {
            Some(Value::String(text)) => serde_json::from_str(&text).unwrap_or_default(),
            Some(value) => value,
            None => Value::Object(Default::default()),
        };
        UserResponse {
            preferences: Some(preferences),
            ..UserResponse::from(user)
        }
    }
}

fn to_json(user: User) -> Value {
    serde_json::to_value(UserResponse::from(user)).unwrap_or_default()
}

fn parse_roles(reader: &mut AttributeReader, roles: Vec<String>) -> Option<Vec<Role>> {
    let mut parsed = Vec::new();
    for text in roles {
        match Role::parse(&text) {
            Some(role) if !parsed.contains(&role) => parsed.push(role),
            Some(_) => {}
            None => {
                reader.push_error(AttributeError::invalid(
                    "roles",
                    Value::String(text),
                    "read, analyze, orgadmin or superadmin",
                ));
                return None;
            }
        }
    }
    Some(parsed)
}

fn draft_from(fields: Fields) -> Result<UserDraft, EngineError> {
    let (body, _files) = fields.into_parts();
    let mut reader = AttributeReader::new(TABLE, body);
    let login = reader.required_string("login");
    if let Some(invalid) = login.as_ref().filter(|login| !is_valid_name(login)) {
        reader.push_error(AttributeError::invalid(
            "login",
            invalid.clone().into(),
            "letters, digits and ._@+-",
        ));
    }
    let name = reader.required_string("name");
    let roles = match reader.optional_string_list("roles") {
        Some(roles) => parse_roles(&mut reader, roles),
        None => {
            reader.push_error(AttributeError::missing("roles"));
            None
        }
    };
    let organization = reader.optional_string("organization").map(OrgId::new);
    let password = reader.optional_string("password");
    let status = reader.optional_parsed("status", "Ok or Locked", UserStatus::parse);
    let avatar = reader.optional_string("avatar");
    reader.finish()?;
    match (login, name, roles) {
        (Some(login), Some(name), Some(roles)) => Ok(UserDraft {
            login,
            name,
            roles,
            organization,
            password: password.filter(|password| !password.is_empty()),
            status: status.unwrap_or(UserStatus::Ok),
            avatar,
        }),
        _ => Err(EngineError::BadRequest("invalid user".to_owned())),
    }
}

fn patch_from(fields: Fields) -> Result<UserPatch, EngineError> {
    let (body, _files) = fields.into_parts();
    if body.contains_key("password") || body.contains_key("key") {
        return Err(EngineError::Forbidden(
            "Use the dedicated API to change a password or an API key".to_owned(),
        ));
    }
    let mut reader = AttributeReader::new(TABLE, body);
    reader.refuse_read_only("login");
    let name = reader.optional_string("name");
    let roles = reader
        .optional_string_list("roles")
        .and_then(|roles| parse_roles(&mut reader, roles));
    let patch = UserPatch {
        name,
        roles,
        status: reader.optional_parsed("status", "Ok or Locked", UserStatus::parse),
        organization: reader.optional_string("organization").map(OrgId::new),
        avatar: reader.optional_string("avatar"),
        preferences: reader.optional_value("preferences"),
    };
    reader.finish()?;
    Ok(patch)
}

fn required_password(fields: &Fields, name: &'static str) -> Result<String, EngineError> {
    match fields.get(name) {
        Some(Value::String(password)) if !password.is_empty() => Ok(password.clone()),
        Some(other) if !other.is_null() => Err(EngineError::invalid(
            TABLE,
            AttributeError::invalid(name, other.clone(), "a non-empty string"),
        )),
        _ => Err(EngineError::invalid(TABLE, AttributeError::missing(name))),
    }
}

async fn search_in(
    state: &EngineState,
    caller: &crate::auth::Identity,
    scope: UserScope,
    fields: &Fields,
) -> Result<HttpResponse, ApiError> {
    let request = SearchRequest::from_fields(fields)?;
    let (users, total) = user::search(
        &*state.store,
        caller,
        scope,
        request.query,
        request.page,
        &request.sort,
    )
    .await?;
    Ok(response::list(
        users.into_iter().map(to_json).collect(),
        total,
    ))
}

/// `GET /api/user`, `POST /api/user/_search`, `GET|POST /api/organization/user[/_search]`:
/// every user (superadmins).
pub async fn search_users(
    state: web::Data<EngineState>,
    caller: Caller<roles::SuperAdmin>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    search_in(&state, &caller, UserScope::All, &fields).await
}

/// `POST /api/user/_stats`: aggregates over every user (superadmins).
pub async fn user_stats(
    state: web::Data<EngineState>,
    caller: Caller<roles::SuperAdmin>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    let request = StatsRequest::from_fields(&fields)?;
    let stats = user::stats(
        &*state.store,
        &caller,
        UserScope::All,
        request.query,
        &request.aggregations,
    )
    .await?;
    Ok(response::ok(&stats))
}

/// `GET /api/organization/{id}/user`, `POST …/user/_search`: users of one organisation.
pub async fn search_organization_users(
    state: web::Data<EngineState>,
    caller: Caller<roles::Admin>,
    id: web::Path<String>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    let scope = UserScope::Organization(OrgId::new(id.into_inner()));
    search_in(&state, &caller, scope, &fields).await
}

/// `POST /api/user`: creates a user; with no user at all, the first-run pseudo-user creates the
/// first superadmin.
pub async fn create_user(
    state: web::Data<EngineState>,
    caller: Caller<roles::Admin>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    let draft = draft_from(fields)?;
    let created = if caller.method == AuthMethod::Init {
        let _only_one = state.first_run.first_user_guard().await;
        if state.has_users().await? {
            return Err(EngineError::Unauthenticated.into());
        }
        let created = user::create(&*state.store, &caller, draft).await?;
        state.mark_has_users();
        created
    } else {
        user::create(&*state.store, &caller, draft).await?
    };
    Ok(response::created(&UserResponse::from(created)))
}

/// `GET /api/user/current`: the caller, with its preferences.
pub async fn current_user(
    state: web::Data<EngineState>,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    let current = user::current(&*state.store, &caller).await?;
    Ok(response::ok(&UserResponse::with_preferences(current)))
}

/// `GET /api/user/{id}`: one user of the caller's organisation (any for superadmins).
pub async fn get_user(
    state: web::Data<EngineState>,
    caller: Caller<roles::ReadOrSuperAdmin>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let found = user::get_visible(&*state.store, &caller, &id).await?;
    Ok(response::ok(&UserResponse::from(found)))
}

/// `PATCH /api/user/{id}`: updates a user (self-service or administration).
pub async fn update_user(
    state: web::Data<EngineState>,
    caller: Caller,
    id: web::Path<String>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    let patch = patch_from(fields)?;
    let updated = user::update(&*state.store, &caller, &id, patch).await?;
    Ok(response::ok(&UserResponse::from(updated)))
}

/// `DELETE /api/user/{id}`: locks a user.
pub async fn delete_user(
    state: web::Data<EngineState>,
    caller: Caller<roles::Admin>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    user::lock(&*state.store, &caller, &id).await?;
    Ok(response::no_content())
}

/// `POST /api/user/{id}/password/set`: sets a user's password.
pub async fn set_password(
    state: web::Data<EngineState>,
    caller: Caller<roles::Admin>,
    id: web::Path<String>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    let password = required_password(&fields, "password")?;
    user::set_password(&*state.store, &caller, &id, &password).await?;
    Ok(response::no_content())
}

/// `POST /api/user/{id}/password/change`: changes the caller's own password.
pub async fn change_password(
    state: web::Data<EngineState>,
    caller: Caller,
    id: web::Path<String>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    let current = required_password(&fields, "currentPassword")?;
    let password = required_password(&fields, "password")?;
    user::change_password(&*state.store, &caller, &id, &current, &password).await?;
    Ok(response::no_content())
}

/// `GET /api/user/{id}/key`: reveals an API key as text.
pub async fn get_key(
    state: web::Data<EngineState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let key = user::get_key(&*state.store, &state.keys, &caller, &id).await?;
    Ok(response::text(key))
}

/// `POST /api/user/{id}/key/renew`: replaces an API key, answers the new one as text.
pub async fn renew_key(
    state: web::Data<EngineState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let key = user::renew_key(&*state.store, &state.keys, &caller, &id).await?;
    Ok(response::text(key))
}

/// `POST /api/user/{id}/key/set`: sets an explicit API key.
pub async fn set_key(
    state: web::Data<EngineState>,
    caller: Caller<roles::Admin>,
    id: web::Path<String>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    let key = required_password(&fields, "key")?;
    user::set_key(&*state.store, &state.keys, &caller, &id, &key).await?;
    Ok(response::no_content())
}

/// `DELETE /api/user/{id}/key`: removes an API key.
pub async fn revoke_key(
    state: web::Data<EngineState>,
    caller: Caller<roles::Admin>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    user::revoke_key(&*state.store, &caller, &id).await?;
    Ok(response::no_content())
}
