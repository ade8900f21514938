//! `adctl api-keys`: keys for programs (servingd's `service` key, an advertiser's scripts).

use reqwest::Method;
use serde_json::json;

use crate::client::Request;
use crate::context::Ctx;
use crate::failure::Failure;
use crate::output::{self, Columns};

/// API keys: create (the key is shown once), list, revoke.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Create a key; the key itself is shown this once.
    Create {
        /// What it is for.
        #[arg(long)]
        name: String,
        /// Its role (advertiser, operator, billing, service, admin) [default: advertiser with
        /// --advertiser; otherwise required].
        #[arg(long)]
        role: Option<String>,
        /// The advertiser it acts for (an advertiser key).
        #[arg(long)]
        advertiser: Option<uuid::Uuid>,
    },
    /// An advertiser's keys (without their secrets).
    List {
        /// The advertiser's id.
        #[arg(long)]
        advertiser: uuid::Uuid,
    },
    /// Revoke an advertiser's key (asks first; --yes does not).
    Revoke {
        /// The advertiser's id.
        #[arg(long)]
        advertiser: uuid::Uuid,
        /// The key's id.
        key: uuid::Uuid,
    },
}

const COLUMNS: Columns = &[
    ("ID", "id"),
    ("NAME", "name"),
    ("ROLE", "role"),
    ("ADVERTISER", "advertiser_id"),
    ("CREATED", "created_at"),
    ("REVOKED", "revoked_at"),
];

const CREATED: Columns = &[
    ("ID", "id"),
    ("NAME", "name"),
    ("ROLE", "role"),
    ("ADVERTISER", "advertiser_id"),
    ("API KEY", "api_key"),
];

/// Runs the command.
pub async fn run(ctx: &Ctx, args: Args) -> Result<(), Failure> {
    match args.command {
        Command::Create {
            name,
            role,
            advertiser,
        } => {
            let created = match (role.as_deref(), advertiser) {
                (None | Some("advertiser"), Some(advertiser)) => {
                    let path = format!("/api/v1/advertisers/{advertiser}/api-keys");
                    ctx.client.post(&path, &json!({"name": name}), None).await?
                }
                (Some(role), advertiser) => {
                    let body = json!({"name": name, "role": role, "advertiser_id": advertiser});
                    ctx.client.post("/api/v1/api-keys", &body, None).await?
                }
                (None, None) => {
                    return Err(Failure::usage(
                        "say whose key it is: --advertiser ID, or --role ROLE",
                    ));
                }
            };
            eprintln!("adctl: keep the key now: it is not shown again");
            output::written(output::object(
                &mut ctx.out(),
                ctx.output,
                CREATED,
                &created,
            ))
        }
        Command::List { advertiser } => {
            let path = format!("/api/v1/advertisers/{advertiser}/api-keys");
            let keys = ctx.client.get(&path, &[]).await?;
            let keys = keys.as_array().cloned().unwrap_or_default();
            output::written(output::rows(&mut ctx.out(), ctx.output, COLUMNS, &keys))
        }
        Command::Revoke { advertiser, key } => {
            ctx.confirm(&format!(
                "Revoke API key {key}? Programs using it stop at once."
            ))?;
            let path = format!("/api/v1/advertisers/{advertiser}/api-keys/{key}");
            ctx.client
                .send(Method::DELETE, &path, Request::default())
                .await?;
            eprintln!("adctl: revoked {key}");
            Ok(())
        }
    }
}
