//! Model descriptions for `/api/describe` (what the UI builds its filters from): each model's
//! attributes with their types, enumeration values, custom fields and computed metrics.

use serde_json::{Map, Value, json};

/// One attribute: name, type, description and, for enumerations, values and labels.
type Row = (&'static str, &'static str, &'static str);

const SEVERITY: (&[i64], &[&str]) = (&[1, 2, 3, 4], &["low", "medium", "high", "critical"]);
const TLP: (&[i64], &[&str]) = (&[0, 1, 2, 3], &["white", "green", "amber", "red"]);

/// The models `/api/describe/_all` returns, with label and path.
const MODELS: [(&str, &str, &str); 8] = [
    ("case", "Case", "/case"),
    ("case_artifact", "Observable", "/case/artifact"),
    ("case_task", "Task", "/case/task"),
    ("case_task_log", "Log", "/case/task/log"),
    ("alert", "Alert", "/alert"),
    ("case_artifact_job", "Job", "/connector/cortex/job"),
    ("audit", "Audit", "/audit"),
    ("action", "Action", "/connector/cortex/action"),
];

fn rows(model: &str) -> &'static [Row] {
    match model {
        "case" => &[
            ("caseId", "number", "Id of the case"),
            ("title", "string", "Title of the case"),
            ("description", "text", "Description of the case"),
            ("severity", "number", "Severity of the case"),
            ("owner", "user", "Owner of the case"),
            (
                "startDate",
                "date",
                "Date and time of the begin of the case",
            ),
            ("endDate", "date", "Resolution date"),
            ("tags", "string", "Case tags"),
            ("flag", "boolean", "Flag of the case"),
            ("tlp", "number", "TLP level"),
            ("pap", "number", "PAP level"),
            ("status", "enumeration", "Status of the case"),
            (
                "resolutionStatus",
                "enumeration",
                "Resolution status of the case",
            ),
            ("impactStatus", "enumeration", "Impact status of the case"),
            (
                "summary",
                "text",
                "Summary of the case, provided when closing",
            ),
            ("metrics", "metrics", "Case metrics"),
            ("mergeInto", "string", "Id of the case created by the merge"),
            ("mergeFrom", "string", "Id of the cases merged"),
        ],
        "case_artifact" => &[
            ("data", "string", "Content of the observable"),
            ("dataType", "enumeration", "Type of the observable"),
            (
                "message",
                "text",
                "Description of the observable in the context of the case",
            ),
            ("startDate", "date", "Date of the observable"),
            ("attachment", "attachment", "Attached file"),
            ("tlp", "number", "TLP level"),
            ("tags", "string", "Observable tags"),
            ("ioc", "boolean", "Observable is an indicator of compromise"),
            ("sighted", "boolean", "Observable has been sighted"),
            ("status", "enumeration", "Status of the observable"),
        ],
        "case_task" => &[
            ("title", "string", "Title of the task"),
            ("description", "text", "Task details"),
            ("owner", "user", "User who owns the task"),
            ("status", "enumeration", "Status of the task"),
            ("flag", "boolean", "True if the task is flagged"),
            ("startDate", "date", "Date of the beginning of the task"),
            ("endDate", "date", "Date of the end of the task"),
            ("order", "number", "Order of the task"),
            ("dueDate", "date", "When this task should be completed"),
            ("group", "string", "Group of the task"),
        ],
        "case_task_log" => &[
            ("message", "text", "Content of the log"),
            ("startDate", "date", "Timestamp of the log"),
            ("attachment", "attachment", "Attached file"),
            ("status", "enumeration", "Status of the log"),
            ("owner", "user", "User who wrote this log"),
        ],
        "alert" => &[
            ("type", "string", "Type of the alert"),
            ("source", "string", "Source of the alert"),
            ("sourceRef", "string", "Source reference of the alert"),
            ("date", "date", "Date of the alert"),
            ("lastSyncDate", "date", "Date of the last synchronization"),
            ("case", "string", "Id of the case, if created"),
            ("title", "string", "Title of the alert"),
            ("description", "text", "Description of the alert"),
            ("severity", "number", "Severity of the alert"),
            ("tags", "string", "Alert tags"),
            ("tlp", "number", "TLP level"),
            ("status", "enumeration", "Status of the alert"),
            ("follow", "boolean", "The alert is followed"),
            ("caseTemplate", "string", "Case template to use"),
        ],
        "case_artifact_job" => &[
            ("analyzerId", "string", "Analyzer"),
            ("analyzerName", "string", "Name of the analyzer"),
            ("analyzerDefinition", "string", "Definition of the analyzer"),
            ("status", "enumeration", "Status of the job"),
            (
                "artifactId",
                "string",
                "Original artifact on which this job was executed",
            ),
            ("startDate", "date", "Timestamp of the job start"),
            (
                "endDate",
                "date",
                "Timestamp of the job completion (or fail)",
            ),
            ("cortexId", "string", "Id of the Cortex server"),
            ("cortexJobId", "string", "Id of the job in Cortex"),
        ],
        "audit" => &[
            ("operation", "enumeration", "Operation"),
            ("details", "string", "Details"),
            ("objectType", "string", "Type of the object"),
            ("objectId", "string", "Id of the object"),
            ("base", "boolean", "First operation of the request"),
            ("startDate", "date", "Date of the operation"),
            ("rootId", "string", "Id of the root object"),
            ("requestId", "string", "Id of the request"),
        ],
        "action" => &[
            ("responderId", "string", "Responder"),
            ("responderName", "string", "Name of the responder"),
            ("status", "enumeration", "Status of the action"),
            ("objectType", "string", "Type of the object"),
            ("objectId", "string", "Id of the object"),
            ("startDate", "date", "Timestamp of the action start"),
            ("endDate", "date", "Timestamp of the action completion"),
            ("cortexId", "string", "Id of the Cortex server"),
        ],
        _ => &[],
    }
}

