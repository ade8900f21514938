//! The load generator: OpenRTB requests from a realistic mix (sizes, countries, devices, users
//! who come back), sent at a target rate or as fast as the clients can, with throughput, fill
//! rate and latency percentiles. The `loadgen` binary and the benchmark drive it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// What to send and how.
#[derive(Debug, Clone)]
pub struct Plan {
    /// `http://host:port/openrtb2/auction`.
    pub url: String,
    /// The supply partner's credential the requests carry (`Authorization: Bearer`); without
    /// one servingd answers 401.
    pub partner_key: Option<String>,
    /// Requests per second over all clients; 0: as fast as possible.
    pub rate: f64,
    pub duration: Duration,
    pub clients: usize,
    /// Distinct users; a few of them make most requests.
    pub users: u64,
    pub seed: u64,
    /// Send `GET` without a body (a static endpoint, for comparison).
    pub get: bool,
    /// Requests no campaign can take (a 1×1 slot), to time the no-bid path.
    pub unmatched: bool,
    /// Behave like the browsers that show the ads: fetch each bid's billing URL, and follow its
    /// click URL with this probability, from the device's address (as `X-Forwarded-For`, for a
    /// servingd that trusts it). `None`: only bid requests are sent.
    pub click_share: Option<f64>,
}

/// What came back.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub sent: u64,
    pub bids: u64,
    pub no_bids: u64,
    pub errors: u64,
    /// Impression and click URLs fetched, and those that failed.
    pub events: u64,
    pub event_errors: u64,
    pub elapsed: Duration,
    /// Sorted.
    pub latencies: Vec<Duration>,
}

impl Report {
    /// Answers per second.
    pub fn throughput(&self) -> f64 {
        self.sent as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Share of answered requests that got a bid.
    pub fn fill_rate(&self) -> f64 {
        self.bids as f64 / (self.bids + self.no_bids).max(1) as f64
    }

    /// The latency at quantile `q` (0 to 1).
    pub fn latency(&self, q: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let i = ((self.latencies.len() as f64 * q) as usize).min(self.latencies.len() - 1);
        self.latencies[i]
    }

    /// One line of figures.
    pub fn summary(&self) -> String {
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        let events = if self.events > 0 {
            format!(
                ", {} impression/click URLs fetched ({} failed)",
                self.events, self.event_errors
            )
        } else {
            String::new()
        };
        format!(
            "{:.0} req/s, fill {:.1}%, errors {}, latency p50 {:.2} ms p90 {:.2} ms p99 {:.2} ms max {:.2} ms ({} requests in {:.1} s){events}",
            self.throughput(),
            self.fill_rate() * 100.0,
            self.errors,
            ms(self.latency(0.5)),
            ms(self.latency(0.9)),
            ms(self.latency(0.99)),
            ms(self.latency(1.0)),
            self.sent,
            self.elapsed.as_secs_f64()
        )
    }
}

const SIZES: [((u32, u32), u32); 4] = [
    ((300, 250), 45),
    ((728, 90), 25),
    ((320, 50), 20),
    ((160, 600), 10),
];
const COUNTRIES: [(&str, u32); 10] = [
    ("USA", 35),
    ("GBR", 12),
    ("DEU", 11),
    ("FRA", 10),
    ("ESP", 6),
    ("ITA", 6),
    ("CAN", 6),
    ("BRA", 5),
    ("JPN", 5),
    ("IND", 4),
];
/// ((OpenRTB device type, OS), share).
const DEVICES: [((u8, &str), u32); 5] = [
    ((4, "iOS"), 25),
    ((4, "Android"), 30),
    ((2, "Windows"), 20),
    ((2, "OS X"), 15),
    ((5, "iOS"), 10),
];
const CATEGORIES: [&str; 6] = ["IAB1", "IAB2", "IAB3-1", "IAB9", "IAB17", "IAB19"];

fn weighted<'a, T>(rng: &mut StdRng, items: &'a [(T, u32)]) -> &'a T {
    let total: u32 = items.iter().map(|(_, w)| w).sum();
    let mut at = rng.random_range(0..total.max(1));
    for (item, w) in items {
        if at < *w {
            return item;
        }
        at -= w;
    }
    &items[0].0
}

