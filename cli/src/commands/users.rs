//! `adctl users`: the people who sign in.

use std::io::IsTerminal;

use serde_json::json;

use crate::context::Ctx;
use crate::failure::Failure;
use crate::output::{self, Columns};

/// Users: create, list.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Create a user; the password is asked for without echo (or read with --password-stdin).
    Create {
        /// The name they sign in with.
        #[arg(long)]
        username: String,
        /// Their role (advertiser, operator, billing, admin) [default: advertiser with
        /// --advertiser; otherwise required].
        #[arg(long)]
        role: Option<String>,
        /// The advertiser they act for (an advertiser's user).
        #[arg(long)]
        advertiser: Option<uuid::Uuid>,
        /// Read the password from standard input instead of asking.
        #[arg(long)]
        password_stdin: bool,
    },
    /// An advertiser's users.
    List {
        /// The advertiser's id.
        #[arg(long)]
        advertiser: uuid::Uuid,
    },
}

const COLUMNS: Columns = &[
    ("ID", "id"),
    ("USERNAME", "username"),
    ("ROLE", "role"),
    ("ADVERTISER", "advertiser_id"),
    ("CREATED", "created_at"),
];

/// Runs the command.
pub async fn run(ctx: &Ctx, args: Args) -> Result<(), Failure> {
    match args.command {
        Command::Create {
            username,
            role,
            advertiser,
            password_stdin,
        } => {
            let (path, mut body) = match (role.as_deref(), advertiser) {
                (None | Some("advertiser"), Some(advertiser)) => (
                    format!("/api/v1/advertisers/{advertiser}/users"),
                    json!({"username": username}),
                ),
                (Some(role), advertiser) => (
                    "/api/v1/users".to_owned(),
                    json!({"username": username, "role": role, "advertiser_id": advertiser}),
                ),
                (None, None) => {
                    return Err(Failure::usage(
                        "say who they are: --advertiser ID, or --role ROLE",
                    ));
                }
            };
            // asked only once the command is known to make sense
            let password = if password_stdin || !std::io::stdin().is_terminal() {
                crate::session::read_line("the password")?
            } else {
                rpassword::prompt_password(format!("password for {username}: "))
                    .map_err(|e| Failure::usage(format!("reading the password: {e}")))?
            };
            body["password"] = json!(password);
            let created = ctx.client.post(&path, &body, None).await?;
            output::written(output::object(
                &mut ctx.out(),
                ctx.output,
                COLUMNS,
                &created,
            ))
        }
        Command::List { advertiser } => {
            let path = format!("/api/v1/advertisers/{advertiser}/users");
            let users = ctx.client.get(&path, &[]).await?;
            let users = users.as_array().cloned().unwrap_or_default();
            output::written(output::rows(&mut ctx.out(), ctx.output, COLUMNS, &users))
        }
    }
}
