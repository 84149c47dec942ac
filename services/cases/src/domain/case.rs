//! Cases (`case`): creation with defaults and templates, the sequential `caseId`, updates with
//! their closing side effects, soft and force deletion, statistics (`nstats`).

use serde_json::{Map, Value};
use skep_http::ApiError;
use skep_store::{Document, NewDocument, Page, Query, Store, StoreError};

use super::entity::{self, Attribute, AttributeType, Model};
use super::{log, observable, task};

/// Store kind (and TheHive model name) of cases.
pub const KIND: &str = "case";
/// Store kind of case templates (owned by the templates module; read here by name).
pub const TEMPLATE_KIND: &str = "caseTemplate";
/// Store kind of counters.
const SEQUENCE_KIND: &str = "sequence";
/// Id of the case number counter.
const CASE_SEQUENCE: &str = "case";

/// Case statuses.
pub const STATUSES: &[&str] = &["Open", "Resolved", "Deleted"];
/// Resolution statuses.
pub const RESOLUTION_STATUSES: &[&str] = &[
    "Indeterminate",
    "FalsePositive",
    "TruePositive",
    "Other",
    "Duplicated",
];
/// Impact statuses.
pub const IMPACT_STATUSES: &[&str] = &["NoImpact", "WithImpact", "NotApplicable"];

/// Attributes accepted on case create and update.
pub const MODEL: Model = Model {
    name: KIND,
    attributes: &[
        Attribute::required("title", AttributeType::Text),
        Attribute::required("description", AttributeType::Text),
        Attribute::optional("severity", AttributeType::Integer { min: 1, max: 4 }),
        Attribute::optional("owner", AttributeType::Text),
        Attribute::optional("startDate", AttributeType::Date),
        Attribute::optional("endDate", AttributeType::Date),
        Attribute::optional("tags", AttributeType::StringList),
        Attribute::optional("flag", AttributeType::Boolean),
        Attribute::optional("tlp", AttributeType::Integer { min: 0, max: 3 }),
        Attribute::optional("pap", AttributeType::Integer { min: 0, max: 3 }),
        Attribute::optional("status", AttributeType::Enumeration(STATUSES)),
        Attribute::optional(
            "resolutionStatus",
            AttributeType::Enumeration(RESOLUTION_STATUSES),
        ),
        Attribute::optional("impactStatus", AttributeType::Enumeration(IMPACT_STATUSES)),
        Attribute::optional("summary", AttributeType::Text),
        Attribute::optional("metrics", AttributeType::Object),
        Attribute::optional("customFields", AttributeType::Object),
    ],
};

/// Renders a case.
pub fn render(document: &Document) -> Map<String, Value> {
    entity::render(KIND, document)
}

/// Reads a case or answers `404 case <id> not found`.
pub async fn get(store: &dyn Store, id: &str) -> Result<Document, ApiError> {
    store
        .get(KIND, id)
        .await
        .map_err(|error| crate::error::or_not_found(KIND, id, error))
}

/// Finds a case template by name (status Ok); `None` when unknown.
pub async fn find_template(store: &dyn Store, name: &str) -> Result<Option<Document>, ApiError> {
    let query = Query::eq("name", name).and(Query::Not(Box::new(Query::eq("status", "Deleted"))));
    let hits = store
        .search(
            TEMPLATE_KIND,
            &query,
            Page {
                offset: 0,
                limit: Some(1),
            },
            &[],
        )
        .await?;
    Ok(hits.documents.into_iter().next())
}

/// Creates a case from a `POST /api/case` body: case attributes plus optional `template`
/// (a template name; unknown names are ignored) and `tasks`. Applies defaults (owner = actor,
/// severity/tlp/pap 2, status Open, startDate now), the template, assigns the next `caseId`
/// and creates the tasks (task failures are swallowed, as in TheHive).
pub async fn create(
    store: &dyn Store,
    actor: &str,
    mut input: Map<String, Value>,
) -> Result<Document, ApiError> {
    let template_name = input
        .remove("template")
        .and_then(|name| name.as_str().map(str::to_owned));
    let body_tasks = input.remove("tasks");
    let template = match template_name.as_deref() {
        Some(name) if !name.is_empty() => find_template(store, name).await?,
        _ => None,
    };
    if let Some(template) = &template {
        for key in ["description", "severity", "flag", "tlp"] {
            if input.get(key).is_none_or(Value::is_null)
                && let Some(value) = template.body.get(key).filter(|v| !v.is_null())
            {
                input.insert(key.to_owned(), value.clone());
            }
        }
    }
    let mut body = MODEL.check_create(input)?;
    if let Some(template) = &template {
        apply_template(&mut body, &template.body);
    }
    apply_defaults(&mut body, actor);
    body.insert("caseId".into(), Value::from(next_case_number(store).await?));
    entity::stamp_creation(&mut body, actor);
    let document = store
        .put(
            KIND,
            NewDocument {
                id: None,
                parent: None,
                body,
            },
        )
        .await?;

    let mut tasks = task_list(body_tasks.as_ref());
    if let Some(template) = &template {
        tasks.extend(task_list(template.body.get("tasks")));
    }
    for task_input in tasks {
        if let Err(error) = task::create_in_case(store, actor, &document, task_input).await {
            tracing::warn!(case_id = %document.id, error = %error, "task of a new case not created");
        }
    }
    Ok(document)
}

