//! Focused tests of single upon-rules of Algorithm 1 on node 0 of 4. Proposers at height 1:
//! round 0 authority 1, round 1 authority 2, round 2 authority 3.

use super::harness::*;
use crate::consensus::{
    ConsensusMessage, Decision, ManualClock, MemorySafetyStore, Output, Proposal, Step,
};
use crate::primitives::Hash;
use crate::vote::VoteKind;

const NOW: u64 = GENESIS_MS + 5_000;

fn feed(m: &mut TestMachine, host: &mut TestHost, message: ConsensusMessage) -> Vec<Output> {
    m.handle_message(message, host).expect("accepted")
}

fn prevote(k: &crate::crypto::SecretKey, round: u32, block: Option<Hash>) -> ConsensusMessage {
    ConsensusMessage::Vote(vote(k, VoteKind::Prevote, 1, round, block))
}

/// Lines 36 then 28: locked on X in round 0, node 0 prevotes a re-proposal of Y from round 1
/// (valid round 1 ≥ its locked round 0, with a polka for Y in round 1).
#[test]
fn reproposal_with_a_later_polka_unlocks() {
    let keys = keys(4);
    let (mut m, mut host) = machine(
        &keys,
        0,
        genesis(),
        MemorySafetyStore::new(),
        ManualClock::new(NOW),
    );
    m.start_height(&mut host).unwrap();
    let x = proposal(&genesis(), 0, &keys[1], NOW);
    let xh = x.proposal.block.hash();
    feed(&mut m, &mut host, ConsensusMessage::Proposal(Box::new(x)));
    feed(&mut m, &mut host, prevote(&keys[1], 0, Some(xh)));
    let out = feed(&mut m, &mut host, prevote(&keys[2], 0, Some(xh)));
    assert_eq!(sent_votes(&out)[0].vote.kind, VoteKind::Precommit);
    assert_eq!(m.locked().map(|l| (l.round, l.block_hash)), Some((0, xh)));

    // A polka for Y in round 1, which node 0 missed the proposal of; f + 1 senders take it there.
    let y = block_on(
        &genesis(),
        1,
        keys[2].address(),
        &keys[2],
        NOW + 1,
        vec![transfer(0)],
    );
    let yh = y.hash();
    for k in &keys[1..] {
        feed(&mut m, &mut host, prevote(k, 1, Some(yh)));
    }
    assert_eq!((m.round(), m.step()), (1, Step::Propose));

    // Round 2: authority 3 re-proposes Y with valid round 1.
    let reproposal = Proposal {
        height: 1,
        round: 2,
        block: y,
        valid_round: Some(1),
    }
    .sign(&keys[3], CHAIN);
    assert!(
        sent_votes(&feed(
            &mut m,
            &mut host,
            ConsensusMessage::Proposal(Box::new(reproposal))
        ))
        .is_empty()
    );
    let out = feed(&mut m, &mut host, prevote(&keys[1], 2, Some(yh)));
    assert_eq!(m.round(), 2);
    let votes = sent_votes(&out);
    assert_eq!(
        (votes[0].vote.kind, votes[0].vote.round, votes[0].vote.block),
        (VoteKind::Prevote, 2, Some(yh))
    );
}

/// Line 28's lock check: a re-proposal whose valid round is below the lock gets a nil prevote.
#[test]
fn reproposal_from_before_the_lock_is_refused() {
    let keys = keys(4);
    let (mut m, mut host) = machine(
        &keys,
        0,
        genesis(),
        MemorySafetyStore::new(),
        ManualClock::new(NOW),
    );
    m.start_height(&mut host).unwrap();
    // Polka for W in round 0 (node 0 only prevotes nil: it never saw W's proposal).
    let w = block_on(&genesis(), 0, keys[1].address(), &keys[1], NOW, vec![]);
    let wh = w.hash();
    for k in &keys[1..] {
        feed(&mut m, &mut host, prevote(k, 0, Some(wh)));
    }
    // Authority 2's proposal for round 1 and authority 1's nil prevote there (f + 1 senders)
    // take node 0 to round 1, where it prevotes X and then locks on it.
    let x = proposal(&genesis(), 1, &keys[2], NOW + 2);
    let xh = x.proposal.block.hash();
    feed(&mut m, &mut host, ConsensusMessage::Proposal(Box::new(x)));
    feed(&mut m, &mut host, prevote(&keys[1], 1, None));
    assert_eq!((m.round(), m.step()), (1, Step::Prevote));
    for k in &keys[2..] {
        feed(&mut m, &mut host, prevote(k, 1, Some(xh)));
    }
    // Node 0 prevoted X, and with X's polka (authorities 2, 3 and itself) locked on it.
    assert_eq!(m.locked().map(|l| (l.round, l.block_hash)), Some((1, xh)));
    // Round 2: authority 3 re-proposes W with valid round 0 < locked round 1.
    for k in &keys[1..3] {
        feed(&mut m, &mut host, prevote(k, 2, None));
    }
    assert_eq!(m.round(), 2);
    let again = Proposal {
        height: 1,
        round: 2,
        block: w,
        valid_round: Some(0),
    }
    .sign(&keys[3], CHAIN);
    let votes = sent_votes(&feed(
        &mut m,
        &mut host,
        ConsensusMessage::Proposal(Box::new(again)),
    ));
    assert_eq!((votes[0].vote.round, votes[0].vote.block), (2, None));
}

/// Lines 49 and 55 from a lagging peer's side: after deciding, a peer still voting in a later
/// round of that height is sent the decision, once.
#[test]
fn lagging_peer_is_sent_the_decision_once() {
    let keys = keys(4);
    let cfg = config(&keys);
    let (mut m, mut host) = machine(
        &keys,
        0,
        genesis(),
        MemorySafetyStore::new(),
        ManualClock::new(NOW),
    );
    m.start_height(&mut host).unwrap();
    let x = proposal(&genesis(), 0, &keys[1], NOW);
    let xh = x.proposal.block.hash();
    feed(
        &mut m,
        &mut host,
        ConsensusMessage::Proposal(Box::new(x.clone())),
    );
    let mut decided = None;
    for k in &keys[1..] {
        let out = feed(
            &mut m,
            &mut host,
            ConsensusMessage::Vote(vote(k, VoteKind::Precommit, 1, 0, Some(xh))),
        );
        decided = decided.or(out.into_iter().find_map(|o| match o {
            Output::Decided(d) => Some(d),
            _ => None,
        }));
    }
    let decided: Decision = decided.expect("a quorum of precommits decides");
    decided
        .commit
        .verify(CHAIN, &cfg.authorities, 1, xh)
        .unwrap();
    // A late precommit of the deciding round is just old news.
    let late = ConsensusMessage::Vote(vote(&keys[3], VoteKind::Precommit, 1, 0, None));
    assert!(m.handle_message(late, &mut host).is_err());
    // Authority 3 is still at round 1: it gets the decision, once.
    let out = feed(&mut m, &mut host, prevote(&keys[3], 1, None));
    assert_eq!(
        out,
        vec![Output::SendTo {
            to: keys[3].address(),
            message: ConsensusMessage::Decision(Box::new(decided))
        }]
    );
    assert!(
        m.handle_message(prevote(&keys[3], 2, None), &mut host)
            .is_err()
    );
}
