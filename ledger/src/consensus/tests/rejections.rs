//! One test per typed rejection, and the single-authority chain. Node 0 of 4 is the machine
//! under test; the proposer of (1, 0) is authority 1.

use super::harness::*;
use crate::consensus::{
    ConsensusError, ConsensusMessage, Decision, Evidence, ManualClock, MemorySafetyStore, Output,
    Proposal, SafetyStore, Step, TimeoutKind,
};
use crate::crypto::{SecretKey, Signature, SignatureError};
use crate::vote::{VoteError, VoteKind};

const NOW: u64 = GENESIS_MS + 5_000;

fn node0() -> (Vec<SecretKey>, TestMachine, TestHost) {
    let keys = keys(4);
    let (mut m, mut host) = machine(
        &keys,
        0,
        genesis(),
        MemorySafetyStore::new(),
        ManualClock::new(NOW),
    );
    m.start_height(&mut host).unwrap();
    (keys, m, host)
}

/// Feeds `message`, expects the error `check` accepts, and checks nothing changed.
fn rejects(
    m: &mut TestMachine,
    host: &mut TestHost,
    message: ConsensusMessage,
    check: impl Fn(&ConsensusError) -> bool,
) {
    let before = (m.height(), m.round(), m.step(), m.locked(), m.store().get());
    let err = m
        .handle_message(message, host)
        .expect_err("input must be rejected");
    assert!(check(&err), "unexpected error: {err}");
    assert!(
        m.take_outputs().is_empty(),
        "rejected input produced output"
    );
    assert_eq!(
        before,
        (m.height(), m.round(), m.step(), m.locked(), m.store().get())
    );
    // Still in step propose: the timeout makes it prevote nil, not the rejected proposal.
    assert_eq!(m.step(), Step::Propose);
}

#[test]
fn proposal_from_wrong_proposer() {
    let (keys, mut m, mut host) = node0();
    let p = proposal(&genesis(), 0, &keys[2], NOW);
    rejects(
        &mut m,
        &mut host,
        ConsensusMessage::Proposal(Box::new(p)),
        |e| {
            matches!(e, ConsensusError::WrongProposer { expected, got, .. }
            if *expected == keys[1].address() && *got == keys[2].address())
        },
    );
}

#[test]
fn proposal_with_forged_signature() {
    let (keys, mut m, mut host) = node0();
    let mut p = proposal(&genesis(), 0, &keys[2], NOW);
    p.proposer = keys[1].address();
    rejects(
        &mut m,
        &mut host,
        ConsensusMessage::Proposal(Box::new(p)),
        |e| {
            matches!(
                e,
                ConsensusError::ProposalSignature {
                    source: SignatureError::WrongSigner { .. },
                    ..
                }
            )
        },
    );
}

#[test]
fn proposal_with_valid_round_not_below_round() {
    let (keys, mut m, mut host) = node0();
    let mut p = proposal(&genesis(), 0, &keys[1], NOW).proposal;
    p.valid_round = Some(0);
    let p = p.sign(&keys[1], CHAIN);
    rejects(
        &mut m,
        &mut host,
        ConsensusMessage::Proposal(Box::new(p)),
        |e| {
            matches!(
                e,
                ConsensusError::ValidRoundNotBelowRound {
                    round: 0,
                    valid_round: 0
                }
            )
        },
    );
}

#[test]
fn proposal_with_block_of_wrong_height() {
    let (keys, mut m, mut host) = node0();
    let mut tip = genesis();
    tip.height = 1; // block at height 2
    let block = block_on(&tip, 0, keys[1].address(), &keys[1], NOW, vec![]);
    let p = Proposal {
        height: 1,
        round: 0,
        block,
        valid_round: None,
    }
    .sign(&keys[1], CHAIN);
    rejects(
        &mut m,
        &mut host,
        ConsensusMessage::Proposal(Box::new(p)),
        |e| {
            matches!(
                e,
                ConsensusError::BlockHeight {
                    height: 1,
                    block_height: 2
                }
            )
        },
    );
}

#[test]
fn proposal_with_bad_seal() {
    let (keys, mut m, mut host) = node0();
    let block = block_on(
        &genesis(),
        0,
        keys[1].address(),
        &keys[3],
        NOW,
        vec![transfer(0)],
    );
    let p = Proposal {
        height: 1,
        round: 0,
        block,
        valid_round: None,
    }
    .sign(&keys[1], CHAIN);
    rejects(
        &mut m,
        &mut host,
        ConsensusMessage::Proposal(Box::new(p)),
        |e| matches!(e, ConsensusError::BlockSeal { .. }),
    );
}

