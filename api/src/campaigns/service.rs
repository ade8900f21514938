//! Campaign changes, each one transaction: load and lock, decide (validation, status machine,
//! holds), write the campaign, its money and its feed revision together.

use chrono::{DateTime, SubsecRound, Utc};
use domain::campaign_status::{Action, Status, transition};
use ledger::{AccountOwner, AdvertiserId, CampaignId};
use uuid::Uuid;

use super::hold_sync::{self, Synced};
use super::holds::{self, HoldChange};
use super::model::StoredCampaign;
use super::{store, validate};
use crate::advertisers::quotas::{self, Quota};
use crate::audit_records::{self, Change};
use crate::campaigns::feed_log;
use crate::error::{ApiError, Result};
use crate::extract::Actor;
use crate::http::json::strictly;
use crate::state::AppState;
use domain::campaign::Campaign;
use domain::campaign::{CampaignInput, CampaignSpec};

/// Whether a creation made the campaign or found the one an earlier request with the same
/// idempotency key made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Creation {
    Created,
    Replayed,
}

/// Creates a draft campaign for `advertiser`. With an idempotency `key`, a campaign created
/// earlier with the same key and the same settings is returned instead (a retry); other settings
/// under the same key are a conflict.
pub async fn create(
    state: &AppState,
    actor: &Actor,
    advertiser: AdvertiserId,
    input: &CampaignInput,
    key: Option<&str>,
) -> Result<(Campaign, Creation)> {
    let spec = validate::validate(input).map_err(ApiError::Invalid)?;
    let mut tx = state.db.begin().await?;
    let currency: Option<String> =
        sqlx::query_scalar("select currency from advertisers where id = $1 for share")
            .bind(advertiser.0)
            .fetch_optional(&mut *tx)
            .await?;
    let currency = match currency {
        Some(c) if actor.principal.sees(advertiser) => c.trim().to_owned(),
        _ => {
            return Err(ApiError::field("advertiser_id", "no such advertiser"));
        }
    };
    if let Some(key) = key {
        store::lock_key(&mut tx, advertiser, key).await?;
    }
    if let Some(key) = key
        && let Some(earlier) = store::created_with_key(&mut tx, advertiser, key).await?
    {
        let campaign = store::get(&mut *tx, earlier)
            .await?
            .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("keyed campaign {earlier} gone")))?;
        if campaign.spec != spec {
            return Err(ApiError::Conflict(
                "this Idempotency-Key was used for a campaign with other settings".into(),
            ));
        }
        return Ok((campaign, Creation::Replayed));
    }
    quotas::make_room(
        &mut tx,
        &state.settings.quotas,
        advertiser,
        Quota::Campaigns,
    )
    .await?;
    let id = CampaignId(Uuid::now_v7());
    let code = crate::error::stored_currency(&currency)?;
    for owner in [
        AccountOwner::CampaignHold {
            advertiser,
            campaign: id,
        },
        AccountOwner::CampaignSpend {
            advertiser,
            campaign: id,
        },
    ] {
        state.ledger.open_account_in(&mut tx, owner, code).await?;
    }
    let now = state.clock.now().trunc_subsecs(6);
    let stored = StoredCampaign {
        campaign: Campaign {
            id,
            advertiser_id: advertiser,
            status: Status::Draft,
            currency: code,
            revision: feed_log::next_revision(&mut tx).await?,
            created_at: now,
            updated_at: now,
            spec,
        },
        hold_seq: 0,
        held_day: None,
    };
    store::save(&mut tx, &stored).await?;
    feed_log::record(&mut tx, &stored.campaign).await?;
    let entry = Change::of("campaign.create", object(id), Some(advertiser.0))
        .after(&stored.campaign)?
        .by(actor, now);
    audit_records::change::record(state, &mut tx, &entry).await?;
    if let Some(key) = key
        && !store::record_key(&mut tx, advertiser, key, id).await?
    {
        return Err(ApiError::Conflict(
            "another request with this Idempotency-Key created a campaign meanwhile; retry to get it"
                .into(),
        ));
    }
    tx.commit().await?;
    Ok((stored.campaign, Creation::Created))
}

/// A campaign as the audit trail names it.
fn object(id: CampaignId) -> String {
    format!("campaign:{}", id.0)
}

