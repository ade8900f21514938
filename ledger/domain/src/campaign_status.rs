//! The campaign status machine: draft → active ⇄ paused → archived, plus the system states
//! exhausted (lifetime budget spent) and ended (schedule over), which only the platform sets.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Where a campaign is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Draft,
    Active,
    Paused,
    Archived,
    /// The lifetime budget is spent (set by the platform).
    Exhausted,
    /// The schedule's end has passed (set by the platform).
    Ended,
}

/// What an owner or operator asks of a campaign.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Activate,
    Pause,
    Resume,
    Archive,
}

/// Why an action does not apply to a campaign's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a campaign that is {from} cannot be {action}")]
pub struct TransitionError {
    pub from: Status,
    pub action: &'static str,
}

impl Status {
    /// Every status.
    pub const ALL: [Status; 6] = [
        Status::Draft,
        Status::Active,
        Status::Paused,
        Status::Archived,
        Status::Exhausted,
        Status::Ended,
    ];

    /// The name stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::Active => "active",
            Status::Paused => "paused",
            Status::Archived => "archived",
            Status::Exhausted => "exhausted",
            Status::Ended => "ended",
        }
    }

    /// Whether the campaign's settings may still be edited.
    pub fn editable(self) -> bool {
        !matches!(self, Status::Archived | Status::Ended)
    }
}

impl FromStr for Status {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Status::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| format!("unknown status {s:?}"))
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Action {
    /// The audit trail's name of the action.
    pub fn audit_action(self) -> &'static str {
        match self {
            Action::Activate => "campaign.activate",
            Action::Pause => "campaign.pause",
            Action::Resume => "campaign.resume",
            Action::Archive => "campaign.archive",
        }
    }

    fn past(self) -> &'static str {
        match self {
            Action::Activate => "activated",
            Action::Pause => "paused",
            Action::Resume => "resumed",
            Action::Archive => "archived",
        }
    }
}

/// The status after `action`. Asking for the status a campaign already has is not an error
/// (retries are harmless); anything the machine does not allow is.
pub fn transition(from: Status, action: Action) -> Result<Status, TransitionError> {
    use Status::*;
    let to = match (from, action) {
        (Draft | Active, Action::Activate) => Active,
        (Active | Paused, Action::Pause) => Paused,
        (Paused | Active | Exhausted, Action::Resume) => Active,
        (Draft | Paused | Exhausted | Ended | Archived, Action::Archive) => Archived,
        _ => {
            return Err(TransitionError {
                from,
                action: action.past(),
            });
        }
    };
    Ok(to)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_machine_allows_exactly_its_edges() {
        use Status::*;
        let allowed = [
            (Draft, Action::Activate, Active),
            (Active, Action::Activate, Active),
            (Active, Action::Pause, Paused),
            (Paused, Action::Pause, Paused),
            (Paused, Action::Resume, Active),
            (Active, Action::Resume, Active),
            (Exhausted, Action::Resume, Active),
            (Draft, Action::Archive, Archived),
            (Paused, Action::Archive, Archived),
            (Exhausted, Action::Archive, Archived),
            (Ended, Action::Archive, Archived),
            (Archived, Action::Archive, Archived),
        ];
        for from in Status::ALL {
            for action in [
                Action::Activate,
                Action::Pause,
                Action::Resume,
                Action::Archive,
            ] {
                let expected = allowed
                    .iter()
                    .find(|(f, a, _)| *f == from && *a == action)
                    .map(|(_, _, to)| *to);
                assert_eq!(transition(from, action).ok(), expected, "{from} {action:?}");
            }
        }
    }

    #[test]
    fn refusals_say_what_was_asked() {
        let error = transition(Status::Archived, Action::Resume).expect_err("refused");
        assert_eq!(
            error.to_string(),
            "a campaign that is archived cannot be resumed"
        );
    }
}
