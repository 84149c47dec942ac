//! [`ElasticStore`]: the [`Store`] trait on the official `elasticsearch` client.

use elasticsearch::indices::IndicesCreateParts;
use elasticsearch::params::{OpType, Refresh};
use elasticsearch::{
    BulkParts, ClearScrollParts, CountParts, DeleteParts, Elasticsearch, GetParts, IndexParts,
    ScrollParts, SearchParts,
};
use serde_json::{Map, Value, json};
use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

use super::EsSettings;
use super::aggregate::{empty_aggregations, from_es_aggregations, queries_mut, to_es_aggregations};
use super::cluster::{
    Reply, backend, copy_error, duplicate, error_text, generate_id, hits_of, is_missing_index,
    malformed, node_urls, not_found, search_failure, send_to_any, stale, to_i64, total_of,
    transport, unexpected, version_of,
};
use super::mapping::{self, ClusterFeatures, Hidden, PARENT_FIELD};
use super::translate::{
    Collect, document_from_hit, live, pending_joins, resolve_joins, search_body, to_es_query,
    to_es_sort,
};
use crate::unindexed::Unindexed;
use crate::{
    Aggregation, DeleteMode, Document, Hits, NewDocument, Page, Query, Sort, Store, StoreError,
    Version, Visibility,
};

/// Largest `from + size` served by one plain search (Elasticsearch's default result window);
/// deeper windows and `Page::ALL` go through a scroll.
const RESULT_WINDOW: u64 = 10_000;
/// Documents fetched per scroll round.
const SCAN_BATCH: u64 = 1_000;
/// How long a scroll stays open between two rounds.
const SCROLL_KEEP_ALIVE: &str = "1m";
/// Most documents per bulk request.
const BULK_MAX_DOCUMENTS: usize = 1_000;
/// Most bytes per bulk request (Elasticsearch refuses requests over 100 MB by default).
const BULK_MAX_BYTES: usize = 16 * 1024 * 1024;
/// Attempts of an unconditional update that keeps losing races with other writers.
const WRITE_ATTEMPTS: usize = 10;
/// Attempts of a bulk request (or of its items) the cluster rejects with 429 (too busy).
const BULK_ATTEMPTS: u32 = 5;
/// Wait before the first retry of a rejected bulk request; doubled at each retry.
const BULK_FIRST_BACKOFF: Duration = Duration::from_millis(200);
/// Longest wait between two attempts to reach a starting cluster.
const STARTUP_MAX_BACKOFF: Duration = Duration::from_secs(5);

/// A [`Store`] on an Elasticsearch cluster (7.10 or later).
///
/// Each kind lives in the index `<prefix>.<kind>`, created with the Skep mapping by the first
/// write of the kind; reads never create an index (a missing one reads as empty), so a kind
/// named in a query cannot make the cluster create indices. Writes wait for a refresh
/// (`refresh=wait_for`), so a search run after a write returns sees it, except for kinds
/// declared [`Visibility::Eventual`].
pub struct ElasticStore {
    client: Elasticsearch,
    prefix: String,
    /// What the cluster supports (from its version).
    features: ClusterFeatures,
    /// Indices known to exist (created or found by this process).
    indices: Mutex<HashSet<String>>,
    /// Last creation sequence handed out.
    sequence: AtomicU64,
    /// Fields stored in the body only, without typed fields, per kind.
    unindexed: Unindexed,
    /// Kinds whose writes do not wait for a refresh.
    eventual: RwLock<HashSet<String>>,
    /// Number of node URLs (a request that cannot reach one is sent to the next).
    nodes: usize,
}

// Written by hand: the client's own Debug output includes the credentials.
impl std::fmt::Debug for ElasticStore {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("ElasticStore")
            .field("prefix", &self.prefix)
            .field("indices", &self.indices_in_use())
            .finish_non_exhaustive()
    }
}

/// Outcome of a conditional write of an existing document.
enum Write {
    Done(Version),
    Conflict,
    Missing,
}

type Boxed<'a, T> = Pin<Box<dyn Future<Output = crate::Result<T>> + Send + 'a>>;

