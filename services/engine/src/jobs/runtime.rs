//! The job runtime: the durable queue (jobs `Waiting` in the store), the executor that claims
//! jobs with an optimistic version check (so several engines on one store never run a job
//! twice), runs them through [`super::runner`] with the engine's limits, stores reports and
//! artifacts, and the sweeper that re-queues waiting jobs and ends jobs orphaned by a dead
//! engine.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use serde_json::{Map, Value, json};
use skep_http::UploadedFile;
use skep_store::{Document, NewDocument, Store, StoreError};
use tokio::sync::{Notify, Semaphore, mpsc};

use super::catalog::{Catalogs, Definition, WorkerKind};
use super::configuration::deep_merge;
use super::datastore::{Attachment, Datastore};
use super::error::Result;
use super::job::{ARTIFACT_KIND, JOB_KIND, JobStatus, REPORT_KIND, status_of};
use super::runner::{JobFolder, OutputProblem, ProcessSpec, run_process};
use super::worker::{WORKER_KIND, Worker};

mod sweeper;
use crate::config_workers::{WorkersConfig, minutes};
use crate::domain::now_ms;

/// Store kind of the liveness marks of engine instances.
pub const INSTANCE_KIND: &str = "engine_instance";

/// Error message of a job left running by an engine that stopped.
pub const ORPHANED_MESSAGE: &str = "engine restarted while the job was running";

/// How a job ended.
#[derive(Debug)]
enum Outcome {
    Success {
        full: Value,
        summary: Value,
        operations: Value,
        artifacts: Vec<Map<String, Value>>,
    },
    Failure {
        message: String,
        input: Option<Value>,
    },
}

impl Outcome {
    fn failure(message: impl Into<String>) -> Outcome {
        Outcome::Failure {
            message: message.into(),
            input: None,
        }
    }
}

/// Catalogs, attachment store and executor of the engine's jobs.
#[derive(Debug)]
pub struct JobRuntime {
    store: Arc<dyn Store>,
    catalogs: Catalogs,
    config: WorkersConfig,
    datastore: Datastore,
    job_directory: PathBuf,
    bin_dirs: Vec<PathBuf>,
    instance: String,
    sender: mpsc::UnboundedSender<String>,
    receiver: Mutex<Option<mpsc::UnboundedReceiver<String>>>,
    queued: Mutex<HashSet<String>>,
    finished: Notify,
}

impl JobRuntime {
    /// Loads the catalogs and opens the attachment store; [`JobRuntime::start`] starts the
    /// executor.
    pub fn new(
        store: Arc<dyn Store>,
        config: &WorkersConfig,
        data_dir: &Path,
    ) -> std::io::Result<Arc<JobRuntime>> {
        let catalogs = Catalogs::load(config.analyzer_catalog(), config.responder_catalog());
        let datastore = Datastore::open(&config.datastore_directory(data_dir))?;
        let job_directory = config.job_directory(data_dir);
        std::fs::create_dir_all(&job_directory)?;
        let (sender, receiver) = mpsc::unbounded_channel();
        let suffix: u64 = rand::random();
        Ok(Arc::new(JobRuntime {
            store,
            catalogs,
            config: config.clone(),
            datastore,
            job_directory,
            bin_dirs: config.builtin_bin_dirs(),
            instance: format!("{}-{suffix:016x}", std::process::id()),
            sender,
            receiver: Mutex::new(Some(receiver)),
            queued: Mutex::new(HashSet::new()),
            finished: Notify::new(),
        }))
    }

    /// Starts the executor and the sweeper on the current Tokio runtime. Jobs left `Waiting`
    /// are queued again; jobs left `InProgress` by a stopped engine end as failures.
    pub fn start(self: &Arc<Self>) {
        let receiver = match self.receiver.lock() {
            Ok(mut receiver) => receiver.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        };
        let Some(receiver) = receiver else {
            return;
        };
        let parallelism = self.config.effective_parallelism();
        tracing::info!(parallelism, instance = %self.instance, "job executor started");
        tokio::spawn(dispatch(Arc::downgrade(self), receiver, parallelism));
        tokio::spawn(sweeper::sweep(Arc::downgrade(self)));
    }

    /// The document store.
    pub fn store(&self) -> &dyn Store {
        &*self.store
    }

    /// The worker configuration section.
    pub fn config(&self) -> &WorkersConfig {
        &self.config
    }

    /// The analyzer and responder catalogs.
    pub fn catalogs(&self) -> &Catalogs {
        &self.catalogs
    }

