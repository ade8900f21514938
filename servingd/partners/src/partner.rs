//! A supply partner and the rules the events of the ads it sold are held to.

use std::net::IpAddr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// Whether a partner may ask for ads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PartnerStatus {
    /// Its requests are answered and the events of its ads billed.
    Active,
    /// Its requests get 401 and the events of ads it sold earlier are refused.
    Disabled,
}

impl PartnerStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PartnerStatus::Active => "active",
            PartnerStatus::Disabled => "disabled",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "active" => Some(PartnerStatus::Active),
            "disabled" => Some(PartnerStatus::Disabled),
            _ => None,
        }
    }
}

/// A partner as servingd holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partner {
    pub id: Uuid,
    pub name: String,
    pub status: PartnerStatus,
    /// The currency its auctions run in: servingd bids to it only in that currency.
    pub currency: String,
    /// The most an impression it sells may be charged, per thousand, in its currency, micros;
    /// `None`: no ceiling beyond the bids.
    pub max_cpm_micros: Option<i64>,
    /// Where its billing URLs may be fetched from; empty: anywhere.
    pub burl_networks: Vec<IpNet>,
}

/// Why an event of an ad a partner sold is not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventRefusal {
    #[error("the partner that sold this ad is not known any more")]
    UnknownPartner,
    #[error("the partner that sold this ad is disabled")]
    Disabled,
    #[error("billing URLs of this partner are not fetched from {0}")]
    Address(String),
    #[error("this partner trades in {partner}, not {auction}")]
    Currency { partner: String, auction: String },
    #[error("the price, {price_micros} micros per thousand, is above this partner's ceiling")]
    AboveCeiling { price_micros: i64 },
}

impl Partner {
    /// Whether it may ask for ads of an instance whose auctions run in `auction_currency`.
    pub fn may_ask(&self, auction_currency: &str) -> bool {
        self.status == PartnerStatus::Active && self.currency == auction_currency
    }

    /// Whether `ip` is one of its own servers (in its `burl_networks`).
    pub fn owns(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.burl_networks.iter().any(|net| net.contains(&ip))
    }

    /// The highest price per thousand an auction for it may clear at, micros (`i64::MAX`
    /// without a ceiling).
    pub fn ceiling_cpm_micros(&self) -> i64 {
        self.max_cpm_micros.unwrap_or(i64::MAX)
    }

    /// Checks an event of an ad it sold: the partner active and still trading in the auction
    /// currency; for a billing URL (`billing_url`), fetched from one of its networks; and the
    /// price per thousand in its currency (`cpm_micros`, `None` for a per-click charge, which
    /// the exchange does not price) within its ceiling.
    pub fn check_event(
        &self,
        auction_currency: &str,
        billing_url: bool,
        client: Option<IpAddr>,
        cpm_micros: Option<i64>,
    ) -> Result<(), EventRefusal> {
        if self.status != PartnerStatus::Active {
            return Err(EventRefusal::Disabled);
        }
        if self.currency != auction_currency {
            return Err(EventRefusal::Currency {
                partner: self.currency.clone(),
                auction: auction_currency.to_owned(),
            });
        }
        if billing_url && !self.burl_networks.is_empty() && !client.is_some_and(|ip| self.owns(ip))
        {
            return Err(EventRefusal::Address(
                client.map_or_else(|| "an unknown address".into(), |ip| ip.to_string()),
            ));
        }
        if let Some(price) = cpm_micros
            && price > self.ceiling_cpm_micros()
        {
            return Err(EventRefusal::AboveCeiling {
                price_micros: price,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exchange() -> Partner {
        Partner {
            id: Uuid::from_u128(1),
            name: "exchange".into(),
            status: PartnerStatus::Active,
            currency: "USD".into(),
            max_cpm_micros: Some(5_000_000),
            burl_networks: vec!["198.51.100.0/24".parse().expect("net")],
        }
    }

    fn ip(text: &str) -> Option<IpAddr> {
        Some(text.parse().expect("ip"))
    }

    #[test]
    fn billing_urls_come_from_the_partners_networks_and_clicks_from_anywhere() {
        let p = exchange();
        assert_eq!(
            p.check_event("USD", true, ip("198.51.100.9"), Some(2_000_000)),
            Ok(())
        );
        assert_eq!(
            p.check_event("USD", true, ip("::ffff:198.51.100.9"), None),
            Ok(())
        );
        assert_eq!(
            p.check_event("USD", true, ip("203.0.113.5"), Some(2_000_000)),
            Err(EventRefusal::Address("203.0.113.5".into()))
        );
        assert!(p.check_event("USD", true, None, None).is_err());
        assert_eq!(p.check_event("USD", false, ip("203.0.113.5"), None), Ok(()));
        let open = Partner {
            burl_networks: Vec::new(),
            ..exchange()
        };
        assert_eq!(
            open.check_event("USD", true, ip("203.0.113.5"), None),
            Ok(())
        );
    }

    #[test]
    fn price_currency_and_status_are_checked() {
        let p = exchange();
        assert_eq!(
            p.check_event("USD", true, ip("198.51.100.9"), Some(5_000_000)),
            Ok(())
        );
        assert_eq!(
            p.check_event("USD", true, ip("198.51.100.9"), Some(5_000_001)),
            Err(EventRefusal::AboveCeiling {
                price_micros: 5_000_001
            })
        );
        assert!(matches!(
            p.check_event("EUR", true, ip("198.51.100.9"), None),
            Err(EventRefusal::Currency { .. })
        ));
        let off = Partner {
            status: PartnerStatus::Disabled,
            ..exchange()
        };
        assert_eq!(
            off.check_event("USD", true, ip("198.51.100.9"), None),
            Err(EventRefusal::Disabled)
        );
        assert!(!off.may_ask("USD"));
        assert!(p.may_ask("USD"));
        assert!(!p.may_ask("EUR"));
    }
}