impl ElasticStore {
    /// Connects to the cluster described by `settings` and checks that it answers.
    ///
    /// Fails with [`StoreError::Unavailable`] when the cluster cannot be reached and with
    /// [`StoreError::Backend`] for invalid settings (URL, prefix, CA file) or refused credentials.
    ///
    /// A cluster that cannot be reached yet, or answers that it is not ready (502, 503, 504:
    /// starting, electing a master, behind a proxy still waiting for it), is asked again with a
    /// growing pause for up to `settings.startup_timeout` (docker-compose starts Skep and the
    /// cluster together). Refused credentials and other answers fail at once.
    pub async fn open(settings: &EsSettings) -> crate::Result<ElasticStore> {
        mapping::validate_prefix(&settings.index_prefix)
            .map_err(|message| backend(anyhow::anyhow!(message)))?;
        let client = Elasticsearch::new(transport(settings).await?);
        let nodes = node_urls(&settings.url)?.len();
        let deadline = Instant::now() + settings.startup_timeout;
        let mut pause = Duration::from_millis(250);
        let info = loop {
            let error = match send_to_any(nodes, || client.info().send()).await {
                Ok(reply) if reply.status == 200 => break reply,
                Ok(reply) => unexpected(&reply, "info"),
                Err(error) => error,
            };
            if !matches!(error, StoreError::Unavailable(_)) || Instant::now() + pause > deadline {
                return Err(error);
            }
            tracing::warn!(
                url = %settings.url,
                error = %format!("{:#}", anyhow::Error::new(error)),
                "elasticsearch is not ready yet; asking again in {pause:?}"
            );
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(STARTUP_MAX_BACKOFF);
        };
        let version = info.body["version"]["number"].as_str().unwrap_or("unknown");
        let store = ElasticStore {
            client,
            prefix: settings.index_prefix.clone(),
            features: ClusterFeatures::of_version(version),
            indices: Mutex::new(HashSet::new()),
            sequence: AtomicU64::new(0),
            unindexed: Unindexed::default(),
            eventual: RwLock::new(HashSet::new()),
            nodes,
        };
        tracing::info!(
            url = %settings.url,
            version,
            prefix = %store.prefix,
            "elasticsearch store opened"
        );
        Ok(store)
    }

    /// Whether writes of `kind` wait until searches see them.
    fn waits(&self, kind: &str) -> bool {
        !self
            .eventual
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains(kind)
    }

    /// The refresh parameter of a write of `kind`.
    fn refresh_for(&self, kind: &str) -> Option<Refresh> {
        self.waits(kind).then_some(Refresh::WaitFor)
    }

    /// The index of `kind` for a read: named, never created (a kind in a query is user input).
    fn read_index(&self, kind: &str) -> crate::Result<String> {
        mapping::checked_index_name(&self.prefix, kind)
    }

    /// Names of the indices this store has used since it was opened (the conformance suite
    /// deletes them when a case ends).
    pub fn indices_in_use(&self) -> Vec<String> {
        let mut names: Vec<String> = self.lock_indices().iter().cloned().collect();
        names.sort();
        names
    }

    fn lock_indices(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        // A poisoned set only means another task panicked while inserting a name; the set
        // itself is still valid.
        self.indices
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The index of `kind` for a write, created with the Skep mapping if it does not exist yet.
    async fn write_index(&self, kind: &str) -> crate::Result<String> {
        let name = mapping::checked_index_name(&self.prefix, kind)?;
        if self.lock_indices().contains(&name) {
            return Ok(name);
        }
        let indices = self.client.indices();
        let reply = send_to_any(self.nodes, || {
            indices
                .create(IndicesCreateParts::Index(&name))
                .body(mapping::index_body(self.features))
                .send()
        })
        .await?;
        let exists = reply.body["error"]["type"] == "resource_already_exists_exception";
        if reply.status != 200 && !exists {
            return Err(unexpected(&reply, "index creation"));
        }
        if reply.status == 200 {
            tracing::info!(index = %name, "elasticsearch index created");
        }
        self.lock_indices().insert(name.clone());
        Ok(name)
    }

    /// A creation sequence: microseconds since the epoch, strictly increasing in this process.
    fn next_sequence(&self) -> u64 {
        let now = u64::try_from(chrono::Utc::now().timestamp_micros()).unwrap_or(0);
        let previous = self
            .sequence
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |last| {
                Some(now.max(last + 1))
            })
            .unwrap_or(now);
        now.max(previous + 1)
    }

    /// Reads a document, soft-deleted or not.
    async fn fetch(
        &self,
        index: &str,
        kind: &str,
        id: &str,
    ) -> crate::Result<Option<(Document, Hidden)>> {
        let reply = send_to_any(self.nodes, || {
            self.client.get(GetParts::IndexId(index, id)).send()
        })
        .await?;
        match reply.status {
            200 if reply.body["found"] == true => {
                let (document, deleted) = document_from_hit(kind, &reply.body)?;
                let sequence = reply.body["_source"][mapping::SEQUENCE_FIELD]
                    .as_u64()
                    .unwrap_or(0);
                let hidden = Hidden {
                    id: document.id.clone(),
                    kind: kind.to_owned(),
                    parent: document.parent.clone(),
                    deleted,
                    sequence,
                };
                Ok(Some((document, hidden)))
            }
            200 | 404 => Ok(None),
            _ => Err(unexpected(&reply, "get")),
        }
    }

