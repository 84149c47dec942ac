//! The case page and what hangs off it: details (description rendered from Markdown and
//! editable in place, tags, severity/TLP/PAP, assignee, custom fields, close with resolution,
//! reopen, merge), the Tasks tab and a task's logs (Markdown, attachments, status), the
//! Observables tab (several values at once, files, IOC/sighted flags) and an observable's page
//! with the similar observables of other cases.

use actix_web::{HttpRequest, web};
use askama::Template;
use serde_json::{Map, Value, json};
use skep_store::{Document, Page, Query, Sort, Store};
use skep_web::{Html, markdown};

use super::form::{self, Form};
use super::view::{self, Choice};
use super::{UiResult, Viewer, verify_csrf};
use crate::domain::observable::{self, OnDuplicate};
use crate::domain::{case, custom_field, entity, log, migration, similarity, task};
use crate::state::CasesState;

/// Registers the routes of this module.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/cases/{id}", web::get().to(details))
        .route("/cases/{id}/update", web::post().to(update))
        .route("/cases/{id}/close", web::post().to(close))
        .route("/cases/{id}/reopen", web::post().to(reopen))
        .route("/cases/{id}/merge", web::post().to(merge))
        .route("/cases/{id}/tasks", web::get().to(tasks))
        .route("/cases/{id}/tasks", web::post().to(create_task))
        .route("/cases/{id}/observables", web::get().to(observables))
        .route(
            "/cases/{id}/observables",
            web::post().to(create_observables),
        )
        .route("/tasks/{id}", web::get().to(task_page))
        .route("/tasks/{id}/status", web::post().to(task_status))
        .route("/tasks/{id}/logs", web::post().to(create_log))
        .route("/observables/{id}", web::get().to(observable_page))
        .route("/observables/{id}/flags", web::post().to(observable_flags));
}

/// What every tab of a case shows at the top.
#[derive(Debug)]
struct CaseHeader {
    id: String,
    number: i64,
    title: String,
    status: String,
    resolution: String,
    severity: i64,
    severity_name: &'static str,
    tlp: &'static str,
    pap: &'static str,
    owner: String,
    tags: Html,
    started: String,
    tasks: u64,
    observables: u64,
    tab: &'static str,
}

async fn header(
    store: &dyn Store,
    document: &Document,
    tab: &'static str,
) -> Result<CaseHeader, skep_http::ApiError> {
    let body = &document.body;
    let severity = view::number(body, "severity");
    let tasks = store
        .count(
            task::KIND,
            &entity::child_of(case::KIND, &document.id)
                .and(Query::Not(Box::new(Query::eq("status", "Cancel")))),
        )
        .await?;
    let observables = store
        .count(
            observable::KIND,
            &entity::child_of(case::KIND, &document.id).and(Query::eq("status", "Ok")),
        )
        .await?;
    Ok(CaseHeader {
        id: document.id.clone(),
        number: view::number(body, "caseId"),
        title: view::text(body, "title"),
        status: view::text(body, "status"),
        resolution: view::text(body, "resolutionStatus"),
        severity,
        severity_name: view::severity(severity),
        tlp: view::level(view::number(body, "tlp")),
        pap: view::level(view::number(body, "pap")),
        owner: view::text(body, "owner"),
        tags: view::tag_links(&view::strings(body, "tags"), "/cases"),
        started: view::date(body, "startDate"),
        tasks,
        observables,
        tab,
    })
}

/// A custom field of the case form.
#[derive(Debug)]
struct FieldRow {
    reference: String,
    name: String,
    kind: String,
    value: String,
    options: Vec<Choice>,
}

#[derive(Template)]
#[template(path = "case.html")]
struct DetailsPage<'a> {
    viewer: &'a Viewer,
    case: CaseHeader,
    description: Html,
    description_source: String,
    summary: String,
    tags_text: String,
    severities: Vec<Choice>,
    tlps: Vec<Choice>,
    paps: Vec<Choice>,
    users: Vec<Choice>,
    fields: Vec<FieldRow>,
    merged_from: Vec<(String, String)>,
    merged_into: Option<String>,
}

