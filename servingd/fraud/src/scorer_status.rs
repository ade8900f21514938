//! What a running fraud scorer says of itself: what its runs have done so far and when one last
//! succeeded, rendered as Prometheus metrics and judged for `/healthz` (pure: the binary keeps
//! the [`ScorerProgress`] and serves it).

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use daemon::exposition::{Exposition, Kind};
use ledger::Currency;
use rust_decimal::Decimal;

use crate::scorer::ScoreOutcome;

/// Everything the scorer's runs came to since it started.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ScorerProgress {
    pub runs: u64,
    pub failed_runs: u64,
    pub last_success: Option<SystemTime>,
    pub last_error: Option<String>,
    pub events_judged: u64,
    pub sources_convicted: u64,
    pub events_invalidated: u64,
    pub refunds: u64,
    /// Refunded, in each currency (never added up across them).
    pub refunded: BTreeMap<Currency, Decimal>,
}

impl ScorerProgress {
    /// Adds a run that ended at `at`.
    pub fn record(&mut self, run: Result<&ScoreOutcome, String>, at: SystemTime) {
        self.runs += 1;
        match run {
            Ok(outcome) => {
                self.last_success = Some(at);
                self.events_judged += outcome.events as u64;
                self.sources_convicted += outcome.sources as u64;
                self.events_invalidated += outcome.invalidated;
                self.refunds += outcome.refunds as u64;
                for (currency, amount) in &outcome.refunded {
                    *self.refunded.entry(*currency).or_default() += amount;
                }
            }
            Err(e) => {
                self.failed_runs += 1;
                self.last_error = Some(e);
            }
        }
    }

    /// The families, in the Prometheus text format.
    pub fn render_metrics(&self) -> String {
        let mut out = Exposition::default();
        let mut one = |name: &str, kind: Kind, help: &str, value: String| {
            out.family(name, kind, help).sample(name, &[], value);
        };
        one(
            "fraud_scorer_runs_total",
            Kind::Counter,
            "Scoring runs, failed ones included.",
            self.runs.to_string(),
        );
        one(
            "fraud_scorer_failed_runs_total",
            Kind::Counter,
            "Scoring runs that failed (retried at the next tick).",
            self.failed_runs.to_string(),
        );
        one(
            "fraud_scorer_events_judged_total",
            Kind::Counter,
            "Events judged, over every run (an event is judged by each run whose window holds it).",
            self.events_judged.to_string(),
        );
        one(
            "fraud_scorer_sources_convicted_total",
            Kind::Counter,
            "Sources (IPs, devices) convicted and blocklisted.",
            self.sources_convicted.to_string(),
        );
        one(
            "fraud_scorer_events_invalidated_total",
            Kind::Counter,
            "Events newly marked invalid.",
            self.events_invalidated.to_string(),
        );
        one(
            "fraud_scorer_refunds_total",
            Kind::Counter,
            "Refund transfers posted.",
            self.refunds.to_string(),
        );
        let last = self
            .last_success
            .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
            .map_or_else(|| "0".to_owned(), |d| d.as_secs_f64().to_string());
        one(
            "fraud_scorer_last_success_timestamp_seconds",
            Kind::Gauge,
            "When a run last succeeded, seconds since the Unix epoch (0: none yet).",
            last,
        );
        out.family(
            "fraud_scorer_refunded_total",
            Kind::Counter,
            "Refunded to advertisers, by currency, in units of the currency.",
        );
        for (currency, amount) in &self.refunded {
            out.sample(
                "fraud_scorer_refunded_total",
                &[("currency", currency.code())],
                amount,
            );
        }
        out.text()
    }

    /// `Ok` while runs succeed: the last success is within `within` of `now` (or the first run
    /// has not had `within` to finish since `started`).
    pub fn health(
        &self,
        started: SystemTime,
        now: SystemTime,
        within: Duration,
    ) -> Result<(), Vec<String>> {
        let since = self.last_success.unwrap_or(started);
        let age = now.duration_since(since).unwrap_or_default();
        if age <= within {
            return Ok(());
        }
        let error = self.last_error.as_deref().unwrap_or("none");
        Err(vec![format!(
            "no scoring run has succeeded for {} s (last error: {error})",
            age.as_secs()
        )])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd() -> Currency {
        Currency::parse("USD").expect("USD")
    }

    fn outcome(refunded: &str) -> ScoreOutcome {
        ScoreOutcome {
            events: 10,
            sources: 1,
            invalidated: 4,
            refunds: 4,
            refunded: [(usd(), refunded.parse().expect("amount"))].into(),
        }
    }

    #[test]
    fn runs_add_up_and_money_keeps_its_currency() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(500);
        let mut progress = ScorerProgress::default();
        progress.record(Ok(&outcome("0.001250")), at);
        progress.record(Err("database down".into()), at);
        progress.record(Ok(&outcome("0.000750")), at);
        let text = progress.render_metrics();
        assert!(text.contains("fraud_scorer_runs_total 3\n"), "{text}");
        assert!(text.contains("fraud_scorer_failed_runs_total 1\n"));
        assert!(text.contains("fraud_scorer_refunds_total 8\n"));
        assert!(text.contains("fraud_scorer_refunded_total{currency=\"USD\"} 0.002000\n"));
        assert!(text.contains("fraud_scorer_last_success_timestamp_seconds 500\n"));
        let helps = text.lines().filter(|l| l.starts_with("# HELP")).count();
        let types = text.lines().filter(|l| l.starts_with("# TYPE")).count();
        assert_eq!((helps, types), (8, 8));
    }

    #[test]
    fn a_scorer_without_a_recent_success_is_unhealthy() {
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let within = Duration::from_secs(180);
        let mut progress = ScorerProgress::default();
        assert_eq!(
            progress.health(start, start + Duration::from_secs(10), within),
            Ok(())
        );
        progress.record(Err("database down".into()), start + Duration::from_secs(5));
        let faults = progress
            .health(start, start + Duration::from_secs(200), within)
            .expect_err("stalled");
        assert!(
            faults[0].contains("200 s") && faults[0].contains("database down"),
            "{faults:?}"
        );
        progress.record(Ok(&outcome("0")), start + Duration::from_secs(150));
        assert_eq!(
            progress.health(start, start + Duration::from_secs(200), within),
            Ok(())
        );
    }
}
