//! `adctl audit`: the signed audit trail: what was done, by whom, and whether the chain holds.

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
    /// Walk the whole chain and check every signed checkpoint; exit code 1 names the first bad
    /// entry when it does not verify.
    Verify,
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
    ("INTACT", "intact"),
    ("ROWS", "rows"),
    ("CHECKPOINTS", "checkpoints_verified"),
    ("SIGNATURES", "signatures_checked"),
    ("HEAD", "head_hash"),
    ("FAULT AT", "fault.position"),
    ("FAULT", "fault.message"),
];

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
        Command::Verify => {
            eprintln!("adctl: walking the audit chain and checking its signatures...");
            let verification = ctx.client.get("/api/v1/audit/verify", &[]).await?;
            output::written(output::object(
                &mut ctx.out(),
                ctx.output,
                VERIFICATION,
                &verification,
            ))?;
            if verification["intact"] == true {
                if verification["signatures_checked"] != true {
                    eprintln!(
                        "adctl: the chain is intact, but its checkpoints' signatures were not checked (the API has no Vault)"
                    );
                }
                Ok(())
            } else {
                Err(Failure::CheckFailed(format!(
                    "the audit chain does not verify: entry {}: {}",
                    output::field(&verification, "fault.position"),
                    output::field(&verification, "fault.message")
                )))
            }
        }
    }
}
