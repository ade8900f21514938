//! How much of the advertiser's cash a campaign should hold, and what transfer gets it there.
//! Pure: the caller loads the balances, calls these, and posts the result.

use domain::campaign_status::Status;
use rust_decimal::Decimal;

use domain::campaign::Budget;

/// What the campaign's spend has been, for its budgets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Spent {
    /// Over the campaign's life.
    pub total: Decimal,
    /// Since the start of the current day in the campaign's time zone.
    pub today: Decimal,
}

/// The hold an active campaign should have: what is left of today's budget and of the lifetime
/// budget, whichever is less. Any other status holds nothing.
pub fn target_hold(budget: &Budget, status: Status, spent: Spent) -> Decimal {
    if status != Status::Active {
        return Decimal::ZERO;
    }
    let daily = budget.daily.map(|d| d.as_decimal() - spent.today);
    let lifetime = budget.lifetime.map(|l| l.as_decimal() - spent.total);
    let left = match (daily, lifetime) {
        (Some(d), Some(l)) => d.min(l),
        (Some(d), None) => d,
        (None, Some(l)) => l,
        (None, None) => Decimal::ZERO,
    };
    left.max(Decimal::ZERO)
}

/// A movement between the advertiser's cash and the campaign's hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldChange {
    /// Take this much more from cash.
    Hold(Decimal),
    /// Give this much back to cash.
    Release(Decimal),
    None,
}

/// The change that brings `held` to `target`. Budget leased out to servers and not yet settled
/// (`leased`) cannot be released: servers may still spend it. What stays behind is released
/// by a later sweep, once the leases are settled.
pub fn hold_change(target: Decimal, held: Decimal, leased: Decimal) -> HoldChange {
    if target > held {
        return HoldChange::Hold(target - held);
    }
    let releasable = (held - target).min(held - leased.min(held));
    if releasable > Decimal::ZERO {
        HoldChange::Release(releasable)
    } else {
        HoldChange::None
    }
}

/// Whether an active campaign has spent its lifetime budget.
pub fn exhausted(budget: &Budget, spent: Spent) -> bool {
    budget
        .lifetime
        .is_some_and(|l| spent.total >= l.as_decimal())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ledger::Amount;
    use proptest::prelude::*;

    fn amount(s: &str) -> Option<Amount> {
        Some(Amount::parse(s).expect("amount"))
    }

    fn d(s: &str) -> Decimal {
        s.parse().expect("decimal")
    }

    #[test]
    fn an_active_campaign_holds_what_is_left_of_the_tighter_budget() {
        let both = Budget {
            daily: amount("100"),
            lifetime: amount("250"),
        };
        let spent = |total: &str, today: &str| Spent {
            total: d(total),
            today: d(today),
        };
        assert_eq!(
            target_hold(&both, Status::Active, spent("0", "0")),
            d("100")
        );
        assert_eq!(
            target_hold(&both, Status::Active, spent("200", "30")),
            d("50")
        );
        assert_eq!(
            target_hold(&both, Status::Active, spent("260", "0")),
            d("0")
        );
        assert_eq!(target_hold(&both, Status::Paused, spent("0", "0")), d("0"));
        let lifetime = Budget {
            daily: None,
            lifetime: amount("250"),
        };
        assert_eq!(
            target_hold(&lifetime, Status::Active, spent("20", "20")),
            d("230")
        );
        assert!(exhausted(&lifetime, spent("250", "0")));
        assert!(!exhausted(&both, spent("249.999999", "0")));
    }

    #[test]
    fn leased_budget_is_never_released() {
        assert_eq!(
            hold_change(d("100"), d("40"), d("0")),
            HoldChange::Hold(d("60"))
        );
        assert_eq!(
            hold_change(d("0"), d("40"), d("10")),
            HoldChange::Release(d("30"))
        );
        assert_eq!(hold_change(d("0"), d("40"), d("50")), HoldChange::None);
        assert_eq!(hold_change(d("40"), d("40"), d("0")), HoldChange::None);
    }

    proptest! {
        #[test]
        fn a_change_lands_on_the_target_or_keeps_the_leases(
            target in 0i64..1_000_000, held in 0i64..1_000_000, leased in 0i64..1_000_000,
        ) {
            let (target, held, leased) =
                (Decimal::new(target, 2), Decimal::new(held, 2), Decimal::new(leased, 2));
            let after = match hold_change(target, held, leased) {
                HoldChange::Hold(a) => { prop_assert!(a > Decimal::ZERO); held + a }
                HoldChange::Release(a) => { prop_assert!(a > Decimal::ZERO); held - a }
                HoldChange::None => held,
            };
            prop_assert!(after >= Decimal::ZERO);
            prop_assert!(after >= target.min(held.max(target)));
            prop_assert!(after == target || after >= leased.min(held));
            prop_assert!(after <= target.max(held));
        }
    }
}
