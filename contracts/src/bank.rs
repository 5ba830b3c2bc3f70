//! Moving credits between balances and the market's pools (escrow, stake, bonds, burned),
//! keeping [`MarketTotals`](crate::state::MarketTotals) equal to what the pools hold.

use joule_ledger::state::StateOverlay;
use joule_ledger::store::StoreError;
use joule_ledger::{Address, Amount};

use crate::error::CallError;
use crate::state::MarketState;

/// A pool of the market's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pool {
    Escrow,
    Stake,
    Bonds,
}

/// Takes `amount` from `who`'s balance into `pool`.
pub(crate) fn lock(
    state: &mut StateOverlay,
    who: Address,
    amount: Amount,
    pool: Pool,
) -> Result<(), CallError> {
    let mut account = state.account(&who)?;
    if account.balance < amount {
        return Err(CallError::InsufficientBalance {
            who,
            balance: account.balance,
            needed: amount,
        });
    }
    account.balance -= amount;
    state.set_account(&who, &account);
    adjust(state, pool, |v| v + amount)?;
    Ok(())
}

/// Pays `amount` out of `pool` to `who`'s balance.
pub(crate) fn release(
    state: &mut StateOverlay,
    who: Address,
    amount: Amount,
    pool: Pool,
) -> Result<(), StoreError> {
    if amount == 0 {
        return Ok(());
    }
    adjust(state, pool, |v| v - amount)?;
    let mut account = state.account(&who)?;
    account.balance = account.balance.saturating_add(amount);
    state.set_account(&who, &account);
    Ok(())
}

/// Destroys `amount` of `pool`.
pub(crate) fn burn_from(
    state: &mut StateOverlay,
    amount: Amount,
    pool: Pool,
) -> Result<(), StoreError> {
    if amount == 0 {
        return Ok(());
    }
    adjust(state, pool, |v| v - amount)?;
    let mut totals = state.totals()?;
    totals.burned += amount;
    state.set_totals(&totals);
    Ok(())
}

/// Destroys `amount` of `who`'s balance.
pub(crate) fn burn_balance(
    state: &mut StateOverlay,
    who: Address,
    amount: Amount,
) -> Result<(), CallError> {
    lock(state, who, amount, Pool::Bonds)?;
    burn_from(state, amount, Pool::Bonds)?;
    Ok(())
}

fn adjust(
    state: &mut StateOverlay,
    pool: Pool,
    f: impl FnOnce(Amount) -> Amount,
) -> Result<(), StoreError> {
    let mut totals = state.totals()?;
    let slot = match pool {
        Pool::Escrow => &mut totals.escrow,
        Pool::Stake => &mut totals.stake,
        Pool::Bonds => &mut totals.bonds,
    };
    *slot = f(*slot);
    state.set_totals(&totals);
    Ok(())
}
