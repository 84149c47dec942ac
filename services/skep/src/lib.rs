//! The `skep` launcher: the whole platform from one command and one data directory.
//!
//! It owns the launcher's configuration ([`LauncherConfig`]: one section per service, one
//! `data_dir`), the start order and first-run defaults ([`Platform::start`]), the graceful stop
//! on SIGINT/SIGTERM ([`Platform::run_until_signal`]) and the online backup of the SQLite stores
//! ([`backup`]). The services themselves know nothing of it: it builds their `Application`s as
//! their own `main`s do. `main.rs` only reads the command line.

pub mod backup;
pub mod wiring;

use std::path::PathBuf;

use serde::Deserialize;
use skep_config::ConfigError;

pub use backup::backup;

/// The launcher's configuration: one section per service, one data directory for all.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LauncherConfig {
    /// Directory holding every service's databases and generated secrets.
    pub data_dir: PathBuf,
    /// The cases service (the keys `skep-cases` reads at its top level).
    pub cases: skep_cases::CasesConfig,
    /// The engine (the keys `skep-engine` reads at its top level).
    pub engine: skep_engine::EngineConfig,
}

impl Default for LauncherConfig {
    fn default() -> Self {
        LauncherConfig {
            data_dir: PathBuf::from(".skep-data"),
            cases: skep_cases::CasesConfig::default(),
            engine: skep_engine::EngineConfig::default(),
        }
    }
}

/// Login created on a fresh data directory when the configuration names none.
pub const DEFAULT_ADMIN: &str = "admin";

impl LauncherConfig {
    /// Every problem deserialization cannot catch, keys prefixed with their section
    /// (`engine.workers.analyzer_paths`). A service's own `data_dir` is refused: the launcher
    /// runs every service on the top-level `data_dir`.
    pub fn problems(&self) -> Vec<ConfigError> {
        let mut problems = Vec::new();
        let within = |section: &str, problem: ConfigError| match problem {
            ConfigError::InvalidValue { key, message } => ConfigError::InvalidValue {
                key: format!("{section}.{key}"),
                message,
            },
            other => other,
        };
        problems.extend(
            self.cases
                .problems()
                .into_iter()
                .map(|problem| within("cases", problem)),
        );
        problems.extend(
            self.engine
                .problems()
                .into_iter()
                .map(|problem| within("engine", problem)),
        );
        let default_dir = LauncherConfig::default().data_dir;
        for (section, dir) in [
            ("cases", &self.cases.data_dir),
            ("engine", &self.engine.data_dir),
        ] {
            if *dir != default_dir {
                problems.push(ConfigError::InvalidValue {
                    key: format!("{section}.data_dir"),
                    message: "the launcher keeps every service in the top-level `data_dir`; \
                              set that instead"
                        .to_owned(),
                });
            }
        }
        problems
    }

    /// The services' configurations as the launcher runs them: the shared data directory, and
    /// an administrator called `admin` on each unless the configuration names another.
    pub fn services(self) -> (skep_cases::CasesConfig, skep_engine::EngineConfig) {
        let LauncherConfig {
            data_dir,
            mut cases,
            mut engine,
        } = self;
        cases.data_dir = data_dir.clone();
        engine.data_dir = data_dir;
        cases
            .bootstrap
            .admin_login
            .get_or_insert_with(|| DEFAULT_ADMIN.to_owned());
        if engine.bootstrap.admin_login.is_empty() {
            engine.bootstrap.admin_login = DEFAULT_ADMIN.to_owned();
        }
        (cases, engine)
    }
}

/// The running platform: every service built and bound, not yet serving.
pub struct Platform {
    cases: skep_cases::Application,
    engine: skep_engine::Application,
    data_dir: PathBuf,
}

impl Platform {
    /// Builds the engine, wires the cases service to it ([`wiring`]), then builds the cases
    /// service. On a fresh data directory each service creates its first administrator; the
    /// generated passwords are printed once (the cases service prints its own; the engine's is
    /// printed here). A second start on the same directory reuses everything and prints none.
    pub async fn start(config: LauncherConfig) -> anyhow::Result<Platform> {
        let data_dir = config.data_dir.clone();
        let (mut cases, engine) = config.services();
        let engine = skep_engine::Application::build(engine).await?;
        if let Some(admin) = engine.first_admin() {
            match &admin.generated_password {
                Some(password) => println!(
                    "skep engine: first superadmin created: login `{}`, password `{password}` (shown once)",
                    admin.login
                ),
                None => println!("skep engine: first superadmin `{}` created", admin.login),
            }
        }
        wiring::wire_cases_to_engine(&engine, &mut cases).await?;
        let cases = skep_cases::Application::build(cases).await?;
        Ok(Platform {
            cases,
            engine,
            data_dir,
        })
    }

    /// The cases service's port.
    pub fn cases_port(&self) -> u16 {
        self.cases.port()
    }

    /// The engine's port.
    pub fn engine_port(&self) -> u16 {
        self.engine.port()
    }

    /// The data directory every service uses.
    pub fn data_dir(&self) -> &std::path::Path {
        &self.data_dir
    }

    /// Serves until SIGINT or SIGTERM, then stops every service gracefully: no new connection
    /// is accepted, requests in flight finish, and each store is closed by its owner. Jobs are
    /// store documents (ADR 0004): waiting ones run after the next start.
    pub async fn run_until_signal(self) -> std::io::Result<()> {
        let handles = vec![self.cases.handle(), self.engine.handle()];
        let stop = tokio::spawn(skep_http::shutdown::stop_on_signal(handles));
        let served = tokio::try_join!(
            self.cases.run_until_stopped(),
            self.engine.run_until_stopped()
        );
        stop.abort();
        served.map(|_| ())
    }
}
