//! What a batch of served events asks of the ledger: one spend transfer per billed event, from
//! the campaign's hold to its spend account, with the event and the lease that paid for it as
//! references. Pure: the writer brings the accounts and posts the result.

use std::collections::HashMap;

use crate::event::ServedEvent;
use ledger::ids::CampaignId;
use ledger::reads::CampaignAccounts;
use ledger::transfer::{NewTransfer, References, TransferKind};

/// A batch's events sorted by what happens to them; indexes refer to the batch.
#[derive(Debug, Default)]
pub(crate) struct SpendPlan {
    /// Billed events and their spend transfers.
    pub transfers: Vec<(usize, NewTransfer)>,
    /// Billed events of campaigns without budget accounts.
    pub no_budget: Vec<usize>,
    /// Events that cost nothing (the event the billing does not name, or a price that rounds
    /// to nothing).
    pub free: Vec<usize>,
}

/// Plans the spend of `events`, given the accounts of their campaigns.
pub(crate) fn plan_spend(
    events: &[&ServedEvent],
    accounts: &HashMap<CampaignId, CampaignAccounts>,
) -> SpendPlan {
    let mut plan = SpendPlan::default();
    for (i, event) in events.iter().enumerate() {
        let Some(amount) = event.cost() else {
            plan.free.push(i);
            continue;
        };
        let Some(a) = accounts.get(&event.campaign) else {
            plan.no_budget.push(i);
            continue;
        };
        let transfer = NewTransfer::new(
            event.spend_id(),
            a.hold,
            a.spend,
            amount,
            a.currency,
            TransferKind::Spend,
        )
        .with_references(References {
            advertiser: a.advertiser,
            campaign: Some(event.campaign),
            event: Some(event.id.clone()),
            lease: Some(event.lease),
        });
        let transfer = match event.partner {
            Some(partner) => transfer.with_metadata(serde_json::json!({"partner": partner})),
            None => transfer,
        };
        plan.transfers.push((i, transfer));
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Billing, EventKind};
    use ledger::currency::Currency;
    use ledger::ids::{AccountId, LeaseId};
    use uuid::Uuid;

    fn event(id: &str, campaign: u128, kind: EventKind, billing: Billing) -> ServedEvent {
        ServedEvent {
            id: id.into(),
            kind,
            campaign: CampaignId(Uuid::from_u128(campaign)),
            lease: LeaseId(Uuid::from_u128(100 + campaign)),
            billing,
            price_micros: 2_000_000,
            at_ms: 0,
            ip: "192.0.2.1".into(),
            device: None,
            user_agent: None,
            invalid: None,
            partner: None,
            test: false,
        }
    }

    #[test]
    fn billed_events_become_spend_from_hold_to_spend_with_event_and_lease() {
        let usd = Currency::parse("USD").expect("usd");
        let accounts = HashMap::from([(
            CampaignId(Uuid::from_u128(1)),
            CampaignAccounts {
                hold: AccountId(10),
                spend: AccountId(11),
                currency: usd,
                advertiser: None,
            },
        )]);
        let events = [
            event("a:1", 1, EventKind::Impression, Billing::PerMille),
            event("a:1", 1, EventKind::Click, Billing::PerMille),
            event("b:1", 2, EventKind::Impression, Billing::PerMille),
            event("c:1", 1, EventKind::Click, Billing::PerClick),
        ];
        let refs: Vec<&ServedEvent> = events.iter().collect();
        let plan = plan_spend(&refs, &accounts);
        assert_eq!(plan.free, vec![1]);
        assert_eq!(plan.no_budget, vec![2]);
        let indexes: Vec<usize> = plan.transfers.iter().map(|(i, _)| *i).collect();
        assert_eq!(indexes, vec![0, 3]);
        let (_, cpm) = &plan.transfers[0];
        assert_eq!(cpm.id, events[0].spend_id());
        assert_eq!((cpm.debit, cpm.credit), (AccountId(10), AccountId(11)));
        assert_eq!(cpm.amount.to_string(), "0.002000");
        assert_eq!(cpm.kind, TransferKind::Spend);
        assert_eq!(cpm.references.event.as_deref(), Some("a:1"));
        assert_eq!(cpm.references.lease, Some(events[0].lease));
        assert_eq!(plan.transfers[1].1.amount.to_string(), "2.000000");
    }
}
