//! `skep-cases`: the TheHive-compatible case service.

use std::collections::HashMap;

use skep_cases::{Application, CasesConfig};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let file = args
        .iter()
        .position(|arg| arg == "--config")
        .and_then(|at| args.get(at + 1));
    let env: HashMap<String, String> = std::env::vars().collect();
    let config: CasesConfig = skep_config::load(file.map(std::path::Path::new), &env)?;
    skep_config::init_tracing("info");
    let application = Application::build(config).await?;
    if let Some(admin) = application.first_admin() {
        println!("{}", admin.announcement("skep cases"));
    }
    application.run_until_stopped().await?;
    Ok(())
}
