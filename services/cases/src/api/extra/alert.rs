//! `/api/alert…`: alerts.

use actix_web::{HttpResponse, web};
use serde_json::{Map, Value};
use skep_http::search::{SearchRequest, StatsRequest};
use skep_http::{ApiError, Fields};

use super::multi_output;
use crate::auth::Caller;
use crate::domain::{alert, alert_import};
use crate::roles::{Admin, Alert, Read, Write};
use crate::state::CasesState;

/// Header telling an upserting feeder what happened (`created` or `updated`).
pub const UPSERT_HEADER: &str = "X-Skep-Upsert";

/// `POST /api/alert`: 201 alert; duplicate → 400 ConflictError, or with `?upsert=true` (or the
/// `alerts.upsert_by_default` setting) 200 with the updated alert and `X-Skep-Upsert: updated`.
pub async fn create_alert(
    state: web::Data<CasesState>,
    caller: Caller<Alert>,
    mut fields: Fields,
) -> Result<HttpResponse, ApiError> {
    let upsert = match fields.take("upsert") {
        Some(value) => crate::domain::entity::flag(Some(&value)),
        None => state.config.alerts.upsert_by_default,
    };
    let input = fields.body().clone();
    let (rendered, outcome) = alert::create(&*state.store, &caller.login, input, upsert).await?;
    let mut response = match outcome {
        alert::CreateOutcome::Created => HttpResponse::Created(),
        alert::CreateOutcome::Updated => HttpResponse::Ok(),
    };
    if upsert {
        let label = if outcome == alert::CreateOutcome::Created {
            "created"
        } else {
            "updated"
        };
        response.insert_header((UPSERT_HEADER, label));
    }
    Ok(response.json(rendered))
}

/// `GET /api/alert`, `POST /api/alert/_search`.
pub async fn search_alerts(
    state: web::Data<CasesState>,
    _caller: Caller<Read>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    let request = SearchRequest::from_fields(&fields)?;
    let (items, total) = alert::search(&*state.store, &request).await?;
    Ok(skep_http::response::list(items, total))
}

/// `POST /api/alert/_stats`.
pub async fn alert_stats(
    state: web::Data<CasesState>,
    _caller: Caller<Read>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    let request = StatsRequest::from_fields(&fields)?;
    Ok(skep_http::response::ok(
        &alert::stats(&*state.store, &request).await?,
    ))
}

/// `GET /api/alert/:id` (`?similarity=1` adds `similarCases` and artifact `seen` counts).
pub async fn get_alert(
    state: web::Data<CasesState>,
    _caller: Caller<Read>,
    path: web::Path<String>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    let document = alert::load(&*state.store, &path).await?;
    let mut rendered = alert::render(&document);
    if crate::domain::entity::flag(fields.get("similarity")) {
        alert_import::add_similarity(&*state.store, &mut rendered).await?;
    }
    Ok(skep_http::response::ok(&rendered))
}

/// `PATCH /api/alert/:id`.
pub async fn update_alert(
    state: web::Data<CasesState>,
    caller: Caller<Write>,
    path: web::Path<String>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    let input = fields.body().clone();
    let rendered = alert::update(&*state.store, &caller.login, &path, input).await?;
    Ok(skep_http::response::ok(&rendered))
}

/// `PATCH /api/alert/_bulk`: `{ids, <fields>}` → multi output.
pub async fn bulk_update_alerts(
    state: web::Data<CasesState>,
    caller: Caller<Write>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    let mut input = fields.body().clone();
    let ids = alert::bulk_ids(&mut input)?;
    let mut results = Vec::with_capacity(ids.len());
    for id in &ids {
        let result = alert::update(&*state.store, &caller.login, id, input.clone()).await;
        results.push((id.clone(), result.map(Value::Object)));
    }
    Ok(multi_output(results, actix_web::http::StatusCode::OK))
}

/// `POST /api/alert/_bulk/markAsRead` and `/_bulk/markAsUnread` (Skep): `{ids}` → multi output.
pub async fn bulk_mark_alerts(
    state: web::Data<CasesState>,
    caller: Caller<Write>,
    path: web::Path<String>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    let read = match path.as_str() {
        "markAsRead" => true,
        "markAsUnread" => false,
        other => return Err(ApiError::not_found(format!("no bulk operation {other}"))),
    };
    let ids = alert::bulk_ids(&mut fields.body().clone())?;
    let mut results = Vec::with_capacity(ids.len());
    for id in ids {
        let result = alert::mark_read(&*state.store, &caller.login, &id, read).await;
        results.push((id, result.map(Value::Object)));
    }
    Ok(multi_output(results, actix_web::http::StatusCode::OK))
}

/// `POST /api/alert/_bulk/tag` (Skep): `{ids, tags}` adds the tags to every alert → multi output.
pub async fn bulk_tag_alerts(
    state: web::Data<CasesState>,
    caller: Caller<Write>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    let mut input = fields.body().clone();
    let ids = alert::bulk_ids(&mut input)?;
    let tags: Vec<String> = match input.get("tags") {
        Some(Value::Array(tags)) => tags
            .iter()
            .filter_map(|tag| tag.as_str().map(str::to_owned))
            .collect(),
        Some(Value::String(tag)) => vec![tag.clone()],
        _ => return Err(ApiError::bad_request("tags is missing")),
    };
    let mut results = Vec::with_capacity(ids.len());
    for id in ids {
        let result = alert::add_tags(&*state.store, &caller.login, &id, &tags).await;
        results.push((id, result.map(Value::Object)));
    }
    Ok(multi_output(results, actix_web::http::StatusCode::OK))
}

