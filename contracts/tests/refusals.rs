//! Every refused call names its reason and leaves the state as it was (only the fee and nonce
//! are taken).

use joule_contracts::CallError;
use joule_contracts::sim::test_params;
use joule_ledger::{Call, Hash, SecretKey};

use crate::common::*;

/// Runs `call` from `key`, expects a refusal matching `check`, and checks that nothing but the
/// sender's fee and nonce changed.
fn refused(s: &mut Setup, key: &SecretKey, call: Call, check: impl Fn(&CallError) -> bool) {
    let before_balances = s.m.balances();
    let before_totals = s.m.totals();
    let before_changes = s.m.state.changes().clone();
    let err = s.m.try_call(key, call).expect_err("call must be refused");
    assert!(check(&err), "unexpected refusal: {err}");
    let mut after = s.m.balances();
    let sender = key.address();
    *after.get_mut(&sender).unwrap() += s.m.fee;
    *after.get_mut(&s.m.proposer).unwrap() -= s.m.fee;
    assert_eq!(after, before_balances, "balances moved on {err}");
    assert_eq!(s.m.totals(), before_totals);
    // Only the sender's and proposer's accounts may differ.
    let account_keys = [sender, s.m.proposer]
        .map(|a| joule_ledger::codec::encode(&joule_ledger::StateKey::Account(a)));
    for (key, value) in s.m.state.changes() {
        if account_keys.contains(key) {
            continue;
        }
        assert_eq!(
            before_changes.get(key),
            Some(value),
            "state changed on {err}"
        );
    }
    for key in before_changes.keys() {
        assert!(s.m.state.changes().contains_key(key));
    }
}

