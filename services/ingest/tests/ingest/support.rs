//! Test parts: a real Dovecot on loopback (own config, CA and ports in a temp dir), a real cases
//! service on port 0, and a TCP proxy that can refuse or cut connections (fault tests).

use std::net::TcpListener as StdListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use skep_cases::{Application, CasesConfig};
use skep_config::Secret;
use skep_ingest::config::IngestConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Password of the test IMAP user `alice`.
pub const PASSWORD: &str = "secret";

fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The dovecot binary, or None (after failing the test when CI=true).
pub fn dovecot_binary() -> Option<PathBuf> {
    let candidates = [
        std::env::var("SKEP_TEST_DOVECOT").ok().map(PathBuf::from),
        Some(PathBuf::from("/usr/sbin/dovecot")),
    ];
    let found = candidates.into_iter().flatten().find(|path| path.exists());
    if found.is_none() {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("dovecot is not installed (scripts/test.d/20-dovecot.sh installs it)");
        }
        eprintln!("SKIPPED: dovecot is not installed (run scripts/test.d/20-dovecot.sh as root)");
    }
    found
}

/// A running Dovecot with user `alice`.
pub struct Dovecot {
    /// The temp dir holding config, TLS material and mail.
    pub dir: tempfile::TempDir,
    /// Plain / STARTTLS port.
    pub imap_port: u16,
    /// Implicit TLS port.
    pub imaps_port: u16,
    /// The CA that signed the server certificate.
    pub ca_file: PathBuf,
    child: Child,
}