/// Applies a JSON merge patch (RFC 7386) to the campaign's settings.
pub async fn update(
    state: &AppState,
    actor: &Actor,
    id: CampaignId,
    patch: &serde_json::Value,
) -> Result<Campaign> {
    change(state, actor, id, "campaign.update", |stored| {
        let status = stored.campaign.status;
        if !status.editable() {
            return Err(ApiError::Conflict(format!(
                "a campaign that is {status} cannot be edited"
            )));
        }
        let mut document = serde_json::to_value(stored.campaign.spec.to_input())
            .map_err(|e| ApiError::Internal(e.into()))?;
        merge(&mut document, patch);
        let input: CampaignInput = strictly(document)?;
        stored.campaign.spec = validate::validate(&input).map_err(ApiError::Invalid)?;
        Ok(())
    })
    .await
}

/// Runs a status action (activate, pause, resume, archive).
pub async fn act(
    state: &AppState,
    actor: &Actor,
    id: CampaignId,
    action: Action,
) -> Result<Campaign> {
    let now = state.clock.now().trunc_subsecs(6);
    change(state, actor, id, action.audit_action(), |stored| {
        let from = stored.campaign.status;
        let to = transition(from, action).map_err(|e| ApiError::Conflict(e.to_string()))?;
        if to == Status::Active && from != Status::Active {
            check_can_run(&stored.campaign.spec, now)?;
        }
        stored.campaign.status = to;
        Ok(())
    })
    .await
}

/// What an activation needs beyond the status machine.
fn check_can_run(spec: &CampaignSpec, now: DateTime<Utc>) -> Result<()> {
    if spec.creatives.is_empty() {
        return Err(ApiError::Conflict(
            "a campaign needs a creative to run".into(),
        ));
    }
    if spec.schedule.end.is_some_and(|end| end <= now) {
        return Err(ApiError::Conflict(
            "the campaign's schedule has ended".into(),
        ));
    }
    Ok(())
}

/// The shape of every owner change: lock, check visibility, apply `edit`, sync the hold, and
/// write the campaign with a new revision, and its audit entry (`action`), when anything
/// changed.
async fn change(
    state: &AppState,
    actor: &Actor,
    id: CampaignId,
    action: &'static str,
    edit: impl FnOnce(&mut StoredCampaign) -> Result<()>,
) -> Result<Campaign> {
    let mut tx = state.db.begin().await?;
    let mut stored = match store::lock(&mut tx, id).await? {
        Some(s) if actor.principal.sees(s.campaign.advertiser_id) => s,
        _ => return Err(ApiError::NotFound("campaign")),
    };
    let before = stored.campaign.clone();
    edit(&mut stored)?;
    if stored.campaign == before {
        return Ok(before);
    }
    let now = state.clock.now().trunc_subsecs(6);
    // Only a new status or budget moves money; a rename or a targeting edit does no ledger work.
    let money_moves = stored.campaign.status != before.status
        || stored.campaign.spec.budget != before.spec.budget;
    if money_moves {
        hold_sync::sync_hold(&state.ledger, &mut tx, &mut stored, now).await?;
    }
    stored.campaign.updated_at = now;
    stored.campaign.revision = feed_log::next_revision(&mut tx).await?;
    store::save(&mut tx, &stored).await?;
    feed_log::record(&mut tx, &stored.campaign).await?;
    let entry = Change::of(action, object(id), Some(before.advertiser_id.0))
        .before(&before)?
        .after(&stored.campaign)?
        .by(actor, now);
    audit_records::change::record(state, &mut tx, &entry).await?;
    tx.commit().await?;
    if money_moves {
        refresh_budget(state, id).await;
    }
    Ok(stored.campaign)
}

/// Brings the budget controller's Redis copy up to the campaign's budget in the ledger, right
/// after it changed (activated, resumed, paused, a new budget, a new day): the campaign's state
/// is installed or resized there, so its first bid request finds it ready and no lease is
/// granted from a budget that is gone. When that fails (Redis away, another rebuild holding
/// the campaign), the campaign is remembered and every hold sweep tries again until it works.
async fn refresh_budget(state: &AppState, id: CampaignId) {
    let refreshed = match state.budgets.refresh(id).await {
        Ok(_) => true,
        // a campaign that never held a budget has nothing to install
        Err(budget::ControllerError::NoBudget(_)) => true,
        Err(e) => {
            tracing::warn!(campaign = %id.0, error = %e,
                "could not bring the campaign's budget in Redis up to the ledger; the hold sweep will try again");
            false
        }
    };
    let mut owed = state.unrefreshed.lock().unwrap_or_else(|p| p.into_inner());
    if refreshed {
        owed.remove(&id);
    } else {
        owed.insert(id);
    }
}