    /// Replaces a stored document if it is still at `version`.
    async fn write_if(
        &self,
        index: &str,
        body: &Map<String, Value>,
        hidden: &Hidden,
        version: Version,
    ) -> crate::Result<Write> {
        let send = |source: Value| {
            send_to_any(self.nodes, move || {
                let mut request = self
                    .client
                    .index(IndexParts::IndexId(index, &hidden.id))
                    .if_seq_no(to_i64(version.seq_no))
                    .if_primary_term(to_i64(version.primary_term));
                if let Some(refresh) = self.refresh_for(&hidden.kind) {
                    request = request.refresh(refresh);
                }
                request.body(source.clone()).send()
            })
        };
        let mut reply = send(mapping::source(
            body,
            hidden,
            &self.unindexed.of(&hidden.kind),
        ))
        .await?;
        if reply.status == 400 && mapping::is_field_limit_error(&reply.body["error"]) {
            reply = send(self.without_typed_fields(body, hidden)).await?;
        }
        match reply.status {
            200 | 201 => Ok(Write::Done(version_of(&reply.body)?)),
            409 => Ok(Write::Conflict),
            404 => Ok(Write::Missing),
            _ => Err(unexpected(&reply, "write")),
        }
    }

    /// The source of a document whose typed fields the index has no room for (see
    /// [`mapping::index_body`]): stored and readable by id, found by no field query.
    fn without_typed_fields(&self, body: &Map<String, Value>, hidden: &Hidden) -> Value {
        tracing::warn!(
            kind = %hidden.kind,
            id = %hidden.id,
            "the index maps as many fields as it may: document stored without searchable fields"
        );
        mapping::source_without_typed_fields(body, hidden)
    }

    /// Sets or clears the soft-deleted flag, retrying when another writer got there first.
    async fn set_deleted(&self, kind: &str, id: &str, deleted: bool) -> crate::Result<Document> {
        let index = self.read_index(kind)?;
        for _ in 0..WRITE_ATTEMPTS {
            let Some((document, mut hidden)) = self.fetch(&index, kind, id).await? else {
                return Err(not_found(kind, id));
            };
            if deleted && hidden.deleted {
                return Err(not_found(kind, id));
            }
            if !deleted && !hidden.deleted {
                return Ok(document);
            }
            hidden.deleted = deleted;
            match self
                .write_if(&index, &document.body, &hidden, document.version)
                .await?
            {
                Write::Done(version) => {
                    return Ok(Document {
                        version,
                        ..document
                    });
                }
                Write::Conflict => continue,
                Write::Missing => return Err(not_found(kind, id)),
            }
        }
        Err(backend(anyhow::anyhow!(
            "{kind} {id} kept changing during {WRITE_ATTEMPTS} attempts"
        )))
    }

    /// Translates a query, first running the lookups its `_parent`/`_child` joins need.
    async fn translate(&self, query: &Query) -> crate::Result<Value> {
        Ok(to_es_query(&self.resolve(query).await?))
    }

    /// Replaces the joins of `query` by what their lookups find (recursively).
    fn resolve<'a>(&'a self, query: &'a Query) -> Boxed<'a, Query> {
        Box::pin(async move {
            let joins = pending_joins(query);
            if joins.is_empty() {
                return Ok(query.clone());
            }
            let mut found = Vec::with_capacity(joins.len());
            for join in joins {
                // The kind is the caller's `_type`: named, checked, never created.
                let index = self.read_index(join.kind)?;
                let inner = to_es_query(&self.resolve(join.query).await?);
                found.push(self.collect(&index, inner, join.collect).await?);
            }
            Ok(resolve_joins(query, &found))
        })
    }

    /// The ids (or parent ids) of every live document of `index` matching `query`.
    async fn collect(
        &self,
        index: &str,
        query: Value,
        collect: Collect,
    ) -> crate::Result<Vec<String>> {
        let mut values = Vec::new();
        let mut seen = HashSet::new();
        self.scan(
            index,
            query,
            to_es_sort(&[]),
            Some(json!([PARENT_FIELD])),
            |hit| {
                let value = match collect {
                    Collect::DocumentIds => hit["_id"].as_str(),
                    Collect::ParentIds => hit["_source"][PARENT_FIELD].as_str(),
                };
                if let Some(value) = value
                    && seen.insert(value.to_owned())
                {
                    values.push(value.to_owned());
                }
                true
            },
        )
        .await?;
        Ok(values)
    }

