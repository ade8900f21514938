//! Sign-in's guard: the failure counts [`SignInPolicy`] judges, kept in Redis so that every API
//! instance sees them; while Redis cannot answer, in this process instead (each instance then
//! counts on its own: the limits loosen by the number of instances, they never vanish). And a
//! cap on the password hashes computed at once, so that a flood of sign-ins (random user names
//! included: an unknown name costs a hash too) cannot take the memory or the blocking threads.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use redis::aio::ConnectionManager;
use tokio::sync::{Semaphore, SemaphorePermit};

use crate::auth::sign_in_policy::{Failures, SignInPolicy, Verdict};

/// Longest account name kept in a key (user names are at most 64 characters).
const MAX_ACCOUNT: usize = 100;

/// Most keys counted in this process while Redis is away, in each map.
const MAX_LOCAL: usize = 100_000;

/// A key's count and last failure as Redis holds them (`HMGET n last`).
type StoredFailures = (Option<u32>, Option<i64>);

/// The counts kept in this process while Redis is away.
#[derive(Default)]
struct LocalCounts {
    failures: HashMap<String, Failures>,
    /// Known (account, address) pairs and when they stop being known.
    known: HashMap<String, i64>,
}

/// Sign-in's limits.
pub struct SignInGuard {
    redis: ConnectionManager,
    keys: Keys,
    local: Mutex<LocalCounts>,
    policy: SignInPolicy,
    hashing: Semaphore,
    hashing_wait: Duration,
}

/// The Redis keys of a guard (under its namespace).
#[derive(Debug, Clone)]
struct Keys(String);

impl Keys {
    fn address(&self, address: &str) -> String {
        format!("{}{{signin:a:{address}}}", self.0)
    }

    fn account(&self, account: &str) -> String {
        format!("{}{{signin:u:{}}}", self.0, cut(account))
    }

    fn known(&self, account: &str, address: &str) -> String {
        format!("{}{{signin:k:{}}}:{address}", self.0, cut(account))
    }
}

fn cut(account: &str) -> &str {
    match account.char_indices().nth(MAX_ACCOUNT) {
        Some((at, _)) => &account[..at],
        None => account,
    }
}

/// The address an attempt is counted under: an IPv4 address, or an IPv6 address's /64 (one
/// host may rotate through its whole /64).
pub fn counted_address(ip: std::net::IpAddr) -> String {
    match ip.to_canonical() {
        std::net::IpAddr::V4(v4) => v4.to_string(),
        std::net::IpAddr::V6(v6) => match ipnet::Ipv6Net::new(v6, 64) {
            Ok(net) => net.trunc().to_string(),
            Err(_) => v6.to_string(),
        },
    }
}

impl SignInGuard {
    /// Counts in `redis` (keys under `namespace`) under `policy`; at most `hashing` password
    /// hashes at once, a sign-in waiting at most `hashing_wait` for its turn.
    pub fn new(
        redis: ConnectionManager,
        namespace: &str,
        policy: SignInPolicy,
        hashing: usize,
        hashing_wait: Duration,
    ) -> Self {
        SignInGuard {
            redis,
            keys: Keys(namespace.to_owned()),
            local: Mutex::new(LocalCounts::default()),
            policy,
            hashing: Semaphore::new(hashing.max(1)),
            hashing_wait,
        }
    }

    /// Whether an attempt on `account` from `address` may go ahead at `now_ms` (an unknown
    /// address: only the account is judged).
    pub async fn check(&self, address: Option<&str>, account: &str, now_ms: i64) -> Verdict {
        let (by_address, by_account, known) = match self.read(address, account).await {
            Ok(counts) => counts,
            Err(e) => {
                tracing::warn!(error = %e, "sign-in limits read from this process: Redis is away");
                self.read_local(address, account, now_ms)
            }
        };
        self.policy.judge(by_address, by_account, known, now_ms)
    }

    /// Counts a failed attempt.
    pub async fn failed(&self, address: Option<&str>, account: &str, now_ms: i64) {
        let window = self.policy.window_ms;
        let keys: Vec<String> = address
            .map(|a| self.keys.address(a))
            .into_iter()
            .chain([self.keys.account(account)])
            .collect();
        let mut pipe = redis::pipe();
        for key in &keys {
            pipe.cmd("HINCRBY").arg(key).arg("n").arg(1).ignore();
            pipe.cmd("HSET").arg(key).arg("last").arg(now_ms).ignore();
            pipe.cmd("PEXPIRE").arg(key).arg(window).ignore();
        }
        let mut conn = self.redis.clone();
        if let Err(e) = pipe.atomic().query_async::<()>(&mut conn).await {
            tracing::warn!(error = %e, "a failed sign-in counted in this process: Redis is away");
            let mut local = self.local.lock().unwrap_or_else(|p| p.into_inner());
            if local.failures.len() >= MAX_LOCAL {
                local.failures.retain(|_, f| now_ms - f.last_ms < window);
            }
            if local.failures.len() >= MAX_LOCAL {
                // single failures say least: dropped first, so the map stays bounded
                local.failures.retain(|_, f| f.count > 1);
            }
            for key in keys {
                let f = local.failures.entry(key).or_default();
                f.count = f.count.saturating_add(1);
                f.last_ms = now_ms;
            }
        }
    }

