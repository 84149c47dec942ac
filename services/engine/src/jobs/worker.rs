//! Workers: definitions enabled in an organisation with their configuration, and the base
//! configurations (`/api/analyzerconfig`) that serve as templates.

use std::collections::BTreeMap;

use md5::{Digest, Md5};
use serde_json::{Map, Value, json};
use skep_http::AttributeError;
use skep_store::{Document, NewDocument, Page, Query, Sort, Store};

use super::catalog::{Catalog, ConfigurationItem, Definition, WorkerKind};
use super::configuration::{global_items, sensitivity_items, validate};
use super::error::{JobsError, Result};
use crate::auth::Identity;
use crate::domain::{OrgId, now_ms};

/// Store kind of enabled workers.
pub const WORKER_KIND: &str = "worker";
/// Store kind of base configurations.
pub const WORKER_CONFIG_KIND: &str = "worker_config";

/// Unit of a worker's rate limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateUnit {
    /// One second.
    Second,
    /// One minute.
    Minute,
    /// One hour.
    Hour,
    /// One day.
    Day,
    /// Thirty days.
    Month,
}

impl RateUnit {
    /// Parses the wire name.
    pub fn parse(text: &str) -> Option<RateUnit> {
        match text {
            "Second" => Some(RateUnit::Second),
            "Minute" => Some(RateUnit::Minute),
            "Hour" => Some(RateUnit::Hour),
            "Day" => Some(RateUnit::Day),
            "Month" => Some(RateUnit::Month),
            _ => None,
        }
    }

    /// Length of the unit in seconds.
    pub fn seconds(self) -> i64 {
        match self {
            RateUnit::Second => 1,
            RateUnit::Minute => 60,
            RateUnit::Hour => 3_600,
            RateUnit::Day => 86_400,
            RateUnit::Month => 2_592_000,
        }
    }
}

/// A worker enabled in an organisation, as stored.
#[derive(Debug, Clone)]
pub struct Worker {
    /// md5 of `<org>_<name>_<type>`.
    pub id: String,
    /// The stored attributes.
    pub body: Map<String, Value>,
}

impl Worker {
    fn from_document(document: Document) -> Worker {
        Worker {
            id: document.id,
            body: document.body,
        }
    }