fn task_list(value: Option<&Value>) -> Vec<Map<String, Value>> {
    value
        .and_then(Value::as_array)
        .map(|tasks| {
            tasks
                .iter()
                .filter_map(|task| task.as_object().cloned())
                .collect()
        })
        .unwrap_or_default()
}

fn apply_template(body: &mut Map<String, Value>, template: &Map<String, Value>) {
    let prefix = template
        .get("titlePrefix")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let title = body
        .get("title")
        .and_then(Value::as_str)
        .unwrap_or_default();
    body.insert("title".into(), Value::from(format!("{prefix} {title}")));
    let mut tags: Vec<Value> = body
        .get("tags")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for tag in template
        .get("tags")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if !tags.contains(tag) {
            tags.push(tag.clone());
        }
    }
    body.insert("tags".into(), Value::Array(tags));
    for key in ["metrics", "customFields"] {
        let mut merged = template
            .get(key)
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        if let Some(own) = body.get(key).and_then(Value::as_object) {
            merged.extend(own.clone());
        }
        body.insert(key.to_owned(), Value::Object(merged));
    }
}

fn apply_defaults(body: &mut Map<String, Value>, actor: &str) {
    let owner = body
        .get("owner")
        .and_then(Value::as_str)
        .map(str::to_lowercase)
        .unwrap_or_else(|| actor.to_lowercase());
    body.insert("owner".into(), Value::from(owner));
    for (key, default) in [
        ("severity", Value::from(2)),
        ("tlp", Value::from(2)),
        ("pap", Value::from(2)),
        ("flag", Value::Bool(false)),
        ("status", Value::from("Open")),
        ("startDate", Value::from(entity::now_ms())),
        ("tags", Value::Array(Vec::new())),
        ("metrics", Value::Object(Map::new())),
        ("customFields", Value::Object(Map::new())),
    ] {
        body.entry(key).or_insert(default);
    }
    refresh_computed(body);
}

/// Takes the next case number from the counter document (optimistic update, retried on
/// conflict).
pub async fn next_case_number(store: &dyn Store) -> Result<i64, ApiError> {
    for _ in 0..10_000 {
        match store.get(SEQUENCE_KIND, CASE_SEQUENCE).await {
            Ok(document) => {
                let next = document
                    .body
                    .get("counter")
                    .and_then(Value::as_i64)
                    .unwrap_or(0)
                    + 1;
                let mut body = document.body.clone();
                body.insert("counter".into(), Value::from(next));
                match store
                    .update(SEQUENCE_KIND, CASE_SEQUENCE, Some(document.version), body)
                    .await
                {
                    Ok(_) => return Ok(next),
                    Err(StoreError::Conflict { .. }) => tokio::task::yield_now().await,
                    Err(error) => return Err(error.into()),
                }
            }
            Err(StoreError::NotFound { .. }) => {
                let mut body = Map::new();
                body.insert("counter".into(), Value::from(1));
                let first = NewDocument {
                    id: Some(CASE_SEQUENCE.into()),
                    parent: None,
                    body,
                };
                match store.put(SEQUENCE_KIND, first).await {
                    Ok(_) => return Ok(1),
                    Err(error) if error.is_duplicate() => {}
                    Err(error) => return Err(error.into()),
                }
            }
            Err(error) => return Err(error.into()),
        }
    }
    Err(ApiError::unavailable(
        &"case number counter under too much contention",
    ))
}

