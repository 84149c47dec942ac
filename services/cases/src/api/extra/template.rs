//! `/api/case/template…`: case templates.

use actix_web::{HttpResponse, web};
use skep_http::search::SearchRequest;
use skep_http::{ApiError, Fields};

use crate::auth::Caller;
use crate::domain::template;
use crate::roles::{Admin, Read};
use crate::state::CasesState;

/// `POST /api/case/template/_search`.
pub async fn search_templates(
    state: web::Data<CasesState>,
    _caller: Caller<Read>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    let request = SearchRequest::from_fields(&fields)?;
    let (items, total) = template::search(&*state.store, &request).await?;
    Ok(skep_http::response::list(items, total))
}

/// `POST /api/case/template`: 201 template.
pub async fn create_template(
    state: web::Data<CasesState>,
    caller: Caller<Admin>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    let input = fields.body().clone();
    let rendered = template::create(&*state.store, &caller.login, input).await?;
    Ok(skep_http::response::created(&rendered))
}

/// `GET /api/case/template/:id`.
pub async fn get_template(
    state: web::Data<CasesState>,
    _caller: Caller<Read>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    Ok(skep_http::response::ok(
        &template::get(&*state.store, &path).await?,
    ))
}

/// `PATCH /api/case/template/:id`.
pub async fn update_template(
    state: web::Data<CasesState>,
    caller: Caller<Admin>,
    path: web::Path<String>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    let input = fields.body().clone();
    let rendered = template::update(&*state.store, &caller.login, &path, input).await?;
    Ok(skep_http::response::ok(&rendered))
}

/// `DELETE /api/case/template/:id`: deleted for good, 204.
pub async fn delete_template(
    state: web::Data<CasesState>,
    _caller: Caller<Admin>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    template::delete(&*state.store, &path).await?;
    Ok(skep_http::response::no_content())
}

/// Registers the template routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/api/case/template/_search",
        web::post().to(search_templates),
    )
    .route("/api/case/template", web::post().to(create_template))
    .route("/api/case/template/{id}", web::get().to(get_template))
    .route("/api/case/template/{id}", web::patch().to(update_template))
    .route("/api/case/template/{id}", web::delete().to(delete_template));
}