/// One request of the mix.
pub fn request(rng: &mut StdRng, n: u64, users: u64, unmatched: bool) -> String {
    let (w, h) = if unmatched {
        (1, 1)
    } else {
        *weighted(rng, &SIZES)
    };
    let country = weighted(rng, &COUNTRIES);
    let (devicetype, os) = *weighted(rng, &DEVICES);
    // a fifth of the users make four fifths of the requests
    let user = if rng.random_bool(0.8) {
        rng.random_range(0..(users / 5).max(1))
    } else {
        rng.random_range(0..users.max(1))
    };
    let floor = f64::from(rng.random_range(5..150u32)) / 100.0;
    let cat = CATEGORIES[rng.random_range(0..CATEGORIES.len())];
    format!(
        r#"{{"id":"lg-{n}","at":2,"tmax":120,"imp":[{{"id":"1","bidfloor":{floor},"bidfloorcur":"USD","banner":{{"w":{w},"h":{h}}}}}],"site":{{"id":"site-{site}","domain":"news{site}.example","cat":["{cat}"],"publisher":{{"id":"pub-{site}"}}}},"device":{{"ua":"Mozilla/5.0","ip":"{ip}","devicetype":{devicetype},"os":"{os}","geo":{{"country":"{country}"}}}},"user":{{"id":"user-{user}"}}}}"#,
        site = n % 50,
        ip = device_address(user),
    )
}

/// A user's device address: one of its own in 198.18.0.0/15 (the benchmarking range), as each
/// person's browser has (a few hundred addresses shared by thousands of users would look, to
/// the fraud checks, like machines firing billing URLs by the dozen a minute).
fn device_address(user: u64) -> std::net::Ipv4Addr {
    let first = u32::from(std::net::Ipv4Addr::new(198, 18, 0, 1));
    std::net::Ipv4Addr::from(first + (user % 131_000) as u32)
}

/// Runs the plan.
pub async fn run(plan: &Plan) -> anyhow::Result<Report> {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(plan.clients * 2)
        .timeout(Duration::from_secs(5))
        // a click answers with a redirect to the advertiser, which a load test does not visit
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let started = Instant::now();
    let deadline = started + plan.duration;
    let per_client_interval =
        (plan.rate > 0.0).then(|| Duration::from_secs_f64(plan.clients as f64 / plan.rate));
    let mut tasks = Vec::new();
    let plan = Arc::new(plan.clone());
    for client in 0..plan.clients {
        let (http, plan) = (http.clone(), plan.clone());
        tasks.push(tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(plan.seed.wrapping_add(client as u64));
            let mut report = Report::default();
            let mut next = Instant::now();
            let mut n = client as u64;
            // the address of the device the last request was for (its browser fetches the ad's
            // tracking URLs from there)
            let mut device_ip = String::new();
            while Instant::now() < deadline {
                if let Some(interval) = per_client_interval {
                    let now = Instant::now();
                    if next > now {
                        tokio::time::sleep(next - now).await;
                    }
                    next += interval;
                }
                let sent_at = Instant::now();
                let response = if plan.get {
                    http.get(&plan.url).send().await
                } else {
                    let body = request(&mut rng, n, plan.users, plan.unmatched);
                    device_ip = ip_of(&body).to_owned();
                    let post = http
                        .post(&plan.url)
                        .header("content-type", "application/json")
                        .body(body);
                    match &plan.partner_key {
                        Some(key) => post.bearer_auth(key),
                        None => post,
                    }
                    .send()
                    .await
                };
                n += plan.clients as u64;
                report.sent += 1;
                match response {
                    Ok(r) if r.status() == reqwest::StatusCode::NO_CONTENT => report.no_bids += 1,
                    Ok(r) if r.status().is_success() => {
                        let body = r.bytes().await;
                        if plan.get {
                            report.no_bids += 1;
                        } else {
                            report.bids += 1;
                        }
                        report.latencies.push(sent_at.elapsed());
                        if let (Some(share), Ok(body)) = (plan.click_share, body) {
                            for url in tracking_urls(&body, &mut rng, share) {
                                report.events += 1;
                                let fetched = http
                                    .get(&url)
                                    .header("x-forwarded-for", &device_ip)
                                    .header("user-agent", "Mozilla/5.0")
                                    .send()
                                    .await;
                                if !fetched.is_ok_and(|r| r.status().as_u16() < 400) {
                                    report.event_errors += 1;
                                }
                            }
                        }
                        continue;
                    }
                    _ => report.errors += 1,
                }
                report.latencies.push(sent_at.elapsed());
            }
            report
        }));
    }
    let mut total = Report::default();
    for task in tasks {
        let r = task.await?;
        total.sent += r.sent;
        total.bids += r.bids;
        total.no_bids += r.no_bids;
        total.errors += r.errors;
        total.events += r.events;
        total.event_errors += r.event_errors;
        total.latencies.extend(r.latencies);
    }
    total.elapsed = started.elapsed();
    total.latencies.sort();
    Ok(total)
}

