//! `servingd`: serves OpenRTB ad decisions (settings from `SERVINGD_*` variables).

use std::process::ExitCode;

use anyhow::Context;

/// The request path allocates small, short-lived buffers on every worker thread; mimalloc's
/// per-thread heaps serve them without glibc malloc's arena locks and consolidation.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    daemon::init_logging();
    daemon::exit("servingd", run().await)
}

async fn run() -> anyhow::Result<()> {
    let settings = servingd::settings::Settings::from_env()?;
    anyhow::ensure!(
        !secrecy::ExposeSecret::expose_secret(&settings.api_key).is_empty(),
        "set SERVINGD_API_KEY to a `service` API key of the admin API (the campaign feed needs it)"
    );
    let listener = tokio::net::TcpListener::bind(settings.listen_addr)
        .await
        .with_context(|| format!("listening on {}", settings.listen_addr))?;
    servingd::http::metrics_handle();
    tracing::info!(addr = %settings.listen_addr, api = %settings.api_url, "servingd starting");
    let state = servingd::server::build(settings).await?;
    servingd::server::run(state, listener, daemon::shutdown_signal()).await
}
