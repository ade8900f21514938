//! `/campaigns/{id}`: one of the signed-in advertiser's campaigns, its settings and status. Another
//! advertiser's campaign, like one that does not exist, is the not-found page.

use domain::campaign::{BidKind, Campaign, Pacing};
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use crate::data::campaigns::load_campaign_view;
use crate::data::load_viewer;
use crate::money_text::with_currency;
use crate::pages::campaign_actions::{ActionNotice, status_actions};
use crate::pages::campaign_performance::performance;
use crate::pages::layout::SignedInHeader;
use crate::pages::not_found::NotFound;

/// The campaign's page.
#[component]
pub fn CampaignPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let page = Resource::new(id, load_campaign_view);
    let viewer = Resource::new(|| (), |_| load_viewer());
    view! {
        <Suspense fallback=|| view! { <p>"Loading the campaign..."</p> }>
            {move || Suspend::new(async move {
                let writes = viewer.await.is_ok_and(|v| v.writes_campaigns());
                match page.await {
                    Ok(Some(view)) => view! {
                        <SignedInHeader/>
                        <main id="campaign">
                            {details(view.campaign, writes)}
                            {performance(view.performance)}
                        </main>
                    }
                    .into_any(),
                    Ok(None) => view! { <NotFound/> }.into_any(),
                    Err(e) => view! { <main><p role="alert">{e.to_string()}</p></main> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// The campaign's settings, and what the signed-in person may do to it (`writes`: change it).
fn details(c: Campaign, writes: bool) -> impl IntoView {
    let currency = c.currency.to_string();
    let money = |a: Option<domain::Amount>| {
        a.map_or_else(
            || "none".to_owned(),
            |a| with_currency(&a.as_decimal().to_string(), &currency),
        )
    };
    let bid = format!(
        "{} {}",
        money(Some(c.spec.bid.amount)),
        match c.spec.bid.kind {
            BidKind::Cpm => "per thousand impressions (CPM)",
            BidKind::Cpc => "per click (CPC)",
        }
    );
    let pacing = match c.spec.pacing {
        Pacing::Even => "evenly, along the day's traffic",
        Pacing::Accelerated => "as fast as traffic allows",
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
    let edit = (writes && c.status.editable()).then(
        || view! { <p><a href=format!("/campaigns/{}/edit", c.id.0)>"Edit the settings"</a></p> },
    );
    view! {
            <p><a href="/campaigns">"All campaigns"</a></p>
            <h1>{c.spec.name.clone()}</h1>
            <ActionNotice currency=c.currency.to_string()/>
            {writes.then(|| status_actions(&c))}
            {edit}
            <dl>
                <dt>"Status"</dt><dd>{c.status.as_str()}</dd>
                <dt>"Daily budget"</dt><dd>{money(c.spec.budget.daily)}</dd>
                <dt>"Lifetime budget"</dt><dd>{money(c.spec.budget.lifetime)}</dd>
                <dt>"Bid"</dt><dd>{bid}</dd>
                <dt>"Pacing"</dt><dd>{pacing}</dd>
                <dt>"Runs"</dt>
                <dd>
                    {format!(
                        "from {} to {end}; its days are {}'s",
                        schedule.start,
                        schedule.time_zone
                    )}
                </dd>
                <dt>"Countries"</dt><dd>{countries}</dd>
                <dt>"Creatives"</dt><dd>{c.spec.creatives.len()}</dd>
            </dl>
    }
}
