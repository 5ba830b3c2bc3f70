//! Jobs from match to settlement: honest, disputed, challenged, audited, abandoned.

use joule_contracts::sim::test_params;
use joule_contracts::state::{Phase, Resolution};
use joule_ledger::{Call, JobResult};

use crate::common::*;

#[test]
fn one_honest_provider_is_paid_fuel_used_times_price() {
    let mut s = setup();
    let p = s.k.providers[0].clone();
    let requester_before = s.m.balance(&s.k.requester.address());
    let provider_before = s.m.balance(&p.address());
    let id = s.post(1, &[0], 0);
    let job = s.m.job(&id).unwrap();
    assert_eq!(job.phase, Phase::Committing);
    let escrow = u128::from(FUEL) * PRICE;
    assert_eq!(s.m.totals().escrow, escrow);
    let collateral = s.m.provider(&p.address()).unwrap().locked;
    assert_eq!(collateral, s.m.params().collateral(escrow).unwrap());
    s.assert_conserved();

    s.m.commit(&p, id, s.honest).unwrap();
    s.m.end_block();
    assert_eq!(s.m.job(&id).unwrap().phase, Phase::Revealing);
    s.m.reveal(&p, id, s.honest, s.output.clone()).unwrap();
    s.m.end_block();
    // The reveals are judged a block later (see the audit-dodging test).
    assert_eq!(s.m.job(&id).unwrap().phase, Phase::Revealing);
    s.m.end_block();
    let job = s.m.job(&id).unwrap();
    assert_eq!(job.phase, Phase::Challengeable);
    assert_eq!(job.output, s.output);
    s.m.advance(test_params().challenge_blocks);
    let job = s.m.job(&id).unwrap();
    assert_eq!(job.phase, Phase::Settled);
    assert_eq!(job.result, Some(s.honest));

    let paid = u128::from(s.honest.fuel_used) * PRICE;
    assert_eq!(job.assignments[0].resolution, Some(Resolution::Paid(paid)));
    // Three transactions at a fee of 1 each.
    assert_eq!(s.m.balance(&p.address()), provider_before + paid - 3);
    assert_eq!(
        s.m.balance(&s.k.requester.address()),
        requester_before - paid
    );
    let provider = s.m.provider(&p.address()).unwrap();
    assert_eq!((provider.locked, provider.active_jobs), (0, 0));
    assert_eq!(provider.reputation.jobs_done, 1);
    assert_eq!(s.m.totals().escrow, 0);
    s.assert_conserved();
}

#[test]
fn agreeing_replicas_are_all_paid() {
    let mut s = setup();
    let id = s.post(3, &[0, 1, 2], 0);
    for p in s.k.providers.clone() {
        s.m.commit(&p, id, s.honest).unwrap();
    }
    s.m.end_block();
    for p in s.k.providers.clone() {
        s.m.reveal(&p, id, s.honest, Vec::new()).unwrap();
    }
    s.m.advance(2 + test_params().challenge_blocks);
    let job = s.m.job(&id).unwrap();
    assert_eq!(job.phase, Phase::Settled);
    assert!(
        job.assignments
            .iter()
            .all(|a| matches!(a.resolution, Some(Resolution::Paid(_))))
    );
    assert_eq!(s.m.totals().escrow, 0);
    s.assert_conserved();
}

#[test]
fn disagreement_is_arbitrated_and_the_cheater_slashed() {
    let mut s = setup();
    let (honest_p, cheat_p) = (s.k.providers[0].clone(), s.k.providers[1].clone());
    let requester_before = s.m.balance(&s.k.requester.address());
    let id = s.post(2, &[0, 1], 0);
    let bad = wrong(s.honest);
    s.m.commit(&honest_p, id, s.honest).unwrap();
    s.m.commit(&cheat_p, id, bad).unwrap();
    s.m.end_block();
    s.m.reveal(&honest_p, id, s.honest, Vec::new()).unwrap();
    s.m.reveal(&cheat_p, id, bad, Vec::new()).unwrap();
    s.m.end_block();
    let events = s.m.end_block();
    assert!(
        events.iter().any(
            |e| matches!(e, joule_ledger::Event::Arbitrated { result, .. } if *result == s.honest)
        ),
        "{events:?}"
    );
    let job = s.m.job(&id).unwrap();
    assert_eq!(job.phase, Phase::Settled);
    // The chain computed the output itself and keeps it.
    assert_eq!(job.output, s.output);
    let collateral = job.assignments[1].collateral;
    assert_eq!(job.assignments[1].resolution, Some(Resolution::Wrong));
    let cheater = s.m.provider(&cheat_p.address()).unwrap();
    assert_eq!(cheater.bonded, STAKE - collateral);
    assert_eq!(cheater.reputation.disputes_lost, 1);
    // The requester paid only the honest provider and received the reward share of the slash.
    let paid = u128::from(s.honest.fuel_used) * PRICE;
    let reward = collateral * u128::from(test_params().slash_reward_ppm) / 1_000_000;
    assert_eq!(
        s.m.balance(&s.k.requester.address()),
        requester_before - paid + reward
    );
    assert_eq!(s.m.totals().burned - publish_burn(), collateral - reward);
    s.assert_conserved();
}

