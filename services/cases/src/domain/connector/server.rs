//! [`Connector`]: the configured engines, their health (`/api/status`) and their workers
//! (analyzers and responders merged by name across engines, as TheHive lists them).

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

use serde_json::{Map, Value, json};
use skep_client::{EngineClient, TlsOptions};
use skep_http::ApiError;

use crate::config::{CortexConfig, CortexServerConfig};

/// How long the status page waits for an engine.
const STATUS_TIMEOUT: Duration = Duration::from_secs(3);

/// Analyzers or responders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkerKind {
    /// Runs on observables.
    Analyzer,
    /// Runs on cases, tasks, logs, observables and alerts.
    Responder,
}

impl WorkerKind {
    /// The model word TheHive uses in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            WorkerKind::Analyzer => "analyzer",
            WorkerKind::Responder => "responder",
        }
    }
}

/// One configured engine.
#[derive(Debug)]
pub struct Server {
    /// The configured name (`cortexId`).
    pub name: String,
    /// The client, or why it could not be built (an unreadable CA file…).
    client: Result<EngineClient, String>,
    /// A client with the short status time limit.
    status_client: Result<EngineClient, String>,
}

impl Server {
    fn from_config(config: &CortexServerConfig) -> Server {
        let tls = match &config.ca_file {
            Some(path) => match std::fs::read(path) {
                Ok(pem) => Ok(TlsOptions {
                    ca_pem: Some(pem),
                    insecure: config.tls_insecure,
                }),
                Err(error) => Err(format!("cannot read ca_file {}: {error}", path.display())),
            },
            None => Ok(TlsOptions {
                ca_pem: None,
                insecure: config.tls_insecure,
            }),
        };
        let build = |timeout: Duration| {
            let tls = tls.clone()?;
            EngineClient::with_tls(&config.url, config.key.expose(), timeout, &tls)
                .map_err(|error| format!("cannot build the client: {error}"))
        };
        Server {
            name: config.name.clone(),
            client: build(Duration::from_secs(config.timeout_seconds.max(1))),
            status_client: build(
                STATUS_TIMEOUT.min(Duration::from_secs(config.timeout_seconds.max(1))),
            ),
        }
    }

    /// The client, or a `502 CortexError` saying why there is none.
    pub fn client(&self) -> Result<&EngineClient, ApiError> {
        self.client.as_ref().map_err(|reason| {
            ApiError::new(
                502,
                "CortexError",
                format!("engine {}: {reason}", self.name),
            )
        })
    }

