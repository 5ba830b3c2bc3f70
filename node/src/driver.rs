//! The consensus driver: runs `joule-ledger`'s Tendermint state machine against the real chain.
//!
//! [`Driver`] owns a [`Consensus`] machine and carries out its outputs: it broadcasts messages
//! through a [`ConsensusNetwork`], keeps a timer queue for scheduled timeouts, and on a decision
//! commits the block to the [`Chain`] (one atomic RocksDB batch), prunes the mempool and starts
//! the next height. [`ChainHost`] is the machine's view of the chain: it builds blocks from the
//! mempool and validates proposals by executing them, keeping the executed result so a decided
//! block is not executed twice. [`StoreSafety`] persists what this authority signed in the
//! chain database, so a restart never signs a conflicting vote.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use joule_ledger::chain::MAX_BLOCK_TXS;
use joule_ledger::consensus::{
    ChainTip, Clock, Consensus, ConsensusConfig, ConsensusError, ConsensusHost, ConsensusMessage,
    Output, PersistedState, SafetyStore, SystemClock, Timeout,
};
use joule_ledger::mempool::Mempool;
use joule_ledger::store::{ChainStore, StoreError, Table, WriteBatch};
use joule_ledger::{
    Address, Block, BlockNumber, Chain, Commit, ExecutedBlock, Hash, Round, SecretKey, codec,
};
use parking_lot::Mutex;
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

use crate::metrics::Metrics;

/// Where the consensus machine's messages go. A libp2p service implements this later; tests
/// and multi-authority processes use [`LocalHub`].
/// A message from a peer.
#[derive(Debug, Clone)]
pub enum Inbound {
    /// A consensus message.
    Consensus(ConsensusMessage),
    /// A block another authority committed, with its commit: a laggard that missed a decision
    /// imports it (the commit proves finality on its own) instead of waiting forever.
    Committed(Arc<(Block, Commit)>),
}

/// What reaches a driver from its peers.
pub trait ConsensusNetwork: Send + Sync + std::fmt::Debug {
    /// Sends to every other authority.
    fn broadcast(&self, from: Address, message: ConsensusMessage);
    /// Sends to one authority.
    fn send_to(&self, from: Address, to: Address, message: ConsensusMessage);
    /// Announces a committed block with its commit to every other peer.
    fn announce(&self, from: Address, committed: Arc<(Block, Commit)>);
}

/// An in-process network: every registered authority gets a bounded inbox.
#[derive(Debug, Default)]
pub struct LocalHub {
    peers: Mutex<BTreeMap<Address, mpsc::Sender<Inbound>>>,
}

/// Inbox size per authority on a [`LocalHub`]; a full inbox drops (consensus retransmits).
pub const INBOX_CAPACITY: usize = 1_024;

impl LocalHub {
    /// Registers `who` and returns its inbox.
    pub fn join(&self, who: Address) -> mpsc::Receiver<Inbound> {
        let (tx, rx) = mpsc::channel(INBOX_CAPACITY);
        self.peers.lock().insert(who, tx);
        rx
    }

    /// Removes `who` (a crashed or stopped node).
    pub fn leave(&self, who: &Address) {
        self.peers.lock().remove(who);
    }
}

impl ConsensusNetwork for LocalHub {
    fn broadcast(&self, from: Address, message: ConsensusMessage) {
        for (who, tx) in self.peers.lock().iter() {
            if *who != from && tx.try_send(Inbound::Consensus(message.clone())).is_err() {
                debug!(target: "node::consensus", to = %who, "inbox full or closed; message dropped");
            }
        }
    }

    fn send_to(&self, _from: Address, to: Address, message: ConsensusMessage) {
        if let Some(tx) = self.peers.lock().get(&to) {
            let _ = tx.try_send(Inbound::Consensus(message));
        }
    }

    fn announce(&self, from: Address, committed: Arc<(Block, Commit)>) {
        for (who, tx) in self.peers.lock().iter() {
            if *who != from {
                let _ = tx.try_send(Inbound::Committed(committed.clone()));
            }
        }
    }
}

/// The consensus signing record in the chain database ([`Table::Consensus`]).
#[derive(Debug, Clone)]
pub struct StoreSafety {
    store: ChainStore,
}

