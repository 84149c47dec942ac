//! Following jobs and actions until their engine ends them: one task per job, each waiting on
//! the engine with a bounded `waitreport` (at most `refresh_seconds` per call, so a running job
//! costs one request per period, not a polling storm). An unreachable engine is retried with a
//! doubling pause (1 s up to `refresh_seconds`) for as long as it takes, so a job survives an
//! engine outage and shows its real final state afterwards. The records are in the store, so a
//! restarted cases service picks every `InProgress` job and action up again ([`resume`]).

use std::time::Duration;

use actix_web::web;
use serde_json::{Value, json};
use skep_client::ClientError;
use skep_store::{Document, Page, Query, Store};

use super::{action, job};
use crate::domain::{audit, entity, observable};
use crate::state::CasesState;

/// What is followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Followed {
    /// An analysis job (`case_artifact_job`).
    Job,
    /// A responder action (`action`).
    Action,
}

impl Followed {
    fn kind(self) -> &'static str {
        match self {
            Followed::Job => job::KIND,
            Followed::Action => action::KIND,
        }
    }
}

/// First pause after a failed call to the engine.
const FIRST_PAUSE: Duration = Duration::from_secs(1);

/// Starts following `id` in the background, unless a follower already runs for it.
pub fn spawn(state: web::Data<CasesState>, followed: Followed, id: String) {
    if !state.connector.start_following(&id) {
        return;
    }
    tokio::spawn(async move {
        follow(&state, followed, &id).await;
        state.connector.stop_following(&id);
    });
}

/// Starts a follower for every job and action still `InProgress` (after a restart).
pub async fn resume(state: &web::Data<CasesState>) {
    for followed in [Followed::Job, Followed::Action] {
        let pending = state
            .store
            .search(
                followed.kind(),
                &Query::eq("status", job::IN_PROGRESS),
                Page::ALL,
                &[],
            )
            .await;
        match pending {
            Ok(hits) => {
                if !hits.documents.is_empty() {
                    tracing::info!(
                        count = hits.documents.len(),
                        kind = followed.kind(),
                        "following pending engine jobs again"
                    );
                }
                for document in hits.documents {
                    spawn(state.clone(), followed, document.id);
                }
            }
            Err(error) => {
                tracing::warn!(%error, kind = followed.kind(), "cannot list pending engine jobs")
            }
        }
    }
}

async fn follow(state: &CasesState, followed: Followed, id: &str) {
    let mut pause = FIRST_PAUSE;
    loop {
        if state.connector.is_shut_down() {
            return;
        }
        let document = match state.store.get(followed.kind(), id).await {
            Ok(document) => document,
            Err(error) => {
                tracing::warn!(%error, id, "a followed engine job record cannot be read");
                return;
            }
        };
        if document.body.get("status").and_then(Value::as_str) != Some(job::IN_PROGRESS) {
            return;
        }
        let text = |key: &str| {
            document
                .body
                .get(key)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let (server_name, engine_job) = (text("cortexId"), text("cortexJobId"));
        let Some(client) = state
            .connector
            .server(&server_name)
            .and_then(|server| server.client().ok())
        else {
            let report = failure(&format!("engine {server_name} is not configured"));
            finish(state, followed, &document, "Failure", report).await;
            return;
        };
        let wait = format!("{} seconds", state.connector.refresh.as_secs());
        match client.wait_report(&engine_job, &wait).await {
            Ok(answer) => {
                pause = FIRST_PAUSE;
                match answer["status"].as_str() {
                    Some(status @ ("Success" | "Failure")) => {
                        let report = match answer.get("report") {
                            Some(Value::Object(report)) => Value::Object(report.clone()),
                            _ => failure(answer["errorMessage"].as_str().unwrap_or("no report")),
                        };
                        finish(state, followed, &document, status, report).await;
                        return;
                    }
                    Some("Deleted") => {
                        let report = failure("the job was deleted on the engine");
                        finish(state, followed, &document, "Failure", report).await;
                        return;
                    }
                    _ => {}
                }
            }
            Err(ClientError::Status { status: 404, .. }) => {
                let report = failure("the job is not known to the engine");
                finish(state, followed, &document, "Failure", report).await;
                return;
            }
            Err(error) => {
                tracing::warn!(engine = %server_name, job = %engine_job, error = %error, retry_in = ?pause, "engine job not followed, retrying");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(state.connector.refresh);
            }
        }
    }
}

fn failure(message: &str) -> Value {
    json!({"success": false, "errorMessage": message})
}

/// Ends a job or action: its status, `endDate` and report; for a successful job the summary
/// goes into the observable's `reports`; for an action the operations are applied. All of it
/// is audited under the requester's name in one detached activity scope.
async fn finish(
    state: &CasesState,
    followed: Followed,
    document: &Document,
    status: &str,
    report: Value,
) {
    if state.connector.is_shut_down() {
        return;
    }
    let actor = document
        .body
        .get("createdBy")
        .and_then(Value::as_str)
        .unwrap_or("system")
        .to_owned();
    let work = async {
        audit::set_actor(&actor);
        let result = match followed {
            Followed::Job => finish_job(&*state.store, &actor, document, status, report).await,
            Followed::Action => {
                action::finish(&*state.store, &actor, document, status, report).await
            }
        };
        if let Err(error) = result {
            tracing::warn!(error = %error, id = %document.id, "cannot store the end of an engine job");
        }
    };
    audit::run_detached(&state.activity, work).await;
}

async fn finish_job(
    store: &dyn Store,
    actor: &str,
    document: &Document,
    status: &str,
    report: Value,
) -> Result<(), skep_http::ApiError> {
    let mut body = document.body.clone();
    body.insert("status".into(), json!(status));
    body.insert("endDate".into(), json!(entity::now_ms()));
    body.insert("report".into(), report.clone());
    entity::stamp_update(&mut body, actor);
    store
        .update(job::KIND, &document.id, Some(document.version), body)
        .await?;
    if status != "Success" {
        return Ok(());
    }
    let (Some(observable_id), Some(definition)) = (
        document.parent.as_deref(),
        document
            .body
            .get("analyzerDefinition")
            .and_then(Value::as_str),
    ) else {
        return Ok(());
    };
    let summary = report.get("summary").cloned().unwrap_or_else(|| json!({}));
    // Several jobs can end at once on one observable: retry on a version conflict.
    for _ in 0..10 {
        let current = observable::get(store, observable_id).await?;
        let mut body = current.body.clone();
        let mut reports = match body.remove("reports") {
            Some(Value::Object(reports)) => reports,
            Some(Value::String(text)) => serde_json::from_str(&text).unwrap_or_default(),
            _ => serde_json::Map::new(),
        };
        reports.insert(definition.to_owned(), summary.clone());
        body.insert("reports".into(), Value::Object(reports));
        entity::stamp_update(&mut body, actor);
        match store
            .update(observable::KIND, observable_id, Some(current.version), body)
            .await
        {
            Ok(_) => return Ok(()),
            Err(skep_store::StoreError::Conflict { .. }) => continue,
            Err(error) => return Err(error.into()),
        }
    }
    Err(skep_http::ApiError::new(
        409,
        "ConflictError",
        "the observable kept changing while its report was written",
    ))
}
