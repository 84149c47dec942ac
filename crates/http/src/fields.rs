//! [`Fields`]: the request body as both compatible APIs read it — JSON, form or multipart
//! (`_json` part plus file parts) — with query-string parameters merged in.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::StreamExt;
use serde_json::{Map, Value};

use crate::ApiError;

/// Largest request body accepted, in bytes; set as app data. Defaults to 100 MiB.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

impl Default for BodyLimit {
    fn default() -> Self {
        BodyLimit(100 * 1024 * 1024)
    }
}

/// A file part of a multipart request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadedFile {
    /// Name of the multipart part (`attachment`, `data`, …).
    pub field: String,
    /// File name sent by the client, without any path component.
    pub filename: String,
    /// Content type sent by the client (default `application/octet-stream`).
    pub content_type: String,
    /// The content.
    pub data: Vec<u8>,
}

/// The fields of a request: body attributes plus query-string parameters (which win on a name
/// collision; a repeated parameter becomes an array of strings), and uploaded files.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Fields {
    body: Map<String, Value>,
    files: Vec<UploadedFile>,
}

impl Fields {
    /// Fields from an already parsed JSON object (useful in tests and internal calls).
    pub fn from_map(body: Map<String, Value>) -> Self {
        Fields {
            body,
            files: Vec::new(),
        }
    }

    /// All attributes.
    pub fn body(&self) -> &Map<String, Value> {
        &self.body
    }

    /// All attributes, mutable.
    pub fn body_mut(&mut self) -> &mut Map<String, Value> {
        &mut self.body
    }

    /// Consumes the fields into the attribute map and the files.
    pub fn into_parts(self) -> (Map<String, Value>, Vec<UploadedFile>) {
        (self.body, self.files)
    }

    /// One attribute.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.body.get(key)
    }

    /// One attribute as a string (absent or not a string: `None`).
    pub fn str(&self, key: &str) -> Option<&str> {
        self.body.get(key).and_then(Value::as_str)
    }

    /// One attribute as a boolean: JSON booleans, `"true"`/`"false"`, `"1"`/`"0"`, 1/0.
    pub fn bool(&self, key: &str) -> Option<bool> {
        match self.body.get(key)? {
            Value::Bool(flag) => Some(*flag),
            Value::String(text) => match text.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" => Some(true),
                "false" | "0" | "no" => Some(false),
                _ => None,
            },
            Value::Number(number) => number.as_i64().map(|n| n != 0),
            _ => None,
        }
    }

    /// Removes and returns one attribute.
    pub fn take(&mut self, key: &str) -> Option<Value> {
        self.body.remove(key)
    }

    /// The uploaded files, in request order.
    pub fn files(&self) -> &[UploadedFile] {
        &self.files
    }

    /// The first file uploaded under a part name.
    pub fn file(&self, part: &str) -> Option<&UploadedFile> {
        self.files.iter().find(|file| file.field == part)
    }

    /// Removes and returns the first file uploaded under a part name.
    pub fn take_file(&mut self, part: &str) -> Option<UploadedFile> {
        let index = self.files.iter().position(|file| file.field == part)?;
        Some(self.files.remove(index))
    }

    fn merge_query(&mut self, query_string: &str) {
        let mut from_query: Map<String, Value> = Map::new();
        for (key, value) in form_pairs(query_string) {
            match from_query.get_mut(&key) {
                Some(Value::Array(values)) => values.push(Value::String(value)),
                Some(existing) => {
                    let first = existing.take();
                    *existing = Value::Array(vec![first, Value::String(value)]);
                }
                None => {
                    from_query.insert(key, Value::String(value));
                }
            }
        }
        self.body.extend(from_query);
    }
}

/// Decodes `a=1&b=x+y` pairs (percent-decoding, `+` as space).
fn form_pairs(text: &str) -> Vec<(String, String)> {
    text.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode_component(key), decode_component(value))
        })
        .collect()
}

fn decode_component(text: &str) -> String {
    let spaced = text.replace('+', " ");
    urlencoding::decode(&spaced)
        .map(|decoded| decoded.into_owned())
        .unwrap_or(spaced)
}

/// Strips any directory part a client left in an uploaded file name.
fn base_name(name: &str) -> String {
    name.rsplit(['/', '\\']).next().unwrap_or(name).to_owned()
}

