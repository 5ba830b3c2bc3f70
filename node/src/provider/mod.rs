//! The provider worker: the part of a node that earns credits.
//!
//! At every committed head it reads the chain and decides what to send; it never trusts its
//! own memory of what it sent over what the chain says:
//!
//! 1. **Stake.** Registers with [`ProviderConfig::stake`] if the chain does not know it, and
//!    tops its bonded stake back up to that amount after a slash (as far as its balance goes).
//! 2. **Offer.** Keeps a signed offer from its [`StrategyConfig`] in the order book, renewed
//!    before it expires.
//! 3. **Match.** Sends `Match` for the bids its strategy picks from the book (best-paying first,
//!    within its capacity and free stake), once per bid while the transaction is pending.
//! 4. **Run.** For each job the chain assigned it (`Matched` events, read block by block from
//!    the last block in its [journal](journal)), reads the module and input from chain state and
//!    runs them with `joule-vm` on a bounded pool of blocking threads, under the same limits
//!    arbitration uses.
//! 5. **Commit, reveal.** Writes the result and a random salt to the journal, then sends the
//!    commitment; once the chain moves the job to revealing, sends the reveal (with the output
//!    inline when it fits the chain's cap, so the requester can read it from the job record).
//! 6. **Settle.** Counts payments and slashes from the chain's events and forgets a job once it
//!    is final.
//!
//! After a crash it reopens the journal, replays the blocks it missed, and reconciles every job
//! it holds with the chain before sending anything, so no job is lost or answered twice. A
//! transaction it sent is "in flight" while the mempool holds it; after that the chain state
//! shows whether it took effect, and the action is retried only if it did not.

pub mod journal;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use joule_contracts::state::{Job, MarketState, Phase, Resolution};
use joule_contracts::{job_limits, result_of};
use joule_ledger::genesis::MarketParams;
use joule_ledger::state::StateOverlay;
use joule_ledger::{
    Address, Amount, BlockNumber, Call, Chain, Event, Hash, Header, JobResult, SecretKey,
    Transaction,
};
use joule_market::{OrderBook, ProviderStrategy, StrategyConfig};
use joule_vm::Vm;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use tokio::sync::{Semaphore, broadcast, mpsc};
use tracing::{debug, info, warn};

use crate::chain_view::CommittedView;
use crate::metrics::Metrics;
use crate::outbox::Outbox;
use journal::{JobEntry, Journal};

/// How a provider answers (a test-only liar exists to show that lying is caught and costs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Behaviour {
    /// Runs every job and reports what it computed.
    #[default]
    Honest,
    /// Reports a made-up output instead of the computed one (for tests of arbitration).
    WrongOutput,
}

/// What a provider is set up with.
#[derive(Debug, Clone)]
pub struct ProviderConfig {
    /// Prices, capacity and the bids it takes.
    pub strategy: StrategyConfig,
    /// Stake it bonds and keeps topped up.
    pub stake: Amount,
    /// Fee it pays per transaction.
    pub fee: Amount,
    /// Where its journal lives.
    pub dir: PathBuf,
    /// Honest, or a test-only liar.
    pub behaviour: Behaviour,
}

/// What the provider sends, for tracking transactions in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Action {
    Register,
    AddStake,
    Match(Hash),
    Commit(Hash),
    Reveal(Hash),
}

/// A finished run of a job.
struct Finished {
    job: Hash,
    outcome: Result<(JobResult, Vec<u8>), String>,
}

/// Blocks after a failed `Match` before the same bid is tried again.
const MATCH_RETRY_BLOCKS: BlockNumber = 5;

/// The provider worker; see the [module docs](self).
pub struct ProviderWorker {
    key: SecretKey,
    chain: Arc<Chain>,
    book: Arc<Mutex<OrderBook>>,
    outbox: Arc<dyn Outbox>,
    vm: Arc<Vm>,
    strategy: ProviderStrategy,
    config: ProviderConfig,
    journal: Journal,
    in_flight: HashMap<Action, Hash>,
    match_tried: HashMap<Hash, BlockNumber>,
    running: HashSet<Hash>,
    pool: Arc<Semaphore>,
    done_tx: mpsc::Sender<Finished>,
    done_rx: mpsc::Receiver<Finished>,
    metrics: Option<Arc<Metrics>>,
}

