//! Ingest benchmark (not a test): Skep's ingest and imap2thehive side by side on the same mails
//! in a real Dovecot, each into a fresh cases service, observables on. Prints mails/s of each
//! and the peak RSS of the `skep-ingest` process.
//!
//! `cargo bench -p skep-ingest --bench versus`. `SKEP_BENCH_MAILS` sets the number of mails
//! (default 1,000). imap2thehive runs when `IMAP2THEHIVE_PY` names its script
//! (`imap2thehive/imap2thehive.py` of the xme/dockers repository); the benchmark then makes a
//! venv under `.test-env/imap2thehive-venv` with thehive4py 1.7.2 (the last version its file
//! upload works with) and the script's other imports. Without it the comparison says skipped.
// Benchmark support: any failed setup step should stop the run with a panic.
#![allow(clippy::unwrap_used)]

#[allow(dead_code)]
#[path = "../tests/ingest/support.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::{Cases, Dovecot};

const FOLDER_SKEP: &str = "skep";
const FOLDER_I2TH: &str = "i2th";

/// Mail `i`: about 1 in 10 an alert, 1 in 10 with a PDF, each with a handful of observables.
fn mail(i: usize) -> Vec<u8> {
    let alert = i % 10 == 3;
    let subject = if alert {
        format!("[ALERT] Suspicious login {i}")
    } else {
        format!("Phishing report {i}")
    };
    let body = format!(
        "Reported by a user.\nThe link was http://login-{i}.phish-example.com/verify/account?id={i}\nfrom 203.0.{}.{} sent by attacker{i}@phish-example.net\nattachment invoice_{i}.exe md5 {:032x}\n",
        i / 250 % 250,
        i % 250 + 1,
        i as u128 * 7919 + 0xabcdef
    );
    let mut raw = format!(
        "From: Reporter {i} <reporter{i}@partner.net>\r\nTo: soc@example.org\r\nSubject: {subject}\r\nMessage-ID: <bench-{i}@partner.net>\r\nDate: Tue, 1 Dec 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n"
    );
    if i % 10 == 5 {
        raw.push_str("Content-Type: multipart/mixed; boundary=\"B\"\r\n\r\n--B\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n");
        raw.push_str(&body.replace('\n', "\r\n"));
        raw.push_str(&format!("--B\r\nContent-Type: application/pdf; name=\"report-{i}.pdf\"\r\nContent-Disposition: attachment; filename=\"report-{i}.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQKJSVFT0YK\r\n--B--\r\n"));
    } else {
        raw.push_str("Content-Type: text/plain; charset=utf-8\r\n\r\n");
        raw.push_str(&body.replace('\n', "\r\n"));
    }
    raw.into_bytes()
}

/// Peak RSS (VmHWM) of a process while it runs, polled.
fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|line| line.starts_with("VmHWM:"))
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|kib| kib.parse().ok())
}

/// CPU seconds (user + system) a process used so far.
fn cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

async fn created(cases: &Cases) -> usize {
    cases.cases().await.len() + cases.alerts().await.len()
}