    /// Visits every live hit of `index` matching `query` in `sort` order, through a scroll,
    /// until `visit` answers false (with `source` as the request's `_source` filter when given).
    /// Returns the total number of matches.
    async fn scan(
        &self,
        index: &str,
        query: Value,
        sort: Value,
        source: Option<Value>,
        mut visit: impl FnMut(&Value) -> bool + Send,
    ) -> crate::Result<u64> {
        let mut body = search_body(query, sort, 0, SCAN_BATCH);
        if let Some(object) = body.as_object_mut() {
            object.remove("from");
        }
        if let Some(source) = source {
            body["_source"] = source;
        }
        let indices = [index];
        let first = send_to_any(self.nodes, || {
            self.client
                .search(SearchParts::Index(&indices))
                .scroll(SCROLL_KEEP_ALIVE)
                .body(body.clone())
                .send()
        })
        .await?;
        let mut response = match first.status {
            200 => first.body,
            _ if is_missing_index(&first) => return Ok(0),
            _ => return Err(search_failure(&first, "search")),
        };
        let total = total_of(&response).ok_or_else(|| malformed("hits.total"))?;
        let mut scroll_id = response["_scroll_id"].as_str().map(str::to_owned);
        let outcome = loop {
            let hits = match hits_of(&response) {
                Ok(hits) => hits,
                Err(error) => break Err(error),
            };
            if hits.is_empty() || !hits.iter().all(&mut visit) {
                break Ok(total);
            }
            let Some(id) = scroll_id.as_deref() else {
                break Ok(total);
            };
            let next = match send_to_any(self.nodes, || {
                self.client
                    .scroll(ScrollParts::None)
                    .body(json!({"scroll": SCROLL_KEEP_ALIVE, "scroll_id": id}))
                    .send()
            })
            .await
            {
                Ok(next) => next,
                // Still clear the scroll below.
                Err(error) => break Err(error),
            };
            if next.status != 200 {
                break Err(unexpected(&next, "scroll"));
            }
            response = next.body;
            if let Some(id) = response["_scroll_id"].as_str() {
                scroll_id = Some(id.to_owned());
            }
        };
        if let Some(id) = scroll_id {
            // The cluster drops it after the keep-alive anyway; clearing it early frees memory.
            let cleared = self
                .client
                .clear_scroll(ClearScrollParts::None)
                .body(json!({"scroll_id": [id]}))
                .send()
                .await;
            if let Err(error) = cleared {
                tracing::debug!(error = %error, "clearing a scroll failed");
            }
        }
        outcome
    }

