//! The job side of the Cortex worker protocol: reading `input/input.json`, typed access to its
//! fields and configuration, TLP/PAP enforcement, and writing `output/output.json`.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::error::WorkerError;

/// One job as the engine hands it to a worker.
#[derive(Debug, Clone)]
pub struct Job {
    input: Value,
    directory: Option<PathBuf>,
}

/// Where a job came from, which decides where its report goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobSource {
    /// `<dir>/input/input.json` exists: the report goes to `<dir>/output/output.json`.
    Directory(PathBuf),
    /// Legacy mode: the input is read from stdin and the report written to stdout.
    Stdin,
}

impl JobSource {
    /// Chooses the mode the way cortexutils does: job-directory mode when
    /// `<dir>/input/input.json` exists, stdin mode otherwise.
    pub fn detect(directory: &Path) -> Self {
        if directory.join("input").join("input.json").is_file() {
            Self::Directory(directory.to_path_buf())
        } else {
            Self::Stdin
        }
    }
}

impl Job {
    /// Builds a job from its parsed input; `directory` is the job directory in job-directory
    /// mode and `None` in stdin mode.
    pub fn new(input: Value, directory: Option<PathBuf>) -> Result<Self, WorkerError> {
        if !input.is_object() {
            return Err(WorkerError::InvalidInput(
                "input.json must hold a JSON object".into(),
            ));
        }
        Ok(Self { input, directory })
    }

    /// Reads and parses `input/input.json` in `directory`.
    pub fn read(directory: &Path) -> Result<Self, WorkerError> {
        let path = directory.join("input").join("input.json");
        let text = std::fs::read(&path)
            .map_err(|e| WorkerError::io(format!("cannot read {}", path.display()), e))?;
        let input: Value = serde_json::from_slice(&text)
            .map_err(|e| WorkerError::InvalidInput(format!("input.json is not valid JSON: {e}")))?;
        Self::new(input, Some(directory.to_path_buf()))
    }

    /// The whole input object, as received.
    pub fn input(&self) -> &Value {
        &self.input
    }

    /// The job's data type (`ip`, `file`, `thehive:case`…).
    pub fn data_type(&self) -> Result<&str, WorkerError> {
        self.input
            .get("dataType")
            .and_then(Value::as_str)
            .ok_or_else(|| WorkerError::InvalidInput("`dataType` is missing".into()))
    }

