//! servingd's settings: defaults, then `SERVINGD_*` environment variables or their flags (and
//! the shared `DATABASE_URL`, `REDIS_URL`, `VAULT_ADDR`, `VAULT_TOKEN`, `EVENT_SHARDS`,
//! `EVENT_NAMESPACE` and `EVENT_ENTRY_KEYS`): see [`crate::flags`].

use std::net::SocketAddr;

use anyhow::Context;
use daemon::client_address::TrustedProxies;
use secrecy::SecretString;

/// Everything servingd is told.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen_addr: SocketAddr,
    /// The admin API, for the campaign feed (`http://127.0.0.1:8080`).
    pub api_url: String,
    /// A `service` API key of the admin API.
    pub api_key: SecretString,
    pub database_url: SecretString,
    pub redis_url: String,
    /// This instance's name in lease records (unique among running instances).
    pub server_id: String,
    /// The currency auctions run and answer in.
    pub currency: String,
    /// Other currencies' values in the platform currency (`EUR=1.08,GBP=1.27`).
    pub rates: Vec<(String, i64)>,
    /// Our buyer seat, for deals' seat lists.
    pub seat: String,
    /// Where the tracking endpoints are reached from outside (`http://127.0.0.1:8090`).
    pub public_url: String,
    /// The least any impression sells for, per thousand, micros (on top of the exchange floor).
    pub reserve_cpm_micros: i64,
    /// Largest request body.
    pub body_limit_bytes: usize,
    /// Requests handled at once before shedding starts counting zones.
    pub capacity: usize,
    /// How much budget to ask for at a time per campaign, micros.
    pub lease_want_micros: i64,
    /// How this instance's pacing shares a campaign's day with other instances (1 / instances).
    pub pacing_share: f64,
    /// Longest wait on the feed's long-poll.
    pub feed_wait_s: u64,
    /// Tracking-token keys, `ID:KEY,ID:KEY` (base64, at least 32 bytes each). servingd refuses
    /// to start without keys (here or in Vault) unless `dev_random_tracking_key` is set.
    pub tracking_keys: Option<SecretString>,
    /// Development only: without tracking keys, sign with a random key per process (its URLs
    /// die with the process, and no other instance or restart can verify them).
    pub dev_random_tracking_key: bool,
    /// Which tracking key signs (the highest id when unset); the others still verify.
    pub tracking_key_id: Option<u8>,
    /// The tracking keys in Vault's KV state instead (they win over `tracking_keys`).
    pub tracking_keys_vault: Option<VaultSecret>,
    /// How long an impression (billing) URL is honoured, seconds.
    pub impression_ttl_s: i64,
    /// How long a click URL is honoured, seconds.
    pub click_ttl_s: i64,
    /// How long after a CPC campaign's lease closes the budget controller still counts the
    /// clicks on its impressions, seconds: until then the lease counts at least what its
    /// impressions were expected to cost, after it what the clicks billed (the unclicked part
    /// goes back to the budget). Clicks later than this are billed while the campaign's hold
    /// allows, but no longer counted: they may be delivered beyond the budget.
    pub click_window_s: i64,
    /// Shards of the event stream; the ledger writer must be told the same number.
    pub event_shards: u16,
    /// Put before every event stream key (the ledger writer must be told the same; tests that
    /// share a Redis use their own).
    pub event_namespace: String,
    /// Keys sealing each event stream entry, `ID:KEY,ID:KEY` (the highest id seals): the ledger
    /// writer, given the same, bills only entries they verify. Required like the tracking keys.
    pub entry_keys: Option<SecretString>,
    /// Which entry key seals (the highest id when unset): a new key is first added beside the
    /// old, and made the sealer only once every ledger writer holds it.
    pub entry_key_id: Option<u8>,
    /// The entry keys in Vault's KV state instead (they win over `entry_keys`).
    pub entry_keys_vault: Option<VaultSecret>,
    /// The blocklist filter's target false-positive rate.
    pub blocklist_fp_rate: f64,
    /// The load balancers whose `X-Forwarded-For` is believed: from them the client is the
    /// right-most entry that is not one of them; from anyone else, the peer address.
    pub trusted_proxies: TrustedProxies,
}

/// A secret in Vault's KV state (version 2), read again every `refresh_s` so that a rotation
/// written there reaches the running process.
#[derive(Debug, Clone)]
pub struct VaultSecret {
    pub address: String,
    pub token: SecretString,
    pub kv_mount: String,
    pub path: String,
    pub refresh_s: u64,
}

