//! Worker definitions (Cortex "flavor" files) loaded from the configured folders, and the
//! in-memory catalogs of analyzers and responders that a rescan replaces.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Whether a worker analyzes observables or responds on TheHive entities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WorkerKind {
    /// Analyzer: observable in, report out.
    Analyzer,
    /// Responder: TheHive entity in, operations out.
    Responder,
}

impl WorkerKind {
    /// The lowercase wire name (`analyzer` or `responder`).
    pub fn as_str(self) -> &'static str {
        match self {
            WorkerKind::Analyzer => "analyzer",
            WorkerKind::Responder => "responder",
        }
    }

    /// Parses the wire name.
    pub fn parse(text: &str) -> Option<WorkerKind> {
        match text {
            "analyzer" => Some(WorkerKind::Analyzer),
            "responder" => Some(WorkerKind::Responder),
            _ => None,
        }
    }
}

/// Type of a configuration item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ItemType {
    /// A single-line string.
    String,
    /// A multi-line string.
    Text,
    /// A number.
    Number,
    /// A boolean.
    Boolean,
}

/// One configuration item a worker accepts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigurationItem {
    /// Key in the worker configuration.
    pub name: String,
    /// Human description.
    pub description: String,
    /// Value type.
    #[serde(rename = "type")]
    pub item_type: ItemType,
    /// Whether the value is a list of `item_type`.
    #[serde(default)]
    pub multi: bool,
    /// Whether a value is mandatory (when there is no default).
    #[serde(default)]
    pub required: bool,
    /// Value used when the configuration omits the item.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_value: Option<Value>,
}

/// A worker definition as read from a flavor file.
#[derive(Debug, Clone, PartialEq)]
pub struct Definition {
    /// `name_version` with every `.` replaced by `_`.
    pub id: String,
    /// Analyzer or responder.
    pub kind: WorkerKind,
    /// Flavor name.
    pub name: String,
    /// Flavor version.
    pub version: String,
    /// Description.
    pub description: String,
    /// Author.
    pub author: String,
    /// Home page.
    pub url: String,
    /// License.
    pub license: String,
    /// Accepted data types.
    pub data_type_list: Vec<String>,
    /// Command as written in the file (relative to the catalog root).
    pub command: Option<String>,
    /// Docker image (not run by this engine; shown for information).
    pub docker_image: Option<String>,
    /// Shared configuration group; defaults to `name`.
    pub base_config: String,
    /// Configuration items.
    pub configuration_items: Vec<ConfigurationItem>,
    /// Static configuration merged into each job's `config`.
    pub config: Map<String, Value>,
    /// Catalog root: the parent of the folder holding the definition file.
    pub root: PathBuf,
}

/// The fields of a flavor file Skep reads; the rest is catalog metadata.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FlavorFile {
    name: String,
    version: String,
    description: String,
    author: String,
    url: String,
    license: String,
    #[serde(default)]
    data_type_list: Vec<String>,
    #[serde(default)]
    command: Option<String>,
    #[serde(default)]
    docker_image: Option<String>,
    #[serde(default)]
    base_config: Option<String>,
    #[serde(default)]
    configuration_items: Vec<ConfigurationItem>,
    #[serde(default)]
    config: Map<String, Value>,
}

/// Builds a definition id from a name and version.
pub fn definition_id(name: &str, version: &str) -> String {
    format!("{name}_{version}").replace('.', "_")
}

impl Definition {
    fn from_flavor(flavor: FlavorFile, kind: WorkerKind, root: &Path) -> Definition {
        Definition {
            id: definition_id(&flavor.name, &flavor.version),
            kind,
            base_config: flavor.base_config.unwrap_or_else(|| flavor.name.clone()),
            name: flavor.name,
            version: flavor.version,
            description: flavor.description,
            author: flavor.author,
            url: flavor.url,
            license: flavor.license,
            data_type_list: flavor.data_type_list,
            command: flavor.command,
            docker_image: flavor.docker_image,
            configuration_items: flavor.configuration_items,
            config: flavor.config,
            root: root.to_path_buf(),
        }
    }

    /// The definition as listed by `GET /api/analyzerdefinition` (command shows the file name).
    pub fn to_json(&self) -> Value {
        let command = self.command.as_deref().map(|command| {
            Path::new(command)
                .file_name()
                .map_or(command.to_owned(), |name| {
                    name.to_string_lossy().into_owned()
                })
        });
        serde_json::json!({
            "id": self.id,
            "name": self.name,
            "version": self.version,
            "description": self.description,
            "dataTypeList": self.data_type_list,
            "author": self.author,
            "url": self.url,
            "license": self.license,
            "baseConfig": self.base_config,
            "configurationItems": self.configuration_items,
            "dockerImage": self.docker_image,
            "command": command,
        })
    }

