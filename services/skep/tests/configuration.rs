//! The configuration reference cannot drift from the code: every key of every service's
//! configuration struct (found by `skep_config::keys`, not a hand-kept list) appears in
//! `docs/configuration.md` and in its `deploy/*.example.toml`, nothing else does, and every
//! default they show loads to exactly the struct's `Default` (compared through `Debug`, which
//! prints every field).
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Debug;

use serde::de::DeserializeOwned;
use skep::LauncherConfig;
use skep_cases::CasesConfig;
use skep_engine::EngineConfig;

fn read(path: &str) -> String {
    std::fs::read_to_string(skep_testkit::workspace_root().join(path))
        .unwrap_or_else(|error| panic!("{path}: {error}"))
}

/// The keys set to a value in configuration type `T` (lists of tables count once, by their
/// list key).
fn code_keys<T: DeserializeOwned>() -> BTreeSet<String> {
    skep_config::keys::<T>()
        .into_iter()
        .filter(|key| key.is_leaf() && !key.path.contains("[]"))
        .map(|key| key.path)
        .collect()
}

/// Loads TOML `text` as a configuration of type `T`, with no variables.
fn load<T: DeserializeOwned>(text: &str) -> Result<T, skep_config::ConfigError> {
    let file = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
    std::fs::write(file.path(), text).unwrap();
    skep_config::load(Some(file.path()), &HashMap::new())
}

fn debug<T: Debug>(value: &T) -> String {
    format!("{value:#?}")
}

/// The keys an example file shows, set or commented out (`# key = …` under `[section]` or
/// `# [section]`), with the text of those that are set.
fn example_keys(text: &str) -> (BTreeSet<String>, BTreeMap<String, String>) {
    let mut section = String::new();
    let mut shown = BTreeSet::new();
    let mut set = BTreeMap::new();
    for line in text.lines() {
        let commented = line.trim_start().starts_with('#');
        let bare = line.trim_start().trim_start_matches('#').trim();
        if let Some(name) = bare
            .strip_prefix("[[")
            .and_then(|rest| rest.strip_suffix("]]"))
        {
            // A list of tables: its keys live in the list, which counts as one key.
            shown.insert(name.to_owned());
            section = format!("{name}[]");
            continue;
        }
        if let Some(name) = bare
            .strip_prefix('[')
            .and_then(|rest| rest.strip_suffix(']'))
        {
            section = name.to_owned();
            continue;
        }
        let Some((key, value)) = bare.split_once('=') else {
            continue;
        };
        let key = key.trim();
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
            continue;
        }
        if section.ends_with("[]") {
            continue;
        }
        let path = if section.is_empty() {
            key.to_owned()
        } else {
            format!("{section}.{key}")
        };
        shown.insert(path.clone());
        if !commented {
            set.insert(path, value.trim().to_owned());
        }
    }
    (shown, set)
}

/// Checks an example file against `T`: the same keys, and the values it sets are the defaults.
fn check_example<T: DeserializeOwned + Default + Debug>(path: &str, not_shown: &[&str]) {
    let text = read(path);
    let (shown, set) = example_keys(&text);
    let mut expected = code_keys::<T>();
    for key in not_shown {
        expected.remove(*key);
    }
    let missing: Vec<_> = expected.difference(&shown).collect();
    let unknown: Vec<_> = shown.difference(&expected).collect();
    assert!(
        missing.is_empty() && unknown.is_empty(),
        "{path}: keys of the code not shown: {missing:?}; keys shown the code lacks: {unknown:?}"
    );
    let defaults = debug(&T::default());
    let loaded = load::<T>(&text).unwrap_or_else(|error| panic!("{path}: {error}"));
    if debug(&loaded) != defaults {
        let differing: Vec<String> = set
            .iter()
            .filter(|(key, value)| {
                load::<T>(&format!("{key} = {value}"))
                    .map(|one| debug(&one) != defaults)
                    .unwrap_or(true)
            })
            .map(|(key, value)| format!("{key} = {value}"))
            .collect();
        panic!("{path} shows values that are not the defaults in code: {differing:?}");
    }
}

/// The rows of the tables of `docs/configuration.md`, as (service part, key, default), where the
/// part is `shared`, `cases`, `engine` or `launcher` from the headings, and keys of the shared
/// `[http]`, `[store]`, `[store.elasticsearch]` tables get their section prefix.
fn documented_rows() -> Vec<(String, String, String)> {
    let text = read("docs/configuration.md");
    let mut part = String::new();
    let mut prefix = String::new();
    let mut rows = Vec::new();
    for line in text.lines() {
        if let Some(heading) = line.strip_prefix("## ") {
            let lower = heading.to_ascii_lowercase();
            part = ["shared", "cases", "engine", "launcher", "ingest"]
                .into_iter()
                .find(|name| lower.starts_with(name))
                .unwrap_or("")
                .to_owned();
            prefix.clear();
        } else if let Some(heading) = line.strip_prefix("### ") {
            prefix = heading
                .split('`')
                .nth(1)
                .and_then(|name| name.strip_prefix('['))
                .and_then(|name| name.strip_suffix(']'))
                .map(|name| format!("{name}."))
                .unwrap_or_default();
        } else if line.starts_with("| `") && !part.is_empty() {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let key = cells[1].trim_matches('`');
            rows.push((
                part.clone(),
                format!("{prefix}{key}"),
                cells.get(2).copied().unwrap_or_default().to_owned(),
            ));
        }
    }
    rows
}

