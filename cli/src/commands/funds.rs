//! `adctl funds`: money into advertisers' accounts, and what they hold.

use serde_json::json;

use crate::context::Ctx;
use crate::failure::Failure;
use crate::output::{self, Columns};

/// An advertiser's money: deposits, credits and the balance.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Record money received from an advertiser (safe to retry with the same --idempotency-key).
    Deposit(Funding),
    /// Grant an advertiser a credit from the platform (safe to retry likewise).
    Credit(Funding),
    /// The advertiser's cash, what is available and what its campaigns hold.
    Balance {
        /// The advertiser's id.
        advertiser: uuid::Uuid,
    },
}

/// Money moved into an advertiser's account.
#[derive(Debug, clap::Args)]
pub struct Funding {
    /// The advertiser's id.
    pub advertiser: uuid::Uuid,
    /// The amount, in the advertiser's currency (a decimal, at most six places: 500.00).
    #[arg(allow_hyphen_values = true)]
    pub amount: String,
    /// A note kept with the transfer (a wire reference).
    #[arg(long)]
    pub note: Option<String>,
    /// Makes a retry safe: the same key moves the money once [default: a new one, shown with -v].
    #[arg(long)]
    pub idempotency_key: Option<String>,
}

const POSTING: Columns = &[
    ("TRANSFER", "transfer_id"),
    ("KIND", "kind"),
    ("AMOUNT", "amount"),
    ("CURRENCY", "currency"),
    ("POSTED", "posted_at"),
    ("NEW", "created"),
];

const BALANCE: Columns = &[
    ("ADVERTISER", "advertiser_id"),
    ("CURRENCY", "currency"),
    ("CASH", "cash"),
    ("AVAILABLE", "available"),
    ("HELD", "held"),
];

/// Runs the command.
pub async fn run(ctx: &Ctx, args: Args) -> Result<(), Failure> {
    let (funding, kind) = match args.command {
        Command::Deposit(f) => (f, "deposits"),
        Command::Credit(f) => (f, "credits"),
        Command::Balance { advertiser } => {
            let path = format!("/api/v1/advertisers/{advertiser}/balance");
            let balance = ctx.client.get(&path, &[]).await?;
            return output::written(output::object(
                &mut ctx.out(),
                ctx.output,
                BALANCE,
                &balance,
            ));
        }
    };
    let key = funding
        .idempotency_key
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    let body = json!({"amount": funding.amount, "note": funding.note});
    let path = format!("/api/v1/advertisers/{}/{kind}", funding.advertiser);
    let posting = ctx.client.post(&path, &body, Some(&key)).await?;
    if posting["created"] == false {
        eprintln!(
            "adctl: a retry of idempotency key {key}: the first posting, nothing moved again"
        );
    }
    output::written(output::object(
        &mut ctx.out(),
        ctx.output,
        POSTING,
        &posting,
    ))
}
