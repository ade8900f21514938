//! Fraud level 2, the pure part: what a source's recent activity says about one of its events.
//! The tracking endpoint counts each event in per-IP and per-device windows in Redis; the
//! counts come back as a [`Window`], and [`assess`] turns them (and whether the event comes from
//! the network the ad was served to) into a score. At or over the threshold the event is
//! invalid: counted as such, never billed.
//!
//! Each signal adds its part, 1.0 meaning "on its own, enough":
//! - click rate: clicks in the last minute over the most a person makes;
//! - CTR anomaly: the source's click-through rate over ten minutes against the norm, once it
//!   has clicked a few times (a person clicks a few ads in a hundred);
//! - user-agent switching: distinct user agents in ten minutes beyond what one household has;
//! - geo mismatch: the event comes from another network than the bid request named (a
//!   moderate signal: mobile users move between networks);
//! - impression rate: billing URLs fired in the last minute (a sliding minute) over the most
//!   one person's screen shows, with or without a device id. The supply partner's own servers
//!   (its `burl_networks`) fire every billing URL of its traffic and are not counted.

use std::net::IpAddr;

use crate::bloom::hash;

const SEED: u64 = 0x4528_21E6_38D0_1377;

/// A hash of a device id for the fraud windows (never 0, which means "none").
pub fn device_hash(device: &str) -> u64 {
    hash(SEED, &[b"d", device.trim().as_bytes()]).max(1)
}

/// A hash of an address's network: its /24 (IPv4) or /48 (IPv6), never 0.
pub fn network_hash(ip: IpAddr) -> u64 {
    match ip.to_canonical() {
        IpAddr::V4(v4) => hash(SEED, &[b"4", &v4.octets()[..3]]).max(1),
        IpAddr::V6(v6) => hash(SEED, &[b"6", &v6.octets()[..6]]).max(1),
    }
}

/// One source's recent activity, this event included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Window {
    pub clicks_last_minute: u32,
    /// Impressions over the sliding last minute ([`sliding_minute`]).
    pub impressions_last_minute: u32,
    pub clicks: u32,
    pub impressions: u32,
    pub user_agents: u32,
}

/// The thresholds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rules {
    /// Most clicks a person makes in a minute.
    pub clicks_per_minute: u32,
    /// A normal click-through rate, and how many times it a source may reach.
    pub normal_ctr: f64,
    pub ctr_factor: f64,
    /// Clicks before the CTR is judged at all.
    pub ctr_min_clicks: u32,
    /// Most user agents one source shows in ten minutes.
    pub user_agents: u32,
    /// Most impressions (billing URLs) one source fires in a minute.
    pub impressions_per_minute: u32,
    pub geo_mismatch: f64,
    /// Score at or over which an event is invalid.
    pub threshold: f64,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            clicks_per_minute: 6,
            normal_ctr: 0.02,
            ctr_factor: 10.0,
            ctr_min_clicks: 4,
            user_agents: 3,
            impressions_per_minute: 60,
            geo_mismatch: 0.5,
            threshold: 1.0,
        }
    }
}

/// Why an event scored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    ClickRate,
    CtrAnomaly,
    UserAgentSwitching,
    GeoMismatch,
    ImpressionRate,
}

impl Signal {
    pub fn as_str(self) -> &'static str {
        match self {
            Signal::ClickRate => "click_rate",
            Signal::CtrAnomaly => "ctr_anomaly",
            Signal::UserAgentSwitching => "user_agent_switching",
            Signal::GeoMismatch => "geo_mismatch",
            Signal::ImpressionRate => "impression_rate",
        }
    }
}

/// What the checks found.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    pub score: f64,
    /// The signals that contributed, strongest first.
    pub signals: Vec<Signal>,
    pub invalid: bool,
}

