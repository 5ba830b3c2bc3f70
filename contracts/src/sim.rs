//! [`Market`]: the real [`MarketExecutor`] over an in-memory state, block by block, without
//! consensus. Tests, the conservation properties and the economic simulation drive the market
//! through it with signed transactions exactly as a chain would.

use std::collections::BTreeMap;

use joule_ledger::block::{Event, Receipt};
use joule_ledger::executor::{BlockContext, ExecError, Executor, charge_fee};
use joule_ledger::genesis::MarketParams;
use joule_ledger::state::StateOverlay;
use joule_ledger::store::{ChainStore, StoreError};
use joule_ledger::{
    Address, Amount, Bid, BlockNumber, Call, Hash, JobInput, JobResult, Offer, SecretKey,
    SignedBid, SignedOffer, Transaction, VerifiedTransaction,
};
use joule_vm::{Vm, VmConfig};

use crate::result::{job_limits, result_of};
use crate::state::{Job, MarketState, MarketTotals, Provider};
use crate::{CallError, MarketExecutor};

/// Chain id of simulated markets.
pub const SIM_CHAIN_ID: u64 = 4242;

/// A market in memory, with funded keys and a block counter.
#[derive(Debug)]
pub struct Market {
    /// The executor under test.
    pub executor: MarketExecutor,
    /// The state after the blocks so far (never committed; the overlay holds everything).
    pub state: StateOverlay,
    /// The block being built.
    pub number: BlockNumber,
    /// The proposer that receives fees.
    pub proposer: Address,
    /// Supply at the start.
    pub genesis_supply: Amount,
    /// Every address that ever held credits, for balance sums.
    pub known: Vec<Address>,
    /// Fee each transaction pays.
    pub fee: Amount,
    vm: Vm,
}

/// Parameters with short windows, for tests.
pub fn test_params() -> MarketParams {
    MarketParams {
        min_stake: 1_000_000,
        unbonding_blocks: 5,
        publish_fee_per_byte: 1,
        match_blocks: 2,
        commit_blocks: 5,
        reveal_blocks: 3,
        challenge_blocks: 3,
        challenge_bond: 50_000,
        audit_ppm: 0,
        ..MarketParams::default()
    }
}

impl Market {
    /// A market whose `keys` each hold `balance`.
    pub fn new(params: MarketParams, keys: &[&SecretKey], balance: Amount) -> Self {
        let mut state = StateOverlay::new(ChainStore::memory());
        let mut known = Vec::new();
        for key in keys {
            let mut account = state.account(&key.address()).expect("memory store; qed");
            account.balance = balance;
            state.set_account(&key.address(), &account);
            known.push(key.address());
        }
        let proposer = SecretKey::from_seed("sim-proposer").address();
        known.push(proposer);
        Market {
            executor: MarketExecutor::new(params).expect("the default VM config is valid; qed"),
            state,
            number: 1,
            proposer,
            genesis_supply: balance * keys.len() as Amount,
            known,
            fee: 1,
            vm: Vm::with_config(VmConfig {
                wall_clock_limit: None,
                ..VmConfig::default()
            })
            .expect("the default VM config is valid; qed"),
        }
    }

    /// The market parameters.
    pub fn params(&self) -> &MarketParams {
        self.executor.params()
    }

    fn ctx(&self) -> BlockContext {
        BlockContext {
            chain_id: SIM_CHAIN_ID,
            number: self.number,
            timestamp_ms: self.number * 1000,
            proposer: self.proposer,
            parent_hash: Hash::keccak(&(self.number - 1).to_be_bytes()),
        }
    }

    /// Signs `call` from `key` with its next nonce, remembering the addresses it touches.
    fn sign(&mut self, key: &SecretKey, call: Call) -> Result<VerifiedTransaction, StoreError> {
        let sender = key.address();
        let touched = match &call {
            Call::Transfer { to, .. } => vec![sender, *to],
            _ => vec![sender],
        };
        for address in touched {
            if !self.known.contains(&address) {
                self.known.push(address);
            }
        }
        let nonce = self.state.account(&sender)?.nonce;
        Ok(Transaction {
            chain_id: SIM_CHAIN_ID,
            nonce,
            fee: self.fee,
            call,
        }
        .sign(key)
        .verify(SIM_CHAIN_ID)
        .expect("a freshly signed transaction verifies; qed"))
    }

    /// Signs and executes `call` from `key` in the current block. `Err` means it could not be
    /// included at all (bad nonce, no fee).
    pub fn send(&mut self, key: &SecretKey, call: Call) -> Result<Receipt, ExecError> {
        let tx = self.sign(key, call)?;
        let ctx = self.ctx();
        self.executor.execute_tx(&mut self.state, &ctx, &tx)
    }