    /// Where the command lives: relative to the catalog root, else in one of `bin_dirs`; a
    /// command that would resolve outside those folders (`..`, absolute paths, symlinks out)
    /// is refused. `None` when the definition has no command or the file is nowhere.
    pub fn resolve_command(&self, bin_dirs: &[PathBuf]) -> Option<PathBuf> {
        let command = self.command.as_deref()?;
        std::iter::once(&self.root)
            .chain(bin_dirs)
            .find_map(|folder| contained_file(folder, command))
    }
}

/// `folder/relative` as a canonical path, when it is a file inside `folder`.
fn contained_file(folder: &Path, relative: &str) -> Option<PathBuf> {
    let folder = folder.canonicalize().ok()?;
    let candidate = folder.join(relative).canonicalize().ok()?;
    (candidate.starts_with(&folder) && candidate.is_file()).then_some(candidate)
}

/// One catalog: the definitions of one kind by id.
#[derive(Debug, Default)]
pub struct Catalog {
    definitions: BTreeMap<String, Arc<Definition>>,
}

impl Catalog {
    /// Loads every definition reachable from `paths`. Folders contribute every `*/*.json` one
    /// level deep, files are read directly; each file holds a definition object or an array of
    /// them. Unreadable or malformed entries are skipped with a logged reason.
    pub fn load(kind: WorkerKind, paths: &[PathBuf]) -> Catalog {
        let mut catalog = Catalog::default();
        for path in paths {
            if path.is_dir() {
                for file in flavor_files(path) {
                    catalog.load_file(kind, &file);
                }
            } else {
                catalog.load_file(kind, path);
            }
        }
        tracing::info!(
            kind = kind.as_str(),
            definitions = catalog.definitions.len(),
            "worker catalog loaded"
        );
        catalog
    }

    fn load_file(&mut self, kind: WorkerKind, file: &Path) {
        let root = file
            .parent()
            .and_then(Path::parent)
            .unwrap_or_else(|| Path::new("/"));
        let text = match std::fs::read(file) {
            Ok(text) => text,
            Err(error) => {
                tracing::warn!(file = %file.display(), %error, "worker definition skipped: unreadable");
                return;
            }
        };
        let entries = match serde_json::from_slice::<Value>(&text) {
            Ok(Value::Array(entries)) => entries,
            Ok(entry @ Value::Object(_)) => vec![entry],
            Ok(_) => {
                tracing::warn!(file = %file.display(), "worker definition skipped: not a JSON object or array");
                return;
            }
            Err(error) => {
                tracing::warn!(file = %file.display(), %error, "worker definition skipped: invalid JSON");
                return;
            }
        };
        for entry in entries {
            match serde_json::from_value::<FlavorFile>(entry) {
                Ok(flavor) => {
                    let definition = Definition::from_flavor(flavor, kind, root);
                    if let Some(replaced) = self
                        .definitions
                        .insert(definition.id.clone(), Arc::new(definition))
                    {
                        log_replacement_once(kind, &replaced.id, file);
                    }
                }
                Err(error) => {
                    tracing::warn!(file = %file.display(), %error, "worker definition skipped: not a definition");
                }
            }
        }
    }

    /// Number of definitions.
    pub fn len(&self) -> usize {
        self.definitions.len()
    }

    /// True when no definition loaded.
    pub fn is_empty(&self) -> bool {
        self.definitions.is_empty()
    }

    /// One definition by id.
    pub fn get(&self, id: &str) -> Option<Arc<Definition>> {
        self.definitions.get(id).cloned()
    }

    /// Every definition, by id.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Definition>> {
        self.definitions.values()
    }
}

/// Logs, once per process, that a definition read from `file` replaces an earlier one of the
/// same id (a catalog folder's `Mailer_1_0` replacing the built-in one); rescans stay quiet.
fn log_replacement_once(kind: WorkerKind, id: &str, file: &Path) {
    static LOGGED: std::sync::Mutex<Option<std::collections::HashSet<String>>> =
        std::sync::Mutex::new(None);
    let key = format!("{}:{id}:{}", kind.as_str(), file.display());
    let first = LOGGED
        .lock()
        .map(|mut logged| logged.get_or_insert_with(Default::default).insert(key))
        .unwrap_or(false);
    if first {
        tracing::info!(kind = kind.as_str(), id, file = %file.display(), "worker definition replaces an earlier one of the same id (a built-in worker is replaced by a catalog folder's)");
    }
}

/// Every `*/*.json` under `folder`, sorted for a stable load order.
fn flavor_files(folder: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let Ok(entries) = std::fs::read_dir(folder) else {
        tracing::warn!(folder = %folder.display(), "worker folder unreadable");
        return files;
    };
    for entry in entries.flatten() {
        let sub = entry.path();
        if !sub.is_dir() {
            continue;
        }
        let Ok(inner) = std::fs::read_dir(&sub) else {
            continue;
        };
        files.extend(
            inner
                .flatten()
                .map(|file| file.path())
                .filter(|file| file.is_file() && file.extension().is_some_and(|ext| ext == "json")),
        );
    }
    files.sort();
    files
}

