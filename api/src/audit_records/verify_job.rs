//! A verification of the audit chain as a job: started by a request, walked in the background,
//! its progress written every second, its finding stored (`audit::verifications`). With Vault,
//! a walk resumes from the latest signed checkpoint up to the head the last intact verification
//! reached (the signature checked here with the key's public halves, the chain's stored hashes
//! at it and at every earlier checkpoint compared with the signed heads), unless a full walk is
//! asked for; without Vault every walk is full.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use audit::verifications::{self, Started};
use audit::{ChainFault, ChainSummary, VerifiedHead};
use uuid::Uuid;

use crate::error::{ApiError, Result};
use crate::state::AppState;

/// How often a running job writes how far it got.
const HEARTBEAT_EVERY: Duration = Duration::from_secs(1);

/// Starts a verification (`full`: from the first row): its id, or 409 naming the one running.
pub async fn start(state: &AppState, full: bool, requested_by: &str) -> Result<Uuid> {
    let id = Uuid::now_v7();
    let signatures = state.settings.vault.is_some();
    let started = verifications::start(
        &state.db,
        id,
        full,
        requested_by,
        signatures,
        state.clock.now(),
    )
    .await?;
    let last_intact = match started {
        Started::Busy(running) => {
            return Err(ApiError::Conflict(format!(
                "a verification is running ({running}); follow it, or start one when it ends"
            )));
        }
        Started::Started { last_intact } => last_intact,
    };
    let state = state.clone();
    tokio::spawn(async move {
        let progress = Arc::new(AtomicU64::new(0));
        let walk = walk(&state, id, last_intact, &progress);
        tokio::pin!(walk);
        let outcome = loop {
            tokio::select! {
                outcome = &mut walk => break outcome,
                _ = tokio::time::sleep(HEARTBEAT_EVERY) => {
                    let rows = progress.load(Ordering::Relaxed);
                    if let Err(e) = verifications::heartbeat(&state.db, id, rows, state.clock.now()).await {
                        tracing::warn!(error = %e, "recording a verification's progress failed");
                    }
                }
            }
        };
        if let Err(e) = verifications::finish(&state.db, id, outcome, state.clock.now()).await {
            tracing::error!(error = %e, verification = %id, "recording a verification's finding failed");
        }
    });
    Ok(id)
}

/// The walk: the summary or the first fault, or why it could not finish.
async fn walk(
    state: &AppState,
    id: Uuid,
    last_intact: Option<VerifiedHead>,
    progress: &AtomicU64,
) -> std::result::Result<std::result::Result<ChainSummary, ChainFault>, String> {
    let Some(vault) = &state.settings.vault else {
        // no signed checkpoint can be trusted without the keys, and a head the database stored
        // is the database's word: the chain alone, walked from its first row
        return state
            .audit
            .verify_from(None, Vec::new(), progress)
            .await
            .map_err(|e| e.to_string());
    };
    let signer = vault
        .audit_signer(vault::VAULT_TIMEOUT)
        .map_err(|e| format!("vault: {e}"))?;
    let public = signer
        .public_keys()
        .await
        .map_err(|e| format!("reading the audit key's public halves from Vault: {e}"))?;
    let start = match last_intact {
        Some(last) => state
            .audit
            .resume_point(&public, last.rows)
            .await
            .map_err(|e| e.to_string())?,
        None => None,
    };
    if let Some(start) = start {
        verifications::resumed_from(&state.db, id, start.rows)
            .await
            .map_err(|e| e.to_string())?;
    }
    state
        .audit
        .verify_signed_from(&public, start, progress)
        .await
        .map_err(|e| e.to_string())
}
