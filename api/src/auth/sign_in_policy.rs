//! How hard sign-in is made for those who keep failing it, the pure part. Failed attempts are
//! counted per source address and per account (a user name, or an API key's id) over a
//! window; past a few free failures each further attempt waits twice as long as the last, up to
//! a ceiling. An address slows down after five failures, an account only after twenty (from
//! any addresses): an attacker's address is slowed long before the account is. And an account
//! is never slowed for an address it was signed in from lately: strangers cannot lock its
//! owner out.

/// The limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignInPolicy {
    /// How long a failure is remembered after the last one, milliseconds.
    pub window_ms: i64,
    /// Failures an address may make before it waits.
    pub address_free: u32,
    /// Failures an account may see before strangers wait.
    pub account_free: u32,
    /// The longest wait, seconds.
    pub longest_wait_s: u64,
    /// How long a successful sign-in makes its address known to the account, milliseconds.
    pub known_for_ms: i64,
}

impl Default for SignInPolicy {
    fn default() -> Self {
        SignInPolicy {
            window_ms: 15 * 60 * 1000,
            address_free: 5,
            account_free: 20,
            longest_wait_s: 15 * 60,
            known_for_ms: 30 * 24 * 3600 * 1000,
        }
    }
}

/// The failures counted for one key: how many, and when the last was (Unix milliseconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Failures {
    pub count: u32,
    pub last_ms: i64,
}

/// What the counts say of an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// It may be tried.
    Go,
    /// Not before this many seconds (at least 1).
    Wait(u64),
}

impl SignInPolicy {
    /// The wait `failures` impose at `now_ms` when `free` of them are free: after the free
    /// ones, 1 s after the last failure, then 2, 4, ... up to the longest wait.
    pub fn wait(&self, failures: Failures, free: u32, now_ms: i64) -> Verdict {
        if failures.count < free || now_ms - failures.last_ms >= self.window_ms {
            return Verdict::Go;
        }
        let beyond = failures.count - free;
        let wait_s = 1_u64
            .checked_shl(beyond)
            .unwrap_or(u64::MAX)
            .min(self.longest_wait_s);
        let until_ms = failures
            .last_ms
            .saturating_add(i64::try_from(wait_s * 1000).unwrap_or(i64::MAX));
        if now_ms >= until_ms {
            Verdict::Go
        } else {
            Verdict::Wait(
                u64::try_from((until_ms - now_ms + 999) / 1000)
                    .unwrap_or(1)
                    .max(1),
            )
        }
    }

    /// The verdict on an attempt from an address with `address` failures on an account with
    /// `account` failures; `known`: the account was signed in from this address lately.
    pub fn judge(&self, address: Failures, account: Failures, known: bool, now_ms: i64) -> Verdict {
        let by_address = self.wait(address, self.address_free, now_ms);
        let by_account = if known {
            Verdict::Go
        } else {
            self.wait(account, self.account_free, now_ms)
        };
        match (by_address, by_account) {
            (Verdict::Wait(a), Verdict::Wait(b)) => Verdict::Wait(a.max(b)),
            (Verdict::Wait(a), Verdict::Go) | (Verdict::Go, Verdict::Wait(a)) => Verdict::Wait(a),
            (Verdict::Go, Verdict::Go) => Verdict::Go,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_780_000_000_000;

    fn failed(count: u32, seconds_ago: i64) -> Failures {
        Failures {
            count,
            last_ms: NOW - seconds_ago * 1000,
        }
    }

    #[test]
    fn an_address_waits_longer_after_each_failure_past_the_free_ones() {
        let p = SignInPolicy::default();
        assert_eq!(p.wait(failed(4, 0), 5, NOW), Verdict::Go);
        assert_eq!(p.wait(failed(5, 0), 5, NOW), Verdict::Wait(1));
        assert_eq!(p.wait(failed(6, 0), 5, NOW), Verdict::Wait(2));
        assert_eq!(p.wait(failed(9, 0), 5, NOW), Verdict::Wait(16));
        assert_eq!(p.wait(failed(9, 10), 5, NOW), Verdict::Wait(6));
        assert_eq!(p.wait(failed(9, 16), 5, NOW), Verdict::Go);
        // never longer than the ceiling, however many
        assert_eq!(p.wait(failed(400, 0), 5, NOW), Verdict::Wait(900));
        assert_eq!(p.wait(failed(u32::MAX, 0), 5, NOW), Verdict::Wait(900));
        // forgotten once the window has passed
        assert_eq!(p.wait(failed(400, 15 * 60), 5, NOW), Verdict::Go);
    }

    #[test]
    fn strangers_slow_an_account_but_never_for_an_address_it_signs_in_from() {
        let p = SignInPolicy::default();
        let clean = Failures::default();
        let attacked = failed(25, 0);
        assert_eq!(p.judge(clean, attacked, false, NOW), Verdict::Wait(32));
        assert_eq!(p.judge(clean, attacked, true, NOW), Verdict::Go);
        // an attacking address is slowed whatever the account
        assert_eq!(p.judge(failed(7, 0), clean, true, NOW), Verdict::Wait(4));
        assert_eq!(
            p.judge(failed(7, 0), attacked, false, NOW),
            Verdict::Wait(32)
        );
    }
}
