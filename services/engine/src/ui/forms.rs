//! Forms generated from a definition's `configurationItems`: one input per item (text, number,
//! checkbox, or a one-value-per-line text area for `multi` items), and the reading of such a
//! form back into the configuration object the domain validates.

use serde_json::{Map, Value};

use crate::jobs::catalog::{ConfigurationItem, ItemType};

/// Prefix of the form fields holding configuration items (keeps them apart from `name`, `rate`).
pub const PREFIX: &str = "cfg.";

/// One input of a generated form.
pub struct ItemField {
    /// Form field name (`cfg.<item>`).
    pub field: String,
    /// Item name, shown as the label.
    pub label: String,
    /// Item description.
    pub description: String,
    /// `text`, `number`, `checkbox`, `textarea` or `lines` (a list, one value per line).
    pub input: &'static str,
    /// Required mark.
    pub required: bool,
    /// Current value as text (lines for multi items).
    pub value: String,
    /// For checkboxes.
    pub checked: bool,
    /// The default, shown as a hint.
    pub default_hint: String,
}

fn text_of(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        Value::Array(items) => items.iter().map(text_of).collect::<Vec<_>>().join("\n"),
        other => other.to_string(),
    }
}

/// The inputs of `items`, filled from `values` (else the item's default).
pub fn item_fields(items: &[ConfigurationItem], values: &Map<String, Value>) -> Vec<ItemField> {
    items
        .iter()
        .map(|item| {
            let current = values
                .get(&item.name)
                .filter(|value| !value.is_null())
                .or(item.default_value.as_ref());
            let input = match (item.multi, item.item_type) {
                (true, _) => "lines",
                (false, ItemType::Text) => "textarea",
                (false, ItemType::Number) => "number",
                (false, ItemType::Boolean) => "checkbox",
                (false, ItemType::String) => "text",
            };
            ItemField {
                field: format!("{PREFIX}{}", item.name),
                label: item.name.clone(),
                description: item.description.clone(),
                input,
                required: item.required && item.default_value.is_none(),
                value: current.map(text_of).unwrap_or_default(),
                checked: current.and_then(Value::as_bool).unwrap_or(false),
                default_hint: item
                    .default_value
                    .as_ref()
                    .map(text_of)
                    .filter(|text| !text.is_empty())
                    .map(|text| format!("default: {text}"))
                    .unwrap_or_default(),
            }
        })
        .collect()
}

fn scalar(item_type: ItemType, text: &str) -> Value {
    match item_type {
        ItemType::Number => text
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(|number| {
                if number.fract() == 0.0 && number.abs() < 9.0e15 {
                    Some(Value::from(number as i64))
                } else {
                    serde_json::Number::from_f64(number).map(Value::Number)
                }
            })
            // Not a number: passed on as text so the domain's validation names the item.
            .unwrap_or_else(|| Value::String(text.trim().to_owned())),
        ItemType::Boolean => Value::Bool(matches!(text, "on" | "true" | "1")),
        ItemType::String | ItemType::Text => Value::String(text.to_owned()),
    }
}

/// Reads the configuration object of a generated form: empty inputs are left out (the default
/// applies), unchecked checkboxes are `false`, multi items are one value per non-empty line.
pub fn read_items(items: &[ConfigurationItem], fields: &UiForm) -> Map<String, Value> {
    let mut configuration = Map::new();
    for item in items {
        let text = fields
            .str(&format!("{PREFIX}{}", item.name))
            .unwrap_or_default();
        let value = if item.multi {
            let values: Vec<Value> = text
                .lines()
                .map(str::trim)
                .filter(|line| !line.is_empty())
                .map(|line| scalar(item.item_type, line))
                .collect();
            if values.is_empty() {
                continue;
            }
            Value::Array(values)
        } else if item.item_type == ItemType::Boolean {
            scalar(ItemType::Boolean, text)
        } else if text.trim().is_empty() {
            continue;
        } else if item.item_type == ItemType::Text {
            Value::String(text.replace("\r\n", "\n"))
        } else {
            scalar(item.item_type, text)
        };
        configuration.insert(item.name.clone(), value);
    }
    configuration
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn item(name: &str, item_type: ItemType, multi: bool) -> ConfigurationItem {
        ConfigurationItem {
            name: name.to_owned(),
            description: String::new(),
            item_type,
            multi,
            required: false,
            default_value: None,
        }
    }

    #[test]
    fn a_generated_form_reads_back_into_typed_values() {
        let items = [
            item("key", ItemType::String, false),
            item("days", ItemType::Number, false),
            item("check", ItemType::Boolean, false),
            item("hosts", ItemType::String, true),
            item("empty", ItemType::String, false),
        ];
        let fields = UiForm::from_urlencoded(
            "cfg.key=abc&cfg.days=30&cfg.hosts=a%0D%0A%0D%0A+b+%0A&cfg.empty=&_csrf=x",
        );

        let configuration = read_items(&items, &fields);

        assert_eq!(
            Value::Object(configuration),
            json!({"key": "abc", "days": 30, "check": false, "hosts": ["a", "b"]})
        );
    }
}

