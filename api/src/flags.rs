//! `api serve`'s command line: every setting as a flag or the environment variable it stands
//! for (a flag wins over its variable, both over the TOML file named by `--config`). Both are
//! read by [`Settings::apply_env`], so a flag and its variable mean exactly the same; the
//! defaults are [`Settings::default`]'s.

use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use crate::settings::Settings;

/// The admin API's settings.
#[derive(Debug, Default, Args)]
pub struct ServeFlags {
    /// A TOML file of settings (the fields of `Settings`), read before the flags and variables.
    #[arg(long, env = "ADPLAT_API_CONFIG")]
    config: Option<PathBuf>,
    /// Where to listen [default: 127.0.0.1:8080].
    #[arg(long, env = "ADPLAT_API_LISTEN_ADDR")]
    listen_addr: Option<String>,
    /// Serve /metrics at this address only, not beside the API (keep it off the public
    /// listener) [default: beside the API].
    #[arg(long, env = "ADPLAT_API_METRICS_ADDR")]
    metrics_addr: Option<String>,
    /// PostgreSQL, where the ledger is (postgres://user:password@host:port/database).
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// Most connections to PostgreSQL at once [default: 32].
    #[arg(long, env = "ADPLAT_API_DATABASE_MAX_CONNECTIONS")]
    database_max_connections: Option<String>,
    /// Redis, for budget leases and rate limits [default: redis://127.0.0.1:56379].
    #[arg(long, env = "REDIS_URL")]
    redis_url: Option<String>,
    /// The web console's origin, the only one CORS admits [default: none: no cross-origin
    /// access].
    #[arg(long, env = "ADPLAT_API_CONSOLE_ORIGIN")]
    console_origin: Option<String>,
    /// Largest request body, bytes [default: 262144].
    #[arg(long, env = "ADPLAT_API_BODY_LIMIT_BYTES")]
    body_limit_bytes: Option<String>,
    /// Longest a request may take, milliseconds [default: 30000].
    #[arg(long, env = "ADPLAT_API_REQUEST_TIMEOUT_MS")]
    request_timeout_ms: Option<String>,
    /// Steady requests per second each user or key may make [default: 50].
    #[arg(long, env = "ADPLAT_API_RATE_LIMIT_PER_S")]
    rate_limit_per_s: Option<String>,
    /// Requests a user or key may make at once above the steady rate [default: 200].
    #[arg(long, env = "ADPLAT_API_RATE_LIMIT_BURST")]
    rate_limit_burst: Option<String>,
    /// Longest a campaign feed long-poll waits for a change, seconds [default: 30].
    #[arg(long, env = "ADPLAT_API_FEED_WAIT_MAX_S")]
    feed_wait_max_s: Option<String>,
    /// How often held budgets are brought in line with campaigns (daily roll-over, ended
    /// flights, stopped campaigns' holds back to cash), seconds [default: 10].
    #[arg(long, env = "ADPLAT_API_HOLD_SWEEP_INTERVAL_S")]
    hold_sweep_interval_s: Option<String>,
    /// Token keys, `KID=private:KEY` or `KID=public:KEY` entries separated by commas (see
    /// `api gen-key`); a public entry only verifies, for a key being retired.
    #[arg(long, env = "ADPLAT_API_JWT_KEYS", hide_env_values = true)]
    jwt_keys: Option<String>,
    /// Which token key signs new tokens (its kid; required with --jwt-keys).
    #[arg(long, env = "ADPLAT_API_JWT_SIGNING_KID")]
    jwt_signing_kid: Option<String>,
    /// The tokens' issuer (`iss`) [default: adplat-api].
    #[arg(long, env = "ADPLAT_API_JWT_ISSUER")]
    jwt_issuer: Option<String>,
    /// The tokens' audience (`aud`) [default: adplat].
    #[arg(long, env = "ADPLAT_API_JWT_AUDIENCE")]
    jwt_audience: Option<String>,
    /// How long a sign-in token lasts, seconds [default: 3600].
    #[arg(long, env = "ADPLAT_API_TOKEN_TTL_S")]
    token_ttl_s: Option<String>,
    /// Append every signed audit checkpoint to this file, kept outside the database (append-only
    /// storage the database's owner cannot rewrite); verifications hold the chain to it too
    /// [default: none].
    #[arg(long, env = "ADPLAT_API_CHECKPOINT_LOG")]
    checkpoint_log: Option<String>,
    /// Most campaigns not archived an advertiser may have [default: 10000].
    #[arg(long, env = "ADPLAT_API_QUOTA_CAMPAIGNS")]
    quota_campaigns: Option<String>,
    /// Most users an advertiser may have [default: 200].
    #[arg(long, env = "ADPLAT_API_QUOTA_USERS")]
    quota_users: Option<String>,
    /// Most API keys not revoked an advertiser may have [default: 50].
    #[arg(long, env = "ADPLAT_API_QUOTA_API_KEYS")]
    quota_api_keys: Option<String>,
    /// Vault (OpenBao), which signs the audit checkpoints and may keep the token keys
    /// [default: none: checkpoints wait unsigned].
    #[arg(long, env = "VAULT_ADDR")]
    vault_addr: Option<String>,
    /// Vault's token.
    #[arg(long, env = "VAULT_TOKEN", hide_env_values = true)]
    vault_token: Option<String>,
    /// Vault's transit mount [default: transit].
    #[arg(long, env = "ADPLAT_API_VAULT_TRANSIT_MOUNT")]
    vault_transit_mount: Option<String>,
    /// The transit key that signs audit checkpoints [default: audit].
    #[arg(long, env = "ADPLAT_API_AUDIT_KEY")]
    audit_key: Option<String>,
    /// Vault's KV (version 2) mount [default: secret].
    #[arg(long, env = "ADPLAT_API_VAULT_KV_MOUNT")]
    vault_kv_mount: Option<String>,
    /// Take the token keys from this KV secret (fields `keys` and `signing_kid`) instead of
    /// --jwt-keys.
    #[arg(long, env = "ADPLAT_API_JWT_VAULT_PATH")]
    jwt_vault_path: Option<String>,
    /// How often the secrets are read again from Vault, seconds [default: 30].
    #[arg(long, env = "ADPLAT_API_SECRETS_REFRESH_S")]
    secrets_refresh_s: Option<String>,
    /// The audit chain's head is checkpointed after this many rows [default: 10000].
    #[arg(long, env = "ADPLAT_API_AUDIT_CHECKPOINT_ROWS")]
    audit_checkpoint_rows: Option<String>,
    /// ... or this often, seconds [default: 10].
    #[arg(long, env = "ADPLAT_API_AUDIT_CHECKPOINT_INTERVAL_S")]
    audit_checkpoint_interval_s: Option<String>,
    /// The load balancers whose X-Forwarded-For is believed, addresses or networks
    /// (`10.0.0.0/8,192.0.2.7`): behind them the client is the right-most entry that is not one
    /// of them (sign-in limits count by it) [default: none, the peer is the client].
    #[arg(long, env = "ADPLAT_API_TRUSTED_PROXIES")]
    trusted_proxies: Option<String>,
    /// Password hashes computed at once, at most; a sign-in waits its turn [default: 4].
    #[arg(long, env = "ADPLAT_API_SIGNIN_HASHING")]
    signin_hashing: Option<String>,
    /// Longest a sign-in waits for its turn to be hashed before a 503, milliseconds
    /// [default: 2000].
    #[arg(long, env = "ADPLAT_API_SIGNIN_HASHING_WAIT_MS")]
    signin_hashing_wait_ms: Option<String>,
    /// Create this admin at start when no admin exists (with ADPLAT_API_ADMIN_PASSWORD).
    #[arg(long, env = "ADPLAT_API_ADMIN_USERNAME")]
    pub admin_username: Option<String>,
}

