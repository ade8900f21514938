//! Typed settings: defaults, then a TOML file (`--config`), then the flags and environment
//! variables of [`crate::flags::ServeFlags`]. Secrets (the database URL, private keys) live in `secrecy` types and never
//! come from the repository.

use std::net::SocketAddr;

use anyhow::Context;
use daemon::client_address::TrustedProxies;
use secrecy::SecretString;
use serde::Deserialize;

use crate::auth::keys::KeySpec;

/// Everything the API server is configured with.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    pub listen_addr: SocketAddr,
    /// Where `/metrics` is served instead (only there, not beside the API); `None`: beside it.
    pub metrics_addr: Option<SocketAddr>,
    pub database_url: SecretString,
    pub redis_url: String,
    pub jwt: JwtSettings,
    /// The most each advertiser may have.
    pub quotas: Quotas,
    /// Where every signed audit checkpoint is appended, outside the database (an append-only
    /// file on other storage); verifications hold the chain to it too.
    pub checkpoint_log: Option<std::path::PathBuf>,
    /// The web console's origin, the only one CORS admits (`None`: no cross-origin access).
    pub console_origin: Option<String>,
    pub body_limit_bytes: usize,
    pub request_timeout_ms: u64,
    /// Steady requests per second each principal may make.
    pub rate_limit_per_s: u32,
    /// How many requests a principal may make at once above the steady rate.
    pub rate_limit_burst: u32,
    /// Longest a feed long-poll waits for a change.
    pub feed_wait_max_s: u64,
    /// How often held budgets are brought in line with campaigns: daily budgets roll over,
    /// ended campaigns end, and what stopped campaigns still hold goes back to cash once their
    /// leases are settled.
    pub hold_sweep_interval_s: u64,
    pub database_max_connections: u32,
    /// Vault (OpenBao) that signs the audit chain's checkpoints (`None`: they wait unsigned).
    pub vault: Option<VaultSettings>,
    /// The audit chain's head is checkpointed after this many rows, or this often.
    pub audit_checkpoint_rows: u64,
    pub audit_checkpoint_interval_s: u64,
    /// The load balancers whose `X-Forwarded-For` is believed (sign-in limits count by the
    /// client's address): `"10.0.0.0/8,192.0.2.7"` in a configuration file.
    #[serde(deserialize_with = "proxies_text")]
    pub trusted_proxies: TrustedProxies,
    /// Password hashes computed at once, at most.
    pub signin_hashing: usize,
    /// Longest a sign-in waits for its turn to be hashed.
    pub signin_hashing_wait_ms: u64,
    /// Put before the sign-in limits' Redis keys (empty in production; tests that share a
    /// Redis use their own).
    #[serde(skip)]
    pub signin_namespace: String,
}

/// Where Vault is, the transit key that signs audit checkpoints, and where the token keys are
/// kept (when they are kept in Vault rather than in configuration).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VaultSettings {
    pub address: String,
    pub token: SecretString,
    #[serde(default = "VaultSettings::default_mount")]
    pub transit_mount: String,
    #[serde(default = "VaultSettings::default_audit_key")]
    pub audit_key: String,
    /// The KV (version 2) engine the secrets are in.
    #[serde(default = "VaultSettings::default_kv_mount")]
    pub kv_mount: String,
    /// The KV secret holding the token keys (fields `keys`, as `ADPLAT_API_JWT_KEYS`, and
    /// `signing_kid`); `None`: the keys come from configuration.
    #[serde(default)]
    pub jwt_path: Option<String>,
    /// How often the secrets are read again, so that a rotation reaches the running server.
    #[serde(default = "VaultSettings::default_refresh_s")]
    pub secrets_refresh_s: u64,
}

impl VaultSettings {
    fn default_mount() -> String {
        "transit".to_owned()
    }

    fn default_kv_mount() -> String {
        "secret".to_owned()
    }

    fn default_refresh_s() -> u64 {
        30
    }

    /// The KV engine, whose calls give up after `timeout`.
    pub fn kv(
        &self,
        timeout: std::time::Duration,
    ) -> Result<vault::secrets::KvSecrets, vault::secrets::SecretsError> {
        use secrecy::ExposeSecret;
        vault::secrets::KvSecrets::new(
            &self.address,
            self.token.expose_secret(),
            &self.kv_mount,
            timeout,
        )
    }

    fn default_audit_key() -> String {
        "audit".to_owned()
    }

