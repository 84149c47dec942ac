//! Users (`user`): the login is the document id; roles are a set; passwords are argon2 hashes;
//! API keys are kept sealed with a lookup fingerprint, never in clear.

use serde_json::{Map, Value};
use skep_auth::key::KeySealer;
use skep_http::ApiError;
use skep_store::{Document, NewDocument, Query, Store};

use super::entity::{self, Attribute, AttributeType, Model};
use crate::roles::{Role, RoleSet};

/// Store kind (and TheHive model name) of users.
pub const KIND: &str = "user";
const PASSWORD: &str = "password";
const KEY_SEALED: &str = "keySealed";
const KEY_FINGERPRINT: &str = "keyFingerprint";
const PREFERENCES: &str = "preferences";
/// The user's session epoch: raised when the password changes or the user is locked, which
/// ends every session issued before (tokens carry the epoch they were issued at).
const SESSION_EPOCH: &str = "sessionEpoch";

/// User status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserStatus {
    /// Active.
    Ok,
    /// Locked: every authentication is refused with 403.
    Locked,
}

impl UserStatus {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            UserStatus::Ok => "Ok",
            UserStatus::Locked => "Locked",
        }
    }
}

/// Attributes accepted on user create and update.
pub const MODEL: Model = Model {
    name: KIND,
    attributes: &[
        Attribute::required("login", AttributeType::Text).readonly(),
        Attribute::required("name", AttributeType::Text),
        Attribute::required("roles", AttributeType::StringList),
        Attribute::optional("status", AttributeType::Enumeration(&["Ok", "Locked"])),
        Attribute::optional(PASSWORD, AttributeType::Text),
        Attribute::optional("key", AttributeType::Text),
        Attribute::optional("avatar", AttributeType::Text),
        Attribute::optional(PREFERENCES, AttributeType::Any),
    ],
};

/// A stored user as authentication sees it.
#[derive(Debug, Clone)]
pub struct StoredUser {
    /// Login (= document id).
    pub login: String,
    /// Display name.
    pub name: String,
    /// Roles.
    pub roles: RoleSet,
    /// Status.
    pub status: UserStatus,
    /// Session epoch (see [`SESSION_EPOCH`]).
    pub session_epoch: u64,
    /// The stored document.
    pub document: Document,
}

impl StoredUser {
    fn from_document(document: Document) -> StoredUser {
        let body = &document.body;
        StoredUser {
            login: document.id.clone(),
            name: body
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            roles: RoleSet::from_json(body.get("roles")),
            status: match body.get("status").and_then(Value::as_str) {
                Some("Locked") => UserStatus::Locked,
                _ => UserStatus::Ok,
            },
            session_epoch: body.get(SESSION_EPOCH).and_then(Value::as_u64).unwrap_or(0),
            document,
        }
    }
}

/// Normalises a login for lookup and storage.
pub fn normalise_login(login: &str) -> String {
    login.trim().to_lowercase()
}

/// Finds a user by login (case-insensitive); `None` when unknown.
pub async fn find(store: &dyn Store, login: &str) -> Result<Option<StoredUser>, ApiError> {
    match store.get(KIND, &normalise_login(login)).await {
        Ok(document) => Ok(Some(StoredUser::from_document(document))),
        Err(skep_store::StoreError::NotFound { .. }) => Ok(None),
        Err(error) => Err(error.into()),
    }
}

/// Reads a user or answers 404.
pub async fn get(store: &dyn Store, login: &str) -> Result<StoredUser, ApiError> {
    find(store, login)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("user {} not found", normalise_login(login))))
}

/// Finds the user holding the API key with this fingerprint.
pub async fn find_by_key_fingerprint(
    store: &dyn Store,
    fingerprint: &str,
) -> Result<Option<StoredUser>, ApiError> {
    let hits = store
        .search(
            KIND,
            &Query::eq(KEY_FINGERPRINT, fingerprint),
            skep_store::Page {
                offset: 0,
                limit: Some(1),
            },
            &[],
        )
        .await?;
    Ok(hits
        .documents
        .into_iter()
        .next()
        .map(StoredUser::from_document))
}

/// The user's stored password hash, if it has a password.
pub fn password_hash(user: &StoredUser) -> Option<&str> {
    user.document.body.get(PASSWORD).and_then(Value::as_str)
}

/// True when `password` matches the user's stored hash (false without a password).
pub async fn password_matches(user: &StoredUser, password: &str) -> bool {
    match password_hash(user) {
        Some(hash) => skep_auth::password::verify(password, hash)
            .await
            .unwrap_or(false),
        None => false,
    }
}

