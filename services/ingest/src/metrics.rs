//! Counters per mailbox (seen, imported, skipped as duplicate, failed), logged after each pass
//! and served as Prometheus text at `GET /metrics` in daemon mode.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// The counters of one mailbox.
#[derive(Debug, Default)]
pub struct Counters {
    /// Mails fetched.
    pub seen: AtomicU64,
    /// Mails that made a new case or alert.
    pub imported: AtomicU64,
    /// Mails whose case or alert already existed.
    pub duplicates: AtomicU64,
    /// Mails the cases service refused (left in the mailbox).
    pub failed: AtomicU64,
}

impl Counters {
    /// Adds to a counter.
    pub fn add(counter: &AtomicU64, value: u64) {
        counter.fetch_add(value, Ordering::Relaxed);
    }

    fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// Every mailbox's counters, by name.
#[derive(Debug, Default, Clone)]
pub struct Registry {
    mailboxes: Vec<(String, Arc<Counters>)>,
}

impl Registry {
    /// Registers a mailbox and returns its counters.
    pub fn mailbox(&mut self, name: &str) -> Arc<Counters> {
        let counters = Arc::new(Counters::default());
        self.mailboxes.push((name.to_owned(), counters.clone()));
        counters
    }

    /// The Prometheus text exposition of every counter.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for (metric, help, pick) in [
            (
                "skep_ingest_mails_seen_total",
                "Mails fetched from the mailbox.",
                (|c: &Counters| Counters::get(&c.seen)) as fn(&Counters) -> u64,
            ),
            (
                "skep_ingest_mails_imported_total",
                "Mails that became a new case or alert.",
                |c: &Counters| Counters::get(&c.imported),
            ),
            (
                "skep_ingest_mails_duplicate_total",
                "Mails skipped because their case or alert already existed.",
                |c: &Counters| Counters::get(&c.duplicates),
            ),
            (
                "skep_ingest_mails_failed_total",
                "Mails the cases service refused (left in the mailbox).",
                |c: &Counters| Counters::get(&c.failed),
            ),
        ] {
            out.push_str(&format!(
                "# HELP {metric} {help}\n# TYPE {metric} counter\n"
            ));
            for (name, counters) in &self.mailboxes {
                let label = name.replace('\\', "\\\\").replace('"', "\\\"");
                out.push_str(&format!(
                    "{metric}{{mailbox=\"{label}\"}} {}\n",
                    pick(counters)
                ));
            }
        }
        out
    }
}

/// Serves `GET /metrics` on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, registry: Registry) {
    loop {
        let Ok((mut socket, _)) = listener.accept().await else {
            continue;
        };
        let registry = registry.clone();
        tokio::spawn(async move {
            let mut request = Vec::new();
            let mut buffer = [0u8; 1024];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 16 * 1024 {
                match socket.read(&mut buffer).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => request.extend_from_slice(&buffer[..n]),
                }
            }
            let line = String::from_utf8_lossy(&request);
            let (status, body) = if line.starts_with("GET /metrics ") {
                ("200 OK", registry.render())
            } else {
                ("404 Not Found", "not found\n".to_owned())
            };
            let response = format!(
                "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(response.as_bytes()).await;
            let _ = socket.shutdown().await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_render_as_prometheus_text() {
        let mut registry = Registry::default();
        let counters = registry.mailbox("soc \"reports\"");
        Counters::add(&counters.seen, 3);
        Counters::add(&counters.imported, 2);
        Counters::add(&counters.duplicates, 1);
        let text = registry.render();
        assert!(text.contains("# TYPE skep_ingest_mails_seen_total counter\n"));
        assert!(text.contains("skep_ingest_mails_seen_total{mailbox=\"soc \\\"reports\\\"\"} 3\n"));
        assert!(
            text.contains("skep_ingest_mails_imported_total{mailbox=\"soc \\\"reports\\\"\"} 2\n")
        );
        assert!(
            text.contains("skep_ingest_mails_duplicate_total{mailbox=\"soc \\\"reports\\\"\"} 1\n")
        );
        assert!(
            text.contains("skep_ingest_mails_failed_total{mailbox=\"soc \\\"reports\\\"\"} 0\n")
        );
    }
}
