//! The page for what is not there (or not yours: another advertiser's campaign is not found).

use leptos::prelude::*;

/// Any path the console does not have.
#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <main class="narrow" id="not-found">
            <h1>"Not found"</h1>
            <p>"There is nothing here, or nothing you may see."</p>
            <p><a href="/campaigns">"Your campaigns"</a></p>
        </main>
    }
}
