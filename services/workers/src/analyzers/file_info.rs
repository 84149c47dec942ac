//! The file analyzer: type from magic bytes, size, hashes, entropy, ZIP entries, and printable
//! strings that look like observables (returned as artifacts).

use std::collections::BTreeMap;

use serde_json::{Map, json};

use crate::content;
use crate::error::WorkerError;
use crate::extract::Extractor;
use crate::job::Job;
use crate::report::{AnalyzerReport, Artifact, Level, Taxonomy};

const NAMESPACE: &str = "FileInfo";
/// Files above this size are refused.
const MAX_FILE_SIZE: u64 = 200 * 1024 * 1024;
const MIN_STRING_LENGTH: usize = 6;
const MAX_STRINGS: usize = 50_000;
const STRING_SAMPLE: usize = 50;
const MAX_ARTIFACTS: usize = 100;
/// Entropy above this, on an executable, usually means packed or encrypted content.
const HIGH_ENTROPY: f64 = 7.2;

/// Analyzes the job's file.
pub fn analyze(job: &Job) -> Result<AnalyzerReport, WorkerError> {
    let data_type = job.data_type()?;
    if data_type != "file" {
        return Err(WorkerError::UnsupportedDataType {
            data_type: data_type.into(),
            supported: "file",
        });
    }
    let bytes = job.read_file(MAX_FILE_SIZE)?;
    let file_type = content::file_type(&bytes);
    let entropy = content::entropy(&bytes);
    let hashes = content::hashes(&bytes);
    let strings = content::printable_strings(&bytes, MIN_STRING_LENGTH, MAX_STRINGS);
    let found = Extractor::new().find(&strings.join("\n"));

    let mut observables: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for item in &found {
        observables
            .entry(item.data_type)
            .or_default()
            .push(&item.value);
    }
    let mut full = Map::new();
    full.insert("filename".into(), json!(job.filename()));
    full.insert("size".into(), json!(bytes.len()));
    full.insert("hashes".into(), json!(hashes));
    full.insert("type".into(), json!(file_type));
    full.insert("entropy".into(), json!(entropy));
    full.insert("strings".into(), json!({"count": strings.len(), "sample": strings.iter().take(STRING_SAMPLE).collect::<Vec<_>>()}));
    full.insert("observables".into(), json!(observables));
    if bytes.starts_with(b"PK") {
        full.insert(
            "zip_entries".into(),
            json!(
                content::zip_entry_names(&bytes)
                    .into_iter()
                    .take(1000)
                    .collect::<Vec<_>>()
            ),
        );
    }

    let entropy_level = if file_type.executable && entropy > HIGH_ENTROPY {
        Level::Suspicious
    } else {
        Level::Info
    };
    let taxonomies = vec![
        Taxonomy::new(
            Level::Info,
            NAMESPACE,
            "Type",
            file_type.description.clone(),
        ),
        Taxonomy::new(Level::Info, NAMESPACE, "Size", bytes.len()),
        Taxonomy::new(entropy_level, NAMESPACE, "Entropy", format!("{entropy:.2}")),
        Taxonomy::new(Level::Info, NAMESPACE, "Observables", found.len()),
    ];
    let artifacts = found
        .iter()
        .filter(|item| {
            item.value != hashes.md5 && item.value != hashes.sha1 && item.value != hashes.sha256
        })
        .take(MAX_ARTIFACTS)
        .map(|item| {
            Artifact::data(
                item.data_type,
                item.value.clone(),
                "found in the file's strings",
                &["file-strings"],
            )
        })
        .collect();
    Ok(AnalyzerReport {
        taxonomies,
        full,
        artifacts,
        ..AnalyzerReport::default()
    })
}
