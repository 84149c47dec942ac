//! The REST client for the cases service, using only calls thehive4py 1.x makes, so the same
//! ingest also feeds TheHive 3: `POST /api/case/_search` and `/api/alert/_search` (lookup of
//! idempotency keys with `_in`), `POST /api/case`, `POST /api/case/{id}/artifact` (JSON with a
//! `data` list, or multipart `_json` + `attachment`), `POST /api/alert`.
//!
//! Errors are split in two: [`CasesError::Unreachable`] (connection refused, timeout, 5xx:
//! retry later, the mail stays in the mailbox) and [`CasesError::Rejected`] (the service said
//! no: this mail failed, the others go on).

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use serde_json::{Value, json};

use crate::extract::Observable;
use crate::plan::{FileObservable, KEY_TAG_PREFIX, Kind, Plan, found_message, key_tag};

/// What went wrong talking to the cases service.
#[derive(Debug, thiserror::Error)]
pub enum CasesError {
    /// Not reachable now (connection, timeout, 5xx): retry.
    #[error("cases service unreachable: {0}")]
    Unreachable(String),
    /// Refused (4xx): retrying will not help.
    #[error("cases service refused ({status}): {body}")]
    Rejected {
        /// HTTP status.
        status: u16,
        /// Response body (truncated).
        body: String,
    },
}

/// What a submission did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Submitted {
    /// Created now.
    Created,
    /// Already there (found by its key, or refused as a duplicate).
    Duplicate,
}

/// Idempotency keys already present in the cases service.
#[derive(Debug, Default)]
pub struct Existing {
    /// Key → case id.
    pub cases: HashMap<String, String>,
    /// Keys of alerts.
    pub alerts: HashSet<String>,
}

/// A client for one cases service.
#[derive(Clone)]
pub struct CasesClient {
    http: reqwest::Client,
    base: String,
    key: String,
}

