//! [`CallError`]: every way a market call can fail its checks.
//!
//! A failed call keeps the transaction's fee and nonce and changes nothing else; its receipt
//! carries the error's message.

use joule_ledger::store::StoreError;
use joule_ledger::{Address, Amount, BlockNumber, Hash, OrderError};

use crate::state::Phase;

/// Why a call was refused.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The sender's balance does not cover what the call takes.
    #[error("{who} has {balance}, needs {needed}")]
    InsufficientBalance {
        /// Who should pay.
        who: Address,
        /// Its balance.
        balance: Amount,
        /// What the call takes.
        needed: Amount,
    },
    /// `RegisterProvider` by an address that already is one.
    #[error("{0} is already a registered provider")]
    AlreadyRegistered(Address),
    /// A provider call by an address that never registered.
    #[error("{0} is not a registered provider")]
    NotProvider(Address),
    /// Stake below the genesis minimum.
    #[error("stake {stake} is below the minimum {min}")]
    StakeTooLow {
        /// Offered stake.
        stake: Amount,
        /// Genesis minimum.
        min: Amount,
    },
    /// A zero amount where credits must move.
    #[error("amount must be above zero")]
    ZeroAmount,
    /// Unbonding more than the free stake.
    #[error("only {free} of the stake is free (not locked as collateral); cannot unbond {amount}")]
    StakeLocked {
        /// Free stake.
        free: Amount,
        /// Asked.
        amount: Amount,
    },
    /// Too many unbondings pending.
    #[error("{max} unbondings are already pending; withdraw first")]
    TooManyUnbondings {
        /// The limit.
        max: usize,
    },
    /// `Withdraw` with nothing matured.
    #[error("nothing to withdraw before block {next}")]
    NothingToWithdraw {
        /// When the next unbonding matures (0 if none pending).
        next: BlockNumber,
    },
    /// The module failed validation.
    #[error("module refused: {0}")]
    InvalidModule(#[from] joule_vm::ValidationError),
    /// A module or input with this hash is already stored.
    #[error("{0} is already published")]
    AlreadyPublished(Hash),
    /// An input above the genesis cap.
    #[error("input is {len} bytes, the limit is {max}")]
    InputTooLarge {
        /// Its size.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// An order's signature or chain id is wrong.
    #[error("bad {which}: {source}")]
    BadOrder {
        /// "bid" or "offer".
        which: &'static str,
        /// What was wrong.
        source: OrderError,
    },
    /// `Match` sent by someone else than the offer's provider.
    #[error("match must be sent by the offer's provider {provider}, not {sender}")]
    NotOfferProvider {
        /// The offer's provider.
        provider: Address,
        /// The sender.
        sender: Address,
    },
    /// An order past its last block.
    #[error("{which} expired at block {expiry} (now {now})")]
    Expired {
        /// "bid" or "offer".
        which: &'static str,
        /// Its last block.
        expiry: BlockNumber,
        /// This block.
        now: BlockNumber,
    },
    /// The bid pays less per fuel than the offer asks.
    #[error("bid pays at most {bid} per fuel, offer asks {offer}")]
    PriceTooLow {
        /// Bid max price.
        bid: Amount,
        /// Offer price.
        offer: Amount,
    },
    /// A bid field outside what the offer or genesis allows.
    #[error("bid {field} is {value}, allowed is {allowed}")]
    BadBidField {
        /// Which field.
        field: &'static str,
        /// Its value.
        value: u128,
        /// The allowed bound, as text.
        allowed: String,
    },
    /// The bid names a module that is not published.
    #[error("module {0} is not published")]
    UnknownModule(Hash),
    /// The bid names an input that is not published.
    #[error("input {0} is not published")]
    UnknownInput(Hash),
    /// The provider has too little free stake for the collateral.
    #[error("provider free stake {free} is below the collateral {collateral}")]
    CollateralUnavailable {
        /// Free stake.
        free: Amount,
        /// Collateral needed.
        collateral: Amount,
    },
    /// The provider is running as many jobs as its offer allows.
    #[error("provider runs {active} jobs, its offer's capacity is {capacity}")]
    AtCapacity {
        /// Active jobs.
        active: u32,
        /// The offer's capacity.
        capacity: u32,
    },
    /// The provider's reputation is below the bid's minimum.
    #[error("provider reputation {score} is below the bid's minimum {min}")]
    ReputationTooLow {
        /// Its score.
        score: u64,
        /// The bid's minimum.
        min: u64,
    },
    /// The job has all its replicas, or its match window closed, or it moved on.
    #[error("job {job} takes no more matches ({reason})")]
    MatchClosed {
        /// The job.
        job: Hash,
        /// Why.
        reason: &'static str,
    },
    /// The provider already holds a replica of this job.
    #[error("provider {provider} is already on job {job}")]
    AlreadyMatched {
        /// The job.
        job: Hash,
        /// The provider.
        provider: Address,
    },
    /// Escrow or collateral arithmetic overflowed.
    #[error("escrow or collateral overflows")]
    Overflow,
    /// No such job.
    #[error("no job {0}")]
    UnknownJob(Hash),
    /// The sender holds no replica of the job.
    #[error("{sender} is not a provider of job {job}")]
    NotAssigned {
        /// The job.
        job: Hash,
        /// The sender.
        sender: Address,
    },
    /// The call does not fit the job's phase.
    #[error("job {job} is {phase:?}; {call} is not accepted now")]
    WrongPhase {
        /// The job.
        job: Hash,
        /// Its phase.
        phase: Phase,
        /// The call.
        call: &'static str,
    },
    /// The call's deadline passed.
    #[error("{call} deadline was block {deadline} (now {now})")]
    Late {
        /// The call.
        call: &'static str,
        /// The deadline.
        deadline: BlockNumber,
        /// This block.
        now: BlockNumber,
    },
    /// A second commitment or reveal.
    #[error("{call} already sent for job {job}")]
    Duplicate {
        /// The call.
        call: &'static str,
        /// The job.
        job: Hash,
    },
    /// The reveal does not open the commitment.
    #[error("reveal does not match the commitment")]
    CommitmentMismatch,
    /// The revealed result is impossible (fuel above the limit, unknown status, output that
    /// does not hash to the output hash, or too long to carry inline).
    #[error("revealed result is invalid: {0}")]
    InvalidResult(String),
    /// A provider challenged its own job.
    #[error("a provider of job {0} cannot challenge it")]
    SelfChallenge(Hash),
    /// Reading state failed (not a call error; the block cannot be built).
    #[error(transparent)]
    Store(#[from] StoreError),
}
