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

/// The connectors block: `cortex` when an engine is configured (checked live: `OK` when its
/// status and the key's user both answer, `AUTH_ERROR` when only the status does, `ERROR`
/// when unreachable), nothing otherwise (TheHive omits disabled modules the same way).
async fn connectors(state: &CasesState) -> Value {
    let Some(engine) = state
        .config
        .engine
        .as_ref()
        .filter(|engine| !engine.url.is_empty())
    else {
        return json!({});
    };
    let server = engine_server_status(engine).await;
    let status = if server["status"] == "OK" {
        "OK"
    } else {
        "ERROR"
    };
    json!({"cortex": {"enabled": true, "status": status, "servers": [server]}})
}

/// How long the status page waits for the engine.
const ENGINE_CHECK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

async fn engine_server_status(engine: &crate::config::EngineConnectorConfig) -> Value {
    let name = if engine.name.is_empty() {
        "ENGINE"
    } else {
        engine.name.as_str()
    };
    let key = engine
        .key
        .as_ref()
        .map(|key| key.expose())
        .unwrap_or_default();
    let unreachable = json!({"name": name, "version": "", "status": "ERROR"});
    let Ok(client) = skep_client::EngineClient::new(&engine.url, key, ENGINE_CHECK_TIMEOUT) else {
        return unreachable;
    };
    let Ok(status) = client.status().await else {
        return unreachable;
    };
    let version = status["versions"]["Cortex"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let status = match client.current_user().await {
        Ok(_) => "OK",
        Err(_) => "AUTH_ERROR",
    };
    json!({"name": name, "version": version, "status": status})
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
