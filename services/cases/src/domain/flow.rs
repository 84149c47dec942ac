//! Reading activity back: the audit search (`/api/audit`) and the flow (`/api/flow`), the
//! "what happened lately" feed of base operations with their per-request summary.

use serde_json::{Map, Value, json};
use skep_http::ApiError;
use skep_http::search::{SearchRequest, StatsRequest};
use skep_store::{Document, Page, Query, Sort, Store};

use crate::domain::audit::KIND;
use crate::domain::entity;

/// Renders an audit as `/api/audit` shows it (without the object snapshot and summary).
pub fn render_audit(document: &Document) -> Map<String, Value> {
    let mut rendered = entity::render(KIND, document);
    rendered.remove("object");
    rendered.remove("summary");
    rendered
}

/// Searches audits.
pub async fn search(
    store: &dyn Store,
    request: &SearchRequest,
) -> Result<(Vec<Value>, u64), ApiError> {
    let hits = store
        .search(KIND, &request.query, request.page, &request.sort)
        .await?;
    Ok((
        hits.documents
            .iter()
            .map(|document| Value::Object(render_audit(document)))
            .collect(),
        hits.total,
    ))
}

/// Aggregates audits.
pub async fn stats(
    store: &dyn Store,
    request: &StatsRequest,
) -> Result<Map<String, Value>, ApiError> {
    Ok(store
        .aggregate(KIND, &request.query, &request.aggregations)
        .await?)
}

/// The newest `count` base operations (optionally of one root), users excluded, each as
/// `{"base": <audit + object>, "summary": {<objectType>: {<operation>: n}}}`.
pub async fn flow(
    store: &dyn Store,
    root_id: Option<&str>,
    count: u64,
) -> Result<(Vec<Value>, u64), ApiError> {
    let mut query =
        Query::eq("base", true).and(Query::Not(Box::new(Query::eq("objectType", "user"))));
    if let Some(root_id) = root_id.filter(|root| !root.is_empty() && *root != "any") {
        query = query.and(Query::eq("rootId", root_id));
    }
    let sort = [Sort {
        field: "startDate".into(),
        descending: true,
    }];
    let hits = store
        .search(
            KIND,
            &query,
            Page {
                offset: 0,
                limit: Some(count),
            },
            &sort,
        )
        .await?;
    let items = hits
        .documents
        .iter()
        .map(|document| {
            let mut base = entity::render(KIND, document);
            let summary = base.remove("summary").unwrap_or_else(|| json!({}));
            base.entry("object").or_insert_with(|| json!({}));
            json!({"base": base, "summary": summary})
        })
        .collect();
    Ok((items, hits.total))
}
