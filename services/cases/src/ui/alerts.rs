//! Alerts: the list with filters (status, severity, tag, source, words), the preview of one
//! (description, artifacts with how often each was seen, similar cases), and its actions:
//! import as a case (with a template), merge into a case, mark read or unread, ignore.

use actix_web::{HttpRequest, web};
use askama::Template;
use serde::Deserialize;
use serde_json::{Map, Value};
use skep_store::{Page, Query, Sort};
use skep_web::pagination::{self, Paging};
use skep_web::{Html, markdown};

use super::form::Form;
use super::view::{self, Choice};
use super::{UiResult, Viewer, verify_csrf};
use crate::domain::{alert, alert_import};
use crate::state::CasesState;

/// Registers the routes of this module.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/alerts", web::get().to(list))
        .route("/alerts/{id}", web::get().to(preview))
        .route("/alerts/{id}/import", web::post().to(import))
        .route("/alerts/{id}/merge", web::post().to(merge))
        .route("/alerts/{id}/read", web::post().to(read))
        .route("/alerts/{id}/unread", web::post().to(unread))
        .route("/alerts/{id}/ignore", web::post().to(ignore));
}

/// The list's query string.
#[derive(Debug, Default, Deserialize)]
struct AlertFilters {
    status: Option<String>,
    severity: Option<String>,
    tag: Option<String>,
    source: Option<String>,
    q: Option<String>,
    sort: Option<String>,
    page: Option<u64>,
    per_page: Option<u64>,
}

fn filled(value: &Option<String>) -> &str {
    value.as_deref().map(str::trim).unwrap_or("")
}

impl AlertFilters {
    fn query(&self) -> Query {
        let mut parts = Vec::new();
        match filled(&self.status) {
            "" | "unread" => parts.push(Query::In {
                field: "status".into(),
                values: vec!["New".into(), "Updated".into()],
            }),
            "any" => {}
            status => parts.push(Query::eq("status", status.to_owned())),
        }
        if let Ok(severity) = filled(&self.severity).parse::<i64>() {
            parts.push(Query::eq("severity", severity));
        }
        if !filled(&self.tag).is_empty() {
            parts.push(Query::eq("tags", filled(&self.tag).to_owned()));
        }
        if !filled(&self.source).is_empty() {
            parts.push(Query::eq("source", filled(&self.source).to_owned()));
        }
        if !filled(&self.q).is_empty() {
            parts.push(Query::FullText(filled(&self.q).to_owned()));
        }
        Query::And(parts)
    }

    fn params(&self) -> Vec<(&'static str, &str)> {
        vec![
            ("status", filled(&self.status)),
            ("severity", filled(&self.severity)),
            ("tag", filled(&self.tag)),
            ("source", filled(&self.source)),
            ("q", filled(&self.q)),
            ("sort", filled(&self.sort)),
        ]
    }
}

#[derive(Debug)]
struct AlertRow {
    id: String,
    title: String,
    source: String,
    kind: String,
    source_ref: String,
    severity: i64,
    severity_name: &'static str,
    status: String,
    tags: Html,
    date: String,
    artifacts: usize,
}

impl AlertRow {
    fn of(document: &skep_store::Document) -> AlertRow {
        let body = &document.body;
        let severity = view::number(body, "severity");
        AlertRow {
            id: document.id.clone(),
            title: view::text(body, "title"),
            source: view::text(body, "source"),
            kind: view::text(body, "type"),
            source_ref: view::text(body, "sourceRef"),
            severity,
            severity_name: view::severity(severity),
            status: view::text(body, "status"),
            tags: view::tag_links(&view::strings(body, "tags"), "/alerts"),
            date: view::date(body, "date"),
            artifacts: alert::artifact_list(body).len(),
        }
    }
}

#[derive(Template)]
#[template(path = "alerts.html")]
struct ListPage<'a> {
    viewer: &'a Viewer,
    rows: Vec<AlertRow>,
    total: u64,
    pager: Html,
    statuses: Vec<Choice>,
    severities: Vec<Choice>,
    tag: String,
    source: String,
    q: String,
}

