//! `adctl reports`: a campaign's delivery and money by day or hour.

use serde_json::Value;

use crate::context::Ctx;
use crate::failure::Failure;
use crate::output::{self, Columns};
use crate::time::Moment;

/// Reports: delivery and spend.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// A campaign's impressions, clicks, spend, refunds and pace, by day or hour (buckets with
    /// activity only, in the campaign's time zone).
    Campaign {
        /// The campaign's id.
        id: uuid::Uuid,
        /// From this day or time (2026-11-01 or RFC 3339) [default: 7 days before --to].
        #[arg(long)]
        from: Option<Moment>,
        /// Until this day or time, not included [default: now].
        #[arg(long)]
        to: Option<Moment>,
        /// `day` or `hour`.
        #[arg(long, default_value = "day", value_parser = ["day", "hour"])]
        granularity: String,
    },
}

const ROWS: Columns = &[
    ("BUCKET", "bucket"),
    ("CURRENCY", "currency"),
    ("IMPRESSIONS", "impressions"),
    ("CLICKS", "clicks"),
    ("SPEND", "spend"),
    ("REFUNDS", "refunds"),
    ("CTR", "ctr"),
    ("ECPM", "ecpm"),
    ("PACE", "pace"),
];

/// Runs the command.
pub async fn run(ctx: &Ctx, args: Args) -> Result<(), Failure> {
    let Command::Campaign {
        id,
        from,
        to,
        granularity,
    } = args.command;
    let mut query = vec![("granularity", granularity)];
    query.extend(from.map(|f| ("from", f.to_rfc3339())));
    query.extend(to.map(|t| ("to", t.to_rfc3339())));
    let report = ctx
        .client
        .get(&format!("/api/v1/campaigns/{id}/report"), &query)
        .await?;
    if ctx.output == output::Format::Json {
        return output::written(output::object(&mut ctx.out(), ctx.output, ROWS, &report));
    }
    let currency = report["currency"].clone();
    let rows: Vec<Value> = report["rows"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|mut row| {
            row["currency"] = currency.clone();
            row
        })
        .collect();
    output::written(output::rows(&mut ctx.out(), ctx.output, ROWS, &rows))
}
