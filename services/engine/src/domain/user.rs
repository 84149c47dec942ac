//! Users of the engine: creation and update under the role rules of the permission table,
//! passwords (argon2id) and API keys (sealed at rest, found by fingerprint).
//!
//! Tenant isolation: a user of another organisation is reported as not found to everyone but a
//! superadmin.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use skep_auth::key::KeySealer;
use skep_http::AttributeError;
use skep_store::{Aggregation, Document, NewDocument, Page, Query, Sort, Store, StoreError};

use crate::auth::Identity;
use crate::domain::organization;
use crate::domain::{OrgId, USER_KIND, now_ms};
use crate::error::EngineError;
use crate::roles::Role;

/// Whether a user may work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum UserStatus {
    /// The user may log in and call the API.
    Ok,
    /// The user is refused with 403.
    Locked,
}

impl UserStatus {
    /// Parses `Ok`/`Locked`.
    pub fn parse(text: &str) -> Option<UserStatus> {
        match text {
            "Ok" => Some(UserStatus::Ok),
            "Locked" => Some(UserStatus::Locked),
            _ => None,
        }
    }
}

/// A user as stored. `password` is an argon2id PHC string; the API key is kept only sealed.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    /// Login, also the id.
    pub login: String,
    /// Display name.
    pub name: String,
    /// The user's organisation.
    pub organization: OrgId,
    /// Roles held.
    pub roles: Vec<Role>,
    /// Ok or Locked.
    pub status: UserStatus,
    /// Raised when the password changes or the user is locked: sessions carry the epoch they
    /// were issued at, so this ends every earlier session.
    pub session_epoch: u64,
    /// Argon2id hash of the password, if one is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// The API key sealed with the server secret, if one is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_sealed: Option<String>,
    /// Keyed fingerprint of the API key, for lookup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_fingerprint: Option<String>,
    /// UI preferences (a JSON object).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferences: Option<Value>,
    /// Avatar, base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar: Option<String>,
    /// Login of the creator.
    pub created_by: String,
    /// Creation time, epoch ms.
    pub created_at: i64,
    /// Login of the last updater.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_by: Option<String>,
    /// Last update time, epoch ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<i64>,
}

impl User {
    /// True when the user has an API key.
    pub fn has_key(&self) -> bool {
        self.key_sealed.is_some()
    }

    /// Ends every session issued so far (see `session_epoch`).
    pub fn end_sessions(&mut self) {
        self.session_epoch = self.session_epoch.saturating_add(1);
    }

    /// True when the user has a password.
    pub fn has_password(&self) -> bool {
        self.password.is_some()
    }

    fn from_document(document: Document) -> Result<User, EngineError> {
        serde_json::from_value(Value::Object(document.body)).map_err(|error| {
            EngineError::Store(StoreError::Backend(anyhow::anyhow!(
                "user {} is malformed: {error}",
                document.id
            )))
        })
    }

    fn to_body(&self) -> Map<String, Value> {
        match serde_json::to_value(self) {
            Ok(Value::Object(body)) => body,
            _ => Map::new(),
        }
    }

    fn touch(&mut self, caller: &Identity) {
        self.updated_by = Some(caller.login.clone());
        self.updated_at = Some(now_ms());
    }
}

/// A new user, validated for shape (the role rules are checked by [`create`]).
#[derive(Debug, Clone)]
pub struct UserDraft {
    /// Login (becomes the id).
    pub login: String,
    /// Display name.
    pub name: String,
    /// Roles.
    pub roles: Vec<Role>,
    /// Target organisation; the caller's when absent.
    pub organization: Option<OrgId>,
    /// Initial password.
    pub password: Option<String>,
    /// Initial status (default Ok).
    pub status: UserStatus,
    /// Avatar, base64.
    pub avatar: Option<String>,
}

/// Changes to a user.
#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    /// New display name.
    pub name: Option<String>,
    /// New roles.
    pub roles: Option<Vec<Role>>,
    /// New status.
    pub status: Option<UserStatus>,
    /// New organisation.
    pub organization: Option<OrgId>,
    /// New avatar.
    pub avatar: Option<String>,
    /// New preferences.
    pub preferences: Option<Value>,
}

/// Reads a user by login, `None` when absent.
pub async fn find(store: &dyn Store, login: &str) -> Result<Option<User>, EngineError> {
    if login.is_empty() {
        return Ok(None);
    }
    match store.get(USER_KIND, login).await {
        Ok(document) => User::from_document(document).map(Some),
        Err(StoreError::NotFound { .. }) => Ok(None),
        Err(error) => Err(error.into()),
    }
}

