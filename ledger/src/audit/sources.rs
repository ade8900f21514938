//! Audit records of what the ledger and the budget controller did, built from their rows: a
//! transfer, a budget log entry. Amounts are written as strings, exactly as the ledger has them.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::audit::record::AuditRecord;

/// A posted transfer, as `ledger_transfers` has it.
#[derive(Debug, Clone, PartialEq)]
pub struct TransferFacts {
    pub id: Uuid,
    pub kind: String,
    pub debit_account: i64,
    pub credit_account: i64,
    pub amount: Decimal,
    pub currency: String,
    pub advertiser: Option<Uuid>,
    pub campaign: Option<Uuid>,
    pub event: Option<String>,
    pub lease: Option<Uuid>,
    pub pending: Option<Uuid>,
    pub metadata: Value,
    pub posted_at: DateTime<Utc>,
}

/// The audit record of a posted transfer: the ledger acted, the transfer is what it did.
pub fn transfer_record(t: &TransferFacts) -> AuditRecord {
    AuditRecord {
        at: t.posted_at,
        actor: "ledger".into(),
        role: "service".into(),
        action: format!("ledger.{}", t.kind),
        object: format!("transfer:{}", t.id),
        advertiser: t.advertiser,
        request_id: t
            .metadata
            .get("request_id")
            .and_then(Value::as_str)
            .map(str::to_owned),
        before: None,
        after: Some(json!({
            "debit_account": t.debit_account,
            "credit_account": t.credit_account,
            "amount": t.amount.to_string(),
            "currency": t.currency.trim(),
            "campaign": t.campaign,
            "event": t.event,
            "lease": t.lease,
            "pending": t.pending,
            "metadata": t.metadata,
        })),
    }
}

/// An entry of the budget controller's log.
#[derive(Debug, Clone, PartialEq)]
pub struct BudgetFacts {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub campaign: Uuid,
    pub lease: Option<Uuid>,
    pub action: String,
    pub amount_micros: Option<i64>,
    pub detail: Value,
}

/// The audit record of a budget allocation, settlement, reap, rebuild or repair.
pub fn budget_record(b: &BudgetFacts) -> AuditRecord {
    AuditRecord {
        at: b.at,
        actor: "budget-controller".into(),
        role: "service".into(),
        action: format!("budget.{}", b.action),
        object: match b.lease {
            Some(lease) => format!("lease:{lease}"),
            None => format!("campaign:{}", b.campaign),
        },
        advertiser: None,
        request_id: None,
        before: None,
        after: Some(json!({
            "log_seq": b.seq,
            "campaign": b.campaign,
            "lease": b.lease,
            "amount_micros": b.amount_micros,
            "detail": b.detail,
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_transfer_record_names_the_transfer_and_keeps_its_amount_exact() {
        let t = TransferFacts {
            id: Uuid::nil(),
            kind: "spend".into(),
            debit_account: 7,
            credit_account: 8,
            amount: "0.001235".parse().expect("decimal"),
            currency: "EUR".into(),
            advertiser: Some(Uuid::max()),
            campaign: None,
            event: Some("a:1".into()),
            lease: None,
            pending: None,
            metadata: json!({"request_id": "req-9"}),
            posted_at: DateTime::from_timestamp_micros(1).expect("time"),
        };
        let r = transfer_record(&t);
        assert_eq!(r.action, "ledger.spend");
        assert_eq!(r.object, format!("transfer:{}", Uuid::nil()));
        assert_eq!(r.request_id.as_deref(), Some("req-9"));
        assert_eq!(r.advertiser, Some(Uuid::max()));
        assert_eq!(
            r.after.as_ref().map(|a| a["amount"].clone()),
            Some(json!("0.001235"))
        );
    }

    #[test]
    fn a_budget_record_names_the_lease_or_else_the_campaign() {
        let b = BudgetFacts {
            seq: 3,
            at: DateTime::from_timestamp_micros(1).expect("time"),
            campaign: Uuid::nil(),
            lease: None,
            action: "rebuild".into(),
            amount_micros: Some(5),
            detail: json!({}),
        };
        assert_eq!(
            budget_record(&b).object,
            format!("campaign:{}", Uuid::nil())
        );
        let lease = BudgetFacts {
            lease: Some(Uuid::max()),
            action: "reap".into(),
            ..b
        };
        let r = budget_record(&lease);
        assert_eq!(
            (r.action.as_str(), r.object),
            ("budget.reap", format!("lease:{}", Uuid::max()))
        );
    }
}
