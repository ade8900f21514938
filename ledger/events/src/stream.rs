//! The event stream: served events sharded over a fixed number of Redis streams by campaign.
//! Each shard's keys share one hash tag (`{ev<n>}`), so the append script and the consumer
//! group's commands each touch one slot of a Redis Cluster; a campaign's events all go to one
//! shard, in order.
//!
//! An event is appended once: the append script marks `(kind, event id)` as seen and adds the
//! entry in one step, so a repeated impression or click is accepted by the endpoint and counted
//! once. The mark lives as long as the tracking token could still be presented; after that the
//! token itself is refused (and the ledger's transfer id still bills the ad at most once).
//!
//! Every entry is sealed ([`crate::entry_seal`]) with the stream's [`EntryKeys`]; the ledger
//! writer, holding the same keys, bills only entries whose seal verifies.

use std::sync::LazyLock;

use redis::aio::ConnectionLike;

use crate::entry_seal::{SEAL_FIELD, SealError, SharedEntryKeys};
use crate::event::ServedEvent;
use ledger::ids::CampaignId;

/// One shard of the event stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamShard(pub u16);

/// The layout of the event stream (how many shards, the prefix of its keys) and the keys its
/// entries are sealed with.
#[derive(Debug, Clone)]
pub struct EventStream {
    shards: u16,
    /// Put before every key (empty in production; tests sharing one Redis use their own).
    namespace: String,
    keys: SharedEntryKeys,
}

/// What appending did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Appended {
    /// A new entry, with its stream id.
    New(String),
    /// The event was appended before; nothing changed.
    Repeat,
}

/// Marks the event seen and appends it, unless it was seen.
static APPEND: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
if redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[1]) then
  return redis.call('XADD', KEYS[1], '*', unpack(ARGV, 2))
end
return false
",
    )
});

impl EventStream {
    /// A stream of `shards` shards (at least one) whose entries are sealed with `keys`.
    /// Producers and consumers must agree on both.
    pub fn new(shards: u16, keys: SharedEntryKeys) -> Self {
        EventStream {
            shards: shards.max(1),
            namespace: String::new(),
            keys,
        }
    }

    /// Checks the seal of an entry's fields as read.
    pub fn check_seal(&self, fields: &[(Vec<u8>, Vec<u8>)]) -> Result<(), SealError> {
        self.keys.load().check(fields)
    }

    /// The same layout with every key prefixed by `namespace`.
    pub fn with_namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = namespace.into();
        self
    }

    /// The shard's stream.
    pub fn key(&self, shard: StreamShard) -> String {
        format!("{}events:{{ev{}}}", self.namespace, shard.0)
    }

    /// The mark that an event was appended (same hash tag as its shard's stream).
    fn seen_key(&self, shard: StreamShard, event: &ServedEvent) -> String {
        format!(
            "{}events:{{ev{}}}:seen:{}:{}",
            self.namespace, shard.0, event.kind, event.id
        )
    }

    /// How many shards.
    pub fn len(&self) -> u16 {
        self.shards
    }

    /// Never: a stream has at least one shard.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Every shard.
    pub fn shards(&self) -> impl Iterator<Item = StreamShard> + use<> {
        (0..self.shards).map(StreamShard)
    }

    /// The shard that holds `campaign`'s events. Uses the low (random) half of the id, so
    /// time-ordered (v7) ids spread evenly too.
    pub fn shard_of(&self, campaign: CampaignId) -> StreamShard {
        let low = campaign.0.as_u128() as u64;
        StreamShard((low % u64::from(self.shards)) as u16)
    }

    /// The fields of `event`'s entry, its seal last.
    pub fn sealed_fields(&self, event: &ServedEvent) -> Vec<(&'static str, String)> {
        let mut fields = event.fields();
        let seal = self
            .keys
            .load()
            .seal(fields.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())));
        fields.push((SEAL_FIELD, seal));
        fields
    }

    /// Appends `event` unless it was appended within the last `seen_for_s` seconds.
    pub async fn append<C: ConnectionLike>(
        &self,
        conn: &mut C,
        event: &ServedEvent,
        seen_for_s: u64,
    ) -> redis::RedisResult<Appended> {
        let shard = self.shard_of(event.campaign);
        let mut invocation = APPEND.prepare_invoke();
        invocation
            .key(self.key(shard))
            .key(self.seen_key(shard, event))
            .arg(seen_for_s.max(1));
        for (name, value) in self.sealed_fields(event) {
            invocation.arg(name).arg(value);
        }
        let id: Option<String> = invocation.invoke_async(conn).await?;
        Ok(id.map_or(Appended::Repeat, Appended::New))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn keys() -> SharedEntryKeys {
        crate::EntryKeys::new(0, vec![(0, vec![0; 32])])
            .expect("keys")
            .shared()
    }

    #[test]
    fn campaigns_spread_over_the_shards_and_stay_on_theirs() {
        let stream = EventStream::new(8, keys());
        let mut counts = [0_u32; 8];
        for _ in 0..8_000 {
            let c = CampaignId(Uuid::now_v7());
            let shard = stream.shard_of(c);
            assert_eq!(stream.shard_of(c), shard);
            counts[usize::from(shard.0)] += 1;
        }
        for n in counts {
            assert!((800..1200).contains(&n), "uneven spread: {counts:?}");
        }
    }

    #[test]
    fn a_shards_keys_share_its_hash_tag() {
        let stream = EventStream::new(4, keys());
        assert_eq!(stream.key(StreamShard(3)), "events:{ev3}");
        let event = ServedEvent {
            id: "a:1".into(),
            kind: crate::EventKind::Click,
            campaign: CampaignId(Uuid::from_u128(1)),
            lease: ledger::ids::LeaseId(Uuid::from_u128(2)),
            billing: crate::Billing::PerClick,
            price_micros: 1,
            at_ms: 0,
            ip: "198.51.100.1".into(),
            device: None,
            user_agent: None,
            invalid: None,
            partner: None,
            test: false,
        };
        assert_eq!(
            stream.seen_key(StreamShard(3), &event),
            "events:{ev3}:seen:click:a:1"
        );
        let spaced = stream.with_namespace("t1:");
        assert_eq!(spaced.key(StreamShard(0)), "t1:events:{ev0}");
    }
}