    /// The live documents of `ids`, in that order (one deleted meanwhile is left out).
    async fn fetch_window(
        &self,
        index: &str,
        kind: &str,
        ids: &[String],
    ) -> crate::Result<Vec<Document>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let body = json!({
            "query": live(json!({"ids": {"values": ids}})),
            "size": ids.len(),
            "track_total_hits": false,
            "seq_no_primary_term": true
        });
        let Some(response) = self.search_request(index, body).await? else {
            return Ok(Vec::new());
        };
        let mut found: std::collections::HashMap<String, Document> = hits_of(&response)?
            .iter()
            .map(|hit| {
                document_from_hit(kind, hit).map(|(document, _)| (document.id.clone(), document))
            })
            .collect::<crate::Result<_>>()?;
        Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
    }

    /// One search; `None` when the index does not exist (yet).
    async fn search_request(&self, index: &str, body: Value) -> crate::Result<Option<Value>> {
        let indices = [index];
        let reply = send_to_any(self.nodes, || {
            self.client
                .search(SearchParts::Index(&indices))
                .body(body.clone())
                .send()
        })
        .await?;
        match reply.status {
            200 => Ok(Some(reply.body)),
            _ if is_missing_index(&reply) => Ok(None),
            _ => Err(search_failure(&reply, "search")),
        }
    }

    /// Sends bulk operations (an action line and, for creations, a source line each) to
    /// `index`. Answers each operation's item, or the error of the request that carried it: a
    /// request failing as a whole fails only its own operations. A request or items rejected
    /// with 429 (write queue full, circuit breaker) are sent again after a pause that doubles,
    /// up to [`BULK_ATTEMPTS`] times.
    async fn bulk(
        &self,
        index: &str,
        wait: bool,
        operations: &[(String, Option<String>)],
    ) -> Vec<crate::Result<Value>> {
        let mut outcomes: Vec<Option<crate::Result<Value>>> =
            operations.iter().map(|_| None).collect();
        let mut pending: Vec<usize> = (0..operations.len()).collect();
        let mut pause = BULK_FIRST_BACKOFF;
        for attempt in 1..=BULK_ATTEMPTS {
            let last = attempt == BULK_ATTEMPTS;
            let lines: Vec<String> = pending
                .iter()
                .flat_map(|&position| {
                    let (action, source) = &operations[position];
                    std::iter::once(action.clone()).chain(source.clone())
                })
                .collect();
            let sent = send_to_any(self.nodes, || {
                let mut request = self.client.bulk(BulkParts::Index(index));
                if wait {
                    request = request.refresh(Refresh::WaitFor);
                }
                request.body(lines.clone()).send()
            })
            .await;
            let failure = match sent {
                Ok(answer) if answer.status == 200 => match bulk_items(&answer, pending.len()) {
                    Ok(items) => {
                        let mut rejected = Vec::new();
                        for (&position, item) in pending.iter().zip(items) {
                            if item["status"] == 429 && !last {
                                rejected.push(position);
                            } else {
                                outcomes[position] = Some(Ok(item));
                            }
                        }
                        pending = rejected;
                        None
                    }
                    Err(error) => Some(error),
                },
                Ok(answer) if answer.status == 429 && !last => None,
                Ok(answer) => Some(unexpected(&answer, "bulk")),
                // No answer: the request may or may not have been applied, so it is not sent
                // again (a second creation would report the first as a duplicate).
                Err(error) => Some(error),
            };
            if let Some(error) = failure {
                for &position in &pending {
                    outcomes[position] = Some(Err(copy_error(&error)));
                }
                pending.clear();
            }
            if pending.is_empty() {
                break;
            }
            tracing::warn!(
                index,
                rejected = pending.len(),
                "elasticsearch is too busy for a bulk request; sending again in {pause:?}"
            );
            tokio::time::sleep(pause).await;
            pause *= 2;
        }
        outcomes
            .into_iter()
            .map(|outcome| outcome.unwrap_or_else(|| Err(malformed("a bulk item"))))
            .collect()
    }

    /// Creates one batch of documents (already given ids) in `index` with [`Self::bulk`]; a
    /// document refused because the index maps as many fields as it may is written again
    /// without typed fields.
    async fn create_batch(
        &self,
        kind: &str,
        index: &str,
        batch: Vec<(Hidden, Map<String, Value>, String)>,
    ) -> Vec<crate::Result<Document>> {
        let wait = self.waits(kind);
        let operations: Vec<(String, Option<String>)> = batch
            .iter()
            .map(|(hidden, _, source)| {
                let action = json!({"create": {"_id": hidden.id}}).to_string();
                (action, Some(source.clone()))
            })
            .collect();
        let mut items = self.bulk(index, wait, &operations).await;
        let over_limit: Vec<usize> = items
            .iter()
            .enumerate()
            .filter(|(_, item)| {
                item.as_ref().is_ok_and(|item| {
                    item["status"] == 400 && mapping::is_field_limit_error(&item["error"])
                })
            })
            .map(|(position, _)| position)
            .collect();
        if !over_limit.is_empty() {
            let retry: Vec<(String, Option<String>)> = over_limit
                .iter()
                .map(|&position| {
                    let (hidden, body, _) = &batch[position];
                    let source = self.without_typed_fields(body, hidden).to_string();
                    (operations[position].0.clone(), Some(source))
                })
                .collect();
            let again = self.bulk(index, wait, &retry).await;
            for (position, item) in over_limit.into_iter().zip(again) {
                items[position] = item;
            }
        }
        batch
            .into_iter()
            .zip(items)
            .map(|((hidden, body, _), item)| {
                let item = item?;
                match item["status"].as_u64() {
                    Some(200 | 201) => Ok(Document {
                        version: version_of(&item)?,
                        id: hidden.id,
                        parent: hidden.parent,
                        body,
                    }),
                    Some(409) => Err(duplicate(kind, &hidden.id)),
                    // Still too busy after the retries: retrying later can succeed.
                    Some(429) => Err(StoreError::Unavailable(anyhow::anyhow!(
                        "elasticsearch was too busy to store {kind} {}: {}",
                        hidden.id,
                        error_text(&item["error"])
                    ))),
                    _ => Err(backend(anyhow::anyhow!(
                        "elasticsearch refused {kind} {}: {}",
                        hidden.id,
                        error_text(&item["error"])
                    ))),
                }
            })
            .collect()
    }
}