/// Tries again the budget changes that did not reach Redis.
async fn retry_refreshes(state: &AppState) {
    let owed: Vec<CampaignId> = state
        .unrefreshed
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .copied()
        .collect();
    for id in owed {
        refresh_budget(state, id).await;
    }
}

/// Brings every campaign that needs it in line: daily budgets roll over at local midnight,
/// campaigns past their end become `ended`, active campaigns that spent their lifetime budget
/// become `exhausted`, and what stopped campaigns still hold goes back to cash once no lease
/// needs it; budget changes that did not reach Redis are tried again. Returns how many
/// campaigns changed.
pub async fn sweep_holds(state: &AppState) -> anyhow::Result<usize> {
    retry_refreshes(state).await;
    let now = state.clock.now().trunc_subsecs(6);
    let mut changed = 0;
    let holding = ledger::reads::campaigns_holding_money(&state.db).await?;
    for id in store::needing_hold_sweep(&state.db, now, &holding).await? {
        match sweep_one(state, id, now).await {
            Ok(true) => changed += 1,
            Ok(false) => {}
            Err(e) => tracing::warn!(campaign = %id, error = %e, "hold sweep skipped a campaign"),
        }
    }
    Ok(changed)
}

/// Who the audit trail says ended or exhausted a campaign.
const SWEEPER: &str = "hold-sweep";

async fn sweep_one(state: &AppState, id: CampaignId, now: DateTime<Utc>) -> Result<bool> {
    let mut tx = state.db.begin().await?;
    let Some(mut stored) = store::lock(&mut tx, id).await? else {
        return Ok(false);
    };
    let before = stored.clone();
    if stored.campaign.status == Status::Active
        && stored
            .campaign
            .spec
            .schedule
            .end
            .is_some_and(|end| end <= now)
    {
        stored.campaign.status = Status::Ended;
    }
    let mut synced: Synced = hold_sync::sync_hold(&state.ledger, &mut tx, &mut stored, now).await?;
    if stored.campaign.status == Status::Active
        && holds::exhausted(&stored.campaign.spec.budget, synced.spent)
    {
        stored.campaign.status = Status::Exhausted;
        let more = hold_sync::sync_hold(&state.ledger, &mut tx, &mut stored, now).await?;
        if more.change != HoldChange::None {
            synced = more;
        }
    }
    let status_changed = stored.campaign.status != before.campaign.status;
    if status_changed {
        stored.campaign.updated_at = now;
        stored.campaign.revision = feed_log::next_revision(&mut tx).await?;
        feed_log::record(&mut tx, &stored.campaign).await?;
        let action = match stored.campaign.status {
            Status::Ended => "campaign.end",
            _ => "campaign.exhaust",
        };
        let entry = Change::of(action, object(id), Some(before.campaign.advertiser_id.0))
            .before(&before.campaign)?
            .after(&stored.campaign)?
            .by_service(SWEEPER, now);
        audit_records::change::record(state, &mut tx, &entry).await?;
    }
    let changed =
        status_changed || stored.hold_seq != before.hold_seq || stored.held_day != before.held_day;
    if changed {
        store::save(&mut tx, &stored).await?;
    }
    tx.commit().await?;
    if status_changed || synced.change != HoldChange::None {
        refresh_budget(state, id).await;
    }
    Ok(changed)
}

/// RFC 7386: objects merge key by key, `null` removes, anything else replaces. One thing more,
/// for the strict reading that follows: a `null` for a key the target lacks stays, as `null`,
/// so a field the patch names that no campaign has is refused by name rather than passed over
/// (for a field the settings know, `null` reads as absent, as RFC 7386 means).
pub fn merge(target: &mut serde_json::Value, patch: &serde_json::Value) {
    use serde_json::Value;
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(serde_json::Map::new());
    }
    if let Value::Object(map) = target {
        for (key, value) in patch {
            if value.is_null() {
                if map.remove(key).is_none() {
                    map.insert(key.clone(), Value::Null);
                }
            } else {
                merge(map.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_follows_rfc_7386() {
        let mut doc = json!({"a": "b", "c": {"d": "e", "f": "g"}, "l": [1, 2]});
        merge(&mut doc, &json!({"a": "z", "c": {"f": null}, "l": [3]}));
        assert_eq!(doc, json!({"a": "z", "c": {"d": "e"}, "l": [3]}));
    }

    #[test]
    fn removing_a_key_the_target_lacks_leaves_it_named() {
        let mut doc = json!({"a": "b"});
        merge(&mut doc, &json!({"nothing": null, "c": {"gone": null}}));
        assert_eq!(doc, json!({"a": "b", "nothing": null, "c": {"gone": null}}));
    }
}
