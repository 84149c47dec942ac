//! `/api/list…`, `/api/customFields/:reference` and `/api/describe…`.

use actix_web::{HttpResponse, web};
use serde_json::Value;
use skep_http::{ApiError, Fields};

use crate::auth::Caller;
use crate::domain::{custom_field, describe, list, migration};
use crate::roles::{Admin, Read};
use crate::state::CasesState;

/// `GET /api/list`: the list names.
pub async fn list_names(
    state: web::Data<CasesState>,
    _caller: Caller<Read>,
) -> Result<HttpResponse, ApiError> {
    Ok(skep_http::response::ok(&list::names(&*state.store).await?))
}

/// `GET /api/list/:name`: `{"<itemId>": <value>, …}`.
pub async fn get_list(
    state: web::Data<CasesState>,
    _caller: Caller<Read>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    Ok(skep_http::response::ok(
        &list::get(&*state.store, &path).await?,
    ))
}

/// `POST /api/list/:name`: `{"value": …}` → 200 item id (JSON string); no value → 204.
pub async fn add_list_item(
    state: web::Data<CasesState>,
    caller: Caller<Admin>,
    path: web::Path<String>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    let Some(value) = fields
        .get("value")
        .filter(|value| !value.is_null())
        .cloned()
    else {
        return Ok(skep_http::response::no_content());
    };
    let id = list::add(&*state.store, &caller.login, &path, value).await?;
    Ok(skep_http::response::ok(&id))
}

/// `POST /api/list/:name/_exists`: `{"key", "value"}` → `{"found": bool}`.
pub async fn list_item_exists(
    state: web::Data<CasesState>,
    _caller: Caller<Read>,
    path: web::Path<String>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    let key = fields.str("key").unwrap_or_default().to_owned();
    let value = fields.get("value").cloned().unwrap_or(Value::Null);
    let found = list::exists(&*state.store, &path, &key, &value).await?;
    Ok(skep_http::response::ok(
        &serde_json::json!({"found": found}),
    ))
}

/// `PATCH /api/list/:itemId`: `{"value": …}` → 200 new item id.
pub async fn update_list_item(
    state: web::Data<CasesState>,
    caller: Caller<Admin>,
    path: web::Path<String>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    let value = fields
        .get("value")
        .cloned()
        .ok_or_else(|| ApiError::bad_request("value is missing"))?;
    let id = list::update(&*state.store, &caller.login, &path, value).await?;
    Ok(skep_http::response::ok(&id))
}

/// `DELETE /api/list/:itemId` → 204.
pub async fn delete_list_item(
    state: web::Data<CasesState>,
    _caller: Caller<Admin>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    list::delete(&*state.store, &path).await?;
    Ok(skep_http::response::no_content())
}

/// `GET /api/customFields/:reference`: usage counts; 404 for an unknown field.
pub async fn custom_field_usage(
    state: web::Data<CasesState>,
    _caller: Caller<Read>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    Ok(skep_http::response::ok(
        &custom_field::usage(&*state.store, &path).await?,
    ))
}

async fn describe_inputs(
    state: &CasesState,
) -> Result<(Vec<String>, Vec<serde_json::Map<String, Value>>, Vec<Value>), ApiError> {
    let data_types = migration::observable_data_types(state).await?;
    let custom_fields = custom_field::definitions(&*state.store).await?;
    let metrics = list::values(&*state.store, "case_metrics").await?;
    Ok((data_types, custom_fields, metrics))
}

/// `GET /api/describe/_all`.
pub async fn describe_all(
    state: web::Data<CasesState>,
    _caller: Caller<Read>,
) -> Result<HttpResponse, ApiError> {
    let (data_types, custom_fields, metrics) = describe_inputs(&state).await?;
    Ok(skep_http::response::ok(&describe::describe_all(
        &data_types,
        &custom_fields,
        &metrics,
    )))
}

/// `GET /api/describe/:model`; unknown model → 404.
pub async fn describe_model(
    state: web::Data<CasesState>,
    _caller: Caller<Read>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (data_types, custom_fields, metrics) = describe_inputs(&state).await?;
    let description = describe::describe(&path, &data_types, &custom_fields, &metrics)
        .ok_or_else(|| ApiError::not_found(format!("Model {} not found", path.as_str())))?;
    Ok(skep_http::response::ok(&description))
}

/// Registers the list, custom field and describe routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/list", web::get().to(list_names))
        .route("/api/list/{name}/_exists", web::post().to(list_item_exists))
        .route("/api/list/{name}", web::get().to(get_list))
        .route("/api/list/{name}", web::post().to(add_list_item))
        .route("/api/list/{id}", web::patch().to(update_list_item))
        .route("/api/list/{id}", web::delete().to(delete_list_item))
        .route(
            "/api/customFields/{reference}",
            web::get().to(custom_field_usage),
        )
        .route("/api/describe/_all", web::get().to(describe_all))
        .route("/api/describe/{model}", web::get().to(describe_model));
}