/// The items of a bulk answer (each the object under its action name), one per operation.
fn bulk_items(answer: &Reply, expected: usize) -> crate::Result<Vec<Value>> {
    let items = answer.body["items"]
        .as_array()
        .ok_or_else(|| malformed("bulk items"))?;
    if items.len() != expected {
        return Err(malformed("one bulk item per operation"));
    }
    Ok(items
        .iter()
        .map(|item| {
            item.as_object()
                .and_then(|object| object.values().next())
                .cloned()
                .unwrap_or(Value::Null)
        })
        .collect())
}

#[async_trait::async_trait]
impl Store for ElasticStore {
    fn set_unindexed(&self, kind: &str, fields: &[&str]) {
        self.unindexed.set(kind, fields);
    }

    fn set_visibility(&self, kind: &str, visibility: Visibility) {
        let mut eventual = self
            .eventual
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match visibility {
            Visibility::Eventual => eventual.insert(kind.to_owned()),
            Visibility::Immediate => eventual.remove(kind),
        };
    }

    #[tracing::instrument(skip_all, fields(kind = %kind))]
    async fn put(&self, kind: &str, document: NewDocument) -> crate::Result<Document> {
        let hidden = self.hidden_for_new(kind, &document)?;
        let index = self.write_index(kind).await?;
        let (index, id) = (index.as_str(), hidden.id.as_str());
        let send = |source: Value| {
            send_to_any(self.nodes, move || {
                let mut request = self
                    .client
                    .index(IndexParts::IndexId(index, id))
                    .op_type(OpType::Create);
                if let Some(refresh) = self.refresh_for(kind) {
                    request = request.refresh(refresh);
                }
                request.body(source.clone()).send()
            })
        };
        let mut reply = send(mapping::source(
            &document.body,
            &hidden,
            &self.unindexed.of(kind),
        ))
        .await?;
        if reply.status == 400 && mapping::is_field_limit_error(&reply.body["error"]) {
            reply = send(self.without_typed_fields(&document.body, &hidden)).await?;
        }
        match reply.status {
            200 | 201 => Ok(Document {
                id: hidden.id,
                parent: hidden.parent,
                version: version_of(&reply.body)?,
                body: document.body,
            }),
            409 => Err(duplicate(kind, &hidden.id)),
            _ => Err(unexpected(&reply, "create")),
        }
    }

    #[tracing::instrument(skip_all, fields(kind = %kind, count = documents.len()))]
    async fn put_many(
        &self,
        kind: &str,
        documents: Vec<NewDocument>,
    ) -> crate::Result<Vec<crate::Result<Document>>> {
        let index = self.write_index(kind).await?;
        let skip = self.unindexed.of(kind);
        let mut results = Vec::with_capacity(documents.len());
        let mut batch: Vec<(Hidden, Map<String, Value>, String)> = Vec::new();
        let mut bytes = 0;
        // A batch that fails as a whole fails only its own documents: the results of batches
        // already written are kept, so a caller retrying the failed ones does not see the
        // stored ones as duplicates.
        for document in documents {
            let hidden = match self.hidden_for_new(kind, &document) {
                Ok(hidden) => hidden,
                Err(error) => {
                    // Flush what came before, so results stay in input order.
                    if !batch.is_empty() {
                        let sent = std::mem::take(&mut batch);
                        results.extend(self.create_batch(kind, &index, sent).await);
                        bytes = 0;
                    }
                    results.push(Err(error));
                    continue;
                }
            };
            let source = mapping::source(&document.body, &hidden, &skip).to_string();
            // The action line is about as long as the id plus 20 bytes.
            let size = source.len() + hidden.id.len() + 24;
            if !batch.is_empty()
                && (batch.len() >= BULK_MAX_DOCUMENTS || bytes + size > BULK_MAX_BYTES)
            {
                let sent = std::mem::take(&mut batch);
                results.extend(self.create_batch(kind, &index, sent).await);
                bytes = 0;
            }
            bytes += size;
            batch.push((hidden, document.body, source));
        }
        if !batch.is_empty() {
            results.extend(self.create_batch(kind, &index, batch).await);
        }
        Ok(results)
    }

    #[tracing::instrument(skip_all, fields(kind = %kind, id = %id))]
    async fn get(&self, kind: &str, id: &str) -> crate::Result<Document> {
        let index = self.read_index(kind)?;
        match self.fetch(&index, kind, id).await? {
            Some((document, hidden)) if !hidden.deleted => Ok(document),
            _ => Err(not_found(kind, id)),
        }
    }

