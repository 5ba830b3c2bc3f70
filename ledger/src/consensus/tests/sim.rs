//! Four authorities on a simulated network: a deterministic, seeded discrete-event scheduler
//! delivers messages with random latency (reordering), loses and resends them (eventual
//! delivery), crashes and restarts nodes, and lets one node equivocate. Like a node's network
//! layer it also resends each node's current-round messages now and then, relays what honest
//! nodes accept (gossip, in the Byzantine scenario) and syncs a node left two heights behind.
//! The manual clock jumps to the next event, so timeouts race the messages. Over many seeds: no
//! two honest nodes ever commit different blocks at a height (safety), honest nodes never sign
//! conflicting messages, and the up nodes reach height 10 (liveness).

use std::collections::{BTreeMap, BTreeSet};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::harness::*;
use crate::codec;
use crate::consensus::{
    Clock, ConsensusConfig, ConsensusError, ConsensusMessage, Decision, Evidence, ManualClock,
    MemorySafetyStore, Output, Proposal, Timeout,
};
use crate::crypto::SecretKey;
use crate::primitives::{BlockNumber, Hash};
use crate::vote::Vote;

const TARGET_HEIGHT: BlockNumber = 10;
const MAX_EVENTS: usize = 20_000;
/// How often each node resends its current-round messages, as a gossip layer does for peers
/// that missed them (messages a node rejected while it was down or behind are otherwise lost).
const RESEND_MS: u64 = 2_000;

#[derive(Debug, Clone, Copy, Default)]
struct Scenario {
    /// Chance that a transmission is lost (and resent 200–800 ms later).
    drop: f64,
    /// Chance that a message is delayed by up to 2 s (reordering across timeouts).
    slow: f64,
    /// A node that never runs.
    crashed: Option<usize>,
    /// A node that crashes mid-run and restarts from its safety store.
    restarts: Option<usize>,
    /// A node that sends conflicting proposals and votes to different peers.
    byzantine: Option<usize>,
    /// Honest nodes relay every new proposal and vote they accept (gossip), so what one honest
    /// node saw, all eventually see.
    gossip: bool,
}

#[derive(Debug)]
enum Event {
    Deliver {
        to: usize,
        message: Box<ConsensusMessage>,
    },
    Timer {
        node: usize,
        life: u32,
        timeout: Timeout,
    },
    Crash(usize),
    Restart(usize),
    /// The node's gossip layer resends its current-round messages.
    Resend(usize),
}

#[derive(Debug)]
struct Node {
    machine: Option<TestMachine>,
    host: TestHost,
    store: MemorySafetyStore,
    /// Incremented at each restart; timers of an earlier life are dropped.
    life: u32,
    decided: BTreeMap<BlockNumber, Hash>,
    /// Digests of messages already relayed.
    relayed: BTreeSet<Hash>,
}

#[derive(Debug)]
struct Sim {
    rng: StdRng,
    clock: ManualClock,
    keys: Vec<SecretKey>,
    config: ConsensusConfig,
    scenario: Scenario,
    nodes: Vec<Node>,
    queue: BTreeMap<(u64, u64), Event>,
    seq: u64,
    /// What honest nodes committed, per height.
    committed: BTreeMap<BlockNumber, Decision>,
    /// Block sync already requested, per (node, height).
    synced: BTreeSet<(usize, BlockNumber)>,
    evidence: Vec<(usize, Evidence)>,
    /// Blocks the Byzantine node proposed at its current height, to vote for at random.
    byzantine_blocks: Vec<Hash>,
    rejected: usize,
}

