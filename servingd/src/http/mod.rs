//! The HTTP face: `POST /openrtb2/auction`, `/healthz`, `/readyz`, `/metrics`, the tracking
//! endpoints ([`tracking`]), the OpenAPI document describing them all ([`openapi`], at
//! `/openapi.json`) and problem+json answers.

pub mod openapi;
pub mod tracking;

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use rand::Rng;
use serde_json::json;
use url::form_urlencoded;

use crate::decision::auction::Charge;
use crate::decision::openrtb::{self, Bid, BidResponse, SeatBid};
use crate::decision::price::price_number;
use crate::decision::shedding::{Zone, admit};
use crate::decision::tracking_token::TokenClaims;
use crate::runtime::decide::Decision;
use crate::runtime::serving_state::ServingState;
use events::{Billing, EventKind};
use partners::{Directory, Partner};
use uuid::Uuid;

/// Bytes reserved per bid for writing a response.
const RESPONSE_CAPACITY: usize = 1536;

/// The OpenRTB version servingd speaks.
pub const OPENRTB_VERSION: &str = "2.6";

static METRICS: std::sync::OnceLock<Option<PrometheusHandle>> = std::sync::OnceLock::new();

/// The process's metrics recorder (installed once; `None` if another was installed first).
pub fn metrics_handle() -> Option<&'static PrometheusHandle> {
    METRICS
        .get_or_init(|| {
            let handle = PrometheusBuilder::new().install_recorder().ok()?;
            crate::runtime::metric_families::describe();
            Some(handle)
        })
        .as_ref()
}

/// The router over `state`.
pub fn router(state: Arc<ServingState>) -> Router {
    let limit = state.settings.body_limit_bytes;
    Router::new()
        .route("/openrtb2/auction", post(auction))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .route("/metrics", get(render_metrics))
        .route(
            "/openapi.json",
            get(|| async { axum::Json(openapi::DOCUMENT.clone()) }),
        )
        .merge(crate::http::tracking::routes())
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
}

async fn render_metrics(State(state): State<Arc<ServingState>>) -> Response {
    let mut body = metrics_handle()
        .map(PrometheusHandle::render)
        .unwrap_or_default();
    state.metrics.render(&mut body);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}

async fn ready(State(state): State<Arc<ServingState>>) -> Response {
    let loaded = state.live.is_loaded();
    let budget = state.budget_reachable.load(Ordering::Relaxed);
    let body = json!({
        "index_loaded": loaded,
        "index_revision": state.live.load().revision(),
        "budget_reachable": budget,
        "feed_staleness_s": state.live.staleness_s(),
    });
    let status = if loaded && budget {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(body)).into_response()
}

/// Counts a request in flight for as long as it lives.
struct InFlight<'a>(&'a ServingState);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

async fn auction(
    State(state): State<Arc<ServingState>>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    let started = Instant::now();
    let in_use = state.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
    let _guard = InFlight(&state);
    let partners = state.partners.load();
    let Some(partner) = partner_of(&partners, &headers, state.rates.platform()) else {
        metrics::counter!("servingd_unauthorized_total").increment(1);
        let mut response = problem(
            StatusCode::UNAUTHORIZED,
            "only supply partners may ask for ads: send an active partner's credential as \
             Authorization: Bearer <credential>",
            Vec::new(),
        );
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return response;
    };
    let body = match body {
        Ok(b) => b,
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return problem(
                StatusCode::PAYLOAD_TOO_LARGE,
                "the bid request is too large",
                Vec::new(),
            );
        }
        Err(e) => return problem(StatusCode::BAD_REQUEST, &e.body_text(), Vec::new()),
    };
    let t = Instant::now();
    let mut request = match openrtb::parse(&body) {
        Ok(r) => r,
        Err(invalid) => {
            state.metrics.invalid.increment(1);
            return problem(
                StatusCode::BAD_REQUEST,
                "the bid request is invalid",
                invalid.errors,
            );
        }
    };
    state.metrics.parse.record(t.elapsed());
    request.price_ceiling_micros = partner.max_cpm_micros;
    if from_blocked_source(&state, &request) {
        metrics::counter!("servingd_blocked_total", "at" => "bid").increment(1);
        return no_bid();
    }

    let zone = Zone::of(in_use, state.settings.capacity);
    let value = request
        .slots
        .iter()
        .map(|s| s.floor_micros)
        .max()
        .unwrap_or(0);
    // In the green zone nothing is decided: one request in eight teaches the value tracker,
    // so the lock stays off most requests' path.
    let admitted = {
        let mut rng = rand::rng();
        if zone == Zone::Green && !rng.random_ratio(1, 8) {
            true
        } else {
            let mut values = state.values.lock().unwrap_or_else(|p| p.into_inner());
            values.observe(value);
            admit(zone, &values, value, rng.random_bool(0.5))
        }
    };
    if zone != Zone::Green {
        metrics::counter!("servingd_load_zone_total", "zone" => zone.as_str()).increment(1);
    }
    if !admitted {
        state.metrics.shed.increment(1);
        return no_bid();
    }

    let decision = state.decide(&request).await;
    let response = if decision.sold.is_empty() {
        state.metrics.no_bids.increment(1);
        no_bid()
    } else {
        state.metrics.bids.increment(1);
        let source = ServedTo::of(&request, partner.id);
        let body = bid_response(&state, &request.id, &decision, source);
        // written once into a buffer sized for a typical response (a bid is about 1 KB),
        // rather than grown from a small one
        let mut json = Vec::with_capacity(RESPONSE_CAPACITY * decision.sold.len());
        match serde_json::to_writer(&mut json, &body) {
            Ok(()) => (
                [
                    (
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("application/json"),
                    ),
                    (
                        header::HeaderName::from_static("x-openrtb-version"),
                        HeaderValue::from_static(OPENRTB_VERSION),
                    ),
                ],
                json,
            )
                .into_response(),
            Err(e) => problem(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("the response could not be written: {e}"),
                Vec::new(),
            ),
        }
    };
    state.metrics.total.record(started.elapsed());
    response
}

