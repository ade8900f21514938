//! `servingd`: serves OpenRTB ad decisions (every setting a flag or its variable: `--help`).

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use servingd::flags::Flags;

/// The request path allocates small, short-lived buffers on every worker thread; mimalloc's
/// per-thread heaps serve them without glibc malloc's arena locks and consolidation.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let flags = Flags::parse();
    daemon::init_logging();
    daemon::exit("servingd", run(flags).await)
}

async fn run(flags: Flags) -> anyhow::Result<()> {
    let settings = flags.settings()?;
    anyhow::ensure!(
        !secrecy::ExposeSecret::expose_secret(&settings.api_key).is_empty(),
        "set SERVINGD_API_KEY (or --api-key) to a `service` API key of the admin API (the campaign feed needs it)"
    );
    anyhow::ensure!(
        !secrecy::ExposeSecret::expose_secret(&settings.database_url).is_empty(),
        "set DATABASE_URL (or --database-url) to servingd's PostgreSQL"
    );
    settings.check_keys()?;
    let listener = tokio::net::TcpListener::bind(settings.listen_addr)
        .await
        .with_context(|| format!("listening on {}", settings.listen_addr))?;
    servingd::http::metrics_handle();
    tracing::info!(addr = %settings.listen_addr, api = %settings.api_url, "servingd starting");
    let state = servingd::server::build(settings).await?;
    servingd::server::run(state, listener, daemon::shutdown_signal()).await
}
