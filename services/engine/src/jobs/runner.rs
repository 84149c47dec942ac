//! The process runner: the job folder of the Cortex job protocol (`input/input.json`,
//! `input/attachment…`, `output/output.json`), and the worker process itself, run in its own
//! process group so a timeout kills it with every child it started.
//!
//! This is the only module that spawns processes.
//!
//! A worker gets only what it needs: a cleared environment plus [`worker_environment`]'s
//! allowlist, a job folder only its user can enter (0700, files 0600), and what it leaves in
//! `output/` is read size-capped and never through a symbolic link.

use std::ffi::OsString;
use std::io::Read;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
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
    /// Creates `<parent>/skep-job-<job id>-<random>/{input,output}`, each folder 0700 (blocking
    /// I/O).
    pub fn create(parent: &Path, job_id: &str, keep: bool) -> std::io::Result<JobFolder> {
        std::fs::create_dir_all(parent)?;
        let suffix: u32 = rand::random();
        let path = parent.join(format!("skep-job-{job_id}-{suffix:08x}"));
        let mut private = std::fs::DirBuilder::new();
        private.mode(0o700);
        private.create(&path)?;
        let folder = JobFolder { path, keep };
        private.create(folder.path.join("input"))?;
        private.create(folder.path.join("output"))?;
        Ok(folder)
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `input/input.json` (blocking I/O).
    pub fn write_input(&self, input: &Value) -> std::io::Result<()> {
        let text = serde_json::to_vec(input).map_err(std::io::Error::other)?;
        write_private(&self.path.join("input").join("input.json"), &text)
    }

    /// Copies a file into `input/` under a fresh `attachment…` name and returns that name.
    pub fn add_attachment(&self, content: &[u8]) -> std::io::Result<String> {
        let name = format!("attachment{}", rand::random::<u32>());
        write_private(&self.path.join("input").join(&name), content)?;
        Ok(name)
    }

    /// Writes `input/cacerts` and returns its path.
    pub fn add_cacerts(&self, pem: &str) -> std::io::Result<PathBuf> {
        let path = self.path.join("input").join("cacerts");
        write_private(&path, pem.as_bytes())?;
        Ok(path)
    }

    /// Reads a file the worker left directly in `output/` (no path separators allowed), at most
    /// `limit` bytes, never through a symbolic link.
    pub fn read_output_file(&self, name: &str, limit: u64) -> Result<Vec<u8>, OutputProblem> {
        let plain = Path::new(name).file_name().is_some_and(|file| file == name);
        if !plain || name == "output.json" {
            return Err(OutputProblem::Missing);
        }
        self.read_in_output(name, limit)
    }

    /// Reads `output/<name>` as a regular file of at most `limit` bytes: a symbolic link (the
    /// file or the `output` folder itself) or a larger file is refused.
    fn read_in_output(&self, name: &str, limit: u64) -> Result<Vec<u8>, OutputProblem> {
        let output = self.path.join("output");
        match std::fs::symlink_metadata(&output) {
            Ok(metadata) if metadata.is_dir() => {}
            Ok(_) => {
                return Err(OutputProblem::Invalid(
                    "the output folder was replaced by a link or a file".into(),
                ));
            }
            Err(_) => return Err(OutputProblem::Missing),
        }
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_NONBLOCK)
            .open(output.join(name));
        let file = match file {
            Ok(file) => file,
            Err(error) if error.raw_os_error() == Some(nix::libc::ELOOP) => {
                return Err(OutputProblem::Invalid(format!(
                    "{name} is a symbolic link, which is never followed"
                )));
            }
            Err(_) => return Err(OutputProblem::Missing),
        };
        let metadata = file.metadata().map_err(|_| OutputProblem::Missing)?;
        if !metadata.is_file() {
            return Err(OutputProblem::Invalid(format!(
                "{name} is not a regular file"
            )));
        }
        let too_large = || {
            OutputProblem::Invalid(format!(
                "{name} is larger than the {limit} bytes allowed (workers.max_output_bytes)"
            ))
        };
        if metadata.len() > limit {
            return Err(too_large());
        }
        let mut content = Vec::new();
        file.take(limit.saturating_add(1))
            .read_to_end(&mut content)
            .map_err(|_| OutputProblem::Missing)?;
        if content.len() as u64 > limit {
            return Err(too_large());
        }
        Ok(content)
    }

    /// Reads and parses `output/output.json` (at most `limit` bytes). The error says what is
    /// wrong with it.
    pub fn read_output(&self, limit: u64) -> Result<Map<String, Value>, OutputProblem> {
        let text = match self.read_in_output("output.json", limit) {
            Ok(text) if !text.iter().all(u8::is_ascii_whitespace) => text,
            Ok(_) => return Err(OutputProblem::Missing),
            Err(problem) => return Err(problem),
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

/// Writes a new file only its owner may read (0600).
fn write_private(path: &Path, content: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(content)
}

/// Whether a variable of the engine's environment is passed on to workers: the search path,
/// home, locale, time zone and proxies. Everything else (the engine's own `SKEP_*` settings,
/// credentials of the host) stays with the engine.
pub fn passed_to_workers(name: &str) -> bool {
    matches!(
        name,
        "PATH"
            | "HOME"
            | "LANG"
            | "LANGUAGE"
            | "TZ"
            | "http_proxy"
            | "https_proxy"
            | "no_proxy"
            | "all_proxy"
            | "HTTP_PROXY"
            | "HTTPS_PROXY"
            | "NO_PROXY"
            | "ALL_PROXY"
    ) || name.starts_with("LC_")
}

/// The environment of a worker process: the allowed variables of `parent` (the engine's own
/// environment), then `extra` (what the job's configuration hands the worker), which wins.
pub fn worker_environment(
    parent: impl IntoIterator<Item = (OsString, OsString)>,
    extra: &[(String, String)],
) -> Vec<(OsString, OsString)> {
    let mut environment: Vec<(OsString, OsString)> = parent
        .into_iter()
        .filter(|(name, _)| name.to_str().is_some_and(passed_to_workers))
        .collect();
    for (name, value) in extra {
        environment.retain(|(known, _)| known.to_str() != Some(name.as_str()));
        environment.push((name.into(), value.into()));
    }
    environment
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
    /// Variables the job's configuration hands the worker, on top of the allowlisted ones of
    /// the engine's environment ([`passed_to_workers`]).
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
        .kill_on_drop(true)
        .env_clear()
        .envs(worker_environment(std::env::vars_os(), &spec.environment));
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
        assert_eq!(folder.read_output(1024).unwrap()["success"], true);
    }

    #[tokio::test]
    async fn a_hanging_worker_and_its_children_are_killed_at_the_timeout() {
        let scratch = tempfile::tempdir().unwrap();
        let command = script(scratch.path(), "sleep 600 & sleep 600");
        let folder = JobFolder::create(scratch.path(), "j2", false).unwrap();

        let end = run_process(spec(&command, &folder, Duration::from_millis(300))).await;

        assert!(end.timed_out);
        assert_eq!(folder.read_output(1024), Err(OutputProblem::Missing));
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
    fn job_folders_and_their_files_are_private_to_the_engine_user() {
        let scratch = tempfile::tempdir().unwrap();
        let folder = JobFolder::create(scratch.path(), "p", false).unwrap();
        folder
            .write_input(&serde_json::json!({"config": {}}))
            .unwrap();
        let attachment = folder.add_attachment(b"x").unwrap();
        let mode = |path: PathBuf| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;

        assert_eq!(mode(folder.path().to_path_buf()), 0o700);
        assert_eq!(mode(folder.path().join("input")), 0o700);
        assert_eq!(mode(folder.path().join("output")), 0o700);
        assert_eq!(mode(folder.path().join("input/input.json")), 0o600);
        assert_eq!(mode(folder.path().join("input").join(attachment)), 0o600);
    }

    #[test]
    fn outputs_are_capped_and_never_read_through_links() {
        let scratch = tempfile::tempdir().unwrap();
        let secret = scratch.path().join("secret.txt");
        std::fs::write(&secret, "engine secret").unwrap();
        let folder = JobFolder::create(scratch.path(), "l", false).unwrap();
        let output = folder.path().join("output");
        std::os::unix::fs::symlink(&secret, output.join("output.json")).unwrap();
        std::os::unix::fs::symlink(&secret, output.join("leak.txt")).unwrap();
        std::fs::write(output.join("big.bin"), vec![b'x'; 2048]).unwrap();
        std::fs::write(output.join("small.bin"), b"ok").unwrap();

        assert!(
            matches!(folder.read_output(1024), Err(OutputProblem::Invalid(why)) if why.contains("link"))
        );
        assert!(folder.read_output_file("leak.txt", 1024).is_err());
        assert!(
            matches!(folder.read_output_file("big.bin", 1024), Err(OutputProblem::Invalid(why)) if why.contains("max_output_bytes"))
        );
        assert_eq!(folder.read_output_file("small.bin", 1024).unwrap(), b"ok");
    }

    #[test]
    fn a_linked_output_folder_is_never_followed() {
        let scratch = tempfile::tempdir().unwrap();
        let elsewhere = scratch.path().join("elsewhere");
        std::fs::create_dir(&elsewhere).unwrap();
        std::fs::write(
            elsewhere.join("output.json"),
            r#"{"success":true,"full":{}}"#,
        )
        .unwrap();
        let folder = JobFolder::create(scratch.path(), "d", false).unwrap();
        std::fs::remove_dir(folder.path().join("output")).unwrap();
        std::os::unix::fs::symlink(&elsewhere, folder.path().join("output")).unwrap();

        assert!(matches!(
            folder.read_output(1024),
            Err(OutputProblem::Invalid(_))
        ));
    }

    #[test]
    fn workers_get_the_allowlisted_environment_and_their_configuration() {
        let parent = [
            ("PATH", "/usr/bin"),
            ("LC_ALL", "C.UTF-8"),
            ("https_proxy", "http://proxy:3128"),
            ("SKEP_HTTP__SECRET", "engine secret"),
            ("AWS_SECRET_ACCESS_KEY", "host secret"),
            ("REQUESTS_CA_BUNDLE", "/etc/host.pem"),
        ]
        .map(|(name, value)| (OsString::from(name), OsString::from(value)));
        let extra = [(
            "REQUESTS_CA_BUNDLE".to_owned(),
            "/job/input/cacerts".to_owned(),
        )];

        let environment = worker_environment(parent, &extra);

        let names: Vec<_> = environment
            .iter()
            .map(|(name, value)| format!("{}={}", name.to_string_lossy(), value.to_string_lossy()))
            .collect();
        assert_eq!(
            names,
            [
                "PATH=/usr/bin",
                "LC_ALL=C.UTF-8",
                "https_proxy=http://proxy:3128",
                "REQUESTS_CA_BUNDLE=/job/input/cacerts"
            ]
        );
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