/// The device address a request of the mix names.
fn ip_of(body: &str) -> &str {
    body.split_once(r#""ip":""#)
        .and_then(|(_, rest)| rest.split_once('"'))
        .map_or("", |(ip, _)| ip)
}

/// The URLs a browser showing the response's ads fetches: every billing URL, and each click
/// URL with probability `click_share`.
pub fn tracking_urls(body: &[u8], rng: &mut StdRng, click_share: f64) -> Vec<String> {
    let Ok(response) = serde_json::from_slice::<serde_json::Value>(body) else {
        return Vec::new();
    };
    let mut urls = Vec::new();
    let bids = response["seatbid"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["bid"].as_array().into_iter().flatten());
    for bid in bids {
        if let Some(burl) = bid["burl"].as_str() {
            urls.push(burl.to_owned());
        }
        let click = bid["adm"]
            .as_str()
            .and_then(|adm| adm.split_once("href=\""))
            .and_then(|(_, rest)| rest.split_once('"'))
            .map(|(href, _)| href.replace("&amp;", "&"));
        if let Some(click) = click
            && rng.random_bool(click_share.clamp(0.0, 1.0))
        {
            urls.push(click);
        }
    }
    urls
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mix_parses_and_repeats_users() {
        let mut rng = StdRng::seed_from_u64(1);
        let mut users = std::collections::HashMap::new();
        for n in 0..2_000 {
            let body = request(&mut rng, n, 1_000, false);
            let parsed = servingd::decision::openrtb::parse(body.as_bytes())
                .expect("parses")
                .into_owned();
            assert!(parsed.country.is_some() && parsed.device.is_some());
            *users.entry(parsed.user.expect("user")).or_insert(0) += 1;
        }
        let repeat = users.values().filter(|n| **n > 1).count();
        assert!(
            repeat > users.len() / 4,
            "users come back: {repeat} of {}",
            users.len()
        );
        let unmatched = request(&mut rng, 1, 10, true);
        assert!(unmatched.contains(r#""w":1,"h":1"#));
        assert!(ip_of(&unmatched).starts_with("198.1"));
        // each user's own address
        assert_eq!(device_address(0).to_string(), "198.18.0.1");
        assert_eq!(device_address(300).to_string(), "198.18.1.45");
        assert_ne!(device_address(250), device_address(0));
    }

    #[test]
    fn a_browser_fetches_the_billing_url_and_sometimes_clicks() {
        let body = br#"{"seatbid":[{"bid":[{"burl":"http://s/t/imp?t=a",
            "adm":"<a href=\"http://s/t/click?t=b&amp;u=https%3A%2F%2Fx\">ad</a>"}]}]}"#;
        let mut rng = StdRng::seed_from_u64(3);
        assert_eq!(
            tracking_urls(body, &mut rng, 0.0),
            vec!["http://s/t/imp?t=a"]
        );
        assert_eq!(
            tracking_urls(body, &mut rng, 1.0),
            vec![
                "http://s/t/imp?t=a",
                "http://s/t/click?t=b&u=https%3A%2F%2Fx"
            ]
        );
        assert!(tracking_urls(b"not json", &mut rng, 1.0).is_empty());
    }
}
