//! Observables (`case_artifact`, children of cases): one value or many per request, files in
//! the datastore (archives unpacked with `isZip`), deterministic ids, duplicate handling
//! (a Deleted duplicate is revived), the data type list, `stats` (seen/ioc).

use md5::{Digest, Md5};
use serde_json::{Map, Value};
use skep_http::{ApiError, UploadedFile};
use skep_store::{Document, NewDocument, Store, StoreError};

use super::datastore::{self, Attachment};
use super::entity::{self, Attribute, AttributeType, Model};
use super::similarity;

/// Store kind (and TheHive model name) of observables.
pub const KIND: &str = "case_artifact";

/// Attributes accepted on observable create and update.
pub const MODEL: Model = Model {
    name: KIND,
    attributes: &[
        Attribute::optional("data", AttributeType::Text).readonly(),
        Attribute::required("dataType", AttributeType::Text).readonly(),
        Attribute::optional("message", AttributeType::Text),
        Attribute::optional("startDate", AttributeType::Date),
        Attribute::optional("attachment", AttributeType::Any).readonly(),
        Attribute::optional("tlp", AttributeType::Integer { min: 0, max: 3 }),
        Attribute::optional("tags", AttributeType::StringList),
        Attribute::optional("ioc", AttributeType::Boolean),
        Attribute::optional("sighted", AttributeType::Boolean),
        Attribute::optional("status", AttributeType::Enumeration(&["Ok", "Deleted"])),
        Attribute::optional("reports", AttributeType::Object),
    ],
};

/// What to do when an observable with the same id already exists (and is not Deleted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnDuplicate {
    /// Answer `400 ConflictError "Artifact already exists"` (the HTTP API).
    Reject,
    /// Add the new tags to the existing observable (alert import).
    MergeTags,
}

/// Renders an observable (`reports` parsed, `{}` by default).
pub fn render(document: &Document) -> Map<String, Value> {
    let mut output = entity::render(KIND, document);
    let reports = match output.remove("reports") {
        Some(Value::String(text)) => {
            serde_json::from_str(&text).unwrap_or_else(|_| Value::Object(Map::new()))
        }
        Some(Value::Object(reports)) => Value::Object(reports),
        _ => Value::Object(Map::new()),
    };
    output.insert("reports".into(), reports);
    output
}

/// Reads an observable or answers `404 case_artifact <id> not found`.
pub async fn get(store: &dyn Store, id: &str) -> Result<Document, ApiError> {
    store
        .get(KIND, id)
        .await
        .map_err(|error| crate::error::or_not_found(KIND, id, error))
}

/// The deterministic id: MD5 over `0 json(data) 0 json(dataType) [0 attachment id] 0
/// json(caseId)` (compact JSON, `null` when missing).
pub fn observable_id(body: &Map<String, Value>, case_id: &str) -> String {
    let json = |value: Option<&Value>| value.map_or_else(|| "null".to_owned(), Value::to_string);
    let mut hasher = Md5::new();
    hasher.update([0]);
    hasher.update(json(body.get("data")).as_bytes());
    hasher.update([0]);
    hasher.update(json(body.get("dataType")).as_bytes());
    if let Some(id) = body
        .get("attachment")
        .and_then(|a| a.get("id"))
        .and_then(Value::as_str)
    {
        hasher.update([0]);
        hasher.update(id.as_bytes());
    }
    hasher.update([0]);
    hasher.update(Value::from(case_id).to_string().as_bytes());
    hex::encode(hasher.finalize())
}

/// A parsed creation request: one body per value or file, and whether the answer is the
/// multi form (an array) even for one item.
#[derive(Debug)]
pub struct CreationRequest {
    /// One observable body per value or file.
    pub drafts: Vec<Map<String, Value>>,
    /// True when the response must be the multi form.
    pub multi: bool,
}

