//! What servingd's `/metrics` says of itself, read as Prometheus reads it: every `servingd_*`
//! family has HELP text and a TYPE, and the counters an alert watches exist at zero before
//! anything happened.

use std::collections::{BTreeMap, BTreeSet};

use sqlx::PgPool;

use crate::helpers::Platform;

/// Per family: (has HELP, has TYPE); and the names of the samples.
fn families(text: &str) -> (BTreeMap<String, (bool, bool)>, BTreeSet<String>) {
    let mut families: BTreeMap<String, (bool, bool)> = BTreeMap::new();
    let mut samples = BTreeSet::new();
    for line in text.lines() {
        let mut words = line.split_whitespace();
        match (words.next(), words.next(), words.next()) {
            (Some("#"), Some("HELP"), Some(name)) => {
                families.entry(name.to_owned()).or_default().0 = true;
            }
            (Some("#"), Some("TYPE"), Some(name)) => {
                families.entry(name.to_owned()).or_default().1 = true;
            }
            (Some(sample), Some(_), _) if !sample.starts_with('#') => {
                let name = sample.split('{').next().unwrap_or(sample);
                samples.insert(name.to_owned());
            }
            _ => {}
        }
    }
    (families, samples)
}

#[sqlx::test(migrator = "ledger::MIGRATOR")]
async fn every_family_says_what_it_is_and_alerts_find_their_counters(pool: PgPool) {
    let mut platform = Platform::start(pool).await;
    let text = platform.metrics().await;
    let (families, samples) = families(&text);
    for sample in samples.iter().filter(|s| s.starts_with("servingd_")) {
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| sample.strip_suffix(suffix))
            .filter(|base| families.contains_key(*base))
            .unwrap_or(sample);
        assert_eq!(
            families.get(family),
            Some(&(true, true)),
            "{family} has HELP and TYPE:\n{text}"
        );
    }
    for counter in [
        "servingd_capped_total",
        "servingd_cap_unavailable_total",
        "servingd_feed_errors_total",
        "servingd_no_budget_total",
        "servingd_blocked_total",
    ] {
        assert!(samples.contains(counter), "{counter} at zero:\n{text}");
    }
    platform.stop().await;
}