    /// `{name, version, status}`: `OK` when the engine's status and the key's user both answer,
    /// else `ERROR` with a `reason` (unreachable, key refused, …).
    pub async fn status(&self) -> Value {
        let error = |reason: String| json!({"name": self.name, "version": "", "status": "ERROR", "reason": reason});
        let client = match &self.status_client {
            Ok(client) => client,
            Err(reason) => return error(reason.clone()),
        };
        let status = match client.status().await {
            Ok(status) => status,
            Err(failure) => return error(describe(&failure)),
        };
        let version = status["versions"]["Cortex"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        match client.current_user().await {
            Ok(_) => json!({"name": self.name, "version": version, "status": "OK"}),
            Err(failure) => {
                let mut answer = error(describe(&failure));
                answer["version"] = json!(version);
                answer
            }
        }
    }

    /// The enabled workers of this engine (for a data type when given), or `None` with a
    /// warning when the engine cannot answer.
    pub async fn workers(&self, kind: WorkerKind, data_type: Option<&str>) -> Option<Vec<Value>> {
        let client = self.client.as_ref().ok()?;
        let listed = match kind {
            WorkerKind::Analyzer => client.list_analyzers(data_type).await,
            WorkerKind::Responder => client.list_responders(data_type).await,
        };
        match listed {
            Ok(Value::Array(workers)) => Some(workers),
            Ok(_) => None,
            Err(error) => {
                tracing::warn!(engine = %self.name, error = %describe(&error), "cannot list the engine's {}s", kind.as_str());
                None
            }
        }
    }
}

/// A reason fit for the status page (no key, no body dump).
fn describe(error: &skep_client::ClientError) -> String {
    match error {
        skep_client::ClientError::Status { status: 401, .. }
        | skep_client::ClientError::Status { status: 403, .. } => {
            "the engine refused the API key".to_owned()
        }
        skep_client::ClientError::Status { status, .. } => format!("the engine answered {status}"),
        skep_client::ClientError::Unreachable { source, .. } => {
            let mut reason = "unreachable".to_owned();
            let mut cause: Option<&dyn std::error::Error> = Some(source);
            while let Some(error) = cause {
                reason = format!("unreachable: {error}");
                cause = error.source();
            }
            reason
        }
        skep_client::ClientError::Decode(_) => "the engine answered an unreadable body".to_owned(),
        skep_client::ClientError::Build(error) => format!("cannot build the client: {error}"),
    }
}

/// The configured engines and the jobs being followed.
#[derive(Debug)]
pub struct Connector {
    servers: Vec<Server>,
    /// Longest wait of one `waitreport`, and longest pause between retries.
    pub refresh: Duration,
    /// Ids of the jobs and actions with a running follower (one follower each).
    following: Mutex<HashSet<String>>,
    /// Set by [`Connector::shut_down`]: followers stop without writing anything more.
    stopped: std::sync::atomic::AtomicBool,
}

impl Connector {
    /// Builds the clients of `config`; a server whose client cannot be built stays listed, in
    /// `ERROR` with the reason.
    pub fn new(config: &CortexConfig) -> Connector {
        Connector {
            servers: config.servers.iter().map(Server::from_config).collect(),
            refresh: Duration::from_secs(config.refresh_seconds.max(1)),
            following: Mutex::new(HashSet::new()),
            stopped: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// True when at least one engine is configured.
    pub fn enabled(&self) -> bool {
        !self.servers.is_empty()
    }

    /// The configured engines.
    pub fn servers(&self) -> &[Server] {
        &self.servers
    }

    /// The engine named `name`.
    pub fn server(&self, name: &str) -> Option<&Server> {
        self.servers.iter().find(|server| server.name == name)
    }

    /// The `connectors` block of `/api/status`: `{}` without engines, else `cortex` with each
    /// server's state and the overall `OK`/`WARNING`/`ERROR`.
    pub async fn status(&self) -> Value {
        if self.servers.is_empty() {
            return json!({});
        }
        let servers = futures_util::future::join_all(self.servers.iter().map(Server::status)).await;
        let ok = servers
            .iter()
            .filter(|server| server["status"] == "OK")
            .count();
        let status = if ok == servers.len() {
            "OK"
        } else if ok > 0 {
            "WARNING"
        } else {
            "ERROR"
        };
        json!({"cortex": {"enabled": true, "status": status, "servers": servers}})
    }

    /// Every enabled worker of every engine (for a data type when given), merged by name:
    /// `{id, name, version, description, dataTypeList, cortexIds, …}` (responders also keep
    /// `maxTlp`/`maxPap`).
    pub async fn workers(&self, kind: WorkerKind, data_type: Option<&str>) -> Vec<Value> {
        let lists = futures_util::future::join_all(
            self.servers
                .iter()
                .map(|server| async move { (server, server.workers(kind, data_type).await) }),
        )
        .await;
        let mut merged: Vec<Map<String, Value>> = Vec::new();
        for (server, workers) in lists {
            for worker in workers.unwrap_or_default() {
                let name = worker["name"].as_str().unwrap_or_default().to_owned();
                if let Some(existing) = merged.iter_mut().find(|w| w["name"] == name.as_str()) {
                    if let Some(Value::Array(ids)) = existing.get_mut("cortexIds") {
                        ids.push(json!(server.name));
                    }
                    continue;
                }
                merged.push(summary(&worker, kind, &server.name));
            }
        }
        merged.into_iter().map(Value::Object).collect()
    }

    /// The engine and worker that run `wanted` (a worker id or name): on `cortex_id` when
    /// given, else on the first engine that has it. `404` when none has it.
    pub async fn find_worker(
        &self,
        kind: WorkerKind,
        wanted: &str,
        cortex_id: Option<&str>,
    ) -> Result<(&Server, Value), ApiError> {
        let candidates: Vec<&Server> =
            match cortex_id.filter(|id| !id.is_empty()) {
                Some(name) => vec![self.server(name).ok_or_else(|| {
                    ApiError::not_found(format!("cortex server {name} not found"))
                })?],
                None => self.servers.iter().collect(),
            };
        for server in candidates {
            let Some(workers) = server.workers(kind, None).await else {
                continue;
            };
            if let Some(worker) = workers
                .into_iter()
                .find(|worker| worker["id"] == wanted || worker["name"] == wanted)
            {
                return Ok((server, worker));
            }
        }
        Err(ApiError::not_found(format!(
            "{} {wanted} not found",
            kind.as_str()
        )))
    }

    /// Stops every follower at its next step, leaving the records as they are (`InProgress`
    /// jobs are picked up by the next start). For an orderly stop, and for tests that restart
    /// the service within one process.
    pub fn shut_down(&self) {
        self.stopped
            .store(true, std::sync::atomic::Ordering::Release);
    }

    /// True once [`Connector::shut_down`] was called.
    pub fn is_shut_down(&self) -> bool {
        self.stopped.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Marks `id` as followed; false when a follower already runs for it (or the connector is
    /// shut down).
    pub fn start_following(&self, id: &str) -> bool {
        if self.is_shut_down() {
            return false;
        }
        self.following
            .lock()
            .map(|mut set| set.insert(id.to_owned()))
            .unwrap_or(false)
    }

    /// Marks `id` as no longer followed.
    pub fn stop_following(&self, id: &str) {
        if let Ok(mut set) = self.following.lock() {
            set.remove(id);
        }
    }
}

/// The fields TheHive shows of an engine's worker, plus the engine it came from.
fn summary(worker: &Value, kind: WorkerKind, server: &str) -> Map<String, Value> {
    let mut out = Map::new();
    for key in ["id", "name", "version", "description", "dataTypeList"] {
        out.insert(key.into(), worker.get(key).cloned().unwrap_or(Value::Null));
    }
    if kind == WorkerKind::Responder {
        for key in ["maxTlp", "maxPap"] {
            out.insert(key.into(), worker.get(key).cloned().unwrap_or(Value::Null));
        }
    }
    out.insert("cortexIds".into(), json!([server]));
    out
}
