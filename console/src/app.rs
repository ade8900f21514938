//! The console's shell and routes.

use leptos::prelude::*;
use leptos_meta::{MetaTags, Title, provide_meta_context};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{SsrMode, path};

use crate::pages::activity::ActivityPage;
use crate::pages::advertisers::Advertisers;
use crate::pages::campaign::CampaignPage;
use crate::pages::campaign_form::CampaignFormPage;
use crate::pages::campaigns::Campaigns;
use crate::pages::funds::Funds;
use crate::pages::not_found::NotFound;
use crate::pages::overview::OverviewPage;
use crate::pages::sign_in::SignIn;
use crate::pages::team::TeamPage;

/// The HTML document around every page (server only). The hydration script carries this
/// response's nonce, the one inline script the Content-Security-Policy admits.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(parts) = use_context::<http::request::Parts>()
        && let Some(nonce) = parts
            .extensions
            .get::<crate::server::headers::ScriptNonce>()
    {
        provide_context(leptos::nonce::Nonce::from_value(nonce.0.clone()));
    }
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="stylesheet" href="/pkg/console.css"/>
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
            <Routes fallback=NotFound>
                <Route path=path!("/") view=OverviewPage ssr=SsrMode::Async/>
                <Route path=path!("/sign-in") view=SignIn/>
                // a signed-in page answers once its data is in: a session the API refuses
                // redirects to the sign-in page rather than streaming an error
                <Route path=path!("/campaigns") view=Campaigns ssr=SsrMode::Async/>
                <Route path=path!("/advertisers") view=Advertisers ssr=SsrMode::Async/>
                <Route path=path!("/funds") view=Funds ssr=SsrMode::Async/>
                <Route path=path!("/team") view=TeamPage ssr=SsrMode::Async/>
                // where a new key's form answers (its secret, this once)
                <Route path=path!("/team/keys") view=TeamPage ssr=SsrMode::Async/>
                <Route path=path!("/activity") view=ActivityPage ssr=SsrMode::Async/>
                <Route path=path!("/campaigns/new") view=CampaignFormPage ssr=SsrMode::Async/>
                <Route path=path!("/campaigns/:id") view=CampaignPage ssr=SsrMode::Async/>
                <Route
                    path=path!("/campaigns/:id/edit")
                    view=CampaignFormPage
                    ssr=SsrMode::Async
                />
            </Routes>
        </Router>
    }
}