fn publish_burn() -> u128 {
    code().len() as u128 * test_params().publish_fee_per_byte
}

#[test]
fn an_upheld_challenge_pays_the_watcher_and_the_requester_pays_nothing() {
    let mut s = setup();
    let cheat = s.k.providers[0].clone();
    let watcher = s.k.watcher.address();
    let requester_before = s.m.balance(&s.k.requester.address());
    let id = s.post(1, &[0], 0);
    let watcher_before = s.m.balance(&watcher);
    let bad = wrong(s.honest);
    s.m.commit(&cheat, id, bad).unwrap();
    s.m.end_block();
    s.m.reveal(&cheat, id, bad, Vec::new()).unwrap();
    s.m.advance(2);
    assert_eq!(s.m.job(&id).unwrap().phase, Phase::Challengeable);
    s.m.try_call(&s.k.watcher.clone(), Call::Challenge { job: id })
        .unwrap();
    s.m.end_block();
    let job = s.m.job(&id).unwrap();
    assert_eq!(job.phase, Phase::Settled);
    assert_eq!(job.result, Some(s.honest));
    let collateral = job.assignments[0].collateral;
    let reward = collateral * u128::from(test_params().slash_reward_ppm) / 1_000_000;
    assert_eq!(s.m.balance(&watcher), watcher_before - 1 + reward);
    assert_eq!(s.m.balance(&s.k.requester.address()), requester_before);
    assert_eq!(s.m.totals().bonds, 0);
    s.assert_conserved();
}

#[test]
fn a_failed_challenge_loses_its_bond_and_the_provider_is_paid() {
    let mut s = setup();
    let p = s.k.providers[0].clone();
    let id = s.post(1, &[0], 0);
    let watcher_before = s.m.balance(&s.k.watcher.address());
    s.m.commit(&p, id, s.honest).unwrap();
    s.m.end_block();
    s.m.reveal(&p, id, s.honest, Vec::new()).unwrap();
    s.m.advance(2);
    s.m.try_call(&s.k.watcher.clone(), Call::Challenge { job: id })
        .unwrap();
    s.m.end_block();
    let job = s.m.job(&id).unwrap();
    assert_eq!(job.phase, Phase::Settled);
    assert!(matches!(
        job.assignments[0].resolution,
        Some(Resolution::Paid(_))
    ));
    assert_eq!(
        s.m.balance(&s.k.watcher.address()),
        watcher_before - 1 - test_params().challenge_bond
    );
    let provider = s.m.provider(&p.address()).unwrap();
    assert_eq!(provider.reputation.slashed, 0);
    s.assert_conserved();
}

#[test]
fn audits_catch_a_lone_cheater_without_any_watcher() {
    let mut s = setup_with(joule_ledger::genesis::MarketParams {
        audit_ppm: 1_000_000,
        ..test_params()
    });
    let cheat = s.k.providers[0].clone();
    let id = s.post(1, &[0], 0);
    let bad = wrong(s.honest);
    s.m.commit(&cheat, id, bad).unwrap();
    s.m.end_block();
    s.m.reveal(&cheat, id, bad, Vec::new()).unwrap();
    let events = s.m.advance(2);
    assert!(events.iter().any(|e| matches!(
        e,
        joule_ledger::Event::Arbitrated { cause, .. } if cause == "audit"
    )));
    let job = s.m.job(&id).unwrap();
    assert_eq!(job.assignments[0].resolution, Some(Resolution::Wrong));
    s.assert_conserved();
}

#[test]
fn the_audit_draw_follows_the_rate() {
    let parent = joule_ledger::Hash::keccak(b"parent");
    let picked = (0..10_000u32)
        .filter(|i| {
            joule_contracts::audit_selected(
                &parent,
                &joule_ledger::Hash::keccak(&i.to_be_bytes()),
                50_000,
            )
        })
        .count();
    // 5% of 10 000 is 500; binomial standard deviation is about 22.
    assert!((400..600).contains(&picked), "{picked}");
}