/// Finds the owner of an API key by its fingerprint, confirming the sealed key matches.
pub async fn find_by_key(
    store: &dyn Store,
    keys: &KeySealer,
    key: &str,
) -> Result<Option<User>, EngineError> {
    let fingerprint = keys.fingerprint(key);
    let query = Query::Eq {
        field: "keyFingerprint".to_owned(),
        value: Value::String(fingerprint),
    };
    let page = Page {
        offset: 0,
        limit: Some(2),
    };
    let hits = store.search(USER_KIND, &query, page, &[]).await?;
    for document in hits.documents {
        let user = User::from_document(document)?;
        let opened = user.key_sealed.as_deref().map(|sealed| keys.open(sealed));
        if let Some(Ok(stored_key)) = opened
            && skep_auth::constant_time_eq(stored_key.as_bytes(), key.as_bytes())
        {
            return Ok(Some(user));
        }
    }
    Ok(None)
}

/// Reads a user the caller may see (own organisation, or any for superadmins); 404 otherwise.
pub async fn get_visible(
    store: &dyn Store,
    caller: &Identity,
    login: &str,
) -> Result<User, EngineError> {
    match find(store, login).await? {
        Some(user) if caller.sees(&user.organization) => Ok(user),
        _ => Err(EngineError::not_found(USER_KIND, login)),
    }
}

/// Reads the caller's own record.
pub async fn current(store: &dyn Store, caller: &Identity) -> Result<User, EngineError> {
    find(store, &caller.login)
        .await?
        .ok_or(EngineError::Unauthenticated)
}

/// Creates a user. Orgadmins create users of their own organisation only and never grant
/// superadmin; the target organisation must exist and be active.
pub async fn create(
    store: &dyn Store,
    caller: &Identity,
    draft: UserDraft,
) -> Result<User, EngineError> {
    caller.require_any(&[Role::OrgAdmin, Role::SuperAdmin])?;
    let organization_id = draft
        .organization
        .clone()
        .unwrap_or_else(|| caller.organization.clone());
    let target = organization::find(store, &organization_id)
        .await?
        .filter(|_| caller.sees(&organization_id))
        .ok_or_else(|| EngineError::not_found("organization", organization_id.as_str()))?;
    if !caller.administers(&organization_id) {
        return Err(EngineError::insufficient_rights());
    }
    if !caller.is_superadmin() && draft.roles.contains(&Role::SuperAdmin) {
        return Err(EngineError::Forbidden(
            "Only a superadmin can grant the superadmin role".to_owned(),
        ));
    }
    if !target.is_active() {
        return Err(EngineError::BadRequest(format!(
            "Organization {organization_id} is locked"
        )));
    }
    check_default_organization_rule(&organization_id, &draft.roles)?;
    let password = match draft.password.as_deref() {
        Some(password) => Some(skep_auth::password::hash(password).await?),
        None => None,
    };
    let user = User {
        login: draft.login,
        name: draft.name,
        organization: organization_id,
        roles: draft.roles,
        status: draft.status,
        session_epoch: 0,
        password,
        key_sealed: None,
        key_fingerprint: None,
        preferences: None,
        avatar: draft.avatar,
        created_by: caller.login.clone(),
        created_at: now_ms(),
        updated_by: None,
        updated_at: None,
    };
    let document = NewDocument {
        id: Some(user.login.clone()),
        parent: None,
        body: user.to_body(),
    };
    store.put(USER_KIND, document).await?;
    Ok(user)
}

/// The default organisation holds superadmins only, and superadmins live only there.
fn check_default_organization_rule(
    organization: &OrgId,
    roles: &[Role],
) -> Result<(), EngineError> {
    let only_superadmin = !roles.is_empty() && roles.iter().all(|role| *role == Role::SuperAdmin);
    if organization.is_default() && !only_superadmin {
        return Err(EngineError::BadRequest(format!(
            "Users of the organization {} must have exactly the role superadmin",
            OrgId::DEFAULT
        )));
    }
    if !organization.is_default() && roles.contains(&Role::SuperAdmin) {
        return Err(EngineError::BadRequest(format!(
            "The role superadmin is only allowed in the organization {}",
            OrgId::DEFAULT
        )));
    }
    Ok(())
}