#[test]
fn proposal_with_block_from_another_round_or_builder() {
    let (keys, mut m, mut host) = node0();
    // A fresh proposal must carry a block built in its own round.
    let block = block_on(&genesis(), 1, keys[2].address(), &keys[2], NOW, vec![]);
    let p = Proposal {
        height: 1,
        round: 0,
        block,
        valid_round: None,
    }
    .sign(&keys[1], CHAIN);
    rejects(
        &mut m,
        &mut host,
        ConsensusMessage::Proposal(Box::new(p)),
        |e| {
            matches!(
                e,
                ConsensusError::BlockRound {
                    block_round: 1,
                    round: 0,
                    ..
                }
            )
        },
    );
    // The block must be built by the proposer of the round it names.
    let block = block_on(&genesis(), 0, keys[3].address(), &keys[3], NOW, vec![]);
    let p = Proposal {
        height: 1,
        round: 0,
        block,
        valid_round: None,
    }
    .sign(&keys[1], CHAIN);
    rejects(
        &mut m,
        &mut host,
        ConsensusMessage::Proposal(Box::new(p)),
        |e| {
            matches!(e, ConsensusError::BlockProposer { expected, got, .. }
            if *expected == keys[1].address() && *got == keys[3].address())
        },
    );
}

#[test]
fn proposal_on_wrong_parent_or_with_bad_last_commit() {
    let (keys, mut m, mut host) = node0();
    let mut other = genesis();
    other.hash = crate::primitives::Hash::keccak(b"other genesis");
    let p = proposal(&other, 0, &keys[1], NOW);
    rejects(
        &mut m,
        &mut host,
        ConsensusMessage::Proposal(Box::new(p)),
        |e| matches!(e, ConsensusError::WrongParent { .. }),
    );
    // Height 1 must not carry a last commit.
    let mut with_commit = genesis();
    let cfg = config(&keys);
    with_commit.commit = Some(commit(&keys[..3], &cfg, 0, 0, with_commit.hash));
    let p = proposal(&with_commit, 0, &keys[1], NOW);
    rejects(
        &mut m,
        &mut host,
        ConsensusMessage::Proposal(Box::new(p)),
        |e| {
            matches!(
                e,
                ConsensusError::LastCommitPresence {
                    height: 1,
                    present: true
                }
            )
        },
    );

    // At height 2, the last commit must be a quorum for block 1.
    let b1 = block_on(&genesis(), 0, keys[1].address(), &keys[1], NOW, vec![]);
    let tip1 = crate::consensus::ChainTip {
        height: 1,
        hash: b1.hash(),
        timestamp_ms: NOW,
        commit: Some(commit(&keys[..3], &cfg, 1, 0, b1.hash())),
    };
    let (mut m2, mut host2) = machine(
        &keys,
        0,
        tip1.clone(),
        MemorySafetyStore::new(),
        ManualClock::new(NOW + 2_000),
    );
    m2.start_height(&mut host2).unwrap();
    let proposer = &keys[2]; // proposer(2, 0)
    let mut short = tip1.clone();
    short.commit = Some(commit(&keys[..2], &cfg, 1, 0, b1.hash()));
    let p = proposal(&short, 0, proposer, NOW + 1_000);
    rejects(
        &mut m2,
        &mut host2,
        ConsensusMessage::Proposal(Box::new(p)),
        |e| {
            matches!(
                e,
                ConsensusError::BadCommit {
                    height: 1,
                    source: VoteError::NoQuorum { got: 2, needed: 3 }
                }
            )
        },
    );
    let mut none = tip1.clone();
    none.commit = None;
    let p = proposal(&none, 0, proposer, NOW + 1_000);
    rejects(
        &mut m2,
        &mut host2,
        ConsensusMessage::Proposal(Box::new(p)),
        |e| {
            matches!(
                e,
                ConsensusError::LastCommitPresence {
                    height: 2,
                    present: false
                }
            )
        },
    );
    // The good one is accepted and prevoted.
    let p = proposal(&tip1, 0, proposer, NOW + 1_000);
    let hash = p.proposal.block.hash();
    let out = m2
        .handle_message(ConsensusMessage::Proposal(Box::new(p)), &mut host2)
        .unwrap();
    assert_eq!(sent_votes(&out)[0].vote.block, Some(hash));
}

