//! `/api/datastore/:hash` and `/api/datastorezip/:hash`: attachment downloads.

use actix_web::{HttpResponse, web};
use skep_http::{ApiError, Fields};

use crate::auth::Caller;
use crate::domain::datastore;
use crate::roles::Read;
use crate::state::CasesState;

fn download_name(fields: &Fields, hash: &str) -> Result<String, ApiError> {
    let name = fields
        .str("name")
        .filter(|name| !name.is_empty())
        .unwrap_or(hash)
        .to_owned();
    datastore::check_name(&name)?;
    Ok(name)
}

fn attachment_header(name: &str) -> String {
    format!("attachment; filename=\"{}\"", urlencoding::encode(name))
}

/// `GET /api/datastore/:hash?name=`: the raw content.
pub async fn download(
    state: web::Data<CasesState>,
    _caller: Caller<Read>,
    path: web::Path<String>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    let name = download_name(&fields, &path)?;
    let bytes = datastore::read(&*state.store, &path).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/octet-stream")
        .insert_header(("Content-Disposition", attachment_header(&name)))
        .body(bytes))
}

/// `GET /api/datastorezip/:hash?name=`: the content in a zip encrypted (ZipCrypto) with the
/// configured password.
pub async fn download_zip(
    state: web::Data<CasesState>,
    _caller: Caller<Read>,
    path: web::Path<String>,
    fields: Fields,
) -> Result<HttpResponse, ApiError> {
    let name = download_name(&fields, &path)?;
    let bytes = datastore::read(&*state.store, &path).await?;
    let archive = datastore::zip(&name, &bytes, &state.config.datastore.zip_password)?;
    Ok(HttpResponse::Ok()
        .content_type("application/zip")
        .insert_header((
            "Content-Disposition",
            attachment_header(&format!("{name}.zip")),
        ))
        .body(archive))
}