/// The fields of a UI form: URL-encoded or multipart, text fields and files.
///
/// The API's `Fields` extractor refuses names starting with `_` (they are reserved in the
/// TheHive/Cortex wire format); UI forms carry `_csrf`, so they are read here.
#[derive(Debug, Default)]
pub struct UiForm {
    body: Map<String, Value>,
    files: Vec<skep_http::UploadedFile>,
}

impl UiForm {
    /// A text field.
    pub fn str(&self, name: &str) -> Option<&str> {
        self.body.get(name).and_then(Value::as_str)
    }

    /// The text fields (as JSON strings) and the files.
    pub fn into_parts(self) -> (Map<String, Value>, Vec<skep_http::UploadedFile>) {
        (self.body, self.files)
    }

    fn from_urlencoded(text: &str) -> UiForm {
        let mut body = Map::new();
        for pair in text.split('&').filter(|pair| !pair.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let decode = |text: &str| {
                let spaced = text.replace('+', " ");
                urlencoding::decode(&spaced)
                    .map(|decoded| decoded.into_owned())
                    .unwrap_or(spaced)
            };
            body.insert(decode(key), Value::String(decode(value)));
        }
        UiForm {
            body,
            files: Vec::new(),
        }
    }

    async fn from_multipart(
        request: &actix_web::HttpRequest,
        payload: actix_web::dev::Payload,
        limit: usize,
    ) -> Result<UiForm, skep_http::ApiError> {
        use futures_util::StreamExt;
        let invalid = |error: &dyn std::fmt::Display| {
            skep_http::ApiError::bad_request(format!("invalid form: {error}"))
        };
        let mut multipart = actix_multipart::Multipart::new(request.headers(), payload);
        let mut form = UiForm::default();
        let mut total = 0usize;
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
                    return Err(skep_http::ApiError::payload_too_large(format!(
                        "the form is larger than {limit} bytes"
                    )));
                }
                data.extend_from_slice(&chunk);
            }
            match filename {
                Some(filename) => form.files.push(skep_http::UploadedFile {
                    field: name,
                    filename,
                    content_type: content_type
                        .unwrap_or_else(|| "application/octet-stream".to_owned()),
                    data,
                }),
                None => {
                    form.body.insert(
                        name,
                        Value::String(String::from_utf8_lossy(&data).into_owned()),
                    );
                }
            }
        }
        Ok(form)
    }
}

impl actix_web::FromRequest for UiForm {
    type Error = skep_http::ApiError;
    type Future =
        futures_util::future::LocalBoxFuture<'static, Result<UiForm, skep_http::ApiError>>;

    fn from_request(
        request: &actix_web::HttpRequest,
        payload: &mut actix_web::dev::Payload,
    ) -> Self::Future {
        let request = request.clone();
        let payload = payload.take();
        Box::pin(async move {
            let limit = request
                .app_data::<skep_http::BodyLimit>()
                .map(|limit| limit.0)
                .unwrap_or(100 * 1024 * 1024);
            let content_type = request
                .headers()
                .get(actix_web::http::header::CONTENT_TYPE)
                .and_then(|value| value.to_str().ok())
                .unwrap_or_default()
                .to_ascii_lowercase();
            if content_type.starts_with("multipart/form-data") {
                return UiForm::from_multipart(&request, payload, limit).await;
            }
            let mut payload = payload;
            let mut bytes = Vec::new();
            use futures_util::StreamExt;
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|error| {
                    skep_http::ApiError::bad_request(format!("invalid form: {error}"))
                })?;
                if bytes.len() + chunk.len() > limit {
                    return Err(skep_http::ApiError::payload_too_large(format!(
                        "the form is larger than {limit} bytes"
                    )));
                }
                bytes.extend_from_slice(&chunk);
            }
            Ok(UiForm::from_urlencoded(&String::from_utf8_lossy(&bytes)))
        })
    }
}
