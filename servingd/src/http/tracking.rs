//! `GET /t/imp` (the billing URL) and `GET /t/click` (the click URL): verify the token, drop
//! events of listed sources (fraud level 1), score the event on its IP's and device's recent
//! activity (fraud level 2: over the threshold it is recorded invalid and never billed), then
//! append it to the event stream once. A repeated event is answered as the first one was
//! and counted once; a refused token gets a problem+json and nothing is recorded (and a click is
//! not redirected).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use events::{Appended, Billing, EventKind, ServedEvent};
use ledger::{CampaignId, LeaseId};
use url::form_urlencoded;

use daemon::client_address::TrustedProxies;
use partners::EventRefusal;

use crate::decision::tracking_token::{TokenClaims, TokenError};
use crate::runtime::serving_state::ServingState;
use fraud::score::{Assessment, assess, network_hash};
use fraud::windows::Source;

/// How long past a token's expiry its event stays marked as seen (clock skew between instances).
const SEEN_MARGIN_S: i64 = 300;
/// Longest user agent kept with an event.
const MAX_USER_AGENT: usize = 512;

/// The tracking routes.
pub fn routes() -> Router<Arc<ServingState>> {
    Router::new()
        .route("/t/imp", get(impression))
        .route("/t/click", get(click))
}

async fn impression(State(state): State<Arc<ServingState>>, request: Request) -> Response {
    track(&state, EventKind::Impression, request).await
}

async fn click(State(state): State<Arc<ServingState>>, request: Request) -> Response {
    track(&state, EventKind::Click, request).await
}

async fn track(state: &ServingState, kind: EventKind, request: Request) -> Response {
    let mut token = None;
    let mut landing = None;
    for (name, value) in form_urlencoded::parse(request.uri().query().unwrap_or("").as_bytes()) {
        match name.as_ref() {
            "t" => token = Some(value.into_owned()),
            "u" => landing = Some(value.into_owned()),
            _ => {}
        }
    }
    let Some(token) = token else {
        return refused(
            kind,
            "missing",
            StatusCode::BAD_REQUEST,
            "the query parameter t (the tracking token) is missing",
        );
    };
    let bound = match (kind, &landing) {
        (EventKind::Impression, _) => "",
        (EventKind::Click, Some(url)) => url.as_str(),
        (EventKind::Click, None) => {
            return refused(
                kind,
                "missing",
                StatusCode::BAD_REQUEST,
                "the query parameter u (the landing page) is missing",
            );
        }
    };
    let now = state.clock.now();
    let claims = match state
        .tracking
        .load()
        .verify(&token, kind, bound.as_bytes(), now.timestamp())
    {
        Ok(claims) => claims,
        Err(e) => {
            let (status, label) = match e {
                TokenError::Malformed => (StatusCode::BAD_REQUEST, "malformed"),
                TokenError::Expired(_) => (StatusCode::GONE, "expired"),
                TokenError::UnknownKey(_) | TokenError::Forged | TokenError::WrongKind(_) => {
                    (StatusCode::FORBIDDEN, "forged")
                }
            };
            return refused(kind, label, status, &e.to_string());
        }
    };
    let client = client_ip(&request, &state.settings.trusted_proxies);
    let from_partner = match partner_allows(state, kind, client, &claims) {
        Ok(from_partner) => from_partner,
        // a click still reaches its landing page (the token was ours); nothing is recorded
        Err(_) if kind == EventKind::Click => {
            metrics::counter!("servingd_events_total", "kind" => kind.as_str(), "outcome" => "partner")
                .increment(1);
            return answer(kind, bound);
        }
        Err(refusal) => {
            return refused(kind, "partner", StatusCode::FORBIDDEN, &refusal.to_string());
        }
    };
    // A listed source's event is answered as any other (nothing to learn from) and not billed.
    if client.is_some_and(|ip| state.blocklist.load().blocks_ip(ip)) {
        metrics::counter!("servingd_events_total", "kind" => kind.as_str(), "outcome" => "blocked")
            .increment(1);
        return answer(kind, bound);
    }
    let user_agent: Option<String> = request
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|ua| ua.chars().take(MAX_USER_AGENT).collect());
    // the partner's own servers fire the billing URLs of all its traffic: their address says
    // nothing of one viewer's rate
    let counted_ip = client.filter(|_| !from_partner);
    let verdict = match judge(state, kind, counted_ip, &claims, user_agent.as_deref(), now).await {
        Ok(verdict) => verdict,
        Err(e) => {
            tracing::warn!(error = %e, "the fraud windows could not be counted");
            return refused(
                kind,
                "unavailable",
                StatusCode::SERVICE_UNAVAILABLE,
                "the event could not be recorded; try again",
            );
        }
    };
    let event = ServedEvent {
        id: claims.event_id(),
        kind,
        campaign: CampaignId(claims.campaign),
        lease: LeaseId(claims.lease),
        billing: claims.billing,
        price_micros: claims.price_micros,
        at_ms: now.timestamp_millis(),
        ip: client
            .map(|ip| ip.to_canonical().to_string())
            .unwrap_or_default(),
        device: (claims.device != 0).then(|| format!("{:016x}", claims.device)),
        user_agent,
        invalid: verdict.invalid.then(|| verdict.reasons()),
        partner: Some(claims.partner),
        test: claims.test,
    };
    let seen_for = (claims.expires_at - now.timestamp() + SEEN_MARGIN_S).max(1) as u64;
    let appended = state
        .events
        .append(&mut state.redis.clone(), &event, seen_for)
        .await;
    let outcome = match appended {
        Ok(Appended::New(_)) if event.invalid.is_some() => "invalid",
        Ok(Appended::New(_)) if event.test => "recorded",
        Ok(Appended::New(_)) => {
            learn_click_rate(state, &event);
            "recorded"
        }
        Ok(Appended::Repeat) => "repeated",
        Err(e) => {
            tracing::warn!(error = %e, "an event could not be appended");
            return refused(
                kind,
                "unavailable",
                StatusCode::SERVICE_UNAVAILABLE,
                "the event could not be recorded; try again",
            );
        }
    };
    metrics::counter!("servingd_events_total", "kind" => kind.as_str(), "outcome" => outcome)
        .increment(1);
    answer(kind, bound)
}