#[test]
fn votes_from_outsiders_or_with_bad_signatures() {
    let (keys, mut m, mut host) = node0();
    let outsider = SecretKey::from_seed("outsider");
    let v = vote(&outsider, VoteKind::Prevote, 1, 0, None);
    rejects(
        &mut m,
        &mut host,
        ConsensusMessage::Vote(v),
        |e| matches!(e, ConsensusError::VoteNotAuthority(a) if *a == outsider.address()),
    );
    let mut v = vote(&keys[2], VoteKind::Prevote, 1, 0, None);
    v.voter = keys[3].address();
    rejects(&mut m, &mut host, ConsensusMessage::Vote(v), |e| {
        matches!(
            e,
            ConsensusError::VoteSignature {
                source: SignatureError::WrongSigner { .. },
                ..
            }
        )
    });
    let mut v = vote(&keys[2], VoteKind::Prevote, 1, 0, None);
    v.signature = Signature([0xff; 65]);
    rejects(&mut m, &mut host, ConsensusMessage::Vote(v), |e| {
        matches!(e, ConsensusError::VoteSignature { .. })
    });
}

#[test]
fn votes_for_other_heights_and_far_rounds() {
    let (keys, mut m, mut host) = node0();
    let v = vote(&keys[2], VoteKind::Prevote, 0, 0, None);
    rejects(&mut m, &mut host, ConsensusMessage::Vote(v), |e| {
        matches!(
            e,
            ConsensusError::PastHeight {
                height: 0,
                current: 1
            }
        )
    });
    let v = vote(&keys[2], VoteKind::Prevote, 3, 0, None);
    rejects(&mut m, &mut host, ConsensusMessage::Vote(v), |e| {
        matches!(
            e,
            ConsensusError::FutureHeight {
                height: 3,
                current: 1
            }
        )
    });
    let v = vote(&keys[2], VoteKind::Prevote, 1, 17, None);
    rejects(&mut m, &mut host, ConsensusMessage::Vote(v), |e| {
        matches!(
            e,
            ConsensusError::RoundTooFar {
                round: 17,
                current: 0,
                max_ahead: 16
            }
        )
    });
    // The next height is buffered, up to a bound per sender.
    for round in 0..64 {
        let v = vote(&keys[2], VoteKind::Prevote, 2, round, None);
        assert!(
            m.handle_message(ConsensusMessage::Vote(v), &mut host)
                .unwrap()
                .is_empty()
        );
    }
    let v = vote(&keys[2], VoteKind::Prevote, 2, 64, None);
    rejects(&mut m, &mut host, ConsensusMessage::Vote(v), |e| {
        matches!(
            e,
            ConsensusError::BufferFull {
                limit: 64,
                height: 2,
                ..
            }
        )
    });
}

#[test]
fn catch_up_decisions_need_a_quorum_for_their_block() {
    let (keys, mut m, mut host) = node0();
    let cfg = config(&keys);
    let block = block_on(&genesis(), 0, keys[1].address(), &keys[1], NOW, vec![]);
    let short = Decision {
        block: block.clone(),
        commit: commit(&keys[..2], &cfg, 1, 0, block.hash()),
    };
    rejects(
        &mut m,
        &mut host,
        ConsensusMessage::Decision(Box::new(short)),
        |e| {
            matches!(
                e,
                ConsensusError::BadCommit {
                    source: VoteError::NoQuorum { got: 2, needed: 3 },
                    ..
                }
            )
        },
    );
    let other = crate::primitives::Hash::keccak(b"other");
    let mismatch = Decision {
        block: block.clone(),
        commit: commit(&keys[..3], &cfg, 1, 0, other),
    };
    rejects(
        &mut m,
        &mut host,
        ConsensusMessage::Decision(Box::new(mismatch)),
        |e| matches!(e, ConsensusError::DecisionMismatch { .. }),
    );
    let good = Decision {
        block: block.clone(),
        commit: commit(&keys[1..], &cfg, 1, 0, block.hash()),
    };
    let out = m
        .handle_message(
            ConsensusMessage::Decision(Box::new(good.clone())),
            &mut host,
        )
        .unwrap();
    assert_eq!(out, vec![Output::Decided(good)]);
}

#[test]
fn machine_refuses_non_authority_and_store_ahead() {
    let keys = keys(4);
    let outsider = SecretKey::from_seed("outsider");
    let err = crate::consensus::Consensus::new(
        config(&keys),
        outsider.clone(),
        genesis(),
        MemorySafetyStore::new(),
        ManualClock::new(NOW),
    )
    .unwrap_err();
    assert!(matches!(err, ConsensusError::NotAuthority(a) if a == outsider.address()));
    let mut store = MemorySafetyStore::new();
    store
        .save(&crate::consensus::PersistedState::new(5))
        .unwrap();
    let err = crate::consensus::Consensus::new(
        config(&keys),
        keys[0].clone(),
        genesis(),
        store,
        ManualClock::new(NOW),
    )
    .unwrap_err();
    assert!(matches!(
        err,
        ConsensusError::StoreAhead { stored: 5, tip: 0 }
    ));
}

