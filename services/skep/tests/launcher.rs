//! The quick start: `skep` on a fresh data directory gives a cases service whose connector
//! reaches the launcher's own engine, and a second start reuses the same engine key.
#![allow(clippy::unwrap_used)]

use std::process::{Child, Command, Stdio};
use std::time::Duration;

struct Launcher(Child);

impl Drop for Launcher {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start(data_dir: &std::path::Path, cases: u16, engine: u16) -> Launcher {
    Launcher(
        Command::new(env!("CARGO_BIN_EXE_skep"))
            .env("SKEP_DATA_DIR", data_dir)
            .env("SKEP_CASES__HTTP__HOST", "127.0.0.1")
            .env("SKEP_CASES__HTTP__PORT", cases.to_string())
            .env("SKEP_ENGINE__HTTP__HOST", "127.0.0.1")
            .env("SKEP_ENGINE__HTTP__PORT", engine.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    )
}

/// The cases service's engine connector state once it answers.
async fn connector_state(cases: u16) -> serde_json::Value {
    let url = format!("http://127.0.0.1:{cases}/api/status");
    let mut last = serde_json::Value::Null;
    for _ in 0..600 {
        if let Ok(response) = reqwest::get(&url).await
            && let Ok(body) = response.json::<serde_json::Value>().await
        {
            last = body["connectors"]["cortex"]["servers"][0].clone();
            if last["status"] == "OK" {
                return last;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the connector never reached its engine: {last}");
}

#[tokio::test]
async fn a_fresh_start_wires_the_connector_and_a_second_start_reuses_its_key() {
    let data_dir = tempfile::tempdir().unwrap();
    let (cases, engine) = (free_port(), free_port());

    let first = start(data_dir.path(), cases, engine);
    let server = connector_state(cases).await;
    let key = std::fs::read_to_string(data_dir.path().join("cases-connector.key")).unwrap();
    drop(first);
    let _second = start(data_dir.path(), cases, engine);
    let again = connector_state(cases).await;
    let key_again = std::fs::read_to_string(data_dir.path().join("cases-connector.key")).unwrap();

    assert_eq!(server["name"], "ENGINE-1");
    assert!(!key.trim().is_empty());
    assert_eq!(again["status"], "OK");
    assert_eq!(key, key_again, "the second start reuses the key");
}
