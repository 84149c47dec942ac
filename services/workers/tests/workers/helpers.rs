//! Test harness: job directories, the worker process with a deadline, a stand-in HTTP server,
//! and an aiosmtpd SMTP server.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
pub use skep_testkit::stand_in::{Reply, StandIn};
use tempfile::TempDir;

/// The longest a worker may run in these tests before it counts as hung.
const WORKER_DEADLINE: Duration = Duration::from_secs(60);

pub fn worker_binary() -> &'static str {
    env!("CARGO_BIN_EXE_skep-worker")
}

/// A finished job: its directory (kept for file artifacts) and its `output.json`.
pub struct Finished {
    pub directory: TempDir,
    pub output: Value,
}

impl Finished {
    pub fn taxonomy(&self, namespace: &str, predicate: &str) -> Option<Value> {
        self.output["summary"]["taxonomies"]
            .as_array()?
            .iter()
            .find(|t| t["namespace"] == namespace && t["predicate"] == predicate)
            .cloned()
    }

    pub fn artifact_values(&self, data_type: &str) -> Vec<String> {
        self.output["artifacts"]
            .as_array()
            .map(|artifacts| {
                artifacts
                    .iter()
                    .filter(|a| a["dataType"] == data_type)
                    .filter_map(|a| a["data"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn error_message(&self) -> String {
        assert_eq!(
            self.output["success"], false,
            "expected a failure report, got {}",
            self.output
        );
        self.output["errorMessage"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    pub fn assert_success(&self) {
        assert_eq!(
            self.output["success"], true,
            "expected a success report, got {}",
            self.output
        );
    }
}

/// Writes `input/input.json` (plus the file of a file job) and runs the worker on the directory.
pub fn run_job(mut input: Value, file: Option<(&str, &[u8])>) -> Finished {
    let directory = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(directory.path().join("input")).unwrap();
    if let Some((name, content)) = file {
        std::fs::write(
            directory.path().join("input").join("attachment4711"),
            content,
        )
        .unwrap();
        input["file"] = json!("attachment4711");
        input["filename"] = json!(name);
        input["dataType"] = json!("file");
    }
    std::fs::write(
        directory.path().join("input").join("input.json"),
        serde_json::to_vec(&input).unwrap(),
    )
    .unwrap();

    let child = Command::new(worker_binary())
        .arg(directory.path())
        .env(OUTBOUND_ALLOW, LOOPBACK_STAND_INS)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_with_deadline(child);

    let output_path = directory.path().join("output").join("output.json");
    let text = std::fs::read(&output_path).unwrap_or_else(|e| panic!("no output.json ({e})"));
    let output = serde_json::from_slice(&text).unwrap();
    Finished { directory, output }
}

/// The variable through which the engine hands workers its outbound allowlist.
pub const OUTBOUND_ALLOW: &str = "SKEP_WORKER_OUTBOUND_ALLOW";
/// The allowlist of the tests: the stand-ins and SMTP servers listen on 127.0.0.1.
pub const LOOPBACK_STAND_INS: &str = "127.0.0.1";

/// Runs the worker in legacy stdin mode; returns the report it prints.
pub fn run_stdin(input: &Value) -> Value {
    let empty = tempfile::tempdir().unwrap();
    let mut child = Command::new(worker_binary())
        .arg(empty.path())
        .env(OUTBOUND_ALLOW, LOOPBACK_STAND_INS)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&serde_json::to_vec(input).unwrap())
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = Vec::new();
        stdout.read_to_end(&mut text).unwrap();
        text
    });
    wait_with_deadline(child);
    serde_json::from_slice(&reader.join().unwrap()).unwrap()
}

fn wait_with_deadline(mut child: Child) {
    let deadline = Instant::now() + WORKER_DEADLINE;
    loop {
        if child.try_wait().unwrap().is_some() {
            return;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("worker still running after {WORKER_DEADLINE:?}: it hangs");
        }
        // Plain threads, no async runtime: a short pause between polls of a deadline loop.
        #[allow(clippy::disallowed_methods)]
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Polls `check` until it returns `Some` or the deadline passes.
pub fn wait_until<T>(deadline: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let end = Instant::now() + deadline;
    loop {
        if let Some(value) = check() {
            return Some(value);
        }
        if Instant::now() > end {
            return None;
        }
        // Plain threads, no async runtime: a short pause between polls of a deadline loop.
        #[allow(clippy::disallowed_methods)]
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// A loopback port nobody listens on (bound, then released).
pub fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn venv_python() -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.test-env/venv/bin/python");
    assert!(
        path.exists(),
        "{} is missing: run scripts/test, which creates the test venv with aiosmtpd",
        path.display()
    );
    path
}

/// A real SMTP server (aiosmtpd) on loopback that stores each message in a Maildir.
pub struct SmtpServer {
    child: Child,
    pub port: u16,
    pub maildir: TempDir,
}

impl SmtpServer {
    /// The plain aiosmtpd CLI with the Mailbox handler (no TLS, no AUTH).
    pub fn plain() -> Self {
        let maildir = tempfile::tempdir().unwrap();
        let port = closed_port();
        let child = Command::new(venv_python())
            .args([
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                &format!("127.0.0.1:{port}"),
                "-c",
                "aiosmtpd.handlers.Mailbox",
            ])
            .arg(maildir.path().join("Maildir"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        Self::ready(child, port, maildir)
    }

    /// The STARTTLS + AUTH sink from `tests/fixtures/smtp_sink.py`.
    pub fn starttls_with_auth(cert: &Path, key: &Path, user: &str, password: &str) -> Self {
        let maildir = tempfile::tempdir().unwrap();
        let port = closed_port();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/smtp_sink.py");
        let child = Command::new(venv_python())
            .arg(script)
            .arg(maildir.path().join("Maildir"))
            .args([
                "--port",
                &port.to_string(),
                "--user",
                user,
                "--password",
                password,
            ])
            .arg("--cert")
            .arg(cert)
            .arg("--key")
            .arg(key)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        Self::ready(child, port, maildir)
    }

    fn ready(child: Child, port: u16, maildir: TempDir) -> Self {
        let server = Self {
            child,
            port,
            maildir,
        };
        let greeted = wait_until(Duration::from_secs(20), || {
            let stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
            let mut greeting = String::new();
            BufReader::new(stream).read_line(&mut greeting).ok()?;
            greeting.starts_with("220").then_some(())
        });
        assert!(greeted.is_some(), "aiosmtpd did not greet on port {port}");
        server
    }

    /// The delivered messages, as raw text.
    pub fn delivered(&self) -> Vec<String> {
        let new = self.maildir.path().join("Maildir").join("new");
        let Ok(entries) = std::fs::read_dir(new) else {
            return Vec::new();
        };
        entries
            .filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
            .collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for byte in data {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A real ZIP archive with stored (uncompressed) entries, as `zip -0` writes it.
pub fn stored_zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut archive = Vec::new();
    let mut directory = Vec::new();
    for (name, content) in entries {
        let offset = archive.len() as u32;
        let crc = crc32(content);
        let size = content.len() as u32;
        let name_length = name.len() as u16;
        archive.extend_from_slice(b"PK\x03\x04");
        archive.extend_from_slice(&[20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        archive.extend_from_slice(&crc.to_le_bytes());
        archive.extend_from_slice(&size.to_le_bytes());
        archive.extend_from_slice(&size.to_le_bytes());
        archive.extend_from_slice(&name_length.to_le_bytes());
        archive.extend_from_slice(&0u16.to_le_bytes());
        archive.extend_from_slice(name.as_bytes());
        archive.extend_from_slice(content);

        directory.extend_from_slice(b"PK\x01\x02");
        directory.extend_from_slice(&[20, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        directory.extend_from_slice(&crc.to_le_bytes());
        directory.extend_from_slice(&size.to_le_bytes());
        directory.extend_from_slice(&size.to_le_bytes());
        directory.extend_from_slice(&name_length.to_le_bytes());
        directory.extend_from_slice(&[0; 12]);
        directory.extend_from_slice(&offset.to_le_bytes());
        directory.extend_from_slice(name.as_bytes());
    }
    let directory_offset = archive.len() as u32;
    let count = entries.len() as u16;
    archive.extend_from_slice(&directory);
    archive.extend_from_slice(b"PK\x05\x06\0\0\0\0");
    archive.extend_from_slice(&count.to_le_bytes());
    archive.extend_from_slice(&count.to_le_bytes());
    archive.extend_from_slice(&(directory.len() as u32).to_le_bytes());
    archive.extend_from_slice(&directory_offset.to_le_bytes());
    archive.extend_from_slice(&0u16.to_le_bytes());
    archive
}

/// Deterministic pseudo-random bytes (xorshift), for "binary garbage" samples.
pub fn garbage(length: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    (0..length)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}
