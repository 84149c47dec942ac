//! The case list (TheHive's home page): filters, full-text search, server-side sort and
//! paging, bulk assign/close/tag; and the New Case form (template, tasks).

use actix_web::{HttpRequest, web};
use askama::Template;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use skep_store::{Page, Query, Sort, Store};
use skep_web::pagination::{self, Paging};
use skep_web::{Html, escape};

use super::form::{self, Form};
use super::view::{self, Choice};
use super::{UiResult, Viewer, verify_csrf};
use crate::domain::{case, template, user};
use crate::state::CasesState;

/// Registers the routes of this module.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/cases", web::get().to(list))
        .route("/cases", web::post().to(create))
        .route("/cases/new", web::get().to(new_form))
        .route("/cases/bulk", web::post().to(bulk));
}

/// The list's query string.
#[derive(Debug, Default, Deserialize)]
pub struct CaseFilters {
    /// `Open` (default), `Resolved` or `any`.
    pub status: Option<String>,
    /// 1 to 4.
    pub severity: Option<String>,
    /// One tag.
    pub tag: Option<String>,
    /// Assignee login.
    pub owner: Option<String>,
    /// 0 to 3.
    pub tlp: Option<String>,
    /// Words searched in every text field; `#12` finds case 12.
    pub q: Option<String>,
    /// `field` or `-field`.
    pub sort: Option<String>,
    /// 1-based page.
    pub page: Option<u64>,
    /// Rows per page.
    pub per_page: Option<u64>,
}

/// Fields the list may be sorted by.
const SORTABLE: [&str; 6] = ["startDate", "caseId", "severity", "title", "tlp", "owner"];

fn filled(value: &Option<String>) -> Option<&str> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|text| !text.is_empty())
}

impl CaseFilters {
    /// The store query of these filters.
    pub fn query(&self) -> Query {
        let mut parts = Vec::new();
        match filled(&self.status).unwrap_or("Open") {
            "any" => parts.push(Query::Not(Box::new(Query::eq("status", "Deleted")))),
            status => parts.push(Query::eq("status", status.to_owned())),
        }
        if let Some(severity) = filled(&self.severity).and_then(|s| s.parse::<i64>().ok()) {
            parts.push(Query::eq("severity", severity));
        }
        if let Some(tlp) = filled(&self.tlp).and_then(|s| s.parse::<i64>().ok()) {
            parts.push(Query::eq("tlp", tlp));
        }
        if let Some(tag) = filled(&self.tag) {
            parts.push(Query::eq("tags", tag.to_owned()));
        }
        if let Some(owner) = filled(&self.owner) {
            parts.push(Query::eq("owner", owner.to_lowercase()));
        }
        if let Some(words) = filled(&self.q) {
            match words.strip_prefix('#').and_then(|n| n.parse::<i64>().ok()) {
                Some(number) => parts.push(Query::eq("caseId", number)),
                None => parts.push(Query::FullText(words.to_owned())),
            }
        }
        Query::And(parts)
    }

    /// The sort: `-startDate` unless another allowed field is asked for.
    pub fn sort(&self) -> (&'static str, bool) {
        pagination::sort(self.sort.as_deref(), &SORTABLE, ("startDate", false))
    }

    /// The page asked for.
    pub fn paging(&self) -> Paging {
        Paging::new(self.page, self.per_page)
    }

    fn params(&self) -> Vec<(&'static str, String)> {
        let (field, ascending) = self.sort();
        let sort = if ascending {
            field.to_owned()
        } else {
            format!("-{field}")
        };
        vec![
            ("status", filled(&self.status).unwrap_or("Open").to_owned()),
            ("severity", filled(&self.severity).unwrap_or("").to_owned()),
            ("tag", filled(&self.tag).unwrap_or("").to_owned()),
            ("owner", filled(&self.owner).unwrap_or("").to_owned()),
            ("tlp", filled(&self.tlp).unwrap_or("").to_owned()),
            ("q", filled(&self.q).unwrap_or("").to_owned()),
            ("sort", sort),
        ]
    }
}

