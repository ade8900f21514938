//! What a running ledger writer says of itself: its backlog in the stream (entries its group
//! has not read yet, entries read and not acknowledged), what it has done, and when a step last
//! succeeded; rendered as Prometheus metrics and judged for `/healthz` (the pure part).

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use daemon::exposition::{Exposition, Kind};
use redis::aio::ConnectionLike;

use crate::writer::{BatchOutcome, Duty, LedgerWriter, Progress, WriterError};

/// One writer's status.
#[derive(Debug, Clone, PartialEq)]
pub struct WriterStatus {
    pub duty: Duty,
    pub totals: BatchOutcome,
    pub progress: Progress,
    /// Entries read by the group and not acknowledged yet, over every shard (`None` when
    /// Redis did not answer).
    pub pending: Option<u64>,
    /// Entries added to the stream that the group has not read yet, over every shard (`None`
    /// when Redis did not answer or cannot tell, after a trim past the group's position).
    pub lag: Option<u64>,
}

impl<C> LedgerWriter<C>
where
    C: ConnectionLike + Clone + Send + Sync + 'static,
{
    /// This writer's status, its backlog read from Redis now (`XINFO GROUPS` on each shard);
    /// without the backlog when Redis does not answer.
    pub async fn status(&self, redis: &mut C) -> WriterStatus {
        let (pending, lag) = match self.backlog(redis).await {
            Ok((pending, lag)) => (Some(pending), lag),
            Err(e) => {
                tracing::warn!(error = %e, "the stream's backlog could not be read");
                (None, None)
            }
        };
        WriterStatus {
            duty: self.duty(),
            totals: self.totals(),
            progress: self.progress(),
            pending,
            lag,
        }
    }

    /// This writer's status without its backlog (nothing is asked of Redis).
    pub fn local_status(&self) -> WriterStatus {
        WriterStatus {
            duty: self.duty(),
            totals: self.totals(),
            progress: self.progress(),
            pending: None,
            lag: None,
        }
    }

    /// Entries pending and entries not read yet, over every shard.
    async fn backlog(&self, redis: &mut C) -> Result<(u64, Option<u64>), WriterError> {
        let mut pending = 0;
        let mut lag = Some(0);
        for shard in self.stream().shards() {
            let key = self.stream().key(shard);
            let groups: Vec<HashMap<String, redis::Value>> = redis::cmd("XINFO")
                .arg("GROUPS")
                .arg(&key)
                .query_async(redis)
                .await?;
            let group = groups.iter().find(|g| {
                g.get("name")
                    .and_then(|n| redis::from_redis_value_ref::<String>(n).ok())
                    .is_some_and(|n| n == self.group())
            });
            let field = |name: &str| -> Option<u64> {
                group
                    .and_then(|g| g.get(name))
                    .and_then(|v| redis::from_redis_value_ref::<u64>(v).ok())
            };
            pending += field("pending").unwrap_or(0);
            lag = match (lag, field("lag")) {
                (Some(total), Some(shard)) => Some(total + shard),
                // no group yet: nothing of this shard was read, and nothing can be known
                _ => None,
            };
        }
        Ok((pending, lag))
    }
}

/// The duty as a metric label.
fn duty_label(duty: Duty) -> &'static str {
    match duty {
        Duty::Bill => "bill",
        Duty::Record => "record",
    }
}

/// The families, in the Prometheus text format: `writers`' statuses, and the rows of
/// `event_dead_letters` (entries that were not events, kept for a person to look at; `None`
/// when the database did not answer, and then no sample).
pub fn render_metrics(writers: &[WriterStatus], dead_letter_rows: Option<i64>) -> String {
    let mut out = Exposition::default();
    let mut family =
        |name: &str, kind: Kind, help: &str, value: &dyn Fn(&WriterStatus) -> Option<f64>| {
            out.family(name, kind, help);
            for w in writers.iter() {
                if let Some(v) = value(w) {
                    out.sample(name, &[("duty", duty_label(w.duty))], v);
                }
            }
        };
    let count = |n: usize| Some(n as f64);
    family(
        "ledger_writer_entries_total",
        Kind::Counter,
        "Stream entries handled and acknowledged.",
        &|w| count(w.totals.entries),
    );
    family(
        "ledger_writer_billed_total",
        Kind::Counter,
        "Spend transfers posted to the ledger.",
        &|w| count(w.totals.billed),
    );
    family(
        "ledger_writer_repeated_total",
        Kind::Counter,
        "Billed events delivered again and posted before: nothing moved.",
        &|w| count(w.totals.repeated),
    );
    family(
        "ledger_writer_unbilled_total",
        Kind::Counter,
        "Billed events the ledger refused (no budget left), recorded as unbilled.",
        &|w| count(w.totals.unbilled),
    );
    family(
        "ledger_writer_recorded_total",
        Kind::Counter,
        "Events recorded for reports and the fraud scorer.",
        &|w| count(w.totals.recorded),
    );
    family(
        "ledger_writer_dead_total",
        Kind::Counter,
        "Entries that were not events, set aside in event_dead_letters.",
        &|w| count(w.totals.dead),
    );
    family(
        "ledger_writer_unsealed_total",
        Kind::Counter,
        "Of the dead entries, those whose seal was missing or did not verify: not appended by \
         servingd, never billed.",
        &|w| count(w.totals.unsealed),
    );
    family(
        "ledger_writer_claimed_total",
        Kind::Counter,
        "Entries taken over from consumers that held them too long (they died).",
        &|w| Some(w.progress.claimed as f64),
    );
    family(
        "ledger_writer_failed_steps_total",
        Kind::Counter,
        "Steps that failed and were retried after a pause.",
        &|w| Some(w.progress.failed_steps as f64),
    );
    family(
        "ledger_writer_pending_entries",
        Kind::Gauge,
        "Entries read and not acknowledged yet (absent while Redis does not answer).",
        &|w| w.pending.map(|p| p as f64),
    );
    family(
        "ledger_writer_stream_lag_entries",
        Kind::Gauge,
        "Entries in the stream the writer has not read yet (absent when Redis cannot tell).",
        &|w| w.lag.map(|l| l as f64),
    );
    family(
        "ledger_writer_last_success_timestamp_seconds",
        Kind::Gauge,
        "When a step last succeeded, seconds since the Unix epoch.",
        &|w| {
            w.progress
                .last_success
                .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
                .map(|d| d.as_secs_f64())
        },
    );
    out.family(
        "ledger_writer_dead_letter_rows",
        Kind::Gauge,
        "Rows in event_dead_letters, waiting for a person.",
    );
    if let Some(rows) = dead_letter_rows {
        out.sample("ledger_writer_dead_letter_rows", &[], rows);
    }
    out.text()
}