    /// Like [`send`](Self::send), the way the executor runs it (fee, call, revert on refusal),
    /// but gives the call's typed error.
    pub fn try_call(&mut self, key: &SecretKey, call: Call) -> Result<Vec<Event>, CallError> {
        let tx = self.sign(key, call)?;
        let ctx = self.ctx();
        charge_fee(&mut self.state, &ctx, &tx).expect("test accounts can pay the fee");
        let checkpoint = self.state.checkpoint();
        let result = self.executor.apply_call(&mut self.state, &ctx, &tx);
        if result.is_err() {
            self.state.revert_to(checkpoint);
        }
        result
    }

    /// Ends the current block (deadlines, audits, arbitration) and starts the next.
    pub fn end_block(&mut self) -> Vec<Event> {
        let ctx = self.ctx();
        let events = self
            .executor
            .end_block(&mut self.state, &ctx)
            .expect("memory store; qed");
        self.number += 1;
        events
    }

    /// Ends `n` blocks.
    pub fn advance(&mut self, n: u64) -> Vec<Event> {
        (0..n).flat_map(|_| self.end_block()).collect()
    }

    /// A balance.
    pub fn balance(&self, address: &Address) -> Amount {
        self.state
            .account(address)
            .expect("memory store; qed")
            .balance
    }

    /// A provider's record.
    pub fn provider(&self, address: &Address) -> Option<Provider> {
        self.state.provider(address).expect("memory store; qed")
    }

    /// A job.
    pub fn job(&self, id: &Hash) -> Option<Job> {
        self.state.job(id).expect("memory store; qed")
    }

    /// The market totals.
    pub fn totals(&self) -> MarketTotals {
        self.state.totals().expect("memory store; qed")
    }

    /// `Σ balances + escrow + stake + bonds + burned`; equals [`Self::genesis_supply`] always.
    pub fn accounted_supply(&self) -> Amount {
        let balances: Amount = self.known.iter().map(|a| self.balance(a)).sum();
        balances + self.totals().sum()
    }

    /// Publishes `code` from `key` and returns its hash.
    pub fn publish(&mut self, key: &SecretKey, code: &[u8]) -> Hash {
        self.try_call(
            key,
            Call::PublishModule {
                code: code.to_vec(),
            },
        )
        .expect("module publishes");
        Hash::keccak(code)
    }

    /// A signed bid by `key` valid from the current block.
    #[allow(clippy::too_many_arguments)]
    pub fn bid(
        &self,
        key: &SecretKey,
        module: Hash,
        input: &[u8],
        fuel_limit: u64,
        max_price: Amount,
        replicas: u8,
        nonce: u64,
    ) -> SignedBid {
        Bid {
            chain_id: SIM_CHAIN_ID,
            requester: key.address(),
            module,
            input: JobInput::Inline(input.to_vec()),
            fuel_limit,
            max_price_per_fuel: max_price,
            replicas,
            min_reputation: 0,
            deadline: self.number + 10,
            nonce,
        }
        .sign(key)
    }

    /// A signed offer by `key` valid for 100 blocks.
    pub fn offer(&self, key: &SecretKey, price: Amount, capacity: u32) -> SignedOffer {
        Offer {
            chain_id: SIM_CHAIN_ID,
            provider: key.address(),
            price_per_fuel: price,
            max_fuel: u64::MAX,
            capacity,
            expiry: self.number + 100,
            nonce: 0,
        }
        .sign(key)
    }

    /// Runs `module` (by code) on `input` as an honest provider does.
    pub fn honest_result(&self, code: &[u8], input: &[u8], fuel_limit: u64) -> JobResult {
        let outcome = self
            .vm
            .execute(code, input, &job_limits(self.params(), fuel_limit))
            .expect("example job runs");
        result_of(&outcome)
    }

    /// Commits `result` for `job` from `key` with a salt derived from both.
    pub fn commit(
        &mut self,
        key: &SecretKey,
        job: Hash,
        result: JobResult,
    ) -> Result<Vec<Event>, CallError> {
        let salt = Self::salt(key, job);
        self.try_call(
            key,
            Call::CommitResult {
                job,
                commitment: result.commitment(&key.address(), &salt),
            },
        )
    }

    /// Reveals `result` (committed with [`commit`](Self::commit)) with `output`.
    pub fn reveal(
        &mut self,
        key: &SecretKey,
        job: Hash,
        result: JobResult,
        output: Vec<u8>,
    ) -> Result<Vec<Event>, CallError> {
        let salt = Self::salt(key, job);
        self.try_call(
            key,
            Call::RevealResult {
                job,
                result,
                salt,
                output,
            },
        )
    }

    /// The salt [`commit`](Self::commit) uses.
    pub fn salt(key: &SecretKey, job: Hash) -> Hash {
        Hash::keccak_concat(&[key.address().as_bytes(), job.as_bytes(), b"salt"])
    }

    /// Balances of every known address (for "nothing else changed" checks).
    pub fn balances(&self) -> BTreeMap<Address, Amount> {
        self.known.iter().map(|a| (*a, self.balance(a))).collect()
    }
}
