//! [`AuditedStore`]: the store every handler uses, which records an audit for each write of an
//! audited kind, so no create, update or delete can forget its audit. Update details are the
//! attributes that changed; the actor is the request's caller (set by the `Caller` extractor
//! through [`crate::domain::audit::set_actor`]), else the document's `updatedBy`/`createdBy`.
//! Derived writes (metrics, audits, webhook state) go to the raw store and are not audited.

use std::sync::Arc;

use serde_json::{Map, Value};
use skep_store::{
    Aggregation, DeleteMode, Document, Hits, NewDocument, Page, Query, Result, Sort, Store,
};

use crate::domain::audit::{self, AuditRecord, Operation};
use crate::domain::entity;

/// Kinds whose writes are audited (their model names).
const AUDITED_KINDS: &[&str] = &[
    "case",
    "case_task",
    "case_task_log",
    "case_artifact",
    "case_artifact_job",
    "alert",
    "caseTemplate",
    "user",
    "dashboard",
    "action",
    "reportTemplate",
    "dblist",
];

/// Keys whose change alone is not worth an audit (bookkeeping).
const BOOKKEEPING: &[&str] = &["updatedAt", "updatedBy", "computed", "_routing"];

/// A store that audits the writes it forwards, and group-commits concurrent creations.
#[derive(Debug)]
pub struct AuditedStore {
    inner: Arc<dyn Store>,
    creations: PutBatcher,
}

impl AuditedStore {
    /// Wraps `inner` (starts the batching task, so it must run inside a Tokio runtime).
    pub fn wrap(inner: Arc<dyn Store>) -> Arc<dyn Store> {
        let creations = PutBatcher::start(inner.clone());
        Arc::new(AuditedStore { inner, creations })
    }
}

/// One queued creation and who to answer.
type QueuedPut = (
    String,
    NewDocument,
    tokio::sync::oneshot::Sender<Result<Document>>,
);

/// Most creations stored in one batch.
const MAX_BATCH: usize = 500;

/// Group commit of creations: `put`s arriving while a batch is being written are stored
/// together with one `put_many` per kind (one durable commit instead of one each); every caller
/// still gets its own result, after its document is stored. A lone `put` is written at once.
#[derive(Debug)]
struct PutBatcher {
    queue: tokio::sync::mpsc::Sender<QueuedPut>,
}

impl PutBatcher {
    fn start(store: Arc<dyn Store>) -> Self {
        let (queue, mut receiver) = tokio::sync::mpsc::channel::<QueuedPut>(4_096);
        tokio::spawn(async move {
            while let Some(first) = receiver.recv().await {
                let mut batch = vec![first];
                while batch.len() < MAX_BATCH {
                    match receiver.try_recv() {
                        Ok(next) => batch.push(next),
                        Err(_) => break,
                    }
                }
                let mut kinds: Vec<String> = Vec::new();
                for (kind, _, _) in &batch {
                    if !kinds.contains(kind) {
                        kinds.push(kind.clone());
                    }
                }
                for kind in kinds {
                    let (same, rest): (Vec<QueuedPut>, Vec<QueuedPut>) = batch
                        .into_iter()
                        .partition(|(queued, _, _)| *queued == kind);
                    batch = rest;
                    // Not awaited: batches of every kind, and the next batch formed meanwhile,
                    // are in flight together and share the store's next group commit.
                    let store = Arc::clone(&store);
                    tokio::spawn(async move { write_batch(&*store, &kind, same).await });
                }
            }
        });
        PutBatcher { queue }
    }

    /// Queues a creation; hands the document back when the batching task is gone.
    async fn put(
        &self,
        kind: &str,
        document: NewDocument,
    ) -> std::result::Result<Result<Document>, NewDocument> {
        let (answer, reply) = tokio::sync::oneshot::channel();
        if let Err(refused) = self.queue.send((kind.to_owned(), document, answer)).await {
            let (_, document, _) = refused.0;
            return Err(document);
        }
        Ok(reply.await.unwrap_or_else(|_| {
            Err(skep_store::StoreError::Unavailable(anyhow::anyhow!(
                "creation batching stopped"
            )))
        }))
    }
}

async fn write_batch(store: &dyn Store, kind: &str, batch: Vec<QueuedPut>) {
    if batch.len() == 1 {
        for (_, document, answer) in batch {
            let _ = answer.send(store.put(kind, document).await);
        }
        return;
    }
    let (documents, answers): (Vec<NewDocument>, Vec<_>) = batch
        .into_iter()
        .map(|(_, document, answer)| (document, answer))
        .unzip();
    match store.put_many(kind, documents.clone()).await {
        Ok(results) => {
            for (result, answer) in results.into_iter().zip(answers) {
                let _ = answer.send(result);
            }
        }
        // The batch as a whole failed: each creation is retried alone for its own error.
        Err(_) => {
            for (document, answer) in documents.into_iter().zip(answers) {
                let _ = answer.send(store.put(kind, document).await);
            }
        }
    }
}

fn audited_kind(kind: &str) -> bool {
    AUDITED_KINDS.contains(&kind)
}

