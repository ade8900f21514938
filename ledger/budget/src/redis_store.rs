//! Campaign budgets in Redis: every operation of [`CampaignBudget`] as one Lua script over the
//! campaign's keys, which share the hash tag `{c:<campaign>}` so a script runs on one node of a
//! Redis Cluster. Scripts are sent by hash (EVALSHA) and loaded again when Redis answers NOSCRIPT.
//!
//! Redis is a cache of the ledger here: when a campaign's state is missing (a flush, a restart
//! without persistence, a failover to an empty replica) every script says so before changing
//! anything, and the caller rebuilds the state from the ledger and [`RedisBudgetStore::install`]s it.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use redis::aio::ConnectionLike;
use redis::{RedisError, Script, Value};
use uuid::Uuid;

use crate::campaign::{
    Adjusted, Allocation, CampaignBudget, ClosedLease, Closure, LeaseError, LeaseRules, OpenLease,
    Settlement, Want,
};
use ledger::ids::{CampaignId, LeaseId};

/// Largest budget Redis keeps for one campaign, in micros (900 million units): every sum the
/// scripts compute, times ten, stays below 2^53, where Lua's doubles are exact.
pub const MAX_BUDGET_MICROS: i64 = 900_000_000_000_000;

macro_rules! script {
    ($file:literal) => {
        LazyLock::new(|| {
            Script::new(concat!(
                include_str!("lua/common.lua"),
                include_str!(concat!("lua/", $file))
            ))
        })
    };
}

static ALLOCATE: LazyLock<Script> = script!("allocate.lua");
static SETTLE: LazyLock<Script> = script!("settle.lua");
static RENEW: LazyLock<Script> = script!("renew.lua");
static REAP: LazyLock<Script> = script!("reap.lua");
static INSTALL: LazyLock<Script> = script!("install.lua");
static LOAD: LazyLock<Script> = script!("load.lua");
static PRUNE: LazyLock<Script> = script!("prune.lua");
static ADJUST: LazyLock<Script> = script!("adjust.lua");
static RELEASE: LazyLock<Script> = script!("release.lua");

/// Why a Redis budget operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Redis has no state for this campaign: rebuild it from the ledger, then try again.
    #[error("redis has no budget state for campaign {0}")]
    Missing(CampaignId),
    /// Redis could not be reached or refused the command.
    #[error("redis: {0}")]
    Redis(#[from] RedisError),
    /// A script answered something this code does not understand.
    #[error("unexpected answer from redis: {0}")]
    Malformed(String),
    /// An amount or name the store cannot keep.
    #[error("{0}")]
    Invalid(String),
}

/// What [`RedisBudgetStore::install`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Installed {
    /// Redis had no state: this one is in place.
    New,
    /// Redis had an older version: its budget was resized to this one.
    Resized,
    /// Redis had this version or a newer one: nothing changed.
    Current,
    /// Redis had no state and had lost the install claim too (it lost the campaign again
    /// since): nothing was installed; read the view again under a new claim.
    Stale,
}

/// What the reaper did to one lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reaped {
    /// Closed; `returned` of `granted` went back to the pool.
    Closed { returned: i64, granted: i64 },
    /// Renewed meanwhile, or not yet past deadline and grace: left open.
    StillAlive,
    /// Already closed (settled or reaped by someone else).
    Gone,
}

/// The Redis keys of one campaign, both under its hash tag: the budget hash (totals and leases)
/// and the sorted set of recent servers.
struct Keys([String; 3]);

impl Keys {
    fn of(campaign: CampaignId) -> Self {
        let tag = format!("{{c:{}}}", campaign.0);
        Keys([
            tag.clone(),
            format!("{tag}:servers"),
            format!("{tag}:installing"),
        ])
    }
}

/// How long an install claim lasts: a rebuild that takes longer (or died) lets others claim.
const INSTALL_CLAIM_MS: u64 = 5_000;

/// A claim on installing a campaign's state, taken before its view is read from the ledger
/// ([`RedisBudgetStore::claim_install`]). Redis losing the campaign (a flush, a restart, a
/// failover to an empty replica) loses the claim with it, so a view read before the loss is
/// never installed after it. ([`RedisBudgetStore::forget`], which drops a state on purpose,
/// leaves a claim alone.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallClaim(String);

