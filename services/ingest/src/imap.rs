//! The IMAP side: connecting (implicit TLS, STARTTLS, or plain when allowed), logging in,
//! selecting the folder, listing unseen messages by UID, fetching them with `BODY.PEEK[]` (so
//! reading never marks them), and marking, moving or deleting them once imported.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use async_imap::Session;
use futures_util::TryStreamExt;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls;

use crate::config::{AfterImport, MailboxConfig, TlsMode};

/// Longest wait for a connection, the greeting, or one command.
const TIMEOUT: Duration = Duration::from_secs(60);

/// What went wrong with IMAP.
#[derive(Debug, thiserror::Error)]
pub enum ImapError {
    /// The server cannot be reached or dropped the connection: retry.
    #[error("IMAP server unreachable: {0}")]
    Unreachable(String),
    /// Login refused, folder missing, TLS misconfigured: retrying will not help.
    #[error("IMAP: {0}")]
    Refused(String),
}

impl From<async_imap::error::Error> for ImapError {
    fn from(error: async_imap::error::Error) -> ImapError {
        use async_imap::error::Error;
        match error {
            Error::No(message) => ImapError::Refused(format!("the server said NO: {message}")),
            Error::Bad(message) => ImapError::Refused(format!("the server said BAD: {message}")),
            other => ImapError::Unreachable(other.to_string()),
        }
    }
}

