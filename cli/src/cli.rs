//! The command line: global options, then a noun and its verb (`adctl campaigns pause ID`).

use clap::{CommandFactory, Parser, Subcommand};

use crate::commands::completions::{self, CompletionsArgs, ManArgs};
use crate::commands::{
    advertisers, api_keys, audit, budget, campaigns, fraud, funds, login, pacing, partners,
    reports, users,
};
use crate::context::{Ctx, Globals};
use crate::failure::Failure;

/// Runs the adplat platform from a terminal, through its admin API.
///
/// Sign in once with `adctl login`; then `adctl NOUN VERB`. Results are tables, or `-o json` and
/// `-o csv` for programs. Exit codes: 0 done; 1 refused by the API, a failed check, or answered
/// no at a confirmation; 2 usage (a destructive command off a terminal without --yes among
/// them); 3 the API unreachable or failing.
#[derive(Debug, Parser)]
#[command(name = "adctl", version, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub globals: Globals,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Sign in to the admin API and keep the session in a profile.
    Login(login::Args),
    /// Advertisers: list, get, create.
    Advertisers(advertisers::Args),
    /// People who sign in: create, list.
    Users(users::Args),
    /// Keys for programs: create (shown once), list, revoke.
    ApiKeys(api_keys::Args),
    /// Campaigns: list, get, create, update, activate, pause, resume, archive.
    Campaigns(campaigns::Args),
    /// Money: deposit, credit, balance, statement.
    Funds(funds::Args),
    /// Budgets: the ledger beside Redis, and reconciliation.
    Budget(budget::Args),
    /// Pacing: today's spend per hour against the target.
    Pacing(pacing::Args),
    /// Delivery and spend: a campaign's report.
    Reports(reports::Args),
    /// Fraud: the blocklist and invalid-traffic refunds.
    Fraud(fraud::Args),
    /// Supply partners: who may ask servingd for ads, their credentials and rules.
    Partners(partners::Args),
    /// The signed audit trail: list, verify.
    Audit(audit::Args),
    /// A live dashboard: campaigns today, pace, fraud and the system (q quits, ? helps).
    Top(crate::top::Args),
    /// Print the completion script for a shell.
    Completions(CompletionsArgs),
    /// Write the man pages.
    Man(ManArgs),
}

/// Runs the command line's command.
pub async fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Login(args) => login::run(&cli.globals, args).await,
        Command::Advertisers(args) => {
            advertisers::run(&Ctx::signed_in(&cli.globals).await?, args).await
        }
        Command::Users(args) => users::run(&Ctx::signed_in(&cli.globals).await?, args).await,
        Command::ApiKeys(args) => api_keys::run(&Ctx::signed_in(&cli.globals).await?, args).await,
        Command::Campaigns(args) => {
            campaigns::run(&Ctx::signed_in(&cli.globals).await?, args).await
        }
        Command::Funds(args) => funds::run(&Ctx::signed_in(&cli.globals).await?, args).await,
        Command::Budget(args) => budget::run(&Ctx::signed_in(&cli.globals).await?, args).await,
        Command::Pacing(args) => pacing::run(&Ctx::signed_in(&cli.globals).await?, args).await,
        Command::Reports(args) => reports::run(&Ctx::signed_in(&cli.globals).await?, args).await,
        Command::Fraud(args) => fraud::run(&Ctx::signed_in(&cli.globals).await?, args).await,
        Command::Partners(args) => partners::run(&Ctx::signed_in(&cli.globals).await?, args).await,
        Command::Completions(args) => completions::completions(args, Cli::command()),
        Command::Man(args) => completions::man(args, Cli::command()),
        Command::Audit(args) => audit::run(&Ctx::signed_in(&cli.globals).await?, args).await,
        Command::Top(args) => crate::top::run(&Ctx::signed_in(&cli.globals).await?, args).await,
    }
}
