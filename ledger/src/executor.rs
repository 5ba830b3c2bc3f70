//! The [`Executor`] seam: how a block's transactions change state.
//!
//! The ledger validates headers, signatures and roots; what a call *means* is the executor's.
//! [`TransferExecutor`] (transfers only) is the default here; `joule-contracts` implements the
//! full market.

use crate::block::{Event, Receipt, TxStatus};
use crate::primitives::{Address, BlockNumber, ChainId, Hash};
use crate::state::StateOverlay;
use crate::store::StoreError;
use crate::tx::{Call, VerifiedTransaction};

/// What an executor knows about the block being executed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockContext {
    /// The chain.
    pub chain_id: ChainId,
    /// Height of the block.
    pub number: BlockNumber,
    /// Its timestamp.
    pub timestamp_ms: u64,
    /// Its proposer, who receives fees.
    pub proposer: Address,
    /// Hash of its parent (a source of randomness no one in the block controls alone).
    pub parent_hash: Hash,
}

/// Why a transaction cannot be included in a block at all.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// Its nonce is not the sender's next.
    #[error("nonce {got} is not the sender's next nonce {expected}")]
    BadNonce {
        /// The account's nonce.
        expected: u64,
        /// The transaction's.
        got: u64,
    },
    /// The sender cannot pay the fee.
    #[error("sender {sender} has {balance}, cannot pay fee {fee}")]
    CannotPayFee {
        /// Sender.
        sender: Address,
        /// Its balance.
        balance: u128,
        /// The fee.
        fee: u128,
    },
    /// The executor does not know this call.
    #[error("call not supported by this executor: {0}")]
    Unsupported(String),
    /// Reading state failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The state transition of a chain.
pub trait Executor: Send + Sync + std::fmt::Debug {
    /// Executes one transaction. `Ok` means it belongs in the block (its receipt may still say
    /// the call failed, with the fee taken); `Err` means it cannot be included and `state` is
    /// unchanged.
    fn execute_tx(
        &self,
        state: &mut StateOverlay,
        ctx: &BlockContext,
        tx: &VerifiedTransaction,
    ) -> Result<Receipt, ExecError>;

    /// Block-boundary processing after the last transaction (deadlines, settlement, audits).
    /// Its events are recorded as a final receipt with a zero transaction hash.
    fn end_block(
        &self,
        state: &mut StateOverlay,
        ctx: &BlockContext,
    ) -> Result<Vec<Event>, ExecError> {
        let _ = (state, ctx);
        Ok(Vec::new())
    }
}

/// Takes the fee and bumps the nonce; the common first step of every executor.
pub fn charge_fee(
    state: &mut StateOverlay,
    ctx: &BlockContext,
    tx: &VerifiedTransaction,
) -> Result<(), ExecError> {
    let sender = tx.sender();
    let mut account = state.account(&sender)?;
    let t = tx.tx();
    if account.nonce != t.nonce {
        return Err(ExecError::BadNonce {
            expected: account.nonce,
            got: t.nonce,
        });
    }
    if account.balance < t.fee {
        return Err(ExecError::CannotPayFee {
            sender,
            balance: account.balance,
            fee: t.fee,
        });
    }
    account.balance -= t.fee;
    account.nonce += 1;
    state.set_account(&sender, &account);
    if t.fee > 0 {
        let mut proposer = state.account(&ctx.proposer)?;
        // Total supply fits in u128, so a balance plus a fee taken from it cannot overflow.
        proposer.balance = proposer.balance.saturating_add(t.fee);
        state.set_account(&ctx.proposer, &proposer);
    }
    Ok(())
}

/// The common shape of executing a transaction: take the fee and nonce, run `call`, and if the
/// call refuses (`Ok(Err(reason))`) undo its writes but keep the fee. `Err` is a store failure:
/// the transaction cannot be included.
pub fn execute_call<E: Into<ExecError>>(
    state: &mut StateOverlay,
    ctx: &BlockContext,
    tx: &VerifiedTransaction,
    call: impl FnOnce(&mut StateOverlay) -> Result<Result<Vec<Event>, String>, E>,
) -> Result<Receipt, ExecError> {
    charge_fee(state, ctx, tx)?;
    let checkpoint = state.checkpoint();
    let (status, events) = match call(state).map_err(Into::into)? {
        Ok(events) => (TxStatus::Success, events),
        Err(reason) => {
            state.revert_to(checkpoint);
            (TxStatus::Failed { reason }, Vec::new())
        }
    };
    Ok(Receipt {
        tx_hash: tx.hash(),
        status,
        fee_paid: tx.tx().fee,
        events,
    })
}

/// Moves `amount` from `from` to `to`; an error string if `from` cannot pay.
pub fn transfer(
    state: &mut StateOverlay,
    from: Address,
    to: Address,
    amount: u128,
) -> Result<Result<Event, String>, StoreError> {
    let mut payer = state.account(&from)?;
    if payer.balance < amount {
        return Ok(Err(format!(
            "balance {} is below the amount {amount}",
            payer.balance
        )));
    }
    payer.balance -= amount;
    state.set_account(&from, &payer);
    let mut payee = state.account(&to)?;
    payee.balance = payee.balance.saturating_add(amount);
    state.set_account(&to, &payee);
    Ok(Ok(Event::Transfer { from, to, amount }))
}

/// The default executor: transfers and fees.
#[derive(Debug, Default, Clone)]
pub struct TransferExecutor;

impl Executor for TransferExecutor {
    fn execute_tx(
        &self,
        state: &mut StateOverlay,
        ctx: &BlockContext,
        tx: &VerifiedTransaction,
    ) -> Result<Receipt, ExecError> {
        let Call::Transfer { to, amount } = &tx.tx().call else {
            return Err(ExecError::Unsupported(
                "this chain runs the transfer-only executor; market calls need joule-contracts"
                    .into(),
            ));
        };
        execute_call(state, ctx, tx, |state| {
            transfer(state, tx.sender(), *to, *amount).map(|r| r.map(|event| vec![event]))
        })
    }
}