    /// Worker name (the definition id in practice).
    pub fn name(&self) -> &str {
        self.body
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    /// Id of the definition it runs.
    pub fn definition_id(&self) -> &str {
        self.body
            .get("workerDefinitionId")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    /// Analyzer or responder.
    pub fn kind(&self) -> WorkerKind {
        self.body
            .get("type")
            .and_then(Value::as_str)
            .and_then(WorkerKind::parse)
            .unwrap_or(WorkerKind::Analyzer)
    }

    /// The validated configuration (secrets included).
    pub fn configuration(&self) -> Map<String, Value> {
        match self.body.get("configuration") {
            Some(Value::Object(configuration)) => configuration.clone(),
            _ => Map::new(),
        }
    }

    /// A number attribute, looked up on the worker then in its configuration.
    fn number(&self, key: &str) -> Option<f64> {
        self.body
            .get(key)
            .and_then(Value::as_f64)
            .or_else(|| self.body.get("configuration")?.get(key)?.as_f64())
    }

    /// Job cache window in minutes, when the worker sets one.
    pub fn job_cache_minutes(&self) -> Option<f64> {
        self.number("jobCache")
    }

    /// Job timeout in minutes, when the worker sets one.
    pub fn job_timeout_minutes(&self) -> Option<f64> {
        self.number("jobTimeout")
    }

    /// Rate limit: at most `rate` jobs per unit.
    pub fn rate_limit(&self) -> Option<(u64, RateUnit)> {
        let rate = self.body.get("rate")?.as_u64()?;
        let unit = RateUnit::parse(self.body.get("rateUnit")?.as_str()?)?;
        Some((rate, unit))
    }

    /// The worker as clients see it; `configuration` only for orgadmins.
    pub fn to_json(&self, show_configuration: bool) -> Value {
        let organization = self
            .body
            .get("organization")
            .cloned()
            .unwrap_or(Value::Null);
        let mut out = Map::new();
        out.insert("id".into(), json!(self.id));
        out.insert("_id".into(), json!(self.id));
        out.insert("_type".into(), json!("worker"));
        out.insert("_parent".into(), organization.clone());
        out.insert("_routing".into(), organization);
        for (key, value) in &self.body {
            if key == "organization" || (key == "configuration" && !show_configuration) {
                continue;
            }
            out.insert(key.clone(), value.clone());
        }
        if self.kind() == WorkerKind::Analyzer {
            out.insert("analyzerDefinitionId".into(), json!(self.definition_id()));
        }
        Value::Object(out)
    }
}

/// Worker id: lower-hex md5 of `<org>_<name>_<type>`.
pub fn worker_id(organization: &OrgId, name: &str, kind: WorkerKind) -> String {
    hex::encode(Md5::digest(format!(
        "{organization}_{name}_{}",
        kind.as_str()
    )))
}

/// Every item a worker of `definition` accepts.
pub fn all_items(
    definition: &Definition,
    cache_minutes: f64,
    timeout_minutes: f64,
) -> Vec<ConfigurationItem> {
    let mut items = definition.configuration_items.clone();
    for extra in global_items(definition.kind, cache_minutes, timeout_minutes)
        .into_iter()
        .chain(sensitivity_items())
    {
        if !items.iter().any(|item| item.name == extra.name) {
            items.push(extra);
        }
    }
    items
}

/// Defaults of the engine used while validating configurations.
#[derive(Debug, Clone, Copy)]
pub struct WorkerDefaults {
    /// Default job cache, minutes.
    pub cache_minutes: f64,
    /// Default job timeout, minutes.
    pub timeout_minutes: f64,
}

/// Largest accepted `rate` (jobs per rate unit).
const MAX_RATE: f64 = 1_000_000_000.0;

/// The top-level attributes of an enable/update request other than `name` and `configuration`.
fn limits_of(request: &Map<String, Value>, errors: &mut Vec<AttributeError>) -> Map<String, Value> {
    let mut limits = Map::new();
    // Bounded so that no later conversion to a duration or a count can overflow.
    for (key, max, expected) in [
        ("rate", MAX_RATE, "number from 0 to 1000000000"),
        (
            "jobCache",
            crate::config_workers::MAX_MINUTES,
            "number of minutes from 0 to 527040",
        ),
        (
            "jobTimeout",
            crate::config_workers::MAX_MINUTES,
            "number of minutes from 0 to 527040",
        ),
    ] {
        match request.get(key) {
            None | Some(Value::Null) => {}
            Some(value)
                if value
                    .as_f64()
                    .is_some_and(|number| (0.0..=max).contains(&number)) =>
            {
                limits.insert(key.into(), value.clone());
            }
            Some(value) => errors.push(AttributeError::invalid(key, value.clone(), expected)),
        }
    }
    match request.get("rateUnit") {
        None | Some(Value::Null) => {}
        Some(Value::String(unit)) if RateUnit::parse(unit).is_some() => {
            limits.insert("rateUnit".into(), json!(unit));
        }
        Some(value) => errors.push(AttributeError::invalid(
            "rateUnit",
            value.clone(),
            "Second, Minute, Hour, Day or Month",
        )),
    }
    match request.get("dataTypeList") {
        None | Some(Value::Null) => {}
        Some(Value::Array(types)) if types.iter().all(Value::is_string) => {
            limits.insert("dataTypeList".into(), Value::Array(types.clone()));
        }
        Some(value) => errors.push(AttributeError::invalid(
            "dataTypeList",
            value.clone(),
            "list of strings",
        )),
    }
    limits
}

fn configuration_of(request: &Map<String, Value>) -> Result<Map<String, Value>> {
    match request.get("configuration") {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(configuration)) => Ok(configuration.clone()),
        Some(Value::String(text)) => match serde_json::from_str(text) {
            Ok(Value::Object(configuration)) => Ok(configuration),
            _ => Err(JobsError::invalid(
                "worker",
                AttributeError::invalid("configuration", json!(text), "object"),
            )),
        },
        Some(other) => Err(JobsError::invalid(
            "worker",
            AttributeError::invalid("configuration", other.clone(), "object"),
        )),
    }
}

/// Enables `definition` in the caller's organisation.
pub async fn enable(
    store: &dyn Store,
    caller: &Identity,
    definition: &Definition,
    request: &Map<String, Value>,
    defaults: WorkerDefaults,
) -> Result<Worker> {
    let name = match request.get("name") {
        Some(Value::String(name)) if !name.trim().is_empty() => name.trim().to_owned(),
        _ => definition.id.clone(),
    };
    let items = all_items(definition, defaults.cache_minutes, defaults.timeout_minutes);
    let configuration =
        validate(&items, &configuration_of(request)?).map_err(JobsError::configuration)?;
    let mut errors = Vec::new();
    let limits = limits_of(request, &mut errors);
    if !errors.is_empty() {
        return Err(JobsError::InvalidAttributes {
            table: "worker",
            errors,
        });
    }
    let id = worker_id(&caller.organization, &name, definition.kind);
    let mut body = Map::new();
    body.insert("name".into(), json!(name));
    body.insert("workerDefinitionId".into(), json!(definition.id));
    body.insert("version".into(), json!(definition.version));
    body.insert("description".into(), json!(definition.description));
    body.insert("author".into(), json!(definition.author));
    body.insert("url".into(), json!(definition.url));
    body.insert("license".into(), json!(definition.license));
    if let Some(command) = &definition.command {
        body.insert(
            "command".into(),
            json!(definition.root.join(command).display().to_string()),
        );
    }
    if let Some(image) = &definition.docker_image {
        body.insert("dockerImage".into(), json!(image));
    }
    body.insert("dataTypeList".into(), json!(definition.data_type_list));
    body.insert("baseConfig".into(), json!(definition.base_config));
    body.insert("type".into(), json!(definition.kind.as_str()));
    body.extend(limits);
    body.insert("configuration".into(), Value::Object(configuration));
    body.insert("organization".into(), json!(caller.organization));
    body.insert("createdBy".into(), json!(caller.login));
    body.insert("createdAt".into(), json!(now_ms()));
    let document = NewDocument {
        id: Some(id.clone()),
        parent: Some(caller.organization.to_string()),
        body,
    };
    match store.put(WORKER_KIND, document).await {
        Ok(document) => {
            tracing::info!(worker_id = %id, organization = %caller.organization, "worker enabled");
            Ok(Worker::from_document(document))
        }
        Err(error) if error.is_duplicate() => Err(JobsError::Conflict {
            message: format!(
                "worker {name} is already enabled in organization {}",
                caller.organization
            ),
            object: json!({"name": name, "workerDefinitionId": definition.id}),
        }),
        Err(error) => Err(error.into()),
    }
}

/// Reads a worker of `kind` in the caller's organisation (404 otherwise).
pub async fn get(
    store: &dyn Store,
    organization: &OrgId,
    kind: WorkerKind,
    id: &str,
) -> Result<Worker> {
    let not_found = || JobsError::not_found(kind.as_str(), id);
    let document = match store.get(WORKER_KIND, id).await {
        Ok(document) => document,
        Err(skep_store::StoreError::NotFound { .. }) => return Err(not_found()),
        Err(error) => return Err(error.into()),
    };
    let worker = Worker::from_document(document);
    let same_org =
        worker.body.get("organization").and_then(Value::as_str) == Some(organization.as_str());
    if !same_org || worker.kind() != kind {
        return Err(not_found());
    }
    Ok(worker)
}

/// Searches the workers of `kind` in the organisation.
pub async fn search(
    store: &dyn Store,
    organization: &OrgId,
    kind: WorkerKind,
    query: Query,
    page: Page,
    sort: &[Sort],
) -> Result<(Vec<Worker>, u64)> {
    let scoped = Query::eq("organization", organization.as_str())
        .and(Query::eq("type", kind.as_str()))
        .and(query);
    let hits = store.search(WORKER_KIND, &scoped, page, sort).await?;
    Ok((
        hits.documents
            .into_iter()
            .map(Worker::from_document)
            .collect(),
        hits.total,
    ))
}

const READ_ONLY: [&str; 12] = [
    "id",
    "_id",
    "workerDefinitionId",
    "analyzerDefinitionId",
    "type",
    "organization",
    "version",
    "author",
    "url",
    "license",
    "command",
    "baseConfig",
];

/// Updates a worker's name, configuration and limits.
pub async fn update(
    store: &dyn Store,
    caller: &Identity,
    kind: WorkerKind,
    id: &str,
    request: &Map<String, Value>,
    definition: Option<&Definition>,
    defaults: WorkerDefaults,
) -> Result<Worker> {
    let worker = get(store, &caller.organization, kind, id).await?;
    let mut errors: Vec<AttributeError> = request
        .iter()
        .filter(|(key, _)| READ_ONLY.contains(&key.as_str()))
        .map(|(key, value)| AttributeError::read_only(key, value.clone()))
        .collect();
    let limits = limits_of(request, &mut errors);
    if !errors.is_empty() {
        return Err(JobsError::InvalidAttributes {
            table: "worker",
            errors,
        });
    }
    let mut body = worker.body.clone();
    if let Some(Value::String(name)) = request.get("name") {
        body.insert("name".into(), json!(name));
    }
    if request.contains_key("configuration") {
        let mut configuration = worker.configuration();
        configuration.extend(configuration_of(request)?);
        let configuration = match definition {
            Some(definition) => {
                let items = all_items(definition, defaults.cache_minutes, defaults.timeout_minutes);
                validate(&items, &configuration).map_err(JobsError::configuration)?
            }
            None => configuration,
        };
        body.insert("configuration".into(), Value::Object(configuration));
    }
    for key in ["rate", "rateUnit", "jobCache", "jobTimeout"] {
        if request.get(key) == Some(&Value::Null) {
            body.remove(key);
        }
    }
    body.extend(limits);
    body.insert("updatedBy".into(), json!(caller.login));
    body.insert("updatedAt".into(), json!(now_ms()));
    let document = store.update(WORKER_KIND, id, None, body).await?;
    Ok(Worker::from_document(document))
}

/// Removes a worker for good (its jobs remain).
pub async fn disable(
    store: &dyn Store,
    caller: &Identity,
    kind: WorkerKind,
    id: &str,
) -> Result<()> {
    get(store, &caller.organization, kind, id).await?;
    store
        .delete(WORKER_KIND, id, skep_store::DeleteMode::Hard)
        .await?;
    tracing::info!(worker_id = %id, organization = %caller.organization, "worker disabled");
    Ok(())
}

/// A base configuration: shared items of the definitions with one `baseConfig`, and the
/// organisation's saved values.
#[derive(Debug, Clone)]
pub struct BaseConfig {
    /// `global` or a `baseConfig` name.
    pub name: String,
    /// Definition names sharing it.
    pub workers: Vec<String>,
    /// Its items (all optional).
    pub items: Vec<ConfigurationItem>,
    /// Saved values.
    pub config: Map<String, Value>,
}

impl BaseConfig {
    /// The wire shape.
    pub fn to_json(&self) -> Value {
        json!({
            "name": self.name,
            "workers": self.workers,
            "configurationItems": self.items,
            "config": self.config,
        })
    }
}

fn base_config_templates(
    catalog: &Catalog,
    kind: WorkerKind,
    defaults: WorkerDefaults,
) -> Vec<BaseConfig> {
    let mut groups: BTreeMap<String, BaseConfig> = BTreeMap::new();
    for definition in catalog.iter() {
        if definition.configuration_items.is_empty() {
            continue;
        }
        let group = groups
            .entry(definition.base_config.clone())
            .or_insert_with(|| BaseConfig {
                name: definition.base_config.clone(),
                workers: Vec::new(),
                items: Vec::new(),
                config: Map::new(),
            });
        if !group.workers.contains(&definition.name) {
            group.workers.push(definition.name.clone());
        }
        for item in &definition.configuration_items {
            if !group.items.iter().any(|known| known.name == item.name) {
                group.items.push(ConfigurationItem {
                    required: false,
                    ..item.clone()
                });
            }
        }
    }
    let global = BaseConfig {
        name: "global".into(),
        workers: Vec::new(),
        items: global_items(kind, defaults.cache_minutes, defaults.timeout_minutes)
            .into_iter()
            .map(|item| ConfigurationItem {
                default_value: None,
                ..item
            })
            .collect(),
        config: Map::new(),
    };
    std::iter::once(global)
        .chain(groups.into_values())
        .collect()
}

fn base_config_id(organization: &OrgId, kind: WorkerKind, name: &str) -> String {
    format!("{organization}|{}|{name}", kind.as_str())
}

/// Base configurations of the caller's organisation: `global` first, then by name.
pub async fn base_configs(
    store: &dyn Store,
    organization: &OrgId,
    catalog: &Catalog,
    kind: WorkerKind,
    defaults: WorkerDefaults,
) -> Result<Vec<BaseConfig>> {
    let saved = store
        .search(
            WORKER_CONFIG_KIND,
            &Query::eq("organization", organization.as_str()).and(Query::eq("type", kind.as_str())),
            Page::ALL,
            &[],
        )
        .await?;
    let mut configs = base_config_templates(catalog, kind, defaults);
    for document in saved.documents {
        let name = document
            .body
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if let Some(config) = configs.iter_mut().find(|config| config.name == name)
            && let Some(Value::Object(values)) = document.body.get("config")
        {
            config.config = values.clone();
        }
    }
    Ok(configs)
}

/// Validates and saves the values of one base configuration.
pub async fn save_base_config(
    store: &dyn Store,
    caller: &Identity,
    catalog: &Catalog,
    kind: WorkerKind,
    name: &str,
    request: &Map<String, Value>,
    defaults: WorkerDefaults,
) -> Result<BaseConfig> {
    let mut config = base_configs(store, &caller.organization, catalog, kind, defaults)
        .await?
        .into_iter()
        .find(|config| config.name == name)
        .ok_or_else(|| JobsError::not_found("base configuration", name))?;
    let given = match request.get("config") {
        Some(Value::Object(given)) => given.clone(),
        None | Some(Value::Null) => Map::new(),
        Some(other) => {
            return Err(JobsError::invalid(
                "workerConfig",
                AttributeError::invalid("config", other.clone(), "object"),
            ));
        }
    };
    let validated = validate(&config.items, &given).map_err(JobsError::configuration)?;
    let values: Map<String, Value> = validated
        .into_iter()
        .filter(|(key, value)| !value.is_null() && given.contains_key(key))
        .collect();
    let id = base_config_id(&caller.organization, kind, name);
    let mut body = Map::new();
    body.insert("name".into(), json!(name));
    body.insert("type".into(), json!(kind.as_str()));
    body.insert("organization".into(), json!(caller.organization));
    body.insert("config".into(), Value::Object(values.clone()));
    match store
        .update(WORKER_CONFIG_KIND, &id, None, body.clone())
        .await
    {
        Ok(_) => {}
        Err(skep_store::StoreError::NotFound { .. }) => {
            store
                .put(
                    WORKER_CONFIG_KIND,
                    NewDocument {
                        id: Some(id),
                        parent: None,
                        body,
                    },
                )
                .await?;
        }
        Err(error) => return Err(error.into()),
    }
    config.config = values;
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worker_ids_are_the_md5_of_org_name_and_type() {
        let id = worker_id(
            &OrgId::new("acme"),
            "TestAnalyzer_1_0",
            WorkerKind::Analyzer,
        );

        assert_eq!(
            id,
            hex::encode(Md5::digest("acme_TestAnalyzer_1_0_analyzer"))
        );
        assert_eq!(id.len(), 32);
    }

    #[test]
    fn rate_units_have_their_cortex_lengths() {
        assert_eq!(RateUnit::parse("Month").unwrap().seconds(), 2_592_000);
        assert_eq!(RateUnit::parse("day"), None);
    }
}
