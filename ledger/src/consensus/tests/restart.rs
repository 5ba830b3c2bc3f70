//! Restarting an authority from its safety store never makes it sign conflicting messages.

use super::harness::*;
use crate::consensus::{ConsensusMessage, ManualClock, MemorySafetyStore, Step, TimeoutKind};
use crate::vote::VoteKind;

const NOW: u64 = GENESIS_MS + 5_000;

/// Node 0 prevotes block X at (1, 0), restarts, then sees a conflicting proposal Y at (1, 0) and
/// its propose timeout: it only ever repeats its prevote for X.
#[test]
fn restarted_node_does_not_prevote_twice() {
    let keys = keys(4);
    let store = MemorySafetyStore::new();
    let clock = ManualClock::new(NOW);
    let (mut m, mut host) = machine(&keys, 0, genesis(), store.clone(), clock.clone());
    let start = m.start_height(&mut host).unwrap();
    let x = proposal(&genesis(), 0, &keys[1], NOW);
    let out = m
        .handle_message(ConsensusMessage::Proposal(Box::new(x.clone())), &mut host)
        .unwrap();
    let first = sent_votes(&out);
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].vote.block, Some(x.proposal.block.hash()));
    drop(m);

    let (mut m, mut host) = machine(&keys, 0, genesis(), store.clone(), clock.clone());
    let mut signed = sent_votes(&m.start_height(&mut host).unwrap());
    assert_eq!(m.step(), Step::Prevote);
    let y = proposal(&genesis(), 0, &keys[1], NOW + 1);
    signed.extend(sent_votes(
        &m.handle_message(ConsensusMessage::Proposal(Box::new(y)), &mut host)
            .unwrap(),
    ));
    signed.extend(sent_votes(
        &m.handle_message(ConsensusMessage::Proposal(Box::new(x)), &mut host)
            .unwrap(),
    ));
    let propose_timeout = timeouts(&start)
        .into_iter()
        .find(|t| t.kind == TimeoutKind::Propose)
        .unwrap();
    clock.set(propose_timeout.deadline_ms);
    signed.extend(sent_votes(
        &m.handle_timeout(propose_timeout, &mut host).unwrap(),
    ));
    assert!(!signed.is_empty(), "the restarted node resends its prevote");
    assert!(
        signed.iter().all(|v| *v == first[0]),
        "conflicting prevote after restart: {signed:?}"
    );
    assert_eq!(
        m.evidence().len(),
        1,
        "X and Y are evidence against authority 1"
    );
}

/// Node 0 locks on X in round 0, restarts, and in round 1 is offered a fresh block Y: it keeps
/// its lock and prevotes nil.
#[test]
fn restarted_node_keeps_its_lock() {
    let keys = keys(4);
    let store = MemorySafetyStore::new();
    let clock = ManualClock::new(NOW);
    let (mut m, mut host) = machine(&keys, 0, genesis(), store.clone(), clock.clone());
    m.start_height(&mut host).unwrap();
    let x = proposal(&genesis(), 0, &keys[1], NOW);
    let xh = x.proposal.block.hash();
    m.handle_message(ConsensusMessage::Proposal(Box::new(x)), &mut host)
        .unwrap();
    let mut precommits = Vec::new();
    for k in &keys[1..3] {
        let out = m
            .handle_message(
                ConsensusMessage::Vote(vote(k, VoteKind::Prevote, 1, 0, Some(xh))),
                &mut host,
            )
            .unwrap();
        precommits.extend(sent_votes(&out));
    }
    assert_eq!(precommits.len(), 1);
    assert_eq!(precommits[0].vote.kind, VoteKind::Precommit);
    assert_eq!(m.locked().map(|l| (l.round, l.block_hash)), Some((0, xh)));
    drop(m);

    let (mut m, mut host) = machine(&keys, 0, genesis(), store, clock);
    let resent = sent_votes(&m.start_height(&mut host).unwrap());
    assert!(resent.contains(&precommits[0]));
    assert_eq!(m.locked().map(|l| (l.round, l.block_hash)), Some((0, xh)));
    // Authorities 2 and 3 move to round 1 (f + 1 = 2 messages): node 0 follows.
    for k in &keys[2..] {
        m.handle_message(
            ConsensusMessage::Vote(vote(k, VoteKind::Prevote, 1, 1, None)),
            &mut host,
        )
        .unwrap();
    }
    assert_eq!((m.round(), m.step()), (1, Step::Propose));
    // The proposer of (1, 1) is authority 2; it proposes a fresh Y.
    let y = proposal(&genesis(), 1, &keys[2], NOW + 10);
    let out = m
        .handle_message(ConsensusMessage::Proposal(Box::new(y)), &mut host)
        .unwrap();
    // It prevotes nil (locked on X); with the two nil prevotes already in, it then precommits nil.
    let votes: Vec<_> = sent_votes(&out)
        .iter()
        .map(|v| (v.vote.kind, v.vote.round, v.vote.block))
        .collect();
    assert_eq!(
        votes,
        vec![(VoteKind::Prevote, 1, None), (VoteKind::Precommit, 1, None)]
    );
    assert_eq!(m.locked().map(|l| (l.round, l.block_hash)), Some((0, xh)));
}

/// A single authority that crashed after prevoting (its block lost with it) recovers: its own
/// prevote counts again, the prevote and precommit timeouts move it to round 1, where it decides.
#[test]
fn single_authority_recovers_after_a_restart_mid_round() {
    use crate::consensus::{PersistedState, SafetyStore, Timeout};
    let keys = keys(1);
    let mut store = MemorySafetyStore::new();
    let lost = crate::primitives::Hash::keccak(b"block lost in the crash");
    let mut state = PersistedState::new(1);
    state.step = Step::Prevote;
    state.prevote = Some(vote(&keys[0], VoteKind::Prevote, 1, 0, Some(lost)));
    store.save(&state).unwrap();
    let clock = ManualClock::new(NOW);
    let (mut m, mut host) = machine(&keys, 0, genesis(), store, clock.clone());
    let start = m.start_height(&mut host).unwrap();
    let mut pending: Vec<Timeout> = timeouts(&start);
    let mut signed = sent_votes(&start);
    for _ in 0..4 {
        let t = pending.remove(0);
        clock.set(t.deadline_ms);
        let out = m.handle_timeout(t, &mut host).unwrap();
        signed.extend(sent_votes(&out));
        pending.extend(timeouts(&out));
        if let Some(crate::consensus::Output::Decided(d)) = out.last() {
            assert_eq!((d.block.header.number, d.commit.round), (1, 1));
            let persisted = state.prevote.expect("set above; qed");
            assert!(
                signed
                    .iter()
                    .filter(|v| v.vote.round == 0 && v.vote.kind == VoteKind::Prevote)
                    .all(|v| *v == persisted),
                "a second prevote in round 0: {signed:?}"
            );
            return;
        }
    }
    panic!("no decision after the restart");
}
