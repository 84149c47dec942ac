//! Graceful stop on SIGINT/SIGTERM for one or several servers in a process.
//!
//! actix's own signal handling stops at once on SIGINT (Ctrl-C), dropping requests in flight,
//! and each server would react on its own. Services disable it (`disable_signals`) and their
//! `main` (or the launcher) awaits [`stop_on_signal`] instead: the first SIGINT or SIGTERM stops
//! accepting connections on every server and lets requests in flight finish (up to actix's
//! shutdown timeout); a second signal stops at once.

use actix_web::dev::ServerHandle;

/// Waits for SIGINT or SIGTERM, then stops every server gracefully; a second signal during the
/// stop makes it immediate. Returns once every server has stopped.
pub async fn stop_on_signal(servers: Vec<ServerHandle>) {
    wait_for_signal().await;
    tracing::info!("stop signal received; finishing requests in flight");
    let graceful = futures_util::future::join_all(servers.iter().map(|server| server.stop(true)));
    tokio::select! {
        _ = graceful => {}
        _ = wait_for_signal() => {
            tracing::warn!("second stop signal; stopping at once");
            futures_util::future::join_all(servers.iter().map(|server| server.stop(false))).await;
        }
    }
}

/// Resolves at the next SIGINT or (on Unix) SIGTERM.
pub async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) {
            (Ok(mut interrupt), Ok(mut terminate)) => {
                tokio::select! {
                    _ = interrupt.recv() => {}
                    _ = terminate.recv() => {}
                }
            }
            _ => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
