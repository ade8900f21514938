//! servingd's command line: `--help`, `--version`, and every setting as a flag or the environment
//! variable it stands for (a flag wins over its variable). Both are checked by
//! [`Settings::apply_env`], so a flag and its variable mean exactly the same; defaults are
//! [`Settings::default`]'s.

use std::collections::HashMap;

use clap::Parser;

use crate::settings::Settings;

/// Serves OpenRTB ad decisions from the campaign feed of the admin API, within pacing,
/// frequency caps and the budget it leases, and the tracking endpoints that bill them.
#[derive(Debug, Parser)]
#[command(name = "servingd", version)]
pub struct Flags {
    /// Where to listen [default: 127.0.0.1:8090].
    #[arg(long, env = "SERVINGD_LISTEN_ADDR")]
    listen_addr: Option<String>,
    /// The admin API, for the campaign feed [default: http://127.0.0.1:8080].
    #[arg(long, env = "SERVINGD_API_URL")]
    api_url: Option<String>,
    /// A `service` API key of the admin API (required: the campaign feed needs it).
    #[arg(long, env = "SERVINGD_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
    /// PostgreSQL (postgres://user:password@host:port/database).
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// Redis, for leases, frequency caps and the event stream [default: redis://127.0.0.1:56379/].
    #[arg(long, env = "REDIS_URL")]
    redis_url: Option<String>,
    /// This instance's name in lease records, unique among running instances
    /// [default: servingd-<process id>].
    #[arg(long, env = "SERVINGD_SERVER_ID")]
    server_id: Option<String>,
    /// The currency auctions run and answer in [default: USD].
    #[arg(long, env = "SERVINGD_CURRENCY")]
    currency: Option<String>,
    /// Other currencies' values in the auction currency (`EUR=1.08,GBP=1.27`).
    #[arg(long, env = "SERVINGD_RATES")]
    rates: Option<String>,
    /// Our buyer seat, for deals' seat lists [default: adplat].
    #[arg(long, env = "SERVINGD_SEAT")]
    seat: Option<String>,
    /// Where the tracking endpoints are reached from outside [default: http://127.0.0.1:8090].
    #[arg(long, env = "SERVINGD_PUBLIC_URL")]
    public_url: Option<String>,
    /// Requests handled at once before shedding starts counting zones [default: 512].
    #[arg(long, env = "SERVINGD_CAPACITY")]
    capacity: Option<String>,
    /// This instance's share of each campaign's day: 1 / the number of instances [default: 1].
    #[arg(long, env = "SERVINGD_PACING_SHARE")]
    pacing_share: Option<String>,
    /// Tracking-token keys, `ID:KEY,ID:KEY` (base64, at least 32 bytes each); required unless
    /// they come from Vault or --dev-random-tracking-key is given.
    #[arg(long, env = "SERVINGD_TRACKING_KEYS", hide_env_values = true)]
    tracking_keys: Option<String>,
    /// Development only: without tracking keys or entry keys, sign with a random key per
    /// process (its URLs die with the process, and a separate ledger writer bills none of its
    /// events) [default: false].
    #[arg(long, env = "SERVINGD_DEV_RANDOM_TRACKING_KEY")]
    dev_random_tracking_key: Option<String>,
    /// Which tracking key signs; the others still verify [default: the highest id].
    #[arg(long, env = "SERVINGD_TRACKING_KEY_ID")]
    tracking_key_id: Option<String>,
    /// Take the tracking keys from this path of Vault's KV state instead (with --vault-addr
    /// and --vault-token).
    #[arg(long, env = "SERVINGD_TRACKING_KEYS_VAULT_PATH")]
    tracking_keys_vault_path: Option<String>,
    /// Vault (OpenBao), for the tracking and entry keys.
    #[arg(long, env = "VAULT_ADDR")]
    vault_addr: Option<String>,
    /// Vault's token.
    #[arg(long, env = "VAULT_TOKEN", hide_env_values = true)]
    vault_token: Option<String>,
    /// Vault's KV mount holding the tracking and entry keys [default: secret].
    #[arg(long, env = "SERVINGD_VAULT_KV_MOUNT")]
    vault_kv_mount: Option<String>,
    /// How often the keys are read again from Vault, seconds [default: 30].
    #[arg(long, env = "SERVINGD_SECRETS_REFRESH_S")]
    secrets_refresh_s: Option<String>,
    /// How long an impression (billing) URL is honoured, seconds [default: 3600].
    #[arg(long, env = "SERVINGD_IMPRESSION_TTL_S")]
    impression_ttl_s: Option<String>,
    /// How long a click URL is honoured, seconds [default: 86400].
    #[arg(long, env = "SERVINGD_CLICK_TTL_S")]
    click_ttl_s: Option<String>,
    /// How long after a CPC lease closes its clicks still count against its budget, seconds
    /// [default: 600].
    #[arg(long, env = "SERVINGD_CLICK_WINDOW_S")]
    click_window_s: Option<String>,
    /// Shards of the event stream; the ledger writer must be given the same [default: 16].
    #[arg(long, env = "EVENT_SHARDS")]
    event_shards: Option<String>,
    /// Put before every event stream key; the ledger writer must be given the same.
    #[arg(long, env = "EVENT_NAMESPACE")]
    event_namespace: Option<String>,
    /// Keys that seal each event stream entry, `ID:KEY,ID:KEY` (base64, at least 32 bytes each;
    /// the highest id seals): the ledger writer bills only entries they verify, so it must be
    /// given the same. Required unless they come from Vault or --dev-random-tracking-key is
    /// given.
    #[arg(long, env = "EVENT_ENTRY_KEYS", hide_env_values = true)]
    entry_keys: Option<String>,
    /// Which entry key seals [default: the highest id]: add a new key to every writer and
    /// servingd first, and make it the sealer only then.
    #[arg(long, env = "EVENT_ENTRY_KEY_ID")]
    entry_key_id: Option<String>,
    /// Take the entry keys from this path of Vault's KV state instead (`keys`, and
    /// `signing_id` naming the key that seals).
    #[arg(long, env = "EVENT_ENTRY_KEYS_VAULT_PATH")]
    entry_keys_vault_path: Option<String>,
    /// The blocklist filter's target false-positive rate [default: 0.001].
    #[arg(long, env = "SERVINGD_BLOCKLIST_FP_RATE")]
    blocklist_fp_rate: Option<String>,
    /// The load balancers whose X-Forwarded-For is believed, addresses or networks
    /// (`10.0.0.0/8,192.0.2.7`): behind them the client is the right-most entry that is not one
    /// of them [default: none, the peer is the client].
    #[arg(long, env = "SERVINGD_TRUSTED_PROXIES")]
    trusted_proxies: Option<String>,
}

