//! The Skep cases service: case management speaking TheHive 3's REST dialect, so thehive4py
//! 1.x and the feeders written on it work unchanged.
//!
//! It owns cases, tasks, logs, observables, users and the attachment datastore (and, in
//! `api::extra`, alerts, templates, lists, activity). It must not reach another service's
//! store; the analysis engine is reached over HTTP only. Start reading at [`routes`] (every
//! path of the API), then [`domain`] for the rules and [`auth`] for who may call what.

pub mod api;
pub mod auth;
pub mod config;
pub mod domain;
pub mod error;
pub mod roles;
pub mod routes;
pub mod state;

use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::{App, HttpServer, web};
use anyhow::Context;

pub use config::CasesConfig;
pub use state::CasesState;

/// File in the data directory holding the generated server secret.
const SECRET_FILE: &str = "cases.secret";

/// The running service: a bound listener and the server future.
pub struct Application {
    port: u16,
    server: Server,
    state: web::Data<CasesState>,
}

impl Application {
    /// Opens the store, prepares the state (secret, bootstrap admin) and binds the listener on
    /// `config.http.port` (0 picks a free port, see [`Application::port`]).
    pub async fn build(config: CasesConfig) -> anyhow::Result<Application> {
        std::fs::create_dir_all(&config.data_dir).with_context(|| {
            format!(
                "cannot create data_dir {} (set data_dir)",
                config.data_dir.display()
            )
        })?;
        let secret = server_secret(&config)?;
        let backend = store_backend(&config);
        let store = skep_store::open(&backend)
            .await
            .context("cannot open the cases store (check the [store] section)")?;
        let config = Arc::new(config);
        let state = web::Data::new(CasesState::new(config.clone(), store, secret.as_bytes()));
        domain::migration::detect(&state).await?;
        domain::migration::bootstrap(&state).await?;
        // Jobs and actions left InProgress by a previous run are followed again.
        domain::connector::follow::resume(&state).await;

        let listener =
            skep_http::app::bind(&config.http.host, config.http.port).with_context(|| {
                format!(
                    "cannot listen on {}:{} (set http.port)",
                    config.http.host, config.http.port
                )
            })?;
        let port = listener.local_addr()?.port();
        let server = serve(listener, state.clone(), config.http.max_body_bytes)?;
        tracing::info!(port, "cases service listening");
        Ok(Application {
            port,
            server,
            state,
        })
    }

    /// The port actually bound.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The shared state (for in-process launchers and tests).
    pub fn state(&self) -> web::Data<CasesState> {
        self.state.clone()
    }

    /// Serves until the server is stopped.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// The store backend of the configuration; SQLite defaults to `<data_dir>/cases.db`.
fn store_backend(config: &CasesConfig) -> skep_store::Backend {
    match config.store.backend {
        skep_config::StoreBackend::Sqlite => skep_store::Backend::Sqlite {
            path: config
                .store
                .sqlite_path
                .clone()
                .unwrap_or_else(|| config.data_dir.join("cases.db")),
        },
        skep_config::StoreBackend::Elasticsearch => {
            let es = &config.store.elasticsearch;
            skep_store::Backend::Elasticsearch(skep_store::elasticsearch::EsSettings {
                url: es.url.clone(),
                username: es.username.clone(),
                password: es
                    .password
                    .as_ref()
                    .map(|secret| secret.expose().to_owned()),
                index_prefix: es.index_prefix_or("skep_cases"),
                tls_ca_file: es.tls_ca_file.clone(),
                tls_insecure: es.tls_insecure,
                ..Default::default()
            })
        }
    }
}

fn serve(
    listener: TcpListener,
    state: web::Data<CasesState>,
    max_body_bytes: usize,
) -> anyhow::Result<Server> {
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(skep_http::BodyLimit(max_body_bytes))
            .app_data(skep_http::app::json_config(max_body_bytes))
            .app_data(skep_http::app::path_config())
            .app_data(skep_http::app::query_config())
            .wrap(actix_web::middleware::from_fn(auth::renew_session))
            .wrap(api::extra::AuditScope::new(state.activity.clone()))
            .configure(routes::configure)
            .default_service(web::to(skep_http::app::not_found_handler))
    })
    .workers(worker_count())
    .listen(listener)?
    .run();
    Ok(server)
}

fn worker_count() -> usize {
    std::thread::available_parallelism().map_or(2, |count| count.get().clamp(2, 8))
}

/// The configured secret, or the one generated on first start and kept in the data directory.
fn server_secret(config: &CasesConfig) -> anyhow::Result<String> {
    let configured = config.http.secret.expose();
    if !configured.is_empty() {
        return Ok(configured.to_owned());
    }
    let path = config.data_dir.join(SECRET_FILE);
    if let Ok(existing) = std::fs::read_to_string(&path) {
        let existing = existing.trim();
        if !existing.is_empty() {
            return Ok(existing.to_owned());
        }
    }
    let generated = skep_auth::key::generate() + &skep_auth::key::generate();
    write_private(&path, &generated)
        .with_context(|| format!("cannot write the generated secret to {}", path.display()))?;
    Ok(generated)
}

fn write_private(path: &Path, content: &str) -> std::io::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(path)?;
        file.write_all(content.as_bytes())
    }
    #[cfg(not(unix))]
    {
        std::fs::write(path, content)
    }
}
