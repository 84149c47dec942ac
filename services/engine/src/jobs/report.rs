//! Reading what jobs produced: the job with its report (§3.8), waiting for it (`waitreport`),
//! its artifact entities (§3.9), and whether an attachment belongs to an organisation.

use std::time::Duration;

use serde_json::{Map, Value, json};
use skep_store::{Document, Page, Query, Sort, Store, StoreError};

use super::duration::WaitBound;
use super::error::Result;
use super::job::{ARTIFACT_KIND, JOB_KIND, JobStatus, REPORT_KIND, get, job_json, status_of};
use super::runtime::JobRuntime;
use crate::domain::OrgId;

/// The job with its `report` (§3.8 of the spec).
pub async fn report(store: &dyn Store, organization: &OrgId, id: &str) -> Result<Value> {
    let document = get(store, organization, id).await?;
    with_report(store, &document).await
}

async fn with_report(store: &dyn Store, document: &Document) -> Result<Value> {
    let mut job = job_json(document);
    let report = match status_of(&document.body) {
        JobStatus::Waiting => json!("Waiting"),
        JobStatus::InProgress => json!("Running"),
        JobStatus::Deleted => json!("Deleted"),
        JobStatus::Failure => json!({
            "errorMessage": document.body.get("errorMessage").cloned().unwrap_or(Value::Null),
            "input": match document.body.get("input") {
                None | Some(Value::Null) => Value::Null,
                Some(Value::String(text)) => json!(text),
                Some(other) => json!(other.to_string()),
            },
            "success": false,
        }),
        JobStatus::Success => {
            let stored = match store.get(REPORT_KIND, &document.id).await {
                Ok(report) => report.body,
                Err(StoreError::NotFound { .. }) => Map::new(),
                Err(error) => return Err(error.into()),
            };
            let artifacts = store
                .search(
                    ARTIFACT_KIND,
                    &Query::eq("jobId", document.id.as_str()),
                    Page::ALL,
                    &in_report_order(),
                )
                .await?;
            let artifacts: Vec<Value> = artifacts
                .documents
                .iter()
                .map(|artifact| report_artifact(&artifact.body))
                .collect();
            json!({
                "summary": stored.get("summary").cloned().unwrap_or_else(|| json!({})),
                "full": stored.get("full").cloned().unwrap_or_else(|| json!({})),
                "success": true,
                "artifacts": artifacts,
                "operations": stored.get("operations").cloned().unwrap_or_else(|| json!([])),
            })
        }
    };
    job["report"] = report;
    Ok(job)
}

/// Artifacts in the order the worker reported them.
fn in_report_order() -> Vec<Sort> {
    vec![Sort {
        field: "position".into(),
        descending: false,
    }]
}

fn report_artifact(body: &Map<String, Value>) -> Value {
    let mut out = Map::new();
    for key in ["data", "dataType", "message", "tags", "tlp", "attachment"] {
        if let Some(value) = body.get(key) {
            out.insert(key.into(), value.clone());
        }
    }
    Value::Object(out)
}

/// Waits until the job ends or `bound` elapses, then answers like [`report`].
pub async fn wait_report(
    runtime: &JobRuntime,
    organization: &OrgId,
    id: &str,
    bound: WaitBound,
) -> Result<Value> {
    let store = runtime.store();
    let deadline = match bound {
        WaitBound::Finite(duration) => Some(tokio::time::Instant::now() + duration),
        WaitBound::Infinite => None,
    };
    loop {
        let finished = runtime.finished_signal();
        let document = get(store, organization, id).await?;
        let expired = deadline.is_some_and(|deadline| tokio::time::Instant::now() >= deadline);
        if status_of(&document.body).is_final() || expired {
            return with_report(store, &document).await;
        }
        // Wake on any local completion, or re-read once a second (other engines, restarts).
        let mut nap = Duration::from_secs(1);
        if let Some(deadline) = deadline {
            nap = nap.min(deadline.saturating_duration_since(tokio::time::Instant::now()));
        }
        let _ = tokio::time::timeout(nap, finished).await;
    }
}

/// Artifact entities of a job.
pub async fn artifacts(
    store: &dyn Store,
    organization: &OrgId,
    id: &str,
    query: Query,
    page: Page,
    sort: &[Sort],
) -> Result<(Vec<Value>, u64)> {
    get(store, organization, id).await?;
    let scoped = Query::eq("jobId", id).and(query);
    let in_order = in_report_order();
    let sort = if sort.is_empty() {
        in_order.as_slice()
    } else {
        sort
    };
    let hits = store.search(ARTIFACT_KIND, &scoped, page, sort).await?;
    let artifacts = hits
        .documents
        .iter()
        .map(|document| {
            let mut out = Map::new();
            out.insert("id".into(), json!(document.id));
            out.insert("_id".into(), json!(document.id));
            out.insert("_type".into(), json!("artifact"));
            out.insert("_parent".into(), json!(id));
            for (key, value) in &document.body {
                if !matches!(key.as_str(), "organization" | "jobId" | "position") {
                    out.insert(key.clone(), value.clone());
                }
            }
            Value::Object(out)
        })
        .collect();
    Ok((artifacts, hits.total))
}

/// True when an attachment with this SHA-256 belongs to a job or artifact of the organisation.
pub async fn owns_attachment(
    store: &dyn Store,
    organization: &OrgId,
    sha256: &str,
) -> Result<bool> {
    let query =
        Query::eq("organization", organization.as_str()).and(Query::eq("attachment.id", sha256));
    for kind in [JOB_KIND, ARTIFACT_KIND] {
        if store.count(kind, &query).await? > 0 {
            return Ok(true);
        }
    }
    Ok(false)
}
