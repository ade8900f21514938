//! `console`: serves the advertisers' web console.

use std::net::SocketAddr;

use clap::Parser;
use console::serve::router;
use console::server::ApiBase;
use leptos::prelude::LeptosOptions;

/// Serves the advertisers' web console: pages rendered here and hydrated in the browser, over
/// the admin API as the signed-in person.
#[derive(Debug, Parser)]
#[command(name = "console", version)]
struct Flags {
    /// The admin API the console calls.
    #[arg(long, env = "CONSOLE_API_URL", default_value = "http://127.0.0.1:8080")]
    api_url: String,
    /// Where the console listens.
    #[arg(long, env = "CONSOLE_LISTEN_ADDR", default_value = "127.0.0.1:3000")]
    listen_addr: SocketAddr,
    /// The folder the browser's files are served from (its `pkg/` holds the wasm bundle).
    #[arg(long, env = "CONSOLE_SITE_ROOT", default_value = "build/console")]
    site_root: String,
    /// Mark the session cookies `Secure` (the console is served over TLS).
    #[arg(long, env = "CONSOLE_SECURE_COOKIES")]
    secure_cookies: bool,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let flags = Flags::parse();
    let options = LeptosOptions::builder()
        .output_name("console")
        .site_root(flags.site_root.as_str())
        .site_pkg_dir("pkg")
        .site_addr(flags.listen_addr)
        .build();
    let listener = tokio::net::TcpListener::bind(flags.listen_addr).await?;
    eprintln!("console: serving on http://{}", flags.listen_addr);
    let app = router(options, ApiBase(flags.api_url), flags.secure_cookies);
    // the browser's address is passed on to the API's sign-in limits
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .await?;
    Ok(())
}
