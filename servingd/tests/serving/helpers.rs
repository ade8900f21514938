//! A real admin API and a real servingd, each on a loopback port, over the test's own database
//! and the scripts' Redis.

use std::sync::Arc;
use std::time::Duration;

use api::auth::{Principal, Role};
use ledger::{
    AccountOwner, AdvertiserId, Amount, CampaignId, Currency, Ledger, NewTransfer, TransferId,
    TransferKind,
};
use reqwest::StatusCode;
use serde_json::{Value, json};
use servingd::runtime::serving_state::ServingState;
use servingd::settings::Settings;
use sqlx::PgPool;
use tokio::sync::oneshot;
use uuid::Uuid;

pub use test_support::redis_url;

/// The platform under test.
pub struct Platform {
    pub http: reqwest::Client,
    pub api: String,
    pub admin: String,
    pub serving: String,
    /// The credential of the supply partner every bid request comes from (a USD exchange
    /// without rules of its own).
    pub partner: String,
    pub partner_id: Uuid,
    pub state: Arc<ServingState>,
    stop: Option<oneshot::Sender<()>>,
    api_runtime: Option<tokio::runtime::Runtime>,
    served: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl Platform {
    /// The API and servingd over `pool`, servingd signed in with a service key.
    pub async fn start(pool: PgPool) -> Platform {
        Platform::start_with(pool, |_| {}).await
    }

    /// The same, with servingd's settings changed by `configure`.
    pub async fn start_with(pool: PgPool, configure: impl FnOnce(&mut Settings)) -> Platform {
        Platform::start_clocked(pool, configure, Arc::new(ledger::SystemClock)).await
    }

    /// The same, servingd reading the time from `clock` (the API keeps the system's).
    pub async fn start_clocked(
        pool: PgPool,
        configure: impl FnOnce(&mut Settings),
        clock: Arc<dyn ledger::Clock>,
    ) -> Platform {
        servingd::http::metrics_handle();
        let api_settings = api::Settings {
            feed_wait_max_s: 2,
            hold_sweep_interval_s: 1,
            ..api::Settings::local(&redis_url(), "t").expect("key")
        };
        // The API runs on a runtime of its own, so a test can take it down whole (every
        // connection with it) and see servingd carry on without it.
        let api_runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("api runtime");
        let options = (*pool.connect_options()).clone();
        let (ready, started) = oneshot::channel();
        api_runtime.spawn(async move {
            let pool = sqlx::postgres::PgPoolOptions::new()
                .max_connections(8)
                .connect_with(options)
                .await
                .expect("api pool");
            let state = api::server::state_over(pool, api_settings, api::server::system_clock())
                .await
                .expect("api state");
            let admin = state
                .keys
                .load()
                .issue(
                    &Principal::staff(Role::Admin),
                    chrono::Utc::now().timestamp(),
                    3600,
                )
                .expect("token");
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            let api = format!("http://{}", listener.local_addr().expect("addr"));
            let _ = ready.send((api, admin));
            // with its background work: the hold sweep, the audit chainer
            api::server::serve(state, listener, std::future::pending()).await
        });
        let (api, admin) = started.await.expect("api started");
        let http = reqwest::Client::new();
        let key: Value = http
            .post(format!("{api}/api/v1/api-keys"))
            .bearer_auth(&admin)
            .json(&json!({"name": "servingd", "role": "service"}))
            .send()
            .await
            .expect("key")
            .json()
            .await
            .expect("key json");
        let api_key = key["api_key"].as_str().expect("api_key").to_owned();
        let (partner_id, partner) = add_partner(&http, &api, &admin, json!({})).await;

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let serving = format!("http://{}", listener.local_addr().expect("addr"));
        let mut settings = Settings {
            api_url: api.clone(),
            api_key: api_key.into(),
            redis_url: redis_url(),
            server_id: format!("test-{}", Uuid::now_v7().simple()),
            public_url: serving.clone(),
            feed_wait_s: 1,
            lease_want_micros: 1_000_000,
            event_namespace: format!("test-{}:", Uuid::now_v7().simple()),
            event_shards: 2,
            dev_random_tracking_key: true,
            ..Settings::default()
        };
        configure(&mut settings);
        let state = servingd::server::build_over_with_clock(settings, pool, clock)
            .await
            .expect("state");
        let (stop, stopped) = oneshot::channel::<()>();
        let served = tokio::spawn(servingd::server::run(state.clone(), listener, async {
            let _ = stopped.await;
        }));
        let platform = Platform {
            http,
            api,
            admin,
            serving,
            partner,
            partner_id,
            state,
            stop: Some(stop),
            api_runtime: Some(api_runtime),
            served: Some(served),
        };
        platform.wait_ready().await;
        platform
    }

    async fn wait_ready(&self) {
        for _ in 0..200 {
            let ready = self
                .http
                .get(format!("{}/readyz", self.serving))
                .send()
                .await
                .is_ok_and(|r| r.status() == StatusCode::OK);
            if ready {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("servingd did not become ready");
    }

    /// What servingd's `/readyz` says.
    pub async fn readiness(&self) -> serde_json::Value {
        self.http
            .get(format!("{}/readyz", self.serving))
            .send()
            .await
            .expect("readyz")
            .json()
            .await
            .expect("json")
    }

    /// Takes the API down, every connection with it.
    pub fn stop_api(&mut self) {
        if let Some(runtime) = self.api_runtime.take() {
            runtime.shutdown_background();
        }
    }

    /// Stops servingd (leases are settled).
    pub async fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(served) = self.served.take() {
            served.await.expect("join").expect("served");
        }
    }

    /// Calls the API as admin.
    pub async fn api_post(&self, path: &str, body: Value) -> Value {
        let response = self
            .http
            .post(format!("{}{path}", self.api))
            .bearer_auth(&self.admin)
            .header("idempotency-key", Uuid::now_v7().to_string())
            .json(&body)
            .send()
            .await
            .expect("api");
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{path}: {status} {body}");
        body
    }

    /// A funded advertiser with an active campaign of `campaign` settings (merged over a
    /// 300×250 banner campaign bidding 2.00 CPM with a 100.00 lifetime budget).
    pub async fn active_campaign(&self, campaign: Value) -> Uuid {
        let name = format!("Advertiser {}", Uuid::now_v7().simple());
        let adv = self
            .api_post(
                "/api/v1/advertisers",
                json!({"name": name, "currency": "USD"}),
            )
            .await;
        let adv = adv["id"].as_str().expect("id").to_owned();
        self.api_post(
            &format!("/api/v1/advertisers/{adv}/deposits"),
            json!({"amount": "1000"}),
        )
        .await;
        let mut body = json!({
            "advertiser_id": adv,
            "name": "Serving test",
            "schedule": {"start": "2026-01-01T00:00:00Z", "time_zone": "Europe/Paris"},
            "budget": {"lifetime": "100"},
            "bid": {"kind": "cpm", "amount": "2"},
            "pacing": "accelerated",
            "creatives": [{"id": "c1", "format": "banner", "w": 300, "h": 250,
                           "click_url": "https://shop.example.com/sale", "markup": "<b>Sale</b>",
                           "adomain": "shop.example.com"}]
        });
        merge(&mut body, campaign);
        let created = self.api_post("/api/v1/campaigns", body).await;
        let id = created["id"].as_str().expect("id").to_owned();
        self.api_post(&format!("/api/v1/campaigns/{id}/activate"), json!({}))
            .await;
        id.parse().expect("uuid")
    }

    /// Waits until servingd's index has `campaign`.
    pub async fn wait_indexed(&self, campaign: Uuid) {
        for _ in 0..200 {
            if self.state.live.load().get(campaign).is_some() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("campaign {campaign} never reached the index");
    }

    /// servingd's `/metrics` text.
    pub async fn metrics(&self) -> String {
        self.http
            .get(format!("{}/metrics", self.serving))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text")
    }

    /// Bills and records everything on the event stream, as the ledger writer's two duties do:
    /// (events billed, events recorded).
    pub async fn bill_and_record(&self, pool: &PgPool) -> (usize, usize) {
        let writer = |duty| {
            events::LedgerWriter::new(
                ledger::Ledger::new(pool.clone()),
                self.state.redis.clone(),
                self.state.events.clone(),
                events::WriterSettings::for_duty(duty),
            )
        };
        let biller = writer(events::Duty::Bill);
        biller.prepare().await.expect("groups");
        let billed = biller.drain().await.expect("bill").billed;
        let recorder = writer(events::Duty::Record);
        recorder.prepare().await.expect("groups");
        let recorded = recorder.drain().await.expect("record").recorded;
        (billed, recorded)
    }

    /// Adds a supply partner with `rules` (merged over a USD exchange named at random): its id
    /// and credential.
    pub async fn add_partner(&self, rules: Value) -> (Uuid, String) {
        add_partner(&self.http, &self.api, &self.admin, rules).await
    }

    /// Waits until servingd holds the partners' revision `at_least`.
    pub async fn wait_partners(&self, at_least: usize) {
        for _ in 0..200 {
            if self.state.partners.load().len() >= at_least {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("servingd never held {at_least} partners");
    }

    /// Sends a bid request from the test's partner.
    pub async fn bid(&self, body: &str) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        self.bid_as(Some(&self.partner), body).await
    }

    /// Sends a bid request with `credential` (or none).
    pub async fn bid_as(
        &self,
        credential: Option<&str>,
        body: &str,
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let mut request = self
            .http
            .post(format!("{}/openrtb2/auction", self.serving))
            .header("content-type", "application/json")
            .body(body.to_owned());
        if let Some(credential) = credential {
            request = request.bearer_auth(credential);
        }
        let response = request.send().await.expect("auction");
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.json().await.unwrap_or(Value::Null);
        (status, headers, body)
    }

    /// Sends `body` until a bid comes back (the first requests for a campaign find no lease yet).
    pub async fn bid_until_won(&self, body: &str) -> Value {
        self.bid_as_until_won(&self.partner, body).await
    }

    /// [`Platform::bid_until_won`] from the partner with `credential`.
    pub async fn bid_as_until_won(&self, credential: &str, body: &str) -> Value {
        for _ in 0..100 {
            let (status, _, reply) = self.bid_as(Some(credential), body).await;
            if status == StatusCode::OK {
                return reply;
            }
            assert_eq!(status, StatusCode::NO_CONTENT, "{reply}");
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
        panic!("no bid came back");
    }
}

async fn add_partner(
    http: &reqwest::Client,
    api: &str,
    admin: &str,
    rules: Value,
) -> (Uuid, String) {
    let mut body =
        json!({"name": format!("Exchange {}", Uuid::now_v7().simple()), "currency": "USD"});
    merge(&mut body, rules);
    let response = http
        .post(format!("{api}/api/v1/partners"))
        .bearer_auth(admin)
        .json(&body)
        .send()
        .await
        .expect("partner");
    let status = response.status();
    let created: Value = response.json().await.expect("partner json");
    assert_eq!(status, StatusCode::CREATED, "{created}");
    (
        created["partner"]["id"]
            .as_str()
            .and_then(|id| id.parse().ok())
            .expect("id"),
        created["credential"]
            .as_str()
            .expect("credential")
            .to_owned(),
    )
}

fn merge(base: &mut Value, patch: Value) {
    match (base, patch) {
        (Value::Object(b), Value::Object(p)) => {
            for (k, v) in p {
                merge(b.entry(k).or_insert(Value::Null), v);
            }
        }
        (b, p) => *b = p,
    }
}

/// A fixture request.
pub fn fixture(name: &str) -> String {
    let path = format!(
        "{}/tests/fixtures/openrtb/{name}",
        test_support::package_dir().display()
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

impl Drop for Platform {
    fn drop(&mut self) {
        self.stop_api();
    }
}

/// Opens a campaign's accounts in USD straight in the ledger (no API) and holds 50 of its
/// advertiser's 100 for it.
pub async fn funded_campaign(ledger: &Ledger) -> CampaignId {
    let usd = Currency::parse("USD").expect("usd");
    let advertiser = AdvertiserId::new();
    let campaign = CampaignId::new();
    let open = |owner| ledger.open_account(owner, usd);
    let world = open(AccountOwner::External).await.expect("world");
    let cash = open(AccountOwner::AdvertiserCash { advertiser })
        .await
        .expect("cash");
    let hold = open(AccountOwner::CampaignHold {
        advertiser,
        campaign,
    })
    .await
    .expect("hold");
    open(AccountOwner::CampaignSpend {
        advertiser,
        campaign,
    })
    .await
    .expect("spend");
    for (from, to, amount, kind) in [
        (&world, &cash, "100", TransferKind::Deposit),
        (&cash, &hold, "50", TransferKind::Hold),
    ] {
        ledger
            .transfer(NewTransfer::new(
                TransferId::new(),
                from.id,
                to.id,
                Amount::parse(amount).expect("amount"),
                usd,
                kind,
            ))
            .await
            .expect("funding");
    }
    campaign
}
