use super::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use uuid::Uuid;

const WINDOW_MS: i64 = 10 * 60_000;

fn observed(
    n: &mut u64,
    kind: EventKind,
    campaign: u128,
    at_ms: i64,
    ip: &str,
    ua: &str,
) -> Observed {
    *n += 1;
    Observed {
        event_id: format!("ev-{n}"),
        kind,
        campaign: Uuid::from_u128(campaign),
        at_ms,
        ip: ip.to_owned(),
        device: None,
        user_agent: Some(ua.to_owned()),
    }
}

/// People: random arrivals (exponential gaps, 20 s on average), one or two browsers, a click on
/// about one ad in fifty, a few seconds after seeing it.
fn people(rng: &mut StdRng, n: &mut u64, count: usize) -> Vec<Observed> {
    let mut out = Vec::new();
    for p in 0..count {
        let ip = format!("10.{}.{}.{}", p / 65_536, (p / 256) % 256, p % 256);
        let browsers = if rng.random_bool(0.1) { 2 } else { 1 };
        let mut at = rng.random_range(0..60_000_i64);
        let seen = rng.random_range(1..=30);
        for _ in 0..seen {
            let ua = format!("Mozilla/5.0 person-{p}-{}", rng.random_range(0..browsers));
            let campaign = rng.random_range(0..50_u128);
            out.push(observed(n, EventKind::Impression, campaign, at, &ip, &ua));
            if rng.random_bool(0.02) {
                let later = at + rng.random_range(1_000..6_000);
                out.push(observed(n, EventKind::Click, campaign, later, &ip, &ua));
            }
            let u: f64 = rng.random_range(1e-9..1.0);
            at += (-u.ln() * 20_000.0) as i64;
            if at > WINDOW_MS {
                break;
            }
        }
    }
    out
}

/// A botnet: every bot on its own address, loading an ad every 15 s give or take 10%, clicking
/// each one, and rotating its user agent among twenty.
fn bots(rng: &mut StdRng, n: &mut u64, count: usize) -> Vec<Observed> {
    let mut out = Vec::new();
    for b in 0..count {
        let ip = format!("192.0.2.{}", b % 250);
        let ip = format!("{ip}.{}", b / 250);
        let mut at = rng.random_range(0..15_000_i64);
        while at < WINDOW_MS {
            let ua = format!("Mozilla/5.0 bot-agent-{}", rng.random_range(0..20));
            let campaign = 100 + rng.random_range(0..3_u128);
            out.push(observed(n, EventKind::Impression, campaign, at, &ip, &ua));
            out.push(observed(n, EventKind::Click, campaign, at + 800, &ip, &ua));
            at += 15_000 + rng.random_range(-1_500..1_500);
        }
    }
    out
}

#[test]
fn gap_spread_is_zero_for_a_metronome_and_about_one_for_random_arrivals() {
    assert_eq!(gap_spread(&[0, 10, 20, 30]), Some(0.0));
    assert_eq!(gap_spread(&[0, 10]), None);
    let mut rng = StdRng::seed_from_u64(5);
    let mut t = 0;
    let times: Vec<i64> = (0..2000)
        .map(|_| {
            let u: f64 = rng.random_range(1e-9..1.0);
            t += (-u.ln() * 1000.0) as i64;
            t
        })
        .collect();
    let cv = gap_spread(&times).expect("spread");
    assert!((0.9..1.1).contains(&cv), "{cv}");
}

/// The bound: the botnet caught with recall >= 95%, people convicted <= 1%.
#[test]
fn a_synthetic_botnet_is_caught_and_people_are_left_alone() {
    let mut rng = StdRng::seed_from_u64(2026);
    let mut n = 0;
    let humans = people(&mut rng, &mut n, 5_000);
    let botnet = bots(&mut rng, &mut n, 200);
    let mut all = humans.clone();
    all.extend(botnet.iter().cloned());
    let verdicts = convict(&all, &Rules::default());
    let convicted: HashSet<&str> = verdicts
        .iter()
        .flat_map(|v| v.events.iter().map(String::as_str))
        .collect();

    let bot_events = botnet.len();
    let caught = botnet
        .iter()
        .filter(|e| convicted.contains(e.event_id.as_str()))
        .count();
    let recall = caught as f64 / bot_events as f64;
    assert!(recall >= 0.95, "recall {recall} ({caught} of {bot_events})");

    let judged: HashSet<&str> = humans.iter().map(|e| e.ip.as_str()).collect();
    let wronged: HashSet<&str> = humans
        .iter()
        .filter(|e| convicted.contains(e.event_id.as_str()))
        .map(|e| e.ip.as_str())
        .collect();
    let false_positives = wronged.len() as f64 / judged.len() as f64;
    assert!(
        false_positives <= 0.01,
        "{} of {} people convicted",
        wronged.len(),
        judged.len()
    );
    let wrong_events = humans
        .iter()
        .filter(|e| convicted.contains(e.event_id.as_str()))
        .count();
    assert!(
        wrong_events as f64 / humans.len() as f64 <= 0.01,
        "{wrong_events} of {} human events",
        humans.len()
    );
    println!(
        "botnet: recall {:.2}% of {bot_events} bot events; people: {} of {} convicted ({:.3}%)",
        recall * 100.0,
        wronged.len(),
        judged.len(),
        false_positives * 100.0
    );
    let bot = verdicts
        .iter()
        .find(|v| matches!(&v.source, Source::Ip(ip) if ip.starts_with("192.0.2.")))
        .expect("a bot");
    assert!(bot.reasons.contains(&"regular_timing"), "{bot:?}");
    assert!(bot.reason().starts_with("invalid_traffic:"));
}

#[test]
fn a_source_with_few_events_is_not_judged() {
    let mut n = 0;
    let few: Vec<Observed> = (0..5)
        .map(|i| {
            observed(
                &mut n,
                EventKind::Click,
                1,
                i * 1000,
                "192.0.2.1",
                &format!("ua-{i}"),
            )
        })
        .collect();
    assert!(convict(&few, &Rules::default()).is_empty());
}

#[test]
fn one_address_taking_much_of_a_campaigns_clicks_is_convicted() {
    let mut n = 0;
    let mut events = Vec::new();
    // 30 people click campaign 7 once each, over a long time
    for p in 0..30 {
        let ip = format!("10.0.0.{p}");
        events.push(observed(
            &mut n,
            EventKind::Impression,
            7,
            p * 17_000,
            &ip,
            "Mozilla/5.0",
        ));
        events.push(observed(
            &mut n,
            EventKind::Click,
            7,
            p * 17_000 + 4_000,
            &ip,
            "Mozilla/5.0",
        ));
    }
    // one address clicks it about 20 times, at random, after seeing it 400 times (a CTR of 5%)
    let mut rng = StdRng::seed_from_u64(9);
    let mut at = 0;
    for i in 0..420 {
        at += rng.random_range(500..9_000);
        let kind = if i == 0 || rng.random_bool(0.05) {
            EventKind::Click
        } else {
            EventKind::Impression
        };
        events.push(observed(
            &mut n,
            kind,
            7,
            at,
            "198.51.100.99",
            "Mozilla/5.0",
        ));
    }
    let verdicts = convict(&events, &Rules::default());
    assert_eq!(verdicts.len(), 1, "{verdicts:?}");
    assert_eq!(verdicts[0].source, Source::Ip("198.51.100.99".into()));
    assert_eq!(verdicts[0].reasons, vec!["click_concentration"]);
}
