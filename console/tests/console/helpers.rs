//! The admin API and the console, each on a loopback port, and an advertiser to sign in as.

use reqwest::header::{HeaderMap, SET_COOKIE};
use serde_json::{Value, json};
use sqlx::PgPool;

/// Where scripts/build-console leaves the browser's half (`pkg/`).
pub const SITE_ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../build/console");

/// The advertiser user's password.
pub const PASSWORD: &str = "a long passphrase for the console";

/// The API and the console being driven.
pub struct Console {
    /// The console's address.
    pub url: String,
    /// The API's address.
    pub api: String,
    /// An admin token for setting things up through the API.
    pub admin: String,
    /// An HTTP client that follows no redirects (the tests look at them).
    pub http: reqwest::Client,
}

impl Console {
    /// Serves the API over `pool` and the console in front of it.
    pub async fn start(pool: PgPool) -> Console {
        let settings =
            api::Settings::local(&test_support::redis_url(), "console-test").expect("key");
        let state = api::server::state_over(pool.clone(), settings, api::server::system_clock())
            .await
            .expect("state");
        let admin = state
            .keys
            .load()
            .issue(
                &api::auth::Principal::staff(api::auth::Role::Admin),
                chrono::Utc::now().timestamp(),
                3600,
            )
            .expect("admin token");
        // the API as it runs: its background tasks too (the audit chainer fills the trail)
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("port");
        let api_url = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(api::server::serve(state, listener, std::future::pending()));
        // the browser's half as scripts/build-console leaves it (the browser journeys load it)
        let options = leptos::prelude::LeptosOptions::builder()
            .output_name("console")
            .site_root(SITE_ROOT)
            .site_pkg_dir("pkg")
            .build();
        let console =
            console::serve::router(options, console::server::ApiBase(api_url.clone()), false);
        let url = serve(console).await;
        Console {
            url,
            api: api_url,
            admin,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
        }
    }

    /// Calls the API as the admin: the answer's JSON.
    pub async fn api_post(&self, path: &str, body: Value) -> Value {
        let response = self
            .http
            .post(format!("{}{path}", self.api))
            .bearer_auth(&self.admin)
            .header("idempotency-key", uuid::Uuid::now_v7().to_string())
            .json(&body)
            .send()
            .await
            .expect("api");
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        response.json().await.expect("json")
    }

    /// An advertiser with a user `username` (password [`PASSWORD`]) and one draft campaign
    /// named `campaign`: the advertiser's id.
    pub async fn advertiser(&self, username: &str, campaign: &str) -> String {
        let advertiser = self
            .api_post(
                "/api/v1/advertisers",
                json!({"name": format!("{username} Ltd"), "currency": "EUR"}),
            )
            .await;
        let id = advertiser["id"].as_str().expect("id").to_owned();
        self.api_post(
            &format!("/api/v1/advertisers/{id}/users"),
            json!({"username": username, "password": PASSWORD}),
        )
        .await;
        let mut settings = api::openapi::examples::all()
            .into_iter()
            .find(|(name, _)| *name == "NewCampaign")
            .map(|(_, example)| example)
            .expect("the NewCampaign example");
        settings["name"] = json!(campaign);
        settings["advertiser_id"] = json!(id);
        self.api_post("/api/v1/campaigns", settings).await;
        id
    }

    /// The id of the advertiser's first campaign, as the API lists it.
    pub async fn first_campaign(&self, advertiser: &str) -> String {
        let page = self
            .api_get(&format!("/api/v1/campaigns?advertiser_id={advertiser}"))
            .await;
        page["items"][0]["id"]
            .as_str()
            .expect("a campaign")
            .to_owned()
    }

    /// Signs `username` in through the console's form: the cookies of the session (CSRF token
    /// and session), and the CSRF token for forms.
    pub async fn signed_in(&self, username: &str) -> (String, String) {
        let (cookies, csrf, _) = self.signed_in_landing(username).await;
        (cookies, csrf)
    }

