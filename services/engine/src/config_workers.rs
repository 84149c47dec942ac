//! The `[workers]` section of the engine configuration: where analyzers and responders are
//! found, where jobs run, and the limits the engine enforces on every job.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// Configuration of the analyzer/responder catalogs and of job execution.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct WorkersConfig {
    /// Folders (every `*/*.json` one level deep) or JSON files holding analyzer definitions.
    /// Default: the built-in analyzers shipped in `services/workers/definitions/analyzers` of the
    /// source tree this engine was built from, when that folder exists.
    pub analyzer_paths: Vec<PathBuf>,
    /// Folders or JSON files holding responder definitions. Default: the built-in responders
    /// (`services/workers/definitions/responders`), when that folder exists.
    pub responder_paths: Vec<PathBuf>,
    /// Where a definition's `command` is looked up when it is not found relative to its catalog
    /// root (the built-in `skep-worker` binary). Default: the folder of the running executable,
    /// then its parent.
    pub builtin_bin_dir: Option<PathBuf>,
    /// Folder in which job folders are created. Default: `<data_dir>/jobs`.
    pub job_dir: Option<PathBuf>,
    /// Folder holding uploaded files and file artifacts (content-addressed by SHA-256).
    /// Default: `<data_dir>/datastore`.
    pub datastore_dir: Option<PathBuf>,
    /// Timeout, in minutes, of jobs whose worker sets no `jobTimeout`; fractions are allowed
    /// (workers' `jobTimeout` may be fractional too, e.g. `0.05` for 3 seconds).
    pub default_job_timeout_minutes: f64,
    /// Job cache window, in minutes, of analyzers whose worker sets no `jobCache`.
    pub default_cache_minutes: f64,
    /// How many jobs run at once. Default: the number of CPU cores.
    pub parallelism: Option<usize>,
    /// Keeps every job folder after the job ends (for debugging workers).
    pub keep_job_folder: bool,
    /// Seconds between two liveness marks of this engine instance; jobs left `InProgress` by an
    /// instance silent for three periods are ended as failures.
    pub heartbeat_seconds: f64,
    /// Password of the zip files served by `/api/datastorezip` (the cases service's key has
    /// the same name, `datastore.zip_password`).
    pub zip_password: String,
    /// Bytes of a worker's stderr kept for the error message of a failed job.
    pub stderr_tail_bytes: usize,
    /// Former name of `job_dir`, accepted for one release.
    #[serde(rename = "job_directory")]
    pub deprecated_job_directory: Option<PathBuf>,
    /// Former name of `datastore_dir`, accepted for one release.
    #[serde(rename = "datastore_directory")]
    pub deprecated_datastore_directory: Option<PathBuf>,
    /// Former name of `zip_password`, accepted for one release.
    #[serde(rename = "attachment_password")]
    pub deprecated_attachment_password: Option<String>,
}

impl Default for WorkersConfig {
    fn default() -> Self {
        WorkersConfig {
            analyzer_paths: builtin_definitions("analyzers").into_iter().collect(),
            responder_paths: builtin_definitions("responders").into_iter().collect(),
            builtin_bin_dir: None,
            job_dir: None,
            datastore_dir: None,
            default_job_timeout_minutes: 30.0,
            default_cache_minutes: 10.0,
            parallelism: None,
            keep_job_folder: false,
            heartbeat_seconds: 10.0,
            zip_password: "malware".to_owned(),
            stderr_tail_bytes: 4096,
            deprecated_job_directory: None,
            deprecated_datastore_directory: None,
            deprecated_attachment_password: None,
        }
    }
}

/// The built-in definitions folder of this source tree (resolved at compile time), if present.
fn builtin_definitions(kind: &str) -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../workers/definitions")
        .join(kind);
    path.is_dir().then_some(path)
}

/// A configuration value that cannot be used; names the key to fix.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("invalid configuration `workers.{key}`: {reason}")]
pub struct WorkersConfigError {
    /// The offending key.
    pub key: &'static str,
    /// What is wrong with it.
    pub reason: String,
}

fn positive(value: f64) -> bool {
    value.is_finite() && value > 0.0
}

impl WorkersConfig {
    /// Applies the former key names (they win only when set) and returns one warning per
    /// former name in use, naming the key to write instead.
    pub fn resolve_deprecated(&mut self) -> Vec<String> {
        let mut warnings = Vec::new();
        let mut warn = |old: &str, new: &str| {
            warnings.push(format!(
                "`workers.{old}` is deprecated; write `workers.{new}`"
            ));
        };
        if let Some(folder) = self.deprecated_job_directory.take() {
            self.job_dir = Some(folder);
            warn("job_directory", "job_dir");
        }
        if let Some(folder) = self.deprecated_datastore_directory.take() {
            self.datastore_dir = Some(folder);
            warn("datastore_directory", "datastore_dir");
        }
        if let Some(password) = self.deprecated_attachment_password.take() {
            self.zip_password = password;
            warn("attachment_password", "zip_password");
        }
        warnings
    }