impl Sim {
    fn new(seed: u64, scenario: Scenario) -> Sim {
        let keys = keys(4);
        let clock = ManualClock::new(GENESIS_MS);
        let nodes = (0..keys.len())
            .map(|i| {
                let store = MemorySafetyStore::new();
                let (machine, host) = machine(&keys, i, genesis(), store.clone(), clock.clone());
                Node {
                    machine: (scenario.crashed != Some(i)).then_some(machine),
                    host,
                    store,
                    life: 0,
                    decided: BTreeMap::new(),
                    relayed: BTreeSet::new(),
                }
            })
            .collect();
        let mut sim = Sim {
            rng: StdRng::seed_from_u64(seed),
            clock,
            config: config(&keys),
            keys,
            scenario,
            nodes,
            queue: BTreeMap::new(),
            seq: 0,
            committed: BTreeMap::new(),
            synced: BTreeSet::new(),
            evidence: Vec::new(),
            byzantine_blocks: Vec::new(),
            rejected: 0,
        };
        if let Some(node) = scenario.restarts {
            let down = sim.rng.random_range(GENESIS_MS + 500..GENESIS_MS + 6_000);
            let up = down + sim.rng.random_range(100..3_000);
            sim.push(down, Event::Crash(node));
            sim.push(up, Event::Restart(node));
        }
        for i in 0..sim.nodes.len() {
            sim.start(i);
            let at = GENESIS_MS + sim.rng.random_range(0..RESEND_MS);
            sim.push(at, Event::Resend(i));
        }
        sim
    }

    fn push(&mut self, at: u64, event: Event) {
        self.seq += 1;
        self.queue.insert((at, self.seq), event);
    }

    fn start(&mut self, i: usize) {
        let node = &mut self.nodes[i];
        if let Some(machine) = node.machine.as_mut() {
            let out = machine.start_height(&mut node.host).expect("start; qed");
            self.apply(i, out);
        }
    }

    fn send(&mut self, to: usize, message: ConsensusMessage) {
        let mut delay = self.rng.random_range(1..=40);
        if self.rng.random_bool(self.scenario.slow) {
            delay += self.rng.random_range(0..=2_000);
        }
        while self.rng.random_bool(self.scenario.drop) {
            delay += self.rng.random_range(200..=800);
        }
        let at = self.clock.now_ms() + delay;
        self.push(
            at,
            Event::Deliver {
                to,
                message: Box::new(message),
            },
        );
    }

    fn broadcast(&mut self, from: usize, message: ConsensusMessage) {
        if self.scenario.byzantine == Some(from) {
            return self.equivocate(from, message);
        }
        for to in (0..self.nodes.len()).filter(|to| *to != from) {
            self.send(to, message.clone());
        }
    }

    /// The Byzantine node sends each peer its real message, a conflicting twin, or both.
    fn equivocate(&mut self, from: usize, message: ConsensusMessage) {
        let key = self.keys[from].clone();
        let twin = match &message {
            ConsensusMessage::Vote(v) => {
                let pick = self.rng.random_range(0..=self.byzantine_blocks.len());
                let block = self
                    .byzantine_blocks
                    .get(pick)
                    .copied()
                    .filter(|h| Some(*h) != v.vote.block)
                    .or_else(|| {
                        v.vote
                            .block
                            .is_none()
                            .then(|| Hash::keccak(&pick.to_be_bytes()))
                    });
                Some(ConsensusMessage::Vote(
                    Vote { block, ..v.vote }.sign(&key, CHAIN),
                ))
            }
            ConsensusMessage::Proposal(p) if p.proposal.block.header.proposer == key.address() => {
                let mut block = p.proposal.block.clone();
                block.header.timestamp_ms += 1;
                block.seal = block.header.seal(&key, CHAIN);
                self.byzantine_blocks.push(p.proposal.block.hash());
                self.byzantine_blocks.push(block.hash());
                let twin = Proposal {
                    block,
                    ..p.proposal.clone()
                }
                .sign(&key, CHAIN);
                Some(ConsensusMessage::Proposal(Box::new(twin)))
            }
            _ => None,
        };
        for to in (0..self.nodes.len()).filter(|to| *to != from) {
            match (&twin, self.rng.random_range(0..5)) {
                (Some(twin), 0 | 1) => self.send(to, twin.clone()),
                (Some(twin), 2) => {
                    self.send(to, twin.clone());
                    self.send(to, message.clone());
                }
                _ => self.send(to, message.clone()),
            }
        }
    }

