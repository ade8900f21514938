//! An audit entry as an advertiser may see it (entries are [`audit::AuditEntry`], read
//! through [`audit::audit_entries`]).

use audit::AuditEntry;
use uuid::Uuid;

/// The entry as `advertiser` may see it: a ledger statement's entry that also covers other
/// advertisers' transfers lists only this one.
pub fn seen_by(mut entry: AuditEntry, advertiser: Uuid) -> AuditEntry {
    if let Some(listed) = entry
        .after
        .as_mut()
        .and_then(|a| a.get_mut("advertisers"))
        .and_then(|a| a.as_array_mut())
    {
        listed.retain(|a| a.as_str() == Some(advertiser.to_string().as_str()));
    }
    entry
}
