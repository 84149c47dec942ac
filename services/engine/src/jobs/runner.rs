//! The process runner: the job folder of the Cortex job protocol (`input/input.json`,
//! `input/attachment…`, `output/output.json`), and the worker process itself, run in its own
//! process group so a timeout kills it with every child it started.
//!
//! This is the only module that spawns processes.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Map, Value};
use tokio::io::{AsyncRead, AsyncReadExt};

/// A job folder; removed on drop unless kept.
#[derive(Debug)]
pub struct JobFolder {
    path: PathBuf,
    keep: bool,
}

impl JobFolder {
    /// Creates `<parent>/skep-job-<job id>-<random>/{input,output}` (blocking I/O).
    pub fn create(parent: &Path, job_id: &str, keep: bool) -> std::io::Result<JobFolder> {
        std::fs::create_dir_all(parent)?;
        let suffix: u32 = rand::random();
        let path = parent.join(format!("skep-job-{job_id}-{suffix:08x}"));
        std::fs::create_dir_all(path.join("input"))?;
        std::fs::create_dir_all(path.join("output"))?;
        Ok(JobFolder { path, keep })
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `input/input.json` (blocking I/O).
    pub fn write_input(&self, input: &Value) -> std::io::Result<()> {
        let text = serde_json::to_vec(input).map_err(std::io::Error::other)?;
        std::fs::write(self.path.join("input").join("input.json"), text)
    }

    /// Copies a file into `input/` under a fresh `attachment…` name and returns that name.
    pub fn add_attachment(&self, content: &[u8]) -> std::io::Result<String> {
        let name = format!("attachment{}", rand::random::<u32>());
        std::fs::write(self.path.join("input").join(&name), content)?;
        Ok(name)
    }

    /// Writes `input/cacerts` and returns its path.
    pub fn add_cacerts(&self, pem: &str) -> std::io::Result<PathBuf> {
        let path = self.path.join("input").join("cacerts");
        std::fs::write(&path, pem)?;
        Ok(path)
    }

    /// Reads a file the worker left directly in `output/` (no path separators allowed).
    pub fn read_output_file(&self, name: &str) -> Option<Vec<u8>> {
        let plain = Path::new(name).file_name().is_some_and(|file| file == name);
        if !plain || name == "output.json" {
            return None;
        }
        std::fs::read(self.path.join("output").join(name)).ok()
    }

    /// Reads and parses `output/output.json`. The error says what is wrong with it.
    pub fn read_output(&self) -> Result<Map<String, Value>, OutputProblem> {
        let path = self.path.join("output").join("output.json");
        let text = match std::fs::read(&path) {
            Ok(text) if !text.iter().all(u8::is_ascii_whitespace) => text,
            _ => return Err(OutputProblem::Missing),
        };
        match serde_json::from_slice::<Value>(&text) {
            Ok(Value::Object(output)) => Ok(output),
            Ok(_) => Err(OutputProblem::Invalid(
                "output.json is not a JSON object".into(),
            )),
            Err(error) => Err(OutputProblem::Invalid(format!(
                "output.json is not valid JSON ({error})"
            ))),
        }
    }
}

impl Drop for JobFolder {
    fn drop(&mut self) {
        if !self.keep
            && let Err(error) = std::fs::remove_dir_all(&self.path)
        {
            tracing::warn!(folder = %self.path.display(), %error, "job folder not removed");
        }
    }
}

/// Why the worker's output cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputProblem {
    /// No (or an empty) `output/output.json`.
    Missing,
    /// The file is not a JSON object.
    Invalid(String),
}

/// How the worker process ended.
#[derive(Debug)]
pub struct ProcessEnd {
    /// Exit description (`exit status: 1`, `signal: 9`), or why it could not start.
    pub status: String,
    /// Whether the process group was killed at the timeout.
    pub timed_out: bool,
    /// Whether the process could not be started at all.
    pub failed_to_start: bool,
    /// The end of what the worker wrote on stderr (then stdout), lossily decoded.
    pub output_tail: String,
}

/// What to run.
#[derive(Debug)]
pub struct ProcessSpec<'a> {
    /// Absolute path of the executable.
    pub command: &'a Path,
    /// Working directory (the catalog root).
    pub working_directory: &'a Path,
    /// The job folder, passed as the only argument.
    pub job_folder: &'a Path,
    /// Kill the process group after this long.
    pub timeout: Duration,
    /// Extra environment variables.
    pub environment: Vec<(String, String)>,
    /// Bytes of output kept.
    pub tail_bytes: usize,
}