/// `POST /api/alert/:id/markAsRead`.
pub async fn mark_alert_as_read(
    state: web::Data<CasesState>,
    caller: Caller<Write>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let rendered = alert::mark_read(&*state.store, &caller.login, &path, true).await?;
    Ok(skep_http::response::ok(&rendered))
}

/// `POST /api/alert/:id/markAsUnread`.
pub async fn mark_alert_as_unread(
    state: web::Data<CasesState>,
    caller: Caller<Write>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let rendered = alert::mark_read(&*state.store, &caller.login, &path, false).await?;
    Ok(skep_http::response::ok(&rendered))
}

/// `POST /api/alert/:id/follow`.
pub async fn follow_alert(
    state: web::Data<CasesState>,
    caller: Caller<Write>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let rendered = alert::set_follow(&*state.store, &caller.login, &path, true).await?;
    Ok(skep_http::response::ok(&rendered))
}

/// `POST /api/alert/:id/unfollow`.
pub async fn unfollow_alert(
    state: web::Data<CasesState>,
    caller: Caller<Write>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let rendered = alert::set_follow(&*state.store, &caller.login, &path, false).await?;
    Ok(skep_http::response::ok(&rendered))
}

/// `POST /api/alert/:id/createCase`: 201 case (the existing one when already imported).
pub async fn create_case_from_alert(
    state: web::Data<CasesState>,
    caller: Caller<Write>,
    path: web::Path<String>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    let template = fields.str("caseTemplate").map(str::to_owned);
    let case = alert_import::create_case(&state, &caller.login, &path, template.as_deref()).await?;
    Ok(skep_http::response::created(&case))
}

/// `POST /api/alert/:id/merge/:caseId`: 201 updated case.
pub async fn merge_alert_into_case(
    state: web::Data<CasesState>,
    caller: Caller<Write>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (alert_id, case_id) = path.into_inner();
    let case = alert_import::merge_into_case(&state, &caller.login, &alert_id, &case_id).await?;
    Ok(skep_http::response::created(&case))
}

/// `POST /api/alert/merge/_bulk`: `{caseId, alertIds}` → 201 case.
pub async fn merge_alerts_into_case(
    state: web::Data<CasesState>,
    caller: Caller<Write>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    let case_id = fields
        .str("caseId")
        .ok_or_else(|| ApiError::bad_request("caseId is missing"))?
        .to_owned();
    let alert_ids: Vec<String> = match fields.get("alertIds") {
        Some(Value::Array(ids)) => ids
            .iter()
            .filter_map(|id| id.as_str().map(str::to_owned))
            .collect(),
        Some(Value::String(id)) => vec![id.clone()],
        _ => return Err(ApiError::bad_request("alertIds is missing")),
    };
    let mut case = Map::new();
    for alert_id in &alert_ids {
        case = alert_import::merge_into_case(&state, &caller.login, alert_id, &case_id).await?;
    }
    if alert_ids.is_empty() {
        case = alert_import::load_case(&*state.store, &case_id).await?;
    }
    Ok(skep_http::response::created(&case))
}

/// `DELETE /api/alert/:id` (`?force=1` deletes for good; otherwise the alert is marked unread).
pub async fn delete_alert(
    state: web::Data<CasesState>,
    caller: Caller<Write>,
    path: web::Path<String>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    let force = crate::domain::entity::flag(fields.get("force"));
    alert::delete(&*state.store, &caller.login, &path, force).await?;
    Ok(skep_http::response::no_content())
}

/// `POST /api/alert/delete/_bulk`: `{ids, force?}` → 204.
pub async fn bulk_delete_alerts(
    state: web::Data<CasesState>,
    caller: Caller<Admin>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    let mut input = fields.body().clone();
    let ids = alert::bulk_ids(&mut input)?;
    let force = crate::domain::entity::flag(input.get("force"));
    for id in &ids {
        alert::delete(&*state.store, &caller.login, id, force).await?;
    }
    Ok(skep_http::response::no_content())
}

/// `GET /api/alert/_fixStatus`: legacy status names fixed (none are ever written) → 204.
pub async fn fix_alert_status(_caller: Caller<Admin>) -> HttpResponse {
    skep_http::response::no_content()
}

/// Registers the alert routes (specific paths before `{id}`).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/alert/_search", web::post().to(search_alerts))
        .route("/api/alert/_stats", web::post().to(alert_stats))
        .route("/api/alert/_bulk", web::patch().to(bulk_update_alerts))
        .route("/api/alert/_fixStatus", web::get().to(fix_alert_status))
        .route("/api/alert/_bulk/tag", web::post().to(bulk_tag_alerts))
        .route(
            "/api/alert/_bulk/{operation}",
            web::post().to(bulk_mark_alerts),
        )
        .route(
            "/api/alert/merge/_bulk",
            web::post().to(merge_alerts_into_case),
        )
        .route(
            "/api/alert/delete/_bulk",
            web::post().to(bulk_delete_alerts),
        )
        .route(
            "/api/alert/{id}/markAsRead",
            web::post().to(mark_alert_as_read),
        )
        .route(
            "/api/alert/{id}/markAsUnread",
            web::post().to(mark_alert_as_unread),
        )
        .route("/api/alert/{id}/follow", web::post().to(follow_alert))
        .route("/api/alert/{id}/unfollow", web::post().to(unfollow_alert))
        .route(
            "/api/alert/{id}/createCase",
            web::post().to(create_case_from_alert),
        )
        .route(
            "/api/alert/{id}/merge/{caseId}",
            web::post().to(merge_alert_into_case),
        )
        .route("/api/alert", web::get().to(search_alerts))
        .route("/api/alert", web::post().to(create_alert))
        .route("/api/alert/{id}", web::get().to(get_alert))
        .route("/api/alert/{id}", web::patch().to(update_alert))
        .route("/api/alert/{id}", web::delete().to(delete_alert));
}
