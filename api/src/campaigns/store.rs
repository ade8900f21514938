//! `campaigns`: the SQL, one function per question.

use chrono::NaiveDate;
use domain::campaign_status::Status;
use ledger::{AdvertiserId, Amount, CampaignId, Currency};
use rust_decimal::Decimal;
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::{PgConnection, PgExecutor, Row};
use uuid::Uuid;

use super::model::StoredCampaign;
use domain::campaign::Campaign;
use domain::campaign::{Bid, BidKind, Budget, CampaignSpec, Pacing};

const COLUMNS: &str = "id, advertiser_id, name, status, currency, daily_budget, lifetime_budget, \
     bid_kind, bid_amount, pacing, schedule, targeting, frequency_cap, creatives, hold_seq, \
     held_day, revision, created_at, updated_at";

fn amount(value: Option<Decimal>) -> anyhow::Result<Option<Amount>> {
    value
        .map(|v| Amount::try_from(v).map_err(|e| anyhow::anyhow!("stored amount {v}: {e}")))
        .transpose()
}

fn stored(row: &PgRow) -> anyhow::Result<StoredCampaign> {
    let status: String = row.try_get("status")?;
    let bid_kind: String = row.try_get("bid_kind")?;
    let pacing: String = row.try_get("pacing")?;
    let spec = CampaignSpec {
        name: row.try_get("name")?,
        schedule: row.try_get::<Json<_>, _>("schedule")?.0,
        budget: Budget {
            daily: amount(row.try_get("daily_budget")?)?,
            lifetime: amount(row.try_get("lifetime_budget")?)?,
        },
        bid: Bid {
            kind: if bid_kind == "cpc" {
                BidKind::Cpc
            } else {
                BidKind::Cpm
            },
            amount: amount(Some(row.try_get("bid_amount")?))?
                .ok_or_else(|| anyhow::anyhow!("no bid"))?,
        },
        pacing: if pacing == "accelerated" {
            Pacing::Accelerated
        } else {
            Pacing::Even
        },
        targeting: row.try_get::<Json<_>, _>("targeting")?.0,
        frequency_cap: row
            .try_get::<Option<Json<_>>, _>("frequency_cap")?
            .map(|j| j.0),
        creatives: row.try_get::<Json<_>, _>("creatives")?.0,
    };
    let currency: String = row.try_get("currency")?;
    Ok(StoredCampaign {
        campaign: Campaign {
            id: CampaignId(row.try_get("id")?),
            advertiser_id: AdvertiserId(row.try_get("advertiser_id")?),
            status: status.parse().map_err(anyhow::Error::msg)?,
            currency: Currency::parse(currency.trim())?,
            revision: row.try_get("revision")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
            spec,
        },
        hold_seq: row.try_get("hold_seq")?,
        held_day: row.try_get("held_day")?,
    })
}

fn bid_kind(kind: BidKind) -> &'static str {
    match kind {
        BidKind::Cpm => "cpm",
        BidKind::Cpc => "cpc",
    }
}

fn pacing(p: Pacing) -> &'static str {
    match p {
        Pacing::Even => "even",
        Pacing::Accelerated => "accelerated",
    }
}

/// Writes a campaign (insert or full update) with its hold bookkeeping.
pub async fn save(conn: &mut PgConnection, stored: &StoredCampaign) -> Result<(), sqlx::Error> {
    let c = &stored.campaign;
    let s = &c.spec;
    sqlx::query(
        r"insert into campaigns (id, advertiser_id, name, status, currency, daily_budget,
              lifetime_budget, bid_kind, bid_amount, pacing, schedule, targeting, frequency_cap,
              creatives, hold_seq, held_day, revision, created_at, updated_at)
          values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
          on conflict (id) do update set
              name = excluded.name, status = excluded.status, daily_budget = excluded.daily_budget,
              lifetime_budget = excluded.lifetime_budget, bid_kind = excluded.bid_kind,
              bid_amount = excluded.bid_amount, pacing = excluded.pacing,
              schedule = excluded.schedule, targeting = excluded.targeting,
              frequency_cap = excluded.frequency_cap, creatives = excluded.creatives,
              hold_seq = excluded.hold_seq, held_day = excluded.held_day,
              revision = excluded.revision, updated_at = excluded.updated_at",
    )
    .bind(c.id.0)
    .bind(c.advertiser_id.0)
    .bind(&s.name)
    .bind(c.status.as_str())
    .bind(c.currency.code())
    .bind(s.budget.daily.map(Amount::as_decimal))
    .bind(s.budget.lifetime.map(Amount::as_decimal))
    .bind(bid_kind(s.bid.kind))
    .bind(s.bid.amount.as_decimal())
    .bind(pacing(s.pacing))
    .bind(Json(&s.schedule))
    .bind(Json(&s.targeting))
    .bind(s.frequency_cap.map(Json))
    .bind(Json(&s.creatives))
    .bind(stored.hold_seq)
    .bind(stored.held_day)
    .bind(c.revision)
    .bind(c.created_at)
    .bind(c.updated_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Loads and locks a campaign for a change.
pub async fn lock(
    conn: &mut PgConnection,
    id: CampaignId,
) -> anyhow::Result<Option<StoredCampaign>> {
    let row = sqlx::query(&format!(
        "select {COLUMNS} from campaigns where id = $1 for update"
    ))
    .bind(id.0)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(stored).transpose()
}

/// One campaign.
pub async fn get<'e>(db: impl PgExecutor<'e>, id: CampaignId) -> anyhow::Result<Option<Campaign>> {
    let row = sqlx::query(&format!("select {COLUMNS} from campaigns where id = $1"))
        .bind(id.0)
        .fetch_optional(db)
        .await?;
    Ok(row.as_ref().map(stored).transpose()?.map(|s| s.campaign))
}

