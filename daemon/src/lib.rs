//! What every binary of the platform does around its work: JSON logs filtered by `RUST_LOG`,
//! reaching PostgreSQL with errors that name the server and the cause ([`postgres`]), the
//! `/metrics` and `/healthz` endpoint of a worker without an API of its own ([`status`]) and
//! the text it serves ([`exposition`]), HMAC keys that rotate ([`keyring`]), the client's
//! address behind trusted proxies ([`client_address`]), a small table read again only when its revision moved ([`revised`]), a
//! stop on SIGTERM or Ctrl-C, and an exit status with the error's chain on stderr.

use std::process::ExitCode;

pub mod client_address;
pub mod exposition;
pub mod keyring;
pub mod postgres;
pub mod revised;
pub mod status;

/// JSON lines on stdout, `info` and up unless `RUST_LOG` says otherwise.
pub fn init_logging() {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
}

/// Completes on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
    else {
        let _ = interrupt.await;
        return;
    };
    tokio::select! {
        _ = interrupt => {}
        _ = term.recv() => {}
    }
}

/// The exit status of `outcome`; an error is printed as `name: error: cause: ...`.
pub fn exit(name: &str, outcome: anyhow::Result<()>) -> ExitCode {
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{name}: {e:#}");
            ExitCode::FAILURE
        }
    }
}
