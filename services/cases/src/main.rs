//! `skep-cases [--config FILE]`: the TheHive-compatible case service (`--help` lists the options
//! and every configuration key; `--check-config FILE` validates a file without starting).

use std::collections::HashMap;
use std::process::ExitCode;

use skep_cases::{Application, CasesConfig};
use skep_config::Program;

const PROGRAM: Program<CasesConfig> = Program {
    name: "skep-cases",
    version: env!("CARGO_PKG_VERSION"),
    summary: "the Skep case service (TheHive 3 REST API, port 9000)",
    commands: &[],
    validate: CasesConfig::problems,
};

#[tokio::main]
async fn main() -> anyhow::Result<ExitCode> {
    let env: HashMap<String, String> = std::env::vars().collect();
    let started = match skep_config::cli::start(&PROGRAM, std::env::args().skip(1), &env) {
        Ok(started) => started,
        Err(code) => return Ok(code),
    };
    skep_config::init_tracing("info");
    let application = Application::build(started.config).await?;
    let stop = tokio::spawn(skep_http::shutdown::stop_on_signal(vec![
        application.handle(),
    ]));
    application.run_until_stopped().await?;
    stop.abort();
    Ok(ExitCode::SUCCESS)
}
