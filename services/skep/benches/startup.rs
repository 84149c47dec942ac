//! `cargo bench -p skep --bench startup`: how long the `skep` launcher takes from exec to every
//! service answering `GET /api/status` on an existing data directory, and the platform's
//! resident memory at rest (one process: cases + engine).
//!
//! The data directory is created by a first start that is not measured (it hashes the admins'
//! passwords with argon2 and creates the stores). Then `RUNS` starts are measured; each waits
//! `REST` after ready before reading `VmRSS` from `/proc`, then stops the launcher with SIGTERM.
#![allow(clippy::unwrap_used)]
// A synchronous benchmark: blocking sleeps are what it needs.
#![allow(clippy::disallowed_methods)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

const RUNS: usize = 7;
const REST: Duration = Duration::from_secs(3);

/// Starts `skep` on `data_dir` and returns it with the two service URLs once it prints `ready`.
fn start(data_dir: &std::path::Path) -> (Child, Vec<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_skep"))
        .env_remove("SKEP_CONFIG")
        .env("SKEP_DATA_DIR", data_dir)
        .env("SKEP_CASES__HTTP__PORT", "0")
        .env("SKEP_ENGINE__HTTP__PORT", "0")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut urls = Vec::new();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(at) = line.find("http://") {
            urls.push(line[at..].trim().to_owned());
        }
        if line.starts_with("ready") {
            break;
        }
    }
    // Keep draining stdout so the launcher never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    (child, urls)
}

fn stop(mut child: Child) {
    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
    child.wait().unwrap();
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.split_whitespace().next())
        .and_then(|value| value.parse().ok())
        .unwrap()
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    let data_dir = tempfile::Builder::new()
        .prefix("skep-bench-")
        .tempdir()
        .unwrap();
    let (first, _) = start(data_dir.path());
    stop(first);
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();

    let mut ready_ms = Vec::new();
    let mut rss_mib = Vec::new();
    for _ in 0..RUNS {
        let began = Instant::now();
        let (child, urls) = start(data_dir.path());
        assert_eq!(urls.len(), 2, "both service URLs printed");
        for url in &urls {
            loop {
                let answered = client
                    .get(format!("{url}/api/status"))
                    .send()
                    .map(|response| response.status().is_success())
                    .unwrap_or(false);
                if answered {
                    break;
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        ready_ms.push(began.elapsed().as_secs_f64() * 1000.0);
        std::thread::sleep(REST);
        rss_mib.push(rss_kib(child.id()) as f64 / 1024.0);
        stop(child);
    }

    let (min, max) = (
        ready_ms.iter().copied().fold(f64::MAX, f64::min),
        ready_ms.iter().copied().fold(0.0, f64::max),
    );
    println!(
        "launcher start to all services ready (existing data dir, {RUNS} runs): median {:.0} ms (min {min:.0}, max {max:.0}); target <= 1000 ms",
        median(&mut ready_ms)
    );
    println!(
        "platform RSS at rest ({} s after ready): median {:.1} MiB; target <= 64 MB",
        REST.as_secs(),
        median(&mut rss_mib)
    );
}