/// Turns a `POST /api/case/:id/artifact` body (and its file parts) into drafts: checks the
/// message-or-tags rule, the data type list, data xor attachment; stores files (unpacking
/// archives with `isZip`/`zipPassword`).
pub async fn prepare(
    store: &dyn Store,
    data_types: &[String],
    default_zip_password: &str,
    mut input: Map<String, Value>,
    files: Vec<UploadedFile>,
) -> Result<CreationRequest, ApiError> {
    let is_zip = entity::flag(input.remove("isZip").as_ref());
    let zip_password = input
        .remove("zipPassword")
        .and_then(|p| p.as_str().map(str::to_owned))
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| default_zip_password.to_owned());
    let has_tags = input
        .get("tags")
        .and_then(Value::as_array)
        .is_some_and(|t| !t.is_empty())
        || input
            .get("tags")
            .and_then(Value::as_str)
            .is_some_and(|t| !t.is_empty());
    if !input.contains_key("message") && !has_tags {
        return Err(ApiError::bad_request(
            "an observable needs a message or at least one tag",
        ));
    }
    let data_type = input
        .get("dataType")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if !data_type.is_empty() && !data_types.contains(&data_type) {
        return Err(ApiError::attribute_errors(
            KIND,
            vec![skep_http::AttributeError::invalid(
                "dataType",
                Value::from(data_type),
                "list_artifactDataType",
            )],
        ));
    }
    let data = input.remove("data").filter(|data| !data.is_null());
    let attachment_refs = input.remove("attachment").filter(|a| !a.is_null());
    let files: Vec<UploadedFile> = files
        .into_iter()
        .filter(|file| file.field == "attachment")
        .collect();
    let has_attachment = !files.is_empty() || attachment_refs.is_some();
    if data.is_some() == has_attachment {
        return Err(ApiError::bad_request(
            "an observable needs exactly one of data and attachment",
        ));
    }
    if has_attachment {
        let mut attachments = Vec::new();
        for file in files {
            if is_zip {
                for (name, bytes) in unzip(&file.data, &zip_password)? {
                    attachments.push(
                        datastore::put(store, &bytes, &name, "application/octet-stream").await?,
                    );
                }
            } else {
                attachments.push(
                    datastore::put(store, &file.data, &file.filename, &file.content_type).await?,
                );
            }
        }
        for reference in reference_list(attachment_refs) {
            attachments.push(resolve_reference(store, &reference).await?);
        }
        let drafts = attachments
            .into_iter()
            .map(|attachment| {
                let mut draft = input.clone();
                draft.insert("attachment".into(), attachment.to_json());
                draft
            })
            .collect();
        return Ok(CreationRequest {
            drafts,
            multi: true,
        });
    }
    let values: Vec<String> = match data {
        Some(Value::Array(values)) => values
            .iter()
            .filter_map(|value| match value {
                Value::String(text) => Some(text.trim().to_owned()),
                Value::Number(_) | Value::Bool(_) => Some(value.to_string()),
                _ => None,
            })
            .filter(|text| !text.is_empty())
            .collect(),
        Some(Value::String(text)) => {
            let text = text.trim();
            if text.is_empty() {
                Vec::new()
            } else {
                vec![text.to_owned()]
            }
        }
        Some(other) => vec![other.to_string()],
        None => Vec::new(),
    };
    if values.is_empty() {
        return Err(ApiError::bad_request("the observable data is empty"));
    }
    let multi = values.len() > 1;
    let drafts = values
        .into_iter()
        .map(|value| {
            let mut draft = input.clone();
            draft.insert("data".into(), Value::from(value));
            draft
        })
        .collect();
    Ok(CreationRequest { drafts, multi })
}

fn reference_list(value: Option<Value>) -> Vec<Value> {
    match value {
        Some(Value::Array(items)) => items,
        Some(item) => vec![item],
        None => Vec::new(),
    }
}

async fn resolve_reference(store: &dyn Store, reference: &Value) -> Result<Attachment, ApiError> {
    let wanted = Attachment::from_json(reference)
        .ok_or_else(|| ApiError::bad_request("an attachment reference needs an id"))?;
    let bytes = datastore::read(store, &wanted.id).await?;
    let name = if wanted.name.is_empty() {
        wanted.id.clone()
    } else {
        wanted.name.clone()
    };
    datastore::put(store, &bytes, &name, &wanted.content_type).await
}

/// Extracts the files of a (possibly ZipCrypto-encrypted) archive; directories are skipped and
/// member paths reduced to their file name.
pub fn unzip(archive: &[u8], password: &str) -> Result<Vec<(String, Vec<u8>)>, ApiError> {
    use std::io::Read;
    let bad = |error: &dyn std::fmt::Display| {
        ApiError::bad_request(format!("invalid zip archive: {error}"))
    };
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(archive)).map_err(|e| bad(&e))?;
    let mut files = Vec::new();
    for index in 0..zip.len() {
        let encrypted = zip
            .by_index_raw(index)
            .map(|entry| entry.encrypted())
            .map_err(|e| bad(&e))?;
        let mut entry = if encrypted {
            zip.by_index_decrypt(index, password.as_bytes())
                .map_err(|e| bad(&e))?
        } else {
            zip.by_index(index).map_err(|e| bad(&e))?
        };
        if entry.is_dir() {
            continue;
        }
        let full_name = entry.name().map_err(|e| bad(&e))?.into_owned();
        let name = full_name
            .rsplit(['/', '\\'])
            .next()
            .unwrap_or_default()
            .to_owned();
        if name.is_empty() {
            continue;
        }
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).map_err(|e| bad(&e))?;
        files.push((name, bytes));
    }
    Ok(files)
}

/// Creates observables in `case` from prepared drafts; each gets its own result, in order.
///
/// The creations run together, so the store writes them in one commit instead of one commit
/// each. The same value twice in one request still behaves as if sent in turn: the second
/// creation meets the first as a duplicate once it is stored.
pub async fn create_many(
    store: &dyn Store,
    actor: &str,
    case_id: &str,
    drafts: Vec<Map<String, Value>>,
    on_duplicate: OnDuplicate,
) -> Vec<Result<Document, ApiError>> {
    futures_util::future::join_all(
        drafts
            .into_iter()
            .map(|draft| create_one(store, actor, case_id, draft, on_duplicate)),
    )
    .await
}

