//! `skep [--config FILE] [backup DEST-DIR]`: the quick start. Runs the cases service
//! (TheHive-compatible, port 9000) and the engine (Cortex-compatible, port 9001) in one process
//! on one data directory; `skep backup DIR` copies the stores consistently while they run.
//!
//! Configuration: the `[cases]` and `[engine]` sections hold each service's settings (the same
//! keys as `skep-cases` and `skep-engine` read at their top level), e.g.
//! `SKEP_ENGINE__HTTP__PORT=9101`. `data_dir` is shared by every service.

use std::collections::HashMap;
use std::path::Path;
use std::process::ExitCode;

use skep::{LauncherConfig, Platform};
use skep_config::Program;

const PROGRAM: Program<LauncherConfig> = Program {
    name: "skep",
    version: env!("CARGO_PKG_VERSION"),
    summary: "the Skep platform in one process: cases (port 9000) and engine (port 9001)",
    commands: &[(
        "backup DEST-DIR",
        "copy every SQLite store and secret consistently, while the services run",
    )],
    validate: LauncherConfig::problems,
};

#[tokio::main]
async fn main() -> anyhow::Result<ExitCode> {
    let env: HashMap<String, String> = std::env::vars().collect();
    let started = match skep_config::cli::start(&PROGRAM, std::env::args().skip(1), &env) {
        Ok(started) => started,
        Err(code) => return Ok(code),
    };
    let arguments: Vec<&str> = started.arguments.iter().map(String::as_str).collect();
    match arguments[..] {
        [] => {}
        ["backup", destination] => {
            let copied = skep::backup(&started.config, Path::new(destination))?;
            for file in copied {
                println!("{}", file.display());
            }
            println!("backup complete: {destination}");
            return Ok(ExitCode::SUCCESS);
        }
        _ => {
            eprintln!(
                "skep: unexpected arguments `{}` (see skep --help)",
                started.arguments.join(" ")
            );
            return Ok(ExitCode::from(2));
        }
    }
    skep_config::init_tracing("info");
    let (cases_host, engine_host) = (
        started.config.cases.http.host.clone(),
        started.config.engine.http.host.clone(),
    );
    let platform = Platform::start(started.config).await?;
    println!(
        "skep cases  (TheHive API): http://{cases_host}:{}",
        platform.cases_port()
    );
    println!(
        "skep engine (Cortex API):  http://{engine_host}:{}",
        platform.engine_port()
    );
    println!("data directory: {}", platform.data_dir().display());
    println!("ready; Ctrl-C stops every service");
    platform.run_until_signal().await?;
    println!("stopped");
    Ok(ExitCode::SUCCESS)
}