impl Assessment {
    /// The reasons as the event stream carries them (`click_rate,geo_mismatch`).
    pub fn reasons(&self) -> String {
        self.signals
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// The events of a sliding last minute from two fixed ones: all of this minute's, and of the
/// previous minute's the share the sliding minute still covers (`into_minute_ms` is how far this
/// minute has gone), rounded up.
pub fn sliding_minute(this_minute: u32, previous_minute: u32, into_minute_ms: i64) -> u32 {
    let left = 60_000 - into_minute_ms.clamp(0, 60_000);
    let carried = (i64::from(previous_minute) * left + 59_999) / 60_000;
    this_minute.saturating_add(u32::try_from(carried).unwrap_or(u32::MAX))
}

/// Scores an event from its sources' windows (the worst of them) and the network check.
pub fn assess(windows: &[Window], geo_mismatch: bool, rules: &Rules) -> Assessment {
    let mut parts: Vec<(f64, Signal)> = Vec::new();
    let worst = |f: &dyn Fn(&Window) -> f64| windows.iter().map(f).fold(0.0, f64::max);
    let click_rate =
        worst(&|w| f64::from(w.clicks_last_minute) / f64::from(rules.clicks_per_minute.max(1)));
    parts.push((click_rate.min(3.0), Signal::ClickRate));
    let impression_rate = worst(&|w| {
        f64::from(w.impressions_last_minute) / f64::from(rules.impressions_per_minute.max(1))
    });
    parts.push((impression_rate.min(3.0), Signal::ImpressionRate));
    let ctr = worst(&|w| {
        if w.clicks < rules.ctr_min_clicks {
            return 0.0;
        }
        let ctr = f64::from(w.clicks) / f64::from(w.impressions.max(1));
        ctr / (rules.normal_ctr * rules.ctr_factor)
    });
    parts.push((ctr.min(3.0), Signal::CtrAnomaly));
    let agents = worst(&|w| {
        let extra = f64::from(w.user_agents.saturating_sub(1));
        extra / f64::from(rules.user_agents.max(2) - 1)
    });
    parts.push((agents.min(3.0), Signal::UserAgentSwitching));
    if geo_mismatch {
        parts.push((rules.geo_mismatch, Signal::GeoMismatch));
    }
    // a signal counts once it is at least half way to "enough" on its own
    parts.retain(|(p, _)| *p >= 0.5);
    parts.sort_by(|a, b| b.0.total_cmp(&a.0));
    let score: f64 = parts.iter().map(|(p, _)| p).sum();
    Assessment {
        score,
        signals: parts.into_iter().map(|(_, s)| s).collect(),
        invalid: score >= rules.threshold,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person() -> Window {
        Window {
            clicks_last_minute: 1,
            impressions_last_minute: 4,
            clicks: 1,
            impressions: 40,
            user_agents: 1,
        }
    }

    #[test]
    fn a_person_is_valid() {
        let a = assess(&[person()], false, &Rules::default());
        assert!(!a.invalid, "{a:?}");
        assert!(a.signals.is_empty());
        // moving between networks alone is not enough
        let moved = assess(&[person()], true, &Rules::default());
        assert!(!moved.invalid);
        assert_eq!(moved.signals, vec![Signal::GeoMismatch]);
    }

    #[test]
    fn a_click_burst_is_invalid() {
        let w = Window {
            clicks_last_minute: 8,
            ..person()
        };
        let a = assess(&[w], false, &Rules::default());
        assert!(a.invalid);
        assert_eq!(a.signals, vec![Signal::ClickRate]);
        assert_eq!(a.reasons(), "click_rate");
    }

    #[test]
    fn a_ctr_far_above_the_norm_is_invalid_once_there_are_enough_clicks() {
        let clicky = Window {
            clicks_last_minute: 1,
            impressions_last_minute: 10,
            clicks: 5,
            impressions: 10,
            user_agents: 1,
        };
        assert!(assess(&[clicky], false, &Rules::default()).invalid);
        let early = Window {
            clicks: 2,
            impressions: 2,
            ..clicky
        };
        assert!(!assess(&[early], false, &Rules::default()).invalid);
    }

    #[test]
    fn rotating_user_agents_and_a_foreign_network_add_up() {
        let rotating = Window {
            user_agents: 2,
            ..person()
        };
        let a = assess(&[rotating], true, &Rules::default());
        assert!(a.invalid, "{a:?}");
        assert_eq!(
            a.signals,
            vec![Signal::UserAgentSwitching, Signal::GeoMismatch]
        );
        let many = Window {
            user_agents: 6,
            ..person()
        };
        assert!(assess(&[many], false, &Rules::default()).invalid);
    }

    #[test]
    fn a_source_firing_billing_urls_faster_than_a_screen_shows_ads_is_invalid() {
        let busy = Window {
            impressions_last_minute: 60,
            ..person()
        };
        let a = assess(&[busy], false, &Rules::default());
        assert!(a.invalid, "{a:?}");
        assert_eq!(a.signals, vec![Signal::ImpressionRate]);
        assert_eq!(a.reasons(), "impression_rate");
        // half the rate counts, but alone is not enough
        let brisk = Window {
            impressions_last_minute: 30,
            ..person()
        };
        let a = assess(&[brisk], false, &Rules::default());
        assert!(!a.invalid);
        assert_eq!(a.signals, vec![Signal::ImpressionRate]);
        // with another network it is
        assert!(assess(&[brisk], true, &Rules::default()).invalid);
    }

    #[test]
    fn the_sliding_minute_carries_what_the_previous_one_still_covers() {
        assert_eq!(sliding_minute(10, 40, 0), 50);
        assert_eq!(sliding_minute(10, 40, 30_000), 30);
        assert_eq!(sliding_minute(10, 40, 59_999), 11);
        assert_eq!(sliding_minute(10, 40, 60_000), 10);
        assert_eq!(sliding_minute(0, 0, 12_345), 0);
        assert_eq!(sliding_minute(u32::MAX, u32::MAX, 0), u32::MAX);
    }

    #[test]
    fn the_worst_source_decides() {
        let bad_device = Window {
            clicks_last_minute: 9,
            ..person()
        };
        assert!(assess(&[person(), bad_device], false, &Rules::default()).invalid);
    }

    #[test]
    fn networks_group_neighbours() {
        let a: IpAddr = "203.0.113.9".parse().expect("ip");
        let b: IpAddr = "203.0.113.200".parse().expect("ip");
        let c: IpAddr = "203.0.114.9".parse().expect("ip");
        let mapped: IpAddr = "::ffff:203.0.113.1".parse().expect("ip");
        assert_eq!(network_hash(a), network_hash(b));
        assert_eq!(network_hash(a), network_hash(mapped));
        assert_ne!(network_hash(a), network_hash(c));
        assert_ne!(device_hash("x"), 0);
    }
}
