//! What can go wrong, said in one line, and the exit code each kind of failure gives:
//! 0 done, 1 refused by the API or a failed check, 2 usage, 3 network or server trouble.

use std::process::ExitCode;

/// A failed command.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// The API answered with a problem (4xx): the request was refused; `fields` names each bad
    /// field with its message.
    #[error("{}", refused_text(.status, .detail, .fields, .shortfall))]
    Refused {
        status: u16,
        detail: String,
        fields: Vec<(String, String)>,
        shortfall: Option<String>,
    },
    /// The command was used wrongly (a missing setting, a file that cannot be read).
    #[error("{0}")]
    Usage(String),
    /// The API could not be reached, or failed (5xx).
    #[error("{0}")]
    Unavailable(String),
    /// A check found a fault (the audit chain does not verify).
    #[error("{0}")]
    CheckFailed(String),
    /// The user said no at a confirmation.
    #[error("not confirmed; nothing was changed")]
    NotConfirmed,
}

fn refused_text(
    status: &u16,
    detail: &str,
    fields: &[(String, String)],
    shortfall: &Option<String>,
) -> String {
    let mut text = format!("refused ({status}): {detail}");
    for (field, message) in fields {
        text.push_str(&format!("\n  {field}: {message}"));
    }
    if let Some(shortfall) = shortfall {
        text.push_str(&format!("\n  shortfall: {shortfall}"));
    }
    text
}

impl Failure {
    /// The exit code for this failure.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Failure::Refused { .. } | Failure::CheckFailed(_) | Failure::NotConfirmed => {
                ExitCode::from(1)
            }
            Failure::Usage(_) => ExitCode::from(2),
            Failure::Unavailable(_) => ExitCode::from(3),
        }
    }

    /// A usage failure.
    pub fn usage(text: impl Into<String>) -> Self {
        Failure::Usage(text.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_names_each_field_and_the_shortfall() {
        let failure = Failure::Refused {
            status: 409,
            detail: "not enough cash".into(),
            fields: vec![("budget.daily".into(), "a positive amount".into())],
            shortfall: Some("25.000000".into()),
        };
        assert_eq!(
            failure.to_string(),
            "refused (409): not enough cash\n  budget.daily: a positive amount\n  shortfall: 25.000000"
        );
        assert_eq!(failure.exit_code(), ExitCode::from(1));
        assert_eq!(Failure::usage("x").exit_code(), ExitCode::from(2));
        assert_eq!(
            Failure::Unavailable("x".into()).exit_code(),
            ExitCode::from(3)
        );
    }
}