#[test]
fn bad_matches_are_refused_with_their_reason() {
    let mut s = setup();
    let p = s.k.providers[0].clone();
    let r = s.k.requester.clone();
    let offer = s.m.offer(&p, PRICE, 4);
    let bid = s.m.bid(&r, s.module, INPUT, FUEL, PRICE + 1, 1, 0);
    let p1 = s.k.providers[1].clone();

    // Sent by someone else than the offer's provider.
    refused(
        &mut s,
        &p1,
        Call::Match {
            bid: Box::new(bid.clone()),
            offer: Box::new(offer.clone()),
        },
        |e| matches!(e, CallError::NotOfferProvider { .. }),
    );
    // A bid signed by someone other than its requester.
    let mut forged = bid.clone();
    forged.signature = s.k.watcher.sign_payload(
        joule_ledger::Domain::Bid,
        joule_contracts::sim::SIM_CHAIN_ID,
        &joule_ledger::codec::encode(&bid.bid),
    );
    refused(
        &mut s,
        &p,
        Call::Match {
            bid: Box::new(forged),
            offer: Box::new(offer.clone()),
        },
        |e| matches!(e, CallError::BadOrder { which: "bid", .. }),
    );
    // Price below the offer.
    let cheap = s.m.bid(&r, s.module, INPUT, FUEL, PRICE - 1, 1, 1);
    refused(
        &mut s,
        &p,
        Call::Match {
            bid: Box::new(cheap),
            offer: Box::new(offer.clone()),
        },
        |e| matches!(e, CallError::PriceTooLow { .. }),
    );
    // Unknown module.
    let unknown = s.m.bid(&r, Hash::keccak(b"nope"), INPUT, FUEL, PRICE, 1, 2);
    refused(
        &mut s,
        &p,
        Call::Match {
            bid: Box::new(unknown),
            offer: Box::new(offer.clone()),
        },
        |e| matches!(e, CallError::UnknownModule(_)),
    );
    // Too many replicas.
    let greedy = s.m.bid(&r, s.module, INPUT, FUEL, PRICE, 200, 3);
    refused(
        &mut s,
        &p,
        Call::Match {
            bid: Box::new(greedy),
            offer: Box::new(offer.clone()),
        },
        |e| {
            matches!(
                e,
                CallError::BadBidField {
                    field: "replicas",
                    ..
                }
            )
        },
    );
    // Not a provider.
    let stranger = SecretKey::from_seed("stranger");
    s.m.try_call(
        &r,
        Call::Transfer {
            to: stranger.address(),
            amount: 1_000,
        },
    )
    .unwrap();
    let stranger_offer = s.m.offer(&stranger, PRICE, 1);
    refused(
        &mut s,
        &stranger,
        Call::Match {
            bid: Box::new(bid.clone()),
            offer: Box::new(stranger_offer),
        },
        |e| matches!(e, CallError::NotProvider(_)),
    );

    // The first match is accepted; replaying it, or a second provider on a one-replica job,
    // is refused.
    s.m.try_call(
        &p,
        Call::Match {
            bid: Box::new(bid.clone()),
            offer: Box::new(offer.clone()),
        },
    )
    .unwrap();
    refused(
        &mut s,
        &p,
        Call::Match {
            bid: Box::new(bid.clone()),
            offer: Box::new(offer.clone()),
        },
        |e| matches!(e, CallError::MatchClosed { .. }),
    );
    let offer1 = s.m.offer(&p1, PRICE, 4);
    refused(
        &mut s,
        &p1,
        Call::Match {
            bid: Box::new(bid.clone()),
            offer: Box::new(offer1),
        },
        |e| matches!(e, CallError::MatchClosed { .. }),
    );
    // The same provider twice on a two-replica job.
    let two = s.m.bid(&r, s.module, INPUT, FUEL, PRICE, 2, 9);
    s.m.try_call(
        &p,
        Call::Match {
            bid: Box::new(two.clone()),
            offer: Box::new(offer.clone()),
        },
    )
    .unwrap();
    refused(
        &mut s,
        &p,
        Call::Match {
            bid: Box::new(two),
            offer: Box::new(offer.clone()),
        },
        |e| matches!(e, CallError::AlreadyMatched { .. }),
    );
    // An expired bid.
    let stale = s.m.bid(&r, s.module, INPUT, FUEL, PRICE, 1, 10);
    s.m.advance(11);
    let fresh_offer = s.m.offer(&p, PRICE, 4);
    refused(
        &mut s,
        &p,
        Call::Match {
            bid: Box::new(stale),
            offer: Box::new(fresh_offer),
        },
        |e| matches!(e, CallError::Expired { which: "bid", .. }),
    );
    s.assert_conserved();
}

#[test]
fn bad_commits_reveals_and_challenges_are_refused() {
    let mut s = setup();
    let p = s.k.providers[0].clone();
    let id = s.post(1, &[0], 0);
    let w = s.k.watcher.clone();
    let honest = s.honest;
    let salt = joule_contracts::sim::Market::salt(&p, id);
    // Wrong party.
    refused(
        &mut s,
        &w,
        Call::CommitResult {
            job: id,
            commitment: Hash::ZERO,
        },
        |e| matches!(e, CallError::NotAssigned { .. }),
    );
    // Unknown job.
    refused(
        &mut s,
        &p,
        Call::CommitResult {
            job: Hash::ZERO,
            commitment: Hash::ZERO,
        },
        |e| matches!(e, CallError::UnknownJob(_)),
    );
    // Challenge before there is anything to challenge.
    refused(&mut s, &w, Call::Challenge { job: id }, |e| {
        matches!(e, CallError::WrongPhase { .. })
    });
    s.m.commit(&p, id, s.honest).unwrap();
    refused(
        &mut s,
        &p,
        Call::CommitResult {
            job: id,
            commitment: Hash::ZERO,
        },
        |e| matches!(e, CallError::Duplicate { .. }),
    );
    s.m.end_block();
    // A reveal that does not open the commitment.
    refused(
        &mut s,
        &p,
        Call::RevealResult {
            job: id,
            result: wrong(honest),
            salt,
            output: Vec::new(),
        },
        |e| matches!(e, CallError::CommitmentMismatch),
    );
    // Output bytes that do not hash to the revealed output hash.
    refused(
        &mut s,
        &p,
        Call::RevealResult {
            job: id,
            result: honest,
            salt,
            output: b"other bytes".to_vec(),
        },
        |e| matches!(e, CallError::InvalidResult(_)),
    );
    // Fuel above the limit.
    let mut over = s.honest;
    over.fuel_used = FUEL + 1;
    refused(
        &mut s,
        &p,
        Call::RevealResult {
            job: id,
            result: over,
            salt,
            output: Vec::new(),
        },
        |e| matches!(e, CallError::InvalidResult(_)),
    );
    s.m.reveal(&p, id, s.honest, Vec::new()).unwrap();
    s.m.advance(2);
    // A provider cannot challenge its own job.
    refused(&mut s, &p, Call::Challenge { job: id }, |e| {
        matches!(e, CallError::SelfChallenge(_))
    });
    // Too late to challenge.
    s.m.advance(test_params().challenge_blocks);
    refused(&mut s, &w, Call::Challenge { job: id }, |e| {
        matches!(e, CallError::WrongPhase { .. })
    });
    s.assert_conserved();
}