/// A TCP connection, with or without TLS.
#[derive(Debug)]
pub enum Stream {
    /// Plain TCP.
    Plain(TcpStream),
    /// TLS over TCP.
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(stream) => Pin::new(stream).poll_read(cx, buf),
            Stream::Tls(stream) => Pin::new(stream.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(stream) => Pin::new(stream).poll_write(cx, buf),
            Stream::Tls(stream) => Pin::new(stream.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(stream) => Pin::new(stream).poll_flush(cx),
            Stream::Tls(stream) => Pin::new(stream.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(stream) => Pin::new(stream).poll_shutdown(cx),
            Stream::Tls(stream) => Pin::new(stream.as_mut()).poll_shutdown(cx),
        }
    }
}

/// A logged-in session with the folder selected.
pub struct Mailbox {
    session: Session<Stream>,
    capabilities: async_imap::types::Capabilities,
}

/// A fetched message.
#[derive(Debug)]
pub struct Fetched {
    /// Its UID.
    pub uid: u32,
    /// `RFC822.SIZE`.
    pub size: u64,
    /// The whole message, or only its header when it is over the size limit.
    pub raw: Vec<u8>,
    /// True when `raw` is only the header.
    pub headers_only: bool,
}

async fn timed<T>(
    what: &str,
    future: impl std::future::Future<Output = Result<T, ImapError>>,
) -> Result<T, ImapError> {
    tokio::time::timeout(TIMEOUT, future)
        .await
        .map_err(|_| ImapError::Unreachable(format!("{what} timed out")))?
}

/// The TLS client configuration of a mailbox: its `ca_file`, else `SSL_CERT_FILE`, else the
/// public web roots; no verification only when `tls_verify = false`.
pub fn tls_config(
    mailbox: &MailboxConfig,
    ssl_cert_file: Option<&str>,
) -> Result<Arc<rustls::ClientConfig>, ImapError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|error| ImapError::Refused(format!("TLS setup: {error}")))?;
    if !mailbox.tls_verify {
        tracing::warn!(
            mailbox = %mailbox.display_name(),
            "TLS certificate verification is OFF (tls_verify = false)"
        );
        return Ok(Arc::new(
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(NoVerification(provider)))
                .with_no_client_auth(),
        ));
    }
    let mut roots = rustls::RootCertStore::empty();
    let ca_file = mailbox
        .ca_file
        .clone()
        .or_else(|| ssl_cert_file.map(Into::into));
    match ca_file {
        Some(path) => {
            let certificates = CertificateDer::pem_file_iter(&path)
                .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
                .map_err(|error| {
                    ImapError::Refused(format!("cannot read CA file {}: {error}", path.display()))
                })?;
            let (added, _) = roots.add_parsable_certificates(certificates);
            if added == 0 {
                return Err(ImapError::Refused(format!(
                    "no certificate in CA file {}",
                    path.display()
                )));
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    Ok(Arc::new(
        builder.with_root_certificates(roots).with_no_client_auth(),
    ))
}

/// Accepts any certificate (still checks the handshake signatures).
#[derive(Debug)]
struct NoVerification(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls_pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

async fn tls_wrap(
    tcp: TcpStream,
    host: &str,
    config: Arc<rustls::ClientConfig>,
) -> Result<Stream, ImapError> {
    let name = ServerName::try_from(host.to_owned())
        .map_err(|error| ImapError::Refused(format!("bad host name {host:?}: {error}")))?;
    let stream = TlsConnector::from(config)
        .connect(name, tcp)
        .await
        .map_err(|error| match error.kind() {
            io::ErrorKind::InvalidData => ImapError::Refused(format!("TLS handshake: {error}")),
            _ => ImapError::Unreachable(format!("TLS handshake: {error}")),
        })?;
    Ok(Stream::Tls(Box::new(stream)))
}

async fn read_greeting(client: &mut async_imap::Client<Stream>) -> Result<(), ImapError> {
    match client.read_response().await {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err(ImapError::Unreachable(
            "the server closed the connection before its greeting".into(),
        )),
        Err(error) => Err(ImapError::Unreachable(error.to_string())),
    }
}

impl Mailbox {
    /// Connects, secures, logs in and selects the folder.
    pub async fn open(
        config: &MailboxConfig,
        ssl_cert_file: Option<&str>,
    ) -> Result<Mailbox, ImapError> {
        timed("connecting", Mailbox::open_inner(config, ssl_cert_file)).await
    }

    async fn open_inner(
        config: &MailboxConfig,
        ssl_cert_file: Option<&str>,
    ) -> Result<Mailbox, ImapError> {
        let address = (config.host.as_str(), config.port());
        let tcp = TcpStream::connect(address).await.map_err(|error| {
            ImapError::Unreachable(format!(
                "cannot connect to {}:{}: {error}",
                config.host,
                config.port()
            ))
        })?;
        let _ = tcp.set_nodelay(true);
        let client = match config.tls {
            TlsMode::Implicit => {
                let stream =
                    tls_wrap(tcp, &config.host, tls_config(config, ssl_cert_file)?).await?;
                let mut client = async_imap::Client::new(stream);
                read_greeting(&mut client).await?;
                client
            }
            TlsMode::Starttls => {
                let mut client = async_imap::Client::new(Stream::Plain(tcp));
                read_greeting(&mut client).await?;
                client.run_command_and_check_ok("STARTTLS", None).await?;
                let Stream::Plain(tcp) = client.into_inner() else {
                    unreachable!("the stream was made plain above")
                };
                let stream =
                    tls_wrap(tcp, &config.host, tls_config(config, ssl_cert_file)?).await?;
                async_imap::Client::new(stream)
            }
            TlsMode::Plain => {
                let mut client = async_imap::Client::new(Stream::Plain(tcp));
                read_greeting(&mut client).await?;
                client
            }
        };
        let mut session = client.login(&config.user, &config.password).await.map_err(
            |(error, _)| match error {
                async_imap::error::Error::No(message) => {
                    ImapError::Refused(format!("login refused for {}: {message}", config.user))
                }
                other => ImapError::from(other),
            },
        )?;
        let capabilities = session.capabilities().await?;
        session
            .select(&config.folder)
            .await
            .map_err(|error| match error {
                async_imap::error::Error::No(message) => ImapError::Refused(format!(
                    "cannot select folder {:?}: {message}",
                    config.folder
                )),
                other => ImapError::from(other),
            })?;
        Ok(Mailbox {
            session,
            capabilities,
        })
    }

    /// True when the server offers `name` (e.g. `IDLE`, `MOVE`, `UIDPLUS`).
    pub fn has_capability(&self, name: &str) -> bool {
        self.capabilities.has_str(name)
    }

    /// UIDs of the unseen, undeleted messages, ascending.
    pub async fn unseen(&mut self) -> Result<Vec<u32>, ImapError> {
        let uids = timed("UID SEARCH", async {
            Ok(self.session.uid_search("UNSEEN UNDELETED").await?)
        })
        .await?;
        let mut uids: Vec<u32> = uids.into_iter().collect();
        uids.sort_unstable();
        Ok(uids)
    }

    /// Fetches `uids` with `BODY.PEEK[]`; messages over `max_bytes` only with their header.
    pub async fn fetch(&mut self, uids: &[u32], max_bytes: u64) -> Result<Vec<Fetched>, ImapError> {
        if uids.is_empty() {
            return Ok(Vec::new());
        }
        let sizes: Vec<(u32, u64)> = timed("UID FETCH sizes", async {
            let fetches: Vec<_> = self
                .session
                .uid_fetch(uid_set(uids), "(UID RFC822.SIZE)")
                .await?
                .try_collect()
                .await?;
            Ok(fetches
                .iter()
                .filter_map(|fetch| Some((fetch.uid?, u64::from(fetch.size?))))
                .collect())
        })
        .await?;
        let small: Vec<u32> = sizes
            .iter()
            .filter(|(_, size)| *size <= max_bytes)
            .map(|(uid, _)| *uid)
            .collect();
        let large: Vec<u32> = sizes
            .iter()
            .filter(|(_, size)| *size > max_bytes)
            .map(|(uid, _)| *uid)
            .collect();
        let size_of = |uid: u32| {
            sizes
                .iter()
                .find(|(u, _)| *u == uid)
                .map_or(0, |(_, size)| *size)
        };
        let mut fetched = Vec::with_capacity(sizes.len());
        for (set, query, headers_only) in [
            (&small, "(UID BODY.PEEK[])", false),
            (&large, "(UID BODY.PEEK[HEADER])", true),
        ] {
            if set.is_empty() {
                continue;
            }
            let batch: Vec<Fetched> = timed("UID FETCH", async {
                let fetches: Vec<_> = self
                    .session
                    .uid_fetch(uid_set(set), query)
                    .await?
                    .try_collect()
                    .await?;
                Ok(fetches
                    .iter()
                    .filter_map(|fetch| {
                        let uid = fetch.uid?;
                        let raw = if headers_only {
                            fetch.header().or_else(|| fetch.body())
                        } else {
                            fetch.body()
                        }?;
                        Some(Fetched {
                            uid,
                            size: size_of(uid),
                            raw: raw.to_vec(),
                            headers_only,
                        })
                    })
                    .collect())
            })
            .await?;
            fetched.extend(batch);
        }
        if fetched.len() < uids.len() {
            // Fewer messages than asked: expunged meanwhile, or a dropped connection that the
            // fetch stream ended on quietly. A NOOP tells the two apart.
            timed("NOOP", async {
                Ok(self.session.run_command_and_check_ok("NOOP").await?)
            })
            .await?;
        }
        fetched.sort_by_key(|fetch| fetch.uid);
        Ok(fetched)
    }

    /// Marks imported messages: `\Seen`, moved, or `\Deleted` and expunged.
    pub async fn finish(
        &mut self,
        uids: &[u32],
        after: AfterImport,
        move_to: Option<&str>,
    ) -> Result<(), ImapError> {
        if uids.is_empty() {
            return Ok(());
        }
        let set = uid_set(uids);
        let uidplus = self.has_capability("UIDPLUS");
        let can_move = self.has_capability("MOVE");
        timed("marking imported mails", async {
            match after {
                AfterImport::Seen => {
                    self.store(&set, "+FLAGS.SILENT (\\Seen)").await?;
                }
                AfterImport::Move => {
                    let target = move_to.unwrap_or("INBOX");
                    if can_move {
                        self.session.uid_mv(&set, target).await?;
                    } else {
                        self.session.uid_copy(&set, target).await?;
                        self.store(&set, "+FLAGS.SILENT (\\Seen \\Deleted)").await?;
                        self.expunge(&set, uidplus).await?;
                    }
                }
                AfterImport::Delete => {
                    self.store(&set, "+FLAGS.SILENT (\\Seen \\Deleted)").await?;
                    self.expunge(&set, uidplus).await?;
                }
            }
            Ok(())
        })
        .await
    }

    // STORE and EXPUNGE wait for the tagged OK: the library's response streams end quietly
    // when the connection drops, which would pass an unstored flag off as stored.
    async fn store(&mut self, set: &str, query: &str) -> Result<(), ImapError> {
        self.session
            .run_command_and_check_ok(format!("UID STORE {set} {query}"))
            .await?;
        Ok(())
    }

    /// `UID EXPUNGE` when offered (only our messages), else `EXPUNGE`.
    async fn expunge(&mut self, set: &str, uidplus: bool) -> Result<(), ImapError> {
        let command = if uidplus {
            format!("UID EXPUNGE {set}")
        } else {
            "EXPUNGE".to_owned()
        };
        self.session.run_command_and_check_ok(command).await?;
        Ok(())
    }

    /// Waits until the server reports a change (IDLE) or `timeout` passes; returns the session.
    /// A change reported before IDLE took effect (during the pass, or while IDLE started) ends
    /// the wait at once: the library files those under unsolicited responses, not as news.
    pub async fn idle(self, timeout: Duration) -> Result<Mailbox, ImapError> {
        let notices = self.session.unsolicited_responses.clone();
        if has_news(&notices) {
            return Ok(self);
        }
        let capabilities = self.capabilities;
        let mut handle = self.session.idle();
        handle.init().await?;
        if !has_news(&notices) {
            let (wait, _stop) = handle.wait_with_timeout(timeout);
            wait.await?;
        }
        let session = handle.done().await?;
        Ok(Mailbox {
            session,
            capabilities,
        })
    }

    /// Says goodbye (errors ignored: the connection is dropped anyway).
    pub async fn close(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(5), self.session.logout()).await;
    }
}

/// Drains the unsolicited responses; true when one says the mailbox grew or changed.
fn has_news(notices: &async_channel::Receiver<async_imap::types::UnsolicitedResponse>) -> bool {
    use async_imap::types::UnsolicitedResponse;
    let mut news = false;
    while let Ok(notice) = notices.try_recv() {
        news |= matches!(
            notice,
            UnsolicitedResponse::Exists(_) | UnsolicitedResponse::Recent(_)
        );
    }
    news
}

/// `1,2,5` (the server merges ranges itself).
fn uid_set(uids: &[u32]) -> String {
    let parts: Vec<String> = uids.iter().map(u32::to_string).collect();
    parts.join(",")
}