    /// [`Console::signed_in`], and where the sign-in led.
    pub async fn signed_in_landing(&self, username: &str) -> (String, String, String) {
        let page = self.get("/sign-in", "").await;
        let csrf = cookie_value(&set_cookie(page.headers(), "adplat_csrf").expect("csrf"));
        let signed = self
            .post_form(
                "/sign-in",
                &format!("adplat_csrf={csrf}"),
                &[
                    ("username", username),
                    ("password", PASSWORD),
                    ("csrf", &csrf),
                ],
            )
            .await;
        assert_eq!(signed.status(), 303, "{username} signs in");
        let session =
            cookie_value(&set_cookie(signed.headers(), "adplat_session").expect("session"));
        let csrf = cookie_value(&set_cookie(signed.headers(), "adplat_csrf").expect("csrf"));
        let lands = signed.headers()["location"]
            .to_str()
            .expect("location")
            .to_owned();
        (
            format!("adplat_csrf={csrf}; adplat_session={session}"),
            csrf,
            lands,
        )
    }

    /// A staff member's choice to work as `advertiser` (the switch form posted).
    pub async fn work_as(&self, cookies: &str, csrf: &str, advertiser: &str) -> reqwest::Response {
        self.post_form(
            "/advertisers/switch",
            cookies,
            &[("csrf", csrf), ("advertiser_id", advertiser)],
        )
        .await
    }

    /// A staff user `username` (password [`PASSWORD`]) of `role`.
    pub async fn staff(&self, username: &str, role: &str) {
        self.api_post(
            "/api/v1/users",
            json!({"username": username, "password": PASSWORD, "role": role}),
        )
        .await;
    }

    /// Calls the API as the admin: `GET path`'s JSON.
    pub async fn api_get(&self, path: &str) -> Value {
        self.http
            .get(format!("{}{path}", self.api))
            .bearer_auth(&self.admin)
            .send()
            .await
            .expect("api")
            .json()
            .await
            .expect("json")
    }

    /// `GET path` on the console with these cookies.
    pub async fn get(&self, path: &str, cookies: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.url))
            .header("cookie", cookies)
            .header("accept", "text/html")
            .send()
            .await
            .expect("console")
    }

    /// The page at `path` with these cookies: its HTML.
    pub async fn page(&self, path: &str, cookies: &str) -> String {
        self.get(path, cookies).await.text().await.expect("html")
    }

    /// `POST path` on the console: a form, with these cookies.
    pub async fn post_form(
        &self,
        path: &str,
        cookies: &str,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.url))
            .header("cookie", cookies)
            .header("accept", "text/html")
            .form(form)
            .send()
            .await
            .expect("console")
    }
}

/// Serves `router` on a loopback port: its address.
async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("port");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    url
}

/// The `Set-Cookie` header of the cookie `name`, whole.
pub fn set_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

/// The value a `Set-Cookie` header sets.
pub fn cookie_value(set_cookie: &str) -> String {
    set_cookie
        .split(';')
        .next()
        .and_then(|pair| pair.split_once('='))
        .map(|(_, v)| v.to_owned())
        .unwrap_or_default()
}

/// The value of the (first) hidden input `name` in a page.
pub fn hidden(html: &str, name: &str) -> String {
    let at = html
        .find(&format!("name=\"{name}\""))
        .unwrap_or_else(|| panic!("no {name} in the page"));
    let rest = &html[at..];
    let value = rest.find("value=\"").expect("a value") + "value=\"".len();
    let end = rest[value..].find('"').expect("quoted");
    rest[value..value + end].to_owned()
}

/// The value of the hidden `csrf` input in a page.
pub fn csrf_input(html: &str) -> Option<String> {
    let at = html.find("name=\"csrf\"")?;
    let rest = &html[at..];
    let value = rest.find("value=\"")? + "value=\"".len();
    let end = rest[value..].find('"')?;
    Some(rest[value..value + end].to_owned())
}