/// Checks that the reference documents exactly the keys of `T` (shared tables plus the part
/// `part`), and that every default written as one TOML value in backquotes is the code's.
fn check_documented<T: DeserializeOwned + Default + Debug>(part: &str) {
    let rows: Vec<_> = documented_rows()
        .into_iter()
        .filter(|(row_part, _, _)| row_part == "shared" || row_part == part)
        .collect();
    let documented: BTreeSet<String> = rows.iter().map(|(_, key, _)| key.clone()).collect();
    let expected = code_keys::<T>();
    let missing: Vec<_> = expected.difference(&documented).collect();
    let unknown: Vec<_> = documented.difference(&expected).collect();
    assert!(
        missing.is_empty() && unknown.is_empty(),
        "docs/configuration.md ({part}): undocumented keys {missing:?}; documented keys the code \
         lacks {unknown:?}"
    );
    let defaults = debug(&T::default());
    let mut checked = 0;
    for (_, key, default) in &rows {
        let parts: Vec<&str> = default.split('`').collect();
        // Exactly one backquoted value, optionally followed by a parenthesised remark.
        if parts.len() != 3
            || !parts[0].is_empty()
            || parts[2].starts_with(|c: char| c != ' ' && c != '(')
        {
            continue;
        }
        let Ok(one) = load::<T>(&format!("{key} = {}", parts[1])) else {
            continue;
        };
        assert_eq!(
            debug(&one),
            defaults,
            "docs/configuration.md: `{key}` is documented with default {default}, which is not \
             the code's"
        );
        checked += 1;
    }
    assert!(
        checked >= 10,
        "only {checked} documented defaults could be checked for {part}"
    );
}

#[test]
fn the_cases_example_file_shows_every_key_with_the_code_defaults() {
    check_example::<CasesConfig>("deploy/cases.example.toml", &[]);
}

#[test]
fn the_engine_example_file_shows_every_key_with_the_code_defaults() {
    check_example::<EngineConfig>("deploy/engine.example.toml", &[]);
}

#[test]
fn the_launcher_example_file_shows_every_key_with_the_code_defaults() {
    // The launcher runs every service in its top-level data_dir and refuses a service's own.
    check_example::<LauncherConfig>(
        "deploy/skep.example.toml",
        &["cases.data_dir", "engine.data_dir"],
    );
}

#[test]
fn the_reference_documents_every_cases_key_with_its_default() {
    check_documented::<CasesConfig>("cases");
}

#[test]
fn the_reference_documents_every_engine_key_with_its_default() {
    check_documented::<EngineConfig>("engine");
}

#[test]
fn a_drifted_default_is_caught() {
    let drifted =
        read("deploy/cases.example.toml").replace("max_attempts = 10", "max_attempts = 8");
    let loaded: CasesConfig = load(&drifted).unwrap();

    assert_ne!(debug(&loaded), debug(&CasesConfig::default()));
    let (shown, set) = example_keys(&drifted);
    assert!(shown.contains("webhooks.max_attempts") && shown.contains("engine.url"));
    assert_eq!(set["webhooks.max_attempts"], "8");
    assert!(
        !set.contains_key("engine.url"),
        "commented keys are shown, not set"
    );
}

#[test]
fn the_launcher_refuses_a_services_own_data_dir_and_runs_both_in_its_own() {
    let config: LauncherConfig =
        load("data_dir = \"/srv/skep\"\n[engine]\ndata_dir = \"/elsewhere\"\n").unwrap();

    let problems: Vec<Option<String>> = config
        .problems()
        .iter()
        .map(|problem| problem.key().map(str::to_owned))
        .collect();
    assert_eq!(problems, [Some("engine.data_dir".to_owned())]);

    let fine: LauncherConfig = load("data_dir = \"/srv/skep\"\n").unwrap();
    assert!(fine.problems().is_empty());
    let (cases, engine) = fine.services();
    assert_eq!(cases.data_dir, std::path::Path::new("/srv/skep"));
    assert_eq!(engine.data_dir, std::path::Path::new("/srv/skep"));
    assert_eq!(cases.bootstrap.admin_login.as_deref(), Some("admin"));
    assert_eq!(engine.bootstrap.admin_login, "admin");
}
