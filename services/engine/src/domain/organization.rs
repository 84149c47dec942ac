//! Organisations: the tenants of the engine. The default organisation `cortex` holds the
//! superadmins and can be neither changed nor locked; deleting an organisation locks it.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use skep_store::{Aggregation, Document, Hits, NewDocument, Page, Query, Sort, Store, StoreError};

use crate::auth::Identity;
use crate::domain::{ORGANIZATION_KIND, OrgId, now_ms};
use crate::error::EngineError;

/// Whether an organisation's users may work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OrgStatus {
    /// Users of the organisation may log in and work.
    Active,
    /// Every user of the organisation is refused with 403.
    Locked,
}

impl OrgStatus {
    /// Parses `Active`/`Locked`.
    pub fn parse(text: &str) -> Option<OrgStatus> {
        match text {
            "Active" => Some(OrgStatus::Active),
            "Locked" => Some(OrgStatus::Locked),
            _ => None,
        }
    }
}

/// An organisation as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Organization {
    /// Name, also the id.
    pub name: OrgId,
    /// Free text.
    pub description: String,
    /// Active or locked.
    pub status: OrgStatus,
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

impl Organization {
    /// True when its users may work.
    pub fn is_active(&self) -> bool {
        self.status == OrgStatus::Active
    }

    fn from_document(document: Document) -> Result<Organization, EngineError> {
        serde_json::from_value(Value::Object(document.body)).map_err(|error| {
            EngineError::Store(StoreError::Backend(anyhow::anyhow!(
                "organization {} is malformed: {error}",
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
}

/// A new organisation, validated.
#[derive(Debug, Clone)]
pub struct OrganizationDraft {
    /// Name (becomes the id).
    pub name: OrgId,
    /// Description.
    pub description: String,
    /// Initial status (default Active).
    pub status: OrgStatus,
}

/// Changes to an organisation.
#[derive(Debug, Clone, Default)]
pub struct OrganizationPatch {
    /// New description.
    pub description: Option<String>,
    /// New status.
    pub status: Option<OrgStatus>,
}

/// Reads an organisation, `None` when it does not exist.
pub async fn find(store: &dyn Store, id: &OrgId) -> Result<Option<Organization>, EngineError> {
    match store.get(ORGANIZATION_KIND, id.as_str()).await {
        Ok(document) => Organization::from_document(document).map(Some),
        Err(StoreError::NotFound { .. }) => Ok(None),
        Err(error) => Err(error.into()),
    }
}

/// Reads an organisation the caller may see: superadmins see all, orgadmins their own; anything
/// else is 404.
pub async fn get_visible(
    store: &dyn Store,
    caller: &Identity,
    id: &OrgId,
) -> Result<Organization, EngineError> {
    let visible = caller.is_superadmin()
        || (caller.has(crate::roles::Role::OrgAdmin) && &caller.organization == id);
    if !visible {
        return Err(EngineError::not_found(ORGANIZATION_KIND, id.as_str()));
    }
    find(store, id)
        .await?
        .ok_or_else(|| EngineError::not_found(ORGANIZATION_KIND, id.as_str()))
}

/// Creates the default organisation if it is missing (the migration step).
pub async fn ensure_default(store: &dyn Store) -> Result<(), EngineError> {
    let default = Organization {
        name: OrgId::default_org(),
        description: "Default organization".to_owned(),
        status: OrgStatus::Active,
        created_by: "init".to_owned(),
        created_at: now_ms(),
        updated_by: None,
        updated_at: None,
    };
    let document = NewDocument {
        id: Some(OrgId::DEFAULT.to_owned()),
        parent: None,
        body: default.to_body(),
    };
    match store.put(ORGANIZATION_KIND, document).await {
        Ok(_) => Ok(()),
        Err(error) if error.is_duplicate() => Ok(()),
        Err(error) => Err(error.into()),
    }
}

/// Creates an organisation.
pub async fn create(
    store: &dyn Store,
    caller: &Identity,
    draft: OrganizationDraft,
) -> Result<Organization, EngineError> {
    let organization = Organization {
        name: draft.name,
        description: draft.description,
        status: draft.status,
        created_by: caller.login.clone(),
        created_at: now_ms(),
        updated_by: None,
        updated_at: None,
    };
    let document = NewDocument {
        id: Some(organization.name.as_str().to_owned()),
        parent: None,
        body: organization.to_body(),
    };
    store.put(ORGANIZATION_KIND, document).await?;
    Ok(organization)
}

/// Updates an organisation's description or status; the default organisation is immutable.
pub async fn update(
    store: &dyn Store,
    caller: &Identity,
    id: &OrgId,
    patch: OrganizationPatch,
) -> Result<Organization, EngineError> {
    let mut organization = get_visible(store, caller, id).await?;
    if id.is_default() {
        return Err(EngineError::BadRequest(
            "The default organization cannot be modified".to_owned(),
        ));
    }
    if let Some(description) = patch.description {
        organization.description = description;
    }
    if let Some(status) = patch.status {
        organization.status = status;
    }
    organization.updated_by = Some(caller.login.clone());
    organization.updated_at = Some(now_ms());
    store
        .update(ORGANIZATION_KIND, id.as_str(), None, organization.to_body())
        .await?;
    Ok(organization)
}

/// "Deletes" an organisation: locks it, so its users are refused and its data is kept.
pub async fn lock(store: &dyn Store, caller: &Identity, id: &OrgId) -> Result<(), EngineError> {
    if id.is_default() {
        // Checked before the lookup so that the answer does not depend on visibility rules.
        find(store, id)
            .await?
            .ok_or_else(|| EngineError::not_found(ORGANIZATION_KIND, id.as_str()))?;
        return Err(EngineError::BadRequest(
            "The default organization cannot be deleted".to_owned(),
        ));
    }
    let patch = OrganizationPatch {
        description: None,
        status: Some(OrgStatus::Locked),
    };
    update(store, caller, id, patch).await.map(|_| ())
}

/// Searches organisations.
pub async fn search(
    store: &dyn Store,
    query: &Query,
    page: Page,
    sort: &[Sort],
) -> Result<(Vec<Organization>, u64), EngineError> {
    let Hits { total, documents } = store.search(ORGANIZATION_KIND, query, page, sort).await?;
    let organizations = documents
        .into_iter()
        .map(Organization::from_document)
        .collect::<Result<Vec<_>, _>>()?;
    Ok((organizations, total))
}

/// Aggregates over organisations (`_stats`).
pub async fn stats(
    store: &dyn Store,
    query: &Query,
    aggregations: &[Aggregation],
) -> Result<Map<String, Value>, EngineError> {
    Ok(store
        .aggregate(ORGANIZATION_KIND, query, aggregations)
        .await?)
}

/// What `nstats=true` adds to an organisation, as Cortex renders it: its users by status with a
/// total, and the number of analyzers it has enabled.
pub async fn usage_stats(store: &dyn Store, id: &OrgId) -> Result<Value, EngineError> {
    let in_organization = Query::eq("organization", id.as_str());
    let mut users = Map::new();
    let mut total = 0;
    for status in ["Ok", "Locked"] {
        let query = in_organization.clone().and(Query::eq("status", status));
        let count = store.count(crate::domain::USER_KIND, &query).await?;
        if count > 0 {
            users.insert(status.to_owned(), Value::from(count));
        }
        total += count;
    }
    users.insert("total".to_owned(), Value::from(total));
    let analyzers = in_organization.and(Query::eq("type", "analyzer"));
    let analyzer_count = store
        .count(crate::jobs::worker::WORKER_KIND, &analyzers)
        .await?;
    Ok(serde_json::json!({
        "users": users,
        "analyzers": {"total": analyzer_count},
    }))
}
