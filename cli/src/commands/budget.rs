//! `adctl budget`: the budget controller's Redis state beside the ledger's, and reconciliation.

use serde_json::{Value, json};

use crate::context::Ctx;
use crate::failure::Failure;
use crate::output::{self, Columns};

/// Budgets: the ledger's hold and billed spend beside Redis's remaining and open leases.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// One campaign's budget, or every campaign's with leases: ledger beside Redis, and the drift.
    Status {
        /// The campaign's id (default: every campaign with leases on record).
        campaign: Option<uuid::Uuid>,
    },
    /// Compare Redis with the ledger for every campaign; exit code 1 when any is out of line.
    Reconcile {
        /// Put each campaign out of line back in line with the ledger (asks first; --yes does
        /// not).
        #[arg(long)]
        repair: bool,
    },
}

const COLUMNS: Columns = &[
    ("CAMPAIGN", "campaign_id"),
    ("CURRENCY", "currency"),
    ("BUDGET", "ledger_budget"),
    ("SPENT", "ledger_spent"),
    ("REMAINING", "ledger_remaining"),
    ("LEASES", "ledger_open_leases"),
    ("REDIS REMAINING", "redis_remaining"),
    ("REDIS LEASES", "redis_open_leases"),
    ("DRIFT", "drift"),
    ("IN SYNC", "in_sync"),
    ("REPAIRED", "repaired"),
];

/// Runs the command.
pub async fn run(ctx: &Ctx, args: Args) -> Result<(), Failure> {
    match args.command {
        Command::Status { campaign } => {
            let query: Vec<(&str, String)> = campaign
                .map(|c| ("campaign_id", c.to_string()))
                .into_iter()
                .collect();
            let status = ctx.client.get("/api/v1/budget/status", &query).await?;
            show(ctx, &status)
        }
        Command::Reconcile { repair } => {
            if repair {
                ctx.confirm(
                    "Replace Redis's budget state with the ledger's for every campaign out of line?",
                )?;
            }
            let report = ctx
                .client
                .post("/api/v1/budget/reconcile", &json!({"repair": repair}), None)
                .await?;
            show(ctx, &report)?;
            let out_of_sync = report["out_of_sync"].as_u64().unwrap_or(0);
            let repaired = campaigns(&report)
                .iter()
                .filter(|c| c["repaired"] == true)
                .count();
            match (out_of_sync, repair) {
                (0, _) => Ok(()),
                (n, true) => {
                    eprintln!("adctl: {n} campaign(s) were out of line; {repaired} repaired");
                    Ok(())
                }
                (n, false) => Err(Failure::CheckFailed(format!(
                    "{n} campaign(s) out of line with the ledger; mend them with: adctl budget reconcile --repair"
                ))),
            }
        }
    }
}

fn campaigns(report: &Value) -> Vec<Value> {
    report["campaigns"].as_array().cloned().unwrap_or_default()
}

fn show(ctx: &Ctx, report: &Value) -> Result<(), Failure> {
    match ctx.output {
        output::Format::Json => {
            output::written(output::object(&mut ctx.out(), ctx.output, COLUMNS, report))
        }
        format => output::written(output::rows(
            &mut ctx.out(),
            format,
            COLUMNS,
            &campaigns(report),
        )),
    }
}