fn enumeration(model: &str, name: &str, data_types: &[String]) -> Option<Vec<Value>> {
    let values: &[&str] = match (model, name) {
        ("case", "status") => &["Open", "Resolved", "Deleted"],
        ("case", "resolutionStatus") => &[
            "Indeterminate",
            "FalsePositive",
            "TruePositive",
            "Other",
            "Duplicated",
        ],
        ("case", "impactStatus") => &["NoImpact", "WithImpact", "NotApplicable"],
        ("case_task", "status") => &["Waiting", "InProgress", "Completed", "Cancel"],
        ("case_artifact" | "case_task_log", "status") => &["Ok", "Deleted"],
        ("case_artifact", "dataType") => {
            return Some(
                data_types
                    .iter()
                    .map(|data_type| json!(data_type))
                    .collect(),
            );
        }
        ("alert", "status") => &["New", "Updated", "Ignored", "Imported"],
        ("case_artifact_job" | "action", "status") => {
            &["InProgress", "Success", "Failure", "Waiting"]
        }
        ("audit", "operation") => &["Creation", "Update", "Delete", "Get"],
        _ => return None,
    };
    Some(values.iter().map(|value| json!(value)).collect())
}

fn attribute(model: &str, (name, kind, description): Row, data_types: &[String]) -> Vec<Value> {
    let mut entry = json!({"name": name, "type": kind, "description": description});
    match (name, kind) {
        ("severity", _) => {
            entry["values"] = json!(SEVERITY.0);
            entry["labels"] = json!(SEVERITY.1);
        }
        ("tlp" | "pap", _) => {
            entry["values"] = json!(TLP.0);
            entry["labels"] = json!(TLP.1);
        }
        (_, "enumeration") => {
            entry["values"] = json!(enumeration(model, name, data_types).unwrap_or_default())
        }
        (_, "attachment") => {
            return [("name", "string"), ("hash", "string"), ("size", "number"), ("contentType", "string")]
                .into_iter()
                .map(|(part, part_kind)| {
                    json!({"name": format!("{name}.{part}"), "type": part_kind, "description": description})
                })
                .collect();
        }
        _ => {}
    }
    vec![entry]
}