impl std::fmt::Debug for ProviderWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderWorker")
            .field("provider", &self.key.address())
            .field("jobs", &self.journal.state.jobs.len())
            .field("running", &self.running.len())
            .finish_non_exhaustive()
    }
}

/// Refuses a stake the chain would not register.
pub fn check_stake(stake: Amount, params: &MarketParams) -> anyhow::Result<()> {
    if stake < params.min_stake {
        anyhow::bail!(
            "provider stake {stake} is below the chain's minimum stake {}",
            params.min_stake
        );
    }
    Ok(())
}

fn params(chain: &Chain) -> &MarketParams {
    &chain.genesis().market
}

impl ProviderWorker {
    /// A worker for `key`. Opens (or starts) its journal; the strategy is validated.
    pub fn new(
        key: SecretKey,
        chain: Arc<Chain>,
        book: Arc<Mutex<OrderBook>>,
        outbox: Arc<dyn Outbox>,
        vm: Arc<Vm>,
        config: ProviderConfig,
        metrics: Option<Arc<Metrics>>,
    ) -> anyhow::Result<Self> {
        let strategy =
            ProviderStrategy::new(config.strategy.clone(), key.address(), chain.chain_id())
                .context("provider strategy")?;
        check_stake(config.stake, params(&chain))?;
        let journal = Journal::open(&config.dir, key.address(), chain.head().number)?;
        let capacity = config.strategy.capacity as usize;
        let (done_tx, done_rx) = mpsc::channel(capacity.max(1));
        Ok(ProviderWorker {
            key,
            chain,
            book,
            outbox,
            vm,
            strategy,
            config,
            journal,
            in_flight: HashMap::new(),
            match_tried: HashMap::new(),
            running: HashSet::new(),
            pool: Arc::new(Semaphore::new(capacity.max(1))),
            done_tx,
            done_rx,
            metrics,
        })
    }

    /// The provider's address.
    pub fn address(&self) -> Address {
        self.key.address()
    }

