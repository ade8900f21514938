//! What every command works with: the API client signed in as the profile's principal (or as
//! `ADCTL_URL` and `ADCTL_TOKEN` say), the output format, and how to ask for a confirmation.

use std::io::{IsTerminal, Write};

use chrono::Utc;

use crate::client::Client;
use crate::failure::Failure;
use crate::output::Format;
use crate::profile::{self, DEFAULT_PROFILE};
use crate::session::{self, Grant};

/// The options every command takes.
#[derive(Debug, Clone, clap::Args)]
pub struct Globals {
    /// The profile to use (`adctl login --profile NAME` makes one) [default: the last logged in].
    #[arg(long, global = true, env = "ADCTL_PROFILE")]
    pub profile: Option<String>,
    /// How to show results.
    #[arg(short = 'o', long, global = true, value_enum, default_value = "table")]
    pub output: Format,
    /// Say what is sent: each request's method, path, status, request id and idempotency key.
    #[arg(short, long, global = true)]
    pub verbose: bool,
    /// Do without asking (destructive commands ask for confirmation on a terminal).
    #[arg(long, global = true)]
    pub yes: bool,
}

/// A signed-in command's context.
pub struct Ctx {
    pub client: Client,
    pub output: Format,
    pub yes: bool,
}

impl Ctx {
    /// Signs in as `ADCTL_URL` and `ADCTL_TOKEN` say, else as the profile: its token, renewed
    /// with its API key when it has expired (a password login cannot be renewed: log in again).
    pub async fn signed_in(globals: &Globals) -> Result<Ctx, Failure> {
        let env = |name| std::env::var(name).ok().filter(|v: &String| !v.is_empty());
        let (url, token) = match (env("ADCTL_URL"), env("ADCTL_TOKEN")) {
            (Some(url), Some(token)) => (url, token),
            (None, None) => profile_token(globals).await?,
            // a profile's token (or its API key) must never go to another address
            _ => {
                return Err(Failure::usage(
                    "ADCTL_URL and ADCTL_TOKEN go together: set both, or neither to use a profile",
                ));
            }
        };
        let mut client = Client::new(&url, Some(token))?;
        client.verbose = globals.verbose;
        Ok(Ctx {
            client,
            output: globals.output,
            yes: globals.yes,
        })
    }

    /// Where results go.
    pub fn out(&self) -> std::io::StdoutLock<'static> {
        std::io::stdout().lock()
    }

    /// Asks `question` on a terminal unless `--yes` was given; off a terminal, `--yes` is needed.
    pub fn confirm(&self, question: &str) -> Result<(), Failure> {
        if self.yes {
            return Ok(());
        }
        if !std::io::stdin().is_terminal() {
            return Err(Failure::usage(format!(
                "{question} Not on a terminal: add --yes to go ahead"
            )));
        }
        eprint!("{question} [y/N] ");
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        std::io::stdin()
            .read_line(&mut answer)
            .map_err(|e| Failure::usage(format!("reading the answer: {e}")))?;
        match answer.trim() {
            "y" | "Y" | "yes" => Ok(()),
            _ => Err(Failure::NotConfirmed),
        }
    }
}

/// The profile's URL and a token that has not expired.
async fn profile_token(globals: &Globals) -> Result<(String, String), Failure> {
    let path = profile::config_path()?;
    let mut config = profile::load(&path)?;
    let name = config.chosen(globals.profile.as_deref());
    let Some(profile) = config.profiles.get(&name).cloned() else {
        return Err(Failure::usage(format!(
            "no profile {name:?}: adctl login --url URL --username NAME{} (or set ADCTL_URL and ADCTL_TOKEN)",
            if name == DEFAULT_PROFILE {
                String::new()
            } else {
                format!(" --profile {name}")
            }
        )));
    };
    let url = profile.url.clone();
    if profile.expires_at > Utc::now() + chrono::Duration::seconds(30) {
        return Ok((url, profile.token));
    }
    let Some(api_key) = &profile.api_key else {
        return Err(Failure::Refused {
            status: 401,
            detail: format!(
                "the session of profile {name:?} expired at {}; log in again: adctl login --profile {name} --url {}",
                profile.expires_at.format("%Y-%m-%d %H:%M UTC"),
                profile.url
            ),
            fields: Vec::new(),
            shortfall: None,
        });
    };
    let client = Client::new(&url, None)?;
    let renewed = session::sign_in(&client, &Grant::ApiKey(api_key.clone())).await?;
    let token = renewed.token.clone();
    config.profiles.insert(name, renewed);
    profile::save(&path, &config)?;
    Ok((url, token))
}
