//! The closed set of reasons the ledger refuses a request. Rejections are values, not failures:
//! nothing was written when one is returned.

use serde::Serialize;

use crate::account::AccountKind;
use crate::currency::Currency;
use crate::ids::{AccountId, TransferId};
use crate::money::{Amount, Money};
use crate::pending_state::PendingState;
use crate::transfer::TransferKind;

/// Why a transfer, pending transfer or resolution was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Rejection {
    /// Debit and credit name the same account.
    #[error("debit and credit are the same account {account}")]
    SameAccount { account: AccountId },
    /// No account has this id.
    #[error("account {account} does not exist")]
    AccountNotFound { account: AccountId },
    /// The transfer's currency is not the account's.
    #[error(
        "account {account} is kept in {account_currency}, the transfer is in {transfer_currency}"
    )]
    CurrencyMismatch {
        account: AccountId,
        account_currency: Currency,
        transfer_currency: Currency,
    },
    /// This kind of transfer may not move money between these kinds of account.
    #[error("a {kind} transfer may not move money from {debit_kind} to {credit_kind}")]
    ShapeNotAllowed {
        kind: TransferKind,
        debit_kind: AccountKind,
        credit_kind: AccountKind,
    },
    /// The debit account would fall below its floor.
    #[error("account {account} has {available} available; {amount} was asked for")]
    InsufficientFunds {
        account: AccountId,
        available: Money,
        amount: Amount,
    },
    /// A balance would leave the range `NUMERIC(20,6)` can hold.
    #[error("the balance of account {account} would leave the ledger's range")]
    BalanceOutOfRange { account: AccountId },
    /// The id was used before for something different; nothing is merged.
    #[error("id {id} was already used for a different transfer")]
    IdConflict { id: TransferId },
    /// Another item of an all-or-nothing batch was refused, so this one was not applied either.
    #[error("item {failed} of the linked batch was refused, so nothing was applied")]
    LinkedBatchFailed { failed: usize },
    /// No pending transfer has this id.
    #[error("pending transfer {id} does not exist")]
    PendingNotFound { id: TransferId },
    /// The pending transfer was already resolved another way.
    #[error("pending transfer {id} is already {state}")]
    PendingAlreadyResolved { id: TransferId, state: PendingState },
    /// The pending transfer passed its deadline; it has been expired instead.
    #[error("pending transfer {id} has expired")]
    PendingExpired { id: TransferId },
    /// More was asked to be posted than is pending.
    #[error("pending transfer {id} holds {pending}; {requested} cannot be posted")]
    PostExceedsPending {
        id: TransferId,
        pending: Amount,
        requested: Amount,
    },
}