fn actor_of(body: &Map<String, Value>) -> String {
    audit::current_actor()
        .or_else(|| {
            body.get("updatedBy")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .or_else(|| {
            body.get("createdBy")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "system".to_owned())
}

/// Records the removal of `id`; its root is the case (or alert) it belonged to when the stored
/// document says so, else itself.
fn record_deletion(kind: &str, id: &str, existing: Option<&Document>) {
    let root = existing
        .and_then(|document| {
            entity::render(kind, document)
                .get("_routing")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .unwrap_or_else(|| id.to_owned());
    let actor = audit::current_actor().unwrap_or_else(|| "system".to_owned());
    audit::record(AuditRecord::deletion(kind, id, &root, &actor));
}

fn record_creation(kind: &str, document: &Document) {
    let rendered = entity::render(kind, document);
    audit::record(AuditRecord::creation(
        kind,
        &rendered,
        &actor_of(&document.body),
    ));
}

/// The attributes of `after` that differ from `before` (removed ones as `null`).
pub fn changed_attributes(
    before: &Map<String, Value>,
    after: &Map<String, Value>,
) -> Map<String, Value> {
    let mut changes = Map::new();
    for (key, value) in after {
        if !BOOKKEEPING.contains(&key.as_str()) && before.get(key) != Some(value) {
            changes.insert(key.clone(), value.clone());
        }
    }
    for key in before.keys() {
        if !BOOKKEEPING.contains(&key.as_str()) && !after.contains_key(key) {
            changes.insert(key.clone(), Value::Null);
        }
    }
    changes
}

#[async_trait::async_trait]
impl Store for AuditedStore {
    fn set_unindexed(&self, kind: &str, fields: &[&str]) {
        self.inner.set_unindexed(kind, fields);
    }

    fn set_visibility(&self, kind: &str, visibility: skep_store::Visibility) {
        self.inner.set_visibility(kind, visibility);
    }

    async fn put(&self, kind: &str, document: NewDocument) -> Result<Document> {
        let stored = match self.creations.put(kind, document).await {
            Ok(result) => result?,
            // The batching task is gone (runtime shutting down): write directly.
            Err(document) => self.inner.put(kind, document).await?,
        };
        if audited_kind(kind) {
            record_creation(kind, &stored);
        }
        Ok(stored)
    }

    async fn put_many(
        &self,
        kind: &str,
        documents: Vec<NewDocument>,
    ) -> Result<Vec<Result<Document>>> {
        let results = self.inner.put_many(kind, documents).await?;
        if audited_kind(kind) {
            for stored in results.iter().flatten() {
                record_creation(kind, stored);
            }
        }
        Ok(results)
    }

    async fn get(&self, kind: &str, id: &str) -> Result<Document> {
        self.inner.get(kind, id).await
    }

    async fn update(
        &self,
        kind: &str,
        id: &str,
        expected: Option<skep_store::Version>,
        body: Map<String, Value>,
    ) -> Result<Document> {
        if !audited_kind(kind) {
            return self.inner.update(kind, id, expected, body).await;
        }
        let before = self
            .inner
            .get(kind, id)
            .await
            .ok()
            .map(|document| document.body);
        let stored = self.inner.update(kind, id, expected, body).await?;
        let changes = before
            .map(|before| changed_attributes(&before, &stored.body))
            .unwrap_or_default();
        if !changes.is_empty() {
            let rendered = entity::render(kind, &stored);
            let actor = actor_of(&stored.body);
            let status = changes.get("status").and_then(Value::as_str);
            let mut entry = AuditRecord::update(kind, &rendered, &changes, &actor);
            if status == Some("Deleted") {
                entry.operation = Operation::Delete;
            }
            audit::record(entry);
        }
        Ok(stored)
    }

    async fn delete(&self, kind: &str, id: &str, mode: DeleteMode) -> Result<()> {
        if !audited_kind(kind) {
            return self.inner.delete(kind, id, mode).await;
        }
        let existing = self.inner.get(kind, id).await.ok();
        self.inner.delete(kind, id, mode).await?;
        record_deletion(kind, id, existing.as_ref());
        Ok(())
    }

    async fn restore(&self, kind: &str, id: &str) -> Result<Document> {
        self.inner.restore(kind, id).await
    }

    /// Audited kinds get one deletion audit per removed document (a force-deleted case's
    /// tasks, logs and observables each show in the flow).
    async fn delete_by_query(&self, kind: &str, query: &Query) -> Result<u64> {
        if !audited_kind(kind) {
            return self.inner.delete_by_query(kind, query).await;
        }
        let matching = self.inner.search(kind, query, Page::ALL, &[]).await?;
        let removed = self.inner.delete_by_query(kind, query).await?;
        for document in &matching.documents {
            record_deletion(kind, &document.id, Some(document));
        }
        Ok(removed)
    }

    async fn search(&self, kind: &str, query: &Query, page: Page, sort: &[Sort]) -> Result<Hits> {
        self.inner.search(kind, query, page, sort).await
    }

    async fn count(&self, kind: &str, query: &Query) -> Result<u64> {
        self.inner.count(kind, query).await
    }

    async fn aggregate(
        &self,
        kind: &str,
        query: &Query,
        aggregations: &[Aggregation],
    ) -> Result<Map<String, Value>> {
        self.inner.aggregate(kind, query, aggregations).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_real_changes_are_reported() {
        let before = json!({"title": "a", "tags": ["x"], "updatedAt": 1, "gone": 1});
        let after = json!({"title": "b", "tags": ["x"], "updatedAt": 2});

        let changes = changed_attributes(before.as_object().unwrap(), after.as_object().unwrap());

        assert_eq!(Value::Object(changes), json!({"title": "b", "gone": null}));
    }
}
