//! Fraud level 2's activity windows in Redis: per source (an IP, a device), clicks and
//! impressions per minute over the last ten minutes (the current and previous minutes'
//! impressions make a sliding minute) and the user agents seen in them. One script
//! per source counts the event and answers the window in one round trip; a source's keys share
//! one hash tag, so it runs on one node of a Redis Cluster. Keys expire eleven minutes after the
//! source's last event.

use std::net::IpAddr;
use std::sync::LazyLock;

use events::EventKind;
use redis::aio::ConnectionLike;

use crate::bloom::hash;
use crate::score::{Window, sliding_minute};

/// Counts the event and answers the window.
static COUNT: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
local m = tonumber(ARGV[1])
redis.call('HINCRBY', KEYS[1], ARGV[2] .. m, 1)
local old = {}
for k = m - 20, m - 11 do old[#old + 1] = 'c' .. k; old[#old + 1] = 'i' .. k end
redis.call('HDEL', KEYS[1], unpack(old))
redis.call('EXPIRE', KEYS[1], 660)
local fields = {}
for k = m - 9, m do fields[#fields + 1] = 'c' .. k end
for k = m - 9, m do fields[#fields + 1] = 'i' .. k end
local v = redis.call('HMGET', KEYS[1], unpack(fields))
local clicks, imps = 0, 0
for j = 1, 10 do
  clicks = clicks + (tonumber(v[j]) or 0)
  imps = imps + (tonumber(v[10 + j]) or 0)
end
local agents = 0
if ARGV[3] ~= '' then
  redis.call('HSET', KEYS[2], ARGV[3], m)
  redis.call('EXPIRE', KEYS[2], 660)
  local all = redis.call('HGETALL', KEYS[2])
  for j = 1, #all, 2 do
    if tonumber(all[j + 1]) >= m - 9 then
      agents = agents + 1
    else
      redis.call('HDEL', KEYS[2], all[j])
    end
  end
end
return {tonumber(v[10]) or 0, clicks, imps, agents, tonumber(v[20]) or 0, tonumber(v[19]) or 0}
",
    )
});

/// Whose activity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Ip(IpAddr),
    /// A device, by [`crate::score::device_hash`].
    Device(u64),
}

/// The windows, under a key prefix (empty in production).
#[derive(Debug, Clone, Default)]
pub struct FraudWindows {
    namespace: String,
}

impl FraudWindows {
    pub fn new(namespace: impl Into<String>) -> Self {
        FraudWindows {
            namespace: namespace.into(),
        }
    }

    fn tag(&self, source: Source) -> String {
        match source {
            Source::Ip(ip) => format!("{}fw:{{ip:{}}}", self.namespace, ip.to_canonical()),
            Source::Device(d) => format!("{}fw:{{dev:{d:016x}}}", self.namespace),
        }
    }

    /// Counts an event of `source` at `now_ms` and returns its window, this event included.
    pub async fn count<C: ConnectionLike>(
        &self,
        conn: &mut C,
        source: Source,
        kind: EventKind,
        user_agent: Option<&str>,
        now_ms: i64,
    ) -> redis::RedisResult<Window> {
        let tag = self.tag(source);
        let agent = user_agent
            .map(|ua| format!("{:x}", hash(0, &[ua.as_bytes()])))
            .unwrap_or_default();
        let counts: Vec<i64> = COUNT
            .key(format!("{tag}:n"))
            .key(format!("{tag}:ua"))
            .arg(now_ms.div_euclid(60_000))
            .arg(match kind {
                EventKind::Click => "c",
                EventKind::Impression => "i",
            })
            .arg(agent)
            .invoke_async(conn)
            .await?;
        let at = |i: usize| {
            counts
                .get(i)
                .copied()
                .unwrap_or(0)
                .clamp(0, i64::from(u32::MAX)) as u32
        };
        Ok(Window {
            clicks_last_minute: at(0),
            impressions_last_minute: sliding_minute(at(4), at(5), now_ms.rem_euclid(60_000)),
            clicks: at(1),
            impressions: at(2),
            user_agents: at(3),
        })
    }
}
