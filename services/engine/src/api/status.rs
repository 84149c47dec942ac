//! `GET /api/status`: versions and the authentication configuration, as Cortex clients read them.

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::state::EngineState;

/// The Cortex version Skep's engine API is compatible with (TheHive reads `versions.Cortex`).
pub const CORTEX_COMPATIBLE_VERSION: &str = "3.1.8-1";

/// `GET /api/status`: needs no authentication and no migrated store.
pub async fn get_status(state: web::Data<EngineState>) -> HttpResponse {
    let mut auth_types = vec!["local", "key"];
    if state.config.http.basic_auth {
        auth_types.push("basic");
    }
    HttpResponse::Ok().json(json!({
        "versions": {
            "Cortex": CORTEX_COMPATIBLE_VERSION,
            "Skep": env!("CARGO_PKG_VERSION"),
        },
        "config": {
            "protectDownloadsWith": "malware",
            "authType": auth_types,
            "capabilities": ["changePassword", "setPassword", "authByKey"],
            "ssoAutoLogin": false,
        },
    }))
}
