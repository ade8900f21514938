//! Per-advertiser quotas: the most campaigns (not archived), users (not deleted) and API keys
//! (not revoked) one advertiser may have. Checked in the transaction that creates the object,
//! after a per-advertiser, per-kind lock, so two creations at once cannot both pass the last
//! free place.

use ledger::AdvertiserId;
use sqlx::PgConnection;

use crate::error::{ApiError, Result};
use crate::settings::Quotas;

/// What a quota counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quota {
    Campaigns,
    Users,
    ApiKeys,
}

impl Quota {
    fn limit(self, quotas: &Quotas) -> i64 {
        match self {
            Quota::Campaigns => quotas.campaigns,
            Quota::Users => quotas.users,
            Quota::ApiKeys => quotas.api_keys,
        }
    }

    fn what(self) -> &'static str {
        match self {
            Quota::Campaigns => "campaigns not archived",
            Quota::Users => "users",
            Quota::ApiKeys => "API keys not revoked",
        }
    }

    fn count_sql(self) -> &'static str {
        match self {
            Quota::Campaigns => {
                "select count(*) from campaigns where advertiser_id = $1 and status <> 'archived'"
            }
            Quota::Users => {
                "select count(*) from users where advertiser_id = $1 and deleted_at is null"
            }
            Quota::ApiKeys => {
                "select count(*) from api_keys where advertiser_id = $1 and revoked_at is null"
            }
        }
    }
}

/// Refuses (409) one more of `quota` for `advertiser` when it has its most already. Holds a
/// lock on (advertiser, quota) until the transaction ends.
pub async fn make_room(
    tx: &mut PgConnection,
    quotas: &Quotas,
    advertiser: AdvertiserId,
    quota: Quota,
) -> Result<()> {
    sqlx::query("select pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind(format!("quota:{quota:?}:{}", advertiser.0))
        .execute(&mut *tx)
        .await?;
    let count: i64 = sqlx::query_scalar(quota.count_sql())
        .bind(advertiser.0)
        .fetch_one(&mut *tx)
        .await?;
    if let Some(refusal) = refusal(quota, count, quota.limit(quotas)) {
        return Err(refusal);
    }
    Ok(())
}

/// The refusal of one more when `count` are there and `limit` is the most (pure).
fn refusal(quota: Quota, count: i64, limit: i64) -> Option<ApiError> {
    (count >= limit).then(|| {
        ApiError::Conflict(format!(
            "the advertiser has {count} {}, its most ({limit}); remove some first or ask an \
             operator to raise the quota",
            quota.what()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_place_is_given_and_the_next_refused_by_name() {
        assert!(refusal(Quota::Users, 1, 2).is_none());
        let refused = refusal(Quota::ApiKeys, 2, 2).expect("refused");
        assert!(
            refused
                .to_string()
                .contains("2 API keys not revoked, its most (2)"),
            "{refused}"
        );
        assert!(
            refusal(Quota::Campaigns, 5, 2).is_some(),
            "lowered below the count"
        );
    }
}