async fn custom_fields(
    store: &dyn Store,
    body: &Map<String, Value>,
) -> Result<Vec<FieldRow>, skep_http::ApiError> {
    let values = body
        .get("customFields")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    Ok(custom_field::definitions(store)
        .await?
        .iter()
        .map(|definition| {
            let reference = view::text(definition, "reference");
            let kind = Some(view::text(definition, "type"))
                .filter(|kind| !kind.is_empty())
                .unwrap_or_else(|| "string".into());
            let value = values
                .get(&reference)
                .and_then(|field| field.get(&kind))
                .map(|value| match value {
                    Value::String(text) => text.clone(),
                    Value::Null => String::new(),
                    other => other.to_string(),
                })
                .unwrap_or_default();
            let options: Vec<String> = definition
                .get("options")
                .and_then(Value::as_array)
                .map(|items| {
                    items
                        .iter()
                        .map(|item| match item {
                            Value::String(text) => text.clone(),
                            other => other.to_string(),
                        })
                        .collect()
                })
                .unwrap_or_default();
            FieldRow {
                name: Some(view::text(definition, "name"))
                    .filter(|name| !name.is_empty())
                    .unwrap_or_else(|| reference.clone()),
                options: if options.is_empty() {
                    Vec::new()
                } else {
                    let mut choices = vec![Choice {
                        value: String::new(),
                        label: "—".into(),
                        selected: value.is_empty(),
                    }];
                    choices.extend(Choice::names(&options, &value));
                    choices
                },
                reference,
                kind,
                value,
            }
        })
        .collect())
}

async fn merge_label(store: &dyn Store, id: &str) -> (String, String) {
    match case::get(store, id).await {
        Ok(document) => (
            id.to_owned(),
            format!(
                "#{} {}",
                view::number(&document.body, "caseId"),
                view::text(&document.body, "title")
            ),
        ),
        Err(_) => (id.to_owned(), "(deleted case)".to_owned()),
    }
}

/// `GET /cases/{id}`: the Details tab.
async fn details(
    state: web::Data<CasesState>,
    request: HttpRequest,
    viewer: Viewer,
    path: web::Path<String>,
) -> UiResult {
    let store = &*state.store;
    let document = case::get(store, &path).await?;
    let body = &document.body;
    let mut merged_from = Vec::new();
    for id in view::strings(body, "mergeFrom") {
        merged_from.push(merge_label(store, &id).await);
    }
    let merged_into = match body.get("mergeInto").and_then(Value::as_str) {
        Some(id) => Some(merge_label(store, id).await.1),
        None => None,
    };
    let page = DetailsPage {
        viewer: &viewer,
        description: markdown::render(&view::text(body, "description")),
        description_source: view::text(body, "description"),
        summary: view::text(body, "summary"),
        tags_text: view::strings(body, "tags").join(", "),
        severities: Choice::list(&view::SEVERITIES, view::number(body, "severity")),
        tlps: Choice::list(&view::LEVELS, view::number(body, "tlp")),
        paps: Choice::list(&view::LEVELS, view::number(body, "pap")),
        users: super::cases::users(store, &view::text(body, "owner")).await?,
        fields: custom_fields(store, body).await?,
        merged_from,
        merged_into,
        case: header(store, &document, "details").await?,
    };
    let title = format!("#{} {}", page.case.number, page.case.title);
    viewer.page(&request, &title, &page)
}

/// The changes of the case form's `section`: `description`, `properties` (title, severity,
/// TLP, PAP, assignee), `tags` or `fields` (custom fields, typed by their definitions).
async fn case_changes(
    store: &dyn Store,
    form: &Form,
) -> Result<Map<String, Value>, skep_http::ApiError> {
    let mut changes = Map::new();
    match form.text("section").as_str() {
        "description" => {
            changes.insert("description".into(), json!(form.raw("description")));
        }
        "properties" => {
            changes.insert("title".into(), json!(form.text("title")));
            for key in ["severity", "tlp", "pap", "owner"] {
                if let Some(value) = form.optional(key) {
                    changes.insert(key.into(), json!(value));
                }
            }
        }
        "tags" => {
            changes.insert("tags".into(), json!(form::list(form.raw("tags"))));
        }
        "fields" => {
            for definition in custom_field::definitions(store).await? {
                let reference = view::text(&definition, "reference");
                let kind = Some(view::text(&definition, "type"))
                    .filter(|kind| !kind.is_empty())
                    .unwrap_or_else(|| "string".into());
                let text = form.text(&format!("cf.{reference}"));
                let value = if text.is_empty() {
                    Value::Null
                } else {
                    match kind.as_str() {
                        "number" | "integer" => text
                            .parse::<i64>()
                            .map(Value::from)
                            .or_else(|_| text.parse::<f64>().map(Value::from))
                            .map_err(|_| {
                                skep_http::ApiError::bad_request(format!(
                                    "{reference} must be a number"
                                ))
                            })?,
                        "boolean" => Value::Bool(text == "true"),
                        "date" => entity::parse_date(&json!(text))
                            .map(Value::from)
                            .ok_or_else(|| {
                                skep_http::ApiError::bad_request(format!(
                                    "{reference} must be a date (epoch milliseconds)"
                                ))
                            })?,
                        _ => Value::from(text),
                    }
                };
                changes.insert(format!("customFields.{reference}.{kind}"), value);
            }
        }
        _ => return Err(skep_http::ApiError::bad_request("Unknown form section.")),
    }
    Ok(changes)
}