#[test]
fn no_shows_are_slashed_and_the_requester_refunded() {
    let mut s = setup();
    let (silent, late) = (s.k.providers[0].clone(), s.k.providers[1].clone());
    let requester_before = s.m.balance(&s.k.requester.address());
    // A job nobody commits to expires at its commit deadline.
    let id = s.post(1, &[0], 0);
    s.m.advance(test_params().commit_blocks + 1);
    let job = s.m.job(&id).unwrap();
    assert_eq!(job.phase, Phase::Expired);
    assert_eq!(job.assignments[0].resolution, Some(Resolution::NoShow));
    let c0 = job.assignments[0].collateral;
    let reward = |c: u128| c * u128::from(test_params().slash_reward_ppm) / 1_000_000;
    assert_eq!(
        s.m.balance(&s.k.requester.address()),
        requester_before + reward(c0)
    );
    assert_eq!(
        s.m.provider(&silent.address()).unwrap().reputation.no_shows,
        1
    );
    // A provider that commits but never reveals is slashed at the reveal deadline.
    let id = s.post(1, &[1], 1);
    s.m.commit(&late, id, s.honest).unwrap();
    s.m.end_block();
    s.m.advance(test_params().reveal_blocks + 2);
    let job = s.m.job(&id).unwrap();
    assert_eq!(job.phase, Phase::Expired);
    assert_eq!(job.assignments[0].resolution, Some(Resolution::NoShow));
    s.assert_conserved();
}

#[test]
fn a_late_replica_cannot_copy_a_revealed_answer() {
    // Reveals open only when every matched provider has committed, so the second provider
    // has to commit before it can see anything.
    let mut s = setup();
    let (first, second) = (s.k.providers[0].clone(), s.k.providers[1].clone());
    let id = s.post(2, &[0, 1], 0);
    s.m.commit(&first, id, s.honest).unwrap();
    s.m.end_block();
    assert_eq!(s.m.job(&id).unwrap().phase, Phase::Committing);
    let err = s.m.reveal(&first, id, s.honest, Vec::new()).unwrap_err();
    assert!(
        matches!(err, joule_contracts::CallError::WrongPhase { .. }),
        "{err}"
    );
    s.m.commit(&second, id, s.honest).unwrap();
    s.m.end_block();
    assert_eq!(s.m.job(&id).unwrap().phase, Phase::Revealing);
    let _: JobResult = s.honest;
}

#[test]
fn staking_unbond_and_withdraw() {
    let mut s = setup();
    let p = s.k.providers[2].clone();
    let before = s.m.balance(&p.address());
    s.m.try_call(&p, Call::Unbond { amount: 1_000 }).unwrap();
    let err = s.m.try_call(&p, Call::Withdraw).unwrap_err();
    assert!(
        matches!(err, joule_contracts::CallError::NothingToWithdraw { .. }),
        "{err}"
    );
    s.m.advance(test_params().unbonding_blocks);
    s.m.try_call(&p, Call::Withdraw).unwrap();
    assert_eq!(s.m.balance(&p.address()), before + 1_000 - 3);
    assert_eq!(s.m.provider(&p.address()).unwrap().bonded, STAKE - 1_000);
    s.m.try_call(&p, Call::AddStake { amount: 5 }).unwrap();
    assert_eq!(s.m.provider(&p.address()).unwrap().bonded, STAKE - 995);
    s.assert_conserved();
}

#[test]
fn a_cheater_cannot_time_its_reveal_to_dodge_the_audit() {
    // The dodger knows the current block's parent hash (anyone does) and reveals only in a
    // block whose draw would miss. The draw reads a later block's hash, so it is caught at the
    // audit rate anyway.
    let params = joule_ledger::genesis::MarketParams {
        audit_ppm: 500_000,
        ..test_params()
    };
    let mut s = setup_with(params.clone());
    let cheat = s.k.providers[0].clone();
    let bad = wrong(s.honest);
    let jobs = 40;
    let mut caught = 0;
    for n in 0..jobs {
        let id = s.post(1, &[0], n);
        s.m.commit(&cheat, id, bad).unwrap();
        s.m.end_block();
        assert_eq!(s.m.job(&id).unwrap().phase, Phase::Revealing);
        loop {
            let job = s.m.job(&id).unwrap();
            let parent = joule_ledger::Hash::keccak(&(s.m.number - 1).to_be_bytes());
            let draw_hits = joule_contracts::audit_selected(&parent, &id, params.audit_ppm);
            if !draw_hits || s.m.number == job.deadline {
                s.m.reveal(&cheat, id, bad, Vec::new()).unwrap();
                break;
            }
            s.m.end_block();
        }
        s.m.advance(2 + params.challenge_blocks);
        let job = s.m.job(&id).unwrap();
        assert_eq!(job.phase, Phase::Settled);
        if job.arbitrated.is_some() {
            caught += 1;
        }
    }
    // Expected 20 of 40; the binomial standard deviation is about 3.
    assert!(caught >= 10, "caught {caught} of {jobs}");
    s.assert_conserved();
}
