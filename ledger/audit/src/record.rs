//! What one audit row records, and its canonical encoding (the bytes its content hash covers).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::canonical::canonical_json;

/// One audited fact: a ledger transfer, a budget allocation, settlement or reap, or an admin
/// action. The time is part of the content, so it is covered by the hash like the rest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// When it happened (kept to the microsecond, as PostgreSQL keeps it).
    pub at: DateTime<Utc>,
    /// Who did it: a user name, a service's name, or the component that acted on its own.
    pub actor: String,
    /// The role the actor acted in.
    pub role: String,
    /// What was done, as `noun.verb` (`ledger.transfer`, `budget.allocate`, `campaign.update`).
    pub action: String,
    /// What it was done to, as `kind:id`.
    pub object: String,
    /// The advertiser the object belongs to, when it belongs to one (advertisers see these).
    pub advertiser: Option<Uuid>,
    /// The request that did it, when it came through the API.
    pub request_id: Option<String>,
    /// The object before and after, as far as the action changed it.
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

/// The encoding's version tag: a changed encoding gets a new tag, never new bytes under the old.
const TAG: &[u8] = b"adplat-audit-record-v1";

impl AuditRecord {
    /// The canonical bytes of the record: every field length-prefixed in a fixed order, the time
    /// as microseconds since the epoch, absent values marked apart from empty ones.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        field(&mut out, TAG);
        out.extend_from_slice(&self.at.timestamp_micros().to_be_bytes());
        field(&mut out, self.actor.as_bytes());
        field(&mut out, self.role.as_bytes());
        field(&mut out, self.action.as_bytes());
        field(&mut out, self.object.as_bytes());
        optional(
            &mut out,
            self.advertiser.as_ref().map(|a| a.as_bytes().to_vec()),
        );
        optional(
            &mut out,
            self.request_id.as_ref().map(|r| r.as_bytes().to_vec()),
        );
        optional(&mut out, self.before.as_ref().map(canonical_json));
        optional(&mut out, self.after.as_ref().map(canonical_json));
        out
    }
}

fn field(out: &mut Vec<u8>, bytes: &[u8]) {
    let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&bytes[..len as usize]);
}

fn optional(out: &mut Vec<u8>, bytes: Option<Vec<u8>>) {
    match bytes {
        None => out.push(0),
        Some(b) => {
            out.push(1);
            field(out, &b);
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    pub(crate) fn record(n: i64) -> AuditRecord {
        AuditRecord {
            at: DateTime::from_timestamp_micros(1_795_000_000_000_000 + n).expect("time"),
            actor: "ops-1".into(),
            role: "operator".into(),
            action: "campaign.update".into(),
            object: format!("campaign:{n}"),
            advertiser: None,
            request_id: Some(format!("req-{n}")),
            before: Some(json!({"status": "active", "n": n})),
            after: Some(json!({"status": "paused", "n": n})),
        }
    }

    #[test]
    fn every_field_is_covered() {
        let base = record(1);
        let bytes = base.canonical_bytes();
        let changed = [
            AuditRecord {
                at: base.at + chrono::Duration::microseconds(1),
                ..base.clone()
            },
            AuditRecord {
                actor: "ops-2".into(),
                ..base.clone()
            },
            AuditRecord {
                role: "admin".into(),
                ..base.clone()
            },
            AuditRecord {
                action: "campaign.pause".into(),
                ..base.clone()
            },
            AuditRecord {
                object: "campaign:2".into(),
                ..base.clone()
            },
            AuditRecord {
                advertiser: Some(Uuid::nil()),
                ..base.clone()
            },
            AuditRecord {
                request_id: None,
                ..base.clone()
            },
            AuditRecord {
                request_id: Some(String::new()),
                ..base.clone()
            },
            AuditRecord {
                before: None,
                ..base.clone()
            },
            AuditRecord {
                after: Some(json!({"status": "paused", "n": 2})),
                ..base.clone()
            },
        ];
        for c in changed {
            assert_ne!(c.canonical_bytes(), bytes, "{c:?}");
        }
    }

    #[test]
    fn field_boundaries_cannot_shift() {
        // the same characters split differently between two fields are different records
        let a = AuditRecord {
            actor: "ab".into(),
            role: "c".into(),
            ..record(1)
        };
        let b = AuditRecord {
            actor: "a".into(),
            role: "bc".into(),
            ..record(1)
        };
        assert_ne!(a.canonical_bytes(), b.canonical_bytes());
    }
}
