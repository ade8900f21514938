//! [`LedgerWriter`]: consumes the event stream in a consumer group and posts each billed event's
//! spend to the ledger, in batches, acknowledging entries only after the ledger committed them.
//!
//! Exactly once: the spend transfer's id is derived from the event id, so an entry delivered
//! twice (a writer killed between commit and acknowledgement, an entry claimed from a consumer
//! presumed dead, the stream replayed) posts nothing the second time. An ad the ledger refuses
//! (beyond the campaign's hold, no budget) is recorded in `unbilled_events` before its entry is
//! acknowledged, and an ad recorded there is not posted again, so an ad is billed or unbilled,
//! never both. (The one gap: two writers handling the same entry at once, one refused and the
//! other billed because budget arrived in between; claims wait `claim_idle` to keep that away.)
//!
//! A writer has one duty, and each duty its own consumer group, so each reads every event at its
//! own pace: [`Duty::Bill`] posts spend (the money path, kept lean), [`Duty::Record`] records
//! every event in `ad_events` for reports and the fraud scorer. Run one of each.
//!
//! Each shard has its own loop: on start it takes back what this consumer had pending, then
//! reads new entries; every `claim_every` it claims entries that other consumers have held
//! unacknowledged for `claim_idle` (they died); every `trim_every` it trims entries older than
//! `retention` that the group has delivered and acknowledged.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use redis::aio::ConnectionLike;
use redis::streams::{StreamInfoGroupsReply, StreamPendingReply};
use tokio::sync::watch;

use crate::billing::plan_spend;
use crate::entry_seal::SealError;
use crate::event::ServedEvent;
use crate::reply::{self, Entry};
use crate::store::{self as store, Unbilled};
use crate::stream::{EventStream, StreamShard};
use ledger::ids::CampaignId;
use ledger::plan::BatchMode;
use ledger::reads::CampaignAccounts;
use ledger::rejection::Rejection;
use ledger::{Ledger, PostStatus};

/// What a writer does with the events it reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Duty {
    /// Posts the spend of billed events to the ledger, and records refused ones as unbilled.
    Bill,
    /// Records every event, valid or not, in `ad_events` (each once).
    Record,
}

impl Duty {
    /// The consumer group of writers with this duty.
    pub fn group(self) -> &'static str {
        match self {
            Duty::Bill => "ledger-writer",
            Duty::Record => "event-recorder",
        }
    }
}

/// How the writer reads.
#[derive(Debug, Clone)]
pub struct WriterSettings {
    pub duty: Duty,
    /// The consumer group (one per duty: every writer with the duty shares it).
    pub group: String,
    /// This writer's name in the group; a restarted writer that keeps its name takes back what
    /// it had pending at once, others' pending entries are claimed after `claim_idle`.
    pub consumer: String,
    /// Most entries read, posted and acknowledged at once per shard.
    pub batch: usize,
    /// Pause after a read found nothing.
    pub idle_wait: Duration,
    /// How long another consumer may hold an entry unacknowledged before it is claimed.
    pub claim_idle: Duration,
    pub claim_every: Duration,
    /// How long acknowledged entries stay in the stream (for replays and inspection).
    pub retention: Duration,
    pub trim_every: Duration,
}

impl Default for WriterSettings {
    /// A billing writer's settings.
    fn default() -> Self {
        WriterSettings::for_duty(Duty::Bill)
    }
}

impl WriterSettings {
    /// The settings of a writer with `duty`, in the duty's group.
    pub fn for_duty(duty: Duty) -> Self {
        WriterSettings {
            duty,
            group: duty.group().into(),
            consumer: format!("writer-{}", std::process::id()),
            batch: 2000,
            idle_wait: Duration::from_millis(20),
            claim_idle: Duration::from_secs(30),
            claim_every: Duration::from_secs(5),
            retention: Duration::from_secs(15 * 60),
            trim_every: Duration::from_secs(60),
        }
    }
}