    /// A future completed when any job of this engine ends; create it before checking a job.
    pub fn finished_signal(&self) -> tokio::sync::futures::Notified<'_> {
        self.finished.notified()
    }

    /// Queues a job id for the executor.
    pub fn enqueue(&self, job_id: String) {
        let fresh = match self.queued.lock() {
            Ok(mut queued) => queued.insert(job_id.clone()),
            Err(poisoned) => poisoned.into_inner().insert(job_id.clone()),
        };
        if fresh && self.sender.send(job_id).is_err() {
            tracing::warn!("job executor stopped; the job stays queued in the store");
        }
    }

    fn dequeued(&self, job_id: &str) {
        match self.queued.lock() {
            Ok(mut queued) => queued.remove(job_id),
            Err(poisoned) => poisoned.into_inner().remove(job_id),
        };
    }

    /// Stores an uploaded file in the attachment store.
    pub async fn store_attachment(&self, file: UploadedFile) -> Result<Attachment> {
        let datastore = self.datastore.clone();
        let attachment = tokio::task::spawn_blocking(move || {
            datastore.put(&file.filename, &file.content_type, &file.data)
        })
        .await
        .map_err(std::io::Error::other)??;
        Ok(attachment)
    }

    /// Reads a stored file by SHA-256.
    pub async fn read_attachment(&self, sha256: String) -> Option<Vec<u8>> {
        let datastore = self.datastore.clone();
        tokio::task::spawn_blocking(move || datastore.get(&sha256))
            .await
            .ok()
            .flatten()
    }

    /// Claims a waiting job; `None` when it is gone, not waiting, or taken by another engine.
    async fn claim(&self, job_id: &str) -> Option<Document> {
        let document = self.store.get(JOB_KIND, job_id).await.ok()?;
        if status_of(&document.body) != JobStatus::Waiting {
            return None;
        }
        let mut body = document.body;
        body.insert("status".into(), json!(JobStatus::InProgress.as_str()));
        body.insert("startDate".into(), json!(now_ms()));
        body.insert("runnerInstance".into(), json!(self.instance));
        match self
            .store
            .update(JOB_KIND, job_id, Some(document.version), body)
            .await
        {
            Ok(claimed) => Some(claimed),
            Err(StoreError::Conflict { .. }) => None,
            Err(error) => {
                tracing::error!(job_id, error = ?error, "job claim failed");
                None
            }
        }
    }

    async fn run(self: Arc<Self>, job_id: String) {
        if let Some(job) = self.claim(&job_id).await {
            tracing::debug!(job_id, "job started");
            let outcome = self.execute(&job).await;
            if let Err(error) = self.finish(&job, outcome).await {
                tracing::error!(job_id, error = ?error, "job result not stored");
            }
            self.finished.notify_waiters();
        }
        self.dequeued(&job_id);
    }

    async fn execute(&self, job: &Document) -> Outcome {
        let body = &job.body;
        let kind = body
            .get("type")
            .and_then(Value::as_str)
            .and_then(WorkerKind::parse)
            .unwrap_or(WorkerKind::Analyzer);
        let worker_id = body
            .get("workerId")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let worker = match self.store.get(WORKER_KIND, worker_id).await {
            Ok(document) => Worker {
                id: document.id,
                body: document.body,
            },
            Err(StoreError::NotFound { .. }) => {
                return Outcome::failure(format!("worker {worker_id} no longer exists (disabled)"));
            }
            Err(error) => {
                return Outcome::failure(format!("worker {worker_id} cannot be read: {error}"));
            }
        };
        let Some(definition) = self.catalogs.of(kind).get(worker.definition_id()) else {
            return Outcome::failure(format!(
                "definition {} is no longer in the {} catalog",
                worker.definition_id(),
                kind.as_str()
            ));
        };
        let config = job_config(&definition, &worker);
        if let Some(refusal) = sensitivity_refusal(body, &config) {
            return Outcome::failure(refusal);
        }
        let Some(command) = definition.resolve_command(&self.bin_dirs) else {
            return Outcome::failure(match &definition.command {
                Some(command) => format!(
                    "worker cannot be run: command `{command}` of {} not found in {} nor in the built-in worker folders",
                    definition.id,
                    definition.root.display()
                ),
                None => format!(
                    "worker cannot be run: {} has no command (only the process runner is available)",
                    definition.id
                ),
            });
        };
        let timeout = worker
            .job_timeout_minutes()
            .and_then(minutes)
            .or_else(|| minutes(self.config.default_job_timeout_minutes))
            .unwrap_or(Duration::from_secs(1800));
        self.run_in_folder(job, &definition, &command, config, timeout)
            .await
    }

    async fn run_in_folder(
        &self,
        job: &Document,
        definition: &Definition,
        command: &Path,
        config: Map<String, Value>,
        timeout: Duration,
    ) -> Outcome {
        let prepared = self.prepare_folder(job, config).await;
        let (folder, environment) = match prepared {
            Ok(prepared) => prepared,
            Err(error) => {
                return Outcome::failure(format!("job folder cannot be prepared: {error}"));
            }
        };
        let end = run_process(ProcessSpec {
            command,
            working_directory: &definition.root,
            job_folder: folder.path(),
            timeout,
            environment,
            tail_bytes: self.config.stderr_tail_bytes,
        })
        .await;
        let folder = Arc::new(folder);
        let reader = folder.clone();
        let output = tokio::task::spawn_blocking(move || reader.read_output())
            .await
            .unwrap_or(Err(OutputProblem::Missing));
        let with_tail = |message: String| {
            if end.output_tail.is_empty() {
                message
            } else {
                format!("{message}\n{}", end.output_tail)
            }
        };
        let outcome = if end.timed_out {
            Outcome::failure(with_tail(format!(
                "job timed out after {} and was killed",
                describe(timeout)
            )))
        } else {
            match output {
                Ok(output) => self.interpret(output, folder.clone()).await,
                Err(_) if end.failed_to_start => Outcome::failure(end.status.clone()),
                Err(OutputProblem::Missing) => Outcome::failure(with_tail(format!(
                    "worker produced no output ({})",
                    end.status
                ))),
                Err(OutputProblem::Invalid(why)) => Outcome::failure(with_tail(format!(
                    "invalid worker output: {why} ({})",
                    end.status
                ))),
            }
        };
        // Removing a folder with a large output is blocking work.
        tokio::task::spawn_blocking(move || drop(folder)).await.ok();
        outcome
    }

    async fn prepare_folder(
        &self,
        job: &Document,
        config: Map<String, Value>,
    ) -> std::io::Result<(JobFolder, Vec<(String, String)>)> {
        let body = job.body.clone();
        let keep = self.config.keep_job_folder
            || body.get("parameters").and_then(|p| p.get("keepJobFolder")) == Some(&json!(true));
        let parent = self.job_directory.clone();
        let job_id = job.id.clone();
        let datastore = self.datastore.clone();
        tokio::task::spawn_blocking(move || {
            let folder = JobFolder::create(&parent, &job_id, keep)?;
            let mut input = Map::new();
            for key in ["dataType", "tlp", "pap", "message", "parameters"] {
                input.insert(key.into(), body.get(key).cloned().unwrap_or(Value::Null));
            }
            if let Some(attachment) = body.get("attachment") {
                let id = attachment
                    .get("id")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let content = datastore
                    .get(id)
                    .ok_or_else(|| std::io::Error::other(format!("attachment {id} is missing")))?;
                let name = folder.add_attachment(&content)?;
                input.insert("file".into(), json!(name));
                input.insert(
                    "filename".into(),
                    attachment.get("name").cloned().unwrap_or(Value::Null),
                );
                input.insert(
                    "contentType".into(),
                    attachment
                        .get("contentType")
                        .cloned()
                        .unwrap_or(Value::Null),
                );
            } else {
                input.insert(
                    "data".into(),
                    body.get("data").cloned().unwrap_or(Value::Null),
                );
            }
            let mut environment = Vec::new();
            if let Some(Value::String(pem)) = config.get("cacerts")
                && !pem.trim().is_empty()
            {
                let path = folder.add_cacerts(pem)?;
                environment.push(("REQUESTS_CA_BUNDLE".to_owned(), path.display().to_string()));
            }
            input.insert("config".into(), Value::Object(config));
            folder.write_input(&Value::Object(input))?;
            Ok((folder, environment))
        })
        .await
        .map_err(std::io::Error::other)?
    }

    /// Turns `output.json` into an outcome, storing file artifacts.
    async fn interpret(&self, mut output: Map<String, Value>, folder: Arc<JobFolder>) -> Outcome {
        if output.get("success") != Some(&Value::Bool(true)) {
            let message = match output.remove("errorMessage") {
                Some(Value::String(message)) => message,
                Some(other) if !other.is_null() => other.to_string(),
                _ => "the worker reported a failure without a message".to_owned(),
            };
            return Outcome::Failure {
                message,
                input: output.remove("input"),
            };
        }
        let full = match output.remove("full") {
            Some(full @ Value::Object(_)) => full,
            _ => {
                return Outcome::failure(
                    "invalid worker output: `full` is missing or not a JSON object",
                );
            }
        };
        let summary = match output.remove("summary") {
            Some(summary @ Value::Object(_)) => summary,
            _ => json!({}),
        };
        let operations = match output.remove("operations") {
            Some(operations @ Value::Array(_)) => operations,
            _ => json!([]),
        };
        let mut artifacts = Vec::new();
        if let Some(Value::Array(items)) = output.remove("artifacts") {
            for item in items {
                if let Some(artifact) = self.artifact(item, &folder).await {
                    artifacts.push(artifact);
                }
            }
        }
        Outcome::Success {
            full,
            summary,
            operations,
            artifacts,
        }
    }

    async fn artifact(&self, item: Value, folder: &Arc<JobFolder>) -> Option<Map<String, Value>> {
        let Value::Object(item) = item else {
            return None;
        };
        let data_type = item.get("dataType").and_then(Value::as_str)?.to_owned();
        let mut artifact = Map::new();
        artifact.insert("dataType".into(), json!(data_type));
        if data_type == "file" && item.contains_key("file") {
            let file = item.get("file").and_then(Value::as_str)?.to_owned();
            let name = item
                .get("filename")
                .and_then(Value::as_str)
                .unwrap_or(&file)
                .to_owned();
            let content_type = item
                .get("contentType")
                .and_then(Value::as_str)
                .unwrap_or("application/octet-stream")
                .to_owned();
            let folder = folder.clone();
            let datastore = self.datastore.clone();
            let stored = tokio::task::spawn_blocking(move || {
                let content = folder.read_output_file(&file)?;
                datastore.put(&name, &content_type, &content).ok()
            })
            .await
            .ok()
            .flatten();
            let Some(attachment) = stored else {
                tracing::warn!("file artifact skipped: file missing from the output folder");
                return None;
            };
            artifact.insert("attachment".into(), serde_json::to_value(attachment).ok()?);
        } else {
            artifact.insert(
                "data".into(),
                item.get("data").cloned().unwrap_or(Value::Null),
            );
        }
        artifact.insert("tlp".into(), item.get("tlp").cloned().unwrap_or(json!(2)));
        artifact.insert(
            "tags".into(),
            item.get("tags").cloned().unwrap_or(json!([])),
        );
        artifact.insert(
            "message".into(),
            item.get("message").cloned().unwrap_or(Value::Null),
        );
        Some(artifact)
    }

    /// Stores the outcome and ends the job.
    async fn finish(&self, job: &Document, outcome: Outcome) -> Result<()> {
        let organization = job.body.get("organization").cloned().unwrap_or(Value::Null);
        let created_by = job.body.get("createdBy").cloned().unwrap_or(Value::Null);
        let mut changes = Map::new();
        match outcome {
            Outcome::Success {
                full,
                summary,
                operations,
                artifacts,
            } => {
                let mut report = Map::new();
                report.insert("full".into(), full);
                report.insert("summary".into(), summary);
                report.insert("operations".into(), operations);
                report.insert("success".into(), json!(true));
                report.insert("organization".into(), organization.clone());
                report.insert("jobId".into(), json!(job.id));
                let new_report = NewDocument {
                    id: Some(job.id.clone()),
                    parent: Some(job.id.clone()),
                    body: report,
                };
                match self.store.put(REPORT_KIND, new_report).await {
                    Ok(_) => {}
                    Err(error) if error.is_duplicate() => {}
                    Err(error) => return Err(error.into()),
                }
                let now = now_ms();
                let documents = artifacts
                    .into_iter()
                    .enumerate()
                    .map(|(position, mut body)| {
                        body.insert("position".into(), json!(position));
                        body.insert("organization".into(), organization.clone());
                        body.insert("jobId".into(), json!(job.id));
                        body.insert("createdBy".into(), created_by.clone());
                        body.insert("createdAt".into(), json!(now));
                        NewDocument {
                            id: None,
                            parent: Some(job.id.clone()),
                            body,
                        }
                    })
                    .collect::<Vec<_>>();
                if !documents.is_empty() {
                    for result in self.store.put_many(ARTIFACT_KIND, documents).await? {
                        result?;
                    }
                }
                changes.insert("status".into(), json!(JobStatus::Success.as_str()));
            }
            Outcome::Failure { message, input } => {
                tracing::info!(job_id = %job.id, "job failed");
                changes.insert("status".into(), json!(JobStatus::Failure.as_str()));
                changes.insert("errorMessage".into(), json!(message));
                changes.insert("input".into(), input.unwrap_or(Value::Null));
            }
        }
        changes.insert("endDate".into(), json!(now_ms()));
        self.apply(job, changes).await
    }

    /// Applies changes to a job, retrying on concurrent writes; a job deleted meanwhile stays
    /// `Deleted`.
    async fn apply(&self, claimed: &Document, changes: Map<String, Value>) -> Result<()> {
        // First try on the claimed version (the common case: nobody touched the job since).
        let mut current = claimed.clone();
        let mut attempts = 0;
        loop {
            let mut body = current.body;
            let deleted = status_of(&body) == JobStatus::Deleted;
            body.extend(changes.clone());
            if deleted {
                body.insert("status".into(), json!(JobStatus::Deleted.as_str()));
            }
            match self
                .store
                .update(JOB_KIND, &claimed.id, Some(current.version), body)
                .await
            {
                Ok(_) => return Ok(()),
                Err(StoreError::Conflict { .. }) if attempts < 5 => attempts += 1,
                Err(error) => return Err(error.into()),
            }
            current = self.store.get(JOB_KIND, &claimed.id).await?;
        }
    }
}

