//! `/funds`: the advertiser's balance and cash statement (paged, and whole as CSV); staff who
//! move money (billing, admin) record deposits and credits here.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::data::funds::{FundsPage, load_funds};
use crate::money_text::{grouped, with_currency};
use crate::pages::csrf_field::CsrfField;
use crate::pages::layout::SignedInHeader;

/// The funds page.
#[component]
pub fn Funds() -> impl IntoView {
    let query = use_query_map();
    let page = Resource::new(move || query.read().get("cursor"), load_funds);
    view! {
        <Suspense fallback=|| view! { <p>"Loading the funds..."</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(page) => view! { <SignedInHeader/> {funds(page)} }.into_any(),
                    Err(e) => view! { <main><p role="alert">{e.to_string()}</p></main> }.into_any(),
                }
            })}
        </Suspense>
    }
}

fn funds(page: FundsPage) -> impl IntoView {
    let currency = page.balance.currency.clone();
    let b = &page.balance;
    let advertiser = page
        .viewer
        .advertiser
        .as_ref()
        .map(|a| a.id.clone())
        .unwrap_or_default();
    let money_forms = page
        .viewer
        .moves_money()
        .then(|| money_forms(&page.idempotency_key, &advertiser, &currency));
    let rows = page
        .lines
        .iter()
        .map(|line| {
            let posted = line
                .posted_at
                .get(..16)
                .unwrap_or(&line.posted_at)
                .replace('T', " ");
            view! {
                <tr>
                    <td>{posted}</td>
                    <td>{line.kind.clone()}</td>
                    <td>{line.note.clone()}</td>
                    <td class="number">{grouped(&line.change)}</td>
                    <td class="number">{grouped(&line.balance)}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <main id="funds">
            <h1>"Funds"</h1>
            <FundsNotice/>
            <dl class="balance">
                <dt>"Cash"</dt><dd>{with_currency(&b.cash, &currency)}</dd>
                <dt>"Available"</dt><dd>{with_currency(&b.available, &currency)}</dd>
                <dt>"Held by campaigns"</dt><dd>{with_currency(&b.held, &currency)}</dd>
            </dl>
            {money_forms}
            <h2>"Statement"</h2>
            <p><a href="/funds/statement.csv" download="statement.csv">"Download the whole statement (CSV)"</a></p>
            <div class="table-wrap">
                <table>
                    <caption>{format!("Cash movements in {currency}, oldest first (times in UTC)")}</caption>
                    <thead>
                        <tr>
                            <th scope="col">"Posted"</th>
                            <th scope="col">"What"</th>
                            <th scope="col">"Note"</th>
                            <th scope="col" class="number">"Change"</th>
                            <th scope="col" class="number">"Balance"</th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
            <nav aria-label="Statement pages" class="pages">
                <a href="/funds">"First page"</a>
                {page.next.map(|c| view! { <a href=format!("/funds?cursor={c}")>"Next page"</a> })}
            </nav>
        </main>
    }
}

/// Deposit and credit forms (staff who move money).
fn money_forms(key: &str, advertiser: &str, currency: &str) -> impl IntoView + use<> {
    let form = |kind: &'static str, title: &'static str, hint: &'static str| {
        let amount_id = format!("{kind}-amount");
        let note_id = format!("{kind}-note");
        view! {
            <form method="post" action=format!("/funds/{kind}") class="money">
                <h3>{title}</h3>
                <CsrfField/>
                <input type="hidden" name="idempotency_key" value=key.to_owned()/>
                <input type="hidden" name="advertiser_id" value=advertiser.to_owned()/>
                <p class="hint">{hint}</p>
                <div class="field">
                    <label for=amount_id.clone()>{format!("Amount, in {currency}")}</label>
                    <input id=amount_id name="amount" inputmode="decimal" autocomplete="off"/>
                </div>
                <div class="field">
                    <label for=note_id.clone()>"Note, shown on the statement"</label>
                    <input id=note_id name="note" autocomplete="off"/>
                </div>
                <button type="submit">{title}</button>
            </form>
        }
    };
    view! {
        <section aria-labelledby="money-heading" class="money-forms">
            <h2 id="money-heading">"Record money (staff)"</h2>
            {form("deposit", "Record a deposit", "Money received from the advertiser.")}
            {form("credit", "Grant a credit", "Money the platform gives the advertiser.")}
        </section>
    }
}

/// What the last deposit or credit did: words of the console's own.
#[component]
fn FundsNotice() -> impl IntoView {
    let query = use_query_map();
    move || {
        let q = query.read();
        let (class, text) = match (q.get("done").as_deref(), q.get("refused").as_deref()) {
            (Some("deposit"), _) => ("notice", "The deposit is recorded."),
            (Some("credit"), _) => ("notice", "The credit is granted."),
            (_, Some("amount")) => (
                "problem-summary",
                "Nothing was recorded: the amount must be more than zero, with at most 6 decimals.",
            ),
            (_, Some("note")) => (
                "problem-summary",
                "Nothing was recorded: the note is at most 500 characters.",
            ),
            (_, Some("role")) => (
                "problem-summary",
                "Nothing was recorded: only billing staff and admins record money.",
            ),
            (_, Some("switched")) => (
                "problem-summary",
                "Nothing was recorded: you switched to another advertiser since that form was shown.",
            ),
            (_, Some("twice")) => (
                "problem-summary",
                "Nothing more was recorded: this form was already sent with other figures.",
            ),
            (_, Some(_)) => (
                "problem-summary",
                "Nothing was recorded: the platform is unavailable. Try again in a moment.",
            ),
            _ => return None,
        };
        Some(view! { <p class=class role="status">{text}</p> })
    }
}