/// The analyzer and responder catalogs, replaced as a whole by a rescan.
#[derive(Debug)]
pub struct Catalogs {
    analyzer_paths: Vec<PathBuf>,
    responder_paths: Vec<PathBuf>,
    analyzers: RwLock<Arc<Catalog>>,
    responders: RwLock<Arc<Catalog>>,
}

impl Catalogs {
    /// Loads both catalogs from their folders.
    pub fn load(analyzer_paths: Vec<PathBuf>, responder_paths: Vec<PathBuf>) -> Catalogs {
        let analyzers = Catalog::load(WorkerKind::Analyzer, &analyzer_paths);
        let responders = Catalog::load(WorkerKind::Responder, &responder_paths);
        Catalogs {
            analyzer_paths,
            responder_paths,
            analyzers: RwLock::new(Arc::new(analyzers)),
            responders: RwLock::new(Arc::new(responders)),
        }
    }

    /// The current catalog of one kind.
    pub fn of(&self, kind: WorkerKind) -> Arc<Catalog> {
        let lock = match kind {
            WorkerKind::Analyzer => &self.analyzers,
            WorkerKind::Responder => &self.responders,
        };
        match lock.read() {
            Ok(catalog) => catalog.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Re-reads the folders of one kind and replaces its catalog.
    pub fn rescan(&self, kind: WorkerKind) {
        let (paths, lock) = match kind {
            WorkerKind::Analyzer => (&self.analyzer_paths, &self.analyzers),
            WorkerKind::Responder => (&self.responder_paths, &self.responders),
        };
        let fresh = Arc::new(Catalog::load(kind, paths));
        match lock.write() {
            Ok(mut catalog) => *catalog = fresh,
            Err(poisoned) => *poisoned.into_inner() = fresh,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CATALOG: &str = "/work/shared/data/cortex-analyzers-catalog";

    #[test]
    fn definition_ids_replace_dots() {
        assert_eq!(
            definition_id("Urlscan.io_Scan", "0.2.0"),
            "Urlscan_io_Scan_0_2_0"
        );
        assert_eq!(definition_id("AbuseIPDB", "2.0"), "AbuseIPDB_2_0");
    }

    #[test]
    fn the_whole_cortex_analyzers_catalog_loads() {
        if !Path::new(CATALOG).is_dir() {
            return;
        }

        let analyzers = Catalog::load(
            WorkerKind::Analyzer,
            &[format!("{CATALOG}/analyzers").into()],
        );
        let responders = Catalog::load(
            WorkerKind::Responder,
            &[format!("{CATALOG}/responders").into()],
        );

        assert_eq!(analyzers.len() + responders.len(), 431);
        let virus_total = analyzers.get("VirusTotal_GetReport_3_1").unwrap();
        assert_eq!(virus_total.base_config, "VirusTotal");
        assert_eq!(virus_total.root, Path::new(CATALOG).join("analyzers"));
        assert_eq!(virus_total.to_json()["command"], "virustotal.py");
    }

    #[test]
    fn commands_resolve_inside_the_catalog_root_only() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("Tool")).unwrap();
        std::fs::write(root.path().join("Tool/run.py"), "").unwrap();
        let mut definition = Definition::from_flavor(
            serde_json::from_value(
                serde_json::json!({"name": "T", "version": "1", "description": "d",
                "author": "a", "url": "u", "license": "l", "command": "Tool/run.py"}),
            )
            .unwrap(),
            WorkerKind::Analyzer,
            root.path(),
        );

        let inside = definition.resolve_command(&[]);
        definition.command = Some("../../../../../../bin/sh".into());
        let escaping = definition.resolve_command(&[]);

        assert_eq!(
            inside,
            Some(root.path().canonicalize().unwrap().join("Tool/run.py"))
        );
        assert_eq!(escaping, None);
    }

    #[test]
    fn malformed_files_are_skipped_and_arrays_load() {
        let root = tempfile::tempdir().unwrap();
        let folder = root.path().join("Mixed");
        std::fs::create_dir(&folder).unwrap();
        std::fs::write(folder.join("broken.json"), "{not json").unwrap();
        std::fs::write(folder.join("other.json"), r#"{"hello": "world"}"#).unwrap();
        std::fs::write(
            folder.join("two.json"),
            r#"[{"name":"A","version":"1.0","description":"d","author":"a","url":"u","license":"l"},
                {"name":"B","version":"2.1","description":"d","author":"a","url":"u","license":"l",
                 "baseConfig":"Shared"}]"#,
        )
        .unwrap();

        let catalog = Catalog::load(WorkerKind::Analyzer, &[root.path().to_path_buf()]);

        assert_eq!(catalog.len(), 2);
        assert_eq!(catalog.get("A_1_0").unwrap().base_config, "A");
        assert_eq!(catalog.get("B_2_1").unwrap().base_config, "Shared");
    }
}
