//! [`ApiError`]: every error a handler returns, rendered as `{"type": …, "message": …}` with the
//! status both compatible APIs use. The only place errors meet HTTP.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::{Map, Value, json};
use skep_protocol::ErrorBody;
use skep_store::StoreError;

/// An error answered to an API client.
#[derive(Debug, Clone)]
pub struct ApiError {
    status: StatusCode,
    /// `None` answers an empty body (the 520 "not migrated" answer). Boxed so that
    /// `Result<_, ApiError>` stays small on every handler's return path.
    body: Option<Box<ErrorBody>>,
    /// Answer the message as plain text instead of the JSON body (TheHive's CSRF refusal).
    plain_text: bool,
}

/// Why an attribute of a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttributeErrorType {
    /// A required attribute is absent.
    Missing,
    /// The value has the wrong type or format.
    InvalidFormat,
    /// The attribute is not known for this entity.
    Unknown,
    /// The attribute cannot be changed after creation.
    UpdateReadOnly,
}

impl AttributeErrorType {
    fn wire_name(self) -> &'static str {
        match self {
            AttributeErrorType::Missing => "MissingAttributeError",
            AttributeErrorType::InvalidFormat => "InvalidFormatAttributeError",
            AttributeErrorType::Unknown => "UnknownAttributeError",
            AttributeErrorType::UpdateReadOnly => "UpdateReadOnlyAttributeError",
        }
    }
}

/// One refused attribute of an `AttributeCheckingError`.
#[derive(Debug, Clone, PartialEq)]
pub struct AttributeError {
    /// Attribute name.
    pub name: String,
    /// The value sent (null when missing).
    pub value: Value,
    /// What is wrong.
    pub error_type: AttributeErrorType,
    /// Human-readable explanation.
    pub message: String,
}

impl AttributeError {
    /// A required attribute is missing.
    pub fn missing(name: &str) -> Self {
        AttributeError {
            name: name.to_owned(),
            value: Value::Null,
            error_type: AttributeErrorType::Missing,
            message: format!("attribute {name} is missing"),
        }
    }

    /// The value has the wrong format; `expected` says what was expected.
    pub fn invalid(name: &str, value: Value, expected: &str) -> Self {
        AttributeError {
            name: name.to_owned(),
            message: format!("invalid format for {name}: {value}, expected {expected}"),
            value,
            error_type: AttributeErrorType::InvalidFormat,
        }
    }

    /// The attribute is unknown.
    pub fn unknown(name: &str, value: Value) -> Self {
        AttributeError {
            name: name.to_owned(),
            message: format!("unknown attribute {name}"),
            value,
            error_type: AttributeErrorType::Unknown,
        }
    }

    /// The attribute is read-only.
    pub fn read_only(name: &str, value: Value) -> Self {
        AttributeError {
            name: name.to_owned(),
            message: format!("attribute {name} is read-only"),
            value,
            error_type: AttributeErrorType::UpdateReadOnly,
        }
    }

    fn to_json(&self) -> Value {
        json!({
            "name": self.name,
            "value": self.value,
            "type": self.error_type.wire_name(),
            "message": self.message,
        })
    }
}