    /// Runs until `shutdown` completes or the head channel closes. Jobs still running are left
    /// to finish in the background; their results are lost, but the journal lets the next
    /// start run them again.
    pub async fn run(
        mut self,
        mut heads: broadcast::Receiver<Header>,
        shutdown: impl Future<Output = ()>,
    ) -> anyhow::Result<()> {
        tokio::pin!(shutdown);
        info!(
            target: "node::provider",
            provider = %self.address(),
            jobs = self.journal.state.jobs.len(),
            from_block = self.journal.state.last_block,
            "provider worker started"
        );
        self.step()?;
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                head = heads.recv() => match head {
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => self.step()?,
                    Err(broadcast::error::RecvError::Closed) => break,
                },
                Some(done) = self.done_rx.recv() => {
                    self.finished(done)?;
                    self.step()?;
                }
            }
        }
        Ok(())
    }

    /// One pass: apply the blocks not yet read, then act on the state at the head.
    fn step(&mut self) -> anyhow::Result<()> {
        let head = self.chain.head().number;
        self.read_blocks(head)?;
        let state = StateOverlay::new(self.chain.store().clone());
        let registered = self.keep_stake(&state)?;
        self.reconcile_jobs(&state)?;
        if registered {
            self.keep_offer(head);
        }
        self.take_bids(head);
        Ok(())
    }

    /// Applies events of blocks after the journal's last block up to `head`.
    fn read_blocks(&mut self, head: BlockNumber) -> anyhow::Result<()> {
        let me = self.address();
        let from = self.journal.state.last_block + 1;
        if from > head {
            return Ok(());
        }
        let mut touched = false;
        for number in from..=head {
            let receipts = self
                .chain
                .receipts(number)?
                .with_context(|| format!("receipts of committed block {number} missing"))?;
            for event in receipts.iter().flat_map(|r| &r.events) {
                match event {
                    Event::Matched { job, provider, .. } if *provider == me => {
                        touched = true;
                        info!(target: "node::provider", %job, block = number, "matched a job");
                        self.journal.state.jobs.entry(*job).or_insert(JobEntry {
                            matched_at: number,
                            ..JobEntry::default()
                        });
                        self.in_flight.remove(&Action::Match(*job));
                    }
                    Event::Paid {
                        job,
                        to,
                        amount,
                        kind,
                    } if *to == me && kind == "payment" => {
                        touched = true;
                        info!(target: "node::provider", %job, %amount, "paid for a job");
                        self.journal.state.earned =
                            self.journal.state.earned.saturating_add(*amount);
                        self.journal.state.jobs_paid += 1;
                        if let Some(m) = &self.metrics {
                            m.add_earnings(*amount);
                        }
                    }
                    Event::Slashed {
                        job,
                        provider,
                        amount,
                        ..
                    } if *provider == me => {
                        touched = true;
                        warn!(target: "node::provider", %job, %amount, "stake slashed over a job");
                        self.journal.state.slashed =
                            self.journal.state.slashed.saturating_add(*amount);
                        if let Some(m) = &self.metrics {
                            m.add_slashed(*amount);
                        }
                    }
                    _ => {}
                }
            }
        }
        self.journal.state.last_block = head;
        // Blocks without events for this provider need no write: after a crash they are read
        // again, to no effect. Events are saved with the block they came in, never twice.
        if touched {
            self.journal.save()?;
        }
        Ok(())
    }

    /// Whether `action`'s last transaction is still waiting in the mempool.
    fn in_flight(&mut self, action: Action) -> bool {
        match self.in_flight.get(&action) {
            Some(hash) if self.outbox.tx_pending(hash) => true,
            Some(_) => {
                self.in_flight.remove(&action);
                false
            }
            None => false,
        }
    }

    /// Signs and sends `call`; a refusal is logged (the next head decides again).
    fn send(&mut self, action: Action, call: Call) {
        let tx = Transaction {
            chain_id: self.chain.chain_id(),
            nonce: self.outbox.next_nonce(&self.address()),
            fee: self.config.fee,
            call,
        }
        .sign(&self.key);
        match self.outbox.submit_tx(tx) {
            Ok(hash) => {
                debug!(target: "node::provider", ?action, %hash, "sent");
                self.in_flight.insert(action, hash);
            }
            Err(e) => warn!(target: "node::provider", ?action, error = %e, "could not send"),
        }
    }

    /// Registers or tops up the stake as needed; returns whether the chain knows the provider.
    fn keep_stake(&mut self, state: &StateOverlay) -> anyhow::Result<bool> {
        let me = self.address();
        let provider = state.provider(&me)?;
        let registered = provider.is_some();
        if self.in_flight(Action::Register) || self.in_flight(Action::AddStake) {
            return Ok(registered);
        }
        let balance = state.account(&me)?.balance;
        let spendable = balance.saturating_sub(self.config.fee);
        match provider {
            None => {
                if spendable < self.config.stake {
                    warn!(target: "node::provider", %balance, stake = %self.config.stake, "balance too low to register as a provider");
                    return Ok(false);
                }
                info!(target: "node::provider", stake = %self.config.stake, "registering as a provider");
                self.send(
                    Action::Register,
                    Call::RegisterProvider {
                        stake: self.config.stake,
                    },
                );
            }
            Some(p) if p.bonded < self.config.stake => {
                let amount = (self.config.stake - p.bonded).min(spendable);
                if amount > 0 {
                    info!(target: "node::provider", bonded = %p.bonded, %amount, "topping up stake");
                    self.send(Action::AddStake, Call::AddStake { amount });
                }
            }
            Some(_) => {}
        }
        Ok(registered)
    }

    fn keep_offer(&mut self, head: BlockNumber) {
        let me = self.address();
        let current = self.book.lock().offer(&me).map(|e| e.offer().clone());
        if !self.strategy.needs_new_offer(current.as_ref(), head) {
            return;
        }
        let offer = self.strategy.offer(head);
        let (price, expiry) = (offer.price_per_fuel, offer.expiry);
        match self.outbox.publish_offer(offer.sign(&self.key)) {
            Ok(()) => {
                debug!(target: "node::provider", %price, expiry, "offer published")
            }
            Err(e) => warn!(target: "node::provider", error = %e, "offer not published"),
        }
    }

    fn take_bids(&mut self, head: BlockNumber) {
        self.match_tried
            .retain(|_, at| head < at.saturating_add(MATCH_RETRY_BLOCKS));
        let calls: Vec<(Hash, Call)> = {
            let book = self.book.lock();
            let view = CommittedView::new(&self.chain);
            self.strategy
                .pick(&book, &view)
                .matches
                .iter()
                .filter(|m| !self.match_tried.contains_key(&m.job))
                .map(|m| (m.job, m.to_call()))
                .collect()
        };
        for (job, call) in calls {
            if self.in_flight(Action::Match(job)) {
                continue;
            }
            info!(target: "node::provider", %job, "taking a bid");
            self.match_tried.insert(job, head);
            self.send(Action::Match(job), call);
        }
    }

    fn reconcile_jobs(&mut self, state: &StateOverlay) -> anyhow::Result<()> {
        let me = self.address();
        let ids: Vec<Hash> = self.journal.state.jobs.keys().copied().collect();
        let mut changed = false;
        let mut counts: BTreeMap<&'static str, i64> = BTreeMap::new();
        for id in ids {
            let Some(job) = state.job(&id)? else {
                warn!(target: "node::provider", job = %id, "journal names a job the chain does not know; dropping it");
                self.journal.state.jobs.remove(&id);
                changed = true;
                continue;
            };
            let Some(mine) = job.assignments.iter().find(|a| a.provider == me).cloned() else {
                self.journal.state.jobs.remove(&id);
                changed = true;
                continue;
            };
            if job.phase.is_final() {
                self.settled(&id, &job, mine.resolution);
                self.journal.remove_output(&id);
                self.journal.state.jobs.remove(&id);
                changed = true;
                continue;
            }
            if mine.resolution.is_some() {
                // Our part ended (a missed deadline); the job goes on without us.
                continue;
            }
            let entry = self.journal.state.jobs[&id].clone();
            let state_name = if self.running.contains(&id) {
                "running"
            } else if entry.failed.is_some() {
                "failed"
            } else if mine.reveal.is_some() {
                "revealed"
            } else if mine.commitment.is_some() {
                "committed"
            } else {
                "matched"
            };
            *counts.entry(state_name).or_default() += 1;
            match job.phase {
                Phase::Committing if mine.commitment.is_none() => {
                    match (entry.result, entry.salt) {
                        (Some(_), Some(_)) if self.in_flight(Action::Commit(id)) => {}
                        (Some(result), Some(salt)) => {
                            info!(target: "node::provider", job = %id, "committing to the result");
                            self.send(
                                Action::Commit(id),
                                Call::CommitResult {
                                    job: id,
                                    commitment: result.commitment(&me, &salt),
                                },
                            );
                        }
                        _ if entry.failed.is_none() => self.start(id, &job, state)?,
                        _ => {}
                    }
                }
                Phase::Revealing if mine.commitment.is_some() && mine.reveal.is_none() => {
                    let (Some(result), Some(salt)) = (entry.result, entry.salt) else {
                        warn!(target: "node::provider", job = %id, "committed but the journal has no result to reveal");
                        continue;
                    };
                    if self.in_flight(Action::Reveal(id)) {
                        continue;
                    }
                    let output = if entry.has_output {
                        self.journal.output(&id)?
                    } else {
                        Vec::new()
                    };
                    info!(target: "node::provider", job = %id, fuel = result.fuel_used, "revealing");
                    self.send(
                        Action::Reveal(id),
                        Call::RevealResult {
                            job: id,
                            result,
                            salt,
                            output,
                        },
                    );
                }
                _ => {}
            }
        }
        if changed {
            self.journal.save()?;
        }
        if let Some(m) = &self.metrics {
            for state in crate::metrics::PROVIDER_JOB_STATES {
                let n = match state {
                    "settled" => self.journal.state.jobs_paid as i64,
                    "expired" => self.journal.state.jobs_unpaid as i64,
                    _ => counts.get(state).copied().unwrap_or(0),
                };
                m.set_provider_jobs(state, n);
            }
        }
        Ok(())
    }

    fn settled(&mut self, id: &Hash, job: &Job, resolution: Option<Resolution>) {
        if !matches!(resolution, Some(Resolution::Paid(_))) {
            self.journal.state.jobs_unpaid += 1;
        }
        match resolution {
            Some(Resolution::Paid(amount)) => {
                info!(target: "node::provider", job = %id, %amount, phase = job.phase.name(), "job over: paid")
            }
            Some(Resolution::Wrong) => {
                warn!(target: "node::provider", job = %id, "job over: result judged wrong, collateral slashed")
            }
            Some(Resolution::NoShow) => {
                warn!(target: "node::provider", job = %id, "job over: no-show, collateral slashed")
            }
            Some(Resolution::Released) | None => {
                info!(target: "node::provider", job = %id, phase = job.phase.name(), "job over: released")
            }
        }
    }

    /// Starts running `id` on the pool if a worker thread is free.
    fn start(&mut self, id: Hash, job: &Job, state: &StateOverlay) -> anyhow::Result<()> {
        if self.running.contains(&id) {
            return Ok(());
        }
        let Ok(permit) = self.pool.clone().try_acquire_owned() else {
            return Ok(());
        };
        let code = state.module(&job.module)?;
        let input = state.input(&job.input)?;
        let (Some(code), Some(input)) = (code, input) else {
            warn!(target: "node::provider", job = %id, "module or input missing from chain state");
            if let Some(e) = self.journal.state.jobs.get_mut(&id) {
                e.failed = Some("module or input missing from chain state".into());
            }
            return self.journal.save();
        };
        let limits = job_limits(params(&self.chain), job.fuel_limit);
        let vm = self.vm.clone();
        let done = self.done_tx.clone();
        let behaviour = self.config.behaviour;
        self.running.insert(id);
        info!(target: "node::provider", job = %id, fuel_limit = job.fuel_limit, "running job");
        tokio::task::spawn_blocking(move || {
            let outcome = vm
                .execute(&code, &input, &limits)
                .map(|outcome| {
                    let mut result = result_of(&outcome);
                    let mut output = outcome.output;
                    if behaviour == Behaviour::WrongOutput {
                        output.push(0xff);
                        result.output_hash = Hash::keccak(&output);
                    }
                    (result, output)
                })
                .map_err(|e| e.to_string());
            drop(permit);
            let _ = done.blocking_send(Finished { job: id, outcome });
        });
        Ok(())
    }

    fn finished(&mut self, done: Finished) -> anyhow::Result<()> {
        self.running.remove(&done.job);
        let max_inline = params(&self.chain).max_inline_output_bytes as usize;
        if !self.journal.state.jobs.contains_key(&done.job) {
            return Ok(());
        }
        match done.outcome {
            Ok((result, output)) => {
                if let Some(m) = &self.metrics {
                    m.add_fuel_executed(result.fuel_used);
                }
                let inline = !output.is_empty() && output.len() <= max_inline;
                if inline {
                    self.journal.save_output(&done.job, &output)?;
                }
                let mut salt = [0u8; 32];
                rand::fill(&mut salt);
                let entry = self
                    .journal
                    .state
                    .jobs
                    .get_mut(&done.job)
                    .expect("checked above; qed");
                info!(target: "node::provider", job = %done.job, status = result.status, fuel = result.fuel_used, "job ran");
                entry.result = Some(result);
                entry.salt = Some(Hash(salt));
                entry.has_output = inline;
            }
            Err(e) => {
                warn!(target: "node::provider", job = %done.job, error = %e, "could not run the job; not answering it");
                if let Some(entry) = self.journal.state.jobs.get_mut(&done.job) {
                    entry.failed = Some(e);
                }
            }
        }
        // The salt is on disk before the commitment leaves: a crash can always reveal.
        self.journal.save()
    }
}