/// A page of campaigns after `after` (by id), optionally of one advertiser and status.
pub async fn list<'e>(
    db: impl PgExecutor<'e>,
    advertiser: Option<Uuid>,
    status: Option<Status>,
    after: Option<Uuid>,
    limit: i64,
) -> anyhow::Result<Vec<Campaign>> {
    let rows = sqlx::query(&format!(
        r"select {COLUMNS} from campaigns
           where ($1::uuid is null or advertiser_id = $1)
             and ($2::text is null or status = $2)
             and ($3::uuid is null or id > $3)
           order by id limit $4"
    ))
    .bind(advertiser)
    .bind(status.map(Status::as_str))
    .bind(after)
    .bind(limit)
    .fetch_all(db)
    .await?;
    rows.iter().map(|r| Ok(stored(r)?.campaign)).collect()
}

/// Up to `limit` campaigns not archived, in id order, after `after`: a page of the feed's
/// snapshot.
pub async fn live_page(
    conn: &mut PgConnection,
    after: Option<Uuid>,
    limit: i64,
) -> anyhow::Result<Vec<Campaign>> {
    let rows = sqlx::query(&format!(
        "select {COLUMNS} from campaigns
          where status <> 'archived' and ($1::uuid is null or id > $1)
          order by id limit $2"
    ))
    .bind(after)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter().map(|r| Ok(stored(r)?.campaign)).collect()
}

/// Campaigns whose hold may need to move: active ones whose local day has turned since their
/// daily budget was held, whose schedule has ended, or whose hold is empty (perhaps exhausted);
/// and campaigns no longer active that still hold money. `holding` names the campaigns whose
/// hold holds money (the ledger says which: [`ledger::reads::campaigns_holding_money`]).
pub async fn needing_hold_sweep<'e>(
    db: impl PgExecutor<'e>,
    now: chrono::DateTime<chrono::Utc>,
    holding: &[CampaignId],
) -> anyhow::Result<Vec<CampaignId>> {
    let holding: Vec<Uuid> = holding.iter().map(|c| c.0).collect();
    let ids: Vec<Uuid> = sqlx::query_scalar(
        r"select c.id from campaigns c
           where (c.status = 'active'
                  and ((c.daily_budget is not null
                        and c.held_day is distinct from ($1 at time zone (c.schedule->>'time_zone'))::date)
                       or (c.schedule->>'end')::timestamptz <= $1
                       or not c.id = any($2)))
              or (c.status <> 'active' and c.id = any($2))
           order by c.id",
    )
    .bind(now)
    .bind(holding)
    .fetch_all(db)
    .await?;
    Ok(ids.into_iter().map(CampaignId).collect())
}

/// The local day `date` in the time zone, for `held_day`.
pub fn local_day(now: chrono::DateTime<chrono::Utc>, tz: chrono_tz::Tz) -> NaiveDate {
    now.with_timezone(&tz).date_naive()
}

/// Makes creations with the same advertiser and idempotency `key` take turns until the
/// transaction ends: a retry sent while the first request is still at work waits for it, then
/// finds its campaign.
pub async fn lock_key(
    conn: &mut PgConnection,
    advertiser: AdvertiserId,
    key: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("select pg_advisory_xact_lock(hashtextextended($1, 7741))")
        .bind(format!("campaign-key:{}:{key}", advertiser.0))
        .execute(conn)
        .await?;
    Ok(())
}

/// The campaign created for `advertiser` with the idempotency `key`, if any.
pub async fn created_with_key(
    conn: &mut PgConnection,
    advertiser: AdvertiserId,
    key: &str,
) -> Result<Option<CampaignId>, sqlx::Error> {
    let id: Option<Uuid> = sqlx::query_scalar(
        "select campaign_id from campaign_idempotency_keys
          where advertiser_id = $1 and idempotency_key = $2",
    )
    .bind(advertiser.0)
    .bind(key)
    .fetch_optional(conn)
    .await?;
    Ok(id.map(CampaignId))
}

/// Records that `campaign` was created for `advertiser` with the idempotency `key`; false when
/// the key was taken meanwhile (by a concurrent request with the same key).
pub async fn record_key(
    conn: &mut PgConnection,
    advertiser: AdvertiserId,
    key: &str,
    campaign: CampaignId,
) -> Result<bool, sqlx::Error> {
    let recorded = sqlx::query(
        "insert into campaign_idempotency_keys (advertiser_id, idempotency_key, campaign_id)
         values ($1, $2, $3) on conflict do nothing",
    )
    .bind(advertiser.0)
    .bind(key)
    .bind(campaign.0)
    .execute(conn)
    .await?;
    Ok(recorded.rows_affected() == 1)
}