/// `GET /alerts`: unread alerts first (New and Updated), newest first.
async fn list(
    state: web::Data<CasesState>,
    request: HttpRequest,
    viewer: Viewer,
    filters: web::Query<AlertFilters>,
) -> UiResult {
    let paging = Paging::new(filters.page, filters.per_page);
    let (field, ascending) = pagination::sort(
        filters.sort.as_deref(),
        &["date", "severity", "title", "source"],
        ("date", false),
    );
    let hits = state
        .store
        .search(
            alert::KIND,
            &filters.query(),
            Page {
                offset: paging.offset(),
                limit: Some(paging.per_page),
            },
            &[Sort {
                field: field.into(),
                descending: !ascending,
            }],
        )
        .await?;
    let status = match filled(&filters.status) {
        "" => "unread",
        other => other,
    };
    let mut severities = vec![Choice {
        value: String::new(),
        label: "Any severity".into(),
        selected: filled(&filters.severity).is_empty(),
    }];
    severities.extend(Choice::list(
        &view::SEVERITIES,
        filled(&filters.severity).parse().unwrap_or(-1),
    ));
    let page = ListPage {
        viewer: &viewer,
        rows: hits.documents.iter().map(AlertRow::of).collect(),
        total: hits.total,
        pager: paging.nav("/alerts", &filters.params(), hits.total),
        statuses: Choice::names(
            &["unread", "New", "Updated", "Ignored", "Imported", "any"],
            status,
        ),
        severities,
        tag: filled(&filters.tag).to_owned(),
        source: filled(&filters.source).to_owned(),
        q: filled(&filters.q).to_owned(),
    };
    viewer.page(&request, "Alerts", &page)
}

#[derive(Debug)]
struct ArtifactRow {
    data_type: String,
    data: String,
    tags: Html,
    ioc: bool,
    seen: i64,
    message: String,
}

#[derive(Debug)]
struct SimilarCase {
    id: String,
    title: String,
    status: String,
    similar: i64,
    observables: i64,
}

#[derive(Template)]
#[template(path = "alert.html")]
struct PreviewPage<'a> {
    viewer: &'a Viewer,
    alert: AlertRow,
    description: Html,
    case_id: String,
    artifacts: Vec<ArtifactRow>,
    similar: Vec<SimilarCase>,
    templates: Vec<Choice>,
}

/// `GET /alerts/{id}`: the preview.
async fn preview(
    state: web::Data<CasesState>,
    request: HttpRequest,
    viewer: Viewer,
    path: web::Path<String>,
) -> UiResult {
    let store = &*state.store;
    let document = alert::load(store, &path).await?;
    let mut rendered = alert::render(&document);
    alert_import::add_similarity(store, &mut rendered).await?;
    let artifacts = alert::artifact_list(&rendered)
        .iter()
        .map(|artifact| ArtifactRow {
            data_type: view::text(artifact, "dataType"),
            data: match artifact.get("attachment") {
                Some(attachment) => attachment
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("attachment")
                    .to_owned(),
                None => view::text(artifact, "data"),
            },
            tags: view::tag_links(&view::strings(artifact, "tags"), "/alerts"),
            ioc: view::flag(artifact, "ioc"),
            seen: view::number(artifact, "seen"),
            message: view::text(artifact, "message"),
        })
        .collect();
    let similar = rendered
        .get("similarCases")
        .and_then(Value::as_array)
        .map(|cases| {
            cases
                .iter()
                .filter_map(Value::as_object)
                .map(|case| SimilarCase {
                    id: view::text(case, "id"),
                    title: format!(
                        "#{} {}",
                        view::number(case, "caseId"),
                        view::text(case, "title")
                    ),
                    status: view::text(case, "status"),
                    similar: view::number(case, "similarArtifactCount"),
                    observables: view::number(case, "artifactCount"),
                })
                .collect()
        })
        .unwrap_or_default();
    let mut templates = vec![Choice {
        value: String::new(),
        label: "No template".into(),
        selected: true,
    }];
    templates.extend(Choice::names(
        &super::cases::template_names(store).await?,
        "",
    ));
    let page = PreviewPage {
        viewer: &viewer,
        description: markdown::render(&view::text(&document.body, "description")),
        case_id: view::text(&document.body, "case"),
        alert: AlertRow::of(&document),
        artifacts,
        similar,
        templates,
    };
    let title = format!("Alert: {}", page.alert.title);
    viewer.page(&request, &title, &page)
}