impl VaultSecret {
    /// The secret at `path` of the `secret` state, read again every 30 s.
    pub fn new(address: &str, token: &str, path: &str) -> Self {
        VaultSecret {
            address: address.to_owned(),
            token: SecretString::from(token.to_owned()),
            kv_mount: "secret".to_owned(),
            path: path.to_owned(),
            refresh_s: 30,
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            listen_addr: SocketAddr::from(([127, 0, 0, 1], 8090)),
            api_url: "http://127.0.0.1:8080".into(),
            api_key: SecretString::from(String::new()),
            database_url: SecretString::from(String::new()),
            // the Redis of `scripts/services`
            redis_url: "redis://127.0.0.1:56379/".into(),
            server_id: format!("servingd-{}", std::process::id()),
            currency: "USD".into(),
            rates: Vec::new(),
            seat: "adplat".into(),
            public_url: "http://127.0.0.1:8090".into(),
            reserve_cpm_micros: 10_000,
            body_limit_bytes: 64 * 1024,
            capacity: 512,
            lease_want_micros: 2_000_000,
            pacing_share: 1.0,
            feed_wait_s: 25,
            tracking_keys: None,
            dev_random_tracking_key: false,
            tracking_key_id: None,
            tracking_keys_vault: None,
            impression_ttl_s: 3_600,
            click_ttl_s: 86_400,
            click_window_s: 600,
            event_shards: 16,
            event_namespace: String::new(),
            entry_keys: None,
            entry_key_id: None,
            entry_keys_vault: None,
            trusted_proxies: TrustedProxies::none(),
            blocklist_fp_rate: 0.001,
        }
    }
}

impl Settings {
    /// Refuses settings without tracking keys or entry keys (in configuration or Vault), unless
    /// random development keys are asked for: an instance signing with a key of its own makes
    /// billing URLs that no other instance, and no restart, can verify, and stream entries that
    /// no ledger writer bills.
    pub fn check_keys(&self) -> anyhow::Result<()> {
        if self.dev_random_tracking_key {
            return Ok(());
        }
        anyhow::ensure!(
            self.tracking_keys.is_some() || self.tracking_keys_vault.is_some(),
            "no tracking keys: set SERVINGD_TRACKING_KEYS (ID:KEY,ID:KEY) or \
             SERVINGD_TRACKING_KEYS_VAULT_PATH; for development only, \
             SERVINGD_DEV_RANDOM_TRACKING_KEY=true signs with random keys"
        );
        anyhow::ensure!(
            self.entry_keys.is_some() || self.entry_keys_vault.is_some(),
            "no entry keys: set EVENT_ENTRY_KEYS (ID:KEY,ID:KEY, the ledger writer's too) or \
             EVENT_ENTRY_KEYS_VAULT_PATH; for development only, \
             SERVINGD_DEV_RANDOM_TRACKING_KEY=true signs with random keys"
        );
        Ok(())
    }

