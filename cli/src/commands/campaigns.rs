//! `adctl campaigns`: list, show, create, change and run campaigns.

use std::path::PathBuf;

use reqwest::Method;
use serde_json::Value;

use crate::client::Request;
use crate::commands::campaign_import;
use crate::context::Ctx;
use crate::failure::Failure;
use crate::output::{self, Columns};

/// Campaigns: their settings and their status (draft, active, paused, exhausted, ended,
/// archived).
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Every campaign you may see, oldest first.
    List {
        /// Only this advertiser's.
        #[arg(long)]
        advertiser: Option<uuid::Uuid>,
        /// Only those in this status (draft, active, paused, exhausted, ended, archived).
        #[arg(long)]
        status: Option<String>,
    },
    /// One campaign, with all its settings (`-o json` shows them whole).
    Get {
        /// The campaign's id.
        id: uuid::Uuid,
    },
    /// Create a draft campaign from a JSON file of its settings (`-` reads standard input).
    Create {
        /// The settings, as the API's `NewCampaign` (see /api/v1/docs).
        #[arg(short, long)]
        file: PathBuf,
        /// The advertiser it is for (operators and admins; an advertiser's own login needs none).
        #[arg(long)]
        advertiser: Option<uuid::Uuid>,
        /// Reuse the key of an earlier attempt (shown with -v) so that a retry after a network
        /// error finds the campaign it made instead of making another.
        #[arg(long)]
        idempotency_key: Option<String>,
    },
    /// Create many draft campaigns from a CSV file, one result line per row.
    ///
    /// Safe to run again: each row is sent with an idempotency key made from its name, so a
    /// campaign an earlier run made is found, not made twice. Exit code 1 when a row was refused.
    ///
    /// Columns (named on the first line; `name` is required; an empty cell leaves the setting
    /// out): advertiser_id, name, pacing, bid.kind, bid.amount, budget.daily, budget.lifetime,
    /// schedule.start, schedule.end, schedule.time_zone (text); frequency_cap.count,
    /// frequency_cap.period_s (whole numbers); targeting.countries, targeting.regions,
    /// targeting.device_types, targeting.os, targeting.categories, targeting.placements,
    /// targeting.segments, targeting.deals (values split on `|`: `US|CA`);
    /// schedule.day_parting, targeting.sizes, creatives (JSON).
    Import {
        /// The CSV file: a header line naming the columns, then one campaign a line.
        file: PathBuf,
        /// The advertiser of rows without an `advertiser_id` (staff logins).
        #[arg(long)]
        advertiser: Option<uuid::Uuid>,
    },
    /// Change a campaign's settings with a JSON merge patch from a file (`-`: standard input).
    Update {
        /// The campaign's id.
        id: uuid::Uuid,
        /// The patch: the settings to change, `null` to remove an optional one.
        #[arg(short, long)]
        file: PathBuf,
    },
    /// Start a draft campaign: its budget is held from the advertiser's cash.
    Activate {
        /// The campaign's id.
        id: uuid::Uuid,
    },
    /// Pause an active campaign; what it holds goes back to cash.
    Pause {
        /// The campaign's id.
        id: uuid::Uuid,
    },
    /// Resume a paused (or exhausted, after a raise) campaign.
    Resume {
        /// The campaign's id.
        id: uuid::Uuid,
    },
    /// Archive a campaign for good (asks first; --yes does not).
    Archive {
        /// The campaign's id.
        id: uuid::Uuid,
    },
}

const COLUMNS: Columns = &[
    ("ID", "id"),
    ("NAME", "name"),
    ("STATUS", "status"),
    ("CURRENCY", "currency"),
    ("DAILY", "budget.daily"),
    ("LIFETIME", "budget.lifetime"),
    ("BID", "bid.kind"),
    ("AMOUNT", "bid.amount"),
];

/// Runs the command.
pub async fn run(ctx: &Ctx, args: Args) -> Result<(), Failure> {
    let campaign = match args.command {
        Command::List { advertiser, status } => {
            let mut query = Vec::new();
            if let Some(a) = advertiser {
                query.push(("advertiser_id", a.to_string()));
            }
            if let Some(s) = status {
                query.push(("status", s));
            }
            return output::written_or_failed(list(ctx, &query).await);
        }
        Command::Get { id } => ctx.client.get(&path(id), &[]).await?,
        Command::Create {
            file,
            advertiser,
            idempotency_key,
        } => {
            let mut body = read_json(&file)?;
            if let (Some(a), Some(object)) = (advertiser, body.as_object_mut()) {
                object.insert("advertiser_id".into(), Value::String(a.to_string()));
            }
            let key = idempotency_key.unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
            ctx.client
                .post("/api/v1/campaigns", &body, Some(&key))
                .await
                .map_err(|e| retry_hint(e, &key))?
        }
        Command::Import { file, advertiser } => {
            return campaign_import::run(ctx, &file, advertiser).await;
        }
        Command::Update { id, file } => {
            let patch = read_json(&file)?;
            let request = Request {
                body: Some(&patch),
                content_type: Some("application/merge-patch+json"),
                ..Request::default()
            };
            ctx.client.send(Method::PATCH, &path(id), request).await?
        }
        Command::Activate { id } => act(ctx, id, "activate").await?,
        Command::Pause { id } => act(ctx, id, "pause").await?,
        Command::Resume { id } => act(ctx, id, "resume").await?,
        Command::Archive { id } => {
            ctx.confirm(&format!("Archive campaign {id} for good?"))?;
            act(ctx, id, "archive").await?
        }
    };
    output::written(output::object(
        &mut ctx.out(),
        ctx.output,
        COLUMNS,
        &campaign,
    ))
}

/// Every campaign of the query, written page by page as they come.
async fn list(ctx: &Ctx, query: &[(&str, String)]) -> Result<std::io::Result<()>, Failure> {
    let mut pages = ctx.client.pages("/api/v1/campaigns", query, None);
    let mut out = ctx.out();
    let mut writer = output::RowWriter::new(&mut out, ctx.output, COLUMNS);
    while let Some(items) = pages.next().await? {
        if let Err(e) = writer.push(&items) {
            return Ok(Err(e));
        }
    }
    Ok(writer.finish())
}

/// A creation that timed out or failed on the server may or may not have been made: the key
/// that finds it on a retry.
fn retry_hint(failure: Failure, key: &str) -> Failure {
    match failure {
        Failure::Unavailable(cause) => Failure::Unavailable(format!(
            "{cause}\n  the campaign may or may not have been created: retry with --idempotency-key {key}"
        )),
        other => other,
    }
}

fn path(id: uuid::Uuid) -> String {
    format!("/api/v1/campaigns/{id}")
}

async fn act(ctx: &Ctx, id: uuid::Uuid, action: &str) -> Result<Value, Failure> {
    let body = Value::Object(Default::default());
    ctx.client
        .post(&format!("{}/{action}", path(id)), &body, None)
        .await
}

/// The JSON in `file` (`-`: standard input).
fn read_json(file: &PathBuf) -> Result<Value, Failure> {
    let text = if file.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin())
            .map_err(|e| Failure::usage(format!("reading standard input: {e}")))?
    } else {
        std::fs::read_to_string(file)
            .map_err(|e| Failure::usage(format!("reading {}: {e}", file.display())))?
    };
    serde_json::from_str(&text)
        .map_err(|e| Failure::usage(format!("{} is not JSON: {e}", file.display())))
}
