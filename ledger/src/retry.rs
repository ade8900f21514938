//! Bounded retries of whole transactions on serialization failures and deadlocks, so no such
//! error reaches a caller while the contention is brief.

use std::time::Duration;

use crate::error::{Error, Result};

/// Attempts before giving up with [`Error::Contention`].
pub(crate) const MAX_ATTEMPTS: u32 = 12;

/// What one attempt of a transaction came to.
pub(crate) enum Step<T> {
    /// Finished (committed, or refused with nothing written).
    Done(T),
    /// Rolled back because a concurrent writer got in the way; run it again.
    Again,
}

/// Runs `attempt` until it finishes, retrying transient failures with a short, growing pause.
pub(crate) async fn retrying<T, F, Fut>(mut attempt: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Step<T>>>,
{
    for n in 1..=MAX_ATTEMPTS {
        match attempt().await {
            Ok(Step::Done(value)) => return Ok(value),
            Ok(Step::Again) => {}
            Err(e) if e.is_transient() => {}
            Err(e) => return Err(e),
        }
        let jitter = u64::from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos()),
        ) % 500;
        tokio::time::sleep(Duration::from_micros(200 * u64::from(n) + jitter)).await;
    }
    Err(Error::Contention {
        attempts: MAX_ATTEMPTS,
    })
}
