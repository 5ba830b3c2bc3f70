//! The market's tables in chain state: providers, modules, inputs, jobs, the due queue and the
//! market totals. Each is a canonical value under a [`StateKey`] variant.

use bincode::{Decode, Encode};
use joule_ledger::state::StateOverlay;
use joule_ledger::store::StoreError;
use joule_ledger::{Address, Amount, BlockNumber, Hash, JobResult, StateKey};
use serde::{Deserialize, Serialize};

/// Most pending unbondings a provider may have at once.
pub const MAX_UNBONDINGS: usize = 32;

/// How many reputation points one lost dispute or no-show costs.
pub const REPUTATION_PENALTY: u64 = 10;

/// A provider's stake and record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Provider {
    /// Bonded stake, including what is locked as collateral.
    #[serde(with = "joule_ledger::primitives::serde_helpers::amount")]
    pub bonded: Amount,
    /// Part of `bonded` locked as collateral of active jobs.
    #[serde(with = "joule_ledger::primitives::serde_helpers::amount")]
    pub locked: Amount,
    /// Stake on its way out: (block from which it can be withdrawn, amount).
    pub unbonding: Vec<Unbonding>,
    /// Jobs it is assigned to and that are not resolved yet.
    pub active_jobs: u32,
    /// Its record.
    pub reputation: Reputation,
}

/// Stake leaving a provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Unbonding {
    /// First block at which `Withdraw` releases it.
    pub release_at: BlockNumber,
    /// Credits.
    #[serde(with = "joule_ledger::primitives::serde_helpers::amount")]
    pub amount: Amount,
}

/// A provider's on-chain record, which bids can require a minimum of.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Reputation {
    /// Jobs paid for a result that stood.
    pub jobs_done: u64,
    /// Results that arbitration found wrong.
    pub disputes_lost: u64,
    /// Commitments or reveals it failed to send in time.
    pub no_shows: u64,
    /// Total stake taken from it.
    #[serde(with = "joule_ledger::primitives::serde_helpers::amount")]
    pub slashed: Amount,
}

impl Reputation {
    /// The score bids compare with `min_reputation`: jobs done minus
    /// [`REPUTATION_PENALTY`] per lost dispute or no-show, at least zero.
    pub fn score(&self) -> u64 {
        let penalties = self
            .disputes_lost
            .saturating_add(self.no_shows)
            .saturating_mul(REPUTATION_PENALTY);
        self.jobs_done.saturating_sub(penalties)
    }
}

impl Provider {
    /// Bonded stake not locked as collateral.
    pub fn free_stake(&self) -> Amount {
        self.bonded - self.locked
    }

    /// Bonded plus unbonding: everything of it the market holds.
    pub fn total_stake(&self) -> Amount {
        self.unbonding
            .iter()
            .fold(self.bonded, |acc, u| acc.saturating_add(u.amount))
    }
}

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Phase {
    /// Taking matches and commitments.
    Committing,
    /// Every committed provider may reveal.
    Revealing,
    /// The reveals agreed; anyone may challenge until the window ends.
    Challengeable,
    /// The chain re-executes the job at the end of a block.
    Arbitrating(Cause),
    /// Providers paid, collateral released; final.
    Settled,
    /// Nobody delivered; the requester was refunded; final.
    Expired,
}

impl Phase {
    /// Whether the job is finished.
    pub fn is_final(self) -> bool {
        matches!(self, Phase::Settled | Phase::Expired)
    }

    /// The phase's name, as in events and RPC.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Committing => "committing",
            Phase::Revealing => "revealing",
            Phase::Challengeable => "challengeable",
            Phase::Arbitrating(_) => "arbitrating",
            Phase::Settled => "settled",
            Phase::Expired => "expired",
        }
    }
}

/// Why the chain re-executes a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Cause {
    /// Two reveals differ.
    Disagreement,
    /// Someone posted a bond against the agreed result.
    Challenge,
    /// The block hash picked it for a random audit.
    Audit,
}

