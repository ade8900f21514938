//! `adctl fraud`: the blocklist of known-bad sources servingd neither bids for nor bills, and
//! the refunds of invalid traffic.

use reqwest::Method;
use serde_json::json;

use crate::client::Request;
use crate::context::Ctx;
use crate::failure::Failure;
use crate::output::{self, Columns};
use crate::time::Moment;

/// Fraud: the blocklist and invalid-traffic refunds.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// The blocklist: list, add, remove.
    #[command(subcommand)]
    Blocklist(Blocklist),
    /// Refunds of invalid traffic, newest first, with their reasons.
    Refunds {
        /// Only this advertiser's.
        #[arg(long)]
        advertiser: Option<uuid::Uuid>,
        /// Only this campaign's.
        #[arg(long)]
        campaign: Option<uuid::Uuid>,
        /// Posted on or after this day (`2026-11-30`) or time (RFC 3339).
        #[arg(long)]
        since: Option<Moment>,
        /// At most this many (newest first).
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
        limit: u32,
    },
}

#[derive(Debug, clap::Subcommand)]
pub enum Blocklist {
    /// The listed sources, in (kind, value) order.
    List {
        /// Only IPs or only devices.
        #[arg(long, value_parser = ["ip", "device"])]
        kind: Option<String>,
    },
    /// List sources; servingd stops bidding for them and billing their events within seconds.
    Add {
        /// `ip` or `device`.
        #[arg(value_parser = ["ip", "device"])]
        kind: String,
        /// The IP addresses or device ids.
        #[arg(required = true)]
        values: Vec<String>,
        /// Why they are listed.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Take a source off the list (asks first; --yes does not).
    Remove {
        /// `ip` or `device`.
        #[arg(value_parser = ["ip", "device"])]
        kind: String,
        /// The IP address or device id.
        value: String,
    },
}

const REFUNDS: Columns = &[
    ("POSTED", "posted_at"),
    ("AMOUNT", "amount"),
    ("CURRENCY", "currency"),
    ("CAMPAIGN", "campaign_id"),
    ("EVENT", "event_id"),
    ("REASON", "reason"),
];

const SOURCES: Columns = &[
    ("KIND", "kind"),
    ("VALUE", "value"),
    ("REASON", "reason"),
    ("ADDED BY", "added_by"),
    ("ADDED", "added_at"),
];

/// Runs the command.
pub async fn run(ctx: &Ctx, args: Args) -> Result<(), Failure> {
    let command = match args.command {
        Command::Blocklist(command) => command,
        Command::Refunds {
            advertiser,
            campaign,
            since,
            limit,
        } => {
            let mut query = Vec::new();
            if let Some(a) = advertiser {
                query.push(("advertiser_id", a.to_string()));
            }
            if let Some(c) = campaign {
                query.push(("campaign_id", c.to_string()));
            }
            if let Some(since) = since {
                query.push(("since", since.to_rfc3339()));
            }
            let items = ctx
                .client
                .all_pages("/api/v1/fraud/refunds", &query, Some(limit as usize))
                .await?;
            return output::written(output::rows(&mut ctx.out(), ctx.output, REFUNDS, &items));
        }
    };
    match command {
        Blocklist::List { kind } => {
            let query: Vec<(&str, String)> = kind.map(|k| ("kind", k)).into_iter().collect();
            let items = ctx
                .client
                .all_pages("/api/v1/fraud/blocklist", &query, None)
                .await?;
            output::written(output::rows(&mut ctx.out(), ctx.output, SOURCES, &items))
        }
        Blocklist::Add {
            kind,
            values,
            reason,
        } => {
            let entries: Vec<_> = values
                .iter()
                .map(|value| json!({"kind": kind, "value": value, "reason": reason.clone().unwrap_or_default()}))
                .collect();
            let added = ctx
                .client
                .post(
                    "/api/v1/fraud/blocklist",
                    &json!({"entries": entries}),
                    None,
                )
                .await?;
            output::written(output::object(
                &mut ctx.out(),
                ctx.output,
                &[("ADDED", "added"), ("ALREADY LISTED", "already_listed")],
                &added,
            ))
        }
        Blocklist::Remove { kind, value } => {
            ctx.confirm(&format!(
                "Take {kind} {value} off the blocklist? servingd bids for it again."
            ))?;
            let path = format!("/api/v1/fraud/blocklist/{kind}/{}", encode(&value));
            ctx.client
                .send(Method::DELETE, &path, Request::default())
                .await?;
            eprintln!("adctl: {kind} {value} is off the list");
            Ok(())
        }
    }
}

/// `value` as one path segment.
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}