    /// Counts a successful one: the address is known to the account from now on. Its failures
    /// are not forgotten (they expire with the window): one valid credential of an attacker's
    /// own must not buy it fresh guesses at others.
    pub async fn succeeded(&self, address: Option<&str>, account: &str, now_ms: i64) {
        let Some(address) = address else {
            return;
        };
        let known = self.keys.known(account, address);
        let mut conn = self.redis.clone();
        let written: redis::RedisResult<()> = redis::cmd("SET")
            .arg(&known)
            .arg(1)
            .arg("PX")
            .arg(self.policy.known_for_ms)
            .query_async(&mut conn)
            .await;
        if let Err(e) = written {
            tracing::warn!(error = %e, "a sign-in counted in this process: Redis is away");
            let mut local = self.local.lock().unwrap_or_else(|p| p.into_inner());
            if local.known.len() >= MAX_LOCAL {
                local.known.retain(|_, until| *until > now_ms);
            }
            // an exemption is safe to forget: beyond the bound, none is added
            if local.known.len() < MAX_LOCAL {
                local.known.insert(known, now_ms + self.policy.known_for_ms);
            }
        }
    }

    /// A turn to hash a password, or `None` when too many are being hashed and none came free
    /// in time.
    pub async fn hashing_turn(&self) -> Option<SemaphorePermit<'_>> {
        tokio::time::timeout(self.hashing_wait, self.hashing.acquire())
            .await
            .ok()
            .and_then(Result::ok)
    }

    async fn read(
        &self,
        address: Option<&str>,
        account: &str,
    ) -> redis::RedisResult<(Failures, Failures, bool)> {
        // an unknown address reads keys that are never written
        let address = address.unwrap_or("-");
        let mut conn = self.redis.clone();
        let (a, u, known): (StoredFailures, StoredFailures, bool) = redis::pipe()
            .cmd("HMGET")
            .arg(self.keys.address(address))
            .arg("n")
            .arg("last")
            .cmd("HMGET")
            .arg(self.keys.account(account))
            .arg("n")
            .arg("last")
            .cmd("EXISTS")
            .arg(self.keys.known(account, address))
            .query_async(&mut conn)
            .await?;
        let failures = |(n, last): StoredFailures| Failures {
            count: n.unwrap_or(0),
            last_ms: last.unwrap_or(0),
        };
        Ok((failures(a), failures(u), known))
    }

    fn read_local(
        &self,
        address: Option<&str>,
        account: &str,
        now_ms: i64,
    ) -> (Failures, Failures, bool) {
        let address = address.unwrap_or("-");
        let local = self.local.lock().unwrap_or_else(|p| p.into_inner());
        let get = |key: String| local.failures.get(&key).copied().unwrap_or_default();
        let known = local
            .known
            .get(&self.keys.known(account, address))
            .is_some_and(|until| *until > now_ms);
        (
            get(self.keys.address(address)),
            get(self.keys.account(account)),
            known,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv6_host_is_counted_by_its_64() {
        let ip = |s: &str| s.parse::<std::net::IpAddr>().expect("ip");
        assert_eq!(counted_address(ip("198.51.100.7")), "198.51.100.7");
        assert_eq!(counted_address(ip("::ffff:198.51.100.7")), "198.51.100.7");
        assert_eq!(
            counted_address(ip("2001:db8:1:2:aaaa::1")),
            counted_address(ip("2001:db8:1:2:ffff::9"))
        );
        assert_eq!(counted_address(ip("2001:db8:1:2::1")), "2001:db8:1:2::/64");
        assert_ne!(
            counted_address(ip("2001:db8:1:2::1")),
            counted_address(ip("2001:db8:1:3::1"))
        );
    }

    #[test]
    fn keys_keep_an_account_apart_and_cut_long_names() {
        let keys = Keys("t1:".into());
        assert_eq!(keys.address("198.51.100.7"), "t1:{signin:a:198.51.100.7}");
        assert_eq!(keys.account("user:ana"), "t1:{signin:u:user:ana}");
        assert_eq!(keys.known("user:ana", "::1"), "t1:{signin:k:user:ana}:::1");
        let long = "x".repeat(5000);
        assert_eq!(
            keys.account(&long).len(),
            "t1:{signin:u:}".len() + MAX_ACCOUNT
        );
        assert_eq!(cut("ñ".repeat(200).as_str()).chars().count(), MAX_ACCOUNT);
    }
}
