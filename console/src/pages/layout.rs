//! What every signed-in page has around it: the main navigation, whose pages these are (staff
//! see the advertiser they work as, and a link to switch), and the sign-out form.

use leptos::prelude::*;

use crate::data::{Viewer, load_viewer};
use crate::pages::csrf_field::CsrfField;

/// The header of a signed-in page.
#[component]
pub fn SignedInHeader() -> impl IntoView {
    let viewer = Resource::new(|| (), |_| load_viewer());
    view! {
        <header class="top">
            <Suspense fallback=|| view! { <nav aria-label="Main"></nav> }>
                {move || Suspend::new(async move { viewer.await.ok().map(navigation) })}
            </Suspense>
            <form method="post" action="/sign-out">
                <CsrfField/>
                <button type="submit" class="secondary">"Sign out"</button>
            </form>
        </header>
    }
}

fn navigation(viewer: Viewer) -> impl IntoView {
    let working_as = viewer.is_staff().then(|| {
        let name = viewer
            .advertiser
            .as_ref()
            .map_or_else(|| "no advertiser yet".to_owned(), |a| a.name.clone());
        view! {
            <p class="acting">
                {format!("{} working as {name} ", viewer.role)}
                <a href="/advertisers">"Switch"</a>
            </p>
        }
    });
    view! {
        <nav aria-label="Main">
            <a href="/">"Overview"</a>
            <a href="/campaigns">"Campaigns"</a>
            {viewer.writes_campaigns().then(|| view! { <a href="/campaigns/new">"New campaign"</a> })}
            <a href="/funds">"Funds"</a>
            <a href="/team">"Team"</a>
            <a href="/activity">"Activity"</a>
        </nav>
        {working_as}
    }
}
