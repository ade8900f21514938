//! The sign-in page: a plain form (it works without JavaScript), with the CSRF token its cookie
//! holds.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::pages::csrf_field::CsrfField;

/// `/sign-in`.
#[component]
pub fn SignIn() -> impl IntoView {
    let query = use_query_map();
    let message = move || {
        let q = query.read();
        if q.get("failed").is_some() {
            Some("The username or the password is wrong.")
        } else if q.get("unavailable").is_some() {
            Some("The platform cannot be reached; try again in a moment.")
        } else if q.get("limited").is_some() {
            Some("Too many attempts for this account; wait a minute and try again.")
        } else if q.get("signed_out").is_some() {
            Some("You are signed out.")
        } else {
            None
        }
    };
    view! {
        <main class="narrow" id="sign-in">
            <h1>"Sign in"</h1>
            {move || message().map(|m| view! { <p role="alert">{m}</p> })}
            <form method="post" action="/sign-in">
                <CsrfField/>
                <label for="username">"Username"</label>
                <input id="username" name="username" autocomplete="username" required/>
                <label for="password">"Password"</label>
                <input
                    id="password"
                    name="password"
                    type="password"
                    autocomplete="current-password"
                    required
                />
                <button type="submit">"Sign in"</button>
            </form>
        </main>
    }
}