/// `POST /alerts/{id}/import` (`template`): a new case from the alert, then shown.
async fn import(
    state: web::Data<CasesState>,
    request: HttpRequest,
    viewer: Viewer,
    path: web::Path<String>,
    form: Form,
) -> UiResult {
    verify_csrf(&state, &request, &form)?;
    viewer.require_write()?;
    let template = form.optional("template");
    match alert_import::create_case(&state, &viewer.login, &path, template.as_deref()).await {
        Ok(case) => super::done(
            &format!("/cases/{}", view::text(&case, "id")),
            "Alert imported as a case.",
        ),
        Err(error) => super::failed(&format!("/alerts/{}", path.as_str()), &error),
    }
}

/// `POST /alerts/{id}/merge` (`case`: a number or id): the alert merged into that case.
async fn merge(
    state: web::Data<CasesState>,
    request: HttpRequest,
    viewer: Viewer,
    path: web::Path<String>,
    form: Form,
) -> UiResult {
    verify_csrf(&state, &request, &form)?;
    viewer.require_write()?;
    let back = format!("/alerts/{}", path.as_str());
    let target = match super::case_page::find_case(&*state.store, &form.text("case")).await {
        Ok(target) => target,
        Err(error) => return super::failed(&back, &error),
    };
    match alert_import::merge_into_case(&state, &viewer.login, &path, &target.id).await {
        Ok(_) => super::done(
            &format!("/cases/{}", target.id),
            "Alert merged into the case.",
        ),
        Err(error) => super::failed(&back, &error),
    }
}

async fn mark(
    state: &CasesState,
    request: &HttpRequest,
    viewer: &Viewer,
    id: &str,
    form: &Form,
    read: bool,
    done: &str,
) -> UiResult {
    verify_csrf(state, request, form)?;
    viewer.require_write()?;
    let back = super::local_path(&form.text("back"), &format!("/alerts/{id}"));
    let result = alert::mark_read(&*state.store, &viewer.login, id, read).await;
    super::outcome(&back, result.map(|_: Map<String, Value>| ()), done)
}

/// `POST /alerts/{id}/read`.
async fn read(
    state: web::Data<CasesState>,
    request: HttpRequest,
    viewer: Viewer,
    path: web::Path<String>,
    form: Form,
) -> UiResult {
    mark(
        &state,
        &request,
        &viewer,
        &path,
        &form,
        true,
        "Alert marked read.",
    )
    .await
}

/// `POST /alerts/{id}/unread`.
async fn unread(
    state: web::Data<CasesState>,
    request: HttpRequest,
    viewer: Viewer,
    path: web::Path<String>,
    form: Form,
) -> UiResult {
    mark(
        &state,
        &request,
        &viewer,
        &path,
        &form,
        false,
        "Alert marked unread.",
    )
    .await
}

/// `POST /alerts/{id}/ignore`: read without a case, so `Ignored` (TheHive's "ignore").
async fn ignore(
    state: web::Data<CasesState>,
    request: HttpRequest,
    viewer: Viewer,
    path: web::Path<String>,
    form: Form,
) -> UiResult {
    mark(
        &state,
        &request,
        &viewer,
        &path,
        &form,
        true,
        "Alert ignored.",
    )
    .await
}
