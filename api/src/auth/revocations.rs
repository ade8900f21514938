//! The principals whose tokens no longer hold though they have not expired: API keys revoked
//! within the longest a token lives. Every request's token is checked against them (a set
//! lookup). An instance knows its own revocations at once and reads everyone's again every
//! second ([`RELOAD_EVERY`]), so a key revoked anywhere stops working everywhere within about a
//! second, and a restarted instance reads them before it serves.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use crate::auth::store;

/// How often the revocations are read again.
pub const RELOAD_EVERY: Duration = Duration::from_secs(1);

/// Clock difference allowed between instances, seconds.
const SKEW_S: i64 = 60;

/// The revoked principals whose tokens may still be in use.
#[derive(Default)]
pub struct Revocations {
    held: ArcSwap<HashSet<Uuid>>,
}

impl Revocations {
    /// Whether tokens of `principal` were revoked.
    pub fn is_revoked(&self, principal: Uuid) -> bool {
        self.held.load().contains(&principal)
    }

    /// A revocation made by this instance: in force here at once.
    pub fn add(&self, principal: Uuid) {
        self.held.rcu(|held| {
            let mut next = HashSet::clone(held);
            next.insert(principal);
            next
        });
    }

    /// Reads the revocations of the last `token_ttl_s` (tokens issued before them have expired
    /// since), at `now`.
    pub async fn reload(
        &self,
        db: &PgPool,
        now: DateTime<Utc>,
        token_ttl_s: i64,
    ) -> sqlx::Result<()> {
        let since = now - chrono::Duration::seconds(token_ttl_s.saturating_add(SKEW_S));
        let revoked: HashSet<Uuid> = store::keys_revoked_since(db, since)
            .await?
            .into_iter()
            .collect();
        self.held.store(Arc::new(revoked));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_revocation_holds_at_once_here() {
        let r = Revocations::default();
        let key = Uuid::now_v7();
        assert!(!r.is_revoked(key));
        r.add(key);
        assert!(r.is_revoked(key));
        assert!(!r.is_revoked(Uuid::now_v7()));
    }
}