impl ApiError {
    /// An error with any status, type and message.
    pub fn new(status: u16, error_type: &str, message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            body: Some(Box::new(ErrorBody::new(error_type, message))),
            plain_text: false,
        }
    }

    /// 403 answered as plain text, as TheHive answers a failed CSRF check.
    pub fn forbidden_plain_text(message: impl Into<String>) -> Self {
        ApiError {
            plain_text: true,
            ..ApiError::forbidden(message)
        }
    }

    /// 400 `BadRequest`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(400, "BadRequest", message)
    }

    /// 400 `AttributeCheckingError` listing every refused attribute.
    pub fn attribute_errors(table: &str, errors: Vec<AttributeError>) -> Self {
        let message = errors
            .iter()
            .map(|error| error.message.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        ApiError::new(400, "AttributeCheckingError", message)
            .with_detail("tableName", Value::String(table.to_owned()))
            .with_detail(
                "errors",
                Value::Array(errors.iter().map(AttributeError::to_json).collect()),
            )
    }

    /// 404 `NotFoundError`.
    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError::new(404, "NotFoundError", message)
    }

    /// 401 `AuthenticationError`.
    pub fn unauthenticated() -> Self {
        ApiError::new(401, "AuthenticationError", "Authentication failure")
    }

    /// 403 `AuthorizationError`.
    pub fn forbidden(message: impl Into<String>) -> Self {
        ApiError::new(403, "AuthorizationError", message)
    }

    /// 400 `ConflictError` with the conflicting `object`, as TheHive answers duplicates.
    pub fn conflict(message: impl Into<String>, object: Value) -> Self {
        ApiError::new(400, "ConflictError", message).with_detail("object", object)
    }

    /// 429 `RateLimitExceeded`.
    pub fn too_many_requests(message: impl Into<String>) -> Self {
        ApiError::new(429, "RateLimitExceeded", message)
    }

    /// 413 `PayloadTooLarge`.
    pub fn payload_too_large(message: impl Into<String>) -> Self {
        ApiError::new(413, "PayloadTooLarge", message)
    }

    /// 520 with an empty body: the database is not initialised, the client must call
    /// `POST /api/maintenance/migrate`.
    pub fn not_migrated() -> Self {
        ApiError {
            status: StatusCode::from_u16(520).unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
            body: None,
            plain_text: false,
        }
    }

    /// 500 `InternalError`: the client gets a generic message, the cause is logged once.
    pub fn internal(cause: &dyn std::fmt::Debug) -> Self {
        tracing::error!(error = ?cause, "internal error");
        ApiError::new(500, "InternalError", "internal error, see the server log")
    }

    /// 503 `ServiceUnavailable`, for a backend that cannot be reached.
    pub fn unavailable(cause: &dyn std::fmt::Debug) -> Self {
        tracing::error!(error = ?cause, "backend unavailable");
        ApiError::new(503, "ServiceUnavailable", "storage backend unavailable")
    }

    /// Adds a key to the error body.
    pub fn with_detail(mut self, key: &str, value: Value) -> Self {
        if let Some(body) = self.body.as_mut() {
            body.details.insert(key.to_owned(), value);
        }
        self
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The body, if any.
    pub fn body(&self) -> Option<&ErrorBody> {
        self.body.as_deref()
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.body {
            Some(body) => write!(
                formatter,
                "{} {}: {}",
                self.status.as_u16(),
                body.error_type,
                body.message
            ),
            None => write!(formatter, "{}", self.status.as_u16()),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        match &self.body {
            Some(body) if self.plain_text => response
                .content_type("text/plain; charset=utf-8")
                .body(body.message.clone()),
            Some(body) => response.json(&**body),
            None => response.finish(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match &error {
            StoreError::NotFound { kind, id } => {
                ApiError::not_found(format!("{kind} {id} not found"))
            }
            StoreError::Conflict { .. } if error.is_duplicate() => {
                ApiError::conflict(error.to_string(), Value::Object(Map::new()))
            }
            StoreError::Conflict { .. } => ApiError::new(409, "ConflictError", error.to_string()),
            StoreError::InvalidQuery(message) => {
                ApiError::bad_request(format!("invalid query: {message}"))
            }
            StoreError::Unavailable(_) => ApiError::unavailable(&error),
            StoreError::Backend(_) => ApiError::internal(&error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_store_conflicts_answer_400_conflict_error_with_an_object() {
        let stale = ApiError::from(StoreError::Conflict {
            kind: "alert".into(),
            id: "x".into(),
            reason: skep_store::error_reasons::STALE_VERSION.into(),
        });
        assert_eq!(stale.status().as_u16(), 409);

        let duplicate = ApiError::from(StoreError::Conflict {
            kind: "alert".into(),
            id: "x".into(),
            reason: skep_store::error_reasons::DUPLICATE.into(),
        });
        assert_eq!(duplicate.status().as_u16(), 400);
        let body = duplicate.body().unwrap();
        assert_eq!(body.error_type, "ConflictError");
        assert_eq!(body.details.get("object"), Some(&json!({})));
    }

    #[test]
    fn attribute_errors_list_each_refused_attribute() {
        let error = ApiError::attribute_errors("case", vec![AttributeError::missing("title")]);
        let body = serde_json::to_value(error.body().unwrap()).unwrap();
        assert_eq!(body["type"], "AttributeCheckingError");
        assert_eq!(body["tableName"], "case");
        assert_eq!(body["errors"][0]["type"], "MissingAttributeError");
        assert_eq!(body["errors"][0]["name"], "title");
    }

    #[test]
    fn not_migrated_has_status_520_and_no_body() {
        let error = ApiError::not_migrated();
        assert_eq!(error.status().as_u16(), 520);
        assert!(error.body().is_none());
    }
}