/// Creates one observable in the case `case_id` from a draft body (`data` a single string, or
/// `attachment` one stored attachment object).
pub async fn create_one(
    store: &dyn Store,
    actor: &str,
    case_id: &str,
    draft: Map<String, Value>,
    on_duplicate: OnDuplicate,
) -> Result<Document, ApiError> {
    let submitted = draft.clone();
    let mut body = MODEL.check_create(draft)?;
    if body.contains_key("data") == body.contains_key("attachment") {
        return Err(ApiError::bad_request(
            "an observable needs exactly one of data and attachment",
        ));
    }
    for (key, default) in [
        ("tlp", Value::from(2)),
        ("ioc", Value::Bool(false)),
        ("sighted", Value::Bool(false)),
        ("status", Value::from("Ok")),
        ("tags", Value::Array(Vec::new())),
        ("reports", Value::Object(Map::new())),
    ] {
        body.entry(key).or_insert(default);
    }
    body.entry("startDate")
        .or_insert_with(|| Value::from(entity::now_ms()));
    let id = observable_id(&body, case_id);
    let mut new_body = body.clone();
    entity::stamp_creation(&mut new_body, actor);
    let document = NewDocument {
        id: Some(id.clone()),
        parent: Some(case_id.to_owned()),
        body: new_body,
    };
    match store.put(KIND, document).await {
        Ok(created) => Ok(created),
        Err(error) if error.is_duplicate() => {
            handle_duplicate(store, actor, &id, body, submitted, on_duplicate).await
        }
        Err(error) => Err(error.into()),
    }
}

async fn handle_duplicate(
    store: &dyn Store,
    actor: &str,
    id: &str,
    body: Map<String, Value>,
    submitted: Map<String, Value>,
    on_duplicate: OnDuplicate,
) -> Result<Document, ApiError> {
    let existing = match store.get(KIND, id).await {
        Ok(existing) => existing,
        Err(StoreError::NotFound { .. }) => store.restore(KIND, id).await?,
        Err(error) => return Err(error.into()),
    };
    let deleted = existing.body.get("status").and_then(Value::as_str) == Some("Deleted");
    let mut merged = existing.body.clone();
    if deleted {
        for key in ["message", "tags", "tlp", "ioc", "sighted", "startDate"] {
            match body.get(key) {
                Some(value) => merged.insert(key.to_owned(), value.clone()),
                None => merged.remove(key),
            };
        }
        merged.insert("status".into(), Value::from("Ok"));
    } else if on_duplicate == OnDuplicate::MergeTags {
        let mut tags = merged
            .get("tags")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for tag in body
            .get("tags")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if !tags.contains(tag) {
                tags.push(tag.clone());
            }
        }
        merged.insert("tags".into(), Value::Array(tags));
    } else {
        return Err(ApiError::conflict(
            "Artifact already exists",
            Value::Object(submitted),
        ));
    }
    entity::stamp_update(&mut merged, actor);
    Ok(store
        .update(KIND, id, Some(existing.version), merged)
        .await?)
}

/// Updates an observable (`attachment` ignored; data and dataType read-only); the result must
/// keep a message or a tag.
pub async fn update(
    store: &dyn Store,
    actor: &str,
    id: &str,
    mut input: Map<String, Value>,
) -> Result<Document, ApiError> {
    input.remove("attachment");
    let changes = MODEL.check_update(input)?;
    let current = get(store, id).await?;
    let mut body = current.body.clone();
    entity::apply_update(&mut body, &changes);
    let has_message = body
        .get("message")
        .and_then(Value::as_str)
        .is_some_and(|m| !m.is_empty());
    let has_tags = body
        .get("tags")
        .and_then(Value::as_array)
        .is_some_and(|t| !t.is_empty());
    if !has_message && !has_tags {
        return Err(ApiError::bad_request(
            "an observable needs a message or at least one tag",
        ));
    }
    entity::stamp_update(&mut body, actor);
    Ok(store.update(KIND, id, Some(current.version), body).await?)
}

/// Soft delete: status `Deleted`.
pub async fn soft_delete(store: &dyn Store, actor: &str, id: &str) -> Result<Document, ApiError> {
    let current = get(store, id).await?;
    let mut body = current.body.clone();
    body.insert("status".into(), Value::from("Deleted"));
    entity::stamp_update(&mut body, actor);
    Ok(store.update(KIND, id, Some(current.version), body).await?)
}

/// The `stats` of `nstats`: `seen` = similar observables in other live cases, `ioc` = whether
/// one of them is flagged.
pub async fn stats(store: &dyn Store, document: &Document) -> Result<Value, ApiError> {
    let similar = similarity::similar_in_other_cases(store, document).await?;
    let ioc = similar
        .iter()
        .any(|(other, _)| other.body.get("ioc").and_then(Value::as_bool) == Some(true));
    Ok(serde_json::json!({ "seen": similar.len(), "ioc": ioc }))
}
