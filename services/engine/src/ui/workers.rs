//! The orgadmin's analyzer and responder pages: the catalog with its search box and the enabled
//! workers, the enable/edit forms generated from a definition's `configurationItems` (plus
//! TLP/PAP limits, rate limit, cache), disabling, and the base configurations ("Analyzers
//! Config") shared by a family of workers.

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use askama::Template;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use skep_store::{Page, Query, Sort};
use skep_web::Html;
use skep_web::flash::Flash;
use skep_web::pagination::Paging;

use super::forms::UiForm;
use super::forms::{self, ItemField};
use super::{Ui, UiError, UiResult, done, or_back};
use crate::jobs::catalog::Definition;
use crate::jobs::worker::{self as workers, WorkerDefaults};
use crate::jobs::{JobRuntime, JobsError, WorkerKind};
use crate::roles::Role;
use crate::state::EngineState;

fn defaults(runtime: &JobRuntime) -> WorkerDefaults {
    WorkerDefaults {
        cache_minutes: runtime.config().default_cache_minutes,
        timeout_minutes: runtime.config().default_job_timeout_minutes,
    }
}

fn kind_of(text: &str) -> Result<WorkerKind, UiError> {
    WorkerKind::parse(text)
        .ok_or_else(|| UiError::Page(StatusCode::NOT_FOUND, format!("{text} is not a page")))
}

fn plural(kind: WorkerKind) -> &'static str {
    match kind {
        WorkerKind::Analyzer => "Analyzers",
        WorkerKind::Responder => "Responders",
    }
}

/// Query of the catalog page.
#[derive(Debug, Deserialize)]
pub struct CatalogQuery {
    q: Option<String>,
    page: Option<u64>,
    per_page: Option<u64>,
}

/// A definition row of the catalog.
pub struct DefinitionRow {
    id: String,
    name: String,
    version: String,
    description: String,
    author: String,
    data_types: String,
    enabled: bool,
    search_text: String,
}

/// An enabled worker row.
pub struct WorkerRow {
    id: String,
    name: String,
    definition: String,
    data_types: String,
}

#[derive(Template)]
#[template(path = "ui/catalog.html")]
struct CatalogPage<'a> {
    csrf: &'a str,
    kind: &'a str,
    plural: &'a str,
    q: String,
    total: u64,
    enabled: Vec<WorkerRow>,
    definitions: Vec<DefinitionRow>,
    pager: Html,
}

#[derive(Template)]
#[template(path = "ui/worker_form.html")]
struct WorkerForm<'a> {
    csrf: &'a str,
    action: String,
    kind: &'a str,
    name: String,
    definition: DefinitionRow,
    items: Vec<ItemField>,
    rate: String,
    rate_unit: String,
    units: [&'static str; 5],
    editing: bool,
}

/// A base configuration and its form.
pub struct BaseConfigForm {
    name: String,
    workers: String,
    items: Vec<ItemField>,
}

#[derive(Template)]
#[template(path = "ui/base_configs.html")]
struct BaseConfigs<'a> {
    csrf: &'a str,
    kind: &'a str,
    configs: Vec<BaseConfigForm>,
}

fn definition_row(definition: &Definition, enabled: bool) -> DefinitionRow {
    let data_types = definition.data_type_list.join(", ");
    DefinitionRow {
        id: definition.id.clone(),
        name: definition.name.clone(),
        version: definition.version.clone(),
        description: definition.description.clone(),
        author: definition.author.clone(),
        search_text: format!(
            "{} {} {} {}",
            definition.name, definition.description, data_types, definition.author
        ),
        data_types,
        enabled,
    }
}

