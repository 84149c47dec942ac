//! The live activity feed: the latest operations rendered with the page, then every new one
//! pushed by server-sent events from the activity hub (the same messages as `/api/stream`).
//! Each event carries an id (`<startDate>/<requestId>/<rootId>`); a browser that reconnects
//! sends the last one back (`Last-Event-ID`) and first gets the stored operations it missed.

use std::time::Duration;

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde_json::{Map, Value, json};
use skep_store::{Page, Query, Sort};

use super::view;
use super::{UiResult, Viewer};
use crate::domain::{audit, flow};
use crate::roles::Role;
use crate::state::CasesState;

/// Registers the routes of this module.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/activity", web::get().to(page))
        .route("/activity/events", web::get().to(events));
}

/// One line of the feed.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedItem {
    /// Event id.
    pub id: String,
    /// When, `YYYY-MM-DD HH:MM`.
    pub when: String,
    /// Who.
    pub user: String,
    /// What, in words.
    pub text: String,
    /// The page of the object (a local path), when there is one.
    pub href: String,
}

fn model_name(object_type: &str) -> &str {
    match object_type {
        "case" => "case",
        "case_task" => "task",
        "case_task_log" => "task log",
        "case_artifact" => "observable",
        "case_artifact_job" => "analysis",
        "caseTemplate" => "case template",
        "alert" => "alert",
        "dblist" => "list item",
        "user" => "user",
        other => other,
    }
}

/// The feed line of a stream message or flow item (`{"base": audit, "summary": counts}`).
pub fn describe(message: &Value) -> FeedItem {
    let empty = Map::new();
    let base = message
        .get("base")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let object = base
        .get("object")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let object_type = view::text(base, "objectType");
    let object_id = view::text(base, "objectId");
    let operation = match view::text(base, "operation").as_str() {
        "Creation" => "created",
        "Update" => "updated",
        "Delete" => "deleted",
        _ => "changed",
    };
    let (label, href) = match object_type.as_str() {
        "case" => (
            format!(
                "#{} {}",
                view::number(object, "caseId"),
                view::text(object, "title")
            ),
            format!("/cases/{object_id}"),
        ),
        "case_task" => (view::text(object, "title"), format!("/tasks/{object_id}")),
        "case_task_log" => (
            object
                .get("case_task")
                .and_then(Value::as_object)
                .map(|task| format!("on {}", view::text(task, "title")))
                .unwrap_or_default(),
            format!("/tasks/{}", view::text(object, "_parent")),
        ),
        "case_artifact" => (
            format!(
                "{} {}",
                view::text(object, "dataType"),
                match object.get("attachment") {
                    Some(attachment) => attachment
                        .get("name")
                        .and_then(Value::as_str)
                        .unwrap_or("file")
                        .to_owned(),
                    None => view::text(object, "data"),
                }
            ),
            format!("/observables/{object_id}"),
        ),
        "alert" => (view::text(object, "title"), format!("/alerts/{object_id}")),
        "caseTemplate" => (view::text(object, "name"), "/admin/templates".to_owned()),
        "dblist" => (
            format!("in {}", view::text(object, "dblist")),
            String::new(),
        ),
        _ => (object_id.clone(), String::new()),
    };
    let mut text = format!("{operation} {} {label}", model_name(&object_type));
    if operation == "updated"
        && let Some(details) = base.get("details").and_then(Value::as_object)
        && !details.is_empty()
    {
        let fields: Vec<&str> = details.keys().map(String::as_str).take(6).collect();
        text.push_str(&format!(" ({})", fields.join(", ")));
    }
    let others: u64 = message
        .get("summary")
        .and_then(Value::as_object)
        .map(|summary| {
            summary
                .values()
                .filter_map(Value::as_object)
                .flat_map(|operations| operations.values().filter_map(Value::as_u64))
                .sum()
        })
        .unwrap_or(0);
    if others > 1 {
        text.push_str(&format!(" and {} more change(s)", others - 1));
    }
    let start = view::number(base, "startDate");
    FeedItem {
        id: format!(
            "{start}/{}/{}",
            view::text(base, "requestId"),
            view::text(base, "rootId")
        ),
        when: view::format_millis(start),
        user: Some(view::text(base, "user"))
            .filter(|user| !user.is_empty())
            .unwrap_or_else(|| view::text(base, "createdBy")),
        text,
        href,
    }
}

#[derive(Template)]
#[template(path = "activity.html")]
struct ActivityPage {
    items: Vec<FeedItem>,
}

