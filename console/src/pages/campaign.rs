//! `/campaigns/{id}`: one of the signed-in advertiser's campaigns, its settings and status. Another
//! advertiser's campaign, like one that does not exist, is the not-found page.

use domain::campaign::Campaign;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use crate::data::campaigns::{load_performance, my_campaign};
use crate::pages::campaign_actions::{ActionNotice, status_actions};
use crate::pages::campaign_performance::performance;
use crate::pages::layout::SignedInHeader;
use crate::pages::not_found::NotFound;

/// The campaign's page.
#[component]
pub fn CampaignPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let campaign = Resource::new(id, my_campaign);
    let figures = Resource::new(id, load_performance);
    view! {
        <Suspense fallback=|| view! { <p>"Loading the campaign..."</p> }>
            {move || Suspend::new(async move {
                match campaign.await {
                    Ok(Some(c)) => view! {
                        <SignedInHeader/>
                        {details(c)}
                        <Suspense fallback=|| view! { <p>"Loading the figures..."</p> }>
                            {move || Suspend::new(async move {
                                match figures.await {
                                    Ok(Some(p)) => view! { <div class="performance">{performance(p)}</div> }.into_any(),
                                    Ok(None) => ().into_any(),
                                    Err(e) => view! { <p role="alert">{e.to_string()}</p> }.into_any(),
                                }
                            })}
                        </Suspense>
                    }
                    .into_any(),
                    Ok(None) => view! { <NotFound/> }.into_any(),
                    Err(e) => view! { <main><p role="alert">{e.to_string()}</p></main> }.into_any(),
                }
            })}
        </Suspense>
    }
}

fn details(c: Campaign) -> impl IntoView {
    let money = |a: Option<domain::Amount>| {
        a.map_or_else(|| "none".to_owned(), |a| format!("{a} {}", c.currency))
    };
    let schedule = &c.spec.schedule;
    let end = schedule
        .end
        .map_or_else(|| "no end".to_owned(), |e| e.to_string());
    let countries = if c.spec.targeting.countries.is_empty() {
        "everywhere".to_owned()
    } else {
        c.spec.targeting.countries.join(", ")
    };
    let edit = c.status.editable().then(
        || view! { <p><a href=format!("/campaigns/{}/edit", c.id.0)>"Edit the settings"</a></p> },
    );
    view! {
        <main id="campaign">
            <p><a href="/campaigns">"All campaigns"</a></p>
            <h1>{c.spec.name.clone()}</h1>
            <ActionNotice currency=c.currency.to_string()/>
            {status_actions(&c)}
            {edit}
            <dl>
                <dt>"Status"</dt><dd>{c.status.as_str()}</dd>
                <dt>"Daily budget"</dt><dd>{money(c.spec.budget.daily)}</dd>
                <dt>"Lifetime budget"</dt><dd>{money(c.spec.budget.lifetime)}</dd>
                <dt>"Bid"</dt>
                <dd>{format!("{:?} {} {}", c.spec.bid.kind, c.spec.bid.amount, c.currency)}</dd>
                <dt>"Pacing"</dt><dd>{format!("{:?}", c.spec.pacing)}</dd>
                <dt>"Runs"</dt>
                <dd>{format!("from {} to {end} ({})", schedule.start, schedule.time_zone)}</dd>
                <dt>"Countries"</dt><dd>{countries}</dd>
                <dt>"Creatives"</dt><dd>{c.spec.creatives.len()}</dd>
            </dl>
        </main>
    }
}