#[test]
fn late_commits_are_refused() {
    let mut s = setup();
    let p = s.k.providers[0].clone();
    let id = s.post(2, &[0], 0);
    // The commit deadline passes at the end of its block, and the job moves on.
    s.m.advance(test_params().commit_blocks + 1);
    refused(
        &mut s,
        &p,
        Call::CommitResult {
            job: id,
            commitment: Hash::ZERO,
        },
        |e| matches!(e, CallError::WrongPhase { .. } | CallError::Late { .. }),
    );
}

#[test]
fn staking_and_publishing_refusals() {
    let mut s = setup();
    let p = s.k.providers[0].clone();
    let r = s.k.requester.clone();
    refused(&mut s, &p, Call::RegisterProvider { stake: STAKE }, |e| {
        matches!(e, CallError::AlreadyRegistered(_))
    });
    refused(&mut s, &r, Call::RegisterProvider { stake: 1 }, |e| {
        matches!(e, CallError::StakeTooLow { .. })
    });
    refused(&mut s, &r, Call::AddStake { amount: 1 }, |e| {
        matches!(e, CallError::NotProvider(_))
    });
    s.post(1, &[0], 0);
    refused(&mut s, &p, Call::Unbond { amount: STAKE }, |e| {
        matches!(e, CallError::StakeLocked { .. })
    });
    refused(
        &mut s,
        &r,
        Call::PublishModule {
            code: code().to_vec(),
        },
        |e| matches!(e, CallError::AlreadyPublished(_)),
    );
    refused(
        &mut s,
        &r,
        Call::PublishModule {
            code: b"\0asm\x01\0\0\0garbage".to_vec(),
        },
        |e| matches!(e, CallError::InvalidModule(_)),
    );
    let wasi = wat::parse_str(
        r#"(module (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
            (memory (export "memory") 1) (func (export "run")))"#,
    )
    .unwrap();
    refused(&mut s, &r, Call::PublishModule { code: wasi }, |e| {
        matches!(e, CallError::InvalidModule(_))
    });
    refused(
        &mut s,
        &r,
        Call::PublishInput {
            data: vec![0; test_params().max_input_bytes as usize + 1],
        },
        |e| matches!(e, CallError::InputTooLarge { .. }),
    );
    let poor = SecretKey::from_seed("poor");
    s.m.try_call(
        &r,
        Call::Transfer {
            to: poor.address(),
            amount: 10,
        },
    )
    .unwrap();
    refused(
        &mut s,
        &poor,
        Call::PublishInput { data: vec![7; 100] },
        |e| matches!(e, CallError::InsufficientBalance { .. }),
    );
    s.assert_conserved();
}
