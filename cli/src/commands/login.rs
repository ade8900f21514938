//! `adctl login`: signs in to an API and keeps the token in a profile.

use std::io::IsTerminal;

use crate::client::Client;
use crate::context::Globals;
use crate::failure::Failure;
use crate::profile;
use crate::session::{Grant, read_line, sign_in};

/// Sign in to the admin API and keep the session in a profile.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The admin API's address.
    #[arg(long, env = "ADCTL_URL", default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// Sign in as this user; the password is asked for without echo.
    #[arg(long, conflicts_with = "api_key_stdin")]
    pub username: Option<String>,
    /// Read the password from standard input instead of asking (for scripts).
    #[arg(long, requires = "username")]
    pub password_stdin: bool,
    /// Sign in with an API key read from standard input; it is kept (0600) to renew the token.
    #[arg(long)]
    pub api_key_stdin: bool,
}

/// Runs `adctl login`.
pub async fn run(globals: &Globals, args: Args) -> Result<(), Failure> {
    let grant = if args.api_key_stdin {
        Grant::ApiKey(read_line("the API key")?)
    } else {
        let username = match args.username {
            Some(u) => u,
            None => {
                return Err(Failure::usage(
                    "say who signs in: --username NAME, or --api-key-stdin",
                ));
            }
        };
        let password = if args.password_stdin || !std::io::stdin().is_terminal() {
            read_line("the password")?
        } else {
            rpassword::prompt_password(format!("password for {username}: "))
                .map_err(|e| Failure::usage(format!("reading the password: {e}")))?
        };
        Grant::Password { username, password }
    };
    let mut client = Client::new(&args.url, None)?;
    client.verbose = globals.verbose;
    let profile = sign_in(&client, &grant).await?;
    let path = profile::config_path()?;
    let mut config = profile::load(&path)?;
    let name = config.chosen(globals.profile.as_deref());
    let said = format!(
        "logged in to {} as {}; the session lasts until {} (profile {name})",
        profile.url,
        profile.who,
        profile.expires_at.format("%Y-%m-%d %H:%M UTC")
    );
    config.profiles.insert(name.clone(), profile);
    config.current = Some(name);
    profile::save(&path, &config)?;
    println!("{said}");
    Ok(())
}
