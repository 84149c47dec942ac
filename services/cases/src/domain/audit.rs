//! Audit records of every create/update/delete, grouped per HTTP request, and the activity hub
//! that stores them and fans them out to `/api/stream` consumers, server-sent events and webhooks.
//!
//! Writers call [`record`] from anywhere inside a request; the [`RequestScope`] middleware gives
//! each request a `requestId` and, when the handler is done, [`flush`]es what was recorded: the
//! audit documents are stored in one batch (the first one of the request carries `base: true`),
//! then the stream messages are published, webhook deliveries are queued and the case metrics of
//! touched cases are refreshed. Outside a request (background tasks) a record is flushed at once.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value, json};
use skep_store::{Document, NewDocument, Store};

use crate::domain::stream::StreamRegistry;
use crate::domain::webhook::WebhookDispatcher;

/// Store kind of audit documents.
pub const KIND: &str = "audit";

/// What happened to an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// It was created.
    Creation,
    /// Some of its attributes changed.
    Update,
    /// It was removed (softly or for good).
    Delete,
}

impl Operation {
    /// The wire name (`Creation`, `Update`, `Delete`).
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Creation => "Creation",
            Operation::Update => "Update",
            Operation::Delete => "Delete",
        }
    }
}

/// One audited operation, as a writer reports it.
#[derive(Debug, Clone)]
pub struct AuditRecord {
    /// What happened.
    pub operation: Operation,
    /// Model name of the object (`case`, `case_task`, `alert`, …).
    pub object_type: String,
    /// Id of the object.
    pub object_id: String,
    /// Id of the root: the case for case-scoped objects, the object itself otherwise.
    pub root_id: String,
    /// The changed audited attributes.
    pub details: Map<String, Value>,
    /// The object as clients see it after the operation (`None` after a hard delete).
    pub object: Option<Map<String, Value>>,
    /// Login of the user who did it.
    pub user: String,
}

/// Attributes never copied into `details` (metadata, and what TheHive does not audit).
const NOT_AUDITED: &[&str] = &[
    "_id",
    "id",
    "_type",
    "_routing",
    "_parent",
    "_version",
    "_seqNo",
    "_primaryTerm",
    "createdBy",
    "createdAt",
    "updatedBy",
    "updatedAt",
    "artifacts",
    "reports",
    "report",
    "operations",
    "password",
    "key",
    "keySealed",
    "keyFingerprint",
    "preferences",
    "avatar",
    "stats",
    "computed",
];

/// Attributes never sent anywhere (webhooks included).
const SENSITIVE: &[&str] = &[
    "password",
    "key",
    "keySealed",
    "keyFingerprint",
    "preferences",
];

/// Attributes removed from `object` in stream messages and the flow (TheHive's "unaudited").
const UNAUDITED_IN_OBJECT: &[&str] = &[
    "artifacts",
    "reports",
    "report",
    "operations",
    "avatar",
    "preferences",
    "password",
    "key",
    "keySealed",
    "keyFingerprint",
];

impl AuditRecord {
    /// A creation: ids come from the rendered `object` (`_id`, `_routing`), details are its
    /// audited attributes.
    pub fn creation(object_type: &str, object: &Map<String, Value>, user: &str) -> Self {
        Self::from_object(
            Operation::Creation,
            object_type,
            object,
            audited(object),
            user,
        )
    }

    /// An update: `changes` are the attributes the request set (dotted names are expanded).
    pub fn update(
        object_type: &str,
        object: &Map<String, Value>,
        changes: &Map<String, Value>,
        user: &str,
    ) -> Self {
        Self::from_object(
            Operation::Update,
            object_type,
            object,
            audited(changes),
            user,
        )
    }

    /// A deletion of an object that may no longer exist.
    pub fn deletion(object_type: &str, object_id: &str, root_id: &str, user: &str) -> Self {
        AuditRecord {
            operation: Operation::Delete,
            object_type: object_type.to_owned(),
            object_id: object_id.to_owned(),
            root_id: root_id.to_owned(),
            details: Map::new(),
            object: None,
            user: user.to_owned(),
        }
    }

    /// A soft deletion: the object still exists with its new status.
    pub fn soft_deletion(object_type: &str, object: &Map<String, Value>, user: &str) -> Self {
        let details = object
            .get("status")
            .map(|status| Map::from_iter([("status".to_owned(), status.clone())]))
            .unwrap_or_default();
        Self::from_object(Operation::Delete, object_type, object, details, user)
    }