/// `POST /cases/{id}/update`.
async fn update(
    state: web::Data<CasesState>,
    request: HttpRequest,
    viewer: Viewer,
    path: web::Path<String>,
    form: Form,
) -> UiResult {
    verify_csrf(&state, &request, &form)?;
    viewer.require_write()?;
    let back = format!("/cases/{}", path.as_str());
    let result = match case_changes(&*state.store, &form).await {
        Ok(changes) => case::update(&*state.store, &viewer.login, &path, changes).await,
        Err(error) => Err(error),
    };
    super::outcome(&back, result, "Case updated.")
}

/// `POST /cases/{id}/close`: resolution, impact and summary.
async fn close(
    state: web::Data<CasesState>,
    request: HttpRequest,
    viewer: Viewer,
    path: web::Path<String>,
    form: Form,
) -> UiResult {
    verify_csrf(&state, &request, &form)?;
    viewer.require_write()?;
    let mut changes = Map::new();
    changes.insert("status".into(), json!("Resolved"));
    changes.insert(
        "resolutionStatus".into(),
        json!(
            form.optional("resolutionStatus")
                .unwrap_or_else(|| "Other".into())
        ),
    );
    if let Some(impact) = form.optional("impactStatus") {
        changes.insert("impactStatus".into(), json!(impact));
    }
    changes.insert("summary".into(), json!(form.raw("summary")));
    let result = case::update(&*state.store, &viewer.login, &path, changes).await;
    super::outcome(&format!("/cases/{}", path.as_str()), result, "Case closed.")
}

/// `POST /cases/{id}/reopen`.
async fn reopen(
    state: web::Data<CasesState>,
    request: HttpRequest,
    viewer: Viewer,
    path: web::Path<String>,
    form: Form,
) -> UiResult {
    verify_csrf(&state, &request, &form)?;
    viewer.require_write()?;
    let changes = Map::from_iter([("status".to_owned(), json!("Open"))]);
    let result = case::update(&*state.store, &viewer.login, &path, changes).await;
    super::outcome(
        &format!("/cases/{}", path.as_str()),
        result,
        "Case reopened.",
    )
}

/// The case a merge form names: `#12` or `12` (its number), else a case id.
pub(super) async fn find_case(
    store: &dyn Store,
    reference: &str,
) -> Result<Document, skep_http::ApiError> {
    let reference = reference.trim();
    if let Ok(number) = reference.trim_start_matches('#').parse::<i64>() {
        let hits = store
            .search(
                case::KIND,
                &Query::eq("caseId", number),
                Page {
                    offset: 0,
                    limit: Some(1),
                },
                &[],
            )
            .await?;
        if let Some(found) = hits.documents.into_iter().next() {
            return Ok(found);
        }
    }
    case::get(store, reference).await
}

/// `POST /cases/{id}/merge` (`other` = a case number or id): both merged into a new case.
async fn merge(
    state: web::Data<CasesState>,
    request: HttpRequest,
    viewer: Viewer,
    path: web::Path<String>,
    form: Form,
) -> UiResult {
    verify_csrf(&state, &request, &form)?;
    viewer.require_write()?;
    let back = format!("/cases/{}", path.as_str());
    let other = match find_case(&*state.store, &form.text("other")).await {
        Ok(other) => other,
        Err(error) => return super::failed(&back, &error),
    };
    match case::merge(&*state.store, &viewer.login, &path, &other.id).await {
        Ok(merged) => super::done(&format!("/cases/{}", merged.id), "Cases merged."),
        Err(error) => super::failed(&back, &error),
    }
}

/// A task row.
#[derive(Debug)]
struct TaskRow {
    id: String,
    title: String,
    group: String,
    status: String,
    owner: String,
    started: String,
}