impl ServeFlags {
    /// The settings: defaults, then the `--config` file, then these flags and variables.
    pub fn settings(self) -> anyhow::Result<Settings> {
        let mut settings = match &self.config {
            Some(path) => {
                let text = std::fs::read_to_string(path).with_context(|| {
                    format!("reading the config file {} (--config)", path.display())
                })?;
                toml::from_str(&text).with_context(|| {
                    format!("parsing the config file {} (--config)", path.display())
                })?
            }
            None => Settings::default(),
        };
        let given: HashMap<&str, String> = [
            ("ADPLAT_API_LISTEN_ADDR", self.listen_addr),
            ("ADPLAT_API_METRICS_ADDR", self.metrics_addr),
            ("DATABASE_URL", self.database_url),
            (
                "ADPLAT_API_DATABASE_MAX_CONNECTIONS",
                self.database_max_connections,
            ),
            ("REDIS_URL", self.redis_url),
            ("ADPLAT_API_CONSOLE_ORIGIN", self.console_origin),
            ("ADPLAT_API_BODY_LIMIT_BYTES", self.body_limit_bytes),
            ("ADPLAT_API_REQUEST_TIMEOUT_MS", self.request_timeout_ms),
            ("ADPLAT_API_RATE_LIMIT_PER_S", self.rate_limit_per_s),
            ("ADPLAT_API_RATE_LIMIT_BURST", self.rate_limit_burst),
            ("ADPLAT_API_FEED_WAIT_MAX_S", self.feed_wait_max_s),
            (
                "ADPLAT_API_HOLD_SWEEP_INTERVAL_S",
                self.hold_sweep_interval_s,
            ),
            ("ADPLAT_API_JWT_KEYS", self.jwt_keys),
            ("ADPLAT_API_JWT_SIGNING_KID", self.jwt_signing_kid),
            ("ADPLAT_API_JWT_ISSUER", self.jwt_issuer),
            ("ADPLAT_API_JWT_AUDIENCE", self.jwt_audience),
            ("ADPLAT_API_TOKEN_TTL_S", self.token_ttl_s),
            ("ADPLAT_API_CHECKPOINT_LOG", self.checkpoint_log),
            ("ADPLAT_API_QUOTA_CAMPAIGNS", self.quota_campaigns),
            ("ADPLAT_API_QUOTA_USERS", self.quota_users),
            ("ADPLAT_API_QUOTA_API_KEYS", self.quota_api_keys),
            ("VAULT_ADDR", self.vault_addr),
            ("VAULT_TOKEN", self.vault_token),
            ("ADPLAT_API_VAULT_TRANSIT_MOUNT", self.vault_transit_mount),
            ("ADPLAT_API_AUDIT_KEY", self.audit_key),
            ("ADPLAT_API_VAULT_KV_MOUNT", self.vault_kv_mount),
            ("ADPLAT_API_JWT_VAULT_PATH", self.jwt_vault_path),
            ("ADPLAT_API_SECRETS_REFRESH_S", self.secrets_refresh_s),
            (
                "ADPLAT_API_AUDIT_CHECKPOINT_ROWS",
                self.audit_checkpoint_rows,
            ),
            (
                "ADPLAT_API_AUDIT_CHECKPOINT_INTERVAL_S",
                self.audit_checkpoint_interval_s,
            ),
            ("ADPLAT_API_TRUSTED_PROXIES", self.trusted_proxies),
            ("ADPLAT_API_SIGNIN_HASHING", self.signin_hashing),
            (
                "ADPLAT_API_SIGNIN_HASHING_WAIT_MS",
                self.signin_hashing_wait_ms,
            ),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.map(|v| (name, v)))
        .collect();
        settings.apply_env(|name| given.get(name).cloned())?;
        Ok(settings)
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Serve {
        #[command(flatten)]
        flags: ServeFlags,
    }

    /// A flag lands in the setting its variable names, checked the same way.
    #[test]
    fn flags_give_the_settings_their_variables_name() {
        let serve = Serve::try_parse_from([
            "serve",
            "--listen-addr",
            "127.0.0.1:9999",
            "--rate-limit-burst",
            "7",
            "--vault-addr",
            "http://127.0.0.1:1",
            "--vault-token",
            "t",
            "--audit-key",
            "audit-2",
        ])
        .expect("flags");
        let settings = serve.flags.settings().expect("settings");
        assert_eq!(settings.listen_addr.port(), 9999);
        assert_eq!(settings.rate_limit_burst, 7);
        assert_eq!(settings.vault.expect("vault").audit_key, "audit-2");
        let bad = Serve::try_parse_from(["serve", "--token-ttl-s", "soon"]).expect("parses");
        let e = bad.flags.settings().expect_err("not a number");
        assert!(e.to_string().contains("ADPLAT_API_TOKEN_TTL_S"), "{e}");
    }

    #[test]
    fn a_config_file_that_cannot_be_read_is_named() {
        let serve =
            Serve::try_parse_from(["serve", "--config", "/nonexistent/api.toml"]).expect("parses");
        let e = serve.flags.settings().expect_err("no such file");
        assert!(format!("{e:#}").contains("/nonexistent/api.toml"), "{e:#}");
    }
}
