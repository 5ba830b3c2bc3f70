//! `RegisterProvider`, `AddStake`, `Unbond`, `Withdraw`.

use joule_ledger::block::Event;
use joule_ledger::genesis::MarketParams;
use joule_ledger::state::StateOverlay;
use joule_ledger::{Address, Amount, BlockNumber};

use crate::bank::{self, Pool};
use crate::error::CallError;
use crate::state::{MAX_UNBONDINGS, MarketState, Provider, Unbonding};

fn stake_event(provider: Address, bonded: Amount, unbonding: Amount, withdrawn: Amount) -> Event {
    Event::Stake {
        provider,
        bonded,
        unbonding,
        withdrawn,
    }
}

/// `sender`'s provider record, or [`CallError::NotProvider`].
fn registered(state: &StateOverlay, sender: Address) -> Result<Provider, CallError> {
    state
        .provider(&sender)?
        .ok_or(CallError::NotProvider(sender))
}

/// Registers `sender` as a provider with `stake` bonded.
pub(crate) fn register(
    state: &mut StateOverlay,
    params: &MarketParams,
    sender: Address,
    stake: Amount,
) -> Result<Vec<Event>, CallError> {
    if state.provider(&sender)?.is_some() {
        return Err(CallError::AlreadyRegistered(sender));
    }
    if stake < params.min_stake {
        return Err(CallError::StakeTooLow {
            stake,
            min: params.min_stake,
        });
    }
    bank::lock(state, sender, stake, Pool::Stake)?;
    let provider = Provider {
        bonded: stake,
        ..Provider::default()
    };
    state.set_provider(&sender, &provider);
    Ok(vec![stake_event(sender, stake, 0, 0)])
}

/// Bonds `amount` more of `sender`'s balance.
pub(crate) fn add_stake(
    state: &mut StateOverlay,
    sender: Address,
    amount: Amount,
) -> Result<Vec<Event>, CallError> {
    let mut provider = registered(state, sender)?;
    if amount == 0 {
        return Err(CallError::ZeroAmount);
    }
    bank::lock(state, sender, amount, Pool::Stake)?;
    provider.bonded = provider.bonded.saturating_add(amount);
    state.set_provider(&sender, &provider);
    Ok(vec![stake_event(sender, amount, 0, 0)])
}

/// Starts unbonding `amount` of free stake.
pub(crate) fn unbond(
    state: &mut StateOverlay,
    params: &MarketParams,
    now: BlockNumber,
    sender: Address,
    amount: Amount,
) -> Result<Vec<Event>, CallError> {
    let mut provider = registered(state, sender)?;
    if amount == 0 {
        return Err(CallError::ZeroAmount);
    }
    if amount > provider.free_stake() {
        return Err(CallError::StakeLocked {
            free: provider.free_stake(),
            amount,
        });
    }
    if provider.unbonding.len() >= MAX_UNBONDINGS {
        return Err(CallError::TooManyUnbondings {
            max: MAX_UNBONDINGS,
        });
    }
    provider.bonded -= amount;
    provider.unbonding.push(Unbonding {
        release_at: now.saturating_add(params.unbonding_blocks),
        amount,
    });
    state.set_provider(&sender, &provider);
    Ok(vec![stake_event(sender, 0, amount, 0)])
}

/// Pays out every matured unbonding.
pub(crate) fn withdraw(
    state: &mut StateOverlay,
    now: BlockNumber,
    sender: Address,
) -> Result<Vec<Event>, CallError> {
    let mut provider = registered(state, sender)?;
    let (matured, pending): (Vec<Unbonding>, Vec<Unbonding>) =
        provider.unbonding.iter().partition(|u| u.release_at <= now);
    if matured.is_empty() {
        return Err(CallError::NothingToWithdraw {
            next: pending.iter().map(|u| u.release_at).min().unwrap_or(0),
        });
    }
    let amount: Amount = matured.iter().map(|u| u.amount).sum();
    provider.unbonding = pending;
    state.set_provider(&sender, &provider);
    bank::release(state, sender, amount, Pool::Stake)?;
    Ok(vec![stake_event(sender, 0, 0, amount)])
}
