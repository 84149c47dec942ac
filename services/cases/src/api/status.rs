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
    if state.config.http.basic_auth {
        auth_type.push("basic");
    }
    let body = json!({
        "versions": {
            "TheHive": THEHIVE_VERSION,
            "Skep": env!("CARGO_PKG_VERSION"),
        },
        "connectors": connectors(&state).await,
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

/// The connectors block: `cortex` when engines are configured, each checked live (`OK`, or
/// `ERROR` with a `reason`), nothing otherwise (TheHive omits disabled modules the same way).
async fn connectors(state: &CasesState) -> Value {
    state.connector.status().await
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

/// `GET /api/health`: `Ok` when the store and every connector answer, `Warning` when only
/// some do, `Error` when none does (text).
pub async fn get_health(state: web::Data<CasesState>) -> HttpResponse {
    let mut healthy = vec![store_health(&state).await == "OK"];
    if let Some(cortex) = connectors(&state).await.get("cortex") {
        healthy.push(cortex["status"] == "OK");
    }
    let text = if healthy.iter().all(|ok| *ok) {
        "Ok"
    } else if healthy.iter().any(|ok| *ok) {
        "Warning"
    } else {
        "Error"
    };
    skep_http::response::text(text.to_owned())
}