const SAFETY_KEY: &[u8] = b"safety";

impl StoreSafety {
    /// Over the chain's store.
    pub fn new(store: ChainStore) -> Self {
        StoreSafety { store }
    }
}

impl SafetyStore for StoreSafety {
    type Error = StoreError;
    fn load(&self) -> Result<Option<PersistedState>, StoreError> {
        self.store.get_decoded(Table::Consensus, SAFETY_KEY)
    }
    fn save(&mut self, state: &PersistedState) -> Result<(), StoreError> {
        let mut batch = WriteBatch::new();
        batch.put_raw(Table::Consensus, SAFETY_KEY.to_vec(), codec::encode(state));
        self.store.write(batch)
    }
}

/// Executed blocks kept between validation and decision, per height.
const MAX_EXECUTED: usize = 16;

/// The machine's view of the chain and mempool.
#[derive(Debug)]
pub struct ChainHost {
    chain: Arc<Chain>,
    mempool: Arc<Mutex<Mempool>>,
    key: SecretKey,
    executed: HashMap<Hash, ExecutedBlock>,
}

impl ChainHost {
    fn remember(&mut self, executed: ExecutedBlock) {
        if self.executed.len() >= MAX_EXECUTED {
            self.executed.clear();
        }
        self.executed.insert(executed.block.hash(), executed);
    }

    /// After block `number` is written, however it came (decided here or caught up): drops its
    /// transactions from the mempool, prunes what the new state made stale, and counts it.
    fn committed(&self, number: BlockNumber, tx_hashes: &[Hash], metrics: Option<&Metrics>) {
        let mut pool = self.mempool.lock();
        pool.remove_included(tx_hashes.iter());
        pool.prune(&*self.chain);
        if let Some(metrics) = metrics {
            metrics.on_block_committed(number, tx_hashes.len());
            metrics.set_mempool_size(pool.len());
        }
    }
}

impl ConsensusHost for ChainHost {
    fn build_block(
        &mut self,
        height: BlockNumber,
        round: Round,
        timestamp_ms: u64,
        last_commit: Option<Commit>,
    ) -> Result<Block, String> {
        let head = self.chain.head();
        if head.number + 1 != height {
            return Err(format!("asked to build {height} on head {}", head.number));
        }
        let candidates = self
            .mempool
            .lock()
            .select(MAX_BLOCK_TXS, 16 * 1024 * 1024, &*self.chain);
        let built = self
            .chain
            .build_block(&self.key, round, timestamp_ms, last_commit, candidates)
            .map_err(|e| e.to_string())?;
        if !built.rejected.is_empty() {
            let mut pool = self.mempool.lock();
            for (hash, why) in &built.rejected {
                debug!(target: "node::consensus", %hash, %why, "dropping transaction that cannot be included");
            }
            pool.remove_included(built.rejected.iter().map(|(h, _)| h));
        }
        let block = built.executed.block.clone();
        self.remember(built.executed);
        Ok(block)
    }

    fn validate_block(&mut self, block: &Block) -> Result<(), String> {
        if self.executed.contains_key(&block.hash()) {
            return Ok(());
        }
        let executed = self
            .chain
            .validate_block(block)
            .map_err(|e| e.to_string())?;
        self.remember(executed);
        Ok(())
    }
}

/// How often this authority resends its current-round messages (the state machine assumes
/// messages eventually arrive; resending is how a lossy network keeps that promise).
pub const REBROADCAST_INTERVAL: Duration = Duration::from_secs(2);

/// Driver settings.
#[derive(Debug, Clone, Default)]
pub struct DriverConfig {
    /// Stop cleanly once this block is committed.
    pub until_block: Option<BlockNumber>,
    /// Where to announce each committed head (RPC subscriptions, the provider worker).
    pub heads: Option<tokio::sync::broadcast::Sender<joule_ledger::Header>>,
    /// Where to count committed blocks and the pool's size (`--metrics.addr`).
    pub metrics: Option<Arc<Metrics>>,
}

