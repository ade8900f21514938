//! Reaching PostgreSQL at start-up: a URL that does not parse is named with the setting it came
//! from; a server that does not answer is named by host and port with the underlying error
//! within [`ANSWER_WITHIN`], never a bare "pool timed out" half a minute later. A daemon waits
//! for it (retrying with back-off and saying so); a one-off command gives up at once.

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{ConnectOptions, Connection};

/// How long one attempt to reach the server may take.
pub const ANSWER_WITHIN: Duration = Duration::from_secs(5);

/// The longest pause between two attempts of a daemon waiting for the server.
const MOST_BETWEEN: Duration = Duration::from_secs(30);

/// What to do while the server cannot be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unreachable {
    /// Say so and try again, with back-off, until it answers (a daemon).
    Wait,
    /// Fail with the reason (a one-off command).
    Fail,
}

/// A pool of at most `max_connections` to the server at `url`, which came from the setting named
/// `setting` (`DATABASE_URL`). The server has answered once before this returns.
pub async fn connect(
    setting: &str,
    url: &str,
    max_connections: u32,
    unreachable: Unreachable,
) -> anyhow::Result<PgPool> {
    let expected = || {
        format!("{setting} is not a PostgreSQL URL (postgres://user:password@host:port/database)")
    };
    anyhow::ensure!(
        !url.is_empty(),
        "{setting} is not set: give it PostgreSQL's URL (postgres://user:password@host:port/database)"
    );
    anyhow::ensure!(
        url.starts_with("postgres://") || url.starts_with("postgresql://"),
        expected()
    );
    let options = PgConnectOptions::from_str(url).with_context(expected)?;
    let server = server_of(&options);
    let mut pause = Duration::from_secs(1);
    loop {
        match reach(&options).await {
            Ok(()) => break,
            Err(e) if unreachable == Unreachable::Fail => {
                return Err(e.context(format!("PostgreSQL at {server} ({setting})")));
            }
            Err(e) => {
                tracing::warn!(server = %server, error = %format!("{e:#}"), retry_in_s = pause.as_secs(),
                    "PostgreSQL cannot be reached; trying again");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(MOST_BETWEEN);
            }
        }
    }
    Ok(PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(10))
        .connect_lazy_with(options))
}

/// One connection, opened and closed, within [`ANSWER_WITHIN`]: the real error when it fails.
async fn reach(options: &PgConnectOptions) -> anyhow::Result<()> {
    // sqlx's own message already carries its cause: the chain would say it twice
    let connection = tokio::time::timeout(ANSWER_WITHIN, options.connect())
        .await
        .map_err(|_| anyhow::anyhow!("no answer within {} s", ANSWER_WITHIN.as_secs()))?
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    connection
        .close()
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(())
}

/// `host:port`, or the socket directory, for messages (never the password).
fn server_of(options: &PgConnectOptions) -> String {
    format!("{}:{}", options.get_host(), options.get_port())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_missing_url_names_its_setting() {
        let e = connect("DATABASE_URL", "", 1, Unreachable::Fail)
            .await
            .expect_err("empty");
        assert!(
            format!("{e:#}").starts_with("DATABASE_URL is not set"),
            "{e:#}"
        );
    }

    #[tokio::test]
    async fn a_bad_url_names_its_setting() {
        let e = connect("DATABASE_URL", "mysql://x", 1, Unreachable::Fail)
            .await
            .expect_err("not postgres");
        assert!(
            format!("{e:#}").starts_with("DATABASE_URL is not a PostgreSQL URL"),
            "{e:#}"
        );
    }

    /// Nothing listens on the port: the answer names the server and the cause, within seconds.
    #[tokio::test]
    async fn an_unreachable_server_is_named_with_its_cause_at_once() {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
            listener.local_addr().expect("addr").port()
        };
        let started = std::time::Instant::now();
        let e = connect(
            "DATABASE_URL",
            &format!("postgres://u:secret@127.0.0.1:{port}/db"),
            1,
            Unreachable::Fail,
        )
        .await
        .expect_err("nothing listens");
        let text = format!("{e:#}");
        assert!(started.elapsed() <= ANSWER_WITHIN + Duration::from_secs(1));
        assert!(
            text.contains(&format!("PostgreSQL at 127.0.0.1:{port} (DATABASE_URL)")),
            "{text}"
        );
        assert!(text.to_lowercase().contains("refused"), "the cause: {text}");
        assert!(!text.contains("secret"), "no password in messages: {text}");
    }
}