    /// The observable as a string, trimmed (analyzer jobs on non-file data types).
    pub fn data_text(&self) -> Result<&str, WorkerError> {
        self.input
            .get("data")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|data| !data.is_empty())
            .ok_or_else(|| WorkerError::InvalidInput("`data` is missing or empty".into()))
    }

    /// The data as JSON (responder jobs carry the TheHive entity as an object; some senders
    /// put it in a string holding JSON, which is parsed here).
    pub fn data_entity(&self) -> Result<Value, WorkerError> {
        match self.input.get("data") {
            Some(Value::Object(entity)) => Ok(Value::Object(entity.clone())),
            Some(Value::String(text)) => serde_json::from_str::<Value>(text)
                .ok()
                .filter(Value::is_object)
                .ok_or_else(|| WorkerError::InvalidInput("`data` is not a JSON object".into())),
            _ => Err(WorkerError::InvalidInput(
                "`data` is missing or not a JSON object".into(),
            )),
        }
    }

    /// The job's TLP (0 WHITE … 3 RED); 2 when absent, like the engine's default.
    pub fn tlp(&self) -> i64 {
        self.input.get("tlp").and_then(Value::as_i64).unwrap_or(2)
    }

    /// The job's PAP (0 WHITE … 3 RED); 2 when absent.
    pub fn pap(&self) -> i64 {
        self.input.get("pap").and_then(Value::as_i64).unwrap_or(2)
    }

    /// The merged configuration (definition `config` + worker configuration).
    pub fn config(&self) -> Config<'_> {
        Config(self.input.get("config").and_then(Value::as_object))
    }

    /// The path of the job's file (file jobs): `input/<file>` in job-directory mode, or the
    /// path as given in stdin mode, where Cortex 2 passed an absolute path.
    pub fn file_path(&self) -> Result<PathBuf, WorkerError> {
        let file = self
            .input
            .get("file")
            .and_then(Value::as_str)
            .filter(|file| !file.is_empty())
            .ok_or_else(|| WorkerError::InvalidInput("`file` is missing for a file job".into()))?;
        let path = Path::new(file);
        match &self.directory {
            Some(directory) if path.is_relative() => Ok(directory.join("input").join(path)),
            _ => Ok(path.to_path_buf()),
        }
    }

    /// Reads the job's file, refusing files above `limit` bytes.
    pub fn read_file(&self, limit: u64) -> Result<Vec<u8>, WorkerError> {
        let path = self.file_path()?;
        let size = std::fs::metadata(&path)
            .map_err(|e| {
                WorkerError::io(format!("cannot read the job file {}", path.display()), e)
            })?
            .len();
        if size > limit {
            return Err(WorkerError::InvalidData(format!(
                "the file is {size} bytes, above this worker's limit of {limit} bytes"
            )));
        }
        std::fs::read(&path)
            .map_err(|e| WorkerError::io(format!("cannot read the job file {}", path.display()), e))
    }

    /// The original file name of a file job, when the engine sent one.
    pub fn filename(&self) -> Option<&str> {
        self.input
            .get("filename")
            .and_then(Value::as_str)
            .filter(|name| !name.is_empty())
    }

    /// The directory where file artifacts go (`<job>/output/`); `None` in stdin mode, where
    /// file artifacts cannot be handed back.
    pub fn output_directory(&self) -> Option<PathBuf> {
        self.directory
            .as_ref()
            .map(|directory| directory.join("output"))
    }

    /// Enforces `check_tlp`/`max_tlp` and `check_pap`/`max_pap` like cortexutils: the checks
    /// are off unless enabled, and the maxima default to 2 (AMBER).
    pub fn check_tlp_and_pap(&self) -> Result<(), WorkerError> {
        let config = self.config();
        if config.bool("check_tlp").unwrap_or(false)
            && self.tlp() > config.i64("max_tlp").unwrap_or(2)
        {
            return Err(WorkerError::TlpTooHigh);
        }
        if config.bool("check_pap").unwrap_or(false)
            && self.pap() > config.i64("max_pap").unwrap_or(2)
        {
            return Err(WorkerError::PapTooHigh);
        }
        Ok(())
    }

    /// The input with every configuration value whose key contains `key`, `password`,
    /// `secret` or `pwd` replaced by `"REMOVED"`, as failure reports carry it.
    pub fn redacted_input(&self) -> Value {
        redact(&self.input)
    }
}

/// Replaces secret configuration values of a job input by `"REMOVED"`.
pub fn redact(input: &Value) -> Value {
    let mut input = input.clone();
    if let Some(config) = input.get_mut("config").and_then(Value::as_object_mut) {
        for (name, value) in config.iter_mut() {
            if is_secret_name(name) {
                *value = Value::String("REMOVED".into());
            }
        }
    }
    input
}

fn is_secret_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    ["key", "password", "secret", "pwd"]
        .iter()
        .any(|phrase| name.contains(phrase))
}

/// Read access to a job's `config` object. Like cortexutils' `get_param`, a JSON `null` counts
/// as absent; an empty string counts as absent too, since the engine stores unset optional
/// string items as `null` or `""`.
#[derive(Debug, Clone, Copy)]
pub struct Config<'a>(Option<&'a Map<String, Value>>);