impl Cause {
    /// The cause's name.
    pub fn name(self) -> &'static str {
        match self {
            Cause::Disagreement => "disagreement",
            Cause::Challenge => "challenge",
            Cause::Audit => "audit",
        }
    }
}

/// How a provider's part in a job ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Resolution {
    /// Paid for a result that stood.
    Paid(#[serde(with = "joule_ledger::primitives::serde_helpers::amount")] Amount),
    /// Its result was wrong; its collateral was slashed.
    Wrong,
    /// It did not commit or reveal in time; its collateral was slashed.
    NoShow,
    /// Released without payment or slash (the job could not be judged).
    Released,
}

/// One provider's place in a job.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Assignment {
    /// The provider.
    pub provider: Address,
    /// Its offer's price per fuel.
    #[serde(with = "joule_ledger::primitives::serde_helpers::amount")]
    pub price_per_fuel: Amount,
    /// Requester escrow locked for this replica: fuel limit × price.
    #[serde(with = "joule_ledger::primitives::serde_helpers::amount")]
    pub escrow: Amount,
    /// Provider collateral locked for this replica.
    #[serde(with = "joule_ledger::primitives::serde_helpers::amount")]
    pub collateral: Amount,
    /// Its commitment, once sent.
    pub commitment: Option<Hash>,
    /// Its revealed result, once sent.
    pub reveal: Option<JobResult>,
    /// How its part ended, once it has.
    pub resolution: Option<Resolution>,
}

/// A job: a matched bid and everything that happened to it.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Job {
    /// Who pays.
    pub requester: Address,
    /// Code hash of the module.
    pub module: Hash,
    /// Hash of the input (stored under [`StateKey::Input`]).
    pub input: Hash,
    /// Fuel each run may use.
    pub fuel_limit: u64,
    /// Replicas asked for.
    pub replicas: u8,
    /// Last block the bid may be matched at.
    pub bid_deadline: BlockNumber,
    /// Block of the first match.
    pub matched_at: BlockNumber,
    /// Current phase.
    pub phase: Phase,
    /// When the current phase ends at the latest (commit, reveal or challenge deadline).
    pub deadline: BlockNumber,
    /// Block of the latest reveal. The audit draw waits for a later block, whose parent hash
    /// no revealer could know when it sent its reveal.
    pub last_reveal: BlockNumber,
    /// Providers, in match order.
    pub assignments: Vec<Assignment>,
    /// Who challenged, if anyone (its bond is held in [`MarketTotals::bonds`]).
    pub challenger: Option<Address>,
    /// The result that stood: agreed, or found by arbitration.
    pub result: Option<JobResult>,
    /// Why the chain re-executed the job, if it did.
    pub arbitrated: Option<Cause>,
    /// The output bytes of `result` when they fit the inline cap and someone supplied them.
    #[serde(with = "joule_ledger::primitives::serde_helpers::bytes")]
    pub output: Vec<u8>,
}

impl Job {
    /// Last block at which another replica may match.
    pub fn match_until(&self, match_blocks: u64) -> BlockNumber {
        self.bid_deadline
            .min(self.matched_at.saturating_add(match_blocks))
    }

    /// The assignment of `provider`.
    pub fn assignment_mut(&mut self, provider: &Address) -> Option<&mut Assignment> {
        self.assignments
            .iter_mut()
            .find(|a| a.provider == *provider)
    }

    /// Credits paid to providers for this job so far (their `Paid` resolutions).
    pub fn paid(&self) -> Amount {
        self.assignments
            .iter()
            .filter_map(|a| match a.resolution {
                Some(Resolution::Paid(amount)) => Some(amount),
                _ => None,
            })
            .sum()
    }

    /// Escrow still locked for this job.
    pub fn escrow_locked(&self) -> Amount {
        self.assignments
            .iter()
            .filter(|a| a.resolution.is_none())
            .map(|a| a.escrow)
            .sum()
    }
}