/// What one batch came to.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct BatchOutcome {
    /// Entries handled (and acknowledged).
    pub entries: usize,
    /// Spend transfers posted now.
    pub billed: usize,
    /// Billed events posted before (or recorded unbilled before): nothing moved.
    pub repeated: usize,
    /// Billed events the ledger refused, recorded in `unbilled_events`.
    pub unbilled: usize,
    /// Events that cost nothing.
    pub free: usize,
    /// Entries that are not events, kept in `event_dead_letters`.
    pub dead: usize,
    /// Of those, entries whose seal is missing or does not verify: not appended by servingd.
    pub unsealed: usize,
    /// Events recorded in `ad_events` (a recording writer's work; repeats included).
    pub recorded: usize,
}

impl BatchOutcome {
    fn add(&mut self, other: BatchOutcome) {
        self.entries += other.entries;
        self.billed += other.billed;
        self.repeated += other.repeated;
        self.unbilled += other.unbilled;
        self.free += other.free;
        self.dead += other.dead;
        self.unsealed += other.unsealed;
        self.recorded += other.recorded;
    }
}

/// Why the writer stopped.
#[derive(Debug, thiserror::Error)]
pub enum WriterError {
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error(transparent)]
    Ledger(#[from] ledger::error::Error),
    #[error("redis answered a stream command oddly: {0}")]
    Reply(String),
    /// A shard's loop panicked: the writer stops (its other loops too) so that its process
    /// ends and is restarted, rather than run on with a shard nobody drains.
    #[error("the loop of shard {shard} panicked: {message}")]
    LoopPanicked { shard: u16, message: String },
}

/// What a panic said, when it said it with a string.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".to_owned())
}

/// How long the writer's Redis connection should wait for an answer: a batch of a thousand
/// entries on a busy connection takes longer than the client's default half second.
pub const REDIS_RESPONSE_TIMEOUT: Duration = Duration::from_secs(5);

/// The ledger writer.
pub struct LedgerWriter<C> {
    ledger: Ledger,
    redis: C,
    stream: EventStream,
    settings: WriterSettings,
    /// Campaign accounts never change once open: found once, kept.
    accounts: Mutex<HashMap<CampaignId, CampaignAccounts>>,
    totals: Mutex<BatchOutcome>,
    progress: Mutex<Progress>,
}

/// How a running writer's loops fare, for its health and metrics.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Progress {
    /// When a step last succeeded, on any shard (an idle read counts: the stream answered).
    pub last_success: Option<std::time::SystemTime>,
    /// Steps that failed (each retried after a pause), and the last one's error.
    pub failed_steps: u64,
    pub last_error: Option<String>,
    /// Entries taken over from other consumers that held them past `claim_idle`.
    pub claimed: u64,
}

/// Where a shard's loop is.
struct ShardLoop {
    shard: StreamShard,
    /// Still taking back this consumer's own pending entries.
    own_pending: bool,
    last_claim: Instant,
    last_trim: Instant,
}

impl ShardLoop {
    fn new(shard: StreamShard) -> Self {
        ShardLoop {
            shard,
            own_pending: true,
            last_claim: Instant::now(),
            last_trim: Instant::now(),
        }
    }
}