/// Runs consensus for one authority.
#[derive(Debug)]
pub struct Driver {
    chain: Arc<Chain>,
    host: ChainHost,
    machine: Consensus<StoreSafety, SystemClock>,
    network: Arc<dyn ConsensusNetwork>,
    inbox: mpsc::Receiver<Inbound>,
    timers: BinaryHeap<Reverse<Timeout>>,
    config: DriverConfig,
    consensus: ConsensusConfig,
    /// Committed blocks announced for heights above ours, waiting for the ones before them.
    ahead: BTreeMap<BlockNumber, Arc<(Block, Commit)>>,
}

/// Most announced future blocks a driver keeps.
const MAX_AHEAD: usize = 64;
/// How many of its latest committed blocks a driver re-announces on each rebroadcast tick.
const REANNOUNCE: u64 = 4;

fn tip_of(chain: &Chain) -> anyhow::Result<ChainTip> {
    let head = chain.head();
    let commit = if head.number == 0 {
        None
    } else {
        Some(
            chain
                .commit(head.number)?
                .with_context(|| format!("commit of head block {} missing", head.number))?,
        )
    };
    Ok(ChainTip {
        height: head.number,
        hash: head.hash(),
        timestamp_ms: head.timestamp_ms,
        commit,
    })
}

impl Driver {
    /// A driver for authority `key` that is alone (or whose peers are reached through `network`).
    pub fn new(
        chain: Arc<Chain>,
        key: SecretKey,
        mempool: Arc<Mutex<Mempool>>,
        network: Arc<dyn ConsensusNetwork>,
        inbox: mpsc::Receiver<Inbound>,
        config: DriverConfig,
    ) -> anyhow::Result<Self> {
        let mut consensus = ConsensusConfig::new(chain.chain_id(), chain.authorities().clone());
        consensus.block_time_ms = chain.genesis().block_time_ms;
        let machine = Consensus::new(
            consensus.clone(),
            key.clone(),
            tip_of(&chain)?,
            StoreSafety::new(chain.store().clone()),
            SystemClock,
        )
        .context("starting the consensus state machine")?;
        let host = ChainHost {
            chain: chain.clone(),
            mempool,
            key,
            executed: HashMap::new(),
        };
        Ok(Driver {
            chain,
            host,
            machine,
            network,
            inbox,
            timers: BinaryHeap::new(),
            config,
            consensus,
            ahead: BTreeMap::new(),
        })
    }

    /// Imports announced committed blocks that extend our head, then restarts consensus at the
    /// new height.
    fn catch_up(&mut self, committed: Arc<(Block, Commit)>) -> anyhow::Result<()> {
        let number = committed.0.header.number;
        let head = self.chain.head().number;
        if number <= head || (self.ahead.len() >= MAX_AHEAD && !self.ahead.contains_key(&number)) {
            return Ok(());
        }
        self.ahead.insert(number, committed);
        // The consecutive run above the head goes in as one `import_blocks` call, which
        // recovers the next blocks' senders while the current one executes and is written.
        let mut run = Vec::new();
        while let Some(next) = self
            .ahead
            .remove(&(self.chain.head().number + 1 + run.len() as u64))
        {
            run.push(next);
        }
        let (done, result) = self.chain.import_blocks(&run, |executed| {
            let number = executed.block.header.number;
            info!(target: "node::consensus", number, "caught up with a block committed by peers");
            self.host
                .committed(number, executed.tx_hashes(), self.config.metrics.as_deref());
        });
        if let Err(e) = result {
            let number = run[done].0.header.number;
            warn!(target: "node::consensus", number, error = %e, "announced block rejected");
            // The blocks above the refused one wait for a valid block at its height.
            for later in run.drain(done + 1..) {
                self.ahead.insert(later.0.header.number, later);
            }
        }
        let head = self.chain.head().number;
        self.ahead.retain(|n, _| *n > head);
        if done > 0 {
            if let Some(heads) = &self.config.heads {
                let _ = heads.send(self.chain.head());
            }
            self.host.executed.clear();
            self.timers.clear();
            self.machine = Consensus::new(
                self.consensus.clone(),
                self.host.key.clone(),
                tip_of(&self.chain)?,
                StoreSafety::new(self.chain.store().clone()),
                SystemClock,
            )
            .context("restarting consensus after catching up")?;
            if !self.done() {
                let outputs = self.machine.start_height(&mut self.host);
                self.carry_out(outputs)?;
            }
        }
        Ok(())
    }

