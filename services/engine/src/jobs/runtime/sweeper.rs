//! The sweeper: marks this engine alive, ends the jobs of engines that stopped beating, and
//! queues every job still `Waiting` in the store (after a restart, or submitted elsewhere).

use std::collections::HashSet;
use std::sync::Weak;

use serde_json::{Map, Value, json};
use skep_store::{NewDocument, Page, Query, Sort, StoreError};

use super::{INSTANCE_KIND, JobRuntime, ORPHANED_MESSAGE};
use crate::domain::now_ms;
use crate::jobs::error::Result;
use crate::jobs::job::{JOB_KIND, JobStatus};

impl JobRuntime {
    /// Marks this instance alive, ends the jobs of dead instances and queues waiting jobs.
    async fn sweep_once(&self) -> Result<()> {
        let mut mark = Map::new();
        mark.insert("heartbeatAt".into(), json!(now_ms()));
        match self
            .store
            .update(INSTANCE_KIND, &self.instance, None, mark.clone())
            .await
        {
            Ok(_) => {}
            Err(StoreError::NotFound { .. }) => {
                self.store
                    .put(
                        INSTANCE_KIND,
                        NewDocument {
                            id: Some(self.instance.clone()),
                            parent: None,
                            body: mark,
                        },
                    )
                    .await?;
            }
            Err(error) => return Err(error.into()),
        }
        let page = Page {
            offset: 0,
            limit: Some(1000),
        };
        let oldest_first = [Sort {
            field: "createdAt".into(),
            descending: false,
        }];
        let running = self
            .store
            .search(
                JOB_KIND,
                &Query::eq("status", JobStatus::InProgress.as_str()),
                page,
                &oldest_first,
            )
            .await?;
        let stale_after = (self.config.heartbeat_seconds * 3000.0) as i64;
        let mut alive: HashSet<String> = HashSet::from([self.instance.clone()]);
        let mut dead: HashSet<String> = HashSet::new();
        for job in running.documents {
            let owner = job
                .body
                .get("runnerInstance")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            if alive.contains(&owner) {
                continue;
            }
            if !dead.contains(&owner) {
                let beat = match self.store.get(INSTANCE_KIND, &owner).await {
                    Ok(document) => document.body.get("heartbeatAt").and_then(Value::as_i64),
                    Err(StoreError::NotFound { .. }) => None,
                    Err(error) => return Err(error.into()),
                };
                if beat.is_some_and(|beat| now_ms() - beat < stale_after) {
                    alive.insert(owner);
                    continue;
                }
                dead.insert(owner.clone());
            }
            let mut body = job.body;
            body.insert("status".into(), json!(JobStatus::Failure.as_str()));
            body.insert("errorMessage".into(), json!(ORPHANED_MESSAGE));
            body.insert("endDate".into(), json!(now_ms()));
            match self
                .store
                .update(JOB_KIND, &job.id, Some(job.version), body)
                .await
            {
                Ok(_) => {
                    tracing::warn!(job_id = %job.id, instance = %owner, "orphaned job ended as a failure");
                    self.finished.notify_waiters();
                }
                Err(StoreError::Conflict { .. }) => {}
                Err(error) => return Err(error.into()),
            }
        }
        let waiting = self
            .store
            .search(
                JOB_KIND,
                &Query::eq("status", JobStatus::Waiting.as_str()),
                page,
                &oldest_first,
            )
            .await?;
        for job in waiting.documents {
            self.enqueue(job.id);
        }
        Ok(())
    }
}

/// Runs [`JobRuntime::sweep_once`] every heartbeat until the runtime is dropped.
pub(super) async fn sweep(runtime: Weak<JobRuntime>) {
    loop {
        let Some(strong) = runtime.upgrade() else {
            return;
        };
        if let Err(error) = strong.sweep_once().await {
            tracing::error!(error = ?error, "job sweep failed");
        }
        let interval = strong.config.heartbeat();
        drop(strong);
        tokio::time::sleep(interval).await;
    }
}
