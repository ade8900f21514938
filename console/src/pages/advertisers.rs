//! `/advertisers` (staff): the advertisers, each with a button to work as it. An advertiser's
//! own people have no such page.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::data::advertisers::load_advertisers;
use crate::data::load_viewer;
use crate::pages::csrf_field::CsrfField;
use crate::pages::layout::SignedInHeader;
use crate::pages::not_found::NotFound;

/// The advertisers' page.
#[component]
pub fn Advertisers() -> impl IntoView {
    let query = use_query_map();
    let viewer = Resource::new(|| (), |_| load_viewer());
    let page = Resource::new(move || query.read().get("cursor"), load_advertisers);
    view! {
        <Suspense fallback=|| view! { <p>"Loading the advertisers..."</p> }>
            {move || Suspend::new(async move {
                let staff = viewer.await.map(|v| v.is_staff());
                match (staff, page.await) {
                    (Ok(true), Ok(page)) => view! {
                        <SignedInHeader/>
                        <main id="advertisers">
                            <h1>"Advertisers"</h1>
                            {move || query.read().get("refused").map(|_| view! {
                                <p class="problem-summary" role="alert">"That advertiser cannot be chosen."</p>
                            })}
                            <p>"Choose the advertiser whose campaigns and funds you work on."</p>
                            <ul class="choices">
                                {page.items.into_iter().map(|a| view! {
                                    <li>
                                        <form method="post" action="/advertisers/switch">
                                            <CsrfField/>
                                            <input type="hidden" name="advertiser_id" value=a.id.clone()/>
                                            <button type="submit" class="secondary">
                                                {format!("Work as {} ({})", a.name, a.currency)}
                                            </button>
                                        </form>
                                    </li>
                                }).collect_view()}
                            </ul>
                            {page.next_cursor.map(|c| view! {
                                <p><a href=format!("/advertisers?cursor={c}")>"More advertisers"</a></p>
                            })}
                        </main>
                    }.into_any(),
                    (Ok(false), _) => view! { <NotFound/> }.into_any(),
                    (Err(e), _) | (_, Err(e)) => {
                        view! { <main><p role="alert">{e.to_string()}</p></main> }.into_any()
                    }
                }
            })}
        </Suspense>
    }
}