impl TaskRow {
    fn of(document: &Document) -> TaskRow {
        let body = &document.body;
        TaskRow {
            id: document.id.clone(),
            title: view::text(body, "title"),
            group: view::text(body, "group"),
            status: view::text(body, "status"),
            owner: view::text(body, "owner"),
            started: view::date(body, "startDate"),
        }
    }
}

#[derive(Template)]
#[template(path = "case_tasks.html")]
struct TasksPage<'a> {
    viewer: &'a Viewer,
    case: CaseHeader,
    tasks: Vec<TaskRow>,
}

/// `GET /cases/{id}/tasks`.
async fn tasks(
    state: web::Data<CasesState>,
    request: HttpRequest,
    viewer: Viewer,
    path: web::Path<String>,
) -> UiResult {
    let store = &*state.store;
    let document = case::get(store, &path).await?;
    let hits = store
        .search(
            task::KIND,
            &entity::child_of(case::KIND, &document.id),
            Page {
                offset: 0,
                limit: Some(500),
            },
            &[
                Sort {
                    field: "order".into(),
                    descending: false,
                },
                Sort {
                    field: "createdAt".into(),
                    descending: false,
                },
            ],
        )
        .await?;
    let page = TasksPage {
        viewer: &viewer,
        tasks: hits.documents.iter().map(TaskRow::of).collect(),
        case: header(store, &document, "tasks").await?,
    };
    let title = format!("#{} {}", page.case.number, page.case.title);
    viewer.page(&request, &title, &page)
}

/// `POST /cases/{id}/tasks`: a new task (title, group, description).
async fn create_task(
    state: web::Data<CasesState>,
    request: HttpRequest,
    viewer: Viewer,
    path: web::Path<String>,
    form: Form,
) -> UiResult {
    verify_csrf(&state, &request, &form)?;
    viewer.require_write()?;
    let mut input = Map::new();
    input.insert("title".into(), json!(form.text("title")));
    if let Some(group) = form.optional("group") {
        input.insert("group".into(), json!(group));
    }
    if let Some(description) = form.optional("description") {
        input.insert("description".into(), json!(description));
    }
    let result = task::create(&*state.store, &viewer.login, &path, input).await;
    super::outcome(
        &format!("/cases/{}/tasks", path.as_str()),
        result,
        "Task added.",
    )
}

/// A log of a task.
#[derive(Debug)]
struct LogRow {
    message: Html,
    owner: String,
    date: String,
    attachment: Option<(String, String)>,
}

#[derive(Template)]
#[template(path = "task.html")]
struct TaskPage<'a> {
    viewer: &'a Viewer,
    case_id: String,
    case_title: String,
    task: TaskRow,
    description: Html,
    statuses: Vec<Choice>,
    logs: Vec<LogRow>,
}

/// `GET /tasks/{id}`: the task, its logs and the log form.
async fn task_page(
    state: web::Data<CasesState>,
    request: HttpRequest,
    viewer: Viewer,
    path: web::Path<String>,
) -> UiResult {
    let store = &*state.store;
    let document = task::get(store, &path).await?;
    let case_id = document.parent.clone().unwrap_or_default();
    let parent = case::get(store, &case_id).await?;
    let hits = store
        .search(
            log::KIND,
            &entity::child_of(task::KIND, &document.id).and(Query::eq("status", "Ok")),
            Page {
                offset: 0,
                limit: Some(500),
            },
            &[Sort {
                field: "startDate".into(),
                descending: true,
            }],
        )
        .await?;
    let logs = hits
        .documents
        .iter()
        .map(|log| LogRow {
            message: markdown::render(&view::text(&log.body, "message")),
            owner: view::text(&log.body, "owner"),
            date: view::date(&log.body, "startDate"),
            attachment: log.body.get("attachment").map(|attachment| {
                (
                    format!(
                        "/api/datastore/{}",
                        urlencoding::encode(&view::text(
                            attachment.as_object().unwrap_or(&Map::new()),
                            "id"
                        ))
                    ),
                    attachment
                        .get("name")
                        .and_then(Value::as_str)
                        .unwrap_or("attachment")
                        .to_owned(),
                )
            }),
        })
        .collect();
    let row = TaskRow::of(&document);
    let page = TaskPage {
        viewer: &viewer,
        case_title: format!(
            "#{} {}",
            view::number(&parent.body, "caseId"),
            view::text(&parent.body, "title")
        ),
        case_id,
        description: markdown::render(&view::text(&document.body, "description")),
        statuses: Choice::names(task::STATUSES, &row.status),
        task: row,
        logs,
    };
    let title = format!("Task: {}", page.task.title);
    viewer.page(&request, &title, &page)
}