/// The job's `config`: definition config, overlaid by the worker configuration, plus proxies.
fn job_config(definition: &Definition, worker: &Worker) -> Map<String, Value> {
    let mut config = definition.config.clone();
    let configuration = worker.configuration();
    deep_merge(&mut config, &configuration);
    let mut proxy = Map::new();
    for (key, scheme) in [("proxy_http", "http"), ("proxy_https", "https")] {
        if let Some(Value::String(url)) = configuration.get(key)
            && !url.is_empty()
        {
            proxy.insert(scheme.into(), json!(url));
        }
    }
    if !proxy.is_empty() {
        let mut overlay = Map::new();
        overlay.insert("proxy".into(), Value::Object(proxy));
        deep_merge(&mut config, &overlay);
    }
    config
}

/// The refusal message when the job's TLP or PAP exceeds what the configuration allows.
fn sensitivity_refusal(job: &Map<String, Value>, config: &Map<String, Value>) -> Option<String> {
    for (label, check, max, field) in [
        ("TLP", "check_tlp", "max_tlp", "tlp"),
        ("PAP", "check_pap", "max_pap", "pap"),
    ] {
        if config.get(check) != Some(&Value::Bool(true)) {
            continue;
        }
        let allowed = config.get(max).and_then(Value::as_f64).unwrap_or(2.0);
        let level = job.get(field).and_then(Value::as_f64).unwrap_or(2.0);
        if level > allowed {
            return Some(format!("{label} is higher than allowed."));
        }
    }
    None
}