/// A row of the list.
#[derive(Debug)]
pub struct CaseRow {
    /// Store id.
    pub id: String,
    /// `caseId`.
    pub number: i64,
    /// Title.
    pub title: String,
    /// Severity 1–4 and its name.
    pub severity: i64,
    /// Its name.
    pub severity_name: &'static str,
    /// TLP name.
    pub tlp: &'static str,
    /// Status.
    pub status: String,
    /// Resolution when closed.
    pub resolution: String,
    /// Assignee.
    pub owner: String,
    /// Tags, as links.
    pub tags: Html,
    /// Start date.
    pub started: String,
}

impl CaseRow {
    /// The row of a stored case.
    pub fn of(document: &skep_store::Document) -> CaseRow {
        let body = &document.body;
        let severity = view::number(body, "severity");
        CaseRow {
            id: document.id.clone(),
            number: view::number(body, "caseId"),
            title: view::text(body, "title"),
            severity,
            severity_name: view::severity(severity),
            tlp: view::level(view::number(body, "tlp")),
            status: view::text(body, "status"),
            resolution: view::text(body, "resolutionStatus"),
            owner: view::text(body, "owner"),
            tags: view::tag_links(&view::strings(body, "tags"), "/cases"),
            started: view::date(body, "startDate"),
        }
    }
}

/// A sortable column header.
#[derive(Debug)]
pub struct Column {
    /// Header text.
    pub label: &'static str,
    /// Link that sorts by this column (toggling the direction when it is the current one).
    pub href: String,
    /// `ascending`, `descending` or `none` (`aria-sort`).
    pub aria: &'static str,
}

fn columns(filters: &CaseFilters) -> Vec<Column> {
    let (current, ascending) = filters.sort();
    let params = filters.params();
    [
        ("#", "caseId"),
        ("Title", "title"),
        ("Severity", "severity"),
        ("TLP", "tlp"),
        ("Assignee", "owner"),
        ("Started", "startDate"),
    ]
    .into_iter()
    .map(|(label, field)| {
        let is_current = field == current;
        let next = if is_current && !ascending {
            field.to_owned()
        } else {
            format!("-{field}")
        };
        let mut href = String::from("/cases?");
        for (name, value) in params.iter().filter(|(name, _)| *name != "sort") {
            if !value.is_empty() {
                href.push_str(&format!("{name}={}&", urlencoding::encode(value)));
            }
        }
        href.push_str(&format!("sort={}", urlencoding::encode(&next)));
        Column {
            label,
            href,
            aria: match (is_current, ascending) {
                (false, _) => "none",
                (true, true) => "ascending",
                (true, false) => "descending",
            },
        }
    })
    .collect()
}

#[derive(Template)]
#[template(path = "cases.html")]
struct ListPage<'a> {
    viewer: &'a Viewer,
    rows: Vec<CaseRow>,
    total: u64,
    columns: Vec<Column>,
    pager: Html,
    statuses: Vec<Choice>,
    severities: Vec<Choice>,
    tlps: Vec<Choice>,
    users: Vec<Choice>,
    tag: String,
    q: String,
    quick: Html,
}

/// The logins and names of the users (assignee choices).
pub async fn users(store: &dyn Store, current: &str) -> Result<Vec<Choice>, skep_http::ApiError> {
    let hits = store
        .search(
            user::KIND,
            &Query::All,
            Page {
                offset: 0,
                limit: Some(500),
            },
            &[Sort {
                field: "name".into(),
                descending: false,
            }],
        )
        .await?;
    Ok(hits
        .documents
        .iter()
        .map(|document| Choice {
            value: document.id.clone(),
            label: format!("{} ({})", view::text(&document.body, "name"), document.id),
            selected: document.id == current,
        })
        .collect())
}

fn with_any(mut choices: Vec<Choice>, label: &str) -> Vec<Choice> {
    let none_selected = !choices.iter().any(|choice| choice.selected);
    choices.insert(
        0,
        Choice {
            value: String::new(),
            label: label.to_owned(),
            selected: none_selected,
        },
    );
    choices
}

