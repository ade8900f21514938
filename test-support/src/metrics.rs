//! Reading a service's `/metrics` as Prometheus reads it (the text format, through
//! `prometheus-parse`), and the checks every service's exposition is held to: each family has
//! HELP text and a TYPE.

use prometheus_parse::{Scrape, Value};

/// One scrape of a `/metrics` page.
pub struct Scraped {
    pub scrape: Scrape,
    text: String,
}

impl Scraped {
    /// Parses `text`; panics when a line is not in the text format.
    pub fn parse(text: &str) -> Scraped {
        let scrape = Scrape::parse(text.lines().map(|l| Ok(l.to_owned())))
            .unwrap_or_else(|e| panic!("not the Prometheus text format: {e}\n{text}"));
        Scraped {
            scrape,
            text: text.to_owned(),
        }
    }

    /// The family a sample belongs to: a histogram's `_sum` and `_count` are its own.
    fn family<'a>(&self, metric: &'a str) -> &'a str {
        ["_sum", "_count"]
            .iter()
            .find_map(|suffix| metric.strip_suffix(suffix))
            .filter(|base| {
                self.scrape.samples.iter().any(|s| {
                    s.metric == *base && matches!(s.value, Value::Histogram(_) | Value::Summary(_))
                })
            })
            .unwrap_or(metric)
    }

    /// The families whose name starts with `prefix`, each once.
    pub fn families(&self, prefix: &str) -> Vec<String> {
        let mut families: Vec<String> = self
            .scrape
            .samples
            .iter()
            .filter(|s| s.metric.starts_with(prefix))
            .map(|s| self.family(&s.metric).to_owned())
            .collect();
        families.sort();
        families.dedup();
        families
    }

    /// Panics naming every family starting with `prefix` that lacks HELP text or a TYPE.
    pub fn assert_described(&self, prefix: &str) {
        let mut faults = Vec::new();
        for sample in self
            .scrape
            .samples
            .iter()
            .filter(|s| s.metric.starts_with(prefix))
        {
            let family = self.family(&sample.metric);
            if self.help(family).is_none_or(|h| h.trim().is_empty()) {
                faults.push(format!("{family}: no HELP"));
            }
            if matches!(sample.value, Value::Untyped(_)) && family == sample.metric {
                faults.push(format!("{family}: no TYPE"));
            }
        }
        faults.sort();
        faults.dedup();
        assert!(faults.is_empty(), "{}\n{}", faults.join("\n"), self.text);
    }

    /// The HELP text of `family`.
    pub fn help(&self, family: &str) -> Option<&str> {
        self.scrape.docs.get(family).map(String::as_str)
    }

    /// The value of the counter, gauge or untyped sample `metric` with exactly these labels.
    pub fn value(&self, metric: &str, labels: &[(&str, &str)]) -> Option<f64> {
        self.scrape
            .samples
            .iter()
            .filter(|s| s.metric == metric)
            .filter(|s| {
                s.labels.len() == labels.len()
                    && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v))
            })
            .find_map(|s| match s.value {
                Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => Some(v),
                _ => None,
            })
    }

    /// The bucket bounds of histogram `family` (any label set), `+Inf` last.
    pub fn buckets(&self, family: &str) -> Vec<f64> {
        self.scrape
            .samples
            .iter()
            .filter(|s| s.metric == family)
            .find_map(|s| match &s.value {
                Value::Histogram(counts) => Some(counts.iter().map(|c| c.less_than).collect()),
                _ => None,
            })
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "\
# HELP a_total Things done.
# TYPE a_total counter
a_total{kind=\"x\"} 3
# HELP d_seconds Time taken.
# TYPE d_seconds histogram
d_seconds_bucket{le=\"0.1\"} 1
d_seconds_bucket{le=\"+Inf\"} 2
d_seconds_sum 0.3
d_seconds_count 2
b_total 1
";

    #[test]
    fn a_family_without_help_or_type_is_named() {
        let scraped = Scraped::parse(TEXT);
        assert_eq!(scraped.families(""), ["a_total", "b_total", "d_seconds"]);
        assert_eq!(scraped.value("a_total", &[("kind", "x")]), Some(3.0));
        assert_eq!(scraped.buckets("d_seconds"), [0.1, f64::INFINITY]);
        scraped.assert_described("a_");
        scraped.assert_described("d_");
        let fault = std::panic::catch_unwind(|| scraped.assert_described("b_"))
            .expect_err("b_total has neither");
        let message = fault.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(message.contains("b_total: no HELP"), "{message}");
        assert!(message.contains("b_total: no TYPE"), "{message}");
    }
}