impl CasesClient {
    /// A client for `base` (e.g. `http://127.0.0.1:9000`) with an API key.
    pub fn new(base: &str, key: &str, timeout: Duration) -> Result<CasesClient, CasesError> {
        let http = skep_client::http_client(timeout)
            .map_err(|error| CasesError::Unreachable(error.to_string()))?;
        Ok(CasesClient {
            http,
            base: base.trim_end_matches('/').to_owned(),
            key: key.to_owned(),
        })
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<Value, CasesError> {
        let response = request
            .bearer_auth(&self.key)
            .send()
            .await
            .map_err(|error| CasesError::Unreachable(error.to_string()))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|error| CasesError::Unreachable(error.to_string()))?;
        if status.is_server_error() {
            return Err(CasesError::Unreachable(format!(
                "{status}: {}",
                truncate(&text)
            )));
        }
        if !status.is_success() {
            return Err(CasesError::Rejected {
                status: status.as_u16(),
                body: truncate(&text),
            });
        }
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Checks that the service answers and the key is accepted (`GET /api/user/current`... is
    /// not a thehive4py call; a search on cases is).
    pub async fn ping(&self) -> Result<(), CasesError> {
        self.existing(&[]).await.map(|_| ())
    }

    /// Which of `keys` already have a case or an alert.
    pub async fn existing(&self, keys: &[String]) -> Result<Existing, CasesError> {
        let mut existing = Existing::default();
        let tags: Vec<String> = keys.iter().map(|key| key_tag(key)).collect();
        let query = json!({"query": {"_in": {"_field": "tags", "_values": tags}}});
        let found = self
            .send(
                self.http
                    .post(format!("{}/api/case/_search?range=all", self.base))
                    .json(&query),
            )
            .await?;
        for case in found.as_array().into_iter().flatten() {
            let id = case
                .get("id")
                .or_else(|| case.get("_id"))
                .and_then(Value::as_str);
            let keys_of_case = case
                .get("tags")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .filter_map(|tag| tag.strip_prefix(KEY_TAG_PREFIX));
            if let Some(id) = id {
                for key in keys_of_case {
                    existing.cases.insert(key.to_owned(), id.to_owned());
                }
            }
        }
        let query = json!({"query": {"_in": {"_field": "sourceRef", "_values": keys}}});
        let found = self
            .send(
                self.http
                    .post(format!("{}/api/alert/_search?range=all", self.base))
                    .json(&query),
            )
            .await?;
        for alert in found.as_array().into_iter().flatten() {
            if let Some(key) = alert.get("sourceRef").and_then(Value::as_str) {
                existing.alerts.insert(key.to_owned());
            }
        }
        Ok(existing)
    }

    /// Creates what `plan` describes. `existing_case` is the case already made for this key by
    /// an interrupted run: its observables are sent again (duplicates are accepted), so it ends
    /// complete.
    pub async fn submit(
        &self,
        plan: &Plan,
        existing_case: Option<&str>,
    ) -> Result<Submitted, CasesError> {
        match plan.kind {
            Kind::Alert => self.create_alert(plan).await,
            Kind::Case => {
                let (case_id, outcome) = match existing_case {
                    Some(id) => (id.to_owned(), Submitted::Duplicate),
                    None => (self.create_case(plan).await?, Submitted::Created),
                };
                // The observable requests of one case go out together.
                let files = plan
                    .files
                    .iter()
                    .map(|file| self.add_file(&case_id, file, plan.tlp));
                let (values, files) = futures_util::future::join(
                    self.add_observables(&case_id, &plan.observables, plan.tlp),
                    futures_util::future::try_join_all(files),
                )
                .await;
                values?;
                files?;
                Ok(outcome)
            }
        }
    }

    async fn create_alert(&self, plan: &Plan) -> Result<Submitted, CasesError> {
        let result = self
            .send(
                self.http
                    .post(format!("{}/api/alert", self.base))
                    .json(&plan.body),
            )
            .await;
        match result {
            Ok(_) => Ok(Submitted::Created),
            // TheHive 3 and Skep refuse a second alert with the same type/source/sourceRef.
            Err(CasesError::Rejected { status, body })
                if status == 409 || (status == 400 && body.contains("already exists")) =>
            {
                Ok(Submitted::Duplicate)
            }
            Err(error) => Err(error),
        }
    }

    async fn create_case(&self, plan: &Plan) -> Result<String, CasesError> {
        let created = self
            .send(
                self.http
                    .post(format!("{}/api/case", self.base))
                    .json(&plan.body),
            )
            .await?;
        created
            .get("id")
            .or_else(|| created.get("_id"))
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| CasesError::Rejected {
                status: 201,
                body: format!(
                    "the created case has no id: {}",
                    truncate(&created.to_string())
                ),
            })
    }

    /// One request per (dataType, tags) group, its values as a `data` list.
    async fn add_observables(
        &self,
        case_id: &str,
        observables: &[Observable],
        tlp: u8,
    ) -> Result<(), CasesError> {
        let mut groups: Vec<(&str, &[String], Vec<&str>)> = Vec::new();
        for observable in observables {
            match groups.iter_mut().find(|(data_type, tags, _)| {
                *data_type == observable.data_type && *tags == observable.tags.as_slice()
            }) {
                Some((_, _, values)) => values.push(&observable.data),
                None => groups.push((
                    &observable.data_type,
                    &observable.tags,
                    vec![&observable.data],
                )),
            }
        }
        let requests = groups
            .into_iter()
            .map(|(data_type, tags, values)| async move {
                let body = json!({
                    "dataType": data_type,
                    "data": values,
                    "tlp": tlp,
                    "tags": tags,
                    "message": found_message(tags),
                    "ioc": false,
                    "sighted": false,
                });
                let result = self
                    .send(
                        self.http
                            .post(format!("{}/api/case/{case_id}/artifact", self.base))
                            .json(&body),
                    )
                    .await;
                accept_refused(result, case_id, data_type)
            });
        futures_util::future::try_join_all(requests).await?;
        Ok(())
    }

    async fn add_file(
        &self,
        case_id: &str,
        file: &FileObservable,
        tlp: u8,
    ) -> Result<(), CasesError> {
        let json = json!({
            "dataType": "file",
            "tlp": tlp,
            "tags": file.tags,
            "message": file.message,
            "ioc": false,
            "sighted": false,
        });
        let part = reqwest::multipart::Part::bytes(file.content.clone())
            .file_name(file.name.clone())
            .mime_str(&file.mime)
            .or_else(|_| {
                reqwest::multipart::Part::bytes(file.content.clone())
                    .file_name(file.name.clone())
                    .mime_str("application/octet-stream")
            })
            .map_err(|error| CasesError::Rejected {
                status: 0,
                body: error.to_string(),
            })?;
        let form = reqwest::multipart::Form::new()
            .text("_json", json.to_string())
            .part("attachment", part);
        let result = self
            .send(
                self.http
                    .post(format!("{}/api/case/{case_id}/artifact", self.base))
                    .multipart(form),
            )
            .await;
        accept_refused(result, case_id, "file")
    }
}

/// An observable that already exists (a re-run completing a case) is fine. One the service
/// refuses (an unknown custom data type, a value it finds invalid) is logged and skipped: the
/// case is there, and retrying the mail would only be refused again.
fn accept_refused(
    result: Result<Value, CasesError>,
    case_id: &str,
    data_type: &str,
) -> Result<(), CasesError> {
    match result {
        Ok(_) => Ok(()),
        Err(CasesError::Rejected { status: 400, body }) if body.contains("already exists") => {
            Ok(())
        }
        Err(CasesError::Rejected { status, body }) => {
            tracing::warn!(
                case = case_id,
                data_type,
                status,
                %body,
                "the cases service refused an observable; the case keeps the others"
            );
            Ok(())
        }
        Err(error) => Err(error),
    }
}

fn truncate(text: &str) -> String {
    text.chars().take(500).collect()
}