/// `GET /activity`: the latest 50 operations, then live.
async fn page(state: web::Data<CasesState>, request: HttpRequest, viewer: Viewer) -> UiResult {
    if !viewer.roles.contains(Role::Read) {
        return Err(crate::auth::insufficient_rights().into());
    }
    let (items, _) = flow::flow(&*state.store, None, 50).await?;
    let page = ActivityPage {
        items: items.iter().map(describe).collect(),
    };
    viewer.page(&request, "Activity", &page)
}

fn event(item: &FeedItem) -> web::Bytes {
    let data = json!({"when": item.when, "user": item.user, "text": item.text, "href": item.href});
    // Ids carry no newline (they are built from numbers and store ids); JSON text has none.
    web::Bytes::from(format!(
        "id: {}\nevent: activity\ndata: {data}\n\n",
        item.id.replace(['\n', '\r'], "")
    ))
}

/// The stored operations after the event `last_id` (`<startDate>/<requestId>/…`), oldest
/// first, at most 500.
async fn missed(state: &CasesState, last_id: &str) -> Vec<FeedItem> {
    let mut parts = last_id.splitn(3, '/');
    let Some(since) = parts.next().and_then(|start| start.parse::<i64>().ok()) else {
        return Vec::new();
    };
    let last_request = parts.next().unwrap_or_default().to_owned();
    let query = Query::eq("base", true)
        .and(Query::Not(Box::new(Query::eq("objectType", "user"))))
        .and(Query::Range {
            field: "startDate".into(),
            op: skep_store::query::RangeOp::Gte,
            value: json!(since),
        });
    let hits = state
        .store
        .search(
            audit::KIND,
            &query,
            Page {
                offset: 0,
                limit: Some(500),
            },
            &[Sort {
                field: "startDate".into(),
                descending: false,
            }],
        )
        .await;
    let Ok(hits) = hits else { return Vec::new() };
    hits.documents
        .iter()
        .filter(|document| view::text(&document.body, "requestId") != last_request)
        .map(|document| {
            let mut base = crate::domain::entity::render(audit::KIND, document);
            let summary = base.remove("summary").unwrap_or_else(|| json!({}));
            describe(&json!({"base": base, "summary": summary}))
        })
        .collect()
}

/// How often a comment line keeps idle connections open through proxies.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// `GET /activity/events`: server-sent events, replaying what a reconnecting browser missed.
async fn events(state: web::Data<CasesState>, request: HttpRequest, viewer: Viewer) -> UiResult {
    if !viewer.roles.contains(Role::Read) {
        return Err(crate::auth::insufficient_rights().into());
    }
    // Subscribe before reading the store, so nothing falls between the replay and the live
    // part (the page drops an id it already shows).
    let receiver = state.activity.subscribe();
    let last_id = request
        .headers()
        .get("Last-Event-ID")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let replay: Vec<web::Bytes> = if last_id.is_empty() {
        Vec::new()
    } else {
        missed(&state, &last_id).await.iter().map(event).collect()
    };
    let opening = web::Bytes::from_static(b"retry: 2000\n\n");
    let head = futures_util::stream::iter(
        std::iter::once(opening)
            .chain(replay)
            .map(Ok::<_, actix_web::Error>),
    );
    let live = futures_util::stream::unfold(receiver, |mut receiver| async move {
        let chunk = match tokio::time::timeout(KEEP_ALIVE, receiver.recv()).await {
            Ok(Ok(message)) => event(&describe(&message)),
            Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) => {
                web::Bytes::from_static(b": some events were dropped\n\n")
            }
            Ok(Err(tokio::sync::broadcast::error::RecvError::Closed)) => return None,
            Err(_) => web::Bytes::from_static(b": keep-alive\n\n"),
        };
        Some((Ok::<_, actix_web::Error>(chunk), receiver))
    });
    use futures_util::StreamExt;
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("Cache-Control", "no-cache"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(head.chain(live)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_case_update_reads_as_a_sentence_with_its_fields() {
        let message = json!({
            "base": {"operation": "Update", "objectType": "case", "objectId": "c1", "rootId": "c1",
                     "requestId": "ab:3", "startDate": 0, "user": "jdoe",
                     "details": {"description": "x"}, "object": {"caseId": 7, "title": "Phish"}},
            "summary": {"case": {"Update": 1}}
        });
        let item = describe(&message);
        assert_eq!(item.text, "updated case #7 Phish (description)");
        assert_eq!(item.href, "/cases/c1");
        assert_eq!(item.id, "0/ab:3/c1");
        assert_eq!(item.user, "jdoe");
    }
}
