//! What the tests and benchmarks share: where the services of `scripts/services` listen (read
//! from the environment that `eval "$(scripts/services env)"` sets), a Redis connection, Vault
//! access, scratch databases for benchmarks and child processes, and running the workspace's
//! binaries against snapshots of what they print ([`binary`]). Nothing here knows the
//! platform's own crates.

pub mod binary;
pub mod metrics;
pub mod settings_doc;

use anyhow::Context;
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Executor, PgPool};

/// The folder of the package whose test is running, read when it runs (cargo sets
/// `CARGO_MANIFEST_DIR` for the tests it runs). Not the path baked in at build time: the build
/// folder is shared between clones, so a test binary built in an earlier clone of the same
/// sources, since deleted, is run again as it is.
pub fn package_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into())
}

/// A setting `scripts/services env` exports, or an error that says how to get it.
pub fn service_var(name: &str) -> anyhow::Result<String> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .with_context(|| format!("{name} is not set: eval \"$(scripts/services env)\""))
}

/// [`service_var`] for tests: panics with the same message when it is not set.
pub fn service(name: &str) -> String {
    service_var(name).unwrap_or_else(|e| panic!("{e}"))
}

/// The PostgreSQL server's URL (its maintenance database).
pub fn database_url() -> String {
    service("DATABASE_URL")
}

/// The single Redis.
pub fn redis_url() -> String {
    service("REDIS_URL")
}

/// The event stream's entry keys the tests seal and check with (`EVENT_ENTRY_KEYS`): servingd
/// and a ledger-writer process given these agree.
pub const ENTRY_KEYS: &str = "1:dGVzdCBlbnRyeSBrZXlzLCBub3QgZm9yIHByb2R1Y3Rpb24";

/// The Redis Cluster's masters.
pub fn cluster_urls() -> Vec<String> {
    service("REDIS_CLUSTER_URLS")
        .split(',')
        .map(|u| u.trim().to_owned())
        .collect()
}

/// A connection to the single Redis.
pub async fn redis() -> redis::aio::MultiplexedConnection {
    redis::Client::open(redis_url())
        .expect("REDIS_URL")
        .get_multiplexed_async_connection()
        .await
        .expect("connecting to REDIS_URL")
}

/// A connection to the scripts' three-master Redis Cluster.
pub async fn redis_cluster() -> redis::cluster_async::ClusterConnection {
    redis::cluster::ClusterClient::new(cluster_urls())
        .expect("REDIS_CLUSTER_URLS")
        .get_async_connection()
        .await
        .expect("connecting to REDIS_CLUSTER_URLS")
}

/// Where Vault (OpenBao in dev mode) listens, and its root token.
pub struct Vault {
    pub address: String,
    pub token: String,
}

/// The Vault of `scripts/services`.
pub fn vault() -> Vault {
    Vault {
        address: service("VAULT_ADDR"),
        token: service("VAULT_TOKEN"),
    }
}

/// `url` naming database `db` instead (its query string kept).
pub fn with_database(url: &str, db: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let base = base.rsplit_once('/').map_or(base, |(head, _)| head);
    match query {
        Some(q) => format!("{base}/{db}?{q}"),
        None => format!("{base}/{db}"),
    }
}

/// The URL of the database `pool` is connected to (a `sqlx::test` database), for a child
/// process to connect to the same one.
pub fn url_of(pool: &PgPool) -> String {
    let db = pool
        .connect_options()
        .get_database()
        .expect("the pool names its database")
        .to_owned();
    with_database(&database_url(), &db)
}

/// A database of its own for a benchmark, created empty and dropped by [`ScratchDatabase::drop`].
pub struct ScratchDatabase {
    server: PgConnectOptions,
    url: String,
    name: String,
}

impl ScratchDatabase {
    /// Creates `<label>_<process id>` on the server of `DATABASE_URL`.
    pub async fn create(label: &str) -> anyhow::Result<ScratchDatabase> {
        let url = service_var("DATABASE_URL")?;
        let server: PgConnectOptions = url.parse().context("parsing DATABASE_URL")?;
        let name = format!("{label}_{}", std::process::id());
        let mut admin = server.connect().await.context("connecting to PostgreSQL")?;
        admin
            .execute(format!("drop database if exists {name} with (force)").as_str())
            .await?;
        admin
            .execute(format!("create database {name}").as_str())
            .await
            .with_context(|| format!("creating the database {name}"))?;
        Ok(ScratchDatabase {
            url: with_database(&url, &name),
            server,
            name,
        })
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A URL that connects to it.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Options that connect to it.
    pub fn options(&self) -> PgConnectOptions {
        self.server.clone().database(&self.name)
    }

    /// Drops it (connections still open to it are closed).
    pub async fn drop(self) -> anyhow::Result<()> {
        let mut admin = self.server.connect().await?;
        admin
            .execute(format!("drop database if exists {} with (force)", self.name).as_str())
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_names_another_database_and_keeps_its_query() {
        assert_eq!(
            with_database("postgres://u:p@127.0.0.1:55432/postgres", "bench_1"),
            "postgres://u:p@127.0.0.1:55432/bench_1"
        );
        assert_eq!(
            with_database("postgres://127.0.0.1/postgres?sslmode=disable", "x"),
            "postgres://127.0.0.1/x?sslmode=disable"
        );
    }
}
