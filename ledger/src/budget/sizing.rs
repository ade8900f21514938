//! Lease sizing. A server asks for `want`; it gets `min(want, remaining)` while the campaign has
//! plenty left. Once less than a tenth of the budget remains, grants shrink to
//! `remaining / (S × 10)`, where `S` is the number of servers that held a lease on the campaign
//! recently, so the last of the budget is shared out in small pieces and no server sits on a large
//! unspent chunk while the others starve. A grant is never smaller than one maximum-priced
//! impression unless less than that remains, so a lease can always pay for at least one ad.
//!
//! With `S` servers each holding at most `A`, at most `S × A` is in flight: that bounds how far
//! serving can run past the budget before the ledger's hard cap refuses the rest.

/// What one allocation decision is made from, in micros.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SizingInput {
    /// What the server asks for.
    pub want: i64,
    /// Budget not yet granted to anyone.
    pub remaining: i64,
    /// The campaign's whole budget.
    pub budget: i64,
    /// Servers that held a lease on the campaign recently, the asker included.
    pub recent_servers: u32,
    /// The price of one maximum-priced impression.
    pub max_price: i64,
}

/// The share of the budget below which grants shrink: one tenth.
const LOW_BUDGET_DIVISOR: i128 = 10;

/// How much to grant. Zero when nothing remains or nothing is wanted.
pub fn lease_size(input: &SizingInput) -> i64 {
    if input.want <= 0 || input.remaining <= 0 {
        return 0;
    }
    let grant = input.want.min(input.remaining);
    let remaining = i128::from(input.remaining);
    if remaining * LOW_BUDGET_DIVISOR >= i128::from(input.budget) {
        return grant;
    }
    let servers = i128::from(input.recent_servers.max(1));
    let share = remaining / (servers * LOW_BUDGET_DIVISOR);
    // `share` is below `remaining`, which fits an i64.
    let share = i64::try_from(share).unwrap_or(input.remaining);
    let at_least = input.max_price.max(1).min(input.remaining);
    grant.min(share.max(at_least))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn size(want: i64, remaining: i64, budget: i64, servers: u32, max_price: i64) -> i64 {
        lease_size(&SizingInput {
            want,
            remaining,
            budget,
            recent_servers: servers,
            max_price,
        })
    }

    #[test]
    fn plenty_left_grants_what_is_asked() {
        assert_eq!(size(5_000, 900_000, 1_000_000, 10, 20), 5_000);
        assert_eq!(size(5_000, 3_000, 10_000, 1, 20), 3_000); // 30% left: all of it
        assert_eq!(size(0, 900_000, 1_000_000, 1, 20), 0);
        assert_eq!(size(5_000, 0, 1_000_000, 1, 20), 0);
    }

    #[test]
    fn the_last_tenth_is_shared_among_recent_servers() {
        // 50,000 left of 1,000,000 (5%), 10 servers: 50,000 / 100 = 500 each
        assert_eq!(size(5_000, 50_000, 1_000_000, 10, 20), 500);
        // one server alone gets a tenth of what is left
        assert_eq!(size(5_000, 50_000, 1_000_000, 1, 20), 5_000);
        // never below one maximum-priced impression...
        assert_eq!(size(5_000, 1_000, 1_000_000, 100, 300), 300);
        // ...unless less than that remains
        assert_eq!(size(5_000, 120, 1_000_000, 100, 300), 120);
        // and never above what was asked
        assert_eq!(size(100, 1_000, 1_000_000, 100, 300), 100);
    }

    proptest! {
        #[test]
        fn grants_stay_within_bounds(
            want in 0i64..10_000_000,
            remaining in 0i64..10_000_000,
            budget in 1i64..10_000_000,
            servers in 0u32..1000,
            max_price in 0i64..100_000,
        ) {
            let grant = size(want, remaining, budget, servers, max_price);
            prop_assert!(grant >= 0);
            prop_assert!(grant <= want.min(remaining));
            if want > 0 && remaining > 0 {
                // at least one impression's worth, or all that is wanted or left
                prop_assert!(grant >= want.min(remaining).min(max_price.max(1)));
            }
            if i128::from(remaining) * 10 < i128::from(budget) && servers > 0 {
                let share = remaining / (i64::from(servers) * 10);
                prop_assert!(grant <= share.max(max_price.max(1).min(remaining)));
            }
        }
    }
}
