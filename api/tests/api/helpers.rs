//! An API over the test's own database and the scripts' Redis, driven in-process.

use std::sync::Arc;

use api::auth::{Principal, Role};
use api::{AppState, Settings};
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use ledger::{AdvertiserId, ManualClock};
use serde_json::{Value, json};
use sqlx::PgPool;
use tower::ServiceExt;
use uuid::Uuid;

/// The API under test.
#[derive(Clone)]
pub struct TestApp {
    pub state: AppState,
    pub router: Router,
    pub clock: Arc<ManualClock>,
}

/// A response, read whole.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    /// The body's field as a string.
    pub fn str(&self, field: &str) -> String {
        self.body[field].as_str().unwrap_or_default().to_owned()
    }

    /// The fields a problem's `errors` name, in its order.
    pub fn error_fields(&self) -> Vec<&str> {
        self.body["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .filter_map(|e| e["field"].as_str())
            .collect()
    }
}

/// Settings for tests: a fresh signing key, generous rate limits.
pub fn settings() -> Settings {
    Settings {
        console_origin: Some("https://console.example.test".into()),
        ..Settings::local(&test_support::redis_url(), "test-1").expect("key")
    }
}

impl TestApp {
    /// The API over `pool` with test settings.
    pub async fn new(pool: PgPool) -> TestApp {
        TestApp::with_settings(pool, settings()).await
    }

    /// The API over `pool` with `settings`.
    pub async fn with_settings(pool: PgPool, settings: Settings) -> TestApp {
        let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
        let state = api::server::state_over(pool, settings, clock.clone())
            .await
            .expect("state");
        TestApp {
            router: api::router(state.clone()),
            state,
            clock,
        }
    }

    /// A token for a principal of `role` (bound to `advertiser` for the advertiser role).
    pub fn token(&self, role: Role, advertiser: Option<Uuid>) -> String {
        self.token_of(&Principal {
            id: Uuid::now_v7(),
            role,
            advertiser: advertiser.map(AdvertiserId),
        })
    }

    /// A token for `principal`.
    pub fn token_of(&self, principal: &Principal) -> String {
        let now = chrono::Utc::now().timestamp();
        self.state
            .keys
            .load()
            .issue(principal, now, 600)
            .expect("token")
    }

    /// Sends a request; `body` as JSON when given.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = match body {
            Some(body) => request
                .header("content-type", "application/json")
                .body(Body::from(body.to_string())),
            None => request.body(Body::empty()),
        }
        .expect("request");
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("response");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), 64 * 1024 * 1024)
            .await
            .expect("body");
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        Reply {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.send(Method::GET, path, Some(token), None, &[]).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Reply {
        self.send(Method::POST, path, Some(token), Some(body), &[])
            .await
    }

    /// Creates an advertiser (as an operator) and returns its id.
    pub async fn advertiser(&self, name: &str) -> Uuid {
        let operator = self.token(Role::Operator, None);
        let reply = self
            .post(
                "/api/v1/advertisers",
                &operator,
                json!({"name": name, "currency": "EUR"}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        Uuid::parse_str(&reply.str("id")).expect("id")
    }

    /// Deposits `amount` for `advertiser` (as billing).
    pub async fn deposit(&self, advertiser: Uuid, amount: &str) {
        let billing = self.token(Role::Billing, None);
        let key = Uuid::now_v7().to_string();
        let reply = self
            .send(
                Method::POST,
                &format!("/api/v1/advertisers/{advertiser}/deposits"),
                Some(&billing),
                Some(json!({"amount": amount})),
                &[("idempotency-key", &key)],
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    }

    /// Creates a draft campaign for `advertiser` and returns its id.
    pub async fn campaign(&self, advertiser: Uuid, budget: Value) -> Uuid {
        let operator = self.token(Role::Operator, None);
        let mut body = campaign_body();
        body["advertiser_id"] = json!(advertiser);
        body["budget"] = budget;
        let reply = self.post("/api/v1/campaigns", &operator, body).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        Uuid::parse_str(&reply.str("id")).expect("id")
    }

    /// The advertiser's balance: (cash, held).
    pub async fn balance(&self, advertiser: Uuid) -> (String, String) {
        let billing = self.token(Role::Billing, None);
        let reply = self
            .get(
                &format!("/api/v1/advertisers/{advertiser}/balance"),
                &billing,
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        (reply.str("cash"), reply.str("held"))
    }
}

/// A valid campaign (without advertiser).
pub fn campaign_body() -> Value {
    json!({
        "name": "Winter sale",
        "schedule": {"start": "2026-01-01T00:00:00Z", "time_zone": "Europe/Paris"},
        "budget": {"lifetime": "100"},
        "bid": {"kind": "cpm", "amount": "2.5"},
        "targeting": {"countries": ["FR"], "sizes": [{"w": 300, "h": 250}]},
        "frequency_cap": {"count": 3, "period_s": 86400},
        "creatives": [{"id": "c1", "format": "banner", "w": 300, "h": 250,
                       "click_url": "https://shop.example.com/sale", "markup": "<b>Sale</b>",
                       "adomain": "shop.example.com"}]
    })
}
