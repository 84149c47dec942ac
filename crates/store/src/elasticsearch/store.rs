//! [`ElasticStore`]: the [`Store`] trait on the official `elasticsearch` client.

use elasticsearch::indices::IndicesCreateParts;
use elasticsearch::params::{Conflicts, OpType, Refresh};
use elasticsearch::{
    BulkParts, ClearScrollParts, CountParts, DeleteByQueryParts, DeleteParts, Elasticsearch,
    GetParts, IndexParts, ScrollParts, SearchParts,
};
use serde_json::{Map, Value, json};
use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use super::EsSettings;
use super::aggregate::{from_es_aggregations, queries_mut, to_es_aggregations};
use super::cluster::{
    backend, duplicate, error_text, generate_id, hits_of, invalid_query, malformed, not_found,
    reply, stale, to_i64, total_of, transport, unexpected, version_of,
};
use super::mapping::{self, Hidden, PARENT_FIELD};
use super::translate::{
    Collect, document_from_hit, live, pending_joins, resolve_joins, search_body, to_es_query,
    to_es_sort,
};
use crate::unindexed::Unindexed;
use crate::{
    Aggregation, DeleteMode, Document, Hits, NewDocument, Page, Query, Sort, Store, StoreError,
    Version,
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

/// A [`Store`] on an Elasticsearch cluster (7.10 or later).
///
/// Each kind lives in the index `<prefix>_<kind>`, created with the Skep mapping the first time
/// the kind is used. Writes wait for a refresh (`refresh=wait_for`), so a search run after a
/// write returns sees it.
pub struct ElasticStore {
    client: Elasticsearch,
    prefix: String,
    /// Indices known to exist (created or found by this process).
    indices: Mutex<HashSet<String>>,
    /// Last creation sequence handed out.
    sequence: AtomicU64,
    /// Fields stored in the body only, without typed fields, per kind.
    unindexed: Unindexed,
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
    pub async fn open(settings: &EsSettings) -> crate::Result<ElasticStore> {
        mapping::validate_prefix(&settings.index_prefix)
            .map_err(|message| backend(anyhow::anyhow!(message)))?;
        let client = Elasticsearch::new(transport(settings).await?);
        let store = ElasticStore {
            client,
            prefix: settings.index_prefix.clone(),
            indices: Mutex::new(HashSet::new()),
            sequence: AtomicU64::new(0),
            unindexed: Unindexed::default(),
        };
        let reply = reply(store.client.info().send().await).await?;
        if reply.status != 200 {
            return Err(unexpected(&reply, "info"));
        }
        tracing::info!(
            url = %settings.url,
            version = reply.body["version"]["number"].as_str().unwrap_or("unknown"),
            prefix = %store.prefix,
            "elasticsearch store opened"
        );
        Ok(store)
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

    /// The index of `kind`, created with the Skep mapping if it does not exist yet.
    async fn index_for(&self, kind: &str) -> crate::Result<String> {
        let name = mapping::index_name(&self.prefix, kind);
        if self.lock_indices().contains(&name) {
            return Ok(name);
        }
        let reply = reply(
            self.client
                .indices()
                .create(IndicesCreateParts::Index(&name))
                .body(mapping::index_body())
                .send()
                .await,
        )
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
        let reply = reply(self.client.get(GetParts::IndexId(index, id)).send().await).await?;
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
        let reply = reply(
            self.client
                .index(IndexParts::IndexId(index, &hidden.id))
                .if_seq_no(to_i64(version.seq_no))
                .if_primary_term(to_i64(version.primary_term))
                .refresh(Refresh::WaitFor)
                .body(mapping::source(
                    body,
                    hidden,
                    &self.unindexed.of(&hidden.kind),
                ))
                .send()
                .await,
        )
        .await?;
        match reply.status {
            200 | 201 => Ok(Write::Done(version_of(&reply.body)?)),
            409 => Ok(Write::Conflict),
            404 => Ok(Write::Missing),
            _ => Err(unexpected(&reply, "write")),
        }
    }

    /// Sets or clears the soft-deleted flag, retrying when another writer got there first.
    async fn set_deleted(&self, kind: &str, id: &str, deleted: bool) -> crate::Result<Document> {
        let index = self.index_for(kind).await?;
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
                let index = self.index_for(join.kind).await?;
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
        self.scan(index, query, to_es_sort(&[]), Some(PARENT_FIELD), |hit| {
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
        })
        .await?;
        Ok(values)
    }

    /// Visits every live hit of `index` matching `query` in `sort` order, through a scroll,
    /// until `visit` answers false (with only `only_field` of each `_source` when given).
    /// Returns the total number of matches.
    async fn scan(
        &self,
        index: &str,
        query: Value,
        sort: Value,
        only_field: Option<&str>,
        mut visit: impl FnMut(&Value) -> bool + Send,
    ) -> crate::Result<u64> {
        let mut body = search_body(query, sort, 0, SCAN_BATCH);
        if let Some(object) = body.as_object_mut() {
            object.remove("from");
        }
        if let Some(field) = only_field {
            body["_source"] = json!([field]);
        }
        let first = reply(
            self.client
                .search(SearchParts::Index(&[index]))
                .scroll(SCROLL_KEEP_ALIVE)
                .body(body)
                .send()
                .await,
        )
        .await?;
        let mut response = match first.status {
            200 => first.body,
            400 => return Err(invalid_query(&first)),
            _ => return Err(unexpected(&first, "search")),
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
            let next = match reply(
                self.client
                    .scroll(ScrollParts::None)
                    .body(json!({"scroll": SCROLL_KEEP_ALIVE, "scroll_id": id}))
                    .send()
                    .await,
            )
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

    async fn search_request(&self, index: &str, body: Value) -> crate::Result<Value> {
        let reply = reply(
            self.client
                .search(SearchParts::Index(&[index]))
                .body(body)
                .send()
                .await,
        )
        .await?;
        match reply.status {
            200 => Ok(reply.body),
            400 => Err(invalid_query(&reply)),
            // Older clusters answer an aggregation over `search.max_buckets` with 503; it is
            // the request that is too large, not the cluster that is down.
            _ if reply
                .body
                .to_string()
                .contains("too_many_buckets_exception") =>
            {
                Err(invalid_query(&reply))
            }
            _ => Err(unexpected(&reply, "search")),
        }
    }

    /// Sends one bulk request creating `documents` (already given ids) in `index`.
    async fn bulk_create(
        &self,
        kind: &str,
        index: &str,
        documents: &[(Hidden, Map<String, Value>)],
        lines: Vec<String>,
    ) -> crate::Result<Vec<crate::Result<Document>>> {
        let reply = reply(
            self.client
                .bulk(BulkParts::Index(index))
                .refresh(Refresh::WaitFor)
                .body(lines)
                .send()
                .await,
        )
        .await?;
        if reply.status != 200 {
            return Err(unexpected(&reply, "bulk"));
        }
        let items = reply.body["items"]
            .as_array()
            .ok_or_else(|| malformed("bulk items"))?;
        if items.len() != documents.len() {
            return Err(malformed("one bulk item per document"));
        }
        let results = documents
            .iter()
            .zip(items)
            .map(|((hidden, body), item)| {
                let item = &item["create"];
                match item["status"].as_u64() {
                    Some(200 | 201) => Ok(Document {
                        id: hidden.id.clone(),
                        parent: hidden.parent.clone(),
                        version: version_of(item)?,
                        body: body.clone(),
                    }),
                    Some(409) => Err(duplicate(kind, &hidden.id)),
                    // Rejected for load (a full write queue): retrying later can succeed.
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
            .collect();
        Ok(results)
    }
}

#[async_trait::async_trait]
impl Store for ElasticStore {
    fn set_unindexed(&self, kind: &str, fields: &[&str]) {
        self.unindexed.set(kind, fields);
    }

    #[tracing::instrument(skip_all, fields(kind = %kind))]
    async fn put(&self, kind: &str, document: NewDocument) -> crate::Result<Document> {
        let index = self.index_for(kind).await?;
        let hidden = self.hidden_for_new(kind, &document)?;
        let reply = reply(
            self.client
                .index(IndexParts::IndexId(&index, &hidden.id))
                .op_type(OpType::Create)
                .refresh(Refresh::WaitFor)
                .body(mapping::source(
                    &document.body,
                    &hidden,
                    &self.unindexed.of(kind),
                ))
                .send()
                .await,
        )
        .await?;
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
        let index = self.index_for(kind).await?;
        let skip = self.unindexed.of(kind);
        let mut results = Vec::with_capacity(documents.len());
        let mut batch: Vec<(Hidden, Map<String, Value>)> = Vec::new();
        let mut lines: Vec<String> = Vec::new();
        let mut bytes = 0;
        for document in documents {
            let hidden = match self.hidden_for_new(kind, &document) {
                Ok(hidden) => hidden,
                Err(error) => {
                    // Flush what came before, so results stay in input order.
                    if !batch.is_empty() {
                        let sent = std::mem::take(&mut batch);
                        results.extend(
                            self.bulk_create(kind, &index, &sent, std::mem::take(&mut lines))
                                .await?,
                        );
                        bytes = 0;
                    }
                    results.push(Err(error));
                    continue;
                }
            };
            let action = json!({"create": {"_id": hidden.id}}).to_string();
            let source = mapping::source(&document.body, &hidden, &skip).to_string();
            if !batch.is_empty()
                && (batch.len() >= BULK_MAX_DOCUMENTS
                    || bytes + action.len() + source.len() > BULK_MAX_BYTES)
            {
                let sent = std::mem::take(&mut batch);
                results.extend(
                    self.bulk_create(kind, &index, &sent, std::mem::take(&mut lines))
                        .await?,
                );
                bytes = 0;
            }
            bytes += action.len() + source.len() + 2;
            lines.push(action);
            lines.push(source);
            batch.push((hidden, document.body));
        }
        if !batch.is_empty() {
            results.extend(self.bulk_create(kind, &index, &batch, lines).await?);
        }
        Ok(results)
    }

    #[tracing::instrument(skip_all, fields(kind = %kind, id = %id))]
    async fn get(&self, kind: &str, id: &str) -> crate::Result<Document> {
        let index = self.index_for(kind).await?;
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
        let index = self.index_for(kind).await?;
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
        let index = self.index_for(kind).await?;
        let reply = reply(
            self.client
                .delete(DeleteParts::IndexId(&index, id))
                .refresh(Refresh::WaitFor)
                .send()
                .await,
        )
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
        let index = self.index_for(kind).await?;
        let query = self.translate(query).await?;
        let reply = reply(
            self.client
                .delete_by_query(DeleteByQueryParts::Index(&[&index]))
                .refresh(true)
                .conflicts(Conflicts::Proceed)
                .body(json!({"query": live(query)}))
                .send()
                .await,
        )
        .await?;
        match reply.status {
            // A partial deletion (shard failures, or the request's timeout) is a failure
            // saying how far it got, not a success.
            200 if reply.body["timed_out"] == true
                || reply.body["failures"]
                    .as_array()
                    .is_some_and(|failures| !failures.is_empty()) =>
            {
                Err(backend(anyhow::anyhow!(
                    "elasticsearch deleted {} of the matching {kind} documents, then failed: {}",
                    reply.body["deleted"].as_u64().unwrap_or(0),
                    if reply.body["timed_out"] == true {
                        "timed out".to_owned()
                    } else {
                        error_text(&reply.body["failures"][0]["cause"])
                    }
                )))
            }
            200 => reply.body["deleted"]
                .as_u64()
                .ok_or_else(|| malformed("deleted count")),
            400 => Err(invalid_query(&reply)),
            _ => Err(unexpected(&reply, "delete by query")),
        }
    }

    #[tracing::instrument(skip_all, fields(kind = %kind))]
    async fn search(
        &self,
        kind: &str,
        query: &Query,
        page: Page,
        sort: &[Sort],
    ) -> crate::Result<Hits> {
        let index = self.index_for(kind).await?;
        let query = self.translate(query).await?;
        let sort = to_es_sort(sort);
        if let Some(limit) = page.limit
            && page.offset.saturating_add(limit) <= RESULT_WINDOW
        {
            let body = search_body(query, sort, page.offset, limit);
            let response = self.search_request(&index, body).await?;
            let total = total_of(&response).ok_or_else(|| malformed("hits.total"))?;
            let documents = hits_of(&response)?
                .iter()
                .map(|hit| document_from_hit(kind, hit).map(|(document, _)| document))
                .collect::<crate::Result<Vec<_>>>()?;
            return Ok(Hits { total, documents });
        }
        // Deep or unlimited windows: walk the matches in order, keeping the requested window.
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
        let index = self.index_for(kind).await?;
        let query = self.translate(query).await?;
        let reply = reply(
            self.client
                .count(CountParts::Index(&[&index]))
                .body(json!({"query": live(query)}))
                .send()
                .await,
        )
        .await?;
        match reply.status {
            200 => reply.body["count"]
                .as_u64()
                .ok_or_else(|| malformed("count")),
            400 => Err(invalid_query(&reply)),
            _ => Err(unexpected(&reply, "count")),
        }
    }

    #[tracing::instrument(skip_all, fields(kind = %kind))]
    async fn aggregate(
        &self,
        kind: &str,
        query: &Query,
        aggregations: &[Aggregation],
    ) -> crate::Result<Map<String, Value>> {
        let index = self.index_for(kind).await?;
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
        let response = self.search_request(&index, body).await?;
        from_es_aggregations(&aggregations, &response["aggregations"])
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
