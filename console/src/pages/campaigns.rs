//! `/campaigns`: the signed-in advertiser's campaigns.

use domain::campaign::Campaign;
use leptos::prelude::*;

use crate::data::campaigns::my_campaigns;
use crate::pages::layout::SignedInHeader;

/// The list of campaigns, with a sign-out form.
#[component]
pub fn Campaigns() -> impl IntoView {
    let campaigns = Resource::new(|| (), |_| my_campaigns());
    view! {
        <SignedInHeader/>
        <main id="campaigns">
            <h1>"Campaigns"</h1>
            <Suspense fallback=|| view! { <p>"Loading the campaigns..."</p> }>
                {move || Suspend::new(async move {
                    match campaigns.await {
                        Ok(list) if list.is_empty() => {
                            view! { <p>"No campaigns yet."</p> }.into_any()
                        }
                        Ok(list) => table(list).into_any(),
                        Err(e) => view! { <p role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </main>
    }
}

fn table(list: Vec<Campaign>) -> impl IntoView {
    view! {
        <div class="table-wrap">
        <table>
            <caption>"Your campaigns, oldest first"</caption>
            <thead>
                <tr>
                    <th scope="col">"Name"</th>
                    <th scope="col">"Status"</th>
                    <th scope="col">"Daily budget"</th>
                    <th scope="col">"Lifetime budget"</th>
                    <th scope="col">"Bid"</th>
                </tr>
            </thead>
            <tbody>
                {list
                    .into_iter()
                    .map(|c| {
                        let money = |a: Option<domain::Amount>| {
                            a.map_or_else(|| "-".to_owned(), |a| format!("{a} {}", c.currency))
                        };
                        view! {
                            <tr>
                                <td>
                                    <a href=format!("/campaigns/{}", c.id.0)>{c.spec.name.clone()}</a>
                                </td>
                                <td>{c.status.as_str()}</td>
                                <td>{money(c.spec.budget.daily)}</td>
                                <td>{money(c.spec.budget.lifetime)}</td>
                                <td>{format!("{:?} {}", c.spec.bid.kind, c.spec.bid.amount)}</td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
        </div>
    }
}