    /// Checks the values that cannot be used (non-positive durations, missing catalog paths,
    /// zero parallelism).
    pub fn validate(&self) -> Result<(), WorkersConfigError> {
        let error = |key, reason: &str| {
            Err(WorkersConfigError {
                key,
                reason: reason.to_owned(),
            })
        };
        if !positive(self.default_job_timeout_minutes)
            || self.default_job_timeout_minutes > MAX_MINUTES
        {
            return error(
                "default_job_timeout_minutes",
                "must be greater than 0 and at most 527040 (one year)",
            );
        }
        if !(positive(self.default_cache_minutes) || self.default_cache_minutes == 0.0)
            || self.default_cache_minutes > MAX_MINUTES
        {
            return error(
                "default_cache_minutes",
                "must be 0 (no cache) up to 527040 (one year)",
            );
        }
        if !positive(self.heartbeat_seconds) || self.heartbeat_seconds > MAX_HEARTBEAT_SECONDS {
            return error(
                "heartbeat_seconds",
                "must be greater than 0 and at most 3600",
            );
        }
        if self.parallelism == Some(0) {
            return error(
                "parallelism",
                "must be at least 1 (or unset for the core count)",
            );
        }
        for (key, paths) in [
            ("analyzer_paths", &self.analyzer_paths),
            ("responder_paths", &self.responder_paths),
        ] {
            if let Some(missing) = paths.iter().find(|path| !path.exists()) {
                return Err(WorkersConfigError {
                    key,
                    reason: format!("`{}` does not exist", missing.display()),
                });
            }
        }
        Ok(())
    }

    /// Number of jobs run at once.
    pub fn effective_parallelism(&self) -> usize {
        self.parallelism.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
        })
    }

    /// The folders searched for a command missing from its catalog root, in order.
    pub fn builtin_bin_dirs(&self) -> Vec<PathBuf> {
        if let Some(dir) = &self.builtin_bin_dir {
            return vec![dir.clone()];
        }
        let Some(exe_dir) = std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(Path::to_path_buf))
        else {
            return Vec::new();
        };
        let mut dirs = vec![exe_dir.clone()];
        dirs.extend(exe_dir.parent().map(Path::to_path_buf));
        dirs
    }

    /// Folder of job folders, given the service data directory.
    pub fn job_directory(&self, data_dir: &Path) -> PathBuf {
        self.job_dir
            .clone()
            .unwrap_or_else(|| data_dir.join("jobs"))
    }

    /// Folder of the attachment store, given the service data directory.
    pub fn datastore_directory(&self, data_dir: &Path) -> PathBuf {
        self.datastore_dir
            .clone()
            .unwrap_or_else(|| data_dir.join("datastore"))
    }

    /// Interval between two liveness marks.
    pub fn heartbeat(&self) -> Duration {
        Duration::from_secs_f64(self.heartbeat_seconds)
    }
}

/// Longest job timeout and job cache accepted from configuration or a request: one year, in
/// minutes.
pub const MAX_MINUTES: f64 = 366.0 * 24.0 * 60.0;
/// Longest heartbeat accepted, in seconds (one hour).
pub const MAX_HEARTBEAT_SECONDS: f64 = 3600.0;

/// Converts a duration in (possibly fractional) minutes; non-positive, invalid or longer than
/// [`MAX_MINUTES`] gives `None`.
pub fn minutes(value: f64) -> Option<Duration> {
    (positive(value) && value <= MAX_MINUTES)
        .then(|| Duration::try_from_secs_f64(value * 60.0).ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        assert_eq!(WorkersConfig::default().validate(), Ok(()));
        assert_eq!(WorkersConfig::default().default_job_timeout_minutes, 30.0);
        assert_eq!(WorkersConfig::default().default_cache_minutes, 10.0);
    }

    #[test]
    fn a_missing_analyzer_folder_is_reported_with_its_key() {
        let config = WorkersConfig {
            analyzer_paths: vec!["/nonexistent/analyzers".into()],
            ..WorkersConfig::default()
        };

        let error = config.validate().unwrap_err();

        assert_eq!(error.key, "analyzer_paths");
        assert!(error.to_string().contains("/nonexistent/analyzers"));
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let parsed: Result<WorkersConfig, _> =
            serde_json::from_value(serde_json::json!({"analyzer_path": []}));

        assert!(parsed.is_err());
    }

    #[test]
    fn fractional_minutes_give_seconds() {
        assert_eq!(minutes(0.05), Some(Duration::from_secs(3)));
        assert_eq!(minutes(0.0), None);
    }

    #[test]
    fn former_key_names_set_the_new_ones_with_a_warning_naming_them() {
        let mut config = WorkersConfig {
            deprecated_job_directory: Some(PathBuf::from("/jobs")),
            deprecated_attachment_password: Some("infected".into()),
            ..WorkersConfig::default()
        };

        let warnings = config.resolve_deprecated();

        assert_eq!(config.job_dir, Some(PathBuf::from("/jobs")));
        assert_eq!(config.zip_password, "infected");
        assert_eq!(warnings.len(), 2);
        assert!(warnings[0].contains("workers.job_dir"), "{warnings:?}");
        assert!(warnings[1].contains("workers.zip_password"), "{warnings:?}");
    }
}
