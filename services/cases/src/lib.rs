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
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::{App, HttpServer, web};
use anyhow::Context;

pub use config::CasesConfig;
pub use skep_service::FirstAdmin;
pub use state::CasesState;

/// The running service: a bound listener and the server future.
pub struct Application {
    port: u16,
    server: Server,
    state: web::Data<CasesState>,
    first_admin: Option<FirstAdmin>,
}

impl Application {
    /// Starts the service kernel (configuration checks, data directory, server secret, store),
    /// prepares the state, creates the configured first admin if needed, and binds the listener
    /// on `config.http.port` (0 picks a free port, see [`Application::port`]).
    pub async fn build(mut config: CasesConfig) -> anyhow::Result<Application> {
        skep_service::warn_deprecated(&config.auth.resolve_deprecated("auth"));
        let kernel = skep_service::Kernel::start(skep_service::KernelSettings {
            service: "cases",
            http: &config.http,
            store: &config.store,
            auth: &config.auth,
            data_dir: &config.data_dir,
            cookies: auth::COOKIES,
        })
        .await?;
        let config = Arc::new(config);
        let state = web::Data::new(CasesState::new(config.clone(), kernel));
        domain::migration::detect(&state).await?;
        let first_admin = domain::migration::bootstrap(&state).await?;

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
            first_admin,
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

    /// The admin created at this start from `[bootstrap]`, to be shown once.
    pub fn first_admin(&self) -> Option<&FirstAdmin> {
        self.first_admin.as_ref()
    }

    /// Serves until the server is stopped.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
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
            .wrap(actix_web::middleware::from_fn(
                skep_service::session::renew_session_cookie,
            ))
            .wrap(api::extra::AuditScope::new(state.activity.clone()))
            // Outermost: a panic anywhere below is answered 500, never a dropped connection.
            .wrap(actix_web::middleware::from_fn(
                skep_service::panic::catch_panic,
            ))
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
