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
    config
        .cases
        .bootstrap
        .admin_login
        .get_or_insert_with(|| DEFAULT_ADMIN.to_owned());
    if config.engine.bootstrap.admin_login.is_empty() {
        config.engine.bootstrap.admin_login = DEFAULT_ADMIN.to_owned();
    }

    let (cases_host, engine_host) = (
        config.cases.http.host.clone(),
        config.engine.http.host.clone(),
    );
    // The engine starts first: on a fresh data directory the cases service's connector gets
    // an engine user (read, analyze) of its own organisation, and its key is kept for the next
    // start. A configuration that names engines itself is left alone.
    let engine = skep_engine::Application::build(config.engine).await?;
    if config.cases.cortex.servers.is_empty() {
        let key = connector_key(&engine, &config.data_dir).await?;
        config
            .cases
            .cortex
            .servers
            .push(skep_cases::config::CortexServerConfig {
                name: CONNECTOR_ENGINE.to_owned(),
                url: format!("http://127.0.0.1:{}", engine.port()),
                key: skep_config::Secret::new(key),
                ca_file: None,
                tls_insecure: false,
                timeout_seconds: 30,
            });
    }
    let cases = skep_cases::Application::build(config.cases).await?;
    if let Some(admin) = engine.first_admin() {
        match &admin.generated_password {
            Some(password) => println!(
                "skep engine: first superadmin created: login `{}`, password `{password}` (shown once)",
                admin.login
            ),
            None => println!("skep engine: first superadmin `{}` created", admin.login),
        }
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

/// Name of the launcher's own engine in the cases service's connector.
const CONNECTOR_ENGINE: &str = "ENGINE-1";
/// Engine organisation and user of the cases service's connector.
const CONNECTOR_ORG: &str = "skep";
const CONNECTOR_USER: &str = "cases-connector";
/// File in the data directory keeping the connector's engine key between starts.
const CONNECTOR_KEY_FILE: &str = "cases-connector.key";

/// The engine key of the cases service's connector: the one kept in the data directory, or a
/// new one for the `cases-connector` user (read, analyze) of the engine organisation `skep`,
/// created on first start and written (owner-only) for the next.
async fn connector_key(
    engine: &skep_engine::Application,
    data_dir: &std::path::Path,
) -> anyhow::Result<String> {
    use skep_engine::domain::{OrgId, organization, user};
    let path = data_dir.join(CONNECTOR_KEY_FILE);
    if let Ok(existing) = std::fs::read_to_string(&path)
        && !existing.trim().is_empty()
    {
        return Ok(existing.trim().to_owned());
    }
    let state = engine.state();
    let store = &*state.store;
    let setup = skep_engine::auth::Identity::init();
    let org = OrgId::new(CONNECTOR_ORG);
    if organization::find(store, &org).await?.is_none() {
        organization::create(
            store,
            &setup,
            organization::OrganizationDraft {
                name: org.clone(),
                description: "The Skep cases service's connector".to_owned(),
                status: organization::OrgStatus::Active,
            },
        )
        .await?;
    }
    if user::find(store, CONNECTOR_USER).await?.is_none() {
        user::create(
            store,
            &setup,
            user::UserDraft {
                login: CONNECTOR_USER.to_owned(),
                name: "Cases connector".to_owned(),
                roles: vec![
                    skep_engine::roles::Role::Read,
                    skep_engine::roles::Role::Analyze,
                ],
                organization: Some(org),
                password: None,
                status: user::UserStatus::Ok,
                avatar: None,
            },
        )
        .await?;
    }
    let key = user::renew_key(store, &state.keys, &setup, CONNECTOR_USER).await?;
    write_private(&path, &key)?;
    println!(
        "skep: the cases connector uses engine user `{CONNECTOR_USER}` (organisation `{CONNECTOR_ORG}`)"
    );
    Ok(key)
}

fn write_private(path: &std::path::Path, content: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(content.as_bytes())
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
        assert_eq!(config.engine.bootstrap.admin_login, "admin");
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