impl FromRequest for Fields {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Fields, ApiError>>>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let request = request.clone();
        let payload = payload.take();
        Box::pin(async move {
            let limit = request
                .app_data::<BodyLimit>()
                .copied()
                .unwrap_or_default()
                .0;
            let content_type = request
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|value| value.to_str().ok())
                .unwrap_or("")
                .to_owned();
            let mime: Option<mime::Mime> = content_type.parse().ok();
            let mut fields = match mime
                .as_ref()
                .map(|m| (m.type_().as_str(), m.subtype().as_str()))
            {
                Some(("multipart", "form-data")) => {
                    read_multipart(&request, payload, limit).await?
                }
                Some(("application", "json")) | Some(("text", "json")) => {
                    let bytes = read_body(payload, limit).await?;
                    Fields::from_map(parse_json_object(&bytes)?)
                }
                Some(("application", "x-www-form-urlencoded")) => {
                    let bytes = read_body(payload, limit).await?;
                    let text = String::from_utf8_lossy(&bytes);
                    let mut body = Map::new();
                    for (key, value) in form_pairs(&text) {
                        if key.starts_with('_') {
                            return Err(ApiError::bad_request(format!(
                                "field {key} is not allowed"
                            )));
                        }
                        body.insert(key, Value::String(value));
                    }
                    Fields::from_map(body)
                }
                _ => {
                    // Unknown or missing content type: the body is ignored, as both APIs do.
                    drain(payload, limit).await?;
                    Fields::default()
                }
            };
            fields.merge_query(request.query_string());
            Ok(fields)
        })
    }
}

fn parse_json_object(bytes: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(ApiError::bad_request(
            "the request body must be a JSON object",
        )),
        Err(error) => Err(ApiError::bad_request(format!("invalid JSON body: {error}"))),
    }
}