    /// Re-announces our latest committed blocks, for peers that missed them.
    fn reannounce(&self) -> anyhow::Result<()> {
        let head = self.chain.head().number;
        let me = self.host.key.address();
        for n in head.saturating_sub(REANNOUNCE - 1).max(1)..=head {
            if let (Some(block), Some(commit)) = (self.chain.block(n)?, self.chain.commit(n)?) {
                self.network.announce(me, Arc::new((block, commit)));
            }
        }
        Ok(())
    }

    fn done(&self) -> bool {
        self.config
            .until_block
            .is_some_and(|n| self.chain.head().number >= n)
    }

    /// Runs until `shutdown` completes, `until_block` is committed, or a fatal error.
    pub async fn run(mut self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        tokio::pin!(shutdown);
        let outputs = self.machine.start_height(&mut self.host);
        self.carry_out(outputs)?;
        let mut resend = tokio::time::interval(REBROADCAST_INTERVAL);
        resend.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        resend.tick().await;
        while !self.done() {
            let wait = self.timers.peek().map(|Reverse(t)| {
                Duration::from_millis(t.deadline_ms.saturating_sub(SystemClock.now_ms()))
            });
            let sleep = tokio::time::sleep(wait.unwrap_or(Duration::from_secs(3600)));
            tokio::select! {
                _ = &mut shutdown => break,
                Some(inbound) = self.inbox.recv() => match inbound {
                    Inbound::Consensus(message) => {
                        let outputs = self.machine.handle_message(message, &mut self.host);
                        self.carry_out(outputs)?;
                    }
                    Inbound::Committed(committed) => self.catch_up(committed)?,
                },
                _ = resend.tick() => {
                    let outputs = self.machine.rebroadcast();
                    self.carry_out(Ok(outputs))?;
                    self.reannounce()?;
                }
                _ = sleep => {
                    let now = SystemClock.now_ms();
                    while let Some(Reverse(t)) = self.timers.peek().copied() {
                        if t.deadline_ms > now {
                            break;
                        }
                        self.timers.pop();
                        let outputs = self.machine.handle_timeout(t, &mut self.host);
                        self.carry_out(outputs)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Carries out outputs in order; a rejected input is logged, a failure to persist is fatal.
    fn carry_out(&mut self, outputs: Result<Vec<Output>, ConsensusError>) -> anyhow::Result<()> {
        let outputs = match outputs {
            Ok(o) => o,
            Err(ConsensusError::Store(e)) => {
                return Err(anyhow::anyhow!("consensus safety store failed: {e}"));
            }
            Err(e) => {
                debug!(target: "node::consensus", error = %e, "consensus input rejected");
                self.machine.take_outputs()
            }
        };
        let me = self.host.key.address();
        for output in outputs {
            match output {
                Output::Broadcast(m) => self.network.broadcast(me, m),
                Output::SendTo { to, message } => self.network.send_to(me, to, message),
                Output::ScheduleTimeout(t) => self.timers.push(Reverse(t)),
                Output::Evidence(e) => {
                    warn!(target: "node::consensus", offender = %e.offender(), "equivocation evidence")
                }
                Output::Decided(decision) => {
                    let hash = decision.block.hash();
                    let executed = match self.host.executed.remove(&hash) {
                        Some(e) => e,
                        None => self
                            .chain
                            .validate_block(&decision.block)
                            .context("executing the decided block")?,
                    };
                    self.host.executed.clear();
                    self.chain
                        .commit_block(&executed, decision.commit.clone())
                        .context("committing the decided block")?;
                    let number = executed.block.header.number;
                    self.host.committed(
                        number,
                        executed.tx_hashes(),
                        self.config.metrics.as_deref(),
                    );
                    self.network
                        .announce(me, Arc::new((executed.block, decision.commit)));
                    if let Some(heads) = &self.config.heads {
                        // No receiver is fine: nobody is listening yet.
                        let _ = heads.send(self.chain.head());
                    }
                    if self.done() {
                        info!(target: "node::consensus", head = self.chain.head().number, "reached --until-block");
                        return Ok(());
                    }
                    let next = self.machine.start_height(&mut self.host);
                    self.carry_out(next)?;
                }
            }
        }
        Ok(())
    }
}