/// Whether every writer is doing its work: each had a successful step within `within` of
/// `now`. The reasons name the writers that did not.
pub fn health(
    writers: &[WriterStatus],
    now: SystemTime,
    within: Duration,
) -> Result<(), Vec<String>> {
    let faults: Vec<String> = writers
        .iter()
        .filter_map(|w| {
            let age = w
                .progress
                .last_success
                .map(|t| now.duration_since(t).unwrap_or_default());
            let error = w.progress.last_error.as_deref().unwrap_or("none");
            match age {
                Some(age) if age <= within => None,
                Some(age) => Some(format!(
                    "the {} writer has not stepped for {} s (last error: {error})",
                    duty_label(w.duty),
                    age.as_secs()
                )),
                None => Some(format!(
                    "the {} writer has not stepped yet (last error: {error})",
                    duty_label(w.duty)
                )),
            }
        })
        .collect();
    if faults.is_empty() {
        Ok(())
    } else {
        Err(faults)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(duty: Duty, last_success: Option<SystemTime>) -> WriterStatus {
        WriterStatus {
            duty,
            totals: BatchOutcome {
                entries: 7,
                billed: 5,
                dead: 2,
                unsealed: 1,
                ..BatchOutcome::default()
            },
            progress: Progress {
                last_success,
                failed_steps: 2,
                last_error: Some("redis: connection refused".into()),
                claimed: 3,
            },
            pending: Some(4),
            lag: None,
        }
    }

    #[test]
    fn every_family_is_described_and_labelled_by_duty() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let text = render_metrics(&[status(Duty::Bill, Some(at))], Some(9));
        assert!(
            text.contains("ledger_writer_billed_total{duty=\"bill\"} 5\n"),
            "{text}"
        );
        assert!(text.contains("ledger_writer_claimed_total{duty=\"bill\"} 3\n"));
        assert!(text.contains("ledger_writer_unsealed_total{duty=\"bill\"} 1\n"));
        assert!(
            text.contains("ledger_writer_last_success_timestamp_seconds{duty=\"bill\"} 1000\n")
        );
        assert!(text.contains("ledger_writer_dead_letter_rows 9\n"));
        assert!(
            !text.contains("ledger_writer_stream_lag_entries{"),
            "unknown lag is absent"
        );
        let helps = text.lines().filter(|l| l.starts_with("# HELP")).count();
        let types = text.lines().filter(|l| l.starts_with("# TYPE")).count();
        assert_eq!((helps, types), (13, 13));
        let unknown = render_metrics(&[], None);
        assert!(
            !unknown
                .lines()
                .any(|l| l.starts_with("ledger_writer_dead_letter_rows")),
            "no sample when unknown"
        );
    }

    #[test]
    fn a_writer_without_a_recent_step_is_unhealthy_and_named() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let within = Duration::from_secs(60);
        let fresh = status(Duty::Bill, Some(now - Duration::from_secs(5)));
        assert_eq!(health(std::slice::from_ref(&fresh), now, within), Ok(()));
        let stale = status(Duty::Record, Some(now - Duration::from_secs(90)));
        let never = status(Duty::Bill, None);
        let faults = health(&[fresh, stale, never], now, within).expect_err("unhealthy");
        assert_eq!(faults.len(), 2);
        assert!(
            faults[0].contains("record writer has not stepped for 90 s"),
            "{faults:?}"
        );
        assert!(faults[0].contains("connection refused"));
        assert!(faults[1].contains("bill writer has not stepped yet"));
    }
}
