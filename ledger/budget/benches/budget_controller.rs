//! Budget script calls against the real Redis of `scripts/services`, next to the cheapest script
//! call the same client can make, at the same concurrency. Prints figures and the ratio; asserts
//! nothing.
//!
//!   cargo bench -p budget --bench budget_controller             full run
//!   cargo bench -p budget --bench budget_controller -- --smoke  a short run, to check it runs
//!   ... -- --only trivial | --only controller                      one side alone
//!
//! - controller calls/s: each task allocates a lease and settles it, again and again, on its own
//!   campaign: every call is one script (EVALSHA) doing the controller's real work;
//! - trivial calls/s: each task runs `return 1` as a script on a key of its campaign's hash tag.

use std::time::Instant;

use anyhow::Result;
use budget::{Allocation, CampaignBudget, LeaseRules, RedisBudgetStore, Want};
use ledger::{CampaignId, LeaseId};
use redis::aio::MultiplexedConnection;

const TASKS: usize = 64;
const RULES: LeaseRules = LeaseRules {
    ttl_ms: 60_000,
    server_window_ms: 60_000,
};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let smoke = std::env::args().any(|a| a == "--smoke");
    let calls_per_task: usize = if smoke { 200 } else { 20_000 };
    let url = test_support::service_var("REDIS_URL")?;
    let client = redis::Client::open(url)?;
    let conn = client.get_multiplexed_async_connection().await?;
    println!(
        "budget controller calls: {TASKS} tasks on one multiplexed connection{}",
        if smoke {
            " (SMOKE RUN: too short for meaningful figures)"
        } else {
            ""
        }
    );

    let mut campaigns = Vec::new();
    let store = RedisBudgetStore::new(conn.clone());
    for _ in 0..TASKS {
        let campaign = CampaignId::new();
        store
            .install(campaign, &CampaignBudget::new(100_000_000_000_000))
            .await?;
        campaigns.push(campaign);
    }
    // warm both scripts up (loaded once, then called by hash)
    trivial(&conn, &campaigns, 10).await?;
    controller(&store, &campaigns, 10).await?;

    let mut trivial_rates = Vec::new();
    let mut controller_rates = Vec::new();
    let only = std::env::args().skip_while(|a| a != "--only").nth(1);
    for _ in 0..3 {
        if only.as_deref() != Some("controller") {
            trivial_rates.push(trivial(&conn, &campaigns, calls_per_task).await?);
        }
        if only.as_deref() != Some("trivial") {
            controller_rates.push(controller(&store, &campaigns, calls_per_task).await?);
        }
    }
    let (t, c) = (median(&mut trivial_rates), median(&mut controller_rates));
    println!(
        "trivial EVALSHA calls            {t:>10.0} calls/s   (median of {trivial_rates:.0?})"
    );
    println!(
        "controller calls (alloc/settle)  {c:>10.0} calls/s   (median of {controller_rates:.0?})"
    );
    println!(
        "  controller / trivial           {:>10.2}   (target >= 0.80)",
        c / t
    );

    for campaign in campaigns {
        store.forget(campaign).await?;
    }
    Ok(())
}

async fn trivial(
    conn: &MultiplexedConnection,
    campaigns: &[CampaignId],
    calls: usize,
) -> Result<f64> {
    let script = redis::Script::new("return 1");
    let started = Instant::now();
    let mut tasks = Vec::new();
    for campaign in campaigns {
        let (mut conn, script) = (conn.clone(), script.clone());
        let key = format!("{{c:{}}}:budget", campaign.0);
        tasks.push(tokio::spawn(async move {
            for _ in 0..calls {
                let _: i64 = script.key(&key).invoke_async(&mut conn).await?;
            }
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok((calls * campaigns.len()) as f64 / started.elapsed().as_secs_f64())
}

async fn controller(
    store: &RedisBudgetStore<MultiplexedConnection>,
    campaigns: &[CampaignId],
    calls: usize,
) -> Result<f64> {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (n, campaign) in campaigns.iter().enumerate() {
        let (store, campaign) = (store.clone(), *campaign);
        tasks.push(tokio::spawn(async move {
            let server = format!("bench-{n}");
            for i in 0..calls / 2 {
                let lease = LeaseId::new();
                let grant = store
                    .allocate(
                        campaign,
                        lease,
                        &server,
                        Want::per_impression(10_000, 5_000),
                        i as i64,
                        &RULES,
                    )
                    .await?;
                anyhow::ensure!(
                    matches!(grant, Ok(Allocation::Granted { .. })),
                    "unexpected {grant:?}"
                );
                let settled = store.settle(campaign, lease, 2_500, i as i64).await?;
                anyhow::ensure!(settled.is_ok(), "unexpected {settled:?}");
            }
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(((calls / 2) * 2 * campaigns.len()) as f64 / started.elapsed().as_secs_f64())
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}