#[test]
fn equivocating_votes_and_proposals_become_evidence() {
    let (keys, mut m, mut host) = node0();
    let x = Some(crate::primitives::Hash::keccak(b"x"));
    m.handle_message(
        ConsensusMessage::Vote(vote(&keys[2], VoteKind::Prevote, 1, 0, x)),
        &mut host,
    )
    .unwrap();
    let out = m
        .handle_message(
            ConsensusMessage::Vote(vote(&keys[2], VoteKind::Prevote, 1, 0, None)),
            &mut host,
        )
        .unwrap();
    let [Output::Evidence(Evidence::ConflictingVotes { first, second })] = out.as_slice() else {
        panic!("expected vote evidence, got {out:?}");
    };
    assert_eq!((first.vote.block, second.vote.block), (x, None));

    let a = proposal(&genesis(), 0, &keys[1], NOW);
    let b = proposal(&genesis(), 0, &keys[1], NOW + 1);
    m.handle_message(ConsensusMessage::Proposal(Box::new(a)), &mut host)
        .unwrap();
    let out = m
        .handle_message(ConsensusMessage::Proposal(Box::new(b)), &mut host)
        .unwrap();
    assert!(
        matches!(out.as_slice(), [Output::Evidence(e @ Evidence::ConflictingProposals { .. })]
        if e.offender() == keys[1].address() && e.is_valid(CHAIN))
    );
    assert_eq!(m.evidence().len(), 2);
}

#[test]
fn single_authority_commits_alone() {
    let keys = keys(1);
    let clock = ManualClock::new(GENESIS_MS);
    let (mut m, mut host) = machine(&keys, 0, genesis(), MemorySafetyStore::new(), clock.clone());
    let mut out = m.start_height(&mut host).unwrap();
    for height in 1..=5u64 {
        let [t] = timeouts(&out)[..] else {
            panic!("expected one timeout, got {out:?}")
        };
        assert_eq!(t.kind, TimeoutKind::ProposeDelay);
        assert_eq!(
            t.deadline_ms,
            host.tip.timestamp_ms + 1_000,
            "waits for the block time"
        );
        clock.set(t.deadline_ms);
        let outputs = m.handle_timeout(t, &mut host).unwrap();
        let Some(Output::Decided(d)) = outputs.last() else {
            panic!("no decision: {outputs:?}")
        };
        assert_eq!(d.block.header.number, height);
        d.commit
            .verify(CHAIN, &config(&keys).authorities, height, d.block.hash())
            .unwrap();
        host.apply(d);
        out = m.start_height(&mut host).unwrap();
    }
}

#[test]
fn failed_save_sends_nothing_and_is_retried() {
    #[derive(Debug, Clone, Default)]
    struct Flaky {
        inner: MemorySafetyStore,
        fail: std::sync::Arc<std::sync::atomic::AtomicBool>,
    }
    #[derive(Debug, thiserror::Error)]
    #[error("disk full")]
    struct DiskFull;
    impl SafetyStore for Flaky {
        type Error = DiskFull;
        fn load(&self) -> Result<Option<crate::consensus::PersistedState>, DiskFull> {
            Ok(self.inner.get())
        }
        fn save(&mut self, state: &crate::consensus::PersistedState) -> Result<(), DiskFull> {
            if self.fail.load(std::sync::atomic::Ordering::SeqCst) {
                return Err(DiskFull);
            }
            self.inner.save(state).map_err(|e| match e {})
        }
    }
    let keys = keys(4);
    let store = Flaky::default();
    let clock = ManualClock::new(NOW);
    let mut m = crate::consensus::Consensus::new(
        config(&keys),
        keys[0].clone(),
        genesis(),
        store.clone(),
        clock,
    )
    .unwrap();
    let mut host = TestHost::new(keys[0].address(), genesis());
    m.start_height(&mut host).unwrap();
    store.fail.store(true, std::sync::atomic::Ordering::SeqCst);
    let p = proposal(&genesis(), 0, &keys[1], NOW);
    let err = m
        .handle_message(ConsensusMessage::Proposal(Box::new(p.clone())), &mut host)
        .unwrap_err();
    assert!(matches!(err, ConsensusError::Store(_)), "{err}");
    assert!(
        m.take_outputs().is_empty(),
        "nothing may be sent when the save failed"
    );
    assert_eq!(m.step(), Step::Propose);
    store.fail.store(false, std::sync::atomic::Ordering::SeqCst);
    // The next input re-runs the rules: the prevote is signed, saved, then sent.
    let out = m
        .handle_message(ConsensusMessage::Proposal(Box::new(p.clone())), &mut host)
        .unwrap();
    assert_eq!(
        sent_votes(&out)[0].vote.block,
        Some(p.proposal.block.hash())
    );
    assert_eq!(
        store.inner.get().unwrap().prevote,
        Some(sent_votes(&out)[0])
    );
}
