//! Fraud level 3, the pure part: after the fact, over the recent events of every source (an IP,
//! a device), judge each source by what a person does not do. Each signal adds its part, 1.0
//! meaning "on its own, enough"; at or over the threshold the source is convicted and all its
//! recent events are invalid traffic.
//!
//! - machine-regular timing: the spread of the gaps between a source's impressions, or between
//!   its clicks (their coefficient of variation), is far below what people show (about 1 for
//!   random arrivals);
//! - user-agent diversity: one source showing many browsers;
//! - CTR anomaly: clicks far beyond the norm for what the source was shown;
//! - click rate: clicks per minute beyond what a person makes;
//! - concentration: a large share of one campaign's clicks from this one source, where a
//!   campaign's clicks normally come from many (the campaign's click entropy is low).

use std::collections::{BTreeMap, HashMap, HashSet};

use events::EventKind;

/// One recent event, as the event table has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    pub event_id: String,
    pub kind: EventKind,
    pub campaign: uuid::Uuid,
    pub at_ms: i64,
    pub ip: String,
    pub device: Option<String>,
    pub user_agent: Option<String>,
}

/// Whose events.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Source {
    Ip(String),
    Device(String),
}

/// The thresholds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rules {
    /// Events a source needs before it is judged at all.
    pub min_events: usize,
    /// Gap spread (coefficient of variation) under which timing is machine-regular.
    pub regular_cv: f64,
    /// Distinct user agents a source may show.
    pub user_agents: usize,
    pub normal_ctr: f64,
    pub ctr_factor: f64,
    pub ctr_min_clicks: usize,
    pub clicks_per_minute: f64,
    /// Share of a campaign's clicks from one source that is suspicious when the campaign has
    /// at least `concentration_min_clicks` clicks.
    pub concentration: f64,
    pub concentration_min_clicks: usize,
    pub threshold: f64,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            min_events: 6,
            regular_cv: 0.25,
            user_agents: 2,
            normal_ctr: 0.02,
            ctr_factor: 10.0,
            ctr_min_clicks: 3,
            clicks_per_minute: 4.0,
            concentration: 0.3,
            concentration_min_clicks: 20,
            threshold: 1.0,
        }
    }
}

/// A convicted source.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub source: Source,
    pub score: f64,
    /// Signal names, strongest first (`regular_timing,user_agent_diversity`).
    pub reasons: Vec<&'static str>,
    /// The source's events in the window.
    pub events: Vec<String>,
}

impl Verdict {
    /// The reason code refunds and the blocklist carry.
    pub fn reason(&self) -> String {
        format!("invalid_traffic:{}", self.reasons.join("+"))
    }
}

/// The coefficient of variation of the gaps between sorted times; `None` with under two gaps.
pub fn gap_spread(times: &[i64]) -> Option<f64> {
    if times.len() < 3 {
        return None;
    }
    let gaps: Vec<f64> = times.windows(2).map(|w| (w[1] - w[0]) as f64).collect();
    let mean = gaps.iter().sum::<f64>() / gaps.len() as f64;
    if mean <= 0.0 {
        return Some(0.0);
    }
    let var = gaps.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / gaps.len() as f64;
    Some(var.sqrt() / mean)
}

/// Judges every source with enough events in `events`.
pub fn convict(events: &[Observed], rules: &Rules) -> Vec<Verdict> {
    let mut by_source: BTreeMap<Source, Vec<&Observed>> = BTreeMap::new();
    for e in events {
        if !e.ip.is_empty() {
            by_source
                .entry(Source::Ip(e.ip.clone()))
                .or_default()
                .push(e);
        }
        if let Some(d) = &e.device {
            by_source
                .entry(Source::Device(d.clone()))
                .or_default()
                .push(e);
        }
    }
    // each campaign's clicks by source, for the concentration signal
    let mut campaign_clicks: HashMap<uuid::Uuid, usize> = HashMap::new();
    for e in events.iter().filter(|e| e.kind == EventKind::Click) {
        *campaign_clicks.entry(e.campaign).or_default() += 1;
    }
    let mut verdicts = Vec::new();
    for (source, mut list) in by_source {
        if list.len() < rules.min_events {
            continue;
        }
        list.sort_by_key(|e| e.at_ms);
        let mut parts: Vec<(f64, &'static str)> = Vec::new();
        let times: Vec<i64> = list.iter().map(|e| e.at_ms).collect();
        // timing per kind: a bot that clicks each ad it loads has two regular beats
        let spread = [EventKind::Impression, EventKind::Click]
            .into_iter()
            .filter_map(|kind| {
                let beat: Vec<i64> = list
                    .iter()
                    .filter(|e| e.kind == kind)
                    .map(|e| e.at_ms)
                    .collect();
                (beat.len() >= rules.min_events)
                    .then(|| gap_spread(&beat))
                    .flatten()
            })
            .fold(f64::INFINITY, f64::min);
        if spread.is_finite() {
            let part = ((rules.regular_cv - spread) / rules.regular_cv * 1.5).max(0.0);
            parts.push((part, "regular_timing"));
        }
        let agents: HashSet<&str> = list
            .iter()
            .filter_map(|e| e.user_agent.as_deref())
            .collect();
        if agents.len() > rules.user_agents {
            let extra = (agents.len() - rules.user_agents) as f64;
            parts.push(((extra / 2.0).min(3.0), "user_agent_diversity"));
        }
        let clicks: Vec<&&Observed> = list.iter().filter(|e| e.kind == EventKind::Click).collect();
        let impressions = list.len() - clicks.len();
        if clicks.len() >= rules.ctr_min_clicks {
            let ctr = clicks.len() as f64 / impressions.max(1) as f64;
            parts.push((
                (ctr / (rules.normal_ctr * rules.ctr_factor)).min(3.0),
                "ctr_anomaly",
            ));
        }
        if clicks.len() >= 2 {
            let span_min = ((times[times.len() - 1] - times[0]) as f64 / 60_000.0).max(1.0);
            let rate = clicks.len() as f64 / span_min;
            parts.push(((rate / rules.clicks_per_minute).min(3.0), "click_rate"));
        }
        let mut mine: HashMap<uuid::Uuid, usize> = HashMap::new();
        for c in &clicks {
            *mine.entry(c.campaign).or_default() += 1;
        }
        let concentration = mine
            .iter()
            .filter_map(|(campaign, n)| {
                let total = *campaign_clicks.get(campaign)?;
                (total >= rules.concentration_min_clicks).then(|| *n as f64 / total as f64)
            })
            .fold(0.0, f64::max);
        if concentration > 0.0 {
            parts.push((
                (concentration / rules.concentration).min(3.0),
                "click_concentration",
            ));
        }
        parts.retain(|(p, _)| *p >= 0.5);
        parts.sort_by(|a, b| b.0.total_cmp(&a.0));
        let score: f64 = parts.iter().map(|(p, _)| p).sum();
        if score >= rules.threshold {
            verdicts.push(Verdict {
                source,
                score,
                reasons: parts.into_iter().map(|(_, r)| r).collect(),
                events: list.iter().map(|e| e.event_id.clone()).collect(),
            });
        }
    }
    verdicts
}

#[cfg(test)]
mod tests;
