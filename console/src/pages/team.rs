//! `/team`: the people who sign in for the advertiser and its API keys: add a person, create a
//! key (its secret shown once, here), revoke a key (behind a confirmation).

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::data::team::{Team, load_team};
use crate::pages::csrf_field::CsrfField;
use crate::pages::layout::SignedInHeader;

/// The team page.
#[component]
pub fn TeamPage() -> impl IntoView {
    let team = Resource::new(|| (), |_| load_team());
    view! {
        <Suspense fallback=|| view! { <p>"Loading the team..."</p> }>
            {move || Suspend::new(async move {
                match team.await {
                    Ok(team) => view! { <SignedInHeader/> {page(team)} }.into_any(),
                    Err(e) => view! { <main><p role="alert">{e.to_string()}</p></main> }.into_any(),
                }
            })}
        </Suspense>
    }
}

fn page(team: Team) -> AnyView {
    let advertiser = team
        .viewer
        .advertiser
        .as_ref()
        .map(|a| a.id.clone())
        .unwrap_or_default();
    let Some(users) = team.users else {
        return view! {
            <main id="team">
                <h1>"Team"</h1>
                <p>"Your role does not manage the advertiser's people and keys."</p>
            </main>
        }
        .into_any();
    };
    let new_key = team.new_key.map(|(name, secret)| {
        view! {
            <div class="notice" role="status">
                <h2>{format!("The API key \u{201c}{name}\u{201d} is created")}</h2>
                <p>"Copy it now: it is shown this once, and cannot be shown again. Reloading this page would create another key."</p>
                <p><code class="secret">{secret}</code></p>
            </div>
        }
    });
    let user_rows = users
        .iter()
        .map(|u| view! { <tr><td>{u.username.clone()}</td><td>{day(&u.created_at)}</td></tr> })
        .collect_view();
    let key_rows = team
        .keys
        .iter()
        .map(|k| key_row(k, &advertiser))
        .collect_view();
    view! {
        <main id="team">
            <h1>"Team"</h1>
            {new_key}
            <TeamNotice/>
            <h2>"People who sign in"</h2>
            <div class="table-wrap">
                <table>
                    <caption>"The advertiser's people"</caption>
                    <thead><tr><th scope="col">"Username"</th><th scope="col">"Added"</th></tr></thead>
                    <tbody>{user_rows}</tbody>
                </table>
            </div>
            <form method="post" action="/team/users" class="inline-form">
                <h3>"Add a person"</h3>
                <CsrfField/>
                <input type="hidden" name="advertiser_id" value=advertiser.clone()/>
                <div class="field">
                    <label for="new-username">"Username"</label>
                    <p class="hint" id="new-username-hint">"3 to 64 lowercase letters, digits and . _ @ -"</p>
                    <input id="new-username" name="username" autocomplete="off" aria-describedby="new-username-hint"/>
                </div>
                <div class="field">
                    <label for="new-password">"Password"</label>
                    <p class="hint" id="new-password-hint">"12 characters or more; give it to them in person."</p>
                    <input id="new-password" name="password" type="password" autocomplete="new-password" aria-describedby="new-password-hint"/>
                </div>
                <button type="submit">"Add the person"</button>
            </form>
            <h2>"API keys"</h2>
            <div class="table-wrap">
                <table>
                    <caption>"Keys programs use to call the API as the advertiser"</caption>
                    <thead>
                        <tr>
                            <th scope="col">"Name"</th>
                            <th scope="col">"Created"</th>
                            <th scope="col">"State"</th>
                        </tr>
                    </thead>
                    <tbody>{key_rows}</tbody>
                </table>
            </div>
            <form method="post" action="/team/keys" class="inline-form">
                <h3>"Create a key"</h3>
                <CsrfField/>
                <input type="hidden" name="advertiser_id" value=advertiser.clone()/>
                <div class="field">
                    <label for="new-key-name">"What it is for"</label>
                    <input id="new-key-name" name="name" autocomplete="off"/>
                </div>
                <button type="submit">"Create the key"</button>
            </form>
        </main>
    }
    .into_any()
}

fn day(at: &str) -> String {
    at.get(..10).unwrap_or(at).to_owned()
}

fn key_row(key: &crate::data::team::TeamKey, advertiser: &str) -> impl IntoView + use<> {
    let state = if key.revoked_at.is_empty() {
        view! {
            <details class="confirm">
                <summary>"Revoke..."</summary>
                <form method="post" action=format!("/team/keys/{}/revoke", key.id)>
                    <CsrfField/>
                    <input type="hidden" name="advertiser_id" value=advertiser.to_owned()/>
                    <p>"Programs using this key stop working at once."</p>
                    <button type="submit">{format!("Revoke \u{201c}{}\u{201d}", key.name)}</button>
                </form>
            </details>
        }
        .into_any()
    } else {
        view! { <span>{format!("revoked {}", day(&key.revoked_at))}</span> }.into_any()
    };
    view! {
        <tr>
            <td>{key.name.clone()}</td>
            <td>{day(&key.created_at)}</td>
            <td>{state}</td>
        </tr>
    }
}

/// What the last form did: words of the console's own.
#[component]
fn TeamNotice() -> impl IntoView {
    let query = use_query_map();
    move || {
        let q = query.read();
        let (class, text) = match (q.get("done").as_deref(), q.get("refused").as_deref()) {
            (Some("user"), _) => ("notice", "The person is added; they can sign in now."),
            (Some("revoked"), _) => ("notice", "The key is revoked."),
            (_, Some("username")) => (
                "problem-summary",
                "Not added: the username is 3 to 64 lowercase letters, digits and . _ @ -",
            ),
            (_, Some("password")) => (
                "problem-summary",
                "Not added: the password is 12 to 256 characters.",
            ),
            (_, Some("taken")) => ("problem-summary", "Not added: that username is taken."),
            (_, Some("name")) => (
                "problem-summary",
                "No key created: say what it is for (1 to 100 characters).",
            ),
            (_, Some("key")) => ("problem-summary", "There is no such key."),
            (_, Some("switched")) => (
                "problem-summary",
                "Nothing changed: you switched to another advertiser since that form was shown.",
            ),
            (_, Some("role")) => ("problem-summary", "Your role may not do this."),
            (_, Some(_)) => (
                "problem-summary",
                "Nothing changed: the platform is unavailable. Try again in a moment.",
            ),
            _ => return None,
        };
        Some(view! { <p class=class role="status">{text}</p> })
    }
}
