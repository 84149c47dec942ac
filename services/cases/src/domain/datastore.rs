//! The attachment datastore: file contents kept once per SHA-256, in 50 KiB base64 chunks
//! (`<sha256>_<n>`, kind `data`), as TheHive stores them, so both store backends hold them.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use md5::Md5;
use serde::Serialize;
use serde_json::{Map, Value};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use skep_http::ApiError;
use skep_store::{NewDocument, Store, StoreError};

/// Store kind of attachment chunks.
pub const KIND: &str = "data";
/// Size of one stored chunk before base64.
const CHUNK_BYTES: usize = 50 * 1024;
/// Characters refused in attachment names.
const FORBIDDEN_NAME_CHARACTERS: &[char] = &[
    '/', '\\', '\n', '\r', '\t', '\0', '\u{c}', '`', '?', '*', '<', '>', '|', '"', ':', ';',
];

/// Metadata of a stored file, as embedded in logs and observables (`attachment`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Attachment {
    /// SHA-256 hex of the content (the datastore key).
    pub id: String,
    /// File name as uploaded.
    pub name: String,
    /// `[sha256, sha1, md5]` hex digests.
    pub hashes: Vec<String>,
    /// Size in bytes.
    pub size: u64,
    /// MIME type as uploaded.
    pub content_type: String,
}

impl Attachment {
    /// The JSON object stored in documents.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// Reads an `attachment` object back (`id` required; other keys optional).
    pub fn from_json(value: &Value) -> Option<Attachment> {
        let object = value.as_object()?;
        let text = |key: &str| object.get(key).and_then(Value::as_str).map(str::to_owned);
        Some(Attachment {
            id: text("id")?,
            name: text("name").unwrap_or_default(),
            hashes: object
                .get("hashes")
                .and_then(Value::as_array)
                .map(|hashes| {
                    hashes
                        .iter()
                        .filter_map(|h| h.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
            size: object.get("size").and_then(Value::as_u64).unwrap_or(0),
            content_type: text("contentType").unwrap_or_else(|| "application/octet-stream".into()),
        })
    }
}

/// Checks a file name for the characters TheHive refuses.
pub fn check_name(name: &str) -> Result<(), ApiError> {
    if name.contains(FORBIDDEN_NAME_CHARACTERS) {
        return Err(ApiError::bad_request(format!("invalid file name {name:?}")));
    }
    Ok(())
}

/// Stores `bytes` (once per content) and returns its attachment metadata.
pub async fn put(
    store: &dyn Store,
    bytes: &[u8],
    name: &str,
    content_type: &str,
) -> Result<Attachment, ApiError> {
    check_name(name)?;
    let sha256 = hex::encode(Sha256::digest(bytes));
    let attachment = Attachment {
        id: sha256.clone(),
        name: name.to_owned(),
        hashes: vec![
            sha256.clone(),
            hex::encode(Sha1::digest(bytes)),
            hex::encode(Md5::digest(bytes)),
        ],
        size: bytes.len() as u64,
        content_type: if content_type.is_empty() {
            "application/octet-stream".to_owned()
        } else {
            content_type.to_owned()
        },
    };
    if exists(store, &sha256).await? {
        return Ok(attachment);
    }
    let chunks: Vec<&[u8]> = if bytes.is_empty() {
        vec![bytes]
    } else {
        bytes.chunks(CHUNK_BYTES).collect()
    };
    // The first chunk is written last: its presence means the content is complete.
    let documents: Vec<NewDocument> = chunks
        .iter()
        .enumerate()
        .skip(1)
        .map(|(index, chunk)| chunk_document(&sha256, index, chunk))
        .collect();
    if !documents.is_empty() {
        for result in store.put_many(KIND, documents).await? {
            match result {
                Ok(_) => {}
                Err(error) if error.is_duplicate() => {}
                Err(error) => return Err(error.into()),
            }
        }
    }
    match store.put(KIND, chunk_document(&sha256, 0, chunks[0])).await {
        Ok(_) => Ok(attachment),
        Err(error) if error.is_duplicate() => Ok(attachment),
        Err(error) => Err(error.into()),
    }
}

fn chunk_document(sha256: &str, index: usize, chunk: &[u8]) -> NewDocument {
    let mut body = Map::new();
    body.insert("binary".into(), Value::from(STANDARD.encode(chunk)));
    NewDocument {
        id: Some(format!("{sha256}_{index}")),
        parent: None,
        body,
    }
}

/// True when the content with this SHA-256 is stored.
pub async fn exists(store: &dyn Store, sha256: &str) -> Result<bool, ApiError> {
    match store.get(KIND, &format!("{sha256}_0")).await {
        Ok(_) => Ok(true),
        Err(StoreError::NotFound { .. }) => Ok(false),
        Err(error) => Err(error.into()),
    }
}

/// Reads a stored content back; unknown hash gives 404.
pub async fn read(store: &dyn Store, sha256: &str) -> Result<Vec<u8>, ApiError> {
    let mut content = Vec::new();
    for index in 0usize.. {
        let document = match store.get(KIND, &format!("{sha256}_{index}")).await {
            Ok(document) => document,
            Err(StoreError::NotFound { .. }) if index > 0 => break,
            Err(StoreError::NotFound { .. }) => {
                return Err(ApiError::not_found(format!(
                    "attachment {sha256} not found"
                )));
            }
            Err(error) => return Err(error.into()),
        };
        let encoded = document
            .body
            .get("binary")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let chunk = STANDARD
            .decode(encoded)
            .map_err(|error| ApiError::internal(&error))?;
        content.extend_from_slice(&chunk);
    }
    Ok(content)
}

/// A zip archive holding `bytes` as `name`, encrypted under `password` (what TheHive serves).
pub fn zip(name: &str, bytes: &[u8], password: &str) -> Result<Vec<u8>, ApiError> {
    skep_service::zip::encrypted_zip(name, bytes, password)
        .map_err(|error| ApiError::internal(&error))
}