    #[tracing::instrument(skip_all, fields(kind = %kind, id = %id))]
    async fn update(
        &self,
        kind: &str,
        id: &str,
        expected: Option<Version>,
        body: Map<String, Value>,
    ) -> crate::Result<Document> {
        let index = self.read_index(kind)?;
        for _ in 0..WRITE_ATTEMPTS {
            let Some((current, hidden)) = self.fetch(&index, kind, id).await? else {
                return Err(not_found(kind, id));
            };
            if hidden.deleted {
                return Err(not_found(kind, id));
            }
            if expected.is_some_and(|expected| expected != current.version) {
                return Err(stale(kind, id));
            }
            match self
                .write_if(&index, &body, &hidden, current.version)
                .await?
            {
                Write::Done(version) => {
                    return Ok(Document {
                        id: current.id,
                        parent: current.parent,
                        version,
                        body,
                    });
                }
                // Elasticsearch answers a conditional write to a document deleted meanwhile
                // with 409, as for a stale version: read it again to tell the two apart.
                Write::Conflict if expected.is_some() => {
                    return Err(match self.fetch(&index, kind, id).await? {
                        Some((_, hidden)) if !hidden.deleted => stale(kind, id),
                        _ => not_found(kind, id),
                    });
                }
                Write::Conflict => continue,
                Write::Missing => return Err(not_found(kind, id)),
            }
        }
        Err(backend(anyhow::anyhow!(
            "{kind} {id} kept changing during {WRITE_ATTEMPTS} attempts"
        )))
    }

    #[tracing::instrument(skip_all, fields(kind = %kind, id = %id, mode = ?mode))]
    async fn delete(&self, kind: &str, id: &str, mode: DeleteMode) -> crate::Result<()> {
        if mode == DeleteMode::Soft {
            return self.set_deleted(kind, id, true).await.map(|_| ());
        }
        let index = self.read_index(kind)?;
        let reply = send_to_any(self.nodes, || {
            let mut request = self.client.delete(DeleteParts::IndexId(&index, id));
            if let Some(refresh) = self.refresh_for(kind) {
                request = request.refresh(refresh);
            }
            request.send()
        })
        .await?;
        match reply.status {
            200 => Ok(()),
            404 => Err(not_found(kind, id)),
            _ => Err(unexpected(&reply, "delete")),
        }
    }

    #[tracing::instrument(skip_all, fields(kind = %kind, id = %id))]
    async fn restore(&self, kind: &str, id: &str) -> crate::Result<Document> {
        self.set_deleted(kind, id, false).await
    }

    #[tracing::instrument(skip_all, fields(kind = %kind))]
    async fn delete_by_query(&self, kind: &str, query: &Query) -> crate::Result<u64> {
        // Not `_delete_by_query`: making its deletions visible at once needs `refresh=true`,
        // which takes the `maintenance` privilege (without it the documents are deleted and
        // then the call fails with 403). The matching ids are collected with a search, then
        // deleted by id in bulk with `refresh=wait_for`, which the `write` privilege allows.
        let index = self.read_index(kind)?;
        let query = self.translate(query).await?;
        let ids = self.collect(&index, query, Collect::DocumentIds).await?;
        let wait = self.waits(kind);
        let mut deleted = 0;
        for chunk in ids.chunks(BULK_MAX_DOCUMENTS) {
            let operations: Vec<(String, Option<String>)> = chunk
                .iter()
                .map(|id| (json!({"delete": {"_id": id}}).to_string(), None))
                .collect();
            for (id, item) in chunk.iter().zip(self.bulk(&index, wait, &operations).await) {
                let failure = match item {
                    // Deleted, or by someone else meanwhile.
                    Ok(item) if matches!(item["status"].as_u64(), Some(200 | 404)) => {
                        if item["status"] == 200 {
                            deleted += 1;
                        }
                        continue;
                    }
                    Ok(item) => format!("{kind} {id}: {}", error_text(&item["error"])),
                    Err(error) => format!("{:#}", anyhow::Error::new(error)),
                };
                return Err(backend(anyhow::anyhow!(
                    "elasticsearch deleted {deleted} of the {} matching {kind} documents, \
                     then failed: {failure}",
                    ids.len()
                )));
            }
        }
        Ok(deleted)
    }

