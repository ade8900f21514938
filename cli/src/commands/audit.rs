//! `adctl audit`: the signed audit trail: what was done, by whom, and whether the chain holds.

use std::io::IsTerminal;

use serde_json::json;

use crate::context::Ctx;
use crate::failure::Failure;
use crate::output::{self, Columns};

/// The audit trail: list entries, verify the chain and its signatures.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Audit entries, newest first.
    List {
        /// Only entries of this action (`campaign.pause`, `ledger.post`, ...).
        #[arg(long)]
        action: Option<String>,
        /// Only entries by this actor.
        #[arg(long)]
        actor: Option<String>,
        /// Only entries about this advertiser's objects.
        #[arg(long)]
        advertiser: Option<uuid::Uuid>,
        /// At most this many entries.
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..))]
        limit: u32,
    },
    /// Verify the chain and every signed checkpoint (a job on the API, followed here with its
    /// progress); exit code 1 names the first bad entry when it does not verify.
    Verify {
        /// Walk from the first row, rather than from the latest signed checkpoint the last
        /// intact verification reached.
        #[arg(long)]
        full: bool,
    },
}

const ENTRIES: Columns = &[
    ("POSITION", "position"),
    ("AT", "at"),
    ("ACTOR", "actor"),
    ("ROLE", "role"),
    ("ACTION", "action"),
    ("OBJECT", "object"),
];

const VERIFICATION: Columns = &[
    ("STATUS", "status"),
    ("FROM", "from_rows"),
    ("ROWS", "rows_checked"),
    ("CHECKPOINTS", "checkpoints"),
    ("SIGNATURES", "signatures_checked"),
    ("HEAD", "head_hash"),
    ("FAULT AT", "fault_position"),
    ("FAULT", "fault"),
];

/// How often a running verification is asked how far it got.
const POLL_EVERY: std::time::Duration = std::time::Duration::from_millis(500);

/// Runs the command.
pub async fn run(ctx: &Ctx, args: Args) -> Result<(), Failure> {
    match args.command {
        Command::List {
            action,
            actor,
            advertiser,
            limit,
        } => {
            let mut query = Vec::new();
            query.extend(action.map(|a| ("action", a)));
            query.extend(actor.map(|a| ("actor", a)));
            query.extend(advertiser.map(|a| ("advertiser_id", a.to_string())));
            let entries = ctx
                .client
                .all_pages("/api/v1/audit", &query, Some(limit as usize))
                .await?;
            output::written(output::rows(&mut ctx.out(), ctx.output, ENTRIES, &entries))
        }
        Command::Verify { full } => {
            let started = ctx
                .client
                .post("/api/v1/audit/verifications", &json!({"full": full}), None)
                .await?;
            let path = format!(
                "/api/v1/audit/verifications/{}",
                output::field(&started, "id")
            );
            let on_terminal = std::io::stderr().is_terminal();
            let mut verification = started;
            while verification["status"] == "running" {
                if on_terminal {
                    eprint!(
                        "\radctl: verifying the audit chain: {} rows...",
                        output::field(&verification, "rows_checked")
                    );
                }
                tokio::time::sleep(POLL_EVERY).await;
                verification = ctx.client.get(&path, &[]).await?;
            }
            if on_terminal {
                eprintln!();
            }
            output::written(output::object(
                &mut ctx.out(),
                ctx.output,
                VERIFICATION,
                &verification,
            ))?;
            match verification["status"].as_str() {
                Some("intact") => {
                    if verification["signatures_checked"] != true {
                        eprintln!(
                            "adctl: the chain is intact, but its checkpoints' signatures were not checked (the API has no Vault)"
                        );
                    }
                    Ok(())
                }
                Some("broken") => Err(Failure::CheckFailed(format!(
                    "the audit chain does not verify: entry {}: {}",
                    output::field(&verification, "fault_position"),
                    output::field(&verification, "fault")
                ))),
                _ => Err(Failure::CheckFailed(format!(
                    "the verification did not finish ({}): {}",
                    output::field(&verification, "status"),
                    output::field(&verification, "fault")
                ))),
            }
        }
    }
}