fn worker_row(worker: &workers::Worker) -> WorkerRow {
    let data_types = worker
        .body
        .get("dataTypeList")
        .and_then(Value::as_array)
        .map(|types| {
            types
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    WorkerRow {
        id: worker.id.clone(),
        name: worker.name().to_owned(),
        definition: worker.definition_id().to_owned(),
        data_types,
    }
}

async fn enabled_workers(
    runtime: &JobRuntime,
    ui: &Ui,
    kind: WorkerKind,
) -> Result<Vec<workers::Worker>, UiError> {
    let (found, _) = workers::search(
        runtime.store(),
        &ui.identity.organization,
        kind,
        Query::All,
        Page::ALL,
        &[Sort {
            field: "name".into(),
            descending: false,
        }],
    )
    .await?;
    Ok(found)
}

/// `GET /workers/{kind}`: enabled workers, then the catalog (searched and paged by the server,
/// the search box also filtering the shown page as one types).
pub async fn catalog(
    state: web::Data<EngineState>,
    runtime: web::Data<JobRuntime>,
    request: HttpRequest,
    kind: web::Path<String>,
    query: web::Query<CatalogQuery>,
) -> UiResult {
    let ui = Ui::of(&state, &request).await?;
    ui.require(&[Role::OrgAdmin])?;
    let kind = kind_of(&kind)?;
    let enabled = enabled_workers(&runtime, &ui, kind).await?;
    let enabled_ids: Vec<&str> = enabled.iter().map(|w| w.definition_id()).collect();
    let catalog = runtime.catalogs().of(kind);
    let q = query.q.clone().unwrap_or_default();
    let words: Vec<String> = q.split_whitespace().map(str::to_lowercase).collect();
    let mut matching: Vec<&Arc<Definition>> = catalog
        .iter()
        .filter(|definition| {
            let text = format!(
                "{} {} {} {}",
                definition.name,
                definition.description,
                definition.data_type_list.join(" "),
                definition.author
            )
            .to_lowercase();
            words.iter().all(|word| text.contains(word.as_str()))
        })
        .collect();
    matching.sort_by_key(|definition| definition.name.to_lowercase());
    let total = matching.len() as u64;
    let paging = Paging::new(query.page, query.per_page.or(Some(50)));
    let definitions = matching
        .into_iter()
        .skip(paging.offset() as usize)
        .take(paging.per_page as usize)
        .map(|definition| definition_row(definition, enabled_ids.contains(&definition.id.as_str())))
        .collect();
    let kind_name = kind.as_str();
    let body = CatalogPage {
        csrf: ui.csrf(),
        kind: kind_name,
        plural: plural(kind),
        total,
        enabled: enabled.iter().map(worker_row).collect(),
        definitions,
        pager: paging.nav(&format!("/workers/{kind_name}"), &[("q", &q)], total),
        q,
    }
    .render()?;
    Ok(ui.page(&request, plural(kind), &body))
}

/// The saved values of the base configurations `global` and `family`, merged (family wins).
async fn inherited(
    runtime: &JobRuntime,
    ui: &Ui,
    kind: WorkerKind,
    family: &str,
) -> Result<Map<String, Value>, UiError> {
    let catalog = runtime.catalogs().of(kind);
    let configs = workers::base_configs(
        runtime.store(),
        &ui.identity.organization,
        &catalog,
        kind,
        defaults(runtime),
    )
    .await?;
    let mut values = Map::new();
    for name in ["global", family] {
        if let Some(config) = configs.iter().find(|config| config.name == name) {
            values.extend(config.config.clone());
        }
    }
    Ok(values)
}

fn definition_of(
    runtime: &JobRuntime,
    kind: WorkerKind,
    id: &str,
) -> Result<Arc<Definition>, UiError> {
    runtime
        .catalogs()
        .of(kind)
        .get(id)
        .ok_or_else(|| JobsError::not_found("worker definition", id).into())
}

const UNITS: [&str; 5] = ["Second", "Minute", "Hour", "Day", "Month"];

/// `GET /workers/{kind}/enable/{definition}`: the form generated from the definition, filled
/// with the organisation's base configuration values and the items' defaults.
pub async fn enable_form(
    state: web::Data<EngineState>,
    runtime: web::Data<JobRuntime>,
    request: HttpRequest,
    path: web::Path<(String, String)>,
) -> UiResult {
    let ui = Ui::of(&state, &request).await?;
    ui.require(&[Role::OrgAdmin])?;
    let (kind, id) = path.into_inner();
    let kind = kind_of(&kind)?;
    let definition = definition_of(&runtime, kind, &id)?;
    let values = inherited(&runtime, &ui, kind, &definition.base_config).await?;
    let items = workers::all_items(
        &definition,
        defaults(&runtime).cache_minutes,
        defaults(&runtime).timeout_minutes,
    );
    let body = WorkerForm {
        csrf: ui.csrf(),
        action: format!("/workers/{}/enable/{}", kind.as_str(), definition.id),
        kind: kind.as_str(),
        name: definition.id.clone(),
        items: forms::item_fields(&items, &values),
        definition: definition_row(&definition, false),
        rate: String::new(),
        rate_unit: String::new(),
        units: UNITS,
        editing: false,
    }
    .render()?;
    Ok(ui.page(&request, &format!("Enable {}", definition.name), &body))
}

/// The enable/update request of a submitted worker form.
fn worker_request(
    definition: &Definition,
    runtime: &JobRuntime,
    fields: &UiForm,
) -> Map<String, Value> {
    let items = workers::all_items(
        definition,
        defaults(runtime).cache_minutes,
        defaults(runtime).timeout_minutes,
    );
    let mut request = Map::new();
    if let Some(name) = fields.str("name").filter(|name| !name.trim().is_empty()) {
        request.insert("name".into(), json!(name.trim()));
    }
    request.insert(
        "configuration".into(),
        Value::Object(forms::read_items(&items, fields)),
    );
    match fields
        .str("rate")
        .map(str::trim)
        .filter(|rate| !rate.is_empty())
    {
        Some(rate) => {
            let value = rate
                .parse::<u64>()
                .map(Value::from)
                .unwrap_or_else(|_| json!(rate));
            request.insert("rate".into(), value);
            if let Some(unit) = fields.str("rateUnit").filter(|unit| !unit.is_empty()) {
                request.insert("rateUnit".into(), json!(unit));
            }
        }
        None => {
            request.insert("rate".into(), Value::Null);
            request.insert("rateUnit".into(), Value::Null);
        }
    }
    request
}

/// `POST /workers/{kind}/enable/{definition}`.
pub async fn enable(
    state: web::Data<EngineState>,
    runtime: web::Data<JobRuntime>,
    request: HttpRequest,
    path: web::Path<(String, String)>,
    fields: UiForm,
) -> UiResult {
    let ui = Ui::posting(&state, &request, &fields).await?;
    ui.require(&[Role::OrgAdmin])?;
    let (kind, id) = path.into_inner();
    let kind = kind_of(&kind)?;
    let back = format!("/workers/{}/enable/{id}", kind.as_str());
    let definition = definition_of(&runtime, kind, &id)?;
    let mut body = worker_request(&definition, &runtime, &fields);
    // A new worker has no limits to clear.
    body.retain(|_, value| !value.is_null());
    let enabled = workers::enable(
        runtime.store(),
        &ui.identity,
        &definition,
        &body,
        defaults(&runtime),
    )
    .await
    .map_err(UiError::from);
    let worker = or_back(enabled, &back)?;
    Ok(done(
        &format!("/workers/{}", kind.as_str()),
        Flash::success(format!("{} enabled", worker.name())),
    ))
}

/// `GET /workers/{kind}/edit/{id}`: the form of an enabled worker.
pub async fn edit_form(
    state: web::Data<EngineState>,
    runtime: web::Data<JobRuntime>,
    request: HttpRequest,
    path: web::Path<(String, String)>,
) -> UiResult {
    let ui = Ui::of(&state, &request).await?;
    ui.require(&[Role::OrgAdmin])?;
    let (kind, id) = path.into_inner();
    let kind = kind_of(&kind)?;
    let worker = workers::get(runtime.store(), &ui.identity.organization, kind, &id).await?;
    let definition = definition_of(&runtime, kind, worker.definition_id())?;
    let items = workers::all_items(
        &definition,
        defaults(&runtime).cache_minutes,
        defaults(&runtime).timeout_minutes,
    );
    let (rate, rate_unit) = worker
        .rate_limit()
        .map(|(rate, unit)| (rate.to_string(), format!("{unit:?}")))
        .unwrap_or_default();
    let body = WorkerForm {
        csrf: ui.csrf(),
        action: format!("/workers/{}/edit/{id}", kind.as_str()),
        kind: kind.as_str(),
        name: worker.name().to_owned(),
        items: forms::item_fields(&items, &worker.configuration()),
        definition: definition_row(&definition, true),
        rate,
        rate_unit,
        units: UNITS,
        editing: true,
    }
    .render()?;
    Ok(ui.page(&request, &format!("Edit {}", worker.name()), &body))
}

/// `POST /workers/{kind}/edit/{id}`.
pub async fn edit(
    state: web::Data<EngineState>,
    runtime: web::Data<JobRuntime>,
    request: HttpRequest,
    path: web::Path<(String, String)>,
    fields: UiForm,
) -> UiResult {
    let ui = Ui::posting(&state, &request, &fields).await?;
    ui.require(&[Role::OrgAdmin])?;
    let (kind, id) = path.into_inner();
    let kind = kind_of(&kind)?;
    let back = format!("/workers/{}/edit/{id}", kind.as_str());
    let worker = workers::get(runtime.store(), &ui.identity.organization, kind, &id).await?;
    let definition = definition_of(&runtime, kind, worker.definition_id())?;
    let body = worker_request(&definition, &runtime, &fields);
    let updated = workers::update(
        runtime.store(),
        &ui.identity,
        kind,
        &id,
        &body,
        Some(&definition),
        defaults(&runtime),
    )
    .await
    .map_err(UiError::from);
    let updated = or_back(updated, &back)?;
    Ok(done(
        &format!("/workers/{}", kind.as_str()),
        Flash::success(format!("{} saved", updated.name())),
    ))
}

/// `POST /workers/{kind}/disable/{id}`.
pub async fn disable(
    state: web::Data<EngineState>,
    runtime: web::Data<JobRuntime>,
    request: HttpRequest,
    path: web::Path<(String, String)>,
    fields: UiForm,
) -> UiResult {
    let ui = Ui::posting(&state, &request, &fields).await?;
    ui.require(&[Role::OrgAdmin])?;
    let (kind, id) = path.into_inner();
    let kind = kind_of(&kind)?;
    let back = format!("/workers/{}", kind.as_str());
    let disabled = workers::disable(runtime.store(), &ui.identity, kind, &id)
        .await
        .map_err(UiError::from);
    or_back(disabled, &back)?;
    Ok(done(&back, Flash::success("Disabled")))
}

/// `GET /workers/{kind}/config`: the base configurations, one form each.
pub async fn base_configs(
    state: web::Data<EngineState>,
    runtime: web::Data<JobRuntime>,
    request: HttpRequest,
    kind: web::Path<String>,
) -> UiResult {
    let ui = Ui::of(&state, &request).await?;
    ui.require(&[Role::OrgAdmin])?;
    let kind = kind_of(&kind)?;
    let catalog = runtime.catalogs().of(kind);
    let configs = workers::base_configs(
        runtime.store(),
        &ui.identity.organization,
        &catalog,
        kind,
        defaults(&runtime),
    )
    .await?;
    let body = BaseConfigs {
        csrf: ui.csrf(),
        kind: kind.as_str(),
        configs: configs
            .iter()
            .map(|config| BaseConfigForm {
                name: config.name.clone(),
                workers: config.workers.join(", "),
                items: forms::item_fields(&config.items, &config.config),
            })
            .collect(),
    }
    .render()?;
    Ok(ui.page(&request, &format!("{} Config", plural(kind)), &body))
}

/// `POST /workers/{kind}/config/{name}`: saves one base configuration.
pub async fn save_base_config(
    state: web::Data<EngineState>,
    runtime: web::Data<JobRuntime>,
    request: HttpRequest,
    path: web::Path<(String, String)>,
    fields: UiForm,
) -> UiResult {
    let ui = Ui::posting(&state, &request, &fields).await?;
    ui.require(&[Role::OrgAdmin])?;
    let (kind, name) = path.into_inner();
    let kind = kind_of(&kind)?;
    let back = format!("/workers/{}/config", kind.as_str());
    let catalog = runtime.catalogs().of(kind);
    let items = workers::base_configs(
        runtime.store(),
        &ui.identity.organization,
        &catalog,
        kind,
        defaults(&runtime),
    )
    .await?
    .into_iter()
    .find(|config| config.name == name)
    .map(|config| config.items)
    .ok_or_else(|| UiError::from(JobsError::not_found("base configuration", name.as_str())))?;
    let mut body = Map::new();
    body.insert(
        "config".into(),
        Value::Object(forms::read_items(&items, &fields)),
    );
    let saved = workers::save_base_config(
        runtime.store(),
        &ui.identity,
        &catalog,
        kind,
        &name,
        &body,
        defaults(&runtime),
    )
    .await
    .map_err(UiError::from);
    or_back(saved, &back)?;
    Ok(done(
        &back,
        Flash::success(format!("Configuration {name} saved")),
    ))
}