    fn from_object(
        operation: Operation,
        object_type: &str,
        object: &Map<String, Value>,
        details: Map<String, Value>,
        user: &str,
    ) -> Self {
        let object_id = string_field(object, "_id").or_else(|| string_field(object, "id"));
        let object_id = object_id.unwrap_or_default();
        let root_id = string_field(object, "_routing").unwrap_or_else(|| object_id.clone());
        AuditRecord {
            operation,
            object_type: object_type.to_owned(),
            object_id,
            root_id,
            details,
            object: Some(object.clone()),
            user: user.to_owned(),
        }
    }
}

fn string_field(object: &Map<String, Value>, key: &str) -> Option<String> {
    object.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// The audited part of a set of attributes, dotted names expanded into nested objects.
pub fn audited(attributes: &Map<String, Value>) -> Map<String, Value> {
    let mut details = Map::new();
    for (name, value) in attributes {
        if NOT_AUDITED.contains(&name.as_str()) {
            continue;
        }
        insert_dotted(&mut details, name, value.clone());
    }
    details
}

fn insert_dotted(target: &mut Map<String, Value>, name: &str, value: Value) {
    match name.split_once('.') {
        None => {
            target.insert(name.to_owned(), value);
        }
        Some((head, rest)) => {
            let entry = target
                .entry(head.to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                *entry = Value::Object(Map::new());
            }
            if let Value::Object(inner) = entry {
                insert_dotted(inner, rest, value);
            }
        }
    }
}

/// Removes the attributes streams and the flow never show.
pub fn strip_unaudited(object: &mut Map<String, Value>) {
    for name in UNAUDITED_IN_OBJECT {
        object.remove(*name);
    }
}

/// What one HTTP request has recorded so far.
#[derive(Debug)]
pub struct RequestAudit {
    request_id: String,
    actor: Mutex<Option<String>>,
    records: Mutex<Vec<AuditRecord>>,
}

impl RequestAudit {
    /// A fresh, empty request scope.
    pub fn new(request_id: String) -> Arc<Self> {
        Arc::new(RequestAudit {
            request_id,
            actor: Mutex::new(None),
            records: Mutex::new(Vec::new()),
        })
    }

    /// The id shared by every audit of the request.
    pub fn request_id(&self) -> &str {
        &self.request_id
    }

    fn push(&self, record: AuditRecord) {
        if let Ok(mut records) = self.records.lock() {
            records.push(record);
        }
    }

    fn take(&self) -> Vec<AuditRecord> {
        self.records
            .lock()
            .map(|mut records| std::mem::take(&mut *records))
            .unwrap_or_default()
    }
}

tokio::task_local! {
    static CURRENT_REQUEST: Arc<RequestAudit>;
}

/// Sets the login of the current request's caller (the actor of its audits).
pub fn set_actor(login: &str) {
    let _ = CURRENT_REQUEST.try_with(|scope| {
        if let Ok(mut actor) = scope.actor.lock() {
            *actor = Some(login.to_owned());
        }
    });
}

/// The login of the current request's caller, once authenticated.
pub fn current_actor() -> Option<String> {
    CURRENT_REQUEST
        .try_with(|scope| scope.actor.lock().ok().and_then(|actor| actor.clone()))
        .ok()
        .flatten()
}

/// Runs `future` with `scope` as the current request (what [`record`] appends to).
pub async fn within_request<F: std::future::Future>(
    scope: Arc<RequestAudit>,
    future: F,
) -> F::Output {
    CURRENT_REQUEST.scope(scope, future).await
}

/// A new request id: a per-process random prefix and a counter, as TheHive's `<hex>:<n>`.
pub fn new_request_id(hub: &ActivityHub) -> String {
    let counter = hub.request_counter.fetch_add(1, Ordering::Relaxed);
    format!("{}:{counter}", hub.instance)
}

/// Records an audited operation in the current request scope; it is stored and published when
/// the request ends (see [`flush_request`]). Background work records through
/// [`run_detached`]; outside any scope the record is dropped with a warning.
pub fn record(entry: AuditRecord) {
    let buffered = CURRENT_REQUEST
        .try_with(|scope| scope.push(entry.clone()))
        .is_ok();
    if !buffered {
        tracing::debug!(object_type = %entry.object_type, object_id = %entry.object_id, "audit record outside a request scope dropped");
    }
}

/// Runs background work (not an HTTP request) in its own audit scope and flushes it after.
pub async fn run_detached<F: std::future::Future>(hub: &ActivityHub, future: F) -> F::Output {
    let scope = RequestAudit::new(new_request_id(hub));
    let output = within_request(scope.clone(), future).await;
    flush_request(hub, &scope).await;
    output
}

/// Stores the audits of one request, then publishes them (stream, server-sent events,
/// webhooks) and refreshes the metrics of the cases they touched.
pub async fn flush_request(hub: &ActivityHub, scope: &RequestAudit) {
    let records = scope.take();
    if !records.is_empty() {
        flush(hub, scope.request_id(), records).await;
    }
}

/// Parent model of each child model, for embedding parents in stream objects.
const PARENT_MODEL: &[(&str, &str)] = &[
    ("case_task", "case"),
    ("case_artifact", "case"),
    ("case_task_log", "case_task"),
    ("case_artifact_job", "case_artifact"),
];

/// Embeds the parents of a child object (`case` in a task, `case_task` then `case` in a log),
/// as TheHive's stream objects carry them.
async fn embed_parents(store: &dyn Store, object_type: &str, object: &mut Map<String, Value>) {
    let Some((_, parent_model)) = PARENT_MODEL.iter().find(|(child, _)| *child == object_type)
    else {
        return;
    };
    let Some(parent_id) = object
        .get("_parent")
        .and_then(Value::as_str)
        .map(str::to_owned)
    else {
        return;
    };
    let Ok(document) = store.get(parent_model, &parent_id).await else {
        return;
    };
    let mut parent = crate::domain::entity::render(parent_model, &document);
    strip_unaudited(&mut parent);
    Box::pin(embed_parents(store, parent_model, &mut parent)).await;
    object.insert((*parent_model).to_owned(), Value::Object(parent));
}

async fn flush(hub: &ActivityHub, request_id: &str, mut records: Vec<AuditRecord>) {
    let now = chrono::Utc::now().timestamp_millis();
    for entry in &mut records {
        if let Some(object) = entry.object.as_mut() {
            embed_parents(&*hub.store, &entry.object_type, object).await;
        }
    }
    let summary = summarize(&records);
    let documents: Vec<NewDocument> = records
        .iter()
        .enumerate()
        .map(|(index, entry)| NewDocument {
            id: None,
            parent: None,
            body: audit_body(
                entry,
                request_id,
                index == 0,
                now,
                (index == 0).then_some(&summary),
            ),
        })
        .collect();
    let stored = match hub.audit_writer.write(documents).await {
        Ok(stored) => stored,
        Err(error) => {
            tracing::error!(error = ?error, request_id, "storing audit records failed");
            return;
        }
    };
    let mut events = Vec::with_capacity(records.len());
    for (entry, result) in records.iter().zip(stored) {
        match result {
            Ok(document) => events.push((document.id, entry)),
            Err(error) => {
                tracing::error!(error = ?error, request_id, "storing an audit record failed")
            }
        }
    }
    for (audit_id, entry) in &events {
        let payload = webhook_payload(
            entry,
            audit_id,
            request_id,
            now,
            events.first().map(|(id, _)| id) == Some(audit_id),
        );
        hub.webhooks.enqueue(audit_id, payload).await;
    }
    for message in stream_messages(&records, request_id, now) {
        hub.publish(message);
    }
    crate::domain::metrics::refresh_touched_cases(&*hub.store, &records).await;
}

/// Counts per object type and operation, TheHive's `summary`.
fn summarize(records: &[AuditRecord]) -> Map<String, Value> {
    let mut counts: BTreeMap<&str, BTreeMap<&str, u64>> = BTreeMap::new();
    for entry in records {
        *counts
            .entry(&entry.object_type)
            .or_default()
            .entry(entry.operation.as_str())
            .or_default() += 1;
    }
    counts
        .into_iter()
        .map(|(object_type, operations)| {
            let operations: Map<String, Value> = operations
                .into_iter()
                .map(|(op, n)| (op.to_owned(), json!(n)))
                .collect();
            (object_type.to_owned(), Value::Object(operations))
        })
        .collect()
}

fn audit_body(
    entry: &AuditRecord,
    request_id: &str,
    base: bool,
    now: i64,
    summary: Option<&Map<String, Value>>,
) -> Map<String, Value> {
    let mut body = Map::new();
    body.insert("operation".into(), json!(entry.operation.as_str()));
    body.insert("details".into(), Value::Object(entry.details.clone()));
    body.insert("objectType".into(), json!(entry.object_type));
    body.insert("objectId".into(), json!(entry.object_id));
    body.insert("base".into(), json!(base));
    body.insert("startDate".into(), json!(now));
    body.insert("rootId".into(), json!(entry.root_id));
    body.insert("requestId".into(), json!(request_id));
    body.insert("createdBy".into(), json!(entry.user));
    body.insert("createdAt".into(), json!(now));
    if let Some(object) = &entry.object {
        let mut object = object.clone();
        strip_unaudited(&mut object);
        body.insert("object".into(), Value::Object(object));
    }
    if let Some(summary) = summary {
        body.insert("summary".into(), Value::Object(summary.clone()));
    }
    body
}

fn webhook_payload(
    entry: &AuditRecord,
    audit_id: &str,
    request_id: &str,
    now: i64,
    base: bool,
) -> Map<String, Value> {
    let mut payload = Map::new();
    payload.insert("id".into(), json!(audit_id));
    payload.insert("operation".into(), json!(entry.operation.as_str()));
    payload.insert("details".into(), Value::Object(entry.details.clone()));
    payload.insert("objectType".into(), json!(entry.object_type));
    payload.insert("objectId".into(), json!(entry.object_id));
    payload.insert("base".into(), json!(base));
    payload.insert("startDate".into(), json!(now));
    payload.insert("rootId".into(), json!(entry.root_id));
    payload.insert("requestId".into(), json!(request_id));
    let mut object = entry.object.clone().unwrap_or_default();
    for name in SENSITIVE {
        object.remove(*name);
    }
    payload.insert("object".into(), Value::Object(object));
    payload
}

/// The stream messages of one request: one per root touched, whose `base` is the first
/// operation on that root and whose `summary` counts all of them.
fn stream_messages(records: &[AuditRecord], request_id: &str, now: i64) -> Vec<Value> {
    let mut roots: Vec<(&str, Vec<&AuditRecord>)> = Vec::new();
    for entry in records {
        match roots.iter_mut().find(|(root, _)| *root == entry.root_id) {
            Some((_, group)) => group.push(entry),
            None => roots.push((&entry.root_id, vec![entry])),
        }
    }
    roots
        .into_iter()
        .map(|(_, group)| {
            let owned: Vec<AuditRecord> = group.iter().map(|entry| (*entry).clone()).collect();
            let first = group[0];
            let mut base = audit_body(first, request_id, true, now, None);
            base.insert("user".into(), json!(first.user));
            base.entry("object").or_insert_with(|| json!({}));
            json!({"base": base, "summary": summarize(&owned)})
        })
        .collect()
}

/// Audits waiting for the writer, with who to answer.
type WriteRequest = (
    Vec<NewDocument>,
    tokio::sync::oneshot::Sender<skep_store::Result<Vec<skep_store::Result<Document>>>>,
);

/// Group commit of audit documents: concurrent requests hand their audits to one task that
/// stores everything queued in a single batch, so many requests share one durable commit
/// (each request still waits for its own audits to be stored before it answers).
#[derive(Debug)]
struct AuditWriter {
    queue: tokio::sync::mpsc::Sender<WriteRequest>,
}

/// Most audit documents stored in one batch.
const MAX_BATCH: usize = 1_000;

impl AuditWriter {
    fn start(store: Arc<dyn Store>) -> Self {
        let (queue, mut receiver) = tokio::sync::mpsc::channel::<WriteRequest>(4_096);
        tokio::spawn(async move {
            while let Some(first) = receiver.recv().await {
                let mut requests = vec![first];
                let mut queued = requests[0].0.len();
                while queued < MAX_BATCH {
                    match receiver.try_recv() {
                        Ok(request) => {
                            queued += request.0.len();
                            requests.push(request);
                        }
                        Err(_) => break,
                    }
                }
                let sizes: Vec<usize> = requests
                    .iter()
                    .map(|(documents, _)| documents.len())
                    .collect();
                let mut answers = Vec::with_capacity(requests.len());
                let mut documents = Vec::with_capacity(queued);
                for (batch, answer) in requests {
                    documents.extend(batch);
                    answers.push(answer);
                }
                match store.put_many(KIND, documents).await {
                    Ok(results) => {
                        let mut results = results.into_iter();
                        for (size, answer) in sizes.into_iter().zip(answers) {
                            let _ = answer.send(Ok(results.by_ref().take(size).collect()));
                        }
                    }
                    Err(error) => {
                        tracing::error!(error = ?error, "storing audit records failed");
                        for answer in answers {
                            let _ = answer.send(Err(skep_store::StoreError::Backend(
                                anyhow::anyhow!("audit batch failed"),
                            )));
                        }
                    }
                }
            }
        });
        AuditWriter { queue }
    }

    async fn write(
        &self,
        documents: Vec<NewDocument>,
    ) -> skep_store::Result<Vec<skep_store::Result<Document>>> {
        let (answer, reply) = tokio::sync::oneshot::channel();
        let closed =
            || skep_store::StoreError::Unavailable(anyhow::anyhow!("audit writer stopped"));
        self.queue
            .send((documents, answer))
            .await
            .map_err(|_| closed())?;
        reply.await.map_err(|_| closed())?
    }
}

/// Where activity goes: the store, `/api/stream` consumers, server-sent-event subscribers and
/// webhooks. One per service instance, shared through the state.
#[derive(Debug)]
pub struct ActivityHub {
    store: Arc<dyn Store>,
    /// Registered long-poll consumers.
    pub streams: StreamRegistry,
    events: tokio::sync::broadcast::Sender<Arc<Value>>,
    webhooks: WebhookDispatcher,
    audit_writer: AuditWriter,
    instance: String,
    request_counter: AtomicU64,
}

impl ActivityHub {
    /// Builds the hub and starts the webhook delivery workers (so it must run inside a Tokio
    /// runtime).
    pub fn start(
        store: Arc<dyn Store>,
        webhooks: &crate::domain::webhook::WebhookConfig,
        streams: crate::domain::stream::StreamConfig,
    ) -> Arc<Self> {
        let (events, _) = tokio::sync::broadcast::channel(1024);
        let instance = hex::encode(rand::random::<[u8; 6]>());
        Arc::new(ActivityHub {
            webhooks: WebhookDispatcher::start(store.clone(), webhooks),
            audit_writer: AuditWriter::start(store.clone()),
            store,
            streams: StreamRegistry::new(streams),
            events,
            instance,
            request_counter: AtomicU64::new(1),
        })
    }

    /// The store audits are written to.
    pub fn store(&self) -> &dyn Store {
        &*self.store
    }

    /// Sends a message to every stream consumer and event subscriber.
    pub fn publish(&self, message: Value) {
        let message = Arc::new(message);
        self.streams.push(&message);
        // No subscriber is not an error: nobody is watching.
        let _ = self.events.send(message);
    }

    /// A receiver of every message published from now on (server-sent events).
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Arc<Value>> {
        self.events.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(id: &str, routing: &str) -> Map<String, Value> {
        json!({"_id": id, "_routing": routing, "title": "t", "createdAt": 1, "artifacts": []})
            .as_object()
            .cloned()
            .unwrap()
    }

    #[test]
    fn creation_details_keep_only_audited_attributes() {
        let entry = AuditRecord::creation("case", &object("c1", "c1"), "jdoe");

        assert_eq!(entry.object_id, "c1");
        assert_eq!(entry.root_id, "c1");
        assert_eq!(Value::Object(entry.details), json!({"title": "t"}));
    }

    #[test]
    fn dotted_update_names_become_nested_details() {
        let changes = json!({"customFields.cvss.number": 7, "status": "Open"});

        let details = audited(changes.as_object().unwrap());

        assert_eq!(
            Value::Object(details),
            json!({"customFields": {"cvss": {"number": 7}}, "status": "Open"})
        );
    }

    #[test]
    fn stream_messages_group_by_root_and_count_operations() {
        let records = vec![
            AuditRecord::creation("case_task", &object("t1", "c1"), "u"),
            AuditRecord::creation("case_task_log", &object("l1", "c1"), "u"),
            AuditRecord::creation("alert", &object("a1", "a1"), "u"),
        ];

        let messages = stream_messages(&records, "r:1", 5);

        assert_eq!(messages.len(), 2);
        assert_eq!(messages[0]["base"]["objectType"], "case_task");
        assert_eq!(
            messages[0]["summary"],
            json!({"case_task": {"Creation": 1}, "case_task_log": {"Creation": 1}})
        );
        assert_eq!(messages[1]["base"]["object"].get("artifacts"), None);
    }
}
