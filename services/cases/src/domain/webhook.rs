//! Webhooks: every audit event is POSTed as JSON to each configured endpoint, in order, retried
//! with exponential backoff, and delivered at most once per event and endpoint.
//!
//! Delivery state lives in the store (kind `webhook_delivery`, one document per event and
//! endpoint, id = md5 of `endpoint|auditId`): an event is queued as `Pending`, and becomes
//! `Delivered` after a 2xx answer or `Failed` after the last attempt. A restarted service picks
//! up the pending ones and never sends a delivered one again. Receivers can also de-duplicate on
//! the `X-Skep-Event-Id` header (the audit id) for the short window between a 2xx answer and
//! the state write.

use std::sync::Arc;
use std::time::Duration;

use md5::{Digest, Md5};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use skep_store::{NewDocument, Page, Query, Sort, Store};
use tokio::sync::Notify;

/// Store kind of delivery states.
pub const KIND: &str = "webhook_delivery";

/// Webhook settings (`[cases.webhooks]`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct WebhookConfig {
    /// Endpoints every audit event is sent to.
    pub endpoints: Vec<WebhookEndpoint>,
    /// Attempts per event before it is marked `Failed`.
    pub max_attempts: u32,
    /// Wait after the first failed attempt, in milliseconds; doubled after each further one.
    pub initial_backoff_ms: u64,
    /// Longest wait between two attempts, in milliseconds.
    pub max_backoff_ms: u64,
    /// Timeout of one POST, in seconds.
    pub timeout_seconds: u64,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        WebhookConfig {
            endpoints: Vec::new(),
            max_attempts: 10,
            initial_backoff_ms: 500,
            max_backoff_ms: 5 * 60 * 1000,
            timeout_seconds: 10,
        }
    }
}

/// One webhook receiver.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WebhookEndpoint {
    /// Name, unique among endpoints (delivery state is kept per name).
    pub name: String,
    /// URL the events are POSTed to.
    pub url: String,
}

/// Queues events and runs one delivery worker per endpoint.
#[derive(Debug)]
pub struct WebhookDispatcher {
    store: Arc<dyn Store>,
    endpoints: Vec<(String, Arc<Notify>)>,
}

impl WebhookDispatcher {
    /// Starts one worker per endpoint (inside the current Tokio runtime).
    pub fn start(store: Arc<dyn Store>, config: &WebhookConfig) -> Self {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(config.timeout_seconds.max(1)))
            .user_agent(concat!("skep-cases/", env!("CARGO_PKG_VERSION")))
            .build();
        let client = match client {
            Ok(client) => client,
            Err(error) => {
                tracing::error!(error = ?error, "webhook client could not be built, webhooks are off");
                return WebhookDispatcher {
                    store,
                    endpoints: Vec::new(),
                };
            }
        };
        let mut endpoints = Vec::new();
        for endpoint in &config.endpoints {
            let wake = Arc::new(Notify::new());
            let worker = Worker {
                store: store.clone(),
                client: client.clone(),
                endpoint: endpoint.clone(),
                wake: wake.clone(),
                config: config.clone(),
            };
            tokio::spawn(worker.run());
            endpoints.push((endpoint.name.clone(), wake));
        }
        WebhookDispatcher { store, endpoints }
    }

    /// Queues an audit event for every endpoint.
    pub async fn enqueue(&self, audit_id: &str, payload: Map<String, Value>) {
        if self.endpoints.is_empty() {
            return;
        }
        let now = chrono::Utc::now();
        let sequence = now.timestamp_micros();
        let documents = self
            .endpoints
            .iter()
            .map(|(name, _)| NewDocument {
                id: Some(delivery_id(name, audit_id)),
                parent: None,
                body: json!({
                    "endpoint": name, "auditId": audit_id, "status": "Pending", "attempts": 0,
                    "sequence": sequence, "createdAt": now.timestamp_millis(), "payload": payload,
                })
                .as_object()
                .cloned()
                .unwrap_or_default(),
            })
            .collect();
        if let Err(error) = self.store.put_many(KIND, documents).await {
            tracing::error!(error = ?error, audit_id, "queueing webhook deliveries failed");
        }
        for (_, wake) in &self.endpoints {
            wake.notify_one();
        }
    }
}