fn describe(duration: Duration) -> String {
    let seconds = duration.as_secs_f64();
    if seconds >= 60.0 && seconds % 60.0 == 0.0 {
        format!("{} minutes", seconds / 60.0)
    } else {
        format!("{seconds} seconds")
    }
}

async fn dispatch(
    runtime: Weak<JobRuntime>,
    mut receiver: mpsc::UnboundedReceiver<String>,
    parallelism: usize,
) {
    let slots = Arc::new(Semaphore::new(parallelism));
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let Some(job_id) = receiver.recv().await else {
            return;
        };
        let Some(runtime) = runtime.upgrade() else {
            return;
        };
        tokio::spawn(async move {
            runtime.run(job_id).await;
            drop(slot);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tlp_above_the_maximum_is_refused_only_when_checked() {
        let job = json!({"tlp": 3, "pap": 0});
        let job = job.as_object().unwrap();
        let checked = json!({"check_tlp": true, "max_tlp": 2});
        let unchecked = json!({"check_tlp": false, "max_tlp": 0});

        assert_eq!(
            sensitivity_refusal(job, checked.as_object().unwrap()).as_deref(),
            Some("TLP is higher than allowed.")
        );
        assert_eq!(
            sensitivity_refusal(job, unchecked.as_object().unwrap()),
            None
        );
    }

    #[test]
    fn durations_are_described_in_minutes_or_seconds() {
        assert_eq!(describe(Duration::from_secs(1800)), "30 minutes");
        assert_eq!(describe(Duration::from_secs(3)), "3 seconds");
    }
}
