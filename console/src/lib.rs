//! The advertisers' web console: pages rendered on the server (feature `ssr`, axum) and
//! hydrated in the browser (feature `hydrate`, wasm32).
//!
//! - [`app`]: the shell and the routes; [`pages`]: one module per page.
//! - [`data`]: the server functions pages load their data with (they run on the server,
//!   with the session cookie, and call the admin API).
//! - `posts` (feature `ssr`): the posts that answer with a page (the campaign forms, the team's
//!   new API key); [`campaign_form`]: the campaign form's state both halves share.
//! - `server` (feature `ssr`): the sign-in and sign-out forms, the session and CSRF cookies, the
//!   security headers, the API client; `serve`: the router that puts them around the pages.

pub mod app;
pub mod campaign_form;
pub mod campaign_list;
pub mod data;
pub mod json_text;
pub mod money_text;
pub mod overview;
pub mod pages;
pub mod performance;
#[cfg(feature = "ssr")]
pub mod posts;
#[cfg(feature = "ssr")]
pub mod serve;
#[cfg(feature = "ssr")]
pub mod server;
pub mod statement;

/// Entry point of the browser's half: hydrates the page the server rendered.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
    // says the page is live (the browser journeys wait for it before typing)
    if let Some(root) = leptos::prelude::document().document_element() {
        let _ = root.set_attribute("data-hydrated", "true");
    }
}
