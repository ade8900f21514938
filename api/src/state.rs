//! The state every handler shares.

use std::sync::Arc;

use audit::AuditTrail;
use budget::BudgetController;
use ledger::{Clock, Ledger};
use redis::aio::ConnectionManager;
use sqlx::PgPool;

use crate::auth::revocations::Revocations;
use crate::auth::sign_in_guard::SignInGuard;
use crate::feed::FeedSignal;
use crate::http::rate_limit::RateLimiter;
use crate::key_source::SharedKeys;
use crate::settings::Settings;

/// Cheap to clone: everything sits behind one `Arc`.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

/// What the state holds.
pub struct Inner {
    pub db: PgPool,
    /// The Redis of the budget controller and the rate limits (for readiness checks).
    pub redis: ConnectionManager,
    pub ledger: Ledger,
    /// The signed audit trail: admin actions recorded with their changes, the chainer's and the
    /// signer's work, and its verification.
    pub audit: AuditTrail,
    /// Told when a campaign's held budget changes, so leases follow the ledger from the next
    /// request on.
    pub budgets: BudgetController<ConnectionManager>,
    /// Campaigns whose budget change did not reach Redis yet (it was away): the hold sweep
    /// tries again.
    pub unrefreshed: std::sync::Mutex<std::collections::BTreeSet<ledger::CampaignId>>,
    /// The token keys in use (a rotation in Vault swaps them).
    pub keys: SharedKeys,
    pub limiter: RateLimiter,
    /// Revoked principals whose tokens have not expired yet.
    pub revocations: Revocations,
    /// Sign-in's failure counts and its cap on password hashes at once.
    pub sign_in: SignInGuard,
    pub feed: FeedSignal,
    pub clock: Arc<dyn Clock>,
    pub settings: Settings,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    /// State over connected resources.
    pub fn new(inner: Inner) -> Self {
        AppState(Arc::new(inner))
    }
}