/// Updates a user. Anyone may change their own name, avatar and preferences; roles, status and
/// organisation need an administrator of the user's organisation (orgadmins cannot grant
/// superadmin nor move users); nobody changes their own status.
pub async fn update(
    store: &dyn Store,
    caller: &Identity,
    login: &str,
    patch: UserPatch,
) -> Result<User, EngineError> {
    let mut user = get_visible(store, caller, login).await?;
    let is_self = caller.login == user.login;
    let administers = caller.administers(&user.organization);
    let touches_access =
        patch.roles.is_some() || patch.status.is_some() || patch.organization.is_some();
    if !administers && (!is_self || touches_access) {
        return Err(EngineError::insufficient_rights());
    }
    if let Some(status) = patch.status
        && is_self
        && status != user.status
    {
        return Err(EngineError::BadRequest(
            "You cannot change your own status".to_owned(),
        ));
    }
    if !caller.is_superadmin() {
        if patch
            .roles
            .as_ref()
            .is_some_and(|roles| roles.contains(&Role::SuperAdmin))
        {
            return Err(EngineError::Forbidden(
                "Only a superadmin can grant the superadmin role".to_owned(),
            ));
        }
        if patch
            .organization
            .as_ref()
            .is_some_and(|org| org != &user.organization)
        {
            return Err(EngineError::Forbidden(
                "Only a superadmin can move a user to another organization".to_owned(),
            ));
        }
    }
    if let Some(organization_id) = &patch.organization
        && organization_id != &user.organization
    {
        organization::find(store, organization_id)
            .await?
            .ok_or_else(|| EngineError::not_found("organization", organization_id.as_str()))?;
    }
    if patch.roles.is_some() || patch.organization.is_some() {
        let organization_id = patch.organization.as_ref().unwrap_or(&user.organization);
        let roles = patch.roles.as_deref().unwrap_or(&user.roles);
        check_default_organization_rule(organization_id, roles)?;
    }
    apply(&mut user, patch);
    user.touch(caller);
    save(store, &user).await?;
    Ok(user)
}

fn apply(user: &mut User, patch: UserPatch) {
    if let Some(name) = patch.name {
        user.name = name;
    }
    if let Some(roles) = patch.roles {
        user.roles = roles;
    }
    if let Some(status) = patch.status {
        if status != user.status {
            user.end_sessions();
        }
        user.status = status;
    }
    if let Some(organization) = patch.organization {
        user.organization = organization;
    }
    if let Some(avatar) = patch.avatar {
        user.avatar = Some(avatar);
    }
    if let Some(preferences) = patch.preferences {
        user.preferences = Some(preferences);
    }
}

async fn save(store: &dyn Store, user: &User) -> Result<(), EngineError> {
    store
        .update(USER_KIND, &user.login, None, user.to_body())
        .await?;
    Ok(())
}

/// Reads a user the caller administers: 404 across organisations, 403 within its own without the
/// orgadmin role.
async fn get_administered(
    store: &dyn Store,
    caller: &Identity,
    login: &str,
) -> Result<User, EngineError> {
    let user = get_visible(store, caller, login).await?;
    if !caller.administers(&user.organization) {
        return Err(EngineError::insufficient_rights());
    }
    Ok(user)
}

/// Reads a user that is the caller or that the caller administers.
async fn get_self_or_administered(
    store: &dyn Store,
    caller: &Identity,
    login: &str,
) -> Result<User, EngineError> {
    let user = get_visible(store, caller, login).await?;
    if caller.login != user.login && !caller.administers(&user.organization) {
        return Err(EngineError::insufficient_rights());
    }
    Ok(user)
}

/// "Deletes" a user: locks it (its jobs and audit trail keep pointing at it). Nobody deletes
/// themselves.
pub async fn lock(store: &dyn Store, caller: &Identity, login: &str) -> Result<(), EngineError> {
    let mut user = get_administered(store, caller, login).await?;
    if caller.login == user.login {
        return Err(EngineError::BadRequest(
            "You cannot delete yourself".to_owned(),
        ));
    }
    user.status = UserStatus::Locked;
    user.end_sessions();
    user.touch(caller);
    save(store, &user).await
}

/// Sets a user's password (administrators of the user's organisation).
pub async fn set_password(
    store: &dyn Store,
    caller: &Identity,
    login: &str,
    password: &str,
) -> Result<(), EngineError> {
    let mut user = get_administered(store, caller, login).await?;
    user.password = Some(skep_auth::password::hash(password).await?);
    user.end_sessions();
    user.touch(caller);
    save(store, &user).await
}

/// Changes the caller's own password after checking the current one.
pub async fn change_password(
    store: &dyn Store,
    caller: &Identity,
    login: &str,
    current_password: &str,
    new_password: &str,
) -> Result<(), EngineError> {
    let mut user = get_visible(store, caller, login).await?;
    if caller.login != user.login {
        return Err(EngineError::insufficient_rights());
    }
    let current_matches = match user.password.as_deref() {
        Some(hash) => skep_auth::password::verify(current_password, hash).await?,
        None => false,
    };
    if !current_matches {
        return Err(EngineError::Forbidden(
            "The current password is incorrect".to_owned(),
        ));
    }
    user.password = Some(skep_auth::password::hash(new_password).await?);
    user.end_sessions();
    user.touch(caller);
    save(store, &user).await
}

