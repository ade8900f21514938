//! The pure core of posting: given the accounts a batch touches (as locked and read), what already
//! exists under the batch's ids, and the requests in order, decide each request's fate and the
//! balances that follow. The database layer loads, calls this, and writes what it says.

use std::collections::HashMap;

use crate::account::Account;
use crate::ids::{AccountId, TransferId};
use crate::money::Money;
use crate::pending::PendingTransfer;
use crate::rejection::Rejection;
use crate::transfer::{NewTransfer, Transfer, shape_allowed};

/// Whether a batch is applied item by item or as one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchMode {
    /// Each item stands alone: refused items are reported, the others applied.
    Independent,
    /// All or nothing: one refused item and none is applied.
    Linked,
}

/// What was recorded earlier under an id the batch uses.
#[derive(Debug, Clone, PartialEq)]
pub enum Existing {
    Transfer(Transfer),
    Pending(PendingTransfer),
}

/// The decision for one accepted item.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// New: write it.
    Apply,
    /// A retry of a transfer recorded earlier: return it, move nothing.
    AlreadyPosted(Transfer),
    /// A retry of a reservation recorded earlier: return it, reserve nothing more.
    AlreadyReserved(Box<PendingTransfer>),
    /// A repeat of an earlier item of this same batch: it gets that item's result.
    SameAsItem(usize),
}

/// How an applied item changes balances: posting moves `posted`, reserving moves `reserved` on
/// the debit side and `incoming` on the credit side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Post,
    Reserve,
}

/// Decides every item of a batch, in order, against `accounts` (updated in place with the effect
/// of each applied item). In linked mode either every item is accepted, or `accounts` is left as
/// it was and every item is refused (the first offender with its own reason).
pub fn plan_batch(
    accounts: &mut HashMap<AccountId, Account>,
    existing: &HashMap<TransferId, Existing>,
    items: &[NewTransfer],
    mode: BatchMode,
    effect: Effect,
) -> Vec<Result<Plan, Rejection>> {
    let before = (mode == BatchMode::Linked).then(|| accounts.clone());
    let mut applied: HashMap<TransferId, usize> = HashMap::new();
    let mut results = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let result = plan_item(accounts, existing, &applied, items, item, effect);
        if matches!(result, Ok(Plan::Apply)) {
            applied.insert(item.id, index);
        }
        results.push(result);
    }
    if let Some(before) = before
        && let Some(failed) = results.iter().position(Result::is_err)
    {
        *accounts = before;
        return results
            .into_iter()
            .enumerate()
            .map(|(i, r)| match r {
                Err(e) if i == failed => Err(e),
                _ => Err(Rejection::LinkedBatchFailed { failed }),
            })
            .collect();
    }
    results
}

fn plan_item(
    accounts: &mut HashMap<AccountId, Account>,
    existing: &HashMap<TransferId, Existing>,
    applied: &HashMap<TransferId, usize>,
    items: &[NewTransfer],
    item: &NewTransfer,
    effect: Effect,
) -> Result<Plan, Rejection> {
    if let Some(&earlier) = applied.get(&item.id) {
        return if items[earlier] == *item {
            Ok(Plan::SameAsItem(earlier))
        } else {
            Err(Rejection::IdConflict { id: item.id })
        };
    }
    match existing.get(&item.id) {
        Some(Existing::Transfer(t)) if effect == Effect::Post && t.same_content(item) => {
            return Ok(Plan::AlreadyPosted(t.clone()));
        }
        Some(Existing::Pending(p)) if effect == Effect::Reserve && p.transfer == *item => {
            return Ok(Plan::AlreadyReserved(Box::new(p.clone())));
        }
        Some(_) => return Err(Rejection::IdConflict { id: item.id }),
        None => {}
    }
    let (debit, credit) = check(accounts, item)?;
    let amount = item.amount.money();
    let out_of_range = |account| Rejection::BalanceOutOfRange { account };
    match effect {
        Effect::Post => {
            debit.posted = debit
                .posted
                .checked_sub(amount)
                .ok_or(out_of_range(debit.id))?;
            credit.posted = credit
                .posted
                .checked_add(amount)
                .ok_or(out_of_range(credit.id))?;
        }
        Effect::Reserve => {
            debit.reserved = debit
                .reserved
                .checked_add(amount)
                .ok_or(out_of_range(debit.id))?;
            credit.incoming = credit
                .incoming
                .checked_add(amount)
                .ok_or(out_of_range(credit.id))?;
        }
    }
    Ok(Plan::Apply)
}

/// Checks one request against the accounts and returns both, ready to be changed. Nothing is
/// changed when it fails.
fn check<'a>(
    accounts: &'a mut HashMap<AccountId, Account>,
    item: &NewTransfer,
) -> Result<(&'a mut Account, &'a mut Account), Rejection> {
    if item.debit == item.credit {
        return Err(Rejection::SameAccount {
            account: item.debit,
        });
    }
    for id in [item.debit, item.credit] {
        let account = accounts
            .get(&id)
            .ok_or(Rejection::AccountNotFound { account: id })?;
        if account.currency != item.currency {
            return Err(Rejection::CurrencyMismatch {
                account: id,
                account_currency: account.currency,
                transfer_currency: item.currency,
            });
        }
    }
    let debit_kind = accounts[&item.debit].kind();
    let credit_kind = accounts[&item.credit].kind();
    if !shape_allowed(item.kind, debit_kind, credit_kind) {
        return Err(Rejection::ShapeNotAllowed {
            kind: item.kind,
            debit_kind,
            credit_kind,
        });
    }
    let debit = &accounts[&item.debit];
    if let Some(available) = debit.available()
        && available < item.amount.money()
    {
        return Err(Rejection::InsufficientFunds {
            account: item.debit,
            available: available.max(Money::ZERO),
            amount: item.amount,
        });
    }
    // Distinct keys (checked first thing above), both present (checked in the loop).
    match accounts.get_disjoint_mut([&item.debit, &item.credit]) {
        [Some(debit), Some(credit)] => Ok((debit, credit)),
        _ => Err(Rejection::AccountNotFound {
            account: item.debit,
        }),
    }
}

#[cfg(test)]
mod tests;