/// `POST /tasks/{id}/status`.
async fn task_status(
    state: web::Data<CasesState>,
    request: HttpRequest,
    viewer: Viewer,
    path: web::Path<String>,
    form: Form,
) -> UiResult {
    verify_csrf(&state, &request, &form)?;
    viewer.require_write()?;
    let changes = Map::from_iter([("status".to_owned(), json!(form.text("status")))]);
    let result = task::update(&*state.store, &viewer.login, &path, changes).await;
    super::outcome(
        &format!("/tasks/{}", path.as_str()),
        result,
        "Task status changed.",
    )
}

/// `POST /tasks/{id}/logs` (multipart): a Markdown log with an optional attachment.
async fn create_log(
    state: web::Data<CasesState>,
    request: HttpRequest,
    viewer: Viewer,
    path: web::Path<String>,
    mut form: Form,
) -> UiResult {
    verify_csrf(&state, &request, &form)?;
    viewer.require_write()?;
    let file = form.take_files("attachment").into_iter().next();
    let input = Map::from_iter([("message".to_owned(), json!(form.raw("message")))]);
    let result = log::create(&*state.store, &viewer.login, &path, input, file).await;
    super::outcome(&format!("/tasks/{}", path.as_str()), result, "Log added.")
}

/// An observable row.
#[derive(Debug)]
struct ObservableRow {
    id: String,
    data_type: String,
    data: String,
    tags: Html,
    tlp: &'static str,
    ioc: bool,
    sighted: bool,
    message: String,
    added: String,
}

impl ObservableRow {
    fn of(document: &Document) -> ObservableRow {
        let body = &document.body;
        let data = match body.get("attachment") {
            Some(attachment) => attachment
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("attachment")
                .to_owned(),
            None => view::text(body, "data"),
        };
        ObservableRow {
            id: document.id.clone(),
            data_type: view::text(body, "dataType"),
            data,
            tags: view::tag_links(&view::strings(body, "tags"), "/cases"),
            tlp: view::level(view::number(body, "tlp")),
            ioc: view::flag(body, "ioc"),
            sighted: view::flag(body, "sighted"),
            message: view::text(body, "message"),
            added: view::date(body, "startDate"),
        }
    }
}

#[derive(Template)]
#[template(path = "case_observables.html")]
struct ObservablesPage<'a> {
    viewer: &'a Viewer,
    case: CaseHeader,
    observables: Vec<ObservableRow>,
    data_types: Vec<Choice>,
    levels: Vec<Choice>,
}

/// `GET /cases/{id}/observables`.
async fn observables(
    state: web::Data<CasesState>,
    request: HttpRequest,
    viewer: Viewer,
    path: web::Path<String>,
) -> UiResult {
    let store = &*state.store;
    let document = case::get(store, &path).await?;
    let hits = store
        .search(
            observable::KIND,
            &entity::child_of(case::KIND, &document.id).and(Query::eq("status", "Ok")),
            Page {
                offset: 0,
                limit: Some(1000),
            },
            &[Sort {
                field: "startDate".into(),
                descending: true,
            }],
        )
        .await?;
    let page = ObservablesPage {
        viewer: &viewer,
        observables: hits.documents.iter().map(ObservableRow::of).collect(),
        data_types: Choice::names(&migration::observable_data_types(&state).await?, "ip"),
        levels: Choice::list(&view::LEVELS, 2),
        case: header(store, &document, "observables").await?,
    };
    let title = format!("#{} {}", page.case.number, page.case.title);
    viewer.page(&request, &title, &page)
}

