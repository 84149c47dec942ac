//! `/api/user…`: users, passwords and API keys.

use actix_web::{HttpResponse, web};
use serde_json::Value;
use skep_http::{ApiError, Fields};

use crate::auth::{AuthMethod, Caller};
use crate::domain::user;
use crate::roles::{Admin, Read};
use crate::state::CasesState;

/// `GET /api/user/current`: the caller with parsed `preferences`.
pub async fn current_user(
    state: web::Data<CasesState>,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    if caller.method == AuthMethod::Init {
        return Err(ApiError::unauthenticated());
    }
    let found = user::get(&*state.store, &caller.login).await?;
    Ok(skep_http::response::ok(&user::render_current(
        &found.document,
    )))
}

/// `POST /api/user/_search`.
pub async fn search_users(
    state: web::Data<CasesState>,
    _caller: Caller<Read>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    let hits = super::search(&*state.store, user::KIND, &fields, skep_store::Query::All).await?;
    let items = hits
        .documents
        .iter()
        .map(|d| Value::Object(user::render(d)))
        .collect();
    Ok(skep_http::response::list(items, hits.total))
}

/// `POST /api/user`: 201 user (admin, or anyone while no user exists).
pub async fn create_user(
    state: web::Data<CasesState>,
    caller: Caller<Admin>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    let input = fields.body().clone();
    // While no user exists every request is `init`: only one of them creates the first user.
    let _only_one = match caller.method {
        AuthMethod::Init => Some(state.first_run.first_user_guard().await),
        _ => None,
    };
    if caller.method == AuthMethod::Init && crate::auth::has_users(&state).await? {
        return Err(ApiError::unauthenticated());
    }
    let document = user::create(&*state.store, &state.keys, &caller.login, input).await?;
    state.mark_has_users();
    state.identities.clear();
    Ok(skep_http::response::created(&user::render(&document)))
}

/// `GET /api/user/:id`.
pub async fn get_user(
    state: web::Data<CasesState>,
    _caller: Caller<Read>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let found = user::get(&*state.store, &path).await?;
    Ok(skep_http::response::ok(&user::render(&found.document)))
}

/// `PATCH /api/user/:id`: self, or admin for anyone (roles and status: admin only).
pub async fn update_user(
    state: web::Data<CasesState>,
    caller: Caller<Read>,
    path: web::Path<String>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    let input = fields.body().clone();
    let document = user::update(
        &*state.store,
        &caller.login,
        caller.is_admin(),
        &path,
        input,
    )
    .await?;
    state.identities.clear();
    Ok(skep_http::response::ok(&user::render(&document)))
}

/// `DELETE /api/user/:id`: locks the user, 204.
pub async fn lock_user(
    state: web::Data<CasesState>,
    caller: Caller<Admin>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    user::lock(&*state.store, &caller.login, &path).await?;
    state.identities.clear();
    Ok(skep_http::response::no_content())
}

fn required_text<'a>(fields: &'a Fields, name: &str) -> Result<&'a str, ApiError> {
    fields
        .str(name)
        .ok_or_else(|| ApiError::bad_request(format!("{name} is missing")))
}

/// `POST /api/user/:id/password/set` `{password}` (admin): 204.
pub async fn set_password(
    state: web::Data<CasesState>,
    caller: Caller<Admin>,
    path: web::Path<String>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    let password = required_text(&fields, "password")?;
    user::set_password(&*state.store, &caller.login, &path, password).await?;
    state.identities.clear();
    Ok(skep_http::response::no_content())
}

/// `POST /api/user/:id/password/change` `{currentPassword, password}` (self): 204.
pub async fn change_password(
    state: web::Data<CasesState>,
    caller: Caller<Read>,
    path: web::Path<String>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    let current = required_text(&fields, "currentPassword")?;
    let password = required_text(&fields, "password")?;
    user::change_password(&*state.store, &caller.login, &path, current, password).await?;
    state.identities.clear();
    Ok(skep_http::response::no_content())
}

/// `GET /api/user/:id/key` (admin): the key as text; 400 when the user has none.
pub async fn get_key(
    state: web::Data<CasesState>,
    _caller: Caller<Admin>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let key = user::key(&*state.store, &state.keys, &path).await?;
    Ok(skep_http::response::text(key))
}

/// `POST /api/user/:id/key/renew` (admin): a new key as text.
pub async fn renew_key(
    state: web::Data<CasesState>,
    caller: Caller<Admin>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let key = user::renew_key(&*state.store, &state.keys, &caller.login, &path, None).await?;
    state.identities.clear();
    Ok(skep_http::response::text(key))
}

/// `DELETE /api/user/:id/key` (admin): 200, empty.
pub async fn revoke_key(
    state: web::Data<CasesState>,
    caller: Caller<Admin>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    user::revoke_key(&*state.store, &caller.login, &path).await?;
    state.identities.clear();
    Ok(HttpResponse::Ok().finish())
}
