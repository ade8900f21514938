//! `console`: serves the advertisers' web console.
//!
//! Settings (environment): `CONSOLE_API_URL` (the admin API, default http://127.0.0.1:8080),
//! `CONSOLE_SECURE_COOKIES` (`true` behind TLS), and Leptos's `LEPTOS_SITE_ADDR` (default
//! 127.0.0.1:3000), `LEPTOS_SITE_ROOT`, `LEPTOS_SITE_PKG_DIR`, `LEPTOS_OUTPUT_NAME`.

use console::server::{ApiBase, router};
use leptos::prelude::get_configuration;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let options = get_configuration(None)?.leptos_options;
    let api = std::env::var("CONSOLE_API_URL").unwrap_or_else(|_| "http://127.0.0.1:8080".into());
    let secure = std::env::var("CONSOLE_SECURE_COOKIES").is_ok_and(|v| v == "true");
    let listener = tokio::net::TcpListener::bind(&options.site_addr).await?;
    eprintln!("console: serving on http://{}", options.site_addr);
    axum::serve(
        listener,
        router(options, ApiBase(api), secure).into_make_service(),
    )
    .await?;
    Ok(())
}
