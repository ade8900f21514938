//! The ledger's error type: a refusal (a value the caller acts on) or a failure of the database.

use crate::rejection::Rejection;

/// Everything a ledger call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request was refused for a business reason; nothing was written.
    #[error(transparent)]
    Rejected(#[from] Rejection),
    /// A constraint or trigger of the schema refused the write. The code checks the same rules
    /// first, so this means the data changed under it in a way it could not see; nothing was written.
    #[error("the database refused the write ({constraint}): {message}")]
    Invariant { constraint: String, message: String },
    /// Serialization failures or deadlocks persisted through every retry; nothing was written.
    #[error("the ledger stayed contended after {attempts} attempts; nothing was written")]
    Contention { attempts: u32 },
    /// A stored row could not be read back into ledger types.
    #[error("stored ledger data is not valid: {0}")]
    Corrupt(String),
    /// The database could not be reached or failed otherwise.
    #[error("database error: {0}")]
    Database(sqlx::Error),
}

/// Results of ledger calls.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<sqlx::Error> for Error {
    fn from(error: sqlx::Error) -> Self {
        if let Some(db) = error.as_database_error()
            && let Some(constraint) = db.constraint()
            && !is_transient(&error)
        {
            return Error::Invariant {
                constraint: constraint.to_owned(),
                message: db.message().to_owned(),
            };
        }
        Error::Database(error)
    }
}

impl Error {
    /// The rejection, when this is one.
    pub fn rejection(&self) -> Option<&Rejection> {
        match self {
            Error::Rejected(r) => Some(r),
            _ => None,
        }
    }

    /// Whether running the same transaction again may succeed: a serialization failure, a
    /// deadlock, or contention the ledger gave up on.
    pub fn is_retryable(&self) -> bool {
        self.is_transient() || matches!(self, Error::Contention { .. })
    }

    /// Whether the schema refused a write that raced another past the ledger's own checks (a
    /// floor reached, an id taken, a pending transfer resolved meanwhile): nothing was written,
    /// and the request conflicts with the state it now finds.
    pub fn is_race(&self) -> bool {
        matches!(self, Error::Invariant { constraint, .. }
            if ["account_floor", "transfer_id_taken", "pending_resolves_once"]
                .contains(&constraint.as_str()))
    }

    /// Whether the database refused a value (SQLSTATE class 22, e.g. a numeric overflow).
    pub(crate) fn is_data_error(&self) -> bool {
        matches!(self, Error::Database(e) if e
            .as_database_error()
            .and_then(|db| db.code())
            .is_some_and(|code| code.starts_with("22")))
    }

    /// Whether running the same transaction again may succeed (serialization failure, deadlock).
    pub(crate) fn is_transient(&self) -> bool {
        matches!(self, Error::Database(e) if is_transient(e))
    }
}

fn is_transient(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .and_then(|db| db.code())
        .is_some_and(|code| code == "40001" || code == "40P01")
}
