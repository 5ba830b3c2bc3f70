//! [`MarketExecutor`]: the chain's state transition with the whole market.

use std::sync::Arc;

use joule_ledger::block::{Event, Receipt};
use joule_ledger::executor::{BlockContext, ExecError, Executor, execute_call, transfer};
use joule_ledger::genesis::MarketParams;
use joule_ledger::state::StateOverlay;
use joule_ledger::{Call, VerifiedTransaction};
use joule_vm::{Vm, VmConfig, VmError};

use crate::error::CallError;
use crate::settle::BlockEnd;
use crate::{jobs, registry, staking};

/// Executes every [`Call`]: transfers, staking, publishing, and the job lifecycle, with
/// deadlines, audits and arbitration at the end of each block.
#[derive(Debug, Clone)]
pub struct MarketExecutor {
    params: MarketParams,
    vm: Arc<Vm>,
}

impl MarketExecutor {
    /// An executor for a chain with these genesis market parameters. Its VM has no wall-clock
    /// watchdog: arbitration is bounded by fuel, and a timer would make verdicts differ between
    /// machines.
    pub fn new(params: MarketParams) -> Result<Self, VmError> {
        let vm = Vm::with_config(VmConfig {
            wall_clock_limit: None,
            ..VmConfig::default()
        })?;
        Ok(MarketExecutor {
            params,
            vm: Arc::new(vm),
        })
    }

    /// The genesis market parameters.
    pub fn params(&self) -> &MarketParams {
        &self.params
    }

    /// Applies one call for `tx`'s sender. On `Err` the caller reverts the call's writes.
    pub fn apply_call(
        &self,
        state: &mut StateOverlay,
        ctx: &BlockContext,
        tx: &VerifiedTransaction,
    ) -> Result<Vec<Event>, CallError> {
        let sender = tx.sender();
        let now = ctx.number;
        let p = &self.params;
        match &tx.tx().call {
            Call::Transfer { to, amount } => match transfer(state, sender, *to, *amount)? {
                Ok(event) => Ok(vec![event]),
                Err(_) => Err(CallError::InsufficientBalance {
                    who: sender,
                    balance: state.account(&sender)?.balance,
                    needed: *amount,
                }),
            },
            Call::RegisterProvider { stake } => staking::register(state, p, sender, *stake),
            Call::AddStake { amount } => staking::add_stake(state, sender, *amount),
            Call::Unbond { amount } => staking::unbond(state, p, now, sender, *amount),
            Call::Withdraw => staking::withdraw(state, now, sender),
            Call::PublishModule { code } => {
                registry::publish_module(state, p, &self.vm.config().rules, sender, code)
            }
            Call::PublishInput { data } => registry::publish_input(state, p, sender, data),
            Call::Match { bid, offer } => jobs::match_bid(state, p, ctx, sender, bid, offer),
            Call::CommitResult { job, commitment } => {
                jobs::commit(state, p, now, sender, *job, *commitment)
            }
            Call::RevealResult {
                job,
                result,
                salt,
                output,
            } => jobs::reveal(state, p, now, sender, *job, *result, *salt, output),
            Call::Challenge { job } => jobs::challenge(state, p, now, sender, *job),
        }
    }
}

impl Executor for MarketExecutor {
    fn execute_tx(
        &self,
        state: &mut StateOverlay,
        ctx: &BlockContext,
        tx: &VerifiedTransaction,
    ) -> Result<Receipt, ExecError> {
        execute_call(state, ctx, tx, |state| {
            match self.apply_call(state, ctx, tx) {
                Ok(events) => Ok(Ok(events)),
                Err(CallError::Store(e)) => Err(ExecError::Store(e)),
                Err(refused) => Ok(Err(refused.to_string())),
            }
        })
    }

    fn end_block(
        &self,
        state: &mut StateOverlay,
        ctx: &BlockContext,
    ) -> Result<Vec<Event>, ExecError> {
        let end = BlockEnd {
            params: &self.params,
            vm: &self.vm,
            ctx,
        };
        Ok(end.run(state)?)
    }
}
