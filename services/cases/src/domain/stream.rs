//! Long-poll stream consumers of `/api/stream`: each holds the messages published since its last
//! poll; a poll returns them at once or waits for the next one up to the refresh delay.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::Value;
use tokio::sync::Notify;

/// Stream timings (`[cases.stream]`).
#[derive(Debug, Clone, Copy, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct StreamConfig {
    /// Longest a poll waits for a message before answering `[]`, in seconds.
    pub refresh_seconds: u64,
    /// A consumer not polled for this long is forgotten, in seconds.
    pub expiry_seconds: u64,
}

impl Default for StreamConfig {
    fn default() -> Self {
        StreamConfig {
            refresh_seconds: 60,
            expiry_seconds: 15 * 60,
        }
    }
}

/// Messages queued for one consumer at most; older ones are dropped first.
const MAX_QUEUED: usize = 10_000;

#[derive(Debug)]
struct Consumer {
    queue: Vec<Arc<Value>>,
    last_poll: Instant,
    wake: Arc<Notify>,
}

/// The registered consumers.
#[derive(Debug)]
pub struct StreamRegistry {
    config: StreamConfig,
    consumers: Mutex<HashMap<String, Consumer>>,
}

/// Why a poll cannot be served.
#[derive(Debug, PartialEq, Eq)]
pub enum PollError {
    /// The id is not a stream id at all.
    Malformed,
    /// No such consumer (never created or expired).
    NotFound,
}

impl StreamRegistry {
    /// An empty registry.
    pub fn new(config: StreamConfig) -> Self {
        StreamRegistry {
            config,
            consumers: Mutex::new(HashMap::new()),
        }
    }

    /// Registers a consumer and returns its 20-character alphanumeric id.
    pub fn create(&self) -> String {
        use rand::distr::{Alphanumeric, SampleString};
        let id = Alphanumeric.sample_string(&mut rand::rng(), 20);
        if let Ok(mut consumers) = self.consumers.lock() {
            self.forget_expired(&mut consumers);
            consumers.insert(
                id.clone(),
                Consumer {
                    queue: Vec::new(),
                    last_poll: Instant::now(),
                    wake: Arc::new(Notify::new()),
                },
            );
        }
        id
    }

    /// Queues a message for every consumer and wakes the waiting polls.
    pub fn push(&self, message: &Arc<Value>) {
        if let Ok(mut consumers) = self.consumers.lock() {
            self.forget_expired(&mut consumers);
            for consumer in consumers.values_mut() {
                if consumer.queue.len() >= MAX_QUEUED {
                    consumer.queue.remove(0);
                }
                consumer.queue.push(message.clone());
                consumer.wake.notify_one();
            }
        }
    }

    /// Returns the queued messages of `id`, waiting up to the refresh delay for one.
    pub async fn poll(&self, id: &str) -> Result<Vec<Value>, PollError> {
        self.poll_for(id, Duration::from_secs(self.config.refresh_seconds))
            .await
    }

    /// [`poll`](Self::poll) with an explicit longest wait.
    pub async fn poll_for(&self, id: &str, wait: Duration) -> Result<Vec<Value>, PollError> {
        if id.len() != 20 || !id.bytes().all(|byte| byte.is_ascii_alphanumeric()) {
            return Err(PollError::Malformed);
        }
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let wake = match self.take(id)? {
                Ok(messages) => return Ok(messages),
                Err(wake) => wake,
            };
            // A message pushed between `take` and here left a permit in the Notify, so the wait
            // returns at once; a stale permit only costs one more turn of the loop.
            if tokio::time::timeout_at(deadline, wake.notified())
                .await
                .is_err()
            {
                return Ok(Vec::new());
            }
        }
    }

    /// The queued messages, or the consumer's wake-up handle when there are none.
    fn take(&self, id: &str) -> Result<Result<Vec<Value>, Arc<Notify>>, PollError> {
        let mut consumers = self.consumers.lock().map_err(|_| PollError::NotFound)?;
        let consumer = consumers.get_mut(id).ok_or(PollError::NotFound)?;
        consumer.last_poll = Instant::now();
        if consumer.queue.is_empty() {
            return Ok(Err(consumer.wake.clone()));
        }
        let messages = consumer
            .queue
            .drain(..)
            .map(|message| (*message).clone())
            .collect();
        Ok(Ok(messages))
    }

    fn forget_expired(&self, consumers: &mut HashMap<String, Consumer>) {
        let expiry = Duration::from_secs(self.config.expiry_seconds);
        consumers.retain(|_, consumer| consumer.last_poll.elapsed() < expiry);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[tokio::test]
    async fn a_poll_returns_what_was_published_since_the_last_one() {
        let registry = StreamRegistry::new(StreamConfig::default());
        let id = registry.create();
        registry.push(&Arc::new(json!({"n": 1})));

        let messages = registry
            .poll_for(&id, Duration::from_secs(5))
            .await
            .unwrap();

        assert_eq!(messages, vec![json!({"n": 1})]);
    }

    #[tokio::test]
    async fn an_idle_poll_answers_an_empty_list_after_the_wait() {
        let registry = StreamRegistry::new(StreamConfig::default());
        let id = registry.create();

        let messages = registry
            .poll_for(&id, Duration::from_millis(10))
            .await
            .unwrap();

        assert!(messages.is_empty());
    }

    #[tokio::test]
    async fn unknown_and_malformed_ids_are_told_apart() {
        let registry = StreamRegistry::new(StreamConfig::default());

        assert_eq!(
            registry
                .poll_for("abcdefghijABCDEFGHIJ", Duration::ZERO)
                .await,
            Err(PollError::NotFound)
        );
        assert_eq!(
            registry.poll_for("bad id", Duration::ZERO).await,
            Err(PollError::Malformed)
        );
    }

    #[tokio::test]
    async fn a_waiting_poll_wakes_up_on_publish() {
        let registry = Arc::new(StreamRegistry::new(StreamConfig::default()));
        let id = registry.create();
        let poller = {
            let registry = registry.clone();
            let id = id.clone();
            tokio::spawn(async move { registry.poll_for(&id, Duration::from_secs(30)).await })
        };

        registry.push(&Arc::new(json!("hello")));

        assert_eq!(poller.await.unwrap().unwrap(), vec![json!("hello")]);
    }
}