    /// A signer with the audit key, whose calls give up after `timeout`.
    pub fn audit_signer(
        &self,
        timeout: std::time::Duration,
    ) -> Result<vault::transit::TransitSigner, vault::transit::TransitError> {
        use secrecy::ExposeSecret;
        vault::transit::TransitSigner::new(
            &self.address,
            self.token.expose_secret(),
            &self.transit_mount,
            &self.audit_key,
            timeout,
        )
    }

    /// Vault at `address` with `token`, the default mount and key.
    pub fn new(address: &str, token: &str) -> Self {
        VaultSettings {
            address: address.to_owned(),
            token: SecretString::from(token.to_owned()),
            transit_mount: Self::default_mount(),
            audit_key: Self::default_audit_key(),
            kv_mount: Self::default_kv_mount(),
            jwt_path: None,
            secrets_refresh_s: Self::default_refresh_s(),
        }
    }
}

/// The most each advertiser may have (a create beyond it is refused with 409).
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Quotas {
    /// Campaigns not archived.
    pub campaigns: i64,
    /// Users not deleted.
    pub users: i64,
    /// API keys not revoked.
    pub api_keys: i64,
}

impl Default for Quotas {
    fn default() -> Self {
        Quotas {
            campaigns: 10_000,
            users: 200,
            api_keys: 50,
        }
    }
}

/// Access-token settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JwtSettings {
    pub issuer: String,
    pub audience: String,
    pub token_ttl_s: i64,
    /// The key that signs new tokens; every key in `keys` verifies.
    pub signing_kid: String,
    #[serde(skip)]
    pub keys: Vec<KeySpec>,
}

/// Trusted proxies as a configuration file writes them: one string, entries separated by commas.
fn proxies_text<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<TrustedProxies, D::Error> {
    let text = String::deserialize(deserializer)?;
    TrustedProxies::parse(&text).map_err(serde::de::Error::custom)
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            listen_addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            metrics_addr: None,
            database_url: SecretString::from(String::new()),
            redis_url: "redis://127.0.0.1:56379".to_owned(),
            jwt: JwtSettings::default(),
            quotas: Quotas::default(),
            checkpoint_log: None,
            console_origin: None,
            body_limit_bytes: 256 * 1024,
            request_timeout_ms: 30_000,
            rate_limit_per_s: 50,
            rate_limit_burst: 200,
            feed_wait_max_s: 30,
            hold_sweep_interval_s: 10,
            database_max_connections: 32,
            vault: None,
            audit_checkpoint_rows: 10_000,
            audit_checkpoint_interval_s: 10,
            trusted_proxies: TrustedProxies::none(),
            signin_hashing: 4,
            signin_hashing_wait_ms: 2_000,
            signin_namespace: String::new(),
        }
    }
}

impl Default for JwtSettings {
    fn default() -> Self {
        JwtSettings {
            issuer: "adplat-api".to_owned(),
            audience: "adplat".to_owned(),
            token_ttl_s: 3600,
            signing_kid: String::new(),
            keys: Vec::new(),
        }
    }
}

impl JwtSettings {
    /// Signs with a key generated now, named `kid`, the only key that verifies: for a process
    /// that issues its own tokens (tests, benchmarks). Deployments read their keys from
    /// configuration.
    pub fn sign_with_new_key(&mut self, kid: &str) -> anyhow::Result<()> {
        let (private, _) = crate::auth::keys::generate_key()?;
        self.signing_kid = kid.to_owned();
        self.keys = vec![KeySpec {
            kid: kid.to_owned(),
            private_pkcs8: Some(private),
            public: None,
        }];
        Ok(())
    }
}

impl Settings {
    /// Settings for a test or a benchmark on loopback: Redis at `redis_url`, the rate limits out
    /// of the way, tokens signed with a new key named `kid`.
    pub fn local(redis_url: &str, kid: &str) -> anyhow::Result<Settings> {
        let mut settings = Settings {
            redis_url: redis_url.to_owned(),
            rate_limit_per_s: 10_000_000,
            rate_limit_burst: 10_000_000,
            // sign-in failures counted apart from every other test's
            signin_namespace: format!("t{}:", uuid::Uuid::now_v7().simple()),
            ..Settings::default()
        };
        settings.jwt.sign_with_new_key(kid)?;
        Ok(settings)
    }

