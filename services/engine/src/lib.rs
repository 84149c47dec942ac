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
pub mod ui;

use std::sync::Arc;

use actix_web::dev::{Server, Service};
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
    /// Validates the configuration, opens the store, prepares the server secret, creates the
    /// configured first superadmin if needed, and binds `http.host:http.port` (0: any free port).
    pub async fn build(config: EngineConfig) -> anyhow::Result<Application> {
        config.http.validate()?;
        config.store.validate()?;
        std::fs::create_dir_all(&config.data_dir).with_context(|| {
            format!(
                "cannot create the data directory {}; set data_dir to a writable path",
                config.data_dir.display()
            )
        })?;
        let secret = bootstrap::server_secret(&config)?;
        let store = skep_store::open(&config.store_backend())
            .await
            .context("cannot open the store")?;
        domain::secrets::SECRETS.declare(&*store);
        let decoy_password_hash =
            skep_auth::password::hash(&skep_auth::password::generate()).await?;
        let config = Arc::new(config);
        config.workers.validate()?;
        let jobs = jobs::JobRuntime::new(store.clone(), &config.workers, &config.data_dir)
            .context("cannot prepare the job folders; check data_dir and workers.job_directory")?;
        jobs.start();
        let jobs = web::Data::from(jobs);
        let state = web::Data::new(EngineState::new(
            config.clone(),
            store,
            secret.as_bytes(),
            decoy_password_hash,
        ));
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
                .wrap_fn(|request, service| {
                    let response = service.call(request);
                    async move {
                        let mut response = response.await?;
                        auth::renew_session_cookie(&mut response);
                        Ok(response)
                    }
                })
                .app_data(server_state.clone())
                .app_data(jobs.clone())
                .app_data(BodyLimit(limit))
                .app_data(skep_http::app::json_config(limit))
                .app_data(skep_http::app::path_config())
                .app_data(skep_http::app::query_config())
                .configure(routes::configure)
                .default_service(web::to(skep_http::app::not_found_handler))
        })
        // `main` or the launcher stops the server gracefully on a signal (skep_http::shutdown).
        .disable_signals()
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

    /// A handle to stop the server (gracefully: requests in flight finish).
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Serves requests until the server is stopped (see [`Application::handle`]; `main` stops
    /// it on SIGINT/SIGTERM).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}