/// Runs the worker and waits for it (or kills its whole process group at the timeout).
#[tracing::instrument(skip_all, fields(command = %spec.command.display()))]
pub async fn run_process(spec: ProcessSpec<'_>) -> ProcessEnd {
    let mut command = tokio::process::Command::new(spec.command);
    command
        .arg(spec.job_folder)
        .current_dir(spec.working_directory)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    for (key, value) in &spec.environment {
        command.env(key, value);
    }
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(error) => {
            return ProcessEnd {
                status: format!("worker cannot be run: {error}"),
                timed_out: false,
                failed_to_start: true,
                output_tail: String::new(),
            };
        }
    };
    let group = child.id().and_then(|id| i32::try_from(id).ok());
    let stdout = child
        .stdout
        .take()
        .map(|pipe| tokio::spawn(read_tail(pipe, spec.tail_bytes)));
    let stderr = child
        .stderr
        .take()
        .map(|pipe| tokio::spawn(read_tail(pipe, spec.tail_bytes)));

    let (status, timed_out) = match tokio::time::timeout(spec.timeout, child.wait()).await {
        Ok(status) => (status, false),
        Err(_) => {
            kill_group(group);
            (child.wait().await, true)
        }
    };
    let status = match status {
        Ok(status) => status.to_string(),
        Err(error) => format!("wait failed: {error}"),
    };
    // Children that outlive the worker may hold the pipes open; give them a moment, then end them.
    let collect = async {
        let stderr = match stderr {
            Some(task) => task.await.unwrap_or_default(),
            None => Vec::new(),
        };
        let stdout = match stdout {
            Some(task) => task.await.unwrap_or_default(),
            None => Vec::new(),
        };
        (stderr, stdout)
    };
    tokio::pin!(collect);
    let (stderr, stdout) = match tokio::time::timeout(Duration::from_secs(2), &mut collect).await {
        Ok(outputs) => outputs,
        Err(_) => {
            kill_group(group);
            collect.await
        }
    };
    let mut tail = String::from_utf8_lossy(&stderr).trim().to_owned();
    if tail.is_empty() {
        tail = String::from_utf8_lossy(&stdout).trim().to_owned();
    }
    ProcessEnd {
        status,
        timed_out,
        failed_to_start: false,
        output_tail: tail,
    }
}

fn kill_group(group: Option<i32>) {
    if let Some(group) = group {
        let pid = nix::unistd::Pid::from_raw(group);
        if let Err(error) = nix::sys::signal::killpg(pid, nix::sys::signal::Signal::SIGKILL) {
            tracing::debug!(%error, "worker process group already gone");
        }
    }
}

/// Reads a pipe to its end, keeping only the last `limit` bytes.
async fn read_tail(mut pipe: impl AsyncRead + Unpin, limit: usize) -> Vec<u8> {
    let mut tail = Vec::new();
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        match pipe.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(read) => {
                tail.extend_from_slice(&buffer[..read]);
                if tail.len() > limit * 2 {
                    tail.drain(..tail.len() - limit);
                }
            }
        }
    }
    if tail.len() > limit {
        tail.drain(..tail.len() - limit);
    }
    tail
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn script(folder: &Path, body: &str) -> PathBuf {
        let path = folder.join("worker.sh");
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    fn spec<'a>(command: &'a Path, folder: &'a JobFolder, timeout: Duration) -> ProcessSpec<'a> {
        ProcessSpec {
            command,
            working_directory: Path::new("/"),
            job_folder: folder.path(),
            timeout,
            environment: Vec::new(),
            tail_bytes: 64,
        }
    }

    #[tokio::test]
    async fn a_worker_writes_its_output_in_the_job_folder() {
        let scratch = tempfile::tempdir().unwrap();
        let command = script(
            scratch.path(),
            r#"echo '{"success":true,"full":{}}' > "$1/output/output.json""#,
        );
        let folder = JobFolder::create(scratch.path(), "j1", false).unwrap();

        let end = run_process(spec(&command, &folder, Duration::from_secs(30))).await;

        assert!(!end.timed_out, "{end:?}");
        assert_eq!(folder.read_output().unwrap()["success"], true);
    }

    #[tokio::test]
    async fn a_hanging_worker_and_its_children_are_killed_at_the_timeout() {
        let scratch = tempfile::tempdir().unwrap();
        let command = script(scratch.path(), "sleep 600 & sleep 600");
        let folder = JobFolder::create(scratch.path(), "j2", false).unwrap();

        let end = run_process(spec(&command, &folder, Duration::from_millis(300))).await;

        assert!(end.timed_out);
        assert_eq!(folder.read_output(), Err(OutputProblem::Missing));
    }

    #[tokio::test]
    async fn the_end_of_stderr_is_kept() {
        let scratch = tempfile::tempdir().unwrap();
        let command = script(
            scratch.path(),
            "i=0; while [ $i -lt 50 ]; do echo line$i >&2; i=$((i+1)); done; exit 3",
        );
        let folder = JobFolder::create(scratch.path(), "j3", false).unwrap();

        let end = run_process(spec(&command, &folder, Duration::from_secs(30))).await;

        assert!(end.output_tail.ends_with("line49"), "{}", end.output_tail);
        assert!(end.output_tail.len() <= 64);
        assert!(end.status.contains('3'));
    }

    #[test]
    fn the_folder_is_removed_on_drop_unless_kept() {
        let scratch = tempfile::tempdir().unwrap();
        let removed = JobFolder::create(scratch.path(), "a", false).unwrap();
        let kept = JobFolder::create(scratch.path(), "b", true).unwrap();
        let (removed_path, kept_path) = (removed.path().to_path_buf(), kept.path().to_path_buf());

        drop(removed);
        drop(kept);

        assert!(!removed_path.exists());
        assert!(kept_path.exists());
    }
}
