//! Where `adctl` keeps what `adctl login` gave it: `$XDG_CONFIG_HOME/adctl/config.toml` (or
//! `~/.config/adctl/config.toml`), one profile per API, written with mode 0600 and refused when
//! others may read it (it holds tokens, and API keys where one was used to log in).

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::failure::Failure;

/// The profile used when none is named.
pub const DEFAULT_PROFILE: &str = "default";

/// The file's contents.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct Config {
    /// The profile `adctl` uses without `--profile` (the last one logged in to).
    pub current: Option<String>,
    #[serde(default)]
    pub profiles: BTreeMap<String, Profile>,
}

impl Config {
    /// The profile a command uses: the one asked for, else the current one, else the default.
    pub fn chosen(&self, asked: Option<&str>) -> String {
        asked
            .map(str::to_owned)
            .or_else(|| self.current.clone())
            .unwrap_or_else(|| DEFAULT_PROFILE.to_owned())
    }
}

/// One API and how to reach it as someone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    pub url: String,
    /// Who logged in (a user name, or the API key's name).
    pub who: String,
    pub token: String,
    pub expires_at: DateTime<Utc>,
    /// The API key logged in with, kept to renew the token when it expires; `None` after a
    /// password login (the password is never kept: log in again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
}

/// The file's path.
pub fn config_path() -> Result<PathBuf, Failure> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
        .ok_or_else(|| Failure::usage("neither XDG_CONFIG_HOME nor HOME is set"))?;
    Ok(base.join("adctl").join("config.toml"))
}

/// Reads the file; an absent file is an empty configuration.
pub fn load(path: &Path) -> Result<Config, Failure> {
    let metadata = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Config::default()),
        Err(e) => return Err(Failure::usage(format!("reading {}: {e}", path.display()))),
    };
    let mode = metadata.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(Failure::usage(format!(
            "{} can be read by others (mode {mode:o}); it holds tokens: chmod 600 {}",
            path.display(),
            path.display()
        )));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::usage(format!("reading {}: {e}", path.display())))?;
    toml::from_str(&text)
        .map_err(|e| Failure::usage(format!("{} is not valid: {e}", path.display())))
}

/// Writes the file (mode 0600, its folder 0700), replacing it whole.
pub fn save(path: &Path, config: &Config) -> Result<(), Failure> {
    let failed = |e: std::io::Error| Failure::usage(format!("writing {}: {e}", path.display()));
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(failed)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(failed)?;
    let text = toml::to_string_pretty(config).map_err(|e| Failure::usage(e.to_string()))?;
    let staged = path.with_extension("toml.new");
    // a staged file left by an interrupted run would keep its own mode: start afresh
    match std::fs::remove_file(&staged) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(failed(e)),
        _ => {}
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&staged)
        .map_err(failed)?;
    file.set_permissions(std::fs::Permissions::from_mode(0o600))
        .map_err(failed)?;
    file.write_all(text.as_bytes()).map_err(failed)?;
    file.sync_all().map_err(failed)?;
    std::fs::rename(&staged, path).map_err(failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("adctl-profile-{}", uuid::Uuid::now_v7()));
        dir.join("adctl").join("config.toml")
    }

    #[test]
    fn a_saved_profile_reads_back_and_is_private() {
        let path = scratch();
        assert_eq!(load(&path).expect("absent"), Config::default());
        let mut config = Config {
            current: Some("prod".into()),
            ..Config::default()
        };
        config.profiles.insert(
            "prod".into(),
            Profile {
                url: "https://api.example".into(),
                who: "olu".into(),
                token: "t".into(),
                expires_at: Utc::now(),
                api_key: None,
            },
        );
        save(&path, &config).expect("saved");
        assert_eq!(load(&path).expect("read"), config);
        let mode = std::fs::metadata(&path).expect("file").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let refused = load(&path).expect_err("readable by others");
        assert!(refused.to_string().contains("chmod 600"), "{refused}");
    }
}