    /// Overrides from variables read through `var`.
    pub fn apply_env(&mut self, var: impl Fn(&str) -> Option<String>) -> anyhow::Result<()> {
        fn parsed<T: std::str::FromStr>(name: &str, value: &str) -> anyhow::Result<T>
        where
            T::Err: std::fmt::Display,
        {
            value
                .parse()
                .map_err(|e| anyhow::anyhow!("{name}={value:?} is not valid: {e}"))
        }
        if let Some(v) = var("SERVINGD_LISTEN_ADDR") {
            self.listen_addr = parsed("SERVINGD_LISTEN_ADDR", &v)?;
        }
        if let Some(v) = var("SERVINGD_API_URL") {
            self.api_url = v.trim_end_matches('/').to_owned();
        }
        if let Some(v) = var("SERVINGD_API_KEY") {
            self.api_key = SecretString::from(v);
        }
        if let Some(v) = var("DATABASE_URL") {
            self.database_url = SecretString::from(v);
        }
        if let Some(v) = var("REDIS_URL") {
            self.redis_url = v;
        }
        if let Some(v) = var("SERVINGD_SERVER_ID") {
            self.server_id = v;
        }
        if let Some(v) = var("SERVINGD_CURRENCY") {
            self.currency = v;
        }
        if let Some(v) = var("SERVINGD_RATES") {
            self.rates = parse_rates(&v)?;
        }
        if let Some(v) = var("SERVINGD_SEAT") {
            self.seat = v;
        }
        if let Some(v) = var("SERVINGD_PUBLIC_URL") {
            self.public_url = v.trim_end_matches('/').to_owned();
        }
        if let Some(v) = var("SERVINGD_CAPACITY") {
            self.capacity = parsed("SERVINGD_CAPACITY", &v)?;
        }
        if let Some(v) = var("SERVINGD_PACING_SHARE") {
            self.pacing_share = parsed("SERVINGD_PACING_SHARE", &v)?;
            anyhow::ensure!(
                self.pacing_share > 0.0 && self.pacing_share <= 1.0,
                "SERVINGD_PACING_SHARE is a share of the traffic: above 0, at most 1"
            );
        }
        if let Some(v) = var("SERVINGD_TRACKING_KEYS") {
            self.tracking_keys = Some(SecretString::from(v));
        }
        if let Some(v) = var("SERVINGD_DEV_RANDOM_TRACKING_KEY") {
            self.dev_random_tracking_key = parsed("SERVINGD_DEV_RANDOM_TRACKING_KEY", &v)?;
        }
        if let Some(v) = var("SERVINGD_TRACKING_KEY_ID") {
            self.tracking_key_id = Some(parsed("SERVINGD_TRACKING_KEY_ID", &v)?);
        }
        let vault_secret = |setting: &str, path: &str| -> anyhow::Result<VaultSecret> {
            let (Some(address), Some(token)) = (var("VAULT_ADDR"), var("VAULT_TOKEN")) else {
                anyhow::bail!("{setting} needs VAULT_ADDR and VAULT_TOKEN as well");
            };
            let mut vault = VaultSecret::new(&address, &token, path);
            if let Some(mount) = var("SERVINGD_VAULT_KV_MOUNT") {
                vault.kv_mount = mount;
            }
            if let Some(v) = var("SERVINGD_SECRETS_REFRESH_S") {
                vault.refresh_s = parsed("SERVINGD_SECRETS_REFRESH_S", &v)?;
            }
            Ok(vault)
        };
        if let Some(path) = var("SERVINGD_TRACKING_KEYS_VAULT_PATH") {
            self.tracking_keys_vault =
                Some(vault_secret("SERVINGD_TRACKING_KEYS_VAULT_PATH", &path)?);
        }
        if let Some(v) = var("EVENT_ENTRY_KEYS") {
            self.entry_keys = Some(SecretString::from(v));
        }
        if let Some(v) = var("EVENT_ENTRY_KEY_ID") {
            self.entry_key_id = Some(parsed("EVENT_ENTRY_KEY_ID", &v)?);
        }
        if let Some(path) = var("EVENT_ENTRY_KEYS_VAULT_PATH") {
            self.entry_keys_vault = Some(vault_secret("EVENT_ENTRY_KEYS_VAULT_PATH", &path)?);
        }
        if let Some(v) = var("SERVINGD_IMPRESSION_TTL_S") {
            self.impression_ttl_s = parsed("SERVINGD_IMPRESSION_TTL_S", &v)?;
        }
        if let Some(v) = var("SERVINGD_CLICK_TTL_S") {
            self.click_ttl_s = parsed("SERVINGD_CLICK_TTL_S", &v)?;
        }
        if let Some(v) = var("SERVINGD_CLICK_WINDOW_S") {
            self.click_window_s = parsed("SERVINGD_CLICK_WINDOW_S", &v)?;
        }
        anyhow::ensure!(
            self.impression_ttl_s > 0 && self.click_ttl_s > 0 && self.click_window_s > 0,
            "SERVINGD_IMPRESSION_TTL_S, SERVINGD_CLICK_TTL_S and SERVINGD_CLICK_WINDOW_S are positive numbers of seconds"
        );
        if let Some(v) = var("EVENT_SHARDS") {
            self.event_shards = parsed("EVENT_SHARDS", &v)?;
            anyhow::ensure!(self.event_shards > 0, "EVENT_SHARDS is at least 1");
        }
        if let Some(v) = var("EVENT_NAMESPACE") {
            self.event_namespace = v;
        }
        if let Some(v) = var("SERVINGD_BLOCKLIST_FP_RATE") {
            self.blocklist_fp_rate = parsed("SERVINGD_BLOCKLIST_FP_RATE", &v)?;
            anyhow::ensure!(
                self.blocklist_fp_rate > 0.0 && self.blocklist_fp_rate < 0.5,
                "SERVINGD_BLOCKLIST_FP_RATE is a rate above 0 and below 0.5"
            );
        }
        if let Some(v) = var("SERVINGD_TRUSTED_PROXIES") {
            self.trusted_proxies = TrustedProxies::parse(&v)
                .map_err(|e| anyhow::anyhow!("SERVINGD_TRUSTED_PROXIES: {e}"))?;
        }
        Ok(())
    }
}

/// Parses `EUR=1.08,GBP=1.27` into rates in micros.
pub fn parse_rates(text: &str) -> anyhow::Result<Vec<(String, i64)>> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|entry| {
            let (code, rate) = entry
                .split_once('=')
                .with_context(|| format!("SERVINGD_RATES: {entry:?} is not CODE=RATE"))?;
            let micros = ledger::Money::parse(rate)
                .ok()
                .and_then(|m| m.to_micros())
                .filter(|m| *m > 0)
                .with_context(|| format!("SERVINGD_RATES: {rate:?} is not a positive rate"))?;
            anyhow::ensure!(
                code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase()),
                "SERVINGD_RATES: {code:?} is not a currency code"
            );
            Ok((code.to_owned(), micros))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse_or_name_the_bad_entry() {
        assert_eq!(
            parse_rates("EUR=1.08, GBP=1.27").expect("rates"),
            vec![("EUR".into(), 1_080_000), ("GBP".into(), 1_270_000)]
        );
        let e = parse_rates("EUR=1.08,gbp=2").expect_err("bad code");
        assert!(e.to_string().contains("gbp"), "{e}");
        assert!(parse_rates("EUR=-1").is_err());
        assert!(parse_rates("EUR").is_err());
    }
}
