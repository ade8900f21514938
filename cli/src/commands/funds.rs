//! `adctl funds`: money into advertisers' accounts, and what they hold.

use serde_json::json;

use crate::client::repeated_cursor;
use crate::context::Ctx;
use crate::failure::Failure;
use crate::output::{self, Columns};
use crate::time::Moment;

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
    /// The advertiser's cash statement, oldest first, every page (`-o csv` for a spreadsheet).
    Statement {
        /// The advertiser's id.
        advertiser: uuid::Uuid,
        /// From this day or time (2026-11-01 or RFC 3339).
        #[arg(long)]
        from: Option<Moment>,
        /// Until this day or time, not included.
        #[arg(long)]
        to: Option<Moment>,
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
        Command::Statement {
            advertiser,
            from,
            to,
        } => return statement(ctx, advertiser, from, to).await,
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
    let posting = match ctx.client.post(&path, &body, Some(&key)).await {
        Ok(posting) => posting,
        // the money may have moved: the same key makes the retry safe
        Err(Failure::Unavailable(cause)) => {
            return Err(Failure::Unavailable(format!(
                "{cause}\n  the {kind} may or may not have been recorded: retry with --idempotency-key {key}",
                kind = &kind[..kind.len() - 1]
            )));
        }
        Err(other) => return Err(other),
    };
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

const LINES: Columns = &[
    ("POSTED", "posted_at"),
    ("KIND", "kind"),
    ("CHANGE", "change"),
    ("BALANCE", "balance"),
    ("CURRENCY", "currency"),
    ("CAMPAIGN", "campaign"),
    ("TRANSFER", "transfer"),
    ("NOTE", "note"),
];

/// Every line of the statement between `from` and `to`, page after page.
async fn statement(
    ctx: &Ctx,
    advertiser: uuid::Uuid,
    from: Option<Moment>,
    to: Option<Moment>,
) -> Result<(), Failure> {
    let path = format!("/api/v1/advertisers/{advertiser}/statement");
    let mut lines = Vec::new();
    let mut cursor: Option<String> = None;
    let mut seen = std::collections::HashSet::new();
    loop {
        let mut query = vec![("limit", "1000".to_owned())];
        query.extend(cursor.take().map(|c| ("cursor", c)));
        let page = ctx.client.get(&path, &query).await?;
        for line in page["lines"].as_array().into_iter().flatten() {
            let transfer = &line["transfer"];
            let posted: Option<Moment> =
                transfer["posted_at"].as_str().and_then(|t| t.parse().ok());
            if from.is_some_and(|f| posted.is_some_and(|p| p < f)) {
                continue;
            }
            if to.is_some_and(|t| posted.is_some_and(|p| p >= t)) {
                continue;
            }
            lines.push(json!({
                "posted_at": transfer["posted_at"],
                "kind": transfer["kind"],
                "change": line["change"],
                "balance": line["balance"],
                "currency": transfer["currency"],
                "campaign": transfer["references"]["campaign"],
                "transfer": transfer["id"],
                "note": transfer["metadata"]["note"],
            }));
        }
        match page["next"].as_str() {
            Some(next) if seen.insert(next.to_owned()) => cursor = Some(next.to_owned()),
            Some(next) => return Err(repeated_cursor(next)),
            None => break,
        }
    }
    output::written(output::rows(&mut ctx.out(), ctx.output, LINES, &lines))
}
