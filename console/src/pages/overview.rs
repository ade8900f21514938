//! `/`: the overview: the advertiser's money, today's spend, its live campaigns with a pace badge,
//! and alerts (funds low, a budget nearly spent, refunds for invalid traffic).

use leptos::prelude::*;

use crate::data::overview::load_overview;
use crate::money_text::with_currency;
use crate::overview::{Alert, Overview};
use crate::pages::layout::SignedInHeader;

/// The overview page.
#[component]
pub fn OverviewPage() -> impl IntoView {
    let overview = Resource::new(|| (), |_| load_overview());
    view! {
        <Suspense fallback=|| view! { <p>"Loading the overview..."</p> }>
            {move || Suspend::new(async move {
                match overview.await {
                    Ok(o) => view! { <SignedInHeader/> {page(o)} }.into_any(),
                    Err(e) => view! { <main><p role="alert">{e.to_string()}</p></main> }.into_any(),
                }
            })}
        </Suspense>
    }
}

fn page(o: Overview) -> AnyView {
    let c = o.currency.clone();
    let alerts = (!o.alerts.is_empty()).then(|| {
        view! {
            <section aria-labelledby="alerts-heading" class="alerts">
                <h2 id="alerts-heading">"Needs a look"</h2>
                <ul>{o.alerts.iter().map(|a| alert(a, &c)).collect_view()}</ul>
            </section>
        }
    });
    let campaigns = if o.campaigns.is_empty() {
        view! { <p>"No campaign is live. " <a href="/campaigns">"Your campaigns"</a></p> }
            .into_any()
    } else {
        let rows = o
            .campaigns
            .iter()
            .map(|d| {
                let budget = d
                    .day_budget
                    .as_deref()
                    .map_or_else(|| "-".to_owned(), |b| with_currency(b, &c));
                view! {
                    <tr>
                        <th scope="row"><a href=format!("/campaigns/{}", d.id)>{d.name.clone()}</a></th>
                        <td class="number">{with_currency(&d.spent, &c)}</td>
                        <td class="number">{budget}</td>
                        <td class="number">{d.used.clone().unwrap_or_default()}</td>
                        <td><span class=d.badge.class()>{d.badge.label()}</span></td>
                    </tr>
                }
            })
            .collect_view();
        view! {
            <div class="table-wrap">
                <table>
                    <caption>"Live campaigns today, each in its own time zone"</caption>
                    <thead>
                        <tr>
                            <th scope="col">"Campaign"</th>
                            <th scope="col" class="number">"Spent"</th>
                            <th scope="col" class="number">"Day's budget"</th>
                            <th scope="col" class="number">"Used"</th>
                            <th scope="col">"Pace"</th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        }
        .into_any()
    };
    view! {
        <main id="overview">
            <h1>"Overview"</h1>
            {alerts}
            <dl class="balance">
                <dt>"Available funds"</dt><dd>{with_currency(&o.available, &c)}</dd>
                <dt>"Held by campaigns"</dt><dd>{with_currency(&o.held, &c)}</dd>
                <dt>"Spent today"</dt><dd>{with_currency(&o.spent_today, &c)}</dd>
            </dl>
            <h2>"Live campaigns"</h2>
            {campaigns}
        </main>
    }
    .into_any()
}

fn alert(a: &Alert, currency: &str) -> AnyView {
    match a {
        Alert::FundsLow { available, a_day } => view! {
            <li class="alert">
                {format!(
                    "Funds low: {} available, less than a day of your live campaigns' budgets ({}). ",
                    with_currency(available, currency),
                    with_currency(a_day, currency)
                )}
                <a href="/funds">"Funds"</a>
            </li>
        }
        .into_any(),
        Alert::BudgetNearlySpent { id, name, used } => view! {
            <li class="alert">
                <a href=format!("/campaigns/{id}")>{name.clone()}</a>
                {format!(" has spent {used} of today's budget.")}
            </li>
        }
        .into_any(),
        Alert::Refunds { total } => view! {
            <li class="alert">
                {format!(
                    "{} refunded today for invalid traffic (you do not pay for it).",
                    with_currency(total, currency)
                )}
            </li>
        }
        .into_any(),
    }
}
