//! Downloads of stored files: raw, or inside a password-protected zip.

use actix_web::http::header::{self, ContentDisposition, DispositionParam, DispositionType};
use actix_web::{HttpResponse, web};
use skep_http::{ApiError, Fields};

use crate::auth::Caller;
use skep_service::zip::encrypted_zip;

use crate::jobs::datastore::is_sha256;
use crate::jobs::{JobRuntime, JobsError, report};
use crate::roles;

async fn read(
    runtime: &JobRuntime,
    caller: &Caller<roles::Read>,
    hash: &str,
) -> Result<Vec<u8>, ApiError> {
    let not_found = || ApiError::from(JobsError::not_found("attachment", hash));
    if !is_sha256(hash)
        || !report::owns_attachment(runtime.store(), &caller.organization, hash).await?
    {
        return Err(not_found());
    }
    runtime
        .read_attachment(hash.to_owned())
        .await
        .ok_or_else(not_found)
}

fn attachment_disposition(name: String) -> ContentDisposition {
    ContentDisposition {
        disposition: DispositionType::Attachment,
        parameters: vec![DispositionParam::Filename(name)],
    }
}

/// `GET /api/datastore/{hash}?name=`: a stored file of the caller's organisation.
pub async fn download(
    runtime: web::Data<JobRuntime>,
    caller: Caller<roles::Read>,
    hash: web::Path<String>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    let content = read(&runtime, &caller, &hash).await?;
    let name = fields.str("name").unwrap_or(hash.as_str()).to_owned();
    Ok(HttpResponse::Ok()
        .content_type("application/octet-stream")
        .insert_header((header::CONTENT_DISPOSITION, attachment_disposition(name)))
        .body(content))
}

/// `GET /api/datastorezip/{hash}?name=`: the same file in a zip protected by the configured
/// password (`malware` by default).
pub async fn download_zip(
    runtime: web::Data<JobRuntime>,
    caller: Caller<roles::Read>,
    hash: web::Path<String>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    let content = read(&runtime, &caller, &hash).await?;
    let name = fields.str("name").unwrap_or(hash.as_str()).to_owned();
    let password = runtime.config().zip_password.clone();
    let entry = name.clone();
    let zip = tokio::task::spawn_blocking(move || encrypted_zip(&entry, &content, &password))
        .await
        .map_err(|error| ApiError::internal(&error))?
        .map_err(|error| ApiError::internal(&error))?;
    Ok(HttpResponse::Ok()
        .content_type("application/zip")
        .insert_header((
            header::CONTENT_DISPOSITION,
            attachment_disposition(format!("{name}.zip")),
        ))
        .body(zip))
}
