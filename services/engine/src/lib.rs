//! The Skep engine: a multi-tenant analysis and response service speaking the Cortex 3 REST
//! dialect (organisations, users with four roles, API keys, analyzers, responders, jobs).
//!
//! It must not know how cases are managed: the cases service calls it like any Cortex client.
//! Start reading at [`routes`] (the whole API in one table), then [`auth`] (who is calling) and
//! [`domain`] (the rules). [`Application`] is what `main`, the launcher and the tests run.
#![warn(missing_docs)]

pub mod api;
pub mod auth;
pub mod bootstrap;
pub mod config;
mod config_workers;
pub mod domain;
pub mod error;
pub mod jobs;
pub mod roles;
pub mod routes;
pub mod state;

use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::{App, HttpServer, web};
use anyhow::Context;
use skep_http::BodyLimit;

pub use crate::bootstrap::FirstAdmin;
pub use crate::config::EngineConfig;
use crate::state::EngineState;

/// A built engine: bound to its port, ready to run.
pub struct Application {
    port: u16,
    server: Server,
    state: web::Data<EngineState>,
    first_admin: Option<FirstAdmin>,
}

impl Application {
    /// Starts the service kernel (configuration checks, data directory, server secret, store),
    /// prepares the job runtime, creates the configured first superadmin if needed, and binds `http.host:http.port` (0: any free port).
    pub async fn build(mut config: EngineConfig) -> anyhow::Result<Application> {
        skep_service::warn_deprecated(&config.auth.resolve_deprecated("auth"));
        skep_service::warn_deprecated(&config.workers.resolve_deprecated());
        config.workers.validate()?;
        let kernel = skep_service::Kernel::start(skep_service::KernelSettings {
            service: "engine",
            http: &config.http,
            store: &config.store,
            auth: &config.auth,
            data_dir: &config.data_dir,
            cookies: auth::COOKIES,
        })
        .await?;
        let config = Arc::new(config);
        let jobs = jobs::JobRuntime::new(kernel.store.clone(), &config.workers, &config.data_dir)
            .context("cannot prepare the job folders; check data_dir and workers.job_dir")?;
        jobs.start();
        let jobs = web::Data::from(jobs);
        let state = web::Data::new(EngineState::new(config.clone(), kernel));
        let first_admin = bootstrap::create_first_admin(&state).await?;

        let listener =
            skep_http::app::bind(&config.http.host, config.http.port).with_context(|| {
                format!(
                    "cannot listen on {}:{}; set http.port to a free port",
                    config.http.host, config.http.port
                )
            })?;
        let port = listener.local_addr()?.port();
        let limit = config.http.max_body_bytes;
        let server_state = state.clone();
        let server = HttpServer::new(move || {
            App::new()
                .wrap(actix_web::middleware::from_fn(
                    skep_service::session::renew_session_cookie,
                ))
                // Outermost: a panic anywhere below is answered 500, never a dropped connection.
                .wrap(actix_web::middleware::from_fn(
                    skep_service::panic::catch_panic,
                ))
                .app_data(server_state.clone())
                .app_data(jobs.clone())
                .app_data(BodyLimit(limit))
                .app_data(skep_http::app::json_config(limit))
                .app_data(skep_http::app::path_config())
                .app_data(skep_http::app::query_config())
                .configure(routes::configure)
                .default_service(web::to(skep_http::app::not_found_handler))
        })
        .listen(listener)?
        .run();
        tracing::info!(port, "engine listening");
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

    /// The shared state (store, configuration), e.g. for the launcher or tests.
    pub fn state(&self) -> web::Data<EngineState> {
        self.state.clone()
    }

    /// The superadmin created at this start from `[bootstrap]`, to be shown once.
    pub fn first_admin(&self) -> Option<&FirstAdmin> {
        self.first_admin.as_ref()
    }

    /// Serves requests until the server is stopped (SIGINT/SIGTERM).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}
