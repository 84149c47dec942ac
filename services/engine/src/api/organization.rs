//! `/api/organization…`: organisations (superadmins; orgadmins read their own).

use actix_web::{HttpResponse, web};
use serde::Serialize;
use skep_http::search::{SearchRequest, StatsRequest};
use skep_http::{ApiError, AttributeError, Fields, response};

use crate::api::{AttributeReader, is_valid_name};
use crate::auth::Caller;
use crate::domain::OrgId;
use crate::domain::organization::{
    self, OrgStatus, Organization, OrganizationDraft, OrganizationPatch,
};
use crate::error::EngineError;
use crate::roles;
use crate::state::EngineState;

const TABLE: &str = "organization";

/// An organisation on the wire.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrganizationResponse {
    id: String,
    #[serde(rename = "_id")]
    underscore_id: String,
    #[serde(rename = "_type")]
    entity_type: &'static str,
    name: String,
    description: String,
    status: OrgStatus,
    created_by: String,
    created_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    updated_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    updated_at: Option<i64>,
}

impl From<Organization> for OrganizationResponse {
    fn from(organization: Organization) -> Self {
        let name = organization.name.as_str().to_owned();
        OrganizationResponse {
            id: name.clone(),
            underscore_id: name.clone(),
            entity_type: TABLE,
            name,
            description: organization.description,
            status: organization.status,
            created_by: organization.created_by,
            created_at: organization.created_at,
            updated_by: organization.updated_by,
            updated_at: organization.updated_at,
        }
    }
}

fn to_json(organization: Organization) -> serde_json::Value {
    serde_json::to_value(OrganizationResponse::from(organization)).unwrap_or_default()
}

pub(crate) fn draft_from(fields: Fields) -> Result<OrganizationDraft, EngineError> {
    let (body, _files) = fields.into_parts();
    let mut reader = AttributeReader::new(TABLE, body);
    let name = reader.required_string("name");
    if let Some(invalid) = name.as_ref().filter(|name| !is_valid_name(name)) {
        reader.push_error(AttributeError::invalid(
            "name",
            invalid.clone().into(),
            "letters, digits and ._@+-",
        ));
    }
    let description = reader.required_string("description");
    let status = reader.optional_parsed("status", "Active or Locked", OrgStatus::parse);
    reader.finish()?;
    match (name, description) {
        (Some(name), Some(description)) => Ok(OrganizationDraft {
            name: OrgId::new(name),
            description,
            status: status.unwrap_or(OrgStatus::Active),
        }),
        _ => Err(EngineError::BadRequest("invalid organization".to_owned())),
    }
}

pub(crate) fn patch_from(fields: Fields) -> Result<OrganizationPatch, EngineError> {
    let (body, _files) = fields.into_parts();
    let mut reader = AttributeReader::new(TABLE, body);
    reader.refuse_read_only("name");
    let patch = OrganizationPatch {
        description: reader.optional_string("description"),
        status: reader.optional_parsed("status", "Active or Locked", OrgStatus::parse),
    };
    reader.finish()?;
    Ok(patch)
}

/// `GET /api/organization`, `POST /api/organization/_search`: searches organisations.
pub async fn search_organizations(
    state: web::Data<EngineState>,
    _caller: Caller<roles::SuperAdmin>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    let request = SearchRequest::from_fields(&fields)?;
    let with_stats = fields.bool("nstats").unwrap_or(false);
    let (organizations, total) =
        organization::search(&*state.store, &request.query, request.page, &request.sort).await?;
    let mut items = Vec::with_capacity(organizations.len());
    for found in organizations {
        let id = found.name.clone();
        let mut item = to_json(found);
        if with_stats && let Some(object) = item.as_object_mut() {
            let stats = organization::usage_stats(&*state.store, &id).await?;
            object.insert("stats".to_owned(), stats);
        }
        items.push(item);
    }
    Ok(response::list(items, total))
}

/// `POST /api/organization/_stats`: aggregates over organisations.
pub async fn organization_stats(
    state: web::Data<EngineState>,
    _caller: Caller<roles::SuperAdmin>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    let request = StatsRequest::from_fields(&fields)?;
    let stats = organization::stats(&*state.store, &request.query, &request.aggregations).await?;
    Ok(response::ok(&stats))
}

/// `POST /api/organization`: creates an organisation.
pub async fn create_organization(
    state: web::Data<EngineState>,
    caller: Caller<roles::SuperAdmin>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    let draft = draft_from(fields)?;
    let created = organization::create(&*state.store, &caller, draft).await?;
    Ok(response::created(&OrganizationResponse::from(created)))
}

/// `GET /api/organization/{id}`: one organisation (superadmins, or orgadmins of it).
pub async fn get_organization(
    state: web::Data<EngineState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let found =
        organization::get_visible(&*state.store, &caller, &OrgId::new(id.into_inner())).await?;
    Ok(response::ok(&OrganizationResponse::from(found)))
}

/// `PATCH /api/organization/{id}`: changes description or status.
pub async fn update_organization(
    state: web::Data<EngineState>,
    caller: Caller<roles::SuperAdmin>,
    id: web::Path<String>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    let patch = patch_from(fields)?;
    let updated =
        organization::update(&*state.store, &caller, &OrgId::new(id.into_inner()), patch).await?;
    Ok(response::ok(&OrganizationResponse::from(updated)))
}

/// `DELETE /api/organization/{id}`: locks the organisation.
pub async fn delete_organization(
    state: web::Data<EngineState>,
    caller: Caller<roles::SuperAdmin>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    organization::lock(&*state.store, &caller, &OrgId::new(id.into_inner())).await?;
    Ok(response::no_content())
}