/// mails/s, peak RSS (KiB), CPU seconds of the ingest, CPU seconds of the cases service.
async fn run_skep(dovecot: &Dovecot, count: usize) -> (f64, u64, f64, f64) {
    let cases = Cases::start().await;
    let dir = dovecot.dir.path();
    let config = dir.join("skep-bench.toml");
    std::fs::write(
        &config,
        format!(
            "[cases]\nurl = \"{}\"\nkey = \"{}\"\n[ingest]\nbatch_size = 100\nconcurrency = 16\n\
[[mailboxes]]\nhost = \"localhost\"\nport = {}\nca_file = \"{}\"\nuser = \"alice\"\npassword = \"{}\"\n\
folder = \"{FOLDER_SKEP}\"\nobservables = true\n[mailboxes.case]\ntags = [\"email\"]\ntasks = [\"Investigation\"]\nfiles = [\"application/pdf\"]\n\
[mailboxes.alert]\nkeywords = '\\S*(ALERT|VTMIS)\\S*'\ntags = [\"email\", \"imap\"]\n",
            cases.url,
            cases.key,
            dovecot.imaps_port,
            dovecot.ca_file.display(),
            support::PASSWORD
        ),
    )
    .unwrap();
    let started = Instant::now();
    let cases_cpu_before = cpu_seconds("self").unwrap_or(0.0);
    let mut child = Command::new(env!("CARGO_BIN_EXE_skep-ingest"))
        .args(["--config", config.to_str().unwrap(), "--once"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut peak = 0;
    let mut ingest_cpu = 0.0;
    let status = loop {
        if let Some(rss) = peak_rss_kib(pid) {
            peak = peak.max(rss);
        }
        if let Some(cpu) = cpu_seconds(&pid.to_string()) {
            ingest_cpu = cpu;
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let seconds = started.elapsed().as_secs_f64();
    let cases_cpu = cpu_seconds("self").unwrap_or(0.0) - cases_cpu_before;
    assert!(status.success(), "skep-ingest exited with {status}");
    assert_eq!(created(&cases).await, count, "Skep created every mail once");
    println!(
        "Skep: {count} mails in {seconds:.1} s; CPU: skep-ingest {ingest_cpu:.1} s, cases service {cases_cpu:.1} s"
    );
    (count as f64 / seconds, peak, ingest_cpu, cases_cpu)
}

fn imap2thehive_venv(root: &Path) -> PathBuf {
    let venv = root.join(".test-env/imap2thehive-venv");
    let python = venv.join("bin/python");
    if !python.exists() {
        let status = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .unwrap();
        assert!(status.success());
        let status = Command::new(venv.join("bin/pip"))
            .args(["install", "-q", "--disable-pip-version-check"])
            .args(["thehive4py==1.7.2", "chardet==5.2.0", "python-gnupg==0.5.4"])
            .status()
            .unwrap();
        assert!(status.success(), "pip install for imap2thehive");
    }
    python
}

async fn run_imap2thehive(dovecot: &Dovecot, script: &Path, count: usize) -> f64 {
    let python = imap2thehive_venv(&skep_testkit::workspace_root());
    let cases = Cases::start().await;
    let conf = dovecot.dir.path().join("imap2thehive.conf");
    std::fs::write(
        &conf,
        format!(
            "[imap]\nhost: localhost\nport: {}\nuser: alice\npassword: {}\nfolder: {FOLDER_I2TH}\n\n\
[thehive]\nurl: {}\napikey: {}\nobservables: true\n\n\
[alert]\nkeywords: \\S*(ALERT|VTMIS)\\S*\ntlp: 2\ntags: email,imap\n\n\
[case]\ntlp: 2\ntags: email\ntasks: Investigation\nfiles: application/pdf\n\n\
[custom_observables]\n\n\
[loggers]\nkeys=root\n[handlers]\nkeys=console\n[formatters]\nkeys=plain\n\
[logger_root]\nlevel=WARNING\nhandlers=console\n\
[handler_console]\nclass=StreamHandler\nlevel=WARNING\nformatter=plain\nargs=(sys.stderr,)\n\
[formatter_plain]\nformat=%%(message)s\n",
            dovecot.imaps_port,
            support::PASSWORD,
            cases.url,
            cases.key
        ),
    )
    .unwrap();
    let started = Instant::now();
    let cases_cpu_before = cpu_seconds("self").unwrap_or(0.0);
    let output = Command::new(python)
        .arg(script)
        .arg("-c")
        .arg(&conf)
        .output()
        .unwrap();
    let seconds = started.elapsed().as_secs_f64();
    let cases_cpu = cpu_seconds("self").unwrap_or(0.0) - cases_cpu_before;
    let made = created(&cases).await;
    println!("imap2thehive: {made} mails in {seconds:.1} s; CPU: cases service {cases_cpu:.1} s");
    if made != count {
        eprintln!(
            "imap2thehive created {made} of {count}: {}",
            String::from_utf8_lossy(&output.stderr)
                .lines()
                .rev()
                .take(20)
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    made as f64 / seconds
}

#[tokio::main]
async fn main() {
    let count: usize = std::env::var("SKEP_BENCH_MAILS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1000);
    let Some(dovecot) = Dovecot::start().await else {
        eprintln!("skipped: dovecot is not installed");
        return;
    };
    let mails: Vec<Vec<u8>> = (0..count).map(mail).collect();
    dovecot.append(FOLDER_SKEP, &mails).await;
    dovecot.append(FOLDER_I2TH, &mails).await;

    let (skep_rate, skep_rss, _, _) = run_skep(&dovecot, count).await;
    println!("| ingest | mails | mails/s | peak RSS of the ingest process |");
    println!("|---|---|---|---|");
    println!(
        "| Skep `skep-ingest --once` | {count} | {skep_rate:.0} | {:.1} MiB |",
        skep_rss as f64 / 1024.0
    );
    match std::env::var("IMAP2THEHIVE_PY")
        .ok()
        .filter(|p| !p.is_empty())
    {
        Some(script) => {
            let rate = run_imap2thehive(&dovecot, Path::new(&script), count).await;
            println!("| imap2thehive 1.0.7 + thehive4py 1.7.2 | {count} | {rate:.0} | — |");
            println!("\nSkep / imap2thehive: {:.1}×", skep_rate / rate);
        }
        None => println!("| imap2thehive | — | skipped (IMAP2THEHIVE_PY unset) | — |"),
    }
}
