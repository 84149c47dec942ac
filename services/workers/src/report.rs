//! Reports as workers write them: taxonomies, artifacts, operations, and the success and
//! failure shapes of `output/output.json`.

use std::path::Path;

use serde::Serialize;
use serde_json::{Value, json};

use crate::error::WorkerError;

/// The verdict attached to a taxonomy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Neutral information.
    Info,
    /// Known good.
    Safe,
    /// Worth a look.
    Suspicious,
    /// Known bad.
    Malicious,
}

/// One summary entry, shown by TheHive as `namespace:predicate="value"`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Taxonomy {
    /// The verdict.
    pub level: Level,
    /// Usually the service name (`AbuseIPDB`, `VT`).
    pub namespace: String,
    /// What is measured (`Records`, `GetReport`).
    pub predicate: String,
    /// The measure, a string or a number.
    pub value: Value,
}

impl Taxonomy {
    /// Builds a taxonomy entry.
    pub fn new(level: Level, namespace: &str, predicate: &str, value: impl Into<Value>) -> Self {
        Self {
            level,
            namespace: namespace.into(),
            predicate: predicate.into(),
            value: value.into(),
        }
    }
}

/// An observable a worker found, to be added to the job's artifacts. File artifacts name a file
/// the worker placed directly in `output/`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Artifact {
    /// The observable's data type (`ip`, `url`, `file`…).
    #[serde(rename = "dataType")]
    pub data_type: String,
    /// The observable (non-file artifacts).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    /// The file's name inside `output/` (file artifacts).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// The file's original name (file artifacts).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    /// The file's content type (file artifacts).
    #[serde(rename = "contentType", skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// Where the observable was found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Tags for the new observable.
    pub tags: Vec<String>,
}

impl Artifact {
    /// A non-file artifact.
    pub fn data(
        data_type: &str,
        data: impl Into<String>,
        message: impl Into<String>,
        tags: &[&str],
    ) -> Self {
        Self {
            data_type: data_type.into(),
            data: Some(data.into()),
            file: None,
            filename: None,
            content_type: None,
            message: Some(message.into()),
            tags: tags.iter().map(|tag| (*tag).to_owned()).collect(),
        }
    }

    /// A file artifact: writes `content` under `output/<stored_name>` and refers to it.
    pub fn file(
        output_directory: &Path,
        stored_name: &str,
        filename: &str,
        content_type: Option<&str>,
        content: &[u8],
        message: impl Into<String>,
    ) -> Result<Self, WorkerError> {
        std::fs::create_dir_all(output_directory).map_err(|e| {
            WorkerError::io(format!("cannot create {}", output_directory.display()), e)
        })?;
        let path = output_directory.join(stored_name);
        std::fs::write(&path, content)
            .map_err(|e| WorkerError::io(format!("cannot write {}", path.display()), e))?;
        Ok(Self {
            data_type: "file".into(),
            data: None,
            file: Some(stored_name.into()),
            filename: Some(filename.into()),
            content_type: content_type.map(str::to_owned),
            message: Some(message.into()),
            tags: Vec::new(),
        })
    }
}

/// An action the case service performs once the job succeeds (`AddTagToCase`…).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Operation {
    /// The operation type, as TheHive names it.
    #[serde(rename = "type")]
    pub kind: String,
    /// The operation's parameters (`tag`, `title`…), flattened into the object.
    #[serde(flatten)]
    pub parameters: serde_json::Map<String, Value>,
}

impl Operation {
    /// An operation that adds one tag (`AddTagToCase`, `AddTagToAlert`, `AddTagToArtifact`).
    pub fn add_tag(kind: &str, tag: &str) -> Self {
        let mut parameters = serde_json::Map::new();
        parameters.insert("tag".into(), Value::String(tag.into()));
        Self {
            kind: kind.into(),
            parameters,
        }
    }
}

/// A successful analyzer report.
#[derive(Debug, Clone, Default)]
pub struct AnalyzerReport {
    /// The short verdicts.
    pub taxonomies: Vec<Taxonomy>,
    /// The full result, always a JSON object.
    pub full: serde_json::Map<String, Value>,
    /// Observables found.
    pub artifacts: Vec<Artifact>,
    /// Operations to apply.
    pub operations: Vec<Operation>,
}

/// A successful responder report.
#[derive(Debug, Clone, Default)]
pub struct ResponderReport {
    /// The full result, always a JSON object.
    pub full: serde_json::Map<String, Value>,
    /// Operations to apply.
    pub operations: Vec<Operation>,
}

/// What a worker produced.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// An analyzer's report.
    Analyzer(AnalyzerReport),
    /// A responder's report.
    Responder(ResponderReport),
}

impl Outcome {
    /// The `output.json` body of a success.
    pub fn to_output(&self) -> Value {
        match self {
            Self::Analyzer(report) => json!({
                "success": true,
                "summary": {"taxonomies": report.taxonomies},
                "artifacts": report.artifacts,
                "operations": report.operations,
                "full": report.full,
            }),
            Self::Responder(report) => json!({
                "success": true,
                "full": report.full,
                "operations": report.operations,
            }),
        }
    }
}

/// The `output.json` body of a failure: the message and the input with secrets removed.
pub fn failure_output(message: &str, redacted_input: Option<Value>) -> Value {
    json!({"success": false, "input": redacted_input, "errorMessage": message})
}

/// Converts a `json!({...})` literal into the object a report's `full` must be.
pub fn object(value: Value) -> serde_json::Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => {
            let mut map = serde_json::Map::new();
            map.insert("value".into(), other);
            map
        }
    }
}
