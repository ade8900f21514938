//! Frequency caps in Redis: per campaign and user, the times of the impressions decided in the
//! campaign's window, as a sorted set under the campaign-and-user hash tag (one Cluster slot).
//! Checking and counting is one script: a decision is admitted only if fewer than the cap fall
//! in the sliding window ending now, and it is counted in the same step.
//!
//! How exact: the count is of decisions to show, made atomically in Redis, so no interleaving
//! of requests on any number of servingd instances admits more than `count` decisions in any
//! window of `period_s` seconds (tested with concurrent requests). A decision whose impression
//! is never rendered still counts (the cap errs towards showing less). Window edges are
//! measured on Redis's own clock (`TIME`), so instance clock skew does not widen them.

use redis::aio::ConnectionLike;
use uuid::Uuid;

use domain::campaign::FrequencyCap;

const SCRIPT: &str = r"
local now = redis.call('TIME')
local now_us = tonumber(now[1]) * 1000000 + tonumber(now[2])
local window_us = tonumber(ARGV[1]) * 1000000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now_us - window_us)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  return 0
end
redis.call('ZADD', KEYS[1], now_us, ARGV[3])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]) * 1000)
return 1
";

/// The Redis key of a campaign's count for a user.
pub fn key(campaign: Uuid, user: &str) -> String {
    format!("fc:{{{campaign}:{user}}}")
}

/// Frequency caps over a Redis connection.
#[derive(Clone)]
pub struct FrequencyCaps<C> {
    conn: C,
    script: redis::Script,
}

impl<C: ConnectionLike + Clone + Send + Sync> FrequencyCaps<C> {
    /// Caps counted through `conn`.
    pub fn new(conn: C) -> Self {
        FrequencyCaps {
            conn,
            script: redis::Script::new(SCRIPT),
        }
    }

    /// Counts one decision to show `campaign` to `user` if the cap allows it; `false`: capped.
    /// `decision` names it uniquely (the auction and impression ids).
    pub async fn admit(
        &self,
        campaign: Uuid,
        user: &str,
        cap: FrequencyCap,
        decision: &str,
    ) -> redis::RedisResult<bool> {
        let mut conn = self.conn.clone();
        let admitted: i64 = self
            .script
            .key(key(campaign, user))
            .arg(cap.period_s.max(1))
            .arg(cap.count)
            .arg(decision)
            .invoke_async(&mut conn)
            .await?;
        Ok(admitted == 1)
    }
}
