//! The Prometheus text format, for the metrics a worker reads when it is scraped (a stream's
//! lag, its loops' progress) rather than keeps in a recorder: each family's HELP and TYPE lines,
//! then its samples.

use std::fmt::{Display, Write};

/// A family's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
}

/// A page of metrics being written.
#[derive(Debug, Default)]
pub struct Exposition(String);

impl Exposition {
    /// Starts the family `name`: its HELP text and TYPE.
    pub fn family(&mut self, name: &str, kind: Kind, help: &str) -> &mut Self {
        let kind = match kind {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
        };
        let _ = writeln!(self.0, "# HELP {name} {help}\n# TYPE {name} {kind}");
        self
    }

    /// A sample of the family last started, with `labels` (their values escaped).
    pub fn sample(
        &mut self,
        name: &str,
        labels: &[(&str, &str)],
        value: impl Display,
    ) -> &mut Self {
        self.0.push_str(name);
        if !labels.is_empty() {
            let pairs: Vec<String> = labels
                .iter()
                .map(|(key, value)| {
                    let escaped = value
                        .replace('\\', "\\\\")
                        .replace('"', "\\\"")
                        .replace('\n', "\\n");
                    format!("{key}=\"{escaped}\"")
                })
                .collect();
            let _ = write!(self.0, "{{{}}}", pairs.join(","));
        }
        let _ = writeln!(self.0, " {value}");
        self
    }

    /// The text.
    pub fn text(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_come_with_help_and_type_and_labels_are_escaped() {
        let mut page = Exposition::default();
        page.family("runs_total", Kind::Counter, "Runs.")
            .sample("runs_total", &[], 3);
        page.family("refunded_total", Kind::Counter, "Refunded.")
            .sample("refunded_total", &[("currency", "U\"SD")], "0.25");
        assert_eq!(
            page.text(),
            "# HELP runs_total Runs.\n# TYPE runs_total counter\nruns_total 3\n\
             # HELP refunded_total Refunded.\n# TYPE refunded_total counter\n\
             refunded_total{currency=\"U\\\"SD\"} 0.25\n"
        );
    }
}