/// Id of the delivery state of one event for one endpoint.
pub fn delivery_id(endpoint: &str, audit_id: &str) -> String {
    hex::encode(Md5::digest(format!("{endpoint}|{audit_id}").as_bytes()))
}

/// Wait before attempt `attempt + 1` after `attempt` failures: doubling from the initial wait,
/// capped.
pub fn backoff(config: &WebhookConfig, failures: u32) -> Duration {
    let factor = 2u64.saturating_pow(failures.saturating_sub(1));
    Duration::from_millis(
        config
            .initial_backoff_ms
            .saturating_mul(factor)
            .min(config.max_backoff_ms),
    )
}

struct Worker {
    store: Arc<dyn Store>,
    client: reqwest::Client,
    endpoint: WebhookEndpoint,
    wake: Arc<Notify>,
    config: WebhookConfig,
}

impl Worker {
    async fn run(self) {
        loop {
            let pending = self.pending().await;
            if pending.is_empty() {
                // The periodic wake-up is a safety net; enqueue notifies.
                let _ = tokio::time::timeout(Duration::from_secs(30), self.wake.notified()).await;
                continue;
            }
            for (id, body) in pending {
                self.deliver(&id, body).await;
            }
        }
    }

    async fn pending(&self) -> Vec<(String, Map<String, Value>)> {
        let query =
            Query::eq("endpoint", self.endpoint.name.as_str()).and(Query::eq("status", "Pending"));
        let sort = [Sort {
            field: "sequence".into(),
            descending: false,
        }];
        match self
            .store
            .search(
                KIND,
                &query,
                Page {
                    offset: 0,
                    limit: Some(100),
                },
                &sort,
            )
            .await
        {
            Ok(hits) => hits
                .documents
                .into_iter()
                .map(|document| (document.id, document.body))
                .collect(),
            Err(error) => {
                tracing::warn!(error = ?error, endpoint = %self.endpoint.name, "reading pending webhooks failed");
                tokio::time::sleep(Duration::from_secs(5)).await;
                Vec::new()
            }
        }
    }

    async fn deliver(&self, id: &str, mut body: Map<String, Value>) {
        let payload = body.get("payload").cloned().unwrap_or(json!({}));
        let event_id = body
            .get("auditId")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let mut failures = 0u32;
        let delivered = loop {
            let answer = self
                .client
                .post(&self.endpoint.url)
                .header("X-Skep-Event-Id", &event_id)
                .json(&payload)
                .send()
                .await;
            match answer {
                Ok(response) if response.status().is_success() => break true,
                Ok(response) => {
                    tracing::warn!(endpoint = %self.endpoint.name, status = response.status().as_u16(), "webhook refused")
                }
                Err(error) => {
                    // reqwest's message holds the whole URL, query and credentials included.
                    tracing::warn!(
                        endpoint = %self.endpoint.name,
                        url = %skep_client::shown_url(&self.endpoint.url),
                        error = %error.without_url(),
                        "webhook unreachable"
                    )
                }
            }
            failures += 1;
            if failures >= self.config.max_attempts.max(1) {
                break false;
            }
            tokio::time::sleep(backoff(&self.config, failures)).await;
        };
        let status = if delivered { "Delivered" } else { "Failed" };
        body.insert("status".into(), json!(status));
        body.insert("attempts".into(), json!(failures + u32::from(delivered)));
        body.insert(
            "updatedAt".into(),
            json!(chrono::Utc::now().timestamp_millis()),
        );
        if let Err(error) = self.store.update(KIND, id, None, body).await {
            tracing::error!(error = ?error, endpoint = %self.endpoint.name, "recording a webhook delivery failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let config = WebhookConfig {
            initial_backoff_ms: 100,
            max_backoff_ms: 350,
            ..WebhookConfig::default()
        };

        let waits: Vec<u128> = (1..=4)
            .map(|failures| backoff(&config, failures).as_millis())
            .collect();

        assert_eq!(waits, vec![100, 200, 350, 350]);
    }

    #[test]
    fn delivery_ids_differ_per_endpoint_and_event() {
        assert_ne!(delivery_id("a", "1"), delivery_id("b", "1"));
        assert_eq!(delivery_id("a", "1"), delivery_id("a", "1"));
    }
}