/// Campaign budgets in Redis, over any async connection: a multiplexed single-node connection or
/// a cluster connection. Clones share the connection.
#[derive(Clone)]
pub struct RedisBudgetStore<C> {
    conn: C,
}

impl<C> RedisBudgetStore<C>
where
    C: ConnectionLike + Clone + Send + Sync,
{
    /// A store on `conn`.
    pub fn new(conn: C) -> Self {
        RedisBudgetStore { conn }
    }

    async fn run(
        &self,
        script: &Script,
        keys: &Keys,
        count: usize,
        args: &[String],
    ) -> Result<Vec<Value>, StoreError> {
        let mut invocation = script.prepare_invoke();
        for key in &keys.0[..count] {
            invocation.key(key);
        }
        for arg in args {
            invocation.arg(arg);
        }
        let mut conn = self.conn.clone();
        let answer: Value = invocation.invoke_async(&mut conn).await?;
        match answer {
            Value::Array(items) => Ok(items),
            other => Err(StoreError::Malformed(format!("{other:?}"))),
        }
    }

    /// Claims the right to install `campaign`'s state from a view of the ledger read after
    /// this call; `None` while another rebuild holds the claim.
    pub async fn claim_install(
        &self,
        campaign: CampaignId,
    ) -> Result<Option<InstallClaim>, StoreError> {
        let claim = Uuid::new_v4().simple().to_string();
        let mut conn = self.conn.clone();
        let taken: Option<String> = redis::cmd("SET")
            .arg(&Keys::of(campaign).0[2])
            .arg(&claim)
            .arg("NX")
            .arg("PX")
            .arg(INSTALL_CLAIM_MS)
            .query_async(&mut conn)
            .await?;
        Ok(taken.map(|_| InstallClaim(claim)))
    }

    /// Whether Redis has a state for `campaign`.
    pub async fn exists(&self, campaign: CampaignId) -> Result<bool, StoreError> {
        let mut conn = self.conn.clone();
        let exists: bool = redis::cmd("HEXISTS")
            .arg(&Keys::of(campaign).0[0])
            .arg("budget")
            .query_async(&mut conn)
            .await?;
        Ok(exists)
    }

    /// [`RedisBudgetStore::install`] under `claim`: when Redis has no state and the claim is
    /// gone (Redis lost the campaign again since the claim, so the view may miss grants made
    /// meanwhile), installs nothing and answers [`Installed::Stale`]. The claim is released.
    pub async fn install_claimed(
        &self,
        campaign: CampaignId,
        state: &CampaignBudget,
        claim: &InstallClaim,
    ) -> Result<Installed, StoreError> {
        self.install_as(campaign, state, &claim.0).await
    }

    /// Puts `state` in place for `campaign` when Redis has none; when Redis has an older
    /// version, resizes its budget to `state`'s ([`CampaignBudget::resize`]); otherwise leaves it.
    /// Recent servers start empty; closed leases are carried over as given. (The controller
    /// installs under a claim: [`RedisBudgetStore::install_claimed`].)
    pub async fn install(
        &self,
        campaign: CampaignId,
        state: &CampaignBudget,
    ) -> Result<Installed, StoreError> {
        self.install_as(campaign, state, "").await
    }

    async fn install_as(
        &self,
        campaign: CampaignId,
        state: &CampaignBudget,
        claim: &str,
    ) -> Result<Installed, StoreError> {
        if !(0..=MAX_BUDGET_MICROS).contains(&state.budget) {
            return Err(StoreError::Invalid(format!(
                "budget {} micros is out of range",
                state.budget
            )));
        }
        let mut args = vec![
            state.budget.to_string(),
            state.remaining.to_string(),
            state.spent.to_string(),
            state.version.to_string(),
            claim.to_owned(),
        ];
        for (lease, open) in &state.open {
            check_server(&open.server)?;
            let kind = if open.pending { "P" } else { "O" };
            args.push(lease.0.to_string());
            args.push(format!(
                "{kind}|{}|{}|{}",
                open.granted, open.deadline_ms, open.server
            ));
        }
        for (lease, closed) in &state.closed {
            let how = match closed.closure {
                Closure::Settled => "S",
                Closure::Reaped => "R",
                Closure::Counted => "K",
            };
            args.push(lease.0.to_string());
            args.push(format!(
                "C|{}|{}|{how}|{}",
                closed.granted, closed.spent, closed.closed_ms
            ));
        }
        let answer = self.run(&INSTALL, &Keys::of(campaign), 3, &args).await?;
        match tag(&answer)?.as_str() {
            "installed" => Ok(Installed::New),
            "resized" => Ok(Installed::Resized),
            "current" => Ok(Installed::Current),
            "stale" => Ok(Installed::Stale),
            other => Err(StoreError::Malformed(other.to_owned())),
        }
    }

    /// [`CampaignBudget::allocate`] in Redis.
    pub async fn allocate(
        &self,
        campaign: CampaignId,
        lease: LeaseId,
        server: &str,
        want: Want,
        now_ms: i64,
        rules: &LeaseRules,
    ) -> Result<Result<Allocation, LeaseError>, StoreError> {
        check_server(server)?;
        let args = [
            lease.0.to_string(),
            server.to_owned(),
            want.amount.to_string(),
            now_ms.to_string(),
            rules.ttl_ms.to_string(),
            rules.server_window_ms.to_string(),
            want.unit.to_string(),
        ];
        let answer = self.run(&ALLOCATE, &Keys::of(campaign), 2, &args).await?;
        Ok(match tag(&answer)?.as_str() {
            "granted" => Ok(Allocation::Granted {
                amount: int(&answer, 1)?,
                deadline_ms: int(&answer, 2)?,
            }),
            "exhausted" => Ok(Allocation::Exhausted),
            "closed" => Err(LeaseError::Closed),
            "negative" => Err(LeaseError::Negative),
            "missing" => return Err(StoreError::Missing(campaign)),
            other => return Err(StoreError::Malformed(other.to_owned())),
        })
    }

    /// [`CampaignBudget::settle`] in Redis.
    pub async fn settle(
        &self,
        campaign: CampaignId,
        lease: LeaseId,
        spent: i64,
        now_ms: i64,
    ) -> Result<Result<Settlement, LeaseError>, StoreError> {
        let args = [lease.0.to_string(), spent.to_string(), now_ms.to_string()];
        let answer = self.run(&SETTLE, &Keys::of(campaign), 1, &args).await?;
        Ok(match tag(&answer)?.as_str() {
            "settled" => Ok(Settlement::Settled {
                returned: int(&answer, 1)?,
            }),
            "already" => Ok(Settlement::AlreadySettled),
            "late" => Ok(Settlement::Late {
                late: int(&answer, 1)?,
                over: int(&answer, 2)?,
            }),
            "overspent" => Err(LeaseError::Overspent {
                granted: int(&answer, 1)?,
                spent: int(&answer, 2)?,
            }),
            "conflict" => Err(LeaseError::SettleConflict {
                recorded: int(&answer, 1)?,
                reported: int(&answer, 2)?,
            }),
            "unknown" => Err(LeaseError::UnknownLease),
            "negative" => Err(LeaseError::Negative),
            "missing" => return Err(StoreError::Missing(campaign)),
            other => return Err(StoreError::Malformed(other.to_owned())),
        })
    }

    /// [`CampaignBudget::renew`] in Redis.
    pub async fn renew(
        &self,
        campaign: CampaignId,
        lease: LeaseId,
        now_ms: i64,
        rules: &LeaseRules,
    ) -> Result<Result<i64, LeaseError>, StoreError> {
        let args = [
            lease.0.to_string(),
            now_ms.to_string(),
            rules.ttl_ms.to_string(),
        ];
        let answer = self.run(&RENEW, &Keys::of(campaign), 1, &args).await?;
        Ok(match tag(&answer)?.as_str() {
            "renewed" => Ok(int(&answer, 1)?),
            "closed" => Err(LeaseError::Closed),
            "unknown" => Err(LeaseError::UnknownLease),
            "missing" => return Err(StoreError::Missing(campaign)),
            other => return Err(StoreError::Malformed(other.to_owned())),
        })
    }

    /// [`CampaignBudget::adjust`] in Redis.
    pub async fn adjust(
        &self,
        campaign: CampaignId,
        lease: LeaseId,
        counted: i64,
    ) -> Result<Result<Adjusted, LeaseError>, StoreError> {
        let args = [lease.0.to_string(), counted.to_string()];
        let answer = self.run(&ADJUST, &Keys::of(campaign), 1, &args).await?;
        Ok(match tag(&answer)?.as_str() {
            "changed" => Ok(Adjusted::Changed {
                delta: int(&answer, 1)?,
            }),
            "unchanged" => Ok(Adjusted::Unchanged),
            "gone" => Ok(Adjusted::Gone),
            "negative" => Err(LeaseError::Negative),
            "missing" => return Err(StoreError::Missing(campaign)),
            other => return Err(StoreError::Malformed(other.to_owned())),
        })
    }

    /// [`CampaignBudget::release_pending`] in Redis.
    pub async fn release_pending(
        &self,
        campaign: CampaignId,
        lease: LeaseId,
    ) -> Result<bool, StoreError> {
        let answer = self
            .run(&RELEASE, &Keys::of(campaign), 1, &[lease.0.to_string()])
            .await?;
        match tag(&answer)?.as_str() {
            "released" => Ok(true),
            "none" => Ok(false),
            "missing" => Err(StoreError::Missing(campaign)),
            other => Err(StoreError::Malformed(other.to_owned())),
        }
    }

    /// Closes one lease past its deadline and `grace_ms`, counting `ledger_spent` as its spend.
    pub async fn reap(
        &self,
        campaign: CampaignId,
        lease: LeaseId,
        ledger_spent: i64,
        now_ms: i64,
        grace_ms: i64,
    ) -> Result<Reaped, StoreError> {
        let args = [
            lease.0.to_string(),
            ledger_spent.to_string(),
            now_ms.to_string(),
            grace_ms.to_string(),
        ];
        let answer = self.run(&REAP, &Keys::of(campaign), 1, &args).await?;
        match tag(&answer)?.as_str() {
            "reaped" => Ok(Reaped::Closed {
                returned: int(&answer, 1)?,
                granted: int(&answer, 2)?,
            }),
            "alive" => Ok(Reaped::StillAlive),
            "gone" => Ok(Reaped::Gone),
            "missing" => Err(StoreError::Missing(campaign)),
            other => Err(StoreError::Malformed(other.to_owned())),
        }
    }

    /// Drops the campaign's state from Redis (reconciliation replaces it this way; the next call
    /// finds it missing and rebuilds it from the ledger).
    pub async fn forget(&self, campaign: CampaignId) -> Result<(), StoreError> {
        // (the keys share the hash tag, so one DEL serves on a cluster too; a claim on
        // installing stays with its rebuild)
        let keys = Keys::of(campaign);
        let mut conn = self.conn.clone();
        redis::cmd("DEL")
            .arg(&keys.0[..2])
            .query_async::<()>(&mut conn)
            .await?;
        Ok(())
    }

    /// Forgets the campaign's closed leases closed before `before_ms`
    /// ([`CampaignBudget::forget_closed`]), a bounded scan step per call; returns how many.
    pub async fn forget_closed(
        &self,
        campaign: CampaignId,
        before_ms: i64,
    ) -> Result<usize, StoreError> {
        let keys = Keys::of(campaign);
        let mut cursor = "0".to_owned();
        let mut forgotten = 0;
        loop {
            let args = [cursor, before_ms.to_string(), "500".to_owned()];
            let answer = self.run(&PRUNE, &keys, 1, &args).await?;
            cursor = answer.first().map(text).transpose()?.unwrap_or_default();
            forgotten += usize::try_from(int(&answer, 1)?).unwrap_or(0);
            if cursor == "0" {
                return Ok(forgotten);
            }
        }
    }

    /// The campaign's whole state, read atomically, or `None` when Redis has none.
    pub async fn load(&self, campaign: CampaignId) -> Result<Option<CampaignBudget>, StoreError> {
        let answer = self.run(&LOAD, &Keys::of(campaign), 2, &[]).await?;
        if answer.is_empty() {
            return Ok(None);
        }
        let [fields, servers] = answer.as_slice() else {
            return Err(StoreError::Malformed(format!("{answer:?}")));
        };
        let fields = pairs(fields)?;
        let field = |name: &str| -> Result<i64, StoreError> {
            fields
                .iter()
                .find(|(k, _)| k == name)
                .and_then(|(_, v)| v.parse().ok())
                .ok_or_else(|| StoreError::Malformed(format!("budget field {name}")))
        };
        let mut state = CampaignBudget {
            budget: field("budget")?,
            remaining: field("remaining")?,
            spent: field("spent")?,
            // states installed before budgets had versions have none
            version: field("version").unwrap_or(0),
            ..Default::default()
        };
        for (name, value) in &fields {
            let Some(lease) = name.strip_prefix("l:") else {
                continue;
            };
            let lease = lease_id(lease)?;
            let malformed = || StoreError::Malformed(format!("lease {value}"));
            let mut parts = value.splitn(4, '|');
            let (Some(kind), Some(a), Some(b), Some(rest)) =
                (parts.next(), parts.next(), parts.next(), parts.next())
            else {
                return Err(malformed());
            };
            let a: i64 = a.parse().map_err(|_| malformed())?;
            let b: i64 = b.parse().map_err(|_| malformed())?;
            match kind {
                "O" | "P" => {
                    let open = OpenLease {
                        server: rest.to_owned(),
                        granted: a,
                        deadline_ms: b,
                        pending: kind == "P",
                    };
                    state.open.insert(lease, open);
                }
                "C" => {
                    let (how, closed_ms) = rest.split_once('|').ok_or_else(malformed)?;
                    let closure = match how {
                        "R" => Closure::Reaped,
                        "K" => Closure::Counted,
                        _ => Closure::Settled,
                    };
                    state.closed.insert(
                        lease,
                        ClosedLease {
                            granted: a,
                            spent: b,
                            closure,
                            closed_ms: closed_ms.parse().map_err(|_| malformed())?,
                        },
                    );
                }
                _ => return Err(malformed()),
            }
        }
        let mut recent = BTreeMap::new();
        for (server, seen) in pairs(servers)? {
            let seen: f64 = seen
                .parse()
                .map_err(|_| StoreError::Malformed(seen.clone()))?;
            recent.insert(server, seen as i64);
        }
        state.servers = recent;
        Ok(Some(state))
    }
}

