//! `/activity`: what was done to the advertiser's objects, newest first, as the signed audit
//! trail records it.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::data::activity::{Activity, load_activity};
use crate::pages::layout::SignedInHeader;

/// The activity page.
#[component]
pub fn ActivityPage() -> impl IntoView {
    let query = use_query_map();
    let page = Resource::new(move || query.read().get("cursor"), load_activity);
    view! {
        <Suspense fallback=|| view! { <p>"Loading the activity..."</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(a) => view! { <SignedInHeader/> {activity(a)} }.into_any(),
                    Err(e) => view! { <main><p role="alert">{e.to_string()}</p></main> }.into_any(),
                }
            })}
        </Suspense>
    }
}

fn activity(a: Activity) -> AnyView {
    let rows = a
        .rows
        .iter()
        .map(|r| {
            view! {
                <tr>
                    <td>{r.at.get(..19).unwrap_or(&r.at).replace('T', " ")}</td>
                    <td>{format!("{} ({})", r.actor, r.role)}</td>
                    <td>{r.action.clone()}</td>
                    <td>{r.object.clone()}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <main id="activity">
            <h1>"Activity"</h1>
            <div class="table-wrap">
                <table>
                    <caption>"What was done to your campaigns, money and team, newest first (times in UTC)"</caption>
                    <thead>
                        <tr>
                            <th scope="col">"When"</th>
                            <th scope="col">"Who"</th>
                            <th scope="col">"What"</th>
                            <th scope="col">"On"</th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
            <nav aria-label="Activity pages" class="pages">
                <a href="/activity">"Newest"</a>
                {a.older.map(|c| view! { <a href=format!("/activity?cursor={c}")>"Older entries"</a> })}
            </nav>
        </main>
    }
    .into_any()
}
