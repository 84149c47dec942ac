//! `GET /api/status` and `GET /api/health`.

use actix_web::{HttpResponse, web};
use serde_json::{Value, json};
use skep_http::ApiError;

use crate::state::CasesState;

/// The TheHive version this service answers as.
pub const THEHIVE_VERSION: &str = "3.5.2-skep";

/// `GET /api/status`: versions, connectors, store health and authentication configuration.
pub async fn get_status(state: web::Data<CasesState>) -> Result<HttpResponse, ApiError> {
    let mut auth_type = vec!["key", "local"];
    if state.config.auth.basic {
        auth_type.push("basic");
    }
    let body = json!({
        "versions": {
            "TheHive": THEHIVE_VERSION,
            "Skep": env!("CARGO_PKG_VERSION"),
        },
        "connectors": connectors(&state),
        "health": {"elasticsearch": store_health(&state).await},
        "config": {
            "protectDownloadsWith": state.config.datastore.zip_password,
            "authType": auth_type,
            "capabilities": ["authByKey", "changePassword", "setPassword"],
            "ssoAutoLogin": false,
        },
    });
    Ok(skep_http::response::ok(&body))
}

/// The connectors block: none until the engine connector exists (TheHive omits disabled
/// modules the same way).
fn connectors(_state: &CasesState) -> Value {
    json!({})
}

async fn store_health(state: &CasesState) -> &'static str {
    match state
        .store
        .count(crate::domain::user::KIND, &skep_store::Query::All)
        .await
    {
        Ok(_) => "OK",
        Err(_) => "ERROR",
    }
}

/// `GET /api/health`: `Ok` when the store answers, `Error` otherwise (text).
pub async fn get_health(state: web::Data<CasesState>) -> HttpResponse {
    let text = match store_health(&state).await {
        "OK" => "Ok",
        _ => "Error",
    };
    skep_http::response::text(text.to_owned())
}