/// Chain-wide sums the conservation check reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MarketTotals {
    /// Requester escrow locked in jobs.
    #[serde(with = "joule_ledger::primitives::serde_helpers::amount")]
    pub escrow: Amount,
    /// Provider stake, bonded or unbonding.
    #[serde(with = "joule_ledger::primitives::serde_helpers::amount")]
    pub stake: Amount,
    /// Challenge bonds held.
    #[serde(with = "joule_ledger::primitives::serde_helpers::amount")]
    pub bonds: Amount,
    /// Credits destroyed (slash remainders, publish fees, failed challenges).
    #[serde(with = "joule_ledger::primitives::serde_helpers::amount")]
    pub burned: Amount,
}

impl MarketTotals {
    /// Everything the market holds or destroyed: with all balances, the genesis supply.
    pub fn sum(&self) -> Amount {
        self.escrow + self.stake + self.bonds + self.burned
    }
}

/// Typed access to the market tables of a [`StateOverlay`].
pub trait MarketState {
    /// A provider's record, if it ever registered.
    fn provider(&self, address: &Address) -> Result<Option<Provider>, StoreError>;
    /// Writes a provider's record.
    fn set_provider(&mut self, address: &Address, provider: &Provider);
    /// A job.
    fn job(&self, id: &Hash) -> Result<Option<Job>, StoreError>;
    /// Writes a job.
    fn set_job(&mut self, id: &Hash, job: &Job);
    /// The market totals.
    fn totals(&self) -> Result<MarketTotals, StoreError>;
    /// Writes the market totals.
    fn set_totals(&mut self, totals: &MarketTotals);
    /// Whether a module with this code hash is published.
    fn has_module(&self, hash: &Hash) -> Result<bool, StoreError>;
    /// A published module's code.
    fn module(&self, hash: &Hash) -> Result<Option<Vec<u8>>, StoreError>;
    /// A published (or inline-stored) input.
    fn input(&self, hash: &Hash) -> Result<Option<Vec<u8>>, StoreError>;
    /// Jobs due at the end of `block`.
    fn due(&self, block: BlockNumber) -> Result<Vec<Hash>, StoreError>;
    /// Writes the jobs due at `block` (empty deletes).
    fn set_due(&mut self, block: BlockNumber, jobs: &[Hash]);
}

impl MarketState for StateOverlay {
    fn provider(&self, address: &Address) -> Result<Option<Provider>, StoreError> {
        self.get(&StateKey::Provider(*address))
    }

    fn set_provider(&mut self, address: &Address, provider: &Provider) {
        self.set(&StateKey::Provider(*address), provider);
    }

    fn job(&self, id: &Hash) -> Result<Option<Job>, StoreError> {
        self.get(&StateKey::Job(*id))
    }

    fn set_job(&mut self, id: &Hash, job: &Job) {
        self.set(&StateKey::Job(*id), job);
    }

    fn totals(&self) -> Result<MarketTotals, StoreError> {
        Ok(self.get(&StateKey::MarketTotals)?.unwrap_or_default())
    }

    fn set_totals(&mut self, totals: &MarketTotals) {
        self.set(&StateKey::MarketTotals, totals);
    }

    fn has_module(&self, hash: &Hash) -> Result<bool, StoreError> {
        Ok(self
            .get_raw(&joule_ledger::codec::encode(&StateKey::Module(*hash)))?
            .is_some())
    }

    fn module(&self, hash: &Hash) -> Result<Option<Vec<u8>>, StoreError> {
        self.get(&StateKey::Module(*hash))
    }

    fn input(&self, hash: &Hash) -> Result<Option<Vec<u8>>, StoreError> {
        self.get(&StateKey::Input(*hash))
    }

    fn due(&self, block: BlockNumber) -> Result<Vec<Hash>, StoreError> {
        Ok(self.get(&StateKey::Due(block))?.unwrap_or_default())
    }

    fn set_due(&mut self, block: BlockNumber, jobs: &[Hash]) {
        if jobs.is_empty() {
            self.delete(&StateKey::Due(block));
        } else {
            self.set(&StateKey::Due(block), &jobs.to_vec());
        }
    }
}
