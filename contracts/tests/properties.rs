//! Properties over random sequences of calls with honest, cheating and absent providers:
//! conservation of credit, the pools equal to what they hold, honest providers never slashed,
//! and no payment for a result arbitration would find wrong.

use joule_contracts::sim::test_params;
use joule_contracts::state::{Phase, Resolution};
use joule_ledger::genesis::MarketParams;
use joule_ledger::{Call, Hash};
use proptest::prelude::*;

use crate::common::*;

#[derive(Debug, Clone)]
enum Action {
    /// Post a bid with `replicas` and match it with these providers (0 honest, 1 cheater,
    /// 2 absent).
    Post {
        replicas: u8,
        providers: Vec<usize>,
    },
    /// Every provider acts on its jobs by its strategy.
    Work,
    /// The watcher challenges the `n`th job.
    Challenge(usize),
    /// Blocks pass.
    Advance(u64),
    /// A transfer, possibly more than the sender has.
    Transfer {
        amount: u128,
    },
    /// A provider unbonds (possibly more than is free) or withdraws.
    Unbond {
        provider: usize,
        amount: u128,
    },
    Withdraw {
        provider: usize,
    },
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        3 => (1u8..=3, proptest::sample::subsequence(vec![0usize, 1, 2], 1..=3))
            .prop_map(|(replicas, providers)| Action::Post { replicas, providers }),
        4 => Just(Action::Work),
        1 => (0usize..8).prop_map(Action::Challenge),
        3 => (1u64..4).prop_map(Action::Advance),
        1 => (0u128..BALANCE * 2).prop_map(|amount| Action::Transfer { amount }),
        1 => (0usize..3, 0u128..STAKE * 2).prop_map(|(provider, amount)| Action::Unbond { provider, amount }),
        1 => (0usize..3).prop_map(|provider| Action::Withdraw { provider }),
    ]
}

fn check_pools(s: &Setup, jobs: &[Hash]) {
    s.assert_conserved();
    let totals = s.m.totals();
    let escrow: u128 = jobs
        .iter()
        .map(|id| s.m.job(id).unwrap().escrow_locked())
        .sum();
    assert_eq!(totals.escrow, escrow, "escrow pool");
    let stake: u128 =
        s.k.providers
            .iter()
            .map(|p| s.m.provider(&p.address()).unwrap().total_stake())
            .sum();
    assert_eq!(totals.stake, stake, "stake pool");
    let bonds = jobs
        .iter()
        .filter(|id| {
            let job = s.m.job(id).unwrap();
            job.challenger.is_some() && !job.phase.is_final()
        })
        .count() as u128
        * s.m.params().challenge_bond;
    assert_eq!(totals.bonds, bonds, "bond pool");
    for p in &s.k.providers {
        let record = s.m.provider(&p.address()).unwrap();
        assert!(record.locked <= record.bonded);
    }
}

fn work(s: &mut Setup, jobs: &[Hash]) {
    for id in jobs {
        let job = s.m.job(id).unwrap();
        for a in &job.assignments {
            let i =
                s.k.providers
                    .iter()
                    .position(|p| p.address() == a.provider)
                    .unwrap();
            let key = s.k.providers[i].clone();
            let result = match i {
                0 => s.honest,
                1 => wrong(s.honest),
                _ => continue,
            };
            match job.phase {
                Phase::Committing if a.commitment.is_none() => {
                    s.m.commit(&key, *id, result).unwrap();
                }
                Phase::Revealing if a.commitment.is_some() && a.reveal.is_none() => {
                    s.m.reveal(&key, *id, result, Vec::new()).unwrap();
                }
                _ => {}
            }
        }
    }
}

fn run(params: MarketParams, actions: Vec<Action>) {
    let params_audit = params.audit_ppm;
    let mut s = setup_with(params);
    let mut jobs: Vec<Hash> = Vec::new();
    let mut nonce = 0;
    for action in actions {
        match action {
            Action::Post {
                replicas,
                providers,
            } => {
                let bid = s.m.bid(
                    &s.k.requester,
                    s.module,
                    INPUT,
                    FUEL,
                    PRICE,
                    replicas,
                    nonce,
                );
                nonce += 1;
                for i in providers {
                    let key = s.k.providers[i].clone();
                    let offer = s.m.offer(&key, PRICE, 8);
                    // Refusals (capacity, stake) are part of the test: they must change nothing.
                    let _ = s.m.try_call(
                        &key,
                        Call::Match {
                            bid: Box::new(bid.clone()),
                            offer: Box::new(offer),
                        },
                    );
                }
                if s.m.job(&bid.bid.id()).is_some() {
                    jobs.push(bid.bid.id());
                }
            }
            Action::Work => work(&mut s, &jobs),
            Action::Challenge(n) => {
                if let Some(id) = jobs.get(n) {
                    let _ =
                        s.m.try_call(&s.k.watcher.clone(), Call::Challenge { job: *id });
                }
            }
            Action::Advance(n) => {
                // Providers act in every block, as a running node does.
                for _ in 0..n {
                    work(&mut s, &jobs);
                    s.m.end_block();
                }
            }
            Action::Transfer { amount } => {
                let to = s.k.watcher.address();
                let _ =
                    s.m.try_call(&s.k.requester.clone(), Call::Transfer { to, amount });
            }
            Action::Unbond { provider, amount } => {
                let key = s.k.providers[provider].clone();
                let _ = s.m.try_call(&key, Call::Unbond { amount });
            }
            Action::Withdraw { provider } => {
                let key = s.k.providers[provider].clone();
                let _ = s.m.try_call(&key, Call::Withdraw);
            }
        }
        check_pools(&s, &jobs);
    }
    // Let every job finish: providers keep working while blocks pass.
    let p = test_params();
    for _ in 0..(p.commit_blocks + p.reveal_blocks + p.challenge_blocks + 4) {
        work(&mut s, &jobs);
        s.m.end_block();
        check_pools(&s, &jobs);
    }
    for id in &jobs {
        let job = s.m.job(id).unwrap();
        assert!(job.phase.is_final(), "job {id} stuck in {:?}", job.phase);
        if job.arbitrated.is_some() {
            // Once the chain has judged, nobody is paid for a wrong result and the result
            // that stands is the true one.
            assert_eq!(job.result, Some(s.honest));
            for a in &job.assignments {
                if let Some(Resolution::Paid(_)) = a.resolution {
                    assert_eq!(a.reveal, Some(s.honest), "paid for a wrong result");
                }
            }
        }
        if params_audit == 1_000_000 && job.phase == Phase::Settled {
            assert!(
                job.arbitrated.is_some(),
                "every agreed job is audited at rate 1"
            );
        }
    }
    // The honest provider is never slashed.
    let honest = s.m.provider(&s.k.providers[0].address()).unwrap();
    assert_eq!(honest.reputation.slashed, 0);
    assert_eq!(
        honest.reputation.disputes_lost + honest.reputation.no_shows,
        0
    );
    assert_eq!(s.m.totals().escrow, 0);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn credit_is_conserved_and_honesty_is_never_punished(
        audit_ppm in prop_oneof![Just(0u32), Just(500_000), Just(1_000_000)],
        actions in proptest::collection::vec(action(), 1..40),
    ) {
        run(MarketParams { audit_ppm, ..test_params() }, actions);
    }
}
