//! `adctl advertisers`: list, show and create advertisers.

use serde_json::json;

use crate::context::Ctx;
use crate::failure::Failure;
use crate::output::{self, Columns};

/// Advertisers: the accounts campaigns are run and paid for by.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Every advertiser you may see, oldest first.
    List,
    /// One advertiser.
    Get {
        /// The advertiser's id.
        id: uuid::Uuid,
    },
    /// Create an advertiser and its cash account.
    Create {
        /// Its name.
        #[arg(long)]
        name: String,
        /// The currency it pays in (ISO 4217, e.g. USD), for good.
        #[arg(long)]
        currency: String,
    },
}

const COLUMNS: Columns = &[
    ("ID", "id"),
    ("NAME", "name"),
    ("CURRENCY", "currency"),
    ("CREATED", "created_at"),
];

/// Runs the command.
pub async fn run(ctx: &Ctx, args: Args) -> Result<(), Failure> {
    let mut out = ctx.out();
    match args.command {
        Command::List => {
            let items = ctx
                .client
                .all_pages("/api/v1/advertisers", &[], None)
                .await?;
            output::written(output::rows(&mut out, ctx.output, COLUMNS, &items))
        }
        Command::Get { id } => {
            let advertiser = ctx
                .client
                .get(&format!("/api/v1/advertisers/{id}"), &[])
                .await?;
            output::written(output::object(&mut out, ctx.output, COLUMNS, &advertiser))
        }
        Command::Create { name, currency } => {
            let body = json!({"name": name, "currency": currency});
            let created = ctx.client.post("/api/v1/advertisers", &body, None).await?;
            output::written(output::object(&mut out, ctx.output, COLUMNS, &created))
        }
    }
}
