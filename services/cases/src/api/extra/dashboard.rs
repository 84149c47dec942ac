//! `/api/dashboard…`: saved dashboards.

use actix_web::{HttpResponse, web};
use skep_http::search::{SearchRequest, StatsRequest};
use skep_http::{ApiError, Fields};

use crate::auth::Caller;
use crate::domain::dashboard;
use crate::roles::{Read, Write};
use crate::state::CasesState;

/// `GET /api/dashboard`, `POST /api/dashboard/_search`: shared ones and the caller's own.
pub async fn search_dashboards(
    state: web::Data<CasesState>,
    caller: Caller<Read>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    let request = SearchRequest::from_fields(&fields)?;
    let (items, total) = dashboard::search(&*state.store, &caller.login, &request).await?;
    Ok(skep_http::response::list(items, total))
}

/// `POST /api/dashboard/_stats`.
pub async fn dashboard_stats(
    state: web::Data<CasesState>,
    caller: Caller<Read>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    let request = StatsRequest::from_fields(&fields)?;
    Ok(skep_http::response::ok(
        &dashboard::stats(&*state.store, &caller.login, &request).await?,
    ))
}

/// `POST /api/dashboard`: 201 dashboard.
pub async fn create_dashboard(
    state: web::Data<CasesState>,
    caller: Caller<Write>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    let rendered = dashboard::create(&*state.store, &caller.login, fields.body().clone()).await?;
    Ok(skep_http::response::created(&rendered))
}

/// `GET /api/dashboard/:id`.
pub async fn get_dashboard(
    state: web::Data<CasesState>,
    caller: Caller<Read>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    Ok(skep_http::response::ok(
        &dashboard::get(&*state.store, &caller.login, &path).await?,
    ))
}

/// `PATCH /api/dashboard/:id` (owner or admin).
pub async fn update_dashboard(
    state: web::Data<CasesState>,
    caller: Caller<Write>,
    path: web::Path<String>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    let input = fields.body().clone();
    let rendered = dashboard::update(
        &*state.store,
        &caller.login,
        caller.is_admin(),
        &path,
        input,
    )
    .await?;
    Ok(skep_http::response::ok(&rendered))
}

/// `DELETE /api/dashboard/:id` (owner or admin): soft delete, 204.
pub async fn delete_dashboard(
    state: web::Data<CasesState>,
    caller: Caller<Write>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    dashboard::delete(&*state.store, &caller.login, caller.is_admin(), &path).await?;
    Ok(skep_http::response::no_content())
}

/// Registers the dashboard routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/dashboard", web::get().to(search_dashboards))
        .route("/api/dashboard", web::post().to(create_dashboard))
        .route("/api/dashboard/_search", web::post().to(search_dashboards))
        .route("/api/dashboard/_stats", web::post().to(dashboard_stats))
        .route("/api/dashboard/{id}", web::get().to(get_dashboard))
        .route("/api/dashboard/{id}", web::patch().to(update_dashboard))
        .route("/api/dashboard/{id}", web::delete().to(delete_dashboard));
}
