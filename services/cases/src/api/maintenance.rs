//! `POST /api/maintenance/migrate`: initialises the database ("Update Database").

use actix_web::{HttpResponse, web};
use skep_http::ApiError;

use crate::domain::migration;
use crate::state::CasesState;

/// `POST /api/maintenance/migrate` (no authentication): 204 once the database is ready.
pub async fn migrate(state: web::Data<CasesState>) -> Result<HttpResponse, ApiError> {
    migration::migrate(&state).await?;
    // The "Update Database" page waits for the final migration message on its stream.
    state.activity.publish(serde_json::json!({"base": {
        "objectType": "migration", "tableName": "end", "current": 0, "total": 0, "rootId": 0
    }}));
    Ok(skep_http::response::no_content())
}
