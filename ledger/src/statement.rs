//! Statement types: an account's history with a running balance, paged by an opaque cursor.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::account::Account;
use crate::money::Money;
use crate::transfer::Transfer;

/// One line of a statement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatementLine {
    pub transfer: Transfer,
    /// What the transfer did to this account: positive in, negative out.
    pub change: Money,
    /// The account's posted balance right after this transfer.
    pub balance: Money,
}

/// One page of a statement, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatementPage {
    /// The account as it is now.
    pub account: Account,
    pub lines: Vec<StatementLine>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<StatementCursor>,
}

/// Where a statement page starts: after the transfer with this sequence number. Shown to callers
/// as an opaque string (`s1234`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StatementCursor(pub(crate) i64);

/// A cursor string that was not made by the ledger.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("statement cursor {0:?} is not valid")]
pub struct CursorError(pub String);

impl StatementCursor {
    /// The first page.
    pub fn start() -> Self {
        StatementCursor(0)
    }
}

impl fmt::Display for StatementCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s{}", self.0)
    }
}

impl FromStr for StatementCursor {
    type Err = CursorError;
    fn from_str(s: &str) -> Result<Self, CursorError> {
        s.strip_prefix('s')
            .and_then(|n| n.parse::<i64>().ok())
            .filter(|n| *n >= 0)
            .map(StatementCursor)
            .ok_or_else(|| CursorError(s.to_owned()))
    }
}

impl Serialize for StatementCursor {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for StatementCursor {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_garbage() {
        let c = StatementCursor(42);
        assert_eq!(c.to_string().parse::<StatementCursor>(), Ok(c));
        for bad in ["", "42", "s", "s-1", "sx", "t42"] {
            assert!(bad.parse::<StatementCursor>().is_err(), "{bad}");
        }
    }
}
