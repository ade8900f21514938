//! An audit entry as the API shows it (read through [`ledger::reads::audit_entries`]).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// One audit entry.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AuditEntry {
    /// Its place in the chain, from 1.
    pub position: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub role: String,
    /// `noun.verb`: `ledger.post`, `budget.allocate`, `campaign.pause`...
    pub action: String,
    /// `kind:id`.
    pub object: String,
    /// The advertiser the object belongs to (a ledger statement's entry names one only when all
    /// its transfers are that advertiser's; `after.advertisers` lists them all).
    pub advertiser_id: Option<Uuid>,
    pub request_id: Option<String>,
    pub before: Option<serde_json::Value>,
    /// For `ledger.post`: the transfers' `count`, the `digest` of their contents, and their
    /// `advertisers`.
    pub after: Option<serde_json::Value>,
    /// SHA-256 of the entry (its position, the previous entry's hash and its content), hex.
    pub hash: String,
    /// The previous entry's hash, hex.
    pub prev_hash: String,
}

impl AuditEntry {
    /// The entry as `advertiser` may see it: a ledger statement's entry that also covers other
    /// advertisers' transfers lists only this one.
    pub fn seen_by(mut self, advertiser: Uuid) -> AuditEntry {
        if let Some(listed) = self
            .after
            .as_mut()
            .and_then(|a| a.get_mut("advertisers"))
            .and_then(|a| a.as_array_mut())
        {
            listed.retain(|a| a.as_str() == Some(advertiser.to_string().as_str()));
        }
        self
    }
}

impl From<ledger::reads::AuditLogEntry> for AuditEntry {
    fn from(e: ledger::reads::AuditLogEntry) -> Self {
        AuditEntry {
            position: e.position,
            at: e.at,
            actor: e.actor,
            role: e.role,
            action: e.action,
            object: e.object,
            advertiser_id: e.advertiser_id,
            request_id: e.request_id,
            before: e.before,
            after: e.after,
            hash: e.hash,
            prev_hash: e.prev_hash,
        }
    }
}