/// Server names end up inside lease values and field names: keep them plain.
pub(crate) fn check_server(server: &str) -> Result<(), StoreError> {
    let plain = !server.is_empty()
        && server.len() <= 200
        && server
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b));
    if plain {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "server name {server:?} must be 1 to 200 letters, digits, '-', '_', '.' or ':'"
        )))
    }
}

fn text(value: &Value) -> Result<String, StoreError> {
    match value {
        Value::BulkString(bytes) => Ok(String::from_utf8_lossy(bytes).into_owned()),
        Value::SimpleString(s) => Ok(s.clone()),
        Value::Int(n) => Ok(n.to_string()),
        other => Err(StoreError::Malformed(format!("{other:?}"))),
    }
}

fn tag(answer: &[Value]) -> Result<String, StoreError> {
    answer
        .first()
        .map(text)
        .unwrap_or_else(|| Err(StoreError::Malformed("an empty answer".into())))
}

fn int(answer: &[Value], index: usize) -> Result<i64, StoreError> {
    let value = answer
        .get(index)
        .ok_or_else(|| StoreError::Malformed(format!("no field {index}")))?;
    let text = text(value)?;
    text.parse().map_err(|_| StoreError::Malformed(text))
}

/// A flat `[k1, v1, k2, v2, ...]` reply as pairs.
fn pairs(value: &Value) -> Result<Vec<(String, String)>, StoreError> {
    let Value::Array(items) = value else {
        return Err(StoreError::Malformed(format!("{value:?}")));
    };
    items
        .chunks(2)
        .map(|kv| match kv {
            [k, v] => Ok((text(k)?, text(v)?)),
            _ => Err(StoreError::Malformed("an odd reply".into())),
        })
        .collect()
}

fn lease_id(text: &str) -> Result<LeaseId, StoreError> {
    Uuid::parse_str(text)
        .map(LeaseId)
        .map_err(|_| StoreError::Malformed(format!("lease id {text}")))
}
