//! The shipped flavor definitions: the keys the engine requires, a real worker behind each,
//! and ids that do not collide with the public Cortex catalog.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

fn definitions_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("definitions")
}

fn definition_files(kind: &str) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for directory in std::fs::read_dir(definitions_root().join(kind)).unwrap() {
        for file in std::fs::read_dir(directory.unwrap().path()).unwrap() {
            let path = file.unwrap().path();
            if path.extension().is_some_and(|e| e == "json") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

fn load(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn id(definition: &Value) -> String {
    format!(
        "{}_{}",
        definition["name"].as_str().unwrap(),
        definition["version"].as_str().unwrap().replace('.', "_")
    )
}

#[test]
fn every_definition_has_the_keys_the_engine_requires_and_names_a_real_worker() {
    let files: Vec<PathBuf> = definition_files("analyzers")
        .into_iter()
        .chain(definition_files("responders"))
        .collect();

    assert_eq!(files.len(), 7);
    for path in files {
        let definition = load(&path);
        for key in [
            "name",
            "version",
            "description",
            "author",
            "url",
            "license",
            "baseConfig",
            "command",
        ] {
            assert!(
                definition[key].is_string(),
                "{}: `{key}` must be a string",
                path.display()
            );
        }
        assert_eq!(definition["command"], "skep-worker", "{}", path.display());
        assert!(
            !definition["dataTypeList"].as_array().unwrap().is_empty(),
            "{}",
            path.display()
        );
        for item in definition["configurationItems"].as_array().unwrap() {
            for key in ["name", "description", "type"] {
                assert!(
                    item[key].is_string(),
                    "{}: item without `{key}`",
                    path.display()
                );
            }
            assert!(
                ["string", "text", "number", "boolean"].contains(&item["type"].as_str().unwrap())
            );
            assert!(
                item["multi"].is_boolean() && item["required"].is_boolean(),
                "{}",
                path.display()
            );
            assert!(
                item.get("default").is_none(),
                "{}: use defaultValue",
                path.display()
            );
        }
        let worker = definition["config"]["worker"].as_str().unwrap();
        assert!(
            skep_workers::WORKER_NAMES.contains(&worker),
            "{}: unknown worker {worker}",
            path.display()
        );
        let stem = path.file_stem().unwrap().to_str().unwrap();
        assert_eq!(
            definition["name"], stem,
            "the file is named after the flavor"
        );
    }
}

#[test]
fn responders_take_thehive_entities_and_analyzers_take_observables() {
    for path in definition_files("responders") {
        let types = load(&path)["dataTypeList"].to_string();
        assert!(types.contains("thehive:case"), "{}", path.display());
    }
    for path in definition_files("analyzers") {
        let types = load(&path)["dataTypeList"].to_string();
        assert!(!types.contains("thehive:"), "{}", path.display());
    }
}

/// Ids of the public catalog that share a name with a Skep flavor, snapshotted from the
/// catalog; the live catalog is checked as well when it is present on this machine.
const CATALOG_IDS_SNAPSHOT: &[&str] = &[
    "AbuseIPDB_2_0",
    "VirusTotal_GetReport_3_1",
    "VirusTotal_Scan_3_1",
    "VirusTotal_Rescan_3_1",
    "VirusTotal_DownloadSample_3_1",
    "FileInfo_8_0",
    "EmlParser_2_1",
    "ValidateObservable_1_0",
    "Mailer_1_0",
];
const CATALOG: &str = "/work/shared/data/cortex-analyzers-catalog";

fn catalog_ids() -> BTreeSet<String> {
    let mut ids: BTreeSet<String> = CATALOG_IDS_SNAPSHOT
        .iter()
        .map(|id| (*id).to_owned())
        .collect();
    for kind in ["analyzers", "responders"] {
        let Ok(directories) = std::fs::read_dir(Path::new(CATALOG).join(kind)) else {
            continue;
        };
        for directory in directories.flatten() {
            for file in std::fs::read_dir(directory.path())
                .into_iter()
                .flatten()
                .flatten()
            {
                let Ok(value) = serde_json::from_slice::<Value>(
                    &std::fs::read(file.path()).unwrap_or_default(),
                ) else {
                    continue;
                };
                let entries = match value {
                    Value::Array(entries) => entries,
                    single => vec![single],
                };
                for entry in entries
                    .iter()
                    .filter(|e| e["name"].is_string() && e["version"].is_string())
                {
                    ids.insert(id(entry));
                }
            }
        }
    }
    ids
}

/// Built-in workers that replace a catalog worker and so carry its name.
const REPLACING: &[&str] = &["Mailer_1_0"];

#[test]
fn built_in_replacements_carry_the_catalog_name_and_its_configuration_items() {
    let catalog_root = Path::new("/work/shared/data/cortex-analyzers-catalog");
    let mailer = load(&definitions_root().join("responders/Mailer/Mailer.json"));
    let theirs = load(&catalog_root.join("responders/Mailer/Mailer.json"));
    let names = |definition: &Value| -> BTreeSet<String> {
        definition["configurationItems"]
            .as_array()
            .unwrap()
            .iter()
            .map(|item| item["name"].as_str().unwrap().to_owned())
            .collect()
    };

    assert_eq!(id(&mailer), "Mailer_1_0");
    assert_eq!(mailer["baseConfig"], theirs["baseConfig"]);
    assert!(
        names(&mailer).is_superset(&names(&theirs)),
        "{:?} lacks some of {:?}",
        names(&mailer),
        names(&theirs)
    );
    assert!(catalog_ids().contains("Mailer_1_0"));
}

#[test]
fn definition_ids_do_not_collide_with_the_cortex_catalog() {
    let catalog = catalog_ids();

    let ours: Vec<String> = definition_files("analyzers")
        .iter()
        .chain(&definition_files("responders"))
        .map(|p| id(&load(p)))
        .collect();

    assert_eq!(
        ours.iter().collect::<BTreeSet<_>>().len(),
        ours.len(),
        "ids are unique: {ours:?}"
    );
    for id in ours.iter().filter(|id| !REPLACING.contains(&id.as_str())) {
        assert!(
            !catalog.contains(id),
            "{id} collides with a catalog definition"
        );
    }
}
