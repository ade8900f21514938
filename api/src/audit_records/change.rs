//! An admin action as the audit trail records it: what changed, and who changed it. Recorded in
//! the transaction of the change itself, so the entry exists exactly when the change does.

use audit::AuditRecord;
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::error::{ApiError, Result};
use crate::extract::Actor;
use crate::state::AppState;

/// One admin action: `noun.verb`, the object as `kind:id`, its advertiser, and the object
/// before and after (absent for a creation or a removal).
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub action: &'static str,
    pub object: String,
    pub advertiser: Option<Uuid>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

impl Change {
    /// A change of `object` (`kind:id`) with nothing recorded before or after yet.
    pub fn of(action: &'static str, object: String, advertiser: Option<Uuid>) -> Change {
        Change {
            action,
            object,
            advertiser,
            before: None,
            after: None,
        }
    }

    /// The object as it was.
    pub fn before(mut self, value: &impl Serialize) -> Result<Change> {
        self.before = Some(as_json(value)?);
        Ok(self)
    }

    /// The object as it is now.
    pub fn after(mut self, value: &impl Serialize) -> Result<Change> {
        self.after = Some(as_json(value)?);
        Ok(self)
    }

    /// The audit record of the change made by `actor` at `at`.
    pub fn by(self, actor: &Actor, at: DateTime<Utc>) -> AuditRecord {
        self.record(
            actor.principal.id.to_string(),
            actor.principal.role.as_str(),
            actor.request_id.clone(),
            at,
        )
    }

    /// The audit record of the change made by a part of the platform on its own (`service`),
    /// such as the sweep that ends campaigns past their schedule.
    pub fn by_service(self, service: &str, at: DateTime<Utc>) -> AuditRecord {
        self.record(service.to_owned(), "service", None, at)
    }

    fn record(
        self,
        actor: String,
        role: &str,
        request_id: Option<String>,
        at: DateTime<Utc>,
    ) -> AuditRecord {
        AuditRecord {
            at,
            actor,
            role: role.to_owned(),
            action: self.action.to_owned(),
            object: self.object,
            advertiser: self.advertiser,
            request_id,
            before: self.before,
            after: self.after,
        }
    }
}

fn as_json(value: &impl Serialize) -> Result<serde_json::Value> {
    serde_json::to_value(value).map_err(|e| ApiError::Internal(e.into()))
}

/// Records `record` in the caller's transaction (the one making the change).
pub async fn record(
    state: &AppState,
    conn: &mut sqlx::PgConnection,
    record: &AuditRecord,
) -> Result<()> {
    record_all(state, conn, std::slice::from_ref(record)).await
}

/// Records `records`, in order, in the caller's transaction.
pub async fn record_all(
    state: &AppState,
    conn: &mut sqlx::PgConnection,
    records: &[AuditRecord],
) -> Result<()> {
    state.audit.record_all(conn, records).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{Principal, Role};
    use serde_json::json;

    #[test]
    fn a_change_names_who_made_it_through_which_request() {
        let actor = Actor {
            principal: Principal::staff(Role::Operator),
            request_id: Some("req-1".into()),
        };
        let at = Utc::now();
        let advertiser = Uuid::now_v7();
        let record = Change::of("campaign.update", "campaign:c1".into(), Some(advertiser))
            .before(&json!({"name": "old"}))
            .and_then(|c| c.after(&json!({"name": "new"})))
            .expect("json")
            .by(&actor, at);
        assert_eq!(record.actor, actor.principal.id.to_string());
        assert_eq!(record.role, "operator");
        assert_eq!(record.action, "campaign.update");
        assert_eq!(record.object, "campaign:c1");
        assert_eq!(record.advertiser, Some(advertiser));
        assert_eq!(record.request_id.as_deref(), Some("req-1"));
        assert_eq!(record.before, Some(json!({"name": "old"})));
        assert_eq!(record.after, Some(json!({"name": "new"})));
        assert_eq!(record.at, at);
    }

    #[test]
    fn a_service_change_has_no_request() {
        let record = Change::of("campaign.end", "campaign:c1".into(), None)
            .by_service("hold-sweep", Utc::now());
        assert_eq!(
            (record.actor.as_str(), record.role.as_str()),
            ("hold-sweep", "service")
        );
        assert_eq!(record.request_id, None);
    }
}
