//! Transfers: what moves money, which shapes are allowed, and what makes two requests "the same".

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::account::AccountKind;
use crate::currency::Currency;
use crate::ids::{AccountId, AdvertiserId, CampaignId, LeaseId, TransferId};
use crate::money::Amount;

/// Why money moves. Each kind allows only certain pairs of account kinds (see [`shape_allowed`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransferKind {
    /// Money arrives from outside: external → advertiser cash.
    Deposit,
    /// Money leaves the platform: advertiser cash → external.
    Withdrawal,
    /// The platform grants a credit: invalid-traffic credits → advertiser cash.
    Credit,
    /// Budget is set aside for a campaign: advertiser cash → campaign hold.
    Hold,
    /// Unspent budget goes back: campaign hold → advertiser cash.
    Release,
    /// A campaign pays for delivery: campaign hold → campaign spend.
    Spend,
    /// Spend is recognised as the platform's revenue: campaign spend → platform revenue.
    Revenue,
    /// Invalid traffic is paid back: campaign spend or platform revenue → advertiser cash.
    Refund,
}

impl TransferKind {
    /// Every kind.
    pub const ALL: [TransferKind; 8] = [
        TransferKind::Deposit,
        TransferKind::Withdrawal,
        TransferKind::Credit,
        TransferKind::Hold,
        TransferKind::Release,
        TransferKind::Spend,
        TransferKind::Revenue,
        TransferKind::Refund,
    ];

    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            TransferKind::Deposit => "deposit",
            TransferKind::Withdrawal => "withdrawal",
            TransferKind::Credit => "credit",
            TransferKind::Hold => "hold",
            TransferKind::Release => "release",
            TransferKind::Spend => "spend",
            TransferKind::Revenue => "revenue",
            TransferKind::Refund => "refund",
        }
    }
}

impl FromStr for TransferKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        TransferKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("unknown transfer kind {s:?}"))
    }
}

impl fmt::Display for TransferKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether `kind` may move money from an account of `debit` kind to one of `credit` kind. The
/// same table lives in the database (`ledger_transfer_shapes`), which refuses any other shape.
pub fn shape_allowed(kind: TransferKind, debit: AccountKind, credit: AccountKind) -> bool {
    use AccountKind as A;
    use TransferKind as T;
    matches!(
        (kind, debit, credit),
        (T::Deposit, A::External, A::AdvertiserCash)
            | (T::Withdrawal, A::AdvertiserCash, A::External)
            | (T::Credit, A::InvalidTrafficCredits, A::AdvertiserCash)
            | (T::Hold, A::AdvertiserCash, A::CampaignHold)
            | (T::Release, A::CampaignHold, A::AdvertiserCash)
            | (T::Spend, A::CampaignHold, A::CampaignSpend)
            | (T::Revenue, A::CampaignSpend, A::PlatformRevenue)
            | (
                T::Refund,
                A::CampaignSpend | A::PlatformRevenue,
                A::AdvertiserCash
            )
    )
}

/// What a transfer is about, for statements, reports and reconciliation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct References {
    pub advertiser: Option<AdvertiserId>,
    pub campaign: Option<CampaignId>,
    /// The served event (impression, click) a spend or refund is for.
    pub event: Option<String>,
    /// The budget lease that paid for a spend.
    pub lease: Option<LeaseId>,
}

/// A transfer as a caller asks for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewTransfer {
    /// Chosen by the caller; repeating it is harmless.
    pub id: TransferId,
    pub debit: AccountId,
    pub credit: AccountId,
    pub amount: Amount,
    pub currency: Currency,
    pub kind: TransferKind,
    #[serde(default)]
    pub references: References,
    /// Free-form context (a JSON object); part of the content compared on retry.
    #[serde(default = "empty_object")]
    pub metadata: serde_json::Value,
}

fn empty_object() -> serde_json::Value {
    serde_json::Value::Object(serde_json::Map::new())
}

impl NewTransfer {
    /// A transfer with no references and empty metadata.
    pub fn new(
        id: TransferId,
        debit: AccountId,
        credit: AccountId,
        amount: Amount,
        currency: Currency,
        kind: TransferKind,
    ) -> Self {
        NewTransfer {
            id,
            debit,
            credit,
            amount,
            currency,
            kind,
            references: References::default(),
            metadata: empty_object(),
        }
    }

    /// The same transfer with these references.
    pub fn with_references(mut self, references: References) -> Self {
        self.references = references;
        self
    }

    /// The same transfer with this metadata.
    pub fn with_metadata(mut self, metadata: serde_json::Value) -> Self {
        self.metadata = metadata;
        self
    }
}

/// A transfer as the ledger recorded it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transfer {
    pub id: TransferId,
    /// Position in the ledger; per account it follows commit order.
    pub seq: i64,
    pub debit: AccountId,
    pub credit: AccountId,
    pub amount: Amount,
    pub currency: Currency,
    pub kind: TransferKind,
    pub references: References,
    pub metadata: serde_json::Value,
    /// Set when this transfer posted a pending transfer (the two share the id).
    pub pending: Option<TransferId>,
    pub posted_at: DateTime<Utc>,
}

impl Transfer {
    /// The transfer a request became when the ledger recorded it as `seq` at `posted_at`.
    pub fn recorded(request: &NewTransfer, seq: i64, posted_at: DateTime<Utc>) -> Self {
        Transfer {
            id: request.id,
            seq,
            debit: request.debit,
            credit: request.credit,
            amount: request.amount,
            currency: request.currency,
            kind: request.kind,
            references: request.references.clone(),
            metadata: request.metadata.clone(),
            pending: None,
            posted_at,
        }
    }

    /// Whether a request carries exactly the content this transfer was recorded with: then a
    /// retry gets this transfer back; otherwise the id is in conflict.
    pub fn same_content(&self, request: &NewTransfer) -> bool {
        self.id == request.id
            && self.debit == request.debit
            && self.credit == request.credit
            && self.amount == request.amount
            && self.currency == request.currency
            && self.kind == request.kind
            && self.references == request.references
            && self.metadata == request.metadata
            && self.pending.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_their_names() {
        for kind in TransferKind::ALL {
            assert_eq!(kind.as_str().parse::<TransferKind>(), Ok(kind));
        }
    }

    #[test]
    fn each_kind_allows_its_own_shapes_only() {
        use AccountKind as A;
        assert!(shape_allowed(
            TransferKind::Spend,
            A::CampaignHold,
            A::CampaignSpend
        ));
        assert!(!shape_allowed(
            TransferKind::Spend,
            A::AdvertiserCash,
            A::CampaignSpend
        ));
        assert!(!shape_allowed(
            TransferKind::Deposit,
            A::External,
            A::CampaignHold
        ));
        let allowed = TransferKind::ALL
            .iter()
            .flat_map(|t| AccountKind::ALL.iter().map(move |d| (t, d)))
            .flat_map(|(t, d)| AccountKind::ALL.iter().map(move |c| (*t, *d, *c)))
            .filter(|(t, d, c)| shape_allowed(*t, *d, *c))
            .count();
        // the nine rows of ledger_transfer_shapes
        assert_eq!(allowed, 9);
    }
}
