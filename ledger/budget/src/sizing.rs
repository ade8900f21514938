//! Lease sizing. A server asks for `want`; it gets at most `remaining / (S × 10)`, where `S` is
//! the number of servers that held a lease on the campaign recently, so a budget is shared out
//! in pieces of a tenth of what is left from its first lease on: a small budget never goes to
//! one server whole, and as a campaign runs low the grants shrink with it, so no server sits on
//! a large unspent chunk while the others starve. A grant is never smaller than one
//! maximum-priced impression of the campaign (`unit`), so a lease can always pay for at least
//! one ad; once less than that remains nothing is granted (a lease that could pay for nothing
//! would only come back unspent, again and again).
//!
//! With `S` servers each holding at most `A`, at most `S × A` is in flight; near the end of a
//! budget `A` is one maximum-priced event, which bounds how far serving can run past the budget
//! before the ledger's hard cap refuses the rest.

/// What one allocation decision is made from, in micros.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SizingInput {
    /// What the server asks for.
    pub want: i64,
    /// Budget not yet granted to anyone.
    pub remaining: i64,
    /// Servers that held a lease on the campaign recently, the asker included.
    pub recent_servers: u32,
    /// The most one impression of the campaign costs a lease: the smallest useful grant.
    pub unit: i64,
}

/// The share of what remains that one server may be granted at once: one tenth, divided among
/// the recent servers.
pub const SHARE_DIVISOR: i64 = 10;

/// How much to grant. Zero when nothing remains or nothing is wanted.
pub fn lease_size(input: &SizingInput) -> i64 {
    let unit = input.unit.max(1);
    if input.want <= 0 || input.remaining < unit {
        return 0;
    }
    let grant = input.want.min(input.remaining);
    let servers = i128::from(input.recent_servers.max(1));
    let share = i128::from(input.remaining) / (servers * i128::from(SHARE_DIVISOR));
    // `share` is below `remaining`, which fits an i64.
    let share = i64::try_from(share).unwrap_or(input.remaining);
    grant.min(share.max(unit))
}

/// Whether `servers` recent servers could make the share smaller than `want`: only then does
/// the count of recent servers need to be exact (stale entries dropped), so most allocations
/// of a large budget skip that work.
pub fn share_may_bind(want: i64, remaining: i64, servers: u32) -> bool {
    i128::from(want) * i128::from(SHARE_DIVISOR) * i128::from(servers.max(1))
        > i128::from(remaining)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn size(want: i64, remaining: i64, servers: u32, unit: i64) -> i64 {
        lease_size(&SizingInput {
            want,
            remaining,
            recent_servers: servers,
            unit,
        })
    }

    #[test]
    fn plenty_left_grants_what_is_asked() {
        assert_eq!(size(5_000, 900_000, 10, 20), 5_000);
        assert_eq!(size(0, 900_000, 1, 20), 0);
        assert_eq!(size(5_000, 0, 1, 20), 0);
    }

    #[test]
    fn a_small_budget_is_shared_out_from_the_first_lease() {
        // a budget of 1.00 asked for 2.00 by the first server: a tenth of it
        assert_eq!(size(2_000_000, 1_000_000, 1, 9_000), 100_000);
        // 30% of a budget left, one server: a tenth of what is left, not all of it
        assert_eq!(size(5_000, 3_000, 1, 20), 300);
        // a budget of 0.01 at 9.00 CPM: one impression at a time
        assert_eq!(size(2_000_000, 10_000, 1, 9_000), 9_000);
    }

    #[test]
    fn what_is_left_is_shared_among_recent_servers() {
        // 50,000 left, 10 servers: 50,000 / 100 = 500 each
        assert_eq!(size(5_000, 50_000, 10, 20), 500);
        // one server alone gets a tenth of what is left
        assert_eq!(size(5_000, 50_000, 1, 20), 5_000);
        // never below one maximum-priced impression...
        assert_eq!(size(5_000, 1_000, 100, 300), 300);
        // ...and nothing once less than that remains
        assert_eq!(size(5_000, 120, 100, 300), 0);
        // and never above what was asked
        assert_eq!(size(100, 1_000, 100, 300), 100);
    }

    #[test]
    fn the_server_count_matters_only_when_the_share_could_bind() {
        assert!(!share_may_bind(5_000, 900_000, 10));
        assert!(share_may_bind(5_000, 900_000, 20));
        assert!(share_may_bind(2_000_000, 1_000_000, 1));
    }

    proptest! {
        #[test]
        fn grants_stay_within_bounds(
            want in 0i64..10_000_000,
            remaining in -1_000_000i64..10_000_000,
            servers in 0u32..1000,
            unit in 0i64..100_000,
        ) {
            let grant = size(want, remaining, servers, unit);
            prop_assert!(grant >= 0);
            prop_assert!(grant <= want.max(0).min(remaining.max(0)));
            if remaining < unit.max(1) {
                prop_assert_eq!(grant, 0);
            } else if want > 0 {
                // at least one impression's worth, or all that is wanted
                prop_assert!(grant >= want.min(unit.max(1)));
                let share = remaining / (i64::from(servers.max(1)) * 10);
                prop_assert!(grant <= share.max(unit.max(1)));
                if !share_may_bind(want, remaining, servers) {
                    prop_assert_eq!(grant, want.min(remaining));
                }
            }
        }
    }
}