/// Keeps the hidden `computed` metrics of a case body in step with its dates (aggregatable as
/// `computed.handlingDurationIn{Seconds,Hours,Days}`).
pub fn refresh_computed(body: &mut Map<String, Value>) {
    let start = body.get("startDate").and_then(Value::as_i64);
    let end = body.get("endDate").and_then(Value::as_i64);
    let mut computed = body
        .get("computed")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    match (start, end) {
        (Some(start), Some(end)) => {
            let millis = (end - start).max(0);
            computed.insert("handlingDuration".into(), Value::from(millis));
            computed.insert(
                "handlingDurationInSeconds".into(),
                Value::from(millis / 1000),
            );
            computed.insert(
                "handlingDurationInMinutes".into(),
                Value::from(millis / 60_000),
            );
            computed.insert(
                "handlingDurationInHours".into(),
                Value::from(millis / 3_600_000),
            );
            computed.insert(
                "handlingDurationInDays".into(),
                Value::from(millis / 86_400_000),
            );
        }
        _ => computed.retain(|key, _| !key.starts_with("handlingDuration")),
    }
    body.insert("computed".into(), Value::Object(computed));
}

/// Updates a case (`PATCH /api/case/:id`): owner lowercased; `Resolved` sets `endDate`
/// (unless given), unflags the case and closes its tasks (Waiting → Cancel, InProgress →
/// Completed); `Open` removes `endDate`.
pub async fn update(
    store: &dyn Store,
    actor: &str,
    id: &str,
    input: Map<String, Value>,
) -> Result<Document, ApiError> {
    let mut changes = MODEL.check_update(input)?;
    if let Some(owner) = changes.get("owner").and_then(Value::as_str) {
        let owner = owner.to_lowercase();
        changes.insert("owner".into(), Value::from(owner));
    }
    let current = get(store, id).await?;
    let mut body = current.body.clone();
    let was_resolved = body.get("status").and_then(Value::as_str) == Some("Resolved");
    entity::apply_update(&mut body, &changes);
    let resolving = changes.get("status").and_then(Value::as_str) == Some("Resolved");
    match changes.get("status").and_then(Value::as_str) {
        Some("Resolved") => {
            if !changes.contains_key("endDate") || body.get("endDate").is_none_or(Value::is_null) {
                body.insert("endDate".into(), Value::from(entity::now_ms()));
            }
            body.insert("flag".into(), Value::Bool(false));
        }
        Some("Open") => {
            body.remove("endDate");
        }
        _ => {}
    }
    refresh_computed(&mut body);
    entity::stamp_update(&mut body, actor);
    let document = store.update(KIND, id, Some(current.version), body).await?;
    if resolving && !was_resolved {
        task::close_open_tasks(store, actor, id).await?;
    }
    Ok(document)
}

/// Soft delete: status `Deleted`.
pub async fn soft_delete(store: &dyn Store, actor: &str, id: &str) -> Result<(), ApiError> {
    let current = get(store, id).await?;
    let mut body = current.body.clone();
    body.insert("status".into(), Value::from("Deleted"));
    entity::stamp_update(&mut body, actor);
    store.update(KIND, id, Some(current.version), body).await?;
    Ok(())
}

/// Force delete: the case, its tasks and their logs, its observables (and their jobs).
pub async fn force_delete(store: &dyn Store, id: &str) -> Result<(), ApiError> {
    get(store, id).await?;
    let tasks = store
        .search(task::KIND, &entity::child_of(KIND, id), Page::ALL, &[])
        .await?;
    for task in &tasks.documents {
        store
            .delete_by_query(log::KIND, &entity::child_of(task::KIND, &task.id))
            .await?;
    }
    store
        .delete_by_query(task::KIND, &entity::child_of(KIND, id))
        .await?;
    let observables = store
        .search(
            observable::KIND,
            &entity::child_of(KIND, id),
            Page::ALL,
            &[],
        )
        .await?;
    for item in &observables.documents {
        store
            .delete_by_query(
                "case_artifact_job",
                &entity::child_of(observable::KIND, &item.id),
            )
            .await?;
    }
    store
        .delete_by_query(observable::KIND, &entity::child_of(KIND, id))
        .await?;
    store.delete(KIND, id, skep_store::DeleteMode::Hard).await?;
    Ok(())
}

