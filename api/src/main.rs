//! `api`: serves the admin API, creates the first admin, makes token keys.

use std::process::ExitCode;

use anyhow::Context;
use api::flags::ServeFlags;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "api", version, about = "The adplat admin API")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API until SIGTERM or Ctrl-C (every setting a flag or its variable).
    Serve(Box<ServeFlags>),
    /// Create the first admin user, then exit (the password is read from
    /// ADPLAT_API_ADMIN_PASSWORD, never from a flag).
    CreateAdmin {
        /// The new admin's user name, to sign in with.
        #[arg(long)]
        username: String,
        /// PostgreSQL, where the users are (postgres://user:password@host:port/database).
        #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
        database_url: String,
    },
    /// Apply the schema's migrations, then exit: run it as the database's owner before the
    /// services start (they only check the schema, and refuse one that lacks a migration).
    Migrate {
        /// PostgreSQL, as the role that owns the platform's tables
        /// (postgres://user:password@host:port/database).
        #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
        database_url: String,
    },
    /// Print a new ed25519 token key as an ADPLAT_API_JWT_KEYS entry.
    GenKey {
        /// The key's id (`kid` in the tokens it signs), unique among the keys in use.
        #[arg(long)]
        kid: String,
    },
    /// Print the OpenAPI document.
    Openapi,
}

#[tokio::main]
async fn main() -> ExitCode {
    daemon::init_logging();
    daemon::exit("api", run(Cli::parse()).await)
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::GenKey { kid } => {
            let (private, public) = api::auth::keys::generate_key()?;
            println!("{kid}=private:{private}");
            eprintln!(
                "public half (for verifiers while the key is retired): {kid}=public:{public}"
            );
            Ok(())
        }
        Command::Migrate { database_url } => {
            let db = daemon::postgres::connect(
                "DATABASE_URL",
                &database_url,
                2,
                daemon::postgres::Unreachable::Fail,
            )
            .await?;
            ledger::MIGRATOR
                .run(&db)
                .await
                .context("applying the migrations")?;
            let last = ledger::MIGRATOR
                .iter()
                .map(|m| m.version)
                .max()
                .unwrap_or(0);
            println!("the database has every migration, up to {last}");
            Ok(())
        }
        Command::Openapi => {
            println!(
                "{}",
                serde_json::to_string_pretty(&api::openapi_document())?
            );
            Ok(())
        }
        Command::CreateAdmin {
            username,
            database_url,
        } => {
            let password = std::env::var("ADPLAT_API_ADMIN_PASSWORD")
                .context("set ADPLAT_API_ADMIN_PASSWORD to the new admin's password")?;
            let db = daemon::postgres::connect(
                "DATABASE_URL",
                &database_url,
                2,
                daemon::postgres::Unreachable::Fail,
            )
            .await?;
            ledger::schema::require_current(&db).await?;
            if api::server::bootstrap_admin(&db, &username, &password).await? {
                println!("created admin {username}");
            } else {
                println!("an admin exists already; nothing changed");
            }
            Ok(())
        }
        Command::Serve(flags) => {
            let admin = flags.admin_username.clone();
            let settings = flags.settings()?;
            let listener = tokio::net::TcpListener::bind(settings.listen_addr)
                .await
                .with_context(|| format!("binding {}", settings.listen_addr))?;
            let state = api::server::connect(settings, api::server::system_clock()).await?;
            if let Some(user) = admin {
                let password = std::env::var("ADPLAT_API_ADMIN_PASSWORD").context(
                    "--admin-username (ADPLAT_API_ADMIN_USERNAME) needs \
                     ADPLAT_API_ADMIN_PASSWORD, the new admin's password",
                )?;
                if api::server::bootstrap_admin(&state.db, &user, &password).await? {
                    tracing::info!(%user, "created the first admin from the settings");
                }
            }
            tracing::info!(addr = %listener.local_addr()?, "serving; docs at /api/v1/docs");
            api::server::serve(state, listener, daemon::shutdown_signal()).await
        }
    }
}
