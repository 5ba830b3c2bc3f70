//! `PublishModule` and `PublishInput`: content-addressed storage, deduplicated by hash, paid
//! per byte (the fee is burned).

use joule_ledger::block::Event;
use joule_ledger::genesis::MarketParams;
use joule_ledger::state::StateOverlay;
use joule_ledger::{Address, Amount, Hash, StateKey};
use joule_vm::ValidationRules;

use crate::bank;
use crate::error::CallError;
use crate::state::MarketState;

fn publish_fee(params: &MarketParams, len: usize) -> Result<Amount, CallError> {
    params
        .publish_fee_per_byte
        .checked_mul(len as Amount)
        .ok_or(CallError::Overflow)
}

/// Validates and stores a module under its code hash.
pub(crate) fn publish_module(
    state: &mut StateOverlay,
    params: &MarketParams,
    rules: &ValidationRules,
    sender: Address,
    code: &[u8],
) -> Result<Vec<Event>, CallError> {
    let hash = Hash::keccak(code);
    if state.has_module(&hash)? {
        return Err(CallError::AlreadyPublished(hash));
    }
    joule_vm::validate(code, rules)?;
    bank::burn_balance(state, sender, publish_fee(params, code.len())?)?;
    state.set(&StateKey::Module(hash), &code.to_vec());
    Ok(vec![Event::Published {
        hash,
        size: code.len() as u64,
        module: true,
    }])
}

/// Stores a job input under its hash.
pub(crate) fn publish_input(
    state: &mut StateOverlay,
    params: &MarketParams,
    sender: Address,
    data: &[u8],
) -> Result<Vec<Event>, CallError> {
    let hash = Hash::keccak(data);
    if state.input(&hash)?.is_some() {
        return Err(CallError::AlreadyPublished(hash));
    }
    if data.len() > params.max_input_bytes as usize {
        return Err(CallError::InputTooLarge {
            len: data.len(),
            max: params.max_input_bytes as usize,
        });
    }
    bank::burn_balance(state, sender, publish_fee(params, data.len())?)?;
    state.set(&StateKey::Input(hash), &data.to_vec());
    Ok(vec![Event::Published {
        hash,
        size: data.len() as u64,
        module: false,
    }])
}
