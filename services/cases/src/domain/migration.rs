//! Database initialisation ("Update Database"): until it has run, the API answers 520 as
//! TheHive does without its index; it seeds the observable data types list. Also the
//! unattended bootstrap of the first admin from configuration.

use serde_json::{Map, Value};
use skep_http::ApiError;
use skep_service::FirstAdmin;
use skep_service::first_run::{first_admin_login, first_admin_password};
use skep_store::{NewDocument, Query, StoreError};

use super::entity;
use crate::state::CasesState;

/// Store kind of service metadata.
const META_KIND: &str = "meta";
/// Id of the document whose presence means "initialised".
const SCHEMA_ID: &str = "schema";
/// Current schema version.
const SCHEMA_VERSION: u64 = 1;

/// Store kind of list items (shared with the lists module).
pub const LIST_KIND: &str = "dblist";
/// Name of the list of accepted observable data types.
pub const DATA_TYPE_LIST: &str = "list_artifactDataType";
/// TheHive's default observable data types.
pub const DEFAULT_DATA_TYPES: [&str; 15] = [
    "filename",
    "fqdn",
    "url",
    "user-agent",
    "domain",
    "ip",
    "mail_subject",
    "hash",
    "mail",
    "registry",
    "uri_path",
    "regexp",
    "other",
    "file",
    "autonomous-system",
];

/// Marks the state migrated when the store was initialised by an earlier run.
pub async fn detect(state: &CasesState) -> anyhow::Result<()> {
    match state.store.get(META_KIND, SCHEMA_ID).await {
        Ok(_) => state.mark_migrated(),
        Err(StoreError::NotFound { .. }) => {}
        Err(error) => return Err(error.into()),
    }
    Ok(())
}

/// Initialises the database (idempotent): seeds the data types list when empty, then records
/// the schema version.
pub async fn migrate(state: &CasesState) -> Result<(), ApiError> {
    let existing = state
        .store
        .count(LIST_KIND, &Query::eq("dblist", DATA_TYPE_LIST))
        .await?;
    if existing == 0 {
        let documents = DEFAULT_DATA_TYPES
            .iter()
            .map(|data_type| {
                let mut item = list_item(DATA_TYPE_LIST, Value::from(*data_type));
                entity::stamp_creation(&mut item.body, crate::auth::INIT_LOGIN);
                item
            })
            .collect();
        state.store.put_many(LIST_KIND, documents).await?;
    }
    let mut body = Map::new();
    body.insert("version".into(), Value::from(SCHEMA_VERSION));
    body.insert("migratedAt".into(), Value::from(entity::now_ms()));
    let marker = NewDocument {
        id: Some(SCHEMA_ID.to_owned()),
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

/// A list item document: id = MD5 of the list name and the value's JSON text.
pub fn list_item(list: &str, value: Value) -> NewDocument {
    use md5::{Digest, Md5};
    let mut hasher = Md5::new();
    hasher.update(list.as_bytes());
    hasher.update([0]);
    hasher.update(value.to_string().as_bytes());
    let mut body = Map::new();
    body.insert("dblist".into(), Value::from(list));
    body.insert("value".into(), value);
    NewDocument {
        id: Some(hex::encode(hasher.finalize())),
        parent: None,
        body,
    }
}

/// The accepted observable data types: the list plus the configured extensions.
pub async fn observable_data_types(state: &CasesState) -> Result<Vec<String>, ApiError> {
    let hits = state
        .store
        .search(
            LIST_KIND,
            &Query::eq("dblist", DATA_TYPE_LIST),
            skep_store::Page::ALL,
            &[],
        )
        .await?;
    let mut types: Vec<String> = hits
        .documents
        .iter()
        .filter_map(|document| document.body.get("value").and_then(Value::as_str))
        .map(str::to_owned)
        .collect();
    types.extend(state.config.observable_data_types.iter().cloned());
    Ok(types)
}

/// Unattended first start: when `bootstrap.admin_login` is set, initialises the database and
/// creates that admin if no user exists. Returns what to show the operator once.
pub async fn bootstrap(state: &CasesState) -> anyhow::Result<Option<FirstAdmin>> {
    let bootstrap = &state.config.bootstrap;
    let Some(login) = first_admin_login(bootstrap.admin_login.as_deref()) else {
        return Ok(None);
    };
    migrate(state)
        .await
        .map_err(|error| anyhow::anyhow!("database initialisation failed: {error:?}"))?;
    let _only_one = state.first_run.first_user_guard().await;
    if crate::auth::has_users(state)
        .await
        .map_err(|error| anyhow::anyhow!("{error:?}"))?
    {
        return Ok(None);
    }
    let (password, generated_password) = first_admin_password(bootstrap.admin_password.as_ref());
    let mut input = Map::new();
    input.insert("login".into(), Value::from(login.clone()));
    input.insert("name".into(), Value::from("Administrator"));
    input.insert(
        "roles".into(),
        Value::from(vec!["read", "write", "admin", "alert"]),
    );
    input.insert("password".into(), Value::from(password));
    if let Some(key) = &bootstrap.admin_key
        && !key.expose().is_empty()
    {
        input.insert("key".into(), Value::from(key.expose()));
    }
    super::user::create(&*state.store, &state.keys, crate::auth::INIT_LOGIN, input)
        .await
        .map_err(|error| anyhow::anyhow!("cannot create the first admin: {error:?}"))?;
    state.mark_has_users();
    Ok(Some(FirstAdmin {
        login,
        generated_password,
    }))
}