/// Quick filters one click away, as TheHive's: my open cases, critical and high, all.
fn quick_filters(viewer: &Viewer) -> Html {
    let mut out = String::from("<p class=\"quick\">Quick filters: ");
    let links = [
        (
            format!(
                "/cases?status=Open&owner={}",
                urlencoding::encode(&viewer.login)
            ),
            "My open cases",
        ),
        ("/cases?status=Open&severity=4".to_owned(), "Critical"),
        ("/cases?status=Open&severity=3".to_owned(), "High"),
        ("/cases?status=Resolved".to_owned(), "Closed"),
        ("/cases?status=any".to_owned(), "All"),
    ];
    for (index, (href, label)) in links.iter().enumerate() {
        if index > 0 {
            out.push_str(" · ");
        }
        out.push_str("<a href=\"");
        escape(&mut out, href);
        out.push_str("\">");
        escape(&mut out, label);
        out.push_str("</a>");
    }
    out.push_str("</p>");
    Html::from_trusted(out)
}

/// `GET /cases`.
async fn list(
    state: web::Data<CasesState>,
    request: HttpRequest,
    viewer: Viewer,
    filters: web::Query<CaseFilters>,
) -> UiResult {
    let page = render_list(&state, &viewer, &filters).await?;
    viewer.page(&request, "Cases", &page)
}

async fn render_list<'a>(
    state: &CasesState,
    viewer: &'a Viewer,
    filters: &CaseFilters,
) -> Result<ListPage<'a>, super::UiError> {
    let paging = filters.paging();
    let (field, ascending) = filters.sort();
    let mut sort = vec![Sort {
        field: field.to_owned(),
        descending: !ascending,
    }];
    if field != "caseId" {
        sort.push(Sort {
            field: "caseId".into(),
            descending: true,
        });
    }
    let hits = state
        .store
        .search(
            case::KIND,
            &filters.query(),
            Page {
                offset: paging.offset(),
                limit: Some(paging.per_page),
            },
            &sort,
        )
        .await?;
    let params = filters.params();
    let borrowed: Vec<(&str, &str)> = params
        .iter()
        .map(|(name, value)| (*name, value.as_str()))
        .collect();
    let status = filled(&filters.status).unwrap_or("Open");
    let numbered = |value: &Option<String>| {
        filled(value)
            .and_then(|text| text.parse::<i64>().ok())
            .unwrap_or(-1)
    };
    Ok(ListPage {
        viewer,
        rows: hits.documents.iter().map(CaseRow::of).collect(),
        total: hits.total,
        columns: columns(filters),
        pager: paging.nav("/cases", &borrowed, hits.total),
        statuses: Choice::names(&["Open", "Resolved", "any"], status),
        severities: with_any(
            Choice::list(&view::SEVERITIES, numbered(&filters.severity)),
            "Any severity",
        ),
        tlps: with_any(
            Choice::list(&view::LEVELS, numbered(&filters.tlp)),
            "Any TLP",
        ),
        users: with_any(
            users(&*state.store, filled(&filters.owner).unwrap_or("")).await?,
            "Anyone",
        ),
        tag: filled(&filters.tag).unwrap_or("").to_owned(),
        q: filled(&filters.q).unwrap_or("").to_owned(),
        quick: quick_filters(viewer),
    })
}

#[derive(Template)]
#[template(path = "case_new.html")]
struct NewPage<'a> {
    viewer: &'a Viewer,
    templates: Vec<Choice>,
    severities: Vec<Choice>,
    levels: Vec<Choice>,
}

/// The names of the templates in use.
pub async fn template_names(store: &dyn Store) -> Result<Vec<String>, skep_http::ApiError> {
    let hits = store
        .search(
            template::KIND,
            &Query::Not(Box::new(Query::eq("status", "Deleted"))),
            Page {
                offset: 0,
                limit: Some(500),
            },
            &[Sort {
                field: "name".into(),
                descending: false,
            }],
        )
        .await?;
    Ok(hits
        .documents
        .iter()
        .map(|document| view::text(&document.body, "name"))
        .collect())
}

