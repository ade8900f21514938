//! `/campaigns`: the acting advertiser's campaigns, filtered by status, searched by name, sorted
//! and paged: a plain GET form (it works without JavaScript), the query in the URL.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::campaign_list::{CampaignList, ListQuery, SORTS, STATUSES};
use crate::data::campaigns::load_campaign_list;
use crate::money_text::with_currency;
use crate::pages::layout::SignedInHeader;

/// The list of campaigns.
#[component]
pub fn Campaigns() -> impl IntoView {
    let query = use_query_map();
    let asked = move || {
        let q = query.read();
        ListQuery::from_url(q.get("status"), q.get("q"), q.get("sort"), q.get("page"))
    };
    let list = Resource::new(asked, load_campaign_list);
    view! {
        <SignedInHeader/>
        <main id="campaigns">
            <h1>"Campaigns"</h1>
            <Suspense fallback=|| view! { <p>"Loading the campaigns..."</p> }>
                {move || Suspend::new(async move {
                    match list.await {
                        Ok(list) => view! { {filters(&list.query)} {table(list)} }.into_any(),
                        Err(e) => view! { <p role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </main>
    }
}

fn filters(query: &ListQuery) -> AnyView {
    let option = |(value, label): &(&'static str, &'static str), chosen: &str| {
        view! { <option value=*value selected=*value == chosen>{*label}</option> }
    };
    view! {
        <form method="get" action="/campaigns" class="filters" role="search">
            <div class="field">
                <label for="list-q">"Name contains"</label>
                <input id="list-q" name="q" type="search" value=query.search.clone()/>
            </div>
            <div class="field">
                <label for="list-status">"Status"</label>
                <select id="list-status" name="status">
                    {STATUSES.iter().map(|s| option(s, &query.status)).collect_view()}
                </select>
            </div>
            <div class="field">
                <label for="list-sort">"Sort"</label>
                <select id="list-sort" name="sort">
                    {SORTS.iter().map(|s| option(s, &query.sort)).collect_view()}
                </select>
            </div>
            <button type="submit">"Show"</button>
        </form>
    }
    .into_any()
}

fn table(list: CampaignList) -> AnyView {
    if list.rows.is_empty() {
        let none = if list.query == ListQuery::from_url(None, None, None, None) {
            "No campaigns yet."
        } else {
            "No campaign matches."
        };
        return view! { <p>{none}</p> }.into_any();
    }
    let rows = list
        .rows
        .iter()
        .map(|c| {
            let money = |a: &Option<String>| {
                a.as_deref()
                    .map_or_else(|| "-".to_owned(), |a| with_currency(a, &c.currency))
            };
            view! {
                <tr>
                    <th scope="row"><a href=format!("/campaigns/{}", c.id)>{c.name.clone()}</a></th>
                    <td>{c.status.clone()}</td>
                    <td class="number">{money(&c.daily)}</td>
                    <td class="number">{money(&c.lifetime)}</td>
                    <td class="number">{c.bid.clone()}</td>
                </tr>
            }
        })
        .collect_view();
    let q = &list.query;
    let previous =
        (q.page > 1).then(|| view! { <a href=q.url(q.page - 1) rel="prev">"Previous page"</a> });
    let next = (q.page < list.pages)
        .then(|| view! { <a href=q.url(q.page + 1) rel="next">"Next page"</a> });
    view! {
        <div class="table-wrap">
            <table>
                <caption>
                    {format!("{} campaigns; page {} of {}", list.matching, q.page, list.pages)}
                </caption>
                <thead>
                    <tr>
                        <th scope="col">"Name"</th>
                        <th scope="col">"Status"</th>
                        <th scope="col" class="number">"Daily budget"</th>
                        <th scope="col" class="number">"Lifetime budget"</th>
                        <th scope="col" class="number">"Bid"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
        <nav aria-label="Campaign pages" class="pages">{previous}{next}</nav>
    }
    .into_any()
}
