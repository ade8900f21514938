//! Per-principal rate limits in Redis (GCRA: a steady rate plus a burst), shared by every API
//! instance. The key carries the principal as its hash tag, so it works on Redis Cluster too.

use redis::Script;
use redis::aio::ConnectionManager;

/// Decides, in Redis and by Redis' clock, whether one more request fits; answers how many
/// microseconds to wait when it does not.
const GCRA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local next_tat = tat + interval
local wait = next_tat - burst - now
if wait > 0 then return wait end
redis.call('SET', KEYS[1], next_tat, 'PX', math.ceil((next_tat - now) / 1000) + 1000)
return 0
";

/// The limiter: a rate and a burst per principal.
#[derive(Clone)]
pub struct RateLimiter {
    redis: ConnectionManager,
    script: Script,
    interval_us: i64,
    burst_us: i64,
}

impl RateLimiter {
    /// `per_s` requests a second steadily, up to `burst` at once.
    pub fn new(redis: ConnectionManager, per_s: u32, burst: u32) -> Self {
        let interval_us = 1_000_000 / i64::from(per_s.max(1));
        RateLimiter {
            redis,
            script: Script::new(GCRA),
            interval_us,
            burst_us: interval_us * i64::from(burst.max(1)),
        }
    }

    /// `None` when the request may go ahead, else the seconds to wait (at least 1). When Redis
    /// cannot answer, the request goes ahead: a limiter outage must not stop the platform.
    pub async fn check(&self, principal: &str) -> Option<u64> {
        let key = format!("{{rl:{principal}}}");
        let mut conn = self.redis.clone();
        let answer: redis::RedisResult<i64> = self
            .script
            .key(key)
            .arg(self.interval_us)
            .arg(self.burst_us)
            .invoke_async(&mut conn)
            .await;
        match answer {
            Ok(0) => None,
            Ok(wait_us) => Some(
                u64::try_from((wait_us + 999_999) / 1_000_000)
                    .unwrap_or(1)
                    .max(1),
            ),
            Err(e) => {
                tracing::warn!(error = %e, "rate limiter unavailable; letting the request through");
                None
            }
        }
    }
}
