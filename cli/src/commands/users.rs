//! `adctl users`: the people who sign in.

use std::io::IsTerminal;

use reqwest::Method;
use serde_json::json;

use crate::client::Request;
use crate::context::Ctx;
use crate::failure::Failure;
use crate::output::{self, Columns};

/// Users: create, list, disable, enable, delete, set a role or a password.
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
    /// Disable a user: it signs in no more and its tokens stop working.
    Disable(Which),
    /// Enable a disabled user again (its old tokens stay dead).
    Enable(Which),
    /// Delete a user (asks first; --yes does not): it signs in no more, its name stays taken.
    Delete(Which),
    /// Give a user another role (admins): its tokens stop working.
    SetRole {
        /// The user's id.
        user: uuid::Uuid,
        /// The new role (advertiser, operator, billing, admin).
        #[arg(long)]
        role: String,
        /// The advertiser an `advertiser` user acts for.
        #[arg(long)]
        advertiser: Option<uuid::Uuid>,
    },
    /// Set a user's password (admins); asked for without echo (or read with --password-stdin).
    /// Its tokens stop working.
    SetPassword {
        /// The user's id.
        user: uuid::Uuid,
        /// Read the password from standard input instead of asking.
        #[arg(long)]
        password_stdin: bool,
    },
}

/// The user a command acts on.
#[derive(Debug, clap::Args)]
pub struct Which {
    /// The user's id.
    user: uuid::Uuid,
    /// Act through this advertiser's users (an advertiser's own people manage the users they
    /// created); without it, as an admin.
    #[arg(long)]
    advertiser: Option<uuid::Uuid>,
}

impl Which {
    fn path(&self) -> String {
        match self.advertiser {
            Some(advertiser) => format!("/api/v1/advertisers/{advertiser}/users/{}", self.user),
            None => format!("/api/v1/users/{}", self.user),
        }
    }
}

const COLUMNS: Columns = &[
    ("ID", "id"),
    ("USERNAME", "username"),
    ("ROLE", "role"),
    ("ADVERTISER", "advertiser_id"),
    ("CREATED", "created_at"),
    ("DISABLED", "disabled"),
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
            body["password"] = json!(password(&username, password_stdin)?);
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
        Command::Disable(which) => standing(ctx, &which, json!({"disabled": true})).await,
        Command::Enable(which) => standing(ctx, &which, json!({"disabled": false})).await,
        Command::Delete(which) => {
            ctx.confirm(&format!(
                "Delete user {}? They stop working at once and cannot be brought back.",
                which.user
            ))?;
            ctx.client
                .send(Method::DELETE, &which.path(), Request::default())
                .await?;
            eprintln!("adctl: deleted {}", which.user);
            Ok(())
        }
        Command::SetRole {
            user,
            role,
            advertiser,
        } => {
            let which = Which {
                user,
                advertiser: None,
            };
            let body = json!({"role": role, "advertiser_id": advertiser});
            standing(ctx, &which, body).await
        }
        Command::SetPassword {
            user,
            password_stdin,
        } => {
            let body = json!({"password": password(&user.to_string(), password_stdin)?});
            let path = format!("/api/v1/users/{user}/password");
            let request = Request {
                body: Some(&body),
                ..Request::default()
            };
            ctx.client.send(Method::PUT, &path, request).await?;
            eprintln!("adctl: password set; {user}'s tokens stop working");
            Ok(())
        }
    }
}

/// Sends a change of `which`'s standing and shows the user as it is now.
async fn standing(ctx: &Ctx, which: &Which, body: serde_json::Value) -> Result<(), Failure> {
    let request = Request {
        body: Some(&body),
        ..Request::default()
    };
    let user = ctx
        .client
        .send(Method::PATCH, &which.path(), request)
        .await?;
    output::written(output::object(&mut ctx.out(), ctx.output, COLUMNS, &user))
}

/// The password for `whom`: asked without echo on a terminal, else (or with `stdin`) a line of
/// standard input.
fn password(whom: &str, stdin: bool) -> Result<String, Failure> {
    if stdin || !std::io::stdin().is_terminal() {
        crate::session::read_line("the password")
    } else {
        rpassword::prompt_password(format!("password for {whom}: "))
            .map_err(|e| Failure::usage(format!("reading the password: {e}")))
    }
}
