//! `skep [--config <file>]`: the quick start. Runs the cases service (TheHive-compatible, port
//! 9000) and the engine (Cortex-compatible, port 9001) in one process on the embedded store,
//! creates the first administrator of each on a fresh data directory and prints the logins once.
//!
//! Configuration: the `[cases]` and `[engine]` sections hold each service's settings (the same
//! keys as `skep-cases` and `skep-engine` read at their top level), e.g.
//! `SKEP_ENGINE__HTTP__PORT=9101`. `data_dir` is shared by both services.

use std::collections::HashMap;
use std::path::PathBuf;

use serde::Deserialize;

/// The launcher's configuration: one section per service, one data directory for both.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct LauncherConfig {
    /// Directory holding both services' databases and generated secrets.
    data_dir: PathBuf,
    /// The cases service.
    cases: skep_cases::CasesConfig,
    /// The engine.
    engine: skep_engine::EngineConfig,
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
const DEFAULT_ADMIN: &str = "admin";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let file = args.iter().position(|arg| arg == "--config").and_then(|at| args.get(at + 1));
    let env: HashMap<String, String> = std::env::vars().collect();
    let mut config: LauncherConfig = skep_config::load(file.map(std::path::Path::new), &env)?;
    skep_config::init_tracing("info");

    config.cases.data_dir = config.data_dir.clone();
    config.engine.data_dir = config.data_dir.clone();
    // The quick start needs no browser set-up step: both services are initialised and get an
    // administrator unless the configuration says otherwise.
    config.cases.bootstrap.admin_login.get_or_insert_with(|| DEFAULT_ADMIN.to_owned());
    if config.engine.bootstrap.admin_login.is_empty() {
        config.engine.bootstrap.admin_login = DEFAULT_ADMIN.to_owned();
    }

    let cases = skep_cases::Application::build(config.cases).await?;
    let engine = skep_engine::Application::build(config.engine).await?;
    if let Some(admin) = engine.first_admin() {
        match &admin.generated_password {
            Some(password) => println!(
                "skep engine: first superadmin created: login `{}`, password `{password}` (shown once)",
                admin.login
            ),
            None => println!("skep engine: first superadmin `{}` created", admin.login),
        }
    }
    println!("skep cases  (TheHive API): http://127.0.0.1:{}", cases.port());
    println!("skep engine (Cortex API):  http://127.0.0.1:{}", engine.port());
    println!("data directory: {}", config.data_dir.display());

    tokio::try_join!(cases.run_until_stopped(), engine.run_until_stopped())?;
    Ok(())
}
