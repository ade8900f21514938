//! Where a two-phase transfer stands: pending until it is posted, voided or expired, each of
//! those final.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Where a pending transfer stands. Every state but `Pending` is final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PendingState {
    Pending,
    Posted,
    Voided,
    Expired,
}

impl PendingState {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            PendingState::Pending => "pending",
            PendingState::Posted => "posted",
            PendingState::Voided => "voided",
            PendingState::Expired => "expired",
        }
    }
}

impl FromStr for PendingState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        [
            PendingState::Pending,
            PendingState::Posted,
            PendingState::Voided,
            PendingState::Expired,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
        .ok_or_else(|| format!("unknown pending state {s:?}"))
    }
}

impl fmt::Display for PendingState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
