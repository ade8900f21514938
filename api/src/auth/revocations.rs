//! The principals whose tokens no longer hold though they have not expired: API keys revoked,
//! users disabled or deleted (every token refused), and users whose password or role changed
//! (tokens of an older token version refused), within the longest a token lives. Every
//! request's token is checked against them (a map lookup). An instance knows its own changes at
//! once and reads everyone's again every second ([`RELOAD_EVERY`]), so a change made anywhere
//! holds everywhere within about a second, and a restarted instance reads them before it serves.

use std::collections::HashMap;
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

/// Where a principal's tokens stand: those below `version` are refused, and all of them while
/// `barred` (a revoked key, a disabled or deleted user).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    pub version: u32,
    pub barred: bool,
}

impl Standing {
    /// A revoked API key: barred for good (no later change outranks it).
    pub const REVOKED: Standing = Standing {
        version: u32::MAX,
        barred: true,
    };
}

/// How long this instance's own changes are kept beside what it reads: a reading whose query
/// ran before a change committed must not undo it.
const LOCAL_KEEP: Duration = Duration::from_secs(10);

/// The principals whose older tokens may still be in use, and where their tokens stand.
#[derive(Default)]
pub struct Revocations {
    held: ArcSwap<HashMap<Uuid, Standing>>,
    /// This instance's own changes of the last [`LOCAL_KEEP`].
    local: std::sync::Mutex<Vec<(Uuid, Standing, std::time::Instant)>>,
}

/// Puts `standing` for `principal` into `held` unless a later change is there already.
fn merge(held: &mut HashMap<Uuid, Standing>, principal: Uuid, standing: Standing) {
    let entry = held.entry(principal).or_insert(standing);
    if standing.version >= entry.version {
        *entry = standing;
    }
}

impl Revocations {
    /// Whether a token of `principal` at token version `version` is refused.
    pub fn refuses(&self, principal: Uuid, version: u32) -> bool {
        self.held
            .load()
            .get(&principal)
            .is_some_and(|s| s.barred || version < s.version)
    }

    /// A change made by this instance, in force here at once (unless a later change of the
    /// same principal is known already).
    pub fn add(&self, principal: Uuid, standing: Standing) {
        self.local.lock().unwrap_or_else(|p| p.into_inner()).push((
            principal,
            standing,
            std::time::Instant::now(),
        ));
        self.held.rcu(|held| {
            let mut next = HashMap::clone(held);
            merge(&mut next, principal, standing);
            next
        });
    }

    /// Reads the changes of the last `token_ttl_s` (tokens issued before them have expired
    /// since), at `now`.
    pub async fn reload(
        &self,
        db: &PgPool,
        now: DateTime<Utc>,
        token_ttl_s: i64,
    ) -> sqlx::Result<()> {
        let since = now - chrono::Duration::seconds(token_ttl_s.saturating_add(SKEW_S));
        let mut held: HashMap<Uuid, Standing> = store::keys_revoked_since(db, since)
            .await?
            .into_iter()
            .map(|key| (key, Standing::REVOKED))
            .collect();
        for change in store::user_tokens_changed_since(db, since).await? {
            let standing = Standing {
                version: change.token_version,
                barred: change.barred,
            };
            merge(&mut held, change.user, standing);
        }
        // this instance's recent changes stand, whatever the reading saw
        let mut local = self.local.lock().unwrap_or_else(|p| p.into_inner());
        local.retain(|(_, _, at)| at.elapsed() < LOCAL_KEEP);
        for (principal, standing, _) in local.iter() {
            merge(&mut held, *principal, *standing);
        }
        self.held.store(Arc::new(held));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn standing(version: u32, barred: bool) -> Standing {
        Standing { version, barred }
    }

    #[test]
    fn a_revoked_key_refuses_every_token_at_once_here_for_good() {
        let r = Revocations::default();
        let key = Uuid::now_v7();
        assert!(!r.refuses(key, 0));
        r.add(key, Standing::REVOKED);
        assert!(r.refuses(key, 0) && r.refuses(key, u32::MAX));
        r.add(key, standing(5, false));
        assert!(r.refuses(key, 9), "nothing outranks a revocation");
        assert!(!r.refuses(Uuid::now_v7(), 0));
    }

    #[test]
    fn a_changed_user_refuses_older_tokens_and_a_barred_one_every_token() {
        let r = Revocations::default();
        let user = Uuid::now_v7();
        r.add(user, standing(2, false));
        assert!(r.refuses(user, 0) && r.refuses(user, 1));
        assert!(!r.refuses(user, 2));
        r.add(user, standing(1, false));
        assert!(r.refuses(user, 1), "a late, older change lowers nothing");
        r.add(user, standing(3, true));
        assert!(r.refuses(user, 3), "disabled: even its newest tokens");
        r.add(user, standing(4, false));
        assert!(
            r.refuses(user, 3) && !r.refuses(user, 4),
            "enabled: new tokens only"
        );
    }
}