impl<'a> Config<'a> {
    fn value(&self, name: &str) -> Option<&'a Value> {
        self.0?.get(name).filter(|value| !value.is_null())
    }

    /// A string item, trimmed; numbers are accepted and rendered.
    pub fn string(&self, name: &str) -> Option<String> {
        match self.value(name)? {
            Value::String(text) => Some(text.trim().to_owned()).filter(|text| !text.is_empty()),
            Value::Number(number) => Some(number.to_string()),
            Value::Bool(flag) => Some(flag.to_string()),
            _ => None,
        }
    }

    /// A required string item.
    pub fn required_string(
        &self,
        name: &'static str,
        hint: &'static str,
    ) -> Result<String, WorkerError> {
        self.string(name)
            .ok_or(WorkerError::MissingConfig { name, hint })
    }

    /// An integer item; numeric strings are accepted, other values are an error.
    pub fn integer(&self, name: &'static str) -> Result<Option<i64>, WorkerError> {
        match self.value(name) {
            None => Ok(None),
            Some(Value::Number(number)) => number
                .as_i64()
                .or_else(|| {
                    number
                        .as_f64()
                        .filter(|f| f.fract() == 0.0)
                        .map(|f| f as i64)
                })
                .map(Some)
                .ok_or_else(|| WorkerError::InvalidConfig {
                    name,
                    reason: format!("{number} is not a whole number"),
                }),
            Some(Value::String(text)) if text.trim().is_empty() => Ok(None),
            Some(Value::String(text)) => {
                text.trim()
                    .parse()
                    .map(Some)
                    .map_err(|_| WorkerError::InvalidConfig {
                        name,
                        reason: format!("`{text}` is not a whole number"),
                    })
            }
            Some(other) => Err(WorkerError::InvalidConfig {
                name,
                reason: format!("{other} is not a whole number"),
            }),
        }
    }

    /// An integer item with a default, checked against an inclusive range.
    pub fn integer_in(
        &self,
        name: &'static str,
        default: i64,
        range: std::ops::RangeInclusive<i64>,
    ) -> Result<i64, WorkerError> {
        let value = self.integer(name)?.unwrap_or(default);
        if range.contains(&value) {
            Ok(value)
        } else {
            Err(WorkerError::InvalidConfig {
                name,
                reason: format!("{value} is outside {}..={}", range.start(), range.end()),
            })
        }
    }

    fn i64(&self, name: &str) -> Option<i64> {
        match self.value(name)? {
            Value::Number(number) => number.as_i64(),
            Value::String(text) => text.trim().parse().ok(),
            _ => None,
        }
    }

    /// A boolean item; `"true"`/`"false"` strings are accepted.
    pub fn bool(&self, name: &str) -> Option<bool> {
        match self.value(name)? {
            Value::Bool(flag) => Some(*flag),
            Value::String(text) => text.trim().parse().ok(),
            _ => None,
        }
    }

    /// A nested value such as `proxy.http`.
    pub fn nested_string(&self, outer: &str, inner: &str) -> Option<String> {
        self.value(outer)?
            .get(inner)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|text| !text.is_empty())
            .map(str::to_owned)
    }
}

/// Writes the report where the job's mode says: `<dir>/output/output.json`, or stdout.
pub fn write_output(source: &JobSource, output: &Value) -> Result<(), WorkerError> {
    let text = serde_json::to_vec(output)
        .map_err(|e| WorkerError::InvalidInput(format!("report is not serialisable: {e}")))?;
    match source {
        JobSource::Directory(directory) => {
            let output_directory = directory.join("output");
            std::fs::create_dir_all(&output_directory).map_err(|e| {
                WorkerError::io(format!("cannot create {}", output_directory.display()), e)
            })?;
            let path = output_directory.join("output.json");
            std::fs::write(&path, text)
                .map_err(|e| WorkerError::io(format!("cannot write {}", path.display()), e))
        }
        JobSource::Stdin => {
            use std::io::Write;
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(&text)
                .and_then(|()| stdout.flush())
                .map_err(|e| WorkerError::io("cannot write the report to stdout", e))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secrets_in_config_are_redacted_and_other_items_kept() {
        let input = json!({"data": "x", "config": {"key": "k", "smtp_pwd": "p", "api_secret": "s", "Password": "P", "days": 30}});

        let redacted = redact(&input);

        assert_eq!(
            redacted["config"],
            json!({"key": "REMOVED", "smtp_pwd": "REMOVED", "api_secret": "REMOVED", "Password": "REMOVED", "days": 30})
        );
    }

    #[test]
    fn tlp_above_the_maximum_is_refused_only_when_checking_is_on() {
        let job = |check: bool| {
            Job::new(
                json!({"tlp": 3, "config": {"check_tlp": check, "max_tlp": 2}}),
                None,
            )
            .unwrap()
        };

        assert!(matches!(
            job(true).check_tlp_and_pap(),
            Err(WorkerError::TlpTooHigh)
        ));
        assert!(job(false).check_tlp_and_pap().is_ok());
    }

    #[test]
    fn null_and_empty_config_values_count_as_absent() {
        let job = Job::new(
            json!({"config": {"a": null, "b": "", "c": " v ", "n": "30"}}),
            None,
        )
        .unwrap();

        assert_eq!(job.config().string("a"), None);
        assert_eq!(job.config().string("b"), None);
        assert_eq!(job.config().string("c").as_deref(), Some("v"));
        assert_eq!(job.config().integer("n").unwrap(), Some(30));
    }
}