impl Flags {
    /// The settings these flags (and variables) give, over the defaults.
    pub fn settings(self) -> anyhow::Result<Settings> {
        let given: HashMap<&str, String> = [
            ("SERVINGD_LISTEN_ADDR", self.listen_addr),
            ("SERVINGD_API_URL", self.api_url),
            ("SERVINGD_API_KEY", self.api_key),
            ("DATABASE_URL", self.database_url),
            ("REDIS_URL", self.redis_url),
            ("SERVINGD_SERVER_ID", self.server_id),
            ("SERVINGD_CURRENCY", self.currency),
            ("SERVINGD_RATES", self.rates),
            ("SERVINGD_SEAT", self.seat),
            ("SERVINGD_PUBLIC_URL", self.public_url),
            ("SERVINGD_CAPACITY", self.capacity),
            ("SERVINGD_PACING_SHARE", self.pacing_share),
            ("SERVINGD_TRACKING_KEYS", self.tracking_keys),
            (
                "SERVINGD_DEV_RANDOM_TRACKING_KEY",
                self.dev_random_tracking_key,
            ),
            ("SERVINGD_TRACKING_KEY_ID", self.tracking_key_id),
            (
                "SERVINGD_TRACKING_KEYS_VAULT_PATH",
                self.tracking_keys_vault_path,
            ),
            ("VAULT_ADDR", self.vault_addr),
            ("VAULT_TOKEN", self.vault_token),
            ("SERVINGD_VAULT_KV_MOUNT", self.vault_kv_mount),
            ("SERVINGD_SECRETS_REFRESH_S", self.secrets_refresh_s),
            ("SERVINGD_IMPRESSION_TTL_S", self.impression_ttl_s),
            ("SERVINGD_CLICK_TTL_S", self.click_ttl_s),
            ("SERVINGD_CLICK_WINDOW_S", self.click_window_s),
            ("EVENT_SHARDS", self.event_shards),
            ("EVENT_NAMESPACE", self.event_namespace),
            ("EVENT_ENTRY_KEYS", self.entry_keys),
            ("EVENT_ENTRY_KEY_ID", self.entry_key_id),
            ("EVENT_ENTRY_KEYS_VAULT_PATH", self.entry_keys_vault_path),
            ("SERVINGD_BLOCKLIST_FP_RATE", self.blocklist_fp_rate),
            ("SERVINGD_TRUSTED_PROXIES", self.trusted_proxies),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.map(|v| (name, v)))
        .collect();
        let mut settings = Settings::default();
        settings.apply_env(|name| given.get(name).cloned())?;
        Ok(settings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A flag lands in the setting its variable names, checked the same way.
    #[test]
    fn flags_give_the_settings_their_variables_name() {
        let flags = Flags::try_parse_from([
            "servingd",
            "--listen-addr",
            "127.0.0.1:9999",
            "--pacing-share",
            "0.5",
            "--event-shards",
            "4",
        ])
        .expect("flags");
        let settings = flags.settings().expect("settings");
        assert_eq!(settings.listen_addr.port(), 9999);
        assert_eq!(settings.pacing_share, 0.5);
        assert_eq!(settings.event_shards, 4);
        let bad = Flags::try_parse_from(["servingd", "--pacing-share", "2"]).expect("parses");
        let e = bad.settings().expect_err("a share above 1");
        assert!(e.to_string().contains("SERVINGD_PACING_SHARE"), "{e}");
    }
}
