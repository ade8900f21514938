//! Even pacing over synthetic days: a million requests a day along a diurnal curve, three times
//! the demand the budget can pay for, auctions won at random prices. The controller must spend
//! each hour's share of the budget within 5%, and the whole budget within 2% by the day's end.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use servingd::decision::pacing::{Counted, HOURS, HourProfile, Pacer, PacerRules, TrafficLearner};

const REQUESTS_PER_DAY: f64 = 1_000_000.0;
const WIN_RATE: f64 = 0.6;
/// $400 a day; full throttle would spend about $1,200.
const BUDGET_MICROS: i64 = 400_000_000;
const STEPS_PER_HOUR: usize = 60;
/// The most one impression costs: a clearing price of 3.00 per thousand.
const MAX_PRICE: i64 = 3_000;

struct Day {
    hourly_spend: [i64; HOURS],
    spent: i64,
    requests_per_hour: [u64; HOURS],
}

/// One day of traffic following `truth`, paced by `profile`.
fn simulate_day(truth: &HourProfile, profile: &HourProfile, rng: &mut StdRng) -> Day {
    let mut pacer = Pacer::start_day(BUDGET_MICROS, 0.0, 0, MAX_PRICE, PacerRules::default());
    // as the pacing board does: a first step at once, from what is known of all requests
    pacer.step(profile, 0.0, Counted::default(), Some(REQUESTS_PER_DAY));
    let mut day = Day {
        hourly_spend: [0; HOURS],
        spent: 0,
        requests_per_hour: [0; HOURS],
    };
    let steps = HOURS * STEPS_PER_HOUR;
    for step in 0..steps {
        let hour = step / STEPS_PER_HOUR;
        let expected = REQUESTS_PER_DAY * truth.hour(hour) / STEPS_PER_HOUR as f64;
        // traffic is noisy: ±10% around the curve, minute by minute
        let requests = (expected * rng.random_range(0.9..1.1)).round() as u64;
        day.requests_per_hour[hour] += requests;
        let probability = pacer.probability();
        let mut entries = 0;
        for _ in 0..requests {
            if !rng.random_bool(probability.clamp(0.0, 1.0)) {
                continue;
            }
            entries += 1;
            if !rng.random_bool(WIN_RATE) {
                continue;
            }
            // a clearing price of 1.00 to 3.00 per thousand: one impression costs a thousandth
            let cost = rng.random_range(1_000..=MAX_PRICE);
            if day.spent + cost > BUDGET_MICROS {
                continue; // the budget controller refuses it
            }
            day.spent += cost;
            day.hourly_spend[hour] += cost;
        }
        let fraction = (step + 1) as f64 / steps as f64;
        // every request is one the campaign could enter
        let counted = Counted {
            opportunities: requests,
            entries,
            spent_today: day.spent,
        };
        pacer.step(profile, fraction, counted, Some(REQUESTS_PER_DAY));
    }
    day
}

fn assert_on_target(day: &Day, truth: &HourProfile) {
    let worst = (0..HOURS)
        .map(|h| {
            let target = BUDGET_MICROS as f64 * truth.hour(h);
            (day.hourly_spend[h] as f64 - target) / target
        })
        .fold(0.0f64, |w, e| if e.abs() > w.abs() { e } else { w });
    eprintln!(
        "worst hour {:+.2}% off target; spent {:.2}% of the budget",
        worst * 100.0,
        day.spent as f64 * 100.0 / BUDGET_MICROS as f64
    );
    for h in 0..HOURS {
        let target = BUDGET_MICROS as f64 * truth.hour(h);
        let error = (day.hourly_spend[h] as f64 - target) / target;
        assert!(
            error.abs() <= 0.05,
            "hour {h}: spent {} against a target of {target:.0} ({:+.1}%)",
            day.hourly_spend[h],
            error * 100.0
        );
    }
    let left = BUDGET_MICROS - day.spent;
    assert!(
        left >= 0 && (left as f64) <= 0.02 * BUDGET_MICROS as f64,
        "spent {} of {BUDGET_MICROS}",
        day.spent
    );
}

#[test]
fn a_day_on_the_default_curve_spends_each_hour_its_share() {
    let truth = HourProfile::diurnal();
    let mut rng = StdRng::seed_from_u64(7);
    let day = simulate_day(&truth, &truth, &mut rng);
    assert_on_target(&day, &truth);
}

#[test]
fn a_different_curve_is_learned_within_days() {
    // a site busiest at lunchtime and quiet in the evening: not the default curve
    let mut weights = [0.0; HOURS];
    for (h, w) in weights.iter_mut().enumerate() {
        let from_noon = (h as f64 - 12.5).abs();
        *w = 1.0 + 8.0 * (-from_noon * from_noon / 18.0).exp();
    }
    let truth = HourProfile::from_weights(&weights).expect("profile");
    let mut learner = TrafficLearner::new(0.7);
    let mut rng = StdRng::seed_from_u64(11);
    let mut day = simulate_day(&truth, &learner.profile(), &mut rng);
    let first_day_worst = (0..HOURS)
        .map(|h| {
            let target = BUDGET_MICROS as f64 * truth.hour(h);
            ((day.hourly_spend[h] as f64 - target) / target).abs()
        })
        .fold(0.0, f64::max);
    assert!(
        first_day_worst > 0.05,
        "the default curve should not fit this site ({first_day_worst})"
    );
    for _ in 0..4 {
        for h in 0..HOURS {
            learner.observe(h, day.requests_per_hour[h]);
        }
        learner.end_day();
        day = simulate_day(&truth, &learner.profile(), &mut rng);
    }
    assert_on_target(&day, &truth);
}
