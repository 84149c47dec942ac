//! `skep-engine [--config <file>]`: loads the configuration, then runs the engine until stopped.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let env: std::collections::HashMap<String, String> = std::env::vars().collect();
    let file = std::env::args().skip_while(|arg| arg != "--config").nth(1);
    let config: skep_engine::EngineConfig =
        skep_config::load(file.as_deref().map(std::path::Path::new), &env)?;
    skep_config::init_tracing("info");
    let application = skep_engine::Application::build(config).await?;
    if let Some(admin) = application.first_admin() {
        println!("{}", admin.announcement("skep engine"));
    }
    println!("skep engine listening on port {}", application.port());
    application.run_until_stopped().await?;
    Ok(())
}