/// The `stats` object of `nstats`: task counts by status (Cancel excluded), observable count
/// (status Ok), linked alerts, merge origins and target.
pub async fn stats(store: &dyn Store, document: &Document) -> Result<Value, ApiError> {
    let tasks = store
        .search(
            task::KIND,
            &entity::child_of(KIND, &document.id),
            Page::ALL,
            &[],
        )
        .await?;
    let mut task_stats = Map::new();
    let mut total = 0u64;
    for task in &tasks.documents {
        let status = task
            .body
            .get("status")
            .and_then(Value::as_str)
            .unwrap_or("Waiting");
        if status == "Cancel" {
            continue;
        }
        total += 1;
        let count = task_stats.get(status).and_then(Value::as_u64).unwrap_or(0) + 1;
        task_stats.insert(status.to_owned(), Value::from(count));
    }
    task_stats.insert("total".into(), Value::from(total));
    let artifact_query = entity::child_of(KIND, &document.id).and(Query::eq("status", "Ok"));
    let artifacts = store.count(observable::KIND, &artifact_query).await?;
    let mut stats = Map::new();
    stats.insert("tasks".into(), Value::Object(task_stats));
    stats.insert(
        "artifacts".into(),
        serde_json::json!({ "count": artifacts }),
    );
    let alerts = store
        .search(
            "alert",
            &Query::eq("case", document.id.clone()),
            Page::ALL,
            &[],
        )
        .await
        .map(|hits| hits.documents)
        .unwrap_or_default();
    let alerts: Vec<Value> = alerts
        .iter()
        .map(|alert| {
            serde_json::json!({
                "type": alert.body.get("type").cloned().unwrap_or(Value::Null),
                "source": alert.body.get("source").cloned().unwrap_or(Value::Null),
            })
        })
        .collect();
    stats.insert("alerts".into(), Value::from(alerts));
    if let Some(target) = document.body.get("mergeInto").and_then(Value::as_str) {
        stats.insert("mergeInto".into(), merge_reference(store, target).await);
    }
    if let Some(sources) = document.body.get("mergeFrom").and_then(Value::as_array) {
        let mut references = Vec::new();
        for source in sources.iter().filter_map(Value::as_str) {
            references.push(merge_reference(store, source).await);
        }
        stats.insert("mergeFrom".into(), Value::from(references));
    }
    Ok(Value::Object(stats))
}

async fn merge_reference(store: &dyn Store, id: &str) -> Value {
    match store.get(KIND, id).await {
        Ok(case) => serde_json::json!({
            "caseId": case.body.get("caseId").cloned().unwrap_or(Value::Null),
            "title": case.body.get("title").cloned().unwrap_or(Value::Null),
        }),
        Err(_) => Value::from("<deleted>"),
    }
}

/// Merges two cases into a new one (`POST /api/case/:a/_merge/:b`): titles and descriptions
/// concatenated, the highest severity/TLP/PAP, the earliest start, tags and fields united;
/// tasks with their logs and observables copied; both sources resolved as `Duplicated` with
/// `mergeInto` set.
pub async fn merge(
    store: &dyn Store,
    actor: &str,
    first_id: &str,
    second_id: &str,
) -> Result<Document, ApiError> {
    if first_id == second_id {
        return Err(ApiError::bad_request("a case cannot be merged with itself"));
    }
    let sources = [get(store, first_id).await?, get(store, second_id).await?];
    let mut body = merged_body(&sources, actor);
    body.insert("caseId".into(), Value::from(next_case_number(store).await?));
    entity::stamp_creation(&mut body, actor);
    let merged = store
        .put(
            KIND,
            NewDocument {
                id: None,
                parent: None,
                body,
            },
        )
        .await?;
    for source in &sources {
        copy_children(store, actor, source, &merged).await?;
    }
    for source in &sources {
        let mut close = Map::new();
        close.insert("status".into(), Value::from("Resolved"));
        close.insert("resolutionStatus".into(), Value::from("Duplicated"));
        let closed = update(store, actor, &source.id, close).await?;
        let mut body = closed.body.clone();
        body.insert("mergeInto".into(), Value::from(merged.id.clone()));
        store
            .update(KIND, &source.id, Some(closed.version), body)
            .await?;
    }
    Ok(merged)
}

