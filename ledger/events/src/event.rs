//! [`ServedEvent`]: one impression or click of a served ad, as the tracking endpoint verified it
//! and as the event stream carries it; and what it costs the advertiser.

use std::fmt;

use rust_decimal::Decimal;

use ledger::ids::{CampaignId, LeaseId, TransferId};
use ledger::money::{Amount, round_billing};
use uuid::Uuid;

/// What happened to a served ad.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    Impression,
    Click,
}

impl EventKind {
    /// The name in stream fields and URLs.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Impression => "imp",
            EventKind::Click => "click",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        match text {
            "imp" => Some(EventKind::Impression),
            "click" => Some(EventKind::Click),
            _ => None,
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the campaign pays: per thousand impressions, or per click.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Billing {
    PerMille,
    PerClick,
}

impl Billing {
    /// The name in stream fields.
    pub fn as_str(self) -> &'static str {
        match self {
            Billing::PerMille => "cpm",
            Billing::PerClick => "cpc",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        match text {
            "cpm" => Some(Billing::PerMille),
            "cpc" => Some(Billing::PerClick),
            _ => None,
        }
    }

    /// The event this billing charges for.
    pub fn billed_kind(self) -> EventKind {
        match self {
            Billing::PerMille => EventKind::Impression,
            Billing::PerClick => EventKind::Click,
        }
    }
}

/// One verified event of a served ad.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServedEvent {
    /// The served ad: `<auction id>:<impression id>`. An impression and a click of the same ad
    /// share it; the ad is billed once, for the event its billing names.
    pub id: String,
    pub kind: EventKind,
    pub campaign: CampaignId,
    /// The budget lease that paid for the ad (spend is attributed to it).
    pub lease: LeaseId,
    pub billing: Billing,
    /// The clearing price in the campaign's currency, micros: per thousand impressions
    /// ([`Billing::PerMille`]) or per click ([`Billing::PerClick`]).
    pub price_micros: i64,
    /// When the tracking endpoint received it, Unix milliseconds.
    pub at_ms: i64,
    /// The client's address as the endpoint saw it.
    pub ip: String,
    pub device: Option<String>,
    pub user_agent: Option<String>,
    /// Why the tracking endpoint's fraud checks judged the event invalid; `None`: valid. An
    /// invalid event is counted as such and never billed.
    pub invalid: Option<String>,
    /// The supply partner the ad was sold to.
    pub partner: Option<Uuid>,
    /// The bid request was a test (`test: 1`): recorded as test traffic, never billed.
    pub test: bool,
}

/// Why stream fields are not an event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("the field {0:?} is missing")]
    Missing(&'static str),
    #[error("the field {field:?} is not valid: {value:?}")]
    Invalid { field: &'static str, value: String },
}

impl ServedEvent {
    /// Whether this is the event the campaign pays for (impressions of CPM campaigns, clicks of
    /// CPC campaigns), valid and not a test.
    pub fn is_billed(&self) -> bool {
        !self.test && self.invalid.is_none() && self.kind == self.billing.billed_kind()
    }

    /// What this event costs the advertiser: the CPM divided by 1000, or the CPC, rounded once
    /// by the ledger's rule (toward zero: never above the price). `None` when the event is not
    /// the billed one, or the price rounds to nothing.
    pub fn cost(&self) -> Option<Amount> {
        if !self.is_billed() || self.price_micros <= 0 {
            return None;
        }
        let price = Decimal::new(self.price_micros, 6);
        let value = match self.billing {
            Billing::PerMille => price / Decimal::from(1000),
            Billing::PerClick => price,
        };
        round_billing(value)
            .ok()
            .and_then(|money| Amount::try_from(money).ok())
    }

    /// The id of the spend transfer for this ad: one per served ad, whatever repeats.
    pub fn spend_id(&self) -> TransferId {
        TransferId::from_key("spend", &self.id)
    }

    /// The fields of the stream entry.
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        let mut fields = vec![
            ("id", self.id.clone()),
            ("kind", self.kind.as_str().to_owned()),
            ("campaign", self.campaign.0.to_string()),
            ("lease", self.lease.0.to_string()),
            ("billing", self.billing.as_str().to_owned()),
            ("price", self.price_micros.to_string()),
            ("at", self.at_ms.to_string()),
            ("ip", self.ip.clone()),
        ];
        if let Some(device) = &self.device {
            fields.push(("device", device.clone()));
        }
        if let Some(ua) = &self.user_agent {
            fields.push(("ua", ua.clone()));
        }
        if let Some(why) = &self.invalid {
            fields.push(("invalid", why.clone()));
        }
        if let Some(partner) = self.partner {
            fields.push(("partner", partner.to_string()));
        }
        if self.test {
            fields.push(("test", "1".to_owned()));
        }
        fields
    }

    /// The event in a stream entry's fields (unknown fields are ignored).
    pub fn from_fields<'a>(
        fields: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, DecodeError> {
        let mut found: [Option<&str>; 13] = [None; 13];
        const NAMES: [&str; 13] = [
            "id", "kind", "campaign", "lease", "billing", "price", "at", "ip", "device", "ua",
            "invalid", "partner", "test",
        ];
        for (name, value) in fields {
            if let Some(i) = NAMES.iter().position(|n| *n == name) {
                found[i] = Some(value);
            }
        }
        let get = |i: usize| found[i].ok_or(DecodeError::Missing(NAMES[i]));
        let invalid = |i: usize, value: &str| DecodeError::Invalid {
            field: NAMES[i],
            value: value.to_owned(),
        };
        let id = get(0)?;
        if id.is_empty() || id.len() > 200 {
            return Err(invalid(0, id));
        }
        let kind = get(1)?;
        let campaign = get(2)?;
        let lease = get(3)?;
        let billing = get(4)?;
        let price = get(5)?;
        let at = get(6)?;
        Ok(ServedEvent {
            id: id.to_owned(),
            kind: EventKind::parse(kind).ok_or_else(|| invalid(1, kind))?,
            campaign: CampaignId(campaign.parse().map_err(|_| invalid(2, campaign))?),
            lease: LeaseId(lease.parse().map_err(|_| invalid(3, lease))?),
            billing: Billing::parse(billing).ok_or_else(|| invalid(4, billing))?,
            price_micros: price
                .parse()
                .ok()
                .filter(|p: &i64| *p >= 0)
                .ok_or_else(|| invalid(5, price))?,
            at_ms: at.parse().map_err(|_| invalid(6, at))?,
            ip: get(7)?.to_owned(),
            device: found[8].map(str::to_owned),
            user_agent: found[9].map(str::to_owned),
            invalid: found[10].map(str::to_owned),
            partner: match found[11] {
                Some(p) => Some(p.parse().map_err(|_| invalid(11, p))?),
                None => None,
            },
            test: match found[12] {
                None => false,
                Some("1") => true,
                Some(t) => return Err(invalid(12, t)),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: EventKind, billing: Billing, price_micros: i64) -> ServedEvent {
        ServedEvent {
            id: "0190a7c4-0000-7000-8000-000000000001:1".into(),
            kind,
            campaign: CampaignId(Uuid::from_u128(7)),
            lease: LeaseId(Uuid::from_u128(9)),
            billing,
            price_micros,
            at_ms: 1_780_000_000_000,
            ip: "203.0.113.7".into(),
            device: Some("ifa-1".into()),
            user_agent: None,
            invalid: None,
            partner: Some(Uuid::from_u128(11)),
            test: false,
        }
    }

    #[test]
    fn an_impression_of_a_cpm_campaign_costs_the_cpm_over_1000_never_more() {
        let cost = |p| event(EventKind::Impression, Billing::PerMille, p).cost();
        assert_eq!(
            cost(2_500_000).map(|a| a.to_string()),
            Some("0.002500".into())
        );
        // 2.0005 / 1000 = 0.0020005: billed 0.002000, never the bid's 0.0020005 rounded up
        assert_eq!(
            cost(2_000_500).map(|a| a.to_string()),
            Some("0.002000".into())
        );
        // 1.234567 / 1000 = 0.001234567 → 0.001234
        assert_eq!(
            cost(1_234_567).map(|a| a.to_string()),
            Some("0.001234".into())
        );
        // 0.000999 / 1000 rounds to nothing: not billed
        assert_eq!(cost(999), None);
        assert_eq!(cost(1_000).map(|a| a.to_string()), Some("0.000001".into()));
    }

    #[test]
    fn only_the_event_the_billing_names_costs_anything() {
        assert!(
            event(EventKind::Click, Billing::PerMille, 2_000_000)
                .cost()
                .is_none()
        );
        assert!(
            event(EventKind::Impression, Billing::PerClick, 300_000)
                .cost()
                .is_none()
        );
        assert_eq!(
            event(EventKind::Click, Billing::PerClick, 300_000)
                .cost()
                .map(|a| a.to_string()),
            Some("0.300000".into())
        );
    }

    #[test]
    fn an_invalid_event_costs_nothing_and_keeps_its_reasons_on_the_stream() {
        let mut e = event(EventKind::Impression, Billing::PerMille, 2_000_000);
        e.invalid = Some("click_rate".into());
        assert!(!e.is_billed());
        assert_eq!(e.cost(), None);
        let fields = e.fields();
        let back = ServedEvent::from_fields(fields.iter().map(|(k, v)| (*k, v.as_str())));
        assert_eq!(back.map(|b| b.invalid), Ok(Some("click_rate".into())));
    }

    #[test]
    fn a_test_requests_event_costs_nothing_and_says_so_on_the_stream() {
        let mut e = event(EventKind::Impression, Billing::PerMille, 2_000_000);
        e.test = true;
        assert!(!e.is_billed());
        assert_eq!(e.cost(), None);
        let fields = e.fields();
        let back = ServedEvent::from_fields(fields.iter().map(|(k, v)| (*k, v.as_str())));
        assert_eq!(back, Ok(e));
        let bad = [("test", "yes")];
        let mut with_bad: Vec<(&str, &str)> =
            fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        with_bad.retain(|(k, _)| *k != "test");
        with_bad.extend(bad);
        assert!(matches!(
            ServedEvent::from_fields(with_bad),
            Err(DecodeError::Invalid { field: "test", .. })
        ));
    }

    #[test]
    fn one_spend_id_per_served_ad() {
        let imp = event(EventKind::Impression, Billing::PerMille, 1);
        let click = event(EventKind::Click, Billing::PerMille, 1);
        assert_eq!(imp.spend_id(), click.spend_id());
        let mut other = imp.clone();
        other.id.push('2');
        assert_ne!(imp.spend_id(), other.spend_id());
    }

    #[test]
    fn fields_round_trip_and_bad_fields_are_named() {
        let e = event(EventKind::Click, Billing::PerClick, 450_000);
        let fields = e.fields();
        let back = ServedEvent::from_fields(fields.iter().map(|(k, v)| (*k, v.as_str())));
        assert_eq!(back, Ok(e));

        let without: Vec<_> = fields.iter().filter(|(k, _)| *k != "lease").collect();
        assert_eq!(
            ServedEvent::from_fields(without.iter().map(|(k, v)| (*k, v.as_str()))),
            Err(DecodeError::Missing("lease"))
        );
        let bad: Vec<_> = fields
            .iter()
            .map(|(k, v)| (*k, if *k == "price" { "-5" } else { v.as_str() }))
            .collect();
        assert_eq!(
            ServedEvent::from_fields(bad),
            Err(DecodeError::Invalid {
                field: "price",
                value: "-5".into()
            })
        );
    }
}