/// Renders a user without its sensitive attributes, with `hasKey`.
pub fn render(document: &Document) -> Map<String, Value> {
    let mut output = entity::render(KIND, document);
    let has_key = output.contains_key(KEY_SEALED);
    for key in [
        PASSWORD,
        KEY_SEALED,
        KEY_FINGERPRINT,
        PREFERENCES,
        SESSION_EPOCH,
        "key",
    ] {
        output.remove(key);
    }
    output.insert("hasKey".into(), Value::Bool(has_key));
    output
}

/// Renders the current user: as [`render`] plus `preferences` parsed as an object.
pub fn render_current(document: &Document) -> Map<String, Value> {
    let mut output = render(document);
    let preferences = document
        .body
        .get(PREFERENCES)
        .and_then(Value::as_str)
        .and_then(|text| serde_json::from_str::<Value>(text).ok())
        .filter(Value::is_object)
        .unwrap_or_else(|| Value::Object(Map::new()));
    output.insert(PREFERENCES.into(), preferences);
    output
}

fn normalise_roles(value: &Value) -> Result<Value, ApiError> {
    let names = value.as_array().cloned().unwrap_or_default();
    let mut roles = Vec::new();
    for name in &names {
        match name.as_str().and_then(Role::parse) {
            Some(role) => roles.push(role),
            None => {
                return Err(ApiError::attribute_errors(
                    KIND,
                    vec![skep_http::AttributeError {
                        name: "roles".into(),
                        value: value.clone(),
                        error_type: skep_http::AttributeErrorType::InvalidFormat,
                        message: format!("Invalid role {name}"),
                    }],
                ));
            }
        }
    }
    Ok(Value::from(RoleSet::of(&roles).names()))
}

fn preferences_text(value: &Value) -> Value {
    match value {
        Value::String(_) => value.clone(),
        other => Value::from(other.to_string()),
    }
}

/// Creates a user from a `POST /api/user` body; the login becomes the id. A duplicate login
/// answers 400 ConflictError.
pub async fn create(
    store: &dyn Store,
    keys: &KeySealer,
    actor: &str,
    input: Map<String, Value>,
) -> Result<Document, ApiError> {
    let mut body = MODEL.check_create(input)?;
    let login = body
        .remove("login")
        .and_then(|login| login.as_str().map(normalise_login))
        .filter(|login| !login.is_empty())
        .ok_or_else(|| ApiError::bad_request("login must not be empty"))?;
    let roles = normalise_roles(body.get("roles").unwrap_or(&Value::Null))?;
    body.insert("roles".into(), roles);
    body.entry("status").or_insert_with(|| Value::from("Ok"));
    let preferences = body
        .remove(PREFERENCES)
        .map(|value| preferences_text(&value));
    body.insert(
        PREFERENCES.into(),
        preferences.unwrap_or_else(|| Value::from("{}")),
    );
    if let Some(password) = body
        .remove(PASSWORD)
        .and_then(|p| p.as_str().map(str::to_owned))
    {
        body.insert(
            PASSWORD.into(),
            Value::from(hash_password(&password).await?),
        );
    }
    if let Some(key) = body
        .remove("key")
        .and_then(|k| k.as_str().map(str::to_owned))
    {
        seal_key_into(&mut body, keys, &key);
    }
    entity::stamp_creation(&mut body, actor);
    let document = NewDocument {
        id: Some(login),
        parent: None,
        body,
    };
    Ok(store.put(KIND, document).await?)
}

async fn hash_password(password: &str) -> Result<String, ApiError> {
    skep_auth::password::hash(password)
        .await
        .map_err(|error| ApiError::internal(&error))
}

fn seal_key_into(body: &mut Map<String, Value>, keys: &KeySealer, key: &str) {
    body.insert(KEY_SEALED.into(), Value::from(keys.seal(key)));
    body.insert(KEY_FINGERPRINT.into(), Value::from(keys.fingerprint(key)));
}

