//! Accounts: their kinds, the floor rule of each kind, and the balance a transfer may draw on.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::currency::Currency;
use crate::ids::{AccountId, AdvertiserId, CampaignId};
use crate::money::Money;

/// What an account is for. The kind fixes its owner and its floor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountKind {
    /// An advertiser's money on the platform: never below zero unless a credit limit is set.
    AdvertiserCash,
    /// Budget held for one campaign and not yet spent: never below zero, which is the hard cap
    /// that keeps a campaign's spend within what was held for it.
    CampaignHold,
    /// What one campaign has spent: never below zero (refunds cannot exceed spend).
    CampaignSpend,
    /// The platform's earned revenue: never below zero.
    PlatformRevenue,
    /// What the platform gives away as invalid-traffic credits: no floor.
    InvalidTrafficCredits,
    /// The world outside the platform, the other side of every deposit and withdrawal: no floor.
    External,
}

impl AccountKind {
    /// Every kind, in the order the schema lists them.
    pub const ALL: [AccountKind; 6] = [
        AccountKind::AdvertiserCash,
        AccountKind::CampaignHold,
        AccountKind::CampaignSpend,
        AccountKind::PlatformRevenue,
        AccountKind::InvalidTrafficCredits,
        AccountKind::External,
    ];

    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            AccountKind::AdvertiserCash => "advertiser_cash",
            AccountKind::CampaignHold => "campaign_hold",
            AccountKind::CampaignSpend => "campaign_spend",
            AccountKind::PlatformRevenue => "platform_revenue",
            AccountKind::InvalidTrafficCredits => "invalid_traffic_credits",
            AccountKind::External => "external",
        }
    }

    /// Whether the kind has a floor at all.
    pub fn has_floor(self) -> bool {
        !matches!(
            self,
            AccountKind::External | AccountKind::InvalidTrafficCredits
        )
    }
}

impl FromStr for AccountKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        AccountKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("unknown account kind {s:?}"))
    }
}

impl fmt::Display for AccountKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who an account belongs to; the kind follows from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AccountOwner {
    /// An advertiser's cash account (one per advertiser and currency).
    AdvertiserCash { advertiser: AdvertiserId },
    /// A campaign's budget hold.
    CampaignHold {
        advertiser: AdvertiserId,
        campaign: CampaignId,
    },
    /// A campaign's spend.
    CampaignSpend {
        advertiser: AdvertiserId,
        campaign: CampaignId,
    },
    /// The platform's revenue (one per currency).
    PlatformRevenue,
    /// The platform's invalid-traffic credits (one per currency).
    InvalidTrafficCredits,
    /// The outside world (one per currency).
    External,
}

impl AccountOwner {
    /// The kind of account this owner has.
    pub fn kind(self) -> AccountKind {
        match self {
            AccountOwner::AdvertiserCash { .. } => AccountKind::AdvertiserCash,
            AccountOwner::CampaignHold { .. } => AccountKind::CampaignHold,
            AccountOwner::CampaignSpend { .. } => AccountKind::CampaignSpend,
            AccountOwner::PlatformRevenue => AccountKind::PlatformRevenue,
            AccountOwner::InvalidTrafficCredits => AccountKind::InvalidTrafficCredits,
            AccountOwner::External => AccountKind::External,
        }
    }

    /// The advertiser, where there is one.
    pub fn advertiser(self) -> Option<AdvertiserId> {
        match self {
            AccountOwner::AdvertiserCash { advertiser }
            | AccountOwner::CampaignHold { advertiser, .. }
            | AccountOwner::CampaignSpend { advertiser, .. } => Some(advertiser),
            _ => None,
        }
    }

    /// The campaign, where there is one.
    pub fn campaign(self) -> Option<CampaignId> {
        match self {
            AccountOwner::CampaignHold { campaign, .. }
            | AccountOwner::CampaignSpend { campaign, .. } => Some(campaign),
            _ => None,
        }
    }
}

/// An account and its balances as of the moment it was read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub id: AccountId,
    pub owner: AccountOwner,
    pub currency: Currency,
    /// How far below zero advertiser cash may go; zero for every other kind.
    pub credit_limit: Money,
    /// Net posted balance: what came in minus what went out.
    pub posted: Money,
    /// Outgoing pending transfers not yet resolved: they already count against the floor.
    pub reserved: Money,
    /// Incoming pending transfers not yet resolved: not spendable until posted.
    pub incoming: Money,
}

impl Account {
    /// The account's kind.
    pub fn kind(&self) -> AccountKind {
        self.owner.kind()
    }

    /// The lowest `posted - reserved` may go, or `None` when there is no floor.
    pub fn floor(&self) -> Option<Money> {
        match self.kind() {
            AccountKind::AdvertiserCash => Some(self.credit_limit.negated()),
            kind if kind.has_floor() => Some(Money::ZERO),
            _ => None,
        }
    }

    /// `posted - reserved`: the balance the floor applies to.
    pub fn unreserved(&self) -> Option<Money> {
        self.posted.checked_sub(self.reserved)
    }

    /// How much may still leave the account, or `None` when it has no floor.
    pub fn available(&self) -> Option<Money> {
        let floor = self.floor()?;
        self.unreserved()?.checked_sub(floor)
    }

    /// Whether the balances respect the floor.
    pub fn within_floor(&self) -> bool {
        match (self.floor(), self.unreserved()) {
            (None, _) => true,
            (Some(floor), Some(unreserved)) => unreserved >= floor,
            (Some(_), None) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(owner: AccountOwner, posted: &str, reserved: &str, limit: &str) -> Account {
        Account {
            id: AccountId(1),
            owner,
            currency: Currency::parse("USD").expect("usd"),
            credit_limit: Money::parse(limit).expect("limit"),
            posted: Money::parse(posted).expect("posted"),
            reserved: Money::parse(reserved).expect("reserved"),
            incoming: Money::ZERO,
        }
    }

    #[test]
    fn kinds_round_trip_through_their_names() {
        for kind in AccountKind::ALL {
            assert_eq!(kind.as_str().parse::<AccountKind>(), Ok(kind));
        }
        assert!("cash".parse::<AccountKind>().is_err());
    }

    #[test]
    fn cash_may_go_negative_down_to_its_credit_limit() {
        let cash = AccountOwner::AdvertiserCash {
            advertiser: AdvertiserId::new(),
        };
        let a = account(cash, "10", "4", "0");
        assert_eq!(a.available(), Some(Money::parse("6").expect("6")));
        let b = account(cash, "10", "4", "100");
        assert_eq!(b.available(), Some(Money::parse("106").expect("106")));
        assert!(!account(cash, "-1", "0", "0").within_floor());
        assert!(account(cash, "-1", "0", "1").within_floor());
    }

    #[test]
    fn world_and_credits_have_no_floor() {
        assert_eq!(
            account(AccountOwner::External, "-5", "0", "0").available(),
            None
        );
        assert!(account(AccountOwner::InvalidTrafficCredits, "-5", "0", "0").within_floor());
        assert!(!account(AccountOwner::PlatformRevenue, "-5", "0", "0").within_floor());
    }
}