    fn apply(&mut self, i: usize, outputs: Vec<Output>) {
        let honest = self.scenario.byzantine != Some(i);
        for output in outputs {
            match output {
                Output::Broadcast(message) => self.broadcast(i, message),
                Output::SendTo { to, message } => {
                    let to = self
                        .config
                        .authorities
                        .index_of(&to)
                        .expect("authority; qed");
                    self.send(to, message);
                }
                Output::ScheduleTimeout(timeout) => {
                    let life = self.nodes[i].life;
                    self.push(
                        timeout.deadline_ms,
                        Event::Timer {
                            node: i,
                            life,
                            timeout,
                        },
                    );
                }
                Output::Evidence(evidence) => {
                    assert!(evidence.is_valid(CHAIN), "invalid evidence {evidence:?}");
                    self.evidence.push((i, evidence));
                }
                Output::Decided(decision) => {
                    let height = decision.block.header.number;
                    let hash = decision.block.hash();
                    decision
                        .commit
                        .verify(CHAIN, &self.config.authorities, height, hash)
                        .expect("decisions carry a quorum commit");
                    if honest {
                        let first = self.committed.entry(height).or_insert(decision.clone());
                        assert_eq!(
                            first.block.hash(),
                            hash,
                            "SAFETY: node {i} committed another block at height {height}"
                        );
                    }
                    let node = &mut self.nodes[i];
                    assert!(node.decided.insert(height, hash).is_none(), "decided twice");
                    node.host.apply(&decision);
                    self.start(i);
                    if self.scenario.byzantine == Some(i) {
                        self.byzantine_blocks.clear();
                    }
                }
            }
        }
    }

    fn step(&mut self) {
        let Some(((at, _), event)) = self.queue.pop_first() else {
            let states: Vec<_> = self
                .nodes
                .iter()
                .map(|n| {
                    n.machine
                        .as_ref()
                        .map(|m| (m.height(), m.round(), m.step()))
                })
                .collect();
            panic!("LIVENESS: nothing left to do; nodes at {states:?}");
        };
        self.clock.set(at);
        match event {
            Event::Deliver { to, message } => {
                let node = &mut self.nodes[to];
                let Some(machine) = node.machine.as_mut() else {
                    return;
                };
                let mut sync = None;
                let mut relay = None;
                let gossip = self.scenario.gossip
                    && self.scenario.byzantine != Some(to)
                    && !matches!(*message, ConsensusMessage::Decision(_));
                let out = match machine.handle_message((*message).clone(), &mut node.host) {
                    Ok(out) => {
                        if gossip && node.relayed.insert(Hash::keccak(&codec::encode(&*message))) {
                            relay = Some(*message);
                        }
                        out
                    }
                    Err(error) => {
                        self.rejected += 1;
                        // Peers are ahead: fetch the next block with its commit, as the node's
                        // block sync would.
                        let want = machine.tip().height + 1;
                        if matches!(error, ConsensusError::FutureHeight { .. })
                            && self.synced.insert((to, want))
                        {
                            sync = self.committed.get(&want).cloned();
                        }
                        machine.take_outputs()
                    }
                };
                self.apply(to, out);
                if let Some(decision) = sync {
                    self.send(to, ConsensusMessage::Decision(Box::new(decision)));
                }
                if let Some(message) = relay {
                    for peer in (0..self.nodes.len()).filter(|p| *p != to) {
                        self.send(peer, message.clone());
                    }
                }
            }
            Event::Timer {
                node: i,
                life,
                timeout,
            } => {
                let node = &mut self.nodes[i];
                let Some(machine) = node.machine.as_mut().filter(|_| node.life == life) else {
                    return;
                };
                let out = machine
                    .handle_timeout(timeout, &mut node.host)
                    .expect("timeout; qed");
                self.apply(i, out);
            }
            Event::Resend(i) => {
                let resend = self.nodes[i]
                    .machine
                    .as_ref()
                    .map(|m| m.rebroadcast())
                    .unwrap_or_default();
                self.apply(i, resend);
                self.push(at + RESEND_MS, Event::Resend(i));
            }
            Event::Crash(i) => self.nodes[i].machine = None,
            Event::Restart(i) => {
                let node = &mut self.nodes[i];
                node.life += 1;
                let machine = crate::consensus::Consensus::new(
                    self.config.clone(),
                    self.keys[i].clone(),
                    node.host.tip.clone(),
                    node.store.clone(),
                    self.clock.clone(),
                )
                .expect("restart from the safety store");
                node.machine = Some(machine);
                self.start(i);
            }
        }
    }

