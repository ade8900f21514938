//! What every signed-in page has around it: the main navigation and the sign-out form.

use leptos::prelude::*;

use crate::pages::csrf_field::CsrfField;

/// The header of a signed-in page.
#[component]
pub fn SignedInHeader() -> impl IntoView {
    view! {
        <header class="top">
            <nav aria-label="Main">
                <a href="/campaigns">"Campaigns"</a>
                <a href="/campaigns/new">"New campaign"</a>
            </nav>
            <form method="post" action="/sign-out">
                <CsrfField/>
                <button type="submit">"Sign out"</button>
            </form>
        </header>
    }
}
