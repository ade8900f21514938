//! The console's pages and its shell.

use leptos::prelude::*;
use leptos_meta::{MetaTags, Title, provide_meta_context};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;

/// The HTML document around every page (server only).
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The console: its routes.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Title text="adplat console"/>
        <Router>
            <Routes fallback=|| view! { <h1>"Not found"</h1> }>
                <Route path=path!("/sign-in") view=SignIn/>
            </Routes>
        </Router>
    }
}

/// The sign-in page: a plain form, so it works without JavaScript.
#[component]
pub fn SignIn() -> impl IntoView {
    let (shown, set_shown) = signal(false);
    view! {
        <main>
            <h1>"Sign in"</h1>
            <form method="post" action="/sign-in">
                <label for="username">"Username"</label>
                <input id="username" name="username" autocomplete="username" required/>
                <label for="password">"Password"</label>
                <input
                    id="password"
                    name="password"
                    type=move || if shown.get() { "text" } else { "password" }
                    autocomplete="current-password"
                    required
                />
                <button type="button" on:click=move |_| set_shown.update(|s| *s = !*s)>
                    {move || if shown.get() { "Hide password" } else { "Show password" }}
                </button>
                <button type="submit">"Sign in"</button>
            </form>
        </main>
    }
}