async fn read_body(mut payload: Payload, limit: usize) -> Result<Vec<u8>, ApiError> {
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|error| {
            ApiError::bad_request(format!("cannot read the request body: {error}"))
        })?;
        if body.len() + chunk.len() > limit {
            return Err(too_large(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

async fn drain(mut payload: Payload, limit: usize) -> Result<(), ApiError> {
    let mut size = 0usize;
    while let Some(chunk) = payload.next().await {
        size += chunk.map(|chunk| chunk.len()).unwrap_or(0);
        if size > limit {
            return Err(too_large(limit));
        }
    }
    Ok(())
}

fn too_large(limit: usize) -> ApiError {
    ApiError::payload_too_large(format!("the request body is larger than {limit} bytes"))
}

async fn read_multipart(
    request: &HttpRequest,
    payload: Payload,
    limit: usize,
) -> Result<Fields, ApiError> {
    let mut multipart = actix_multipart::Multipart::new(request.headers(), payload);
    let mut fields = Fields::default();
    let mut total = 0usize;
    while let Some(part) = multipart.next().await {
        let mut part = part
            .map_err(|error| ApiError::bad_request(format!("invalid multipart body: {error}")))?;
        let disposition = part.content_disposition().cloned();
        let name = disposition
            .as_ref()
            .and_then(|d| d.get_name())
            .unwrap_or("")
            .to_owned();
        let filename = disposition
            .as_ref()
            .and_then(|d| d.get_filename())
            .map(base_name);
        let content_type = part.content_type().map(|m| m.essence_str().to_owned());
        let mut data = Vec::new();
        while let Some(chunk) = part.next().await {
            let chunk = chunk.map_err(|error| {
                ApiError::bad_request(format!("invalid multipart body: {error}"))
            })?;
            total += chunk.len();
            if total > limit {
                return Err(too_large(limit));
            }
            data.extend_from_slice(&chunk);
        }
        match filename {
            Some(filename) => fields.files.push(UploadedFile {
                field: name,
                filename,
                content_type: content_type.unwrap_or_else(|| "application/octet-stream".to_owned()),
                data,
            }),
            None if name == "_json" => {
                let object = parse_json_object(&data)?;
                fields.body.extend(object);
            }
            None if name.starts_with('_') => {
                return Err(ApiError::bad_request(format!(
                    "field {name} is not allowed"
                )));
            }
            None => {
                let text = String::from_utf8_lossy(&data).into_owned();
                fields.body.insert(name, Value::String(text));
            }
        }
    }
    Ok(fields)
}

/// Reads the whole body as bytes with the app's limit (for endpoints that take raw uploads).
pub async fn read_raw(request: &HttpRequest, payload: web::Payload) -> Result<Vec<u8>, ApiError> {
    let limit = request
        .app_data::<BodyLimit>()
        .copied()
        .unwrap_or_default()
        .0;
    read_body(payload.into_inner(), limit).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    async fn extract(request: TestRequest) -> Result<Fields, ApiError> {
        let (request, mut payload) = request.to_http_parts();
        Fields::from_request(&request, &mut payload).await
    }

    #[actix_web::test]
    async fn query_string_parameters_win_over_body_attributes() {
        let fields = extract(
            TestRequest::post()
                .uri("/api/case/_search?range=0-5&sort=-createdAt&sort=title")
                .insert_header((CONTENT_TYPE, "application/json"))
                .set_payload(r#"{"range":"all","query":{"status":"Open"}}"#),
        )
        .await
        .unwrap();

        assert_eq!(fields.str("range"), Some("0-5"));
        assert_eq!(
            fields.get("sort"),
            Some(&serde_json::json!(["-createdAt", "title"]))
        );
        assert_eq!(
            fields.get("query"),
            Some(&serde_json::json!({"status": "Open"}))
        );
    }

    #[actix_web::test]
    async fn an_empty_json_body_is_an_empty_object() {
        let fields = extract(TestRequest::post().insert_header((CONTENT_TYPE, "application/json")))
            .await
            .unwrap();
        assert!(fields.body().is_empty());
    }

    #[actix_web::test]
    async fn a_json_array_body_is_refused_with_400() {
        let error = extract(
            TestRequest::post()
                .insert_header((CONTENT_TYPE, "application/json"))
                .set_payload("[1,2]"),
        )
        .await
        .unwrap_err();
        assert_eq!(error.status().as_u16(), 400);
    }

    #[actix_web::test]
    async fn a_body_over_the_limit_is_refused_with_413() {
        let (request, mut payload) = TestRequest::post()
            .insert_header((CONTENT_TYPE, "application/json"))
            .app_data(BodyLimit(8))
            .set_payload(r#"{"title":"far too long"}"#)
            .to_http_parts();
        let error = Fields::from_request(&request, &mut payload)
            .await
            .unwrap_err();
        assert_eq!(error.status().as_u16(), 413);
    }

    #[actix_web::test]
    async fn form_bodies_become_string_attributes() {
        let fields = extract(
            TestRequest::post()
                .insert_header((CONTENT_TYPE, "application/x-www-form-urlencoded"))
                .set_payload("user=jdoe&password=a+b%21"),
        )
        .await
        .unwrap();
        assert_eq!(fields.str("user"), Some("jdoe"));
        assert_eq!(fields.str("password"), Some("a b!"));
    }

    #[actix_web::test]
    async fn multipart_bodies_merge_the_json_part_and_keep_files() {
        let body = "--XYZ\r\nContent-Disposition: form-data; name=\"_json\"\r\n\r\n{\"dataType\":\"file\",\"tlp\":3}\r\n\
--XYZ\r\nContent-Disposition: form-data; name=\"attachment\"; filename=\"C:\\\\tmp\\\\evil.exe\"\r\nContent-Type: application/x-dosexec\r\n\r\nMZ\x00\x01\r\n--XYZ--\r\n";
        let fields = extract(
            TestRequest::post()
                .insert_header((CONTENT_TYPE, "multipart/form-data; boundary=XYZ"))
                .set_payload(body.as_bytes().to_vec()),
        )
        .await
        .unwrap();

        assert_eq!(fields.str("dataType"), Some("file"));
        assert_eq!(fields.get("tlp"), Some(&serde_json::json!(3)));
        let file = fields.file("attachment").unwrap();
        assert_eq!(file.filename, "evil.exe");
        assert_eq!(file.content_type, "application/x-dosexec");
        assert_eq!(file.data, b"MZ\x00\x01");
    }

    #[test]
    fn booleans_accept_the_spellings_clients_send() {
        let fields = Fields::from_map(
            serde_json::json!({"a": "1", "b": "false", "c": true, "d": 0})
                .as_object()
                .unwrap()
                .clone(),
        );
        assert_eq!(fields.bool("a"), Some(true));
        assert_eq!(fields.bool("b"), Some(false));
        assert_eq!(fields.bool("c"), Some(true));
        assert_eq!(fields.bool("d"), Some(false));
        assert_eq!(fields.bool("missing"), None);
    }
}