/// The active supply partner whose credential the request carries, trading in `currency`.
fn partner_of<'d>(
    partners: &'d Directory,
    headers: &HeaderMap,
    currency: &str,
) -> Option<&'d Arc<Partner>> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, presented) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let presented = presented.trim();
    partners
        .by_credential(presented)
        .filter(|p| p.may_ask(currency))
}

/// Who the ad is served to and through whom, as the tracking tokens carry it for the fraud
/// checks and billing.
#[derive(Debug, Clone, Copy)]
struct ServedTo {
    device: u64,
    network: u64,
    partner: Uuid,
    test: bool,
}

impl ServedTo {
    fn of(request: &crate::AdRequest<'_>, partner: Uuid) -> Self {
        ServedTo {
            partner,
            test: request.test,
            device: request
                .device_id
                .as_deref()
                .map_or(0, fraud::score::device_hash),
            network: request
                .ip
                .as_deref()
                .and_then(|ip| ip.trim().parse().ok())
                .map_or(0, fraud::score::network_hash),
        }
    }
}

/// Whether the request comes from a listed IP or device (fraud level 1).
fn from_blocked_source(state: &ServingState, request: &crate::AdRequest<'_>) -> bool {
    let list = state.blocklist.load();
    if list.entries() == 0 {
        return false;
    }
    request
        .ip
        .as_deref()
        .is_some_and(|ip| list.blocks_ip_text(ip))
        || request
            .device_id
            .as_deref()
            .is_some_and(|d| list.blocks_device(d))
}

fn no_bid() -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(
        "x-openrtb-version",
        HeaderValue::from_static(OPENRTB_VERSION),
    );
    response
}

/// An RFC 9457 problem: `status`, `detail`, and the fields at fault (an empty list when none).
pub(crate) fn problem_json(
    status: StatusCode,
    detail: &str,
    errors: Vec<openrtb::FieldError>,
) -> Response {
    let body = json!({
        "type": "about:blank",
        "title": status.canonical_reason().unwrap_or("Error"),
        "status": status.as_u16(),
        "detail": detail,
        "errors": errors,
    });
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    response
}

/// A problem answered on the OpenRTB endpoint (with its version header).
fn problem(status: StatusCode, detail: &str, errors: Vec<openrtb::FieldError>) -> Response {
    let mut response = problem_json(status, detail, errors);
    response.headers_mut().insert(
        "x-openrtb-version",
        HeaderValue::from_static(OPENRTB_VERSION),
    );
    response
}

/// The response for what was sold, with tracking URLs. The event id is the auction id and the
/// impression id; each URL carries a signed token with what billing needs (campaign, lease,
/// price, expiry), and the click URL's token also covers the landing page it redirects to.
fn bid_response<'a>(
    state: &'a ServingState,
    request_id: &'a str,
    decision: &'a Decision,
    served_to: ServedTo,
) -> BidResponse<'a> {
    let base = &state.settings.public_url;
    let now_s = state.clock.now().timestamp();
    let bids = decision
        .sold
        .iter()
        .map(|s| {
            let creative = s.creative();
            let event = format!("{}:{}", decision.auction_id, s.slot_id);
            let mut claims = TokenClaims {
                kind: EventKind::Impression,
                auction: decision.auction_id,
                slot: s.slot_id.clone(),
                campaign: s.campaign.id,
                lease: s.lease.0,
                partner: served_to.partner,
                test: served_to.test,
                billing: match s.win.charge {
                    Charge::PerMille(_) => Billing::PerMille,
                    Charge::PerClick(_) => Billing::PerClick,
                },
                price_micros: s.price_micros,
                expires_at: now_s + state.settings.impression_ttl_s,
                device: served_to.device,
                network: served_to.network,
            };
            let burl = format!(
                "{base}/t/imp?t={}",
                state.tracking.load().sign(&claims, b"")
            );
            let adm = match creative.media {
                crate::decision::request::Media::Video => creative.markup.clone(),
                _ => {
                    claims.kind = EventKind::Click;
                    claims.expires_at = now_s + state.settings.click_ttl_s;
                    let landing = creative.click_url.as_bytes();
                    let token = state.tracking.load().sign(&claims, landing);
                    let mut adm = String::with_capacity(
                        base.len() + token.len() + creative.click_url.len() * 2 + 96,
                    );
                    let _ = write!(adm, r#"<a href="{base}/t/click?t={token}&amp;u="#);
                    adm.extend(form_urlencoded::byte_serialize(landing));
                    let _ = write!(
                        adm,
                        r#"" target="_blank" rel="noopener">{}</a>"#,
                        creative.markup
                    );
                    adm
                }
            };
            Bid {
                id: event,
                impid: &s.slot_id,
                price: price_number(s.win.price_cpm),
                adm,
                burl,
                adomain: [&creative.adomain],
                cid: s.campaign.id.to_string(),
                crid: &creative.id,
                dealid: s.deal.as_deref(),
                w: Some(creative.size.w),
                h: Some(creative.size.h),
            }
        })
        .collect();
    BidResponse {
        id: request_id,
        bidid: decision.auction_id.to_string(),
        cur: state.rates.platform(),
        seatbid: vec![SeatBid {
            seat: &state.settings.seat,
            bid: bids,
        }],
    }
}