/// `POST /cases/{id}/observables` (multipart): one observable per line of `data` (or per
/// uploaded file), each with the form's type, tags, TLP, IOC and sighted flags and message.
async fn create_observables(
    state: web::Data<CasesState>,
    request: HttpRequest,
    viewer: Viewer,
    path: web::Path<String>,
    mut form: Form,
) -> UiResult {
    verify_csrf(&state, &request, &form)?;
    viewer.require_write()?;
    let back = format!("/cases/{}/observables", path.as_str());
    let parent = case::get(&*state.store, &path).await?;
    let files = form.take_files("attachment");
    let mut input = Map::new();
    input.insert("dataType".into(), json!(form.text("dataType")));
    if files.is_empty() {
        let values: Vec<Value> = form
            .raw("data")
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .map(Value::from)
            .collect();
        input.insert("data".into(), Value::Array(values));
    }
    input.insert("tags".into(), json!(form::list(form.raw("tags"))));
    if let Some(message) = form.optional("message") {
        input.insert("message".into(), json!(message));
    }
    if let Some(tlp) = form.optional("tlp") {
        input.insert("tlp".into(), json!(tlp));
    }
    input.insert("ioc".into(), json!(form.checked("ioc")));
    input.insert("sighted".into(), json!(form.checked("sighted")));
    if form.checked("isZip") {
        input.insert("isZip".into(), json!(true));
        input.insert("zipPassword".into(), json!(form.text("zipPassword")));
    }
    let data_types = migration::observable_data_types(&state).await?;
    let password = &state.config.datastore.zip_password;
    let prepared =
        match observable::prepare(&*state.store, &data_types, password, input, files).await {
            Ok(prepared) => prepared,
            Err(error) => return super::failed(&back, &error),
        };
    let results = observable::create_many(
        &*state.store,
        &viewer.login,
        &parent.id,
        prepared.drafts,
        OnDuplicate::Reject,
    )
    .await;
    let added = results.iter().filter(|result| result.is_ok()).count();
    let refused: Vec<String> = results
        .iter()
        .filter_map(|result| result.as_ref().err().map(super::message))
        .collect();
    if refused.is_empty() {
        super::done(&back, format!("{added} observable(s) added."))
    } else {
        super::failed(
            &back,
            &skep_http::ApiError::bad_request(format!(
                "{added} observable(s) added, {} refused: {}",
                refused.len(),
                refused.join("; ")
            )),
        )
    }
}

/// A similar observable in another case.
#[derive(Debug)]
struct SimilarRow {
    case_id: String,
    case_title: String,
    ioc: bool,
    tags: Html,
}

#[derive(Template)]
#[template(path = "observable.html")]
struct ObservablePage<'a> {
    viewer: &'a Viewer,
    case_id: String,
    case_title: String,
    item: ObservableRow,
    download: Option<String>,
    similar: Vec<SimilarRow>,
}

/// `GET /observables/{id}`: the observable, its flags and the similar ones of other cases.
async fn observable_page(
    state: web::Data<CasesState>,
    request: HttpRequest,
    viewer: Viewer,
    path: web::Path<String>,
) -> UiResult {
    let store = &*state.store;
    let document = observable::get(store, &path).await?;
    let case_id = document.parent.clone().unwrap_or_default();
    let parent = case::get(store, &case_id).await?;
    let similar = similarity::similar_in_other_cases(store, &document)
        .await?
        .iter()
        .take(100)
        .map(|(other, other_case)| SimilarRow {
            case_id: other_case.id.clone(),
            case_title: format!(
                "#{} {}",
                view::number(&other_case.body, "caseId"),
                view::text(&other_case.body, "title")
            ),
            ioc: view::flag(&other.body, "ioc"),
            tags: view::tag_links(&view::strings(&other.body, "tags"), "/cases"),
        })
        .collect();
    let download = document
        .body
        .get("attachment")
        .and_then(|attachment| attachment.get("id"))
        .and_then(Value::as_str)
        .map(|hash| format!("/api/datastorezip/{}", urlencoding::encode(hash)));
    let page = ObservablePage {
        viewer: &viewer,
        case_title: format!(
            "#{} {}",
            view::number(&parent.body, "caseId"),
            view::text(&parent.body, "title")
        ),
        case_id,
        item: ObservableRow::of(&document),
        download,
        similar,
    };
    let title = format!("Observable: {}", page.item.data);
    viewer.page(&request, &title, &page)
}

/// `POST /observables/{id}/flags` (`ioc`, `sighted` checkboxes; `back`).
async fn observable_flags(
    state: web::Data<CasesState>,
    request: HttpRequest,
    viewer: Viewer,
    path: web::Path<String>,
    form: Form,
) -> UiResult {
    verify_csrf(&state, &request, &form)?;
    viewer.require_write()?;
    let back = super::local_path(
        &form.text("back"),
        &format!("/observables/{}", path.as_str()),
    );
    let mut changes = Map::new();
    changes.insert("ioc".into(), json!(form.checked("ioc")));
    changes.insert("sighted".into(), json!(form.checked("sighted")));
    if form.checked("tags_present") {
        changes.insert("tags".into(), json!(form::list(form.raw("tags"))));
    }
    let result = observable::update(&*state.store, &viewer.login, &path, changes).await;
    super::outcome(&back, result, "Observable updated.")
}