/// `GET /cases/new`.
async fn new_form(state: web::Data<CasesState>, request: HttpRequest, viewer: Viewer) -> UiResult {
    viewer.require_write()?;
    let mut templates = vec![Choice {
        value: String::new(),
        label: "No template".into(),
        selected: true,
    }];
    templates.extend(Choice::names(&template_names(&*state.store).await?, ""));
    let page = NewPage {
        viewer: &viewer,
        templates,
        severities: Choice::list(&view::SEVERITIES, 2),
        levels: Choice::list(&view::LEVELS, 2),
    };
    viewer.page(&request, "New case", &page)
}

/// The create body of the New Case form: the API's attributes, tasks one title per line.
pub fn new_case_input(form: &Form) -> Map<String, Value> {
    let mut input = Map::new();
    input.insert("title".into(), json!(form.text("title")));
    input.insert("description".into(), json!(form.raw("description")));
    for key in ["severity", "tlp", "pap"] {
        if let Some(value) = form.optional(key) {
            input.insert(key.into(), json!(value));
        }
    }
    input.insert("tags".into(), json!(form::list(form.raw("tags"))));
    if let Some(name) = form.optional("template") {
        input.insert("template".into(), json!(name));
    }
    let tasks: Vec<Value> = form
        .raw("tasks")
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(|title| json!({"title": title}))
        .collect();
    if !tasks.is_empty() {
        input.insert("tasks".into(), Value::Array(tasks));
    }
    input
}

/// `POST /cases`: creates the case, then shows it.
async fn create(
    state: web::Data<CasesState>,
    request: HttpRequest,
    viewer: Viewer,
    form: Form,
) -> UiResult {
    verify_csrf(&state, &request, &form)?;
    viewer.require_write()?;
    match case::create(&*state.store, &viewer.login, new_case_input(&form)).await {
        Ok(document) => super::done(&format!("/cases/{}", document.id), "Case created."),
        Err(error) if error.status().is_client_error() => super::failed("/cases/new", &error),
        Err(error) => Err(error.into()),
    }
}

/// `POST /cases/bulk` (`ids`, `action` = `assign` | `close` | `tag`): the same change on every
/// selected case; the message counts successes and failures.
async fn bulk(
    state: web::Data<CasesState>,
    request: HttpRequest,
    viewer: Viewer,
    form: Form,
) -> UiResult {
    verify_csrf(&state, &request, &form)?;
    viewer.require_write()?;
    let ids = form.all("ids");
    let back = super::local_path(&form.text("back"), "/cases");
    if ids.is_empty() {
        return super::failed(
            &back,
            &skep_http::ApiError::bad_request("Select at least one case."),
        );
    }
    let action = form.text("action");
    let mut changed = 0;
    let mut errors = Vec::new();
    for id in &ids {
        let changes = match action.as_str() {
            "assign" => json!({"owner": form.text("owner")}),
            "close" => json!({
                "status": "Resolved",
                "resolutionStatus": form.optional("resolutionStatus").unwrap_or_else(|| "Other".into()),
                "summary": form.raw("summary"),
            }),
            "tag" => {
                let current = case::get(&*state.store, id).await?;
                let mut tags = view::strings(&current.body, "tags");
                for tag in form::list(form.raw("tags")) {
                    if !tags.contains(&tag) {
                        tags.push(tag);
                    }
                }
                json!({ "tags": tags })
            }
            _ => {
                return super::failed(
                    &back,
                    &skep_http::ApiError::bad_request("Choose assign, close or tag."),
                );
            }
        };
        let changes = changes.as_object().cloned().unwrap_or_default();
        match case::update(&*state.store, &viewer.login, id, changes).await {
            Ok(_) => changed += 1,
            Err(error) => errors.push(super::message(&error)),
        }
    }
    if errors.is_empty() {
        super::done(&back, format!("{changed} case(s) changed."))
    } else {
        super::failed(
            &back,
            &skep_http::ApiError::bad_request(format!(
                "{changed} case(s) changed, {} refused: {}",
                errors.len(),
                errors.join("; ")
            )),
        )
    }
}
