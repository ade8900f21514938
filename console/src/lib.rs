//! The advertisers' web console: pages rendered on the server (feature `ssr`, axum) and
//! hydrated in the browser (feature `hydrate`, wasm32).

pub mod app;

/// Entry point of the browser's half: hydrates the page the server rendered.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