    /// Nodes that must keep committing: up the whole run and honest.
    fn steady(&self) -> Vec<usize> {
        let s = self.scenario;
        (0..self.nodes.len())
            .filter(|i| s.crashed != Some(*i) && s.restarts != Some(*i) && s.byzantine != Some(*i))
            .collect()
    }

    fn run(&mut self) {
        let steady = self.steady();
        for _ in 0..MAX_EVENTS {
            if steady
                .iter()
                .all(|i| self.nodes[*i].decided.contains_key(&TARGET_HEIGHT))
            {
                return;
            }
            self.step();
        }
        let states: Vec<_> = self
            .nodes
            .iter()
            .map(|n| {
                n.machine
                    .as_ref()
                    .map(|m| (m.height(), m.round(), m.step()))
            })
            .collect();
        panic!(
            "LIVENESS: stuck after {MAX_EVENTS} events at {} ms: {states:?}",
            self.clock.now_ms() - GENESIS_MS
        );
    }

    /// Every honest authority's signing record: no authority but the Byzantine one equivocated.
    fn check_evidence(&self) {
        for (_, evidence) in &self.evidence {
            let offender = self.config.authorities.index_of(&evidence.offender());
            assert_eq!(
                offender, self.scenario.byzantine,
                "honest node equivocated: {evidence:?}"
            );
        }
    }
}

/// Runs `seeds` seeds of `scenario`; returns (evidence items, heights committed after round 0).
fn run_seeds(scenario: Scenario, seeds: std::ops::Range<u64>) -> (usize, usize) {
    let (mut evidence, mut late_rounds) = (0, 0);
    for seed in seeds {
        let mut sim = Sim::new(seed, scenario);
        sim.run();
        sim.check_evidence();
        evidence += sim.evidence.len();
        late_rounds += sim
            .committed
            .values()
            .filter(|d| d.commit.round > 0)
            .count();
    }
    (evidence, late_rounds)
}

#[test]
fn commits_with_loss_and_reordering() {
    let scenario = Scenario {
        drop: 0.25,
        slow: 0.05,
        ..Scenario::default()
    };
    let (evidence, _) = run_seeds(scenario, 0..16);
    assert_eq!(evidence, 0);
}

#[test]
fn commits_with_a_silent_proposer() {
    let scenario = Scenario {
        drop: 0.1,
        slow: 0.05,
        crashed: Some(3),
        ..Scenario::default()
    };
    let (_, late_rounds) = run_seeds(scenario, 100..112);
    assert!(late_rounds > 0, "node 3's rounds must have timed out");
}

#[test]
fn commits_across_a_crash_and_restart() {
    let scenario = Scenario {
        drop: 0.1,
        slow: 0.05,
        restarts: Some(1),
        ..Scenario::default()
    };
    let (evidence, _) = run_seeds(scenario, 200..216);
    assert_eq!(evidence, 0, "a restarted node must not equivocate");
}

#[test]
fn stays_safe_and_live_with_an_equivocating_authority() {
    let scenario = Scenario {
        drop: 0.1,
        slow: 0.1,
        byzantine: Some(2),
        gossip: true,
        ..Scenario::default()
    };
    let (evidence, _) = run_seeds(scenario, 300..320);
    assert!(evidence > 0, "honest nodes must catch the equivocation");
}
