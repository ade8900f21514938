//! Audit records of what the ledger and the budget controller did: a ledger statement's
//! transfers (committed to by their digest), a budget log entry.

use chrono::{DateTime, Utc};
use serde_json::json;
use uuid::Uuid;

use budget::LogEntry;

use crate::chain::ChainHash;
use crate::record::AuditRecord;

/// What one ledger statement posted, as its trigger left it in the outbox: the transfers' ids
/// in order, the digest of their contents (see [`crate::digest`]), the advertisers they
/// concern, and when the last was posted.
#[derive(Debug, Clone, PartialEq)]
pub struct PostedTransfers {
    pub ids: Vec<Uuid>,
    pub digest: ChainHash,
    pub advertisers: Vec<Uuid>,
    pub posted_at: DateTime<Utc>,
}

/// The audit record of a ledger statement's transfers: the ledger acted, and the record commits
/// to exactly which transfers it posted, with what content, through the digest. One transfer
/// is named as `transfer:<id>`; a batch by its first, `transfers:<id>`.
pub fn posted_record(p: &PostedTransfers) -> AuditRecord {
    let first = p.ids.first().copied().unwrap_or_default();
    let mut advertisers = p.advertisers.clone();
    advertisers.sort();
    advertisers.dedup();
    AuditRecord {
        at: p.posted_at,
        actor: "ledger".into(),
        role: "service".into(),
        action: POSTED.into(),
        object: match p.ids.len() {
            1 => format!("transfer:{first}"),
            _ => format!("transfers:{first}"),
        },
        advertiser: match advertisers.as_slice() {
            [only] => Some(*only),
            _ => None,
        },
        request_id: None,
        before: None,
        after: Some(json!({
            "count": p.ids.len(),
            "digest": p.digest.to_hex(),
            "advertisers": advertisers,
        })),
    }
}

/// The action of a ledger statement's audit row.
const POSTED: &str = "ledger.post";

/// The audit record of a budget allocation, settlement, reap, rebuild or repair.
pub fn budget_record(b: &LogEntry) -> AuditRecord {
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
    fn a_posted_record_commits_to_the_digest_and_names_its_advertisers() {
        let (a, b) = (Uuid::from_bytes([1; 16]), Uuid::from_bytes([2; 16]));
        let one = PostedTransfers {
            ids: vec![Uuid::nil()],
            digest: ChainHash([7; 32]),
            advertisers: vec![a],
            posted_at: DateTime::from_timestamp_micros(1).expect("time"),
        };
        let r = posted_record(&one);
        assert_eq!(r.action, "ledger.post");
        assert_eq!(r.object, format!("transfer:{}", Uuid::nil()));
        assert_eq!(r.advertiser, Some(a));
        let after = r.after.expect("after");
        assert_eq!(after["count"], json!(1));
        assert_eq!(after["digest"], json!("07".repeat(32)));

        let batch = PostedTransfers {
            ids: vec![Uuid::max(), Uuid::nil()],
            advertisers: vec![b, a, b],
            ..one
        };
        let r = posted_record(&batch);
        assert_eq!(r.object, format!("transfers:{}", Uuid::max()));
        assert_eq!(
            r.advertiser, None,
            "a batch of several advertisers names none"
        );
        assert_eq!(r.after.expect("after")["advertisers"], json!([a, b]));
    }

    #[test]
    fn a_budget_record_names_the_lease_or_else_the_campaign() {
        let b = LogEntry {
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
        let lease = LogEntry {
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
