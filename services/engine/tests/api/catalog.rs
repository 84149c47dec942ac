//! Worker definitions: catalog loading, listing and rescans.

use std::path::Path;

use serde_json::json;

use crate::helpers::{TestApp, status_and_json};
use crate::worker_fixture::{Fixture, org_with_users};

const CORTEX_CATALOG: &str = "/work/shared/data/cortex-analyzers-catalog";

fn total(response: &reqwest::Response) -> u64 {
    let header = response.headers()["x-total"]
        .to_str()
        .expect("X-Total is text");
    header.parse().expect("X-Total is a number")
}

/// Ids of the built-in definitions shipped in `services/workers/definitions`.
#[allow(clippy::unwrap_used)] // Test support: an unreadable definition folder fails the test.
fn builtin_ids() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../workers/definitions");
    let mut ids = Vec::new();
    for kind in ["analyzers", "responders"] {
        for folder in std::fs::read_dir(root.join(kind)).unwrap() {
            for file in std::fs::read_dir(folder.unwrap().path()).unwrap() {
                let path = file.unwrap().path();
                if path.extension().is_some_and(|ext| ext == "json") {
                    let definition: serde_json::Value =
                        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
                    ids.push(format!(
                        "{}_{}",
                        definition["name"].as_str().unwrap(),
                        definition["version"].as_str().unwrap().replace('.', "_")
                    ));
                }
            }
        }
    }
    ids
}

#[tokio::test]
async fn all_431_definitions_of_the_cortex_analyzers_catalog_are_listed() {
    let catalog = Path::new(CORTEX_CATALOG);
    assert!(
        catalog.is_dir(),
        "the Cortex-Analyzers catalog is missing at {CORTEX_CATALOG}"
    );
    let app = TestApp::spawn_with(|config| {
        config.workers.analyzer_paths = vec![catalog.join("analyzers")];
        config.workers.responder_paths = vec![catalog.join("responders")];
    })
    .await;
    let (_, admin, _, _) = org_with_users(&app).await;

    let analyzers = app.get_as(&admin, "/api/analyzerdefinition").await;
    let responders = app.get_as(&admin, "/api/responderdefinition").await;

    // The built-in workers stay available next to the catalog's 431 definitions; the catalog's
    // own Mailer_1_0 replaces the built-in one of the same name.
    let builtin = builtin_ids();
    let replaced = builtin.iter().filter(|id| *id == "Mailer_1_0").count();
    assert_eq!(replaced, 1, "{builtin:?}");
    assert_eq!(
        total(&analyzers) + total(&responders),
        431 + builtin.len() as u64 - 1
    );
    let (_, responders) = status_and_json(responders).await;
    let mailer = responders
        .as_array()
        .unwrap()
        .iter()
        .find(|definition| definition["id"] == "Mailer_1_0")
        .unwrap();
    assert_eq!(
        mailer["command"], "mailer.py",
        "the folder's definition wins"
    );
    let (_, analyzers) = status_and_json(analyzers).await;
    assert!(
        analyzers
            .as_array()
            .unwrap()
            .iter()
            .any(|definition| definition["id"] == "ObservableSanity_1_0"),
        "built-in analyzers stay available"
    );
    let virus_total = analyzers
        .as_array()
        .unwrap()
        .iter()
        .find(|definition| definition["id"] == "VirusTotal_GetReport_3_1")
        .unwrap();
    assert_eq!(virus_total["command"], "virustotal.py");
    assert_eq!(virus_total["baseConfig"], "VirusTotal");
    assert_eq!(virus_total["configurationItems"][0]["name"], "key");
}

#[tokio::test]
async fn a_rescan_picks_up_a_new_definition() {
    let fixture = Fixture::spawn().await;
    let folder = fixture.catalog.path().join("analyzers/Fresh");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(
        folder.join("Fresh.json"),
        json!({"name": "Fresh", "version": "2.0.1", "description": "d", "author": "a",
               "url": "u", "license": "l", "command": "Fresh/fresh.py"})
        .to_string(),
    )
    .unwrap();

    let response = fixture
        .app
        .post_as(&fixture.admin, "/api/analyzerdefinition/scan", &json!({}))
        .await;

    assert_eq!(response.status().as_u16(), 204);
    let (_, definitions) = status_and_json(
        fixture
            .app
            .get_as(&fixture.admin, "/api/analyzerdefinition")
            .await,
    )
    .await;
    assert!(
        definitions
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["id"] == "Fresh_2_0_1")
    );
}

#[tokio::test]
async fn an_analyst_cannot_list_definitions() {
    let fixture = Fixture::spawn().await;

    let response = fixture
        .app
        .get_as(&fixture.analyst, "/api/analyzerdefinition")
        .await;

    assert_eq!(response.status().as_u16(), 403);
}