    /// Overrides settings from environment variables (read through `var`).
    pub fn apply_env(&mut self, var: impl Fn(&str) -> Option<String>) -> anyhow::Result<()> {
        fn parsed<T: std::str::FromStr>(name: &str, value: String) -> anyhow::Result<T>
        where
            T::Err: std::fmt::Display,
        {
            value
                .parse()
                .map_err(|e| anyhow::anyhow!("{name}={value:?} is not valid: {e}"))
        }
        if let Some(v) = var("ADPLAT_API_LISTEN_ADDR") {
            self.listen_addr = parsed("ADPLAT_API_LISTEN_ADDR", v)?;
        }
        if let Some(v) = var("ADPLAT_API_METRICS_ADDR") {
            self.metrics_addr = Some(parsed("ADPLAT_API_METRICS_ADDR", v)?);
        }
        if let Some(v) = var("ADPLAT_API_CHECKPOINT_LOG") {
            self.checkpoint_log = Some(v.into());
        }
        if let Some(v) = var("ADPLAT_API_QUOTA_CAMPAIGNS") {
            self.quotas.campaigns = parsed("ADPLAT_API_QUOTA_CAMPAIGNS", v)?;
        }
        if let Some(v) = var("ADPLAT_API_QUOTA_USERS") {
            self.quotas.users = parsed("ADPLAT_API_QUOTA_USERS", v)?;
        }
        if let Some(v) = var("ADPLAT_API_QUOTA_API_KEYS") {
            self.quotas.api_keys = parsed("ADPLAT_API_QUOTA_API_KEYS", v)?;
        }
        if let Some(v) = var("DATABASE_URL") {
            self.database_url = SecretString::from(v);
        }
        if let Some(v) = var("ADPLAT_API_DATABASE_MAX_CONNECTIONS") {
            self.database_max_connections = parsed("ADPLAT_API_DATABASE_MAX_CONNECTIONS", v)?;
        }
        if let Some(v) = var("REDIS_URL") {
            self.redis_url = v;
        }
        if let Some(v) = var("ADPLAT_API_BODY_LIMIT_BYTES") {
            self.body_limit_bytes = parsed("ADPLAT_API_BODY_LIMIT_BYTES", v)?;
        }
        if let Some(v) = var("ADPLAT_API_REQUEST_TIMEOUT_MS") {
            self.request_timeout_ms = parsed("ADPLAT_API_REQUEST_TIMEOUT_MS", v)?;
        }
        if let Some(v) = var("ADPLAT_API_CONSOLE_ORIGIN") {
            self.console_origin = Some(v);
        }
        if let Some(v) = var("ADPLAT_API_RATE_LIMIT_PER_S") {
            self.rate_limit_per_s = parsed("ADPLAT_API_RATE_LIMIT_PER_S", v)?;
        }
        if let Some(v) = var("ADPLAT_API_RATE_LIMIT_BURST") {
            self.rate_limit_burst = parsed("ADPLAT_API_RATE_LIMIT_BURST", v)?;
        }
        if let Some(v) = var("ADPLAT_API_FEED_WAIT_MAX_S") {
            self.feed_wait_max_s = parsed("ADPLAT_API_FEED_WAIT_MAX_S", v)?;
        }
        if let Some(v) = var("ADPLAT_API_HOLD_SWEEP_INTERVAL_S") {
            self.hold_sweep_interval_s = parsed("ADPLAT_API_HOLD_SWEEP_INTERVAL_S", v)?;
        }
        if let Some(v) = var("ADPLAT_API_JWT_SIGNING_KID") {
            self.jwt.signing_kid = v;
        }
        if let Some(v) = var("ADPLAT_API_JWT_KEYS") {
            self.jwt.keys = parse_keys(&v)?;
        }
        if let Some(v) = var("ADPLAT_API_JWT_ISSUER") {
            self.jwt.issuer = v;
        }
        if let Some(v) = var("ADPLAT_API_JWT_AUDIENCE") {
            self.jwt.audience = v;
        }
        if let Some(v) = var("ADPLAT_API_TOKEN_TTL_S") {
            self.jwt.token_ttl_s = parsed("ADPLAT_API_TOKEN_TTL_S", v)?;
        }
        match (var("VAULT_ADDR"), var("VAULT_TOKEN")) {
            (Some(_), None) => anyhow::bail!("VAULT_ADDR is set without VAULT_TOKEN: set both"),
            (None, Some(_)) => anyhow::bail!("VAULT_TOKEN is set without VAULT_ADDR: set both"),
            _ => {}
        }
        if let (Some(address), Some(token)) = (var("VAULT_ADDR"), var("VAULT_TOKEN")) {
            let mut vault = VaultSettings::new(&address, &token);
            if let Some(mount) = var("ADPLAT_API_VAULT_TRANSIT_MOUNT") {
                vault.transit_mount = mount;
            }
            if let Some(key) = var("ADPLAT_API_AUDIT_KEY") {
                vault.audit_key = key;
            }
            if let Some(mount) = var("ADPLAT_API_VAULT_KV_MOUNT") {
                vault.kv_mount = mount;
            }
            vault.jwt_path = var("ADPLAT_API_JWT_VAULT_PATH");
            if let Some(v) = var("ADPLAT_API_SECRETS_REFRESH_S") {
                vault.secrets_refresh_s = parsed("ADPLAT_API_SECRETS_REFRESH_S", v)?;
            }
            self.vault = Some(vault);
        }
        if let Some(v) = var("ADPLAT_API_AUDIT_CHECKPOINT_ROWS") {
            self.audit_checkpoint_rows = parsed("ADPLAT_API_AUDIT_CHECKPOINT_ROWS", v)?;
        }
        if let Some(v) = var("ADPLAT_API_AUDIT_CHECKPOINT_INTERVAL_S") {
            self.audit_checkpoint_interval_s = parsed("ADPLAT_API_AUDIT_CHECKPOINT_INTERVAL_S", v)?;
        }
        if let Some(v) = var("ADPLAT_API_TRUSTED_PROXIES") {
            self.trusted_proxies = TrustedProxies::parse(&v)
                .map_err(|e| anyhow::anyhow!("ADPLAT_API_TRUSTED_PROXIES: {e}"))?;
        }
        if let Some(v) = var("ADPLAT_API_SIGNIN_HASHING") {
            self.signin_hashing = parsed("ADPLAT_API_SIGNIN_HASHING", v)?;
            anyhow::ensure!(
                self.signin_hashing > 0,
                "ADPLAT_API_SIGNIN_HASHING is at least 1"
            );
        }
        if let Some(v) = var("ADPLAT_API_SIGNIN_HASHING_WAIT_MS") {
            self.signin_hashing_wait_ms = parsed("ADPLAT_API_SIGNIN_HASHING_WAIT_MS", v)?;
        }
        Ok(())
    }
}

