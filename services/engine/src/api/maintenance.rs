//! `POST /api/maintenance/migrate`: prepares a fresh store (creates the default organisation) and
//! ends the 520 first-run state.

use actix_web::{HttpResponse, web};
use serde_json::{Map, Value};
use skep_http::{ApiError, response};
use skep_store::NewDocument;

use crate::domain::{META_KIND, now_ms, organization};
use crate::error::EngineError;
use crate::state::{EngineState, MIGRATION_MARKER};

/// `POST /api/maintenance/migrate`: idempotent; 204.
pub async fn migrate(state: web::Data<EngineState>) -> Result<HttpResponse, ApiError> {
    migrate_store(&state).await?;
    Ok(response::no_content())
}

/// Creates the default organisation and the migration marker, if missing.
pub async fn migrate_store(state: &EngineState) -> Result<(), EngineError> {
    organization::ensure_default(&*state.store).await?;
    let mut body = Map::new();
    body.insert("migratedAt".to_owned(), Value::from(now_ms()));
    body.insert("schema".to_owned(), Value::from(1));
    let marker = NewDocument {
        id: Some(MIGRATION_MARKER.to_owned()),
        parent: None,
        body,
    };
    match state.store.put(META_KIND, marker).await {
        Ok(_) => {}
        Err(error) if error.is_duplicate() => {}
        Err(error) => return Err(error.into()),
    }
    state.mark_migrated();
    Ok(())
}
