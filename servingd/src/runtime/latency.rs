//! Latency histograms for the request path: fixed buckets counted with one atomic add, rendered
//! in the Prometheus text format beside the recorder's metrics. Buckets (unlike the recorder's
//! per-instance quantiles) add up across servingd instances, and a record costs two atomic
//! adds instead of a timestamped sample kept until the next scrape.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the buckets, in microseconds (the last bucket, `+Inf`, is implied).
pub const BOUNDS_MICROS: [u64; 16] = [
    5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000,
    1_000_000,
];

/// One histogram: counts per bucket and the sum of what was recorded.
#[derive(Debug, Default)]
pub struct LatencyHistogram {
    /// Counts per bucket (not cumulative), the last one for everything above the bounds.
    buckets: [AtomicU64; BOUNDS_MICROS.len() + 1],
    sum_nanos: AtomicU64,
}

impl LatencyHistogram {
    /// Counts one duration.
    pub fn record(&self, elapsed: Duration) {
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        let bucket = BOUNDS_MICROS.partition_point(|bound| *bound < micros);
        self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    /// How many durations were counted.
    pub fn count(&self) -> u64 {
        self.buckets.iter().map(|b| b.load(Ordering::Relaxed)).sum()
    }

    /// Appends the histogram as `name{labels,le="..."}` bucket lines, `_sum` and `_count`
    /// (`labels` like `stage="parse"`). The `# TYPE` line is the caller's, once per name.
    pub fn render(&self, name: &str, labels: &str, out: &mut String) {
        let mut cumulative = 0u64;
        for (i, bucket) in self.buckets.iter().enumerate() {
            cumulative += bucket.load(Ordering::Relaxed);
            let le = match BOUNDS_MICROS.get(i) {
                Some(micros) => format!("{}", *micros as f64 / 1e6),
                None => "+Inf".to_owned(),
            };
            let comma = if labels.is_empty() { "" } else { "," };
            let _ = writeln!(
                out,
                "{name}_bucket{{{labels}{comma}le=\"{le}\"}} {cumulative}"
            );
        }
        let sum = self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
        let labels = if labels.is_empty() {
            String::new()
        } else {
            format!("{{{labels}}}")
        };
        let _ = writeln!(out, "{name}_sum{labels} {sum}");
        let _ = writeln!(out, "{name}_count{labels} {cumulative}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_land_in_the_first_bucket_that_holds_them() {
        let h = LatencyHistogram::default();
        for micros in [0, 5, 6, 10, 999, 1_000, 1_001, 2_000_000] {
            h.record(Duration::from_micros(micros));
        }
        let mut text = String::new();
        h.render("t_seconds", "stage=\"x\"", &mut text);
        let line = |le: &str| {
            text.lines()
                .find(|l| l.starts_with(&format!("t_seconds_bucket{{stage=\"x\",le=\"{le}\"}} ")))
                .and_then(|l| l.rsplit(' ').next())
                .and_then(|n| n.parse::<u64>().ok())
        };
        // cumulative: le 5µs holds 0 and 5; 10µs adds 6 and 10; 1ms adds 999 and 1000
        assert_eq!(line("0.000005"), Some(2));
        assert_eq!(line("0.00001"), Some(4));
        assert_eq!(line("0.001"), Some(6));
        assert_eq!(line("0.0025"), Some(7));
        assert_eq!(line("1"), Some(7));
        assert_eq!(line("+Inf"), Some(8));
        assert_eq!(h.count(), 8);
        assert!(text.contains("t_seconds_count{stage=\"x\"} 8\n"), "{text}");
        let sum_micros = 5 + 6 + 10 + 999 + 1_000 + 1_001 + 2_000_000;
        let sum = format!("t_seconds_sum{{stage=\"x\"}} {}\n", sum_micros as f64 / 1e6);
        assert!(text.contains(&sum), "{text}");
    }
}
