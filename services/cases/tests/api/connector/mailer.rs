//! The seed's Mailer step: a case tagged `mail:<reporter>` whose description is the drafted
//! reply; the built-in Mailer_1_0 run through the connector delivers it to a real SMTP server
//! (aiosmtpd) and the case gets the responder's operations.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::io::AsyncBufReadExt;

use super::{Engine, audits_of, cases_for, ended, get, post};

/// aiosmtpd's command line with its Maildir handler on a free loopback port; killed on drop.
struct SmtpServer {
    child: Child,
    port: u16,
    maildir: TempDir,
}

impl SmtpServer {
    async fn start() -> SmtpServer {
        let maildir = TempDir::new().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(skep_testkit::python())
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(maildir.path().join("Maildir"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let server = SmtpServer {
            child,
            port,
            maildir,
        };
        let greeted = skep_testkit::wait_until(Duration::from_secs(20), || async move {
            let Ok(stream) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await else {
                return false;
            };
            let mut greeting = String::new();
            let read = tokio::io::BufReader::new(stream)
                .read_line(&mut greeting)
                .await;
            read.is_ok() && greeting.starts_with("220")
        })
        .await;
        assert!(greeted, "aiosmtpd did not greet on port {port}");
        server
    }

    fn delivered(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.maildir.path().join("Maildir").join("new")) else {
            return Vec::new();
        };
        entries
            .filter_map(|entry| std::fs::read_to_string(entry.ok()?.path()).ok())
            .collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The text of a message with quoted-printable soft line breaks and escapes undone.
fn decoded(raw: &str) -> String {
    raw.replace("=\r\n", "")
        .replace("=\n", "")
        .replace("=2E", ".")
        .replace("=3D", "=")
}

#[tokio::test]
async fn the_mailer_answers_the_reporter_of_a_case_and_the_case_gets_its_operations() {
    let smtp = SmtpServer::start().await;
    let engine = Engine::start().await;
    engine
        .enable(
            "responder",
            "Mailer_1_0",
            json!({"from": "soc@example.org", "smtp_host": "127.0.0.1", "smtp_port": smtp.port, "tls": "none"}),
        )
        .await;
    let app = cases_for(&engine).await;
    let reply =
        "Hello,\n\nThe mail you reported is a phishing attempt; we blocked its sender.\nThank you.";
    let (status, case) = post(
        &app,
        "/api/case",
        &json!({"title": "Reported phishing", "description": reply,
                "tags": ["phishing", "mail:reporter@example.org"]}),
    )
    .await;
    assert_eq!(status, 201);
    let case_id = case["id"].as_str().unwrap();

    let (_, applicable) = get(
        &app,
        &format!("/api/connector/cortex/responder/case/{case_id}"),
    )
    .await;
    let (status, action) = post(
        &app,
        "/api/connector/cortex/action",
        &json!({"responderName": "Mailer_1_0", "objectType": "case", "objectId": case_id}),
    )
    .await;
    assert_eq!(status, 200, "{action}");
    let action = ended(
        &app,
        &format!(
            "/api/connector/cortex/action/{}",
            action["id"].as_str().unwrap()
        ),
    )
    .await;
    let (_, after) = get(&app, &format!("/api/case/{case_id}")).await;

    assert!(
        applicable
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["name"] == "Mailer_1_0"),
        "{applicable}"
    );
    assert_eq!(action["status"], "Success", "{action}");
    let operations: Vec<Value> =
        serde_json::from_str(action["operations"].as_str().unwrap()).unwrap();
    assert_eq!(operations.len(), 1);
    assert_eq!(operations[0]["type"], "AddTagToCase");
    assert_eq!(operations[0]["status"], "Success");
    assert!(
        after["tags"]
            .as_array()
            .unwrap()
            .contains(&json!(operations[0]["tag"])),
        "{after}"
    );
    let delivered = smtp.delivered();
    assert_eq!(delivered.len(), 1, "{delivered:?}");
    let message = decoded(&delivered[0]);
    assert!(
        message.contains("X-RcptTo: reporter@example.org"),
        "{message}"
    );
    assert!(message.contains("X-MailFrom: soc@example.org"), "{message}");
    assert!(
        message.contains(&format!(
            "Subject: [Case #{}] Reported phishing",
            case["caseId"]
        )),
        "{message}"
    );
    assert!(message.contains("we blocked its sender."), "{message}");
    let audits = audits_of(&app, case_id).await;
    assert!(
        audits.iter().any(|audit| audit["operation"] == "Update"
            && audit["details"]["tags"]
                .as_array()
                .is_some_and(|tags| tags.contains(&operations[0]["tag"]))),
        "{audits:?}"
    );
}