fn custom_field_attributes(custom_fields: &[Map<String, Value>]) -> Vec<Value> {
    custom_fields
        .iter()
        .filter_map(|definition| {
            let reference = definition.get("reference")?.as_str()?;
            let kind = definition
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or("string");
            let mut entry = json!({
                "name": format!("customFields.{reference}.{kind}"),
                "type": kind,
                "description": definition.get("description").cloned().unwrap_or(json!("")),
            });
            if let Some(options) = definition
                .get("options")
                .and_then(Value::as_array)
                .filter(|options| !options.is_empty())
            {
                entry["values"] = Value::Array(options.clone());
            }
            Some(entry)
        })
        .collect()
}

fn computed(model: &str) -> &'static [&'static str] {
    match model {
        "case" => &[
            "handlingDurationInSeconds",
            "handlingDurationInHours",
            "handlingDurationInDays",
            "timeToDetectSeconds",
            "timeToAcknowledgeSeconds",
            "timeToResolveSeconds",
        ],
        "alert" => &[
            "observableCount",
            "handlingDurationInSeconds",
            "handlingDurationInHours",
            "handlingDurationInDays",
        ],
        _ => &[],
    }
}

/// The description of one model; `None` for an unknown one.
pub fn describe(
    model: &str,
    data_types: &[String],
    custom_fields: &[Map<String, Value>],
    metrics: &[Value],
) -> Option<Value> {
    let (_, label, path) = MODELS.iter().find(|(name, _, _)| *name == model)?;
    let mut attributes: Vec<Value> = rows(model)
        .iter()
        .flat_map(|row| attribute(model, *row, data_types))
        .collect();
    for common in ["createdBy", "updatedBy"] {
        attributes.push(json!({"name": common, "type": "user", "description": ""}));
    }
    for common in ["createdAt", "updatedAt"] {
        attributes.push(json!({"name": common, "type": "date", "description": ""}));
    }
    if matches!(model, "case" | "alert") {
        attributes.extend(custom_field_attributes(custom_fields));
    }
    if model == "case" {
        for metric in metrics {
            if let Some(name) = metric.get("name").and_then(Value::as_str) {
                attributes.push(json!({"name": format!("metrics.{name}"), "type": "number",
                    "description": metric.get("description").cloned().unwrap_or(json!(""))}));
            }
        }
    }
    for name in computed(model) {
        attributes
            .push(json!({"name": format!("computed.{name}"), "type": "number", "description": ""}));
    }
    Some(json!({"label": label, "path": path, "attributes": attributes}))
}

/// Every model (`/api/describe/_all`).
pub fn describe_all(
    data_types: &[String],
    custom_fields: &[Map<String, Value>],
    metrics: &[Value],
) -> Map<String, Value> {
    MODELS
        .iter()
        .filter_map(|(model, _, _)| {
            Some((
                (*model).to_owned(),
                describe(model, data_types, custom_fields, metrics)?,
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_model_is_described_with_label_and_path() {
        let all = describe_all(&[], &[], &[]);

        assert_eq!(all.len(), 8);
        assert_eq!(all["case"]["label"], "Case");
        assert_eq!(all["case_task"]["path"], "/case/task");
    }

    #[test]
    fn custom_fields_and_enumerations_appear_as_the_ui_expects() {
        let custom = json!({"reference": "cvss", "type": "number", "description": "score", "options": [1, 2]});
        let case = describe("case", &[], &[custom.as_object().cloned().unwrap()], &[]).unwrap();
        let attributes = case["attributes"].as_array().unwrap();

        let find = |name: &str| {
            attributes
                .iter()
                .find(|attribute| attribute["name"] == name)
                .cloned()
                .unwrap()
        };
        assert_eq!(find("customFields.cvss.number")["values"], json!([1, 2]));
        assert_eq!(
            find("severity")["labels"],
            json!(["low", "medium", "high", "critical"])
        );
        assert_eq!(
            find("status")["values"],
            json!(["Open", "Resolved", "Deleted"])
        );
        assert_eq!(find("computed.timeToResolveSeconds")["type"], "number");
        assert!(describe("unknown", &[], &[], &[]).is_none());
    }
}
