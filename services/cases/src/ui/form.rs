//! [`Form`]: the fields of a submitted HTML form, URL-encoded or multipart, in order and with
//! repeated names kept (checkbox lists), plus uploaded files. The API's `Fields` extractor
//! refuses `_`-prefixed names (they are TheHive's reserved ones) and keeps only the last of a
//! repeated name, both of which forms need (`_csrf`, `ids`).

use actix_web::dev::Payload;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::{FromRequest, HttpRequest};
use futures_util::StreamExt;
use futures_util::future::LocalBoxFuture;
use skep_http::{ApiError, BodyLimit, UploadedFile};

/// A submitted form.
#[derive(Debug, Default)]
pub struct Form {
    pairs: Vec<(String, String)>,
    files: Vec<UploadedFile>,
}

impl Form {
    /// A form of these fields (tests).
    pub fn of(pairs: &[(&str, &str)]) -> Form {
        Form {
            pairs: pairs
                .iter()
                .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
                .collect(),
            files: Vec::new(),
        }
    }

    /// The first value of `name`, trimmed (empty when absent).
    pub fn text(&self, name: &str) -> String {
        self.raw(name).trim().to_owned()
    }

    /// The first value of `name` as sent (multi-line text keeps its spacing).
    pub fn raw(&self, name: &str) -> &str {
        self.pairs
            .iter()
            .find(|(key, _)| key == name)
            .map_or("", |(_, value)| value.as_str())
    }

    /// The first value of `name` when present and not blank.
    pub fn optional(&self, name: &str) -> Option<String> {
        Some(self.text(name)).filter(|value| !value.is_empty())
    }

    /// Every non-blank value of `name`, in order.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.pairs
            .iter()
            .filter(|(key, _)| key == name)
            .map(|(_, value)| value.trim().to_owned())
            .filter(|value| !value.is_empty())
            .collect()
    }

    /// True when a checkbox `name` was ticked.
    pub fn checked(&self, name: &str) -> bool {
        self.pairs.iter().any(|(key, _)| key == name)
    }

    /// The uploaded files of the part `name` (a file input left empty sends none).
    pub fn take_files(&mut self, name: &str) -> Vec<UploadedFile> {
        let (taken, kept) = std::mem::take(&mut self.files)
            .into_iter()
            .partition(|file| file.field == name && !file.filename.is_empty());
        self.files = kept;
        taken
    }
}

/// Splits a comma- or newline-separated list (tags), dropping blanks and repeats.
pub fn list(text: &str) -> Vec<String> {
    let mut items: Vec<String> = Vec::new();
    for item in text.split([',', '\n']).map(str::trim) {
        if !item.is_empty() && !items.iter().any(|known| known == item) {
            items.push(item.to_owned());
        }
    }
    items
}

impl FromRequest for Form {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Form, ApiError>>;

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
                .to_ascii_lowercase();
            if content_type.starts_with("multipart/form-data") {
                read_multipart(&request, payload, limit).await
            } else {
                let bytes = read_all(payload, limit).await?;
                Ok(Form {
                    pairs: pairs(&String::from_utf8_lossy(&bytes)),
                    files: Vec::new(),
                })
            }
        })
    }
}

fn too_large(limit: usize) -> ApiError {
    ApiError::payload_too_large(format!("the form is larger than {limit} bytes"))
}

async fn read_all(mut payload: Payload, limit: usize) -> Result<Vec<u8>, ApiError> {
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk
            .map_err(|error| ApiError::bad_request(format!("cannot read the form: {error}")))?;
        if body.len() + chunk.len() > limit {
            return Err(too_large(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

async fn read_multipart(
    request: &HttpRequest,
    payload: Payload,
    limit: usize,
) -> Result<Form, ApiError> {
    let mut multipart = actix_multipart::Multipart::new(request.headers(), payload);
    let mut form = Form::default();
    let mut total = 0usize;
    let invalid = |error: &dyn std::fmt::Display| {
        ApiError::bad_request(format!("invalid multipart form: {error}"))
    };
    while let Some(part) = multipart.next().await {
        let mut part = part.map_err(|error| invalid(&error))?;
        let disposition = part.content_disposition().cloned();
        let name = disposition
            .as_ref()
            .and_then(|d| d.get_name())
            .unwrap_or("")
            .to_owned();
        let filename = disposition
            .as_ref()
            .and_then(|d| d.get_filename())
            .map(|name| name.rsplit(['/', '\\']).next().unwrap_or(name).to_owned());
        let content_type = part.content_type().map(|m| m.essence_str().to_owned());
        let mut data = Vec::new();
        while let Some(chunk) = part.next().await {
            let chunk = chunk.map_err(|error| invalid(&error))?;
            total += chunk.len();
            if total > limit {
                return Err(too_large(limit));
            }
            data.extend_from_slice(&chunk);
        }
        match filename {
            Some(filename) => form.files.push(UploadedFile {
                field: name,
                filename,
                content_type: content_type.unwrap_or_else(|| "application/octet-stream".to_owned()),
                data,
            }),
            None => form
                .pairs
                .push((name, String::from_utf8_lossy(&data).into_owned())),
        }
    }
    Ok(form)
}

/// Decodes `a=1&b=x+y` (percent-decoding, `+` as a space), keeping order and repeats.
fn pairs(text: &str) -> Vec<(String, String)> {
    let decode = |part: &str| {
        let spaced = part.replace('+', " ");
        urlencoding::decode(&spaced)
            .map(|decoded| decoded.into_owned())
            .unwrap_or(spaced)
    };
    text.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(key), decode(value))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_and_reserved_names_are_kept() {
        let form = Form {
            pairs: pairs("_csrf=t&ids=a&ids=b&title=Hello+world%21&empty="),
            files: Vec::new(),
        };
        assert_eq!(form.text("_csrf"), "t");
        assert_eq!(form.all("ids"), vec!["a", "b"]);
        assert_eq!(form.text("title"), "Hello world!");
        assert_eq!(form.optional("empty"), None);
        assert!(form.checked("empty"));
        assert!(!form.checked("missing"));
    }

    #[test]
    fn lists_split_on_commas_and_lines() {
        assert_eq!(list("a, b\nc,,a\n"), vec!["a", "b", "c"]);
        assert_eq!(
            list("mail:reporter@example.org"),
            vec!["mail:reporter@example.org"]
        );
    }
}
