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
    let file = args
        .iter()
        .position(|arg| arg == "--config")
        .and_then(|at| args.get(at + 1));
    let env: HashMap<String, String> = std::env::vars().collect();
    let mut config: LauncherConfig = skep_config::load(file.map(std::path::Path::new), &env)?;
    skep_config::init_tracing("info");

    config.cases.data_dir = config.data_dir.clone();
    config.engine.data_dir = config.data_dir.clone();
    // The quick start needs no browser set-up step: both services are initialised and get an
    // administrator unless the configuration says otherwise.
    for login in [
        &mut config.cases.bootstrap.admin_login,
        &mut config.engine.bootstrap.admin_login,
    ] {
        login.get_or_insert_with(|| DEFAULT_ADMIN.to_owned());
    }

    let (cases_host, engine_host) = (
        config.cases.http.host.clone(),
        config.engine.http.host.clone(),
    );
    let cases = skep_cases::Application::build(config.cases).await?;
    let engine = skep_engine::Application::build(config.engine).await?;
    if let Some(admin) = cases.first_admin() {
        println!("{}", admin.announcement("skep cases"));
    }
    if let Some(admin) = engine.first_admin() {
        println!("{}", admin.announcement("skep engine"));
    }
    println!(
        "skep cases  (TheHive API): http://{cases_host}:{}",
        cases.port()
    );
    println!(
        "skep engine (Cortex API):  http://{engine_host}:{}",
        engine.port()
    );
    println!("data directory: {}", config.data_dir.display());

    tokio::try_join!(cases.run_until_stopped(), engine.run_until_stopped())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_example_configuration_loads() {
        let example = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../deploy/skep.example.toml"
        );

        let config: LauncherConfig =
            skep_config::load(Some(std::path::Path::new(example)), &HashMap::new()).unwrap();

        assert_eq!(config.cases.http.port, 9000);
        assert_eq!(config.engine.http.port, 9001);
        assert_eq!(
            config.engine.bootstrap.admin_login.as_deref(),
            Some("admin")
        );
    }

    #[test]
    fn an_empty_configuration_keeps_each_service_on_its_own_port() {
        let config: LauncherConfig = skep_config::load(None, &HashMap::new()).unwrap();

        assert_eq!(config.cases.http.port, 9000);
        assert_eq!(config.engine.http.port, 9001);
    }

    #[test]
    fn setting_one_http_key_keeps_each_service_on_its_own_port() {
        let env = HashMap::from([
            ("SKEP_CASES__HTTP__HOST".to_owned(), "0.0.0.0".to_owned()),
            ("SKEP_ENGINE__HTTP__HOST".to_owned(), "0.0.0.0".to_owned()),
        ]);

        let config: LauncherConfig = skep_config::load(None, &env).unwrap();

        assert_eq!(config.cases.http.port, 9000);
        assert_eq!(config.engine.http.port, 9001);
    }
}