impl<C> LedgerWriter<C>
where
    C: ConnectionLike + Clone + Send + Sync + 'static,
{
    pub fn new(ledger: Ledger, redis: C, stream: EventStream, settings: WriterSettings) -> Self {
        LedgerWriter {
            ledger,
            redis,
            stream,
            settings,
            accounts: Mutex::new(HashMap::new()),
            totals: Mutex::new(BatchOutcome::default()),
            progress: Mutex::new(Progress::default()),
        }
    }

    /// How the loops fare.
    pub fn progress(&self) -> Progress {
        self.progress
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The stream it reads.
    pub fn stream(&self) -> &EventStream {
        &self.stream
    }

    /// The consumer group's name.
    pub fn group(&self) -> &str {
        &self.settings.group
    }

    fn note_step(&self, result: Result<(), &WriterError>) {
        let mut progress = self.progress.lock().unwrap_or_else(|p| p.into_inner());
        match result {
            Ok(()) => progress.last_success = Some(std::time::SystemTime::now()),
            Err(e) => {
                progress.failed_steps += 1;
                progress.last_error = Some(e.to_string());
            }
        }
    }

    /// What this writer does.
    pub fn duty(&self) -> Duty {
        self.settings.duty
    }

    /// Everything handled since the writer started.
    pub fn totals(&self) -> BatchOutcome {
        *self.totals.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Creates the consumer group on every shard (and the shard's stream if there is none yet);
    /// a group that exists is left as it is.
    pub async fn prepare(&self) -> Result<(), WriterError> {
        for shard in self.stream.shards() {
            let created: redis::RedisResult<()> = redis::cmd("XGROUP")
                .arg("CREATE")
                .arg(self.stream.key(shard))
                .arg(&self.settings.group)
                .arg("0")
                .arg("MKSTREAM")
                .query_async(&mut self.redis.clone())
                .await;
            match created {
                Ok(()) => {}
                Err(e) if e.code() == Some("BUSYGROUP") => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// Points the group back at the start of every shard, so everything still in the stream is
    /// delivered again: a replay, which moves no money twice (for operators re-checking a
    /// stretch of the stream, and for the tests that prove it).
    pub async fn rewind(&self) -> Result<(), WriterError> {
        for shard in self.stream.shards() {
            let _: () = redis::cmd("XGROUP")
                .arg("SETID")
                .arg(self.stream.key(shard))
                .arg(&self.settings.group)
                .arg("0")
                .query_async(&mut self.redis.clone())
                .await?;
        }
        Ok(())
    }

    /// Runs every shard's loop until `stop` turns true; a failing step is logged and retried
    /// after a pause (nothing is acknowledged that was not committed). A loop that panics ends
    /// the run with [`WriterError::LoopPanicked`], the other loops aborted (what they had in hand
    /// and did not acknowledge is delivered again, and moves no money twice).
    pub async fn run(self: Arc<Self>, stop: watch::Receiver<bool>) -> Result<(), WriterError> {
        self.prepare().await?;
        let mut loops = tokio::task::JoinSet::new();
        let mut shards = HashMap::new();
        for shard in self.stream.shards() {
            let (writer, mut stop) = (self.clone(), stop.clone());
            let handle = loops.spawn(async move {
                let mut state = ShardLoop::new(shard);
                let mut failures = 0_u32;
                while !*stop.borrow() {
                    let stepped = writer.step(&mut state).await;
                    writer.note_step(stepped.as_ref().map(|_| ()));
                    let pause = match stepped {
                        Ok(outcome) if outcome.entries == 0 => writer.settings.idle_wait,
                        Ok(_) => {
                            failures = 0;
                            Duration::ZERO
                        }
                        Err(e) => {
                            failures = failures.saturating_add(1);
                            // what was read and not acknowledged is this consumer's pending:
                            // take it back first rather than wait for a claim
                            state.own_pending = true;
                            tracing::warn!(shard = shard.0, error = %e, "ledger writer step failed");
                            Duration::from_millis(100 * u64::from(failures.min(50)))
                        }
                    };
                    if !pause.is_zero() {
                        tokio::select! {
                            _ = tokio::time::sleep(pause) => {}
                            _ = stop.changed() => {}
                        }
                    }
                }
            });
            shards.insert(handle.id(), shard.0);
        }
        while let Some(ended) = loops.join_next_with_id().await {
            if let Err(e) = ended {
                let shard = shards.get(&e.id()).copied().unwrap_or_default();
                let message = match e.try_into_panic() {
                    Ok(panic) => panic_message(panic.as_ref()),
                    Err(e) => e.to_string(),
                };
                tracing::error!(shard, %message, "a ledger writer loop panicked");
                return Err(WriterError::LoopPanicked { shard, message });
            }
        }
        Ok(())
    }

    /// Handles everything the shards hold now (this consumer's pending entries, entries idle
    /// past `claim_idle` at other consumers, new entries) and returns what it came to. For tests
    /// and tools; a running writer uses [`LedgerWriter::run`].
    pub async fn drain(&self) -> Result<BatchOutcome, WriterError> {
        let mut total = BatchOutcome::default();
        for shard in self.stream.shards() {
            let mut state = ShardLoop::new(shard);
            loop {
                let outcome = self.step(&mut state).await?;
                if outcome.entries == 0 {
                    break;
                }
                total.add(outcome);
            }
        }
        Ok(total)
    }

    /// One step of a shard's loop.
    async fn step(&self, state: &mut ShardLoop) -> Result<BatchOutcome, WriterError> {
        let shard = state.shard;
        if state.last_trim.elapsed() >= self.settings.trim_every {
            state.last_trim = Instant::now();
            self.trim(shard).await?;
        }
        if state.own_pending {
            let entries = self.read(shard, "0").await?;
            if entries.is_empty() {
                state.own_pending = false;
            } else {
                return self.handle(shard, entries).await;
            }
        }
        if state.last_claim.elapsed() >= self.settings.claim_every {
            let claimed = self.claim(shard).await?;
            if claimed.is_empty() {
                state.last_claim = Instant::now();
            } else {
                return self.handle(shard, claimed).await;
            }
        }
        let entries = self.read(shard, ">").await?;
        self.handle(shard, entries).await
    }

    /// Reads entries: `">"` new ones, `"0"` this consumer's pending ones.
    async fn read(&self, shard: StreamShard, from: &str) -> Result<Vec<Entry>, WriterError> {
        let reply: redis::Value = redis::cmd("XREADGROUP")
            .arg("GROUP")
            .arg(&self.settings.group)
            .arg(&self.settings.consumer)
            .arg("COUNT")
            .arg(self.settings.batch)
            .arg("STREAMS")
            .arg(self.stream.key(shard))
            .arg(from)
            .query_async(&mut self.redis.clone())
            .await?;
        reply::read(reply).map_err(WriterError::Reply)
    }

    /// Claims entries other consumers have held for longer than `claim_idle`.
    async fn claim(&self, shard: StreamShard) -> Result<Vec<Entry>, WriterError> {
        let reply: redis::Value = redis::cmd("XAUTOCLAIM")
            .arg(self.stream.key(shard))
            .arg(&self.settings.group)
            .arg(&self.settings.consumer)
            .arg(self.settings.claim_idle.as_millis() as u64)
            .arg("0-0")
            .arg("COUNT")
            .arg(self.settings.batch)
            .query_async(&mut self.redis.clone())
            .await?;
        let (claimed, deleted) = reply::autoclaim(reply).map_err(WriterError::Reply)?;
        self.progress
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .claimed += claimed.len() as u64;
        if !deleted.is_empty() {
            // trimmed while pending (should not happen: trimming stops at the oldest pending)
            self.ack(shard, &deleted).await?;
        }
        Ok(claimed)
    }

    /// Posts a batch and acknowledges it.
    async fn handle(
        &self,
        shard: StreamShard,
        entries: Vec<Entry>,
    ) -> Result<BatchOutcome, WriterError> {
        if entries.is_empty() {
            return Ok(BatchOutcome::default());
        }
        let mut outcome = BatchOutcome {
            entries: entries.len(),
            ..BatchOutcome::default()
        };
        let mut events = Vec::with_capacity(entries.len());
        for entry in &entries {
            match decode(&self.stream, entry) {
                Ok(event) => events.push(event),
                Err(error) => {
                    if matches!(error, Undecodable::Unsealed(_)) {
                        outcome.unsealed += 1;
                    }
                    let fields: serde_json::Map<String, serde_json::Value> = entry
                        .fields
                        .iter()
                        .flatten()
                        .map(|(k, v)| {
                            (
                                String::from_utf8_lossy(k).into_owned(),
                                String::from_utf8_lossy(v).into_owned().into(),
                            )
                        })
                        .collect();
                    store::record_dead_letter(
                        self.ledger.pool(),
                        &self.stream.key(shard),
                        &entry.id,
                        &serde_json::Value::Object(fields),
                        &error.to_string(),
                    )
                    .await?;
                    outcome.dead += 1;
                }
            }
        }
        match self.settings.duty {
            Duty::Bill => outcome.add(self.bill(&events).await?),
            Duty::Record => {
                store::record_events(self.ledger.pool(), &events).await?;
                outcome.recorded += events.len();
            }
        }
        let ids: Vec<String> = entries.into_iter().map(|e| e.id).collect();
        self.ack(shard, &ids).await?;
        self.totals
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .add(outcome);
        Ok(outcome)
    }

    /// Posts the spend of the billed events among `events`, and records those refused.
    async fn bill(&self, events: &[ServedEvent]) -> Result<BatchOutcome, WriterError> {
        let mut outcome = BatchOutcome::default();
        // A refused ad stays refused: an entry delivered again (redelivered, claimed, or the
        // stream replayed) must not be billed later because budget arrived meanwhile.
        let billed: Vec<&str> = events
            .iter()
            .filter(|e| e.is_billed())
            .map(|e| e.id.as_str())
            .collect();
        let settled = store::unbilled_among(self.ledger.pool(), &billed).await?;
        let kept: Vec<&ServedEvent> = events
            .iter()
            .filter(|e| !(e.is_billed() && settled.contains(&e.id)))
            .collect();
        outcome.repeated += events.len() - kept.len();
        let accounts = self.accounts_of(&kept).await?;
        let plan = plan_spend(&kept, &accounts);
        outcome.free += plan.free.len();
        let (indexes, transfers): (Vec<usize>, Vec<_>) = plan.transfers.into_iter().unzip();
        let results = self
            .ledger
            .transfer_batch(&transfers, BatchMode::Independent)
            .await?;
        let mut unbilled = Vec::new();
        for ((i, transfer), result) in indexes.iter().zip(&transfers).zip(results) {
            match result {
                Ok(posted) if posted.status == PostStatus::Created => outcome.billed += 1,
                Ok(_) => outcome.repeated += 1,
                Err(rejection) => {
                    let reason = match rejection {
                        Rejection::InsufficientFunds { .. } => "over_delivery",
                        _ => "refused",
                    };
                    unbilled.push(unbilled_row(
                        kept[*i],
                        transfer.amount.as_decimal(),
                        Some(transfer.currency),
                        reason,
                        rejection.to_string(),
                    ));
                }
            }
        }
        for i in plan.no_budget {
            let amount = kept[i].cost().map(|a| a.as_decimal()).unwrap_or_default();
            unbilled.push(unbilled_row(
                kept[i],
                amount,
                None,
                "no_budget",
                "the campaign has no budget accounts".into(),
            ));
        }
        outcome.unbilled += unbilled.len();
        store::record_unbilled(self.ledger.pool(), &unbilled).await?;
        Ok(outcome)
    }

    async fn ack(&self, shard: StreamShard, ids: &[String]) -> Result<(), WriterError> {
        let _: i64 = redis::cmd("XACK")
            .arg(self.stream.key(shard))
            .arg(&self.settings.group)
            .arg(ids)
            .query_async(&mut self.redis.clone())
            .await?;
        Ok(())
    }

    /// The accounts of the events' campaigns, from the cache or the ledger.
    async fn accounts_of(
        &self,
        events: &[&ServedEvent],
    ) -> Result<HashMap<CampaignId, CampaignAccounts>, WriterError> {
        let mut found = HashMap::new();
        let mut missing = Vec::new();
        {
            let cache = self.accounts.lock().unwrap_or_else(|p| p.into_inner());
            for e in events.iter().filter(|e| e.is_billed()) {
                match cache.get(&e.campaign) {
                    Some(a) => {
                        found.insert(e.campaign, *a);
                    }
                    None if !missing.contains(&e.campaign) => missing.push(e.campaign),
                    None => {}
                }
            }
        }
        if !missing.is_empty() {
            let fetched = ledger::reads::campaign_accounts(self.ledger.pool(), &missing).await?;
            let mut cache = self.accounts.lock().unwrap_or_else(|p| p.into_inner());
            for (campaign, accounts) in fetched {
                cache.insert(campaign, accounts);
                found.insert(campaign, accounts);
            }
        }
        Ok(found)
    }

    /// Trims entries older than the retention that every group (each duty's) has delivered
    /// and acknowledged.
    async fn trim(&self, shard: StreamShard) -> Result<(), WriterError> {
        let key = self.stream.key(shard);
        let groups: StreamInfoGroupsReply = redis::cmd("XINFO")
            .arg("GROUPS")
            .arg(&key)
            .query_async(&mut self.redis.clone())
            .await?;
        let cutoff_ms = Utc::now().timestamp_millis()
            - i64::try_from(self.settings.retention.as_millis()).unwrap_or(i64::MAX);
        let mut bound = (cutoff_ms.max(0) as u64, 0_u64);
        for group in &groups.groups {
            let pending: StreamPendingReply = redis::cmd("XPENDING")
                .arg(&key)
                .arg(&group.name)
                .query_async(&mut self.redis.clone())
                .await?;
            let oldest_pending = match &pending {
                StreamPendingReply::Data(d) => Some(d.start_id.as_str()),
                _ => None,
            };
            for id in [Some(group.last_delivered_id.as_str()), oldest_pending]
                .into_iter()
                .flatten()
            {
                if let Some(parsed) = parse_entry_id(id) {
                    bound = bound.min(parsed);
                }
            }
        }
        if bound.0 == 0 {
            return Ok(());
        }
        let _: i64 = redis::cmd("XTRIM")
            .arg(&key)
            .arg("MINID")
            .arg(format!("{}-{}", bound.0, bound.1))
            .query_async(&mut self.redis.clone())
            .await?;
        Ok(())
    }
}

/// `<ms>-<seq>` as numbers.
fn parse_entry_id(id: &str) -> Option<(u64, u64)> {
    let (ms, seq) = id.split_once('-')?;
    Some((ms.parse().ok()?, seq.parse().ok()?))
}

/// Why an entry is not an event to handle.
#[derive(Debug, thiserror::Error)]
enum Undecodable {
    #[error("the entry was deleted from the stream before it was handled")]
    Deleted,
    /// Not appended by a holder of the entry keys: never billed.
    #[error("{0}")]
    Unsealed(#[from] SealError),
    #[error("{0}")]
    Fields(String),
}

/// The event in `entry`, once its seal verified.
fn decode(stream: &EventStream, entry: &Entry) -> Result<ServedEvent, Undecodable> {
    let Some(raw) = &entry.fields else {
        return Err(Undecodable::Deleted);
    };
    stream.check_seal(raw)?;
    let mut fields = Vec::with_capacity(raw.len());
    for (name, value) in raw {
        let name = std::str::from_utf8(name)
            .map_err(|_| Undecodable::Fields("a field name is not UTF-8".into()))?;
        let text = std::str::from_utf8(value)
            .map_err(|_| Undecodable::Fields(format!("the field {name:?} is not UTF-8")))?;
        fields.push((name, text));
    }
    ServedEvent::from_fields(fields).map_err(|e| Undecodable::Fields(e.to_string()))
}

fn unbilled_row(
    event: &ServedEvent,
    amount: rust_decimal::Decimal,
    currency: Option<ledger::currency::Currency>,
    reason: &'static str,
    detail: String,
) -> Unbilled {
    Unbilled {
        event: event.id.clone(),
        campaign: event.campaign,
        lease: event.lease,
        amount,
        currency,
        reason,
        detail,
        at: Utc
            .timestamp_millis_opt(event.at_ms)
            .single()
            .unwrap_or_else(Utc::now),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_ids_parse_into_their_two_numbers() {
        assert_eq!(
            parse_entry_id("1780000000000-7"),
            Some((1_780_000_000_000, 7))
        );
        assert_eq!(parse_entry_id("0-0"), Some((0, 0)));
        assert_eq!(parse_entry_id("x-1"), None);
        assert_eq!(parse_entry_id("17"), None);
    }
}