    #[tracing::instrument(skip_all, fields(kind = %kind))]
    async fn search(
        &self,
        kind: &str,
        query: &Query,
        page: Page,
        sort: &[Sort],
    ) -> crate::Result<Hits> {
        let index = self.read_index(kind)?;
        let query = self.translate(query).await?;
        let sort = to_es_sort(sort);
        if let Some(limit) = page.limit
            && page.offset.saturating_add(limit) <= RESULT_WINDOW
        {
            let body = search_body(query, sort, page.offset, limit);
            let Some(response) = self.search_request(&index, body).await? else {
                return Ok(Hits {
                    total: 0,
                    documents: Vec::new(),
                });
            };
            let total = total_of(&response).ok_or_else(|| malformed("hits.total"))?;
            let documents = hits_of(&response)?
                .iter()
                .map(|hit| document_from_hit(kind, hit).map(|(document, _)| document))
                .collect::<crate::Result<Vec<_>>>()?;
            return Ok(Hits { total, documents });
        }
        // A deep window: walk the matches in order reading their ids only, then fetch the
        // window's documents by id, so the pages before it cost no bodies.
        if let Some(limit) = page.limit {
            let end = page.offset.saturating_add(limit);
            let mut window = Vec::new();
            let mut position: u64 = 0;
            let total = self
                .scan(&index, query, sort, Some(json!(false)), |hit| {
                    if position >= end {
                        return false;
                    }
                    if position >= page.offset
                        && let Some(id) = hit["_id"].as_str()
                    {
                        window.push(id.to_owned());
                    }
                    position += 1;
                    true
                })
                .await?;
            let documents = self.fetch_window(&index, kind, &window).await?;
            return Ok(Hits { total, documents });
        }
        // Every match: walk them in order with their bodies.
        let mut documents = Vec::new();
        let mut position: u64 = 0;
        let mut failure = None;
        let total = self
            .scan(&index, query, sort, None, |hit| {
                if page
                    .limit
                    .is_some_and(|limit| documents.len() as u64 >= limit)
                {
                    return false;
                }
                if position >= page.offset {
                    match document_from_hit(kind, hit) {
                        Ok((document, _)) => documents.push(document),
                        Err(error) => {
                            failure = Some(error);
                            return false;
                        }
                    }
                }
                position += 1;
                true
            })
            .await?;
        match failure {
            Some(error) => Err(error),
            None => Ok(Hits { total, documents }),
        }
    }

    #[tracing::instrument(skip_all, fields(kind = %kind))]
    async fn count(&self, kind: &str, query: &Query) -> crate::Result<u64> {
        let index = self.read_index(kind)?;
        let query = self.translate(query).await?;
        let indices = [index.as_str()];
        let body = json!({"query": live(query)});
        let reply = send_to_any(self.nodes, || {
            self.client
                .count(CountParts::Index(&indices))
                .body(body.clone())
                .send()
        })
        .await?;
        match reply.status {
            200 => reply.body["count"]
                .as_u64()
                .ok_or_else(|| malformed("count")),
            _ if is_missing_index(&reply) => Ok(0),
            _ => Err(search_failure(&reply, "count")),
        }
    }

    #[tracing::instrument(skip_all, fields(kind = %kind))]
    async fn aggregate(
        &self,
        kind: &str,
        query: &Query,
        aggregations: &[Aggregation],
    ) -> crate::Result<Map<String, Value>> {
        let index = self.read_index(kind)?;
        let query = self.translate(query).await?;
        let mut aggregations = aggregations.to_vec();
        for inner in queries_mut(&mut aggregations) {
            if !pending_joins(inner).is_empty() {
                *inner = self.resolve(inner).await?;
            }
        }
        let request = to_es_aggregations(&aggregations)?;
        if request.is_empty() {
            return Ok(Map::new());
        }
        let body = json!({
            "size": 0,
            "track_total_hits": false,
            "query": live(query),
            "aggs": request
        });
        match self.search_request(&index, body).await? {
            Some(response) => from_es_aggregations(&aggregations, &response["aggregations"]),
            None => empty_aggregations(&aggregations),
        }
    }
}

impl ElasticStore {
    /// The hidden fields of a document about to be created (its id generated when missing).
    fn hidden_for_new(&self, kind: &str, document: &NewDocument) -> crate::Result<Hidden> {
        let id = match &document.id {
            Some(id) if id.is_empty() || id.len() > 512 => {
                return Err(StoreError::InvalidQuery(format!(
                    "a document id must have 1 to 512 bytes, not {}",
                    id.len()
                )));
            }
            // Ids travel in URL paths, where these two would be read as path steps.
            Some(id) if id == "." || id == ".." => {
                return Err(StoreError::InvalidQuery(
                    "a document id cannot be `.` or `..`".to_owned(),
                ));
            }
            Some(id) => id.clone(),
            None => generate_id(),
        };
        Ok(Hidden {
            id,
            kind: kind.to_owned(),
            parent: document.parent.clone(),
            deleted: false,
            sequence: self.next_sequence(),
        })
    }
}