/// Parses `kid=private:BASE64,kid2=public:BASE64` (private: PKCS#8 key pair; public: raw key of a
/// key being retired).
pub fn parse_keys(text: &str) -> anyhow::Result<Vec<KeySpec>> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|entry| {
            let (kid, rest) = entry.split_once('=').with_context(
                || "ADPLAT_API_JWT_KEYS: each entry is kid=private:KEY or kid=public:KEY",
            )?;
            let (kind, key) = rest.split_once(':').with_context(|| {
                format!("ADPLAT_API_JWT_KEYS: key {kid} lacks private: or public:")
            })?;
            let key = Some(key.to_owned());
            match kind {
                "private" => Ok(KeySpec {
                    kid: kid.to_owned(),
                    private_pkcs8: key,
                    public: None,
                }),
                "public" => Ok(KeySpec {
                    kid: kid.to_owned(),
                    private_pkcs8: None,
                    public: key,
                }),
                other => anyhow::bail!(
                    "ADPLAT_API_JWT_KEYS: key {kid}: {other:?} is neither private nor public"
                ),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_overrides_defaults() {
        let mut settings = Settings::default();
        settings
            .apply_env(|name| match name {
                "ADPLAT_API_LISTEN_ADDR" => Some("127.0.0.1:9999".into()),
                "ADPLAT_API_JWT_KEYS" => Some("k2=private:AAAA, k1=public:BBBB".into()),
                "ADPLAT_API_JWT_SIGNING_KID" => Some("k2".into()),
                _ => None,
            })
            .expect("valid");
        assert_eq!(settings.listen_addr.port(), 9999);
        assert_eq!(settings.jwt.signing_kid, "k2");
        assert_eq!(settings.jwt.keys.len(), 2);
        assert_eq!(settings.jwt.keys[1].public.as_deref(), Some("BBBB"));
    }

    #[test]
    fn a_bad_value_names_the_variable() {
        let mut settings = Settings::default();
        let error = settings
            .apply_env(|name| (name == "ADPLAT_API_RATE_LIMIT_PER_S").then(|| "lots".into()))
            .expect_err("invalid");
        assert!(error.to_string().contains("ADPLAT_API_RATE_LIMIT_PER_S"));
        assert!(parse_keys("k1=secret:AAAA").is_err());
    }
}