fn merged_body(sources: &[Document; 2], actor: &str) -> Map<String, Value> {
    let text = |document: &Document, key: &str| {
        document
            .body
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let number = |key: &str, pick: fn(i64, i64) -> i64, default: i64| {
        sources
            .iter()
            .filter_map(|document| document.body.get(key).and_then(Value::as_i64))
            .reduce(pick)
            .unwrap_or(default)
    };
    let mut body = Map::new();
    let titles: Vec<String> = sources
        .iter()
        .map(|document| text(document, "title"))
        .collect();
    body.insert("title".into(), Value::from(titles.join(" / ")));
    let descriptions: Vec<String> = sources
        .iter()
        .map(|document| {
            format!(
                "#### {} ([#{}](#/case/{}/details))\n\n{}",
                text(document, "title"),
                document.body.get("caseId").cloned().unwrap_or(Value::Null),
                document.id,
                text(document, "description")
            )
        })
        .collect();
    body.insert(
        "description".into(),
        Value::from(descriptions.join("\n  \n")),
    );
    body.insert(
        "severity".into(),
        Value::from(number("severity", i64::max, 2)),
    );
    body.insert("tlp".into(), Value::from(number("tlp", i64::max, 2)));
    body.insert("pap".into(), Value::from(number("pap", i64::max, 2)));
    body.insert(
        "startDate".into(),
        Value::from(number("startDate", i64::min, entity::now_ms())),
    );
    let flag = sources
        .iter()
        .any(|d| d.body.get("flag").and_then(Value::as_bool) == Some(true));
    body.insert("flag".into(), Value::Bool(flag));
    let mut tags: Vec<Value> = Vec::new();
    for tag in sources
        .iter()
        .filter_map(|d| d.body.get("tags").and_then(Value::as_array))
        .flatten()
    {
        if !tags.contains(tag) {
            tags.push(tag.clone());
        }
    }
    body.insert("tags".into(), Value::Array(tags));
    for key in ["metrics", "customFields"] {
        let mut merged = Map::new();
        for source in sources
            .iter()
            .filter_map(|d| d.body.get(key).and_then(Value::as_object))
        {
            merged.extend(source.clone());
        }
        body.insert(key.to_owned(), Value::Object(merged));
    }
    let summaries: Vec<String> = sources
        .iter()
        .map(|d| text(d, "summary"))
        .filter(|s| !s.is_empty())
        .collect();
    if !summaries.is_empty() {
        body.insert("summary".into(), Value::from(summaries.join("\n\n")));
    }
    body.insert("owner".into(), Value::from(actor.to_lowercase()));
    body.insert("status".into(), Value::from("Open"));
    let from: Vec<Value> = sources.iter().map(|d| Value::from(d.id.clone())).collect();
    body.insert("mergeFrom".into(), Value::Array(from));
    refresh_computed(&mut body);
    body
}

async fn copy_children(
    store: &dyn Store,
    actor: &str,
    source: &Document,
    target: &Document,
) -> Result<(), ApiError> {
    let tasks = store
        .search(
            task::KIND,
            &entity::child_of(KIND, &source.id),
            Page::ALL,
            &[],
        )
        .await?;
    for original in tasks.documents {
        let copy = NewDocument {
            id: None,
            parent: Some(target.id.clone()),
            body: original.body.clone(),
        };
        let copied = store.put(task::KIND, copy).await?;
        let logs = store
            .search(
                log::KIND,
                &entity::child_of(task::KIND, &original.id),
                Page::ALL,
                &[],
            )
            .await?;
        for log_document in logs.documents {
            let mut body = log_document.body.clone();
            body.insert(entity::ROUTING_KEY.into(), Value::from(target.id.clone()));
            store
                .put(
                    log::KIND,
                    NewDocument {
                        id: None,
                        parent: Some(copied.id.clone()),
                        body,
                    },
                )
                .await?;
        }
    }
    let live = entity::child_of(KIND, &source.id).and(Query::eq("status", "Ok"));
    let observables = store
        .search(observable::KIND, &live, Page::ALL, &[])
        .await?;
    let drafts: Vec<Map<String, Value>> = observables
        .documents
        .iter()
        .map(|item| {
            let mut draft = Map::new();
            for key in [
                "data",
                "dataType",
                "message",
                "startDate",
                "attachment",
                "tlp",
                "tags",
                "ioc",
                "sighted",
            ] {
                if let Some(value) = item.body.get(key) {
                    draft.insert(key.to_owned(), value.clone());
                }
            }
            draft
        })
        .collect();
    for result in observable::create_many(
        store,
        actor,
        &target.id,
        drafts,
        observable::OnDuplicate::MergeTags,
    )
    .await
    {
        if let Err(error) = result {
            tracing::warn!(case_id = %target.id, error = %error, "observable not copied into the merged case");
        }
    }
    Ok(())
}