/// Updates a user (`PATCH /api/user/:id`). `caller_is_admin` gates `roles` and `status`;
/// non-admins may only change themselves; `password` and `key` need their dedicated routes.
pub async fn update(
    store: &dyn Store,
    actor: &str,
    caller_is_admin: bool,
    login: &str,
    input: Map<String, Value>,
) -> Result<Document, ApiError> {
    if input.contains_key(PASSWORD) || input.contains_key("key") {
        return Err(ApiError::forbidden(
            "use the dedicated API to change a password or a key",
        ));
    }
    let user = get(store, login).await?;
    if !caller_is_admin
        && (user.login != normalise_login(actor)
            || input.contains_key("roles")
            || input.contains_key("status"))
    {
        return Err(crate::auth::insufficient_rights());
    }
    let mut changes = MODEL.check_update(input)?;
    if let Some(roles) = changes.get("roles").cloned() {
        changes.insert("roles".into(), normalise_roles(&roles)?);
    }
    if let Some(preferences) = changes.get(PREFERENCES).cloned() {
        changes.insert(PREFERENCES.into(), preferences_text(&preferences));
    }
    let mut body = user.document.body.clone();
    if changes
        .get("status")
        .is_some_and(|status| status.as_str() != Some(user.status.as_str()))
    {
        raise_session_epoch(&mut body, user.session_epoch);
    }
    entity::apply_update(&mut body, &changes);
    entity::stamp_update(&mut body, actor);
    Ok(store
        .update(KIND, &user.login, Some(user.document.version), body)
        .await?)
}

async fn replace_body(
    store: &dyn Store,
    actor: &str,
    user: StoredUser,
    change: impl FnOnce(&mut Map<String, Value>),
) -> Result<Document, ApiError> {
    let mut body = user.document.body.clone();
    change(&mut body);
    entity::stamp_update(&mut body, actor);
    Ok(store
        .update(KIND, &user.login, Some(user.document.version), body)
        .await?)
}

/// Ends every session of the user: its session epoch moves past `current`.
fn raise_session_epoch(body: &mut Map<String, Value>, current: u64) {
    body.insert(SESSION_EPOCH.into(), Value::from(current.saturating_add(1)));
}

/// Locks a user (TheHive's user "delete").
pub async fn lock(store: &dyn Store, actor: &str, login: &str) -> Result<(), ApiError> {
    let user = get(store, login).await?;
    let epoch = user.session_epoch;
    replace_body(store, actor, user, |body| {
        body.insert("status".into(), Value::from("Locked"));
        raise_session_epoch(body, epoch);
    })
    .await?;
    Ok(())
}

/// Sets a user's password (admin).
pub async fn set_password(
    store: &dyn Store,
    actor: &str,
    login: &str,
    password: &str,
) -> Result<(), ApiError> {
    let user = get(store, login).await?;
    let hash = hash_password(password).await?;
    let epoch = user.session_epoch;
    replace_body(store, actor, user, |body| {
        body.insert(PASSWORD.into(), Value::from(hash));
        raise_session_epoch(body, epoch);
    })
    .await?;
    Ok(())
}

/// Changes the caller's own password; a wrong current password answers 403.
pub async fn change_password(
    store: &dyn Store,
    actor: &str,
    login: &str,
    current: &str,
    password: &str,
) -> Result<(), ApiError> {
    let user = get(store, login).await?;
    if user.login != normalise_login(actor) {
        return Err(crate::auth::insufficient_rights());
    }
    if !password_matches(&user, current).await {
        return Err(ApiError::forbidden("Authentication failure"));
    }
    set_password(store, actor, login, password).await
}

/// Reveals a user's API key; none gives 400 BadRequest.
pub async fn key(store: &dyn Store, keys: &KeySealer, login: &str) -> Result<String, ApiError> {
    let user = get(store, login).await?;
    let sealed = user
        .document
        .body
        .get(KEY_SEALED)
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::bad_request(format!("User {} has no key", user.login)))?;
    keys.open(sealed)
        .map_err(|error| ApiError::internal(&error))
}

/// Gives a user a new API key (or `key` when supplied) and returns it.
pub async fn renew_key(
    store: &dyn Store,
    keys: &KeySealer,
    actor: &str,
    login: &str,
    key: Option<String>,
) -> Result<String, ApiError> {
    let user = get(store, login).await?;
    let key = key.unwrap_or_else(skep_auth::key::generate);
    let sealed_key = key.clone();
    replace_body(store, actor, user, |body| {
        seal_key_into(body, keys, &sealed_key)
    })
    .await?;
    Ok(key)
}

/// Removes a user's API key.
pub async fn revoke_key(store: &dyn Store, actor: &str, login: &str) -> Result<(), ApiError> {
    let user = get(store, login).await?;
    replace_body(store, actor, user, |body| {
        body.remove(KEY_SEALED);
        body.remove(KEY_FINGERPRINT);
    })
    .await?;
    Ok(())
}
