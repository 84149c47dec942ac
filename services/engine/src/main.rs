//! `skep-engine [--config FILE]`: loads the configuration, then runs the engine until stopped
//! (`--help` lists the options and every key; `--check-config FILE` validates without starting).

use std::process::ExitCode;

use skep_config::Program;
use skep_engine::EngineConfig;

const PROGRAM: Program<EngineConfig> = Program {
    name: "skep-engine",
    version: env!("CARGO_PKG_VERSION"),
    summary: "the Skep analysis engine (Cortex 3 REST API and job protocol, port 9001)",
    commands: &[],
    validate: EngineConfig::problems,
};

#[tokio::main]
async fn main() -> anyhow::Result<ExitCode> {
    let env: std::collections::HashMap<String, String> = std::env::vars().collect();
    let started = match skep_config::cli::start(&PROGRAM, std::env::args().skip(1), &env) {
        Ok(started) => started,
        Err(code) => return Ok(code),
    };
    skep_config::init_tracing("info");
    let application = skep_engine::Application::build(started.config).await?;
    if let Some(admin) = application.first_admin() {
        match &admin.generated_password {
            Some(password) => println!(
                "first superadmin `{}` created with password `{password}` (shown once)",
                admin.login
            ),
            None => println!("first superadmin `{}` created", admin.login),
        }
    }
    println!("skep engine listening on port {}", application.port());
    let stop = tokio::spawn(skep_http::shutdown::stop_on_signal(vec![
        application.handle(),
    ]));
    application.run_until_stopped().await?;
    stop.abort();
    Ok(ExitCode::SUCCESS)
}