/// Reveals a user's API key (the user itself or an administrator of its organisation).
pub async fn get_key(
    store: &dyn Store,
    keys: &KeySealer,
    caller: &Identity,
    login: &str,
) -> Result<String, EngineError> {
    let user = get_self_or_administered(store, caller, login).await?;
    let sealed = user
        .key_sealed
        .as_deref()
        .ok_or_else(|| EngineError::BadRequest(format!("User {login} has no API key")))?;
    Ok(keys.open(sealed)?)
}

/// Replaces a user's API key with a new random one and returns it.
pub async fn renew_key(
    store: &dyn Store,
    keys: &KeySealer,
    caller: &Identity,
    login: &str,
) -> Result<String, EngineError> {
    let mut user = get_self_or_administered(store, caller, login).await?;
    let key = skep_auth::key::generate();
    store_key(store, keys, caller, &mut user, &key).await?;
    Ok(key)
}

/// Shortest API key an administrator may set: a shorter one could be guessed.
pub const MIN_KEY_CHARS: usize = 32;

/// Sets an explicit API key (administrators only, at least [`MIN_KEY_CHARS`] characters);
/// refused when another user already has it.
pub async fn set_key(
    store: &dyn Store,
    keys: &KeySealer,
    caller: &Identity,
    login: &str,
    key: &str,
) -> Result<(), EngineError> {
    if key.chars().count() < MIN_KEY_CHARS {
        return Err(EngineError::invalid(
            "user",
            AttributeError::invalid(
                "key",
                Value::from("[redacted]"),
                "key of at least 32 characters",
            ),
        ));
    }
    let mut user = get_administered(store, caller, login).await?;
    if let Some(owner) = find_by_key(store, keys, key).await?
        && owner.login != user.login
    {
        return Err(EngineError::BadRequest(
            "This API key cannot be used".to_owned(),
        ));
    }
    store_key(store, keys, caller, &mut user, key).await
}

async fn store_key(
    store: &dyn Store,
    keys: &KeySealer,
    caller: &Identity,
    user: &mut User,
    key: &str,
) -> Result<(), EngineError> {
    user.key_sealed = Some(keys.seal(key));
    user.key_fingerprint = Some(keys.fingerprint(key));
    user.touch(caller);
    save(store, user).await
}

/// Removes a user's API key (administrators of its organisation).
pub async fn revoke_key(
    store: &dyn Store,
    caller: &Identity,
    login: &str,
) -> Result<(), EngineError> {
    let mut user = get_administered(store, caller, login).await?;
    user.key_sealed = None;
    user.key_fingerprint = None;
    user.touch(caller);
    save(store, &user).await
}

/// Which users a search covers.
#[derive(Debug, Clone)]
pub enum UserScope {
    /// Every user (superadmins).
    All,
    /// Users of one organisation (its administrators).
    Organization(OrgId),
}

/// Searches users within a scope the caller may read.
pub async fn search(
    store: &dyn Store,
    caller: &Identity,
    scope: UserScope,
    query: Query,
    page: Page,
    sort: &[Sort],
) -> Result<(Vec<User>, u64), EngineError> {
    let query = scoped_query(store, caller, scope, query).await?;
    let hits = store.search(USER_KIND, &query, page, sort).await?;
    let users = hits
        .documents
        .into_iter()
        .map(User::from_document)
        .collect::<Result<Vec<_>, _>>()?;
    Ok((users, hits.total))
}

/// Aggregates over users within a scope the caller may read.
pub async fn stats(
    store: &dyn Store,
    caller: &Identity,
    scope: UserScope,
    query: Query,
    aggregations: &[Aggregation],
) -> Result<Map<String, Value>, EngineError> {
    let query = scoped_query(store, caller, scope, query).await?;
    Ok(store.aggregate(USER_KIND, &query, aggregations).await?)
}

async fn scoped_query(
    store: &dyn Store,
    caller: &Identity,
    scope: UserScope,
    query: Query,
) -> Result<Query, EngineError> {
    match scope {
        UserScope::All => {
            caller.require_any(&[Role::SuperAdmin])?;
            Ok(query)
        }
        UserScope::Organization(organization_id) => {
            organization::get_visible(store, caller, &organization_id).await?;
            Ok(Query::And(vec![
                Query::Eq {
                    field: "organization".to_owned(),
                    value: Value::String(organization_id.as_str().to_owned()),
                },
                query,
            ]))
        }
    }
}