fn run(command: &mut Command) {
    let output = command.output().expect("the command runs");
    assert!(
        output.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

impl Dovecot {
    /// Starts a fresh Dovecot (None when it is not installed and CI is not set).
    pub async fn start() -> Option<Dovecot> {
        let binary = dovecot_binary()?;
        let dir = tempfile::Builder::new()
            .prefix("skep-dovecot-")
            .tempdir_in("/tmp")
            .unwrap();
        let d = dir.path();
        std::fs::set_permissions(d, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        for sub in ["run", "state", "mail", "tls"] {
            std::fs::create_dir_all(d.join(sub)).unwrap();
        }
        let tls = d.join("tls");
        run(Command::new("openssl")
            .current_dir(&tls)
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
            ])
            .args([
                "-subj",
                "/CN=skep test CA",
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
            ]));
        run(Command::new("openssl")
            .current_dir(&tls)
            .args([
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                "/CN=localhost",
            ])
            .args(["-keyout", "key.pem", "-out", "leaf.csr"]));
        std::fs::write(
            tls.join("leaf.ext"),
            "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
        )
        .unwrap();
        run(Command::new("openssl")
            .current_dir(&tls)
            .args([
                "x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            ])
            .args([
                "-CAcreateserial",
                "-days",
                "30",
                "-extfile",
                "leaf.ext",
                "-out",
                "cert.pem",
            ]));
        std::fs::write(
            d.join("users"),
            format!("alice:{{PLAIN}}{PASSWORD}::::::\n"),
        )
        .unwrap();
        run(Command::new("chown")
            .args(["nobody:nogroup"])
            .arg(d.join("mail")));
        let imap_port = free_port();
        let imaps_port = free_port();
        let d = d.display();
        let config = format!(
            "protocols = imap\nlisten = 127.0.0.1\nbase_dir = {d}/run\nstate_dir = {d}/state\n\
instance_name = skep-test-{imap_port}\nlog_path = {d}/dovecot.log\nssl = yes\n\
ssl_cert = <{d}/tls/cert.pem\nssl_key = <{d}/tls/key.pem\ndisable_plaintext_auth = no\n\
auth_mechanisms = plain login\n\
passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%u {d}/users\n}}\n\
userdb {{\n  driver = static\n  args = uid=nobody gid=nogroup home={d}/mail/%u\n}}\n\
mail_location = maildir:~/Maildir\n\
namespace inbox {{\n  inbox = yes\n  separator = /\n}}\n\
service imap-login {{\n  inet_listener imap {{\n    port = {imap_port}\n  }}\n  inet_listener imaps {{\n    port = {imaps_port}\n    ssl = yes\n  }}\n}}\n"
        );
        let config_path = dir.path().join("dovecot.conf");
        std::fs::write(&config_path, config).unwrap();
        let child = Command::new(binary)
            .arg("-F")
            .arg("-c")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("dovecot starts");
        let dovecot = Dovecot {
            ca_file: dir.path().join("tls/ca.pem"),
            dir,
            imap_port,
            imaps_port,
            child,
        };
        // Ready when a real login works (a connection made too early is dropped).
        for _ in 0..100 {
            if dovecot.client().await.is_ok() {
                return Some(dovecot);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "dovecot did not accept a login: {}",
            std::fs::read_to_string(dovecot.dir.path().join("dovecot.log")).unwrap_or_default()
        );
    }

    /// A logged-in plain IMAP session as alice.
    pub async fn client(
        &self,
    ) -> Result<async_imap::Session<TcpStream>, Box<dyn std::error::Error>> {
        let tcp = TcpStream::connect(("127.0.0.1", self.imap_port)).await?;
        let mut client = async_imap::Client::new(tcp);
        client.read_response().await?.ok_or("no greeting")?;
        let session = client.login("alice", PASSWORD).await.map_err(|(e, _)| e)?;
        Ok(session)
    }

    /// Creates `folder` (if needed) and appends each raw message to it.
    pub async fn append(&self, folder: &str, messages: &[Vec<u8>]) {
        let mut session = self.client().await.unwrap();
        let _ = session.create(folder).await;
        for raw in messages {
            session.append(folder, None, None, raw).await.unwrap();
        }
        session.logout().await.unwrap();
    }

    /// UIDs in `folder` matching an IMAP search (`SEEN`, `UNSEEN`, `ALL`, `DELETED`).
    pub async fn search(&self, folder: &str, query: &str) -> Vec<u32> {
        let mut session = self.client().await.unwrap();
        session.examine(folder).await.unwrap();
        let mut uids: Vec<u32> = session
            .uid_search(query)
            .await
            .unwrap()
            .into_iter()
            .collect();
        uids.sort_unstable();
        session.logout().await.unwrap();
        uids
    }

    /// Removes `\Seen` from every message of `folder`.
    pub async fn unflag_all(&self, folder: &str) {
        use futures_util::TryStreamExt;
        let mut session = self.client().await.unwrap();
        session.select(folder).await.unwrap();
        let _: Vec<_> = session
            .uid_store("1:*", "-FLAGS.SILENT (\\Seen)")
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        session.logout().await.unwrap();
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        let _ = nix_kill(self.child.id());
        let _ = self.child.wait();
    }
}

fn nix_kill(pid: u32) -> std::io::Result<()> {
    Command::new("kill")
        .arg(pid.to_string())
        .status()
        .map(|_| ())
}

/// A cases service on port 0 with an admin API key.
pub struct Cases {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    /// The admin's API key.
    pub key: String,
    client: reqwest::Client,
    _data: tempfile::TempDir,
}

impl Cases {
    /// Starts a fresh cases service.
    pub async fn start() -> Cases {
        Cases::start_on(0).await
    }

    /// Starts one on `port` (0: any).
    pub async fn start_on(port: u16) -> Cases {
        let data = skep_testkit::temp_dir();
        let key = skep_auth::key::generate();
        let mut config = CasesConfig::default();
        config.http.host = "127.0.0.1".into();
        config.http.port = port;
        config.data_dir = data.path().to_path_buf();
        config.bootstrap.admin_login = Some("admin".into());
        config.bootstrap.admin_password = Some(Secret::new("admin-password"));
        config.bootstrap.admin_key = Some(Secret::new(key.clone()));
        let application = Application::build(config).await.expect("cases starts");
        let url = format!("http://127.0.0.1:{}", application.port());
        tokio::spawn(application.run_until_stopped());
        Cases {
            url,
            key,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap(),
            _data: data,
        }
    }

    /// POST JSON as the admin; the response body.
    pub async fn post(&self, path: &str, body: &Value) -> Value {
        let response = self
            .client
            .post(format!("{}{path}", self.url))
            .bearer_auth(&self.key)
            .json(body)
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        response.json().await.unwrap()
    }

    /// Every case.
    pub async fn cases(&self) -> Vec<Value> {
        let found = self
            .post("/api/case/_search?range=all", &json!({"query": {}}))
            .await;
        found.as_array().unwrap().clone()
    }

    /// Every alert.
    pub async fn alerts(&self) -> Vec<Value> {
        let found = self
            .post("/api/alert/_search?range=all", &json!({"query": {}}))
            .await;
        found.as_array().unwrap().clone()
    }

    /// The observables of a case.
    pub async fn observables(&self, case_id: &str) -> Vec<Value> {
        let found = self
            .post(
                &format!("/api/case/{case_id}/artifact/_search?range=all"),
                &json!({"query": {}}),
            )
            .await;
        found.as_array().unwrap().clone()
    }

    /// Downloads an attachment by id.
    pub async fn download(&self, id: &str) -> Vec<u8> {
        let response = self
            .client
            .get(format!("{}/api/datastore/{id}", self.url))
            .bearer_auth(&self.key)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success());
        response.bytes().await.unwrap().to_vec()
    }
}

/// The ingest configuration for one mailbox of `dovecot` into `cases_url`, as Skep TOML plus
/// `extra` lines appended to the mailbox table.
pub fn ingest_config(
    cases_url: &str,
    key: &str,
    host_port: (u16, &str),
    ca_file: &Path,
    folder: &str,
    extra: &str,
) -> IngestConfig {
    let (port, tls) = host_port;
    let text = format!(
        r#"
[cases]
url = "{cases_url}"
key = "{key}"
timeout_secs = 10

[ingest]
batch_size = 7
concurrency = 4
retry_initial_ms = 50
retry_max_secs = 1
give_up_after_secs = 3
metrics_listen = ""

[[mailboxes]]
name = "test"
host = "localhost"
port = {port}
tls = "{tls}"
allow_plaintext = true
ca_file = "{ca}"
user = "alice"
password = "{PASSWORD}"
folder = "{folder}"
{extra}
"#,
        ca = ca_file.display()
    );
    let config: IngestConfig = toml::from_str(&text).unwrap();
    skep_ingest::config::validate(&config).unwrap();
    config
}

/// A TCP proxy to `target` that can refuse new connections, and cut a connection once the
/// client has sent `cut_after` (a byte pattern), once.
pub struct Proxy {
    /// The port to connect to.
    pub port: u16,
    /// While true, connections are accepted and closed at once.
    pub refuse: Arc<AtomicBool>,
    /// Connections cut so far.
    pub cuts: Arc<AtomicUsize>,
}

impl Proxy {
    /// Starts a proxy to `127.0.0.1:target`; with `cut_on`, the first client→server chunk
    /// containing it (from the `skip`-th occurrence on) closes that connection before
    /// forwarding it.
    pub async fn start(target: u16, cut_on: Option<(&'static [u8], usize)>) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let refuse = Arc::new(AtomicBool::new(false));
        let cuts = Arc::new(AtomicUsize::new(0));
        let seen = Arc::new(AtomicUsize::new(0));
        let (refuse2, cuts2) = (refuse.clone(), cuts.clone());
        tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    return;
                };
                if refuse2.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let Ok(server) = TcpStream::connect(("127.0.0.1", target)).await else {
                    continue;
                };
                let (cuts, seen) = (cuts2.clone(), seen.clone());
                tokio::spawn(async move {
                    let (mut client_read, mut client_write) = client.into_split();
                    let (mut server_read, mut server_write) = server.into_split();
                    let upstream = async {
                        let mut buffer = vec![0u8; 64 * 1024];
                        loop {
                            let n = match client_read.read(&mut buffer).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => n,
                            };
                            if let Some((pattern, skip)) = cut_on
                                && buffer[..n].windows(pattern.len()).any(|w| w == pattern)
                                && seen.fetch_add(1, Ordering::SeqCst) == skip
                            {
                                cuts.fetch_add(1, Ordering::SeqCst);
                                return;
                            }
                            if server_write.write_all(&buffer[..n]).await.is_err() {
                                return;
                            }
                        }
                    };
                    let downstream = async {
                        let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
                    };
                    tokio::select! {
                        _ = upstream => {},
                        _ = downstream => {},
                    }
                });
            }
        });
        Proxy { port, refuse, cuts }
    }
}