/// The rules of the supply partner that sold the ad: active, still in the auction currency,
/// billing URLs fetched from its networks, the price within its ceiling. The ceiling is checked
/// here again (the auction held to it) in case it was lowered since; a campaign no longer
/// served, whose currency is not known here, is held to it only at the auction. `Ok(true)`: the
/// event comes from one of the partner's own servers.
fn partner_allows(
    state: &ServingState,
    kind: EventKind,
    client: Option<IpAddr>,
    claims: &TokenClaims,
) -> Result<bool, EventRefusal> {
    let partners = state.partners.load();
    let partner = partners
        .get(claims.partner)
        .ok_or(EventRefusal::UnknownPartner)?;
    let cpm = match claims.billing {
        Billing::PerMille => state
            .live
            .load()
            .get(claims.campaign)
            .and_then(|c| state.rates.floor(claims.price_micros, c.currency.code())),
        Billing::PerClick => None,
    };
    partner.check_event(
        state.rates.platform(),
        kind == EventKind::Impression,
        client,
        cpm,
    )?;
    Ok(client.is_some_and(|ip| partner.owns(ip)))
}

/// A CPC campaign's valid impressions and clicks teach its predicted click rate, which is what
/// its impressions cost its budget until their clicks are billed.
fn learn_click_rate(state: &ServingState, event: &ServedEvent) {
    if event.billing != Billing::PerClick {
        return;
    }
    let (impressions, clicks) = match event.kind {
        EventKind::Impression => (1, 0),
        EventKind::Click => (0, 1),
    };
    state.ctr.record(event.campaign.0, "", impressions, clicks);
}

/// What a recorded (or silently dropped) event gets: nothing for an impression, the landing
/// page for a click.
fn answer(kind: EventKind, landing: &str) -> Response {
    match kind {
        EventKind::Impression => StatusCode::NO_CONTENT.into_response(),
        EventKind::Click => redirect(landing),
    }
}

/// Fraud level 2: counts the event in its IP's and its device's windows and scores it, with
/// whether the client is on the network the ad was served to. `client` is `None` for one of the
/// partner's own servers: only the device is judged then.
async fn judge(
    state: &ServingState,
    kind: EventKind,
    client: Option<IpAddr>,
    claims: &TokenClaims,
    user_agent: Option<&str>,
    now: chrono::DateTime<chrono::Utc>,
) -> redis::RedisResult<Assessment> {
    let now_ms = now.timestamp_millis();
    let count = |source: Source| {
        let mut conn = state.redis.clone();
        async move {
            state
                .fraud_windows
                .count(&mut conn, source, kind, user_agent, now_ms)
                .await
        }
    };
    let (by_ip, by_device) = tokio::join!(
        async {
            match client {
                Some(ip) => count(Source::Ip(ip)).await.map(Some),
                None => Ok(None),
            }
        },
        async {
            match claims.device {
                0 => Ok(None),
                d => count(Source::Device(d)).await.map(Some),
            }
        }
    );
    let windows: Vec<_> = [by_ip?, by_device?].into_iter().flatten().collect();
    let geo_mismatch =
        claims.network != 0 && client.is_some_and(|ip| network_hash(ip) != claims.network);
    Ok(assess(&windows, geo_mismatch, &state.fraud_rules))
}

/// The client's address: the peer's, or behind a trusted proxy the right-most untrusted
/// `X-Forwarded-For` entry.
fn client_ip(request: &Request, proxies: &TrustedProxies) -> Option<IpAddr> {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())?;
    Some(proxies.client_of(peer, request.headers()))
}

fn redirect(to: &str) -> Response {
    match HeaderValue::from_str(to) {
        Ok(location) => {
            let mut response = StatusCode::FOUND.into_response();
            response.headers_mut().insert(header::LOCATION, location);
            response
        }
        // signed by us, so it was a valid URL when the ad was served
        Err(_) => StatusCode::NO_CONTENT.into_response(),
    }
}

fn refused(kind: EventKind, outcome: &'static str, status: StatusCode, detail: &str) -> Response {
    metrics::counter!("servingd_events_total", "kind" => kind.as_str(), "outcome" => outcome)
        .increment(1);
    crate::http::problem_json(status, detail, Vec::new())
}
