//! Shared setup: a market with a requester, three providers and a watcher.

use joule_contracts::sim::{Market, test_params};
use joule_ledger::genesis::MarketParams;
use joule_ledger::{Call, Hash, JobResult, SecretKey};

pub const BALANCE: u128 = 1_000_000_000_000_000;
pub const STAKE: u128 = 100_000_000_000_000;
pub const FUEL: u64 = 5_000_000;
pub const PRICE: u128 = 2;
pub const INPUT: &[u8] = b"\x10\x00\x00\x00joule";

pub struct Keys {
    pub requester: SecretKey,
    pub providers: Vec<SecretKey>,
    pub watcher: SecretKey,
}

pub struct Setup {
    pub m: Market,
    pub k: Keys,
    pub module: Hash,
    pub honest: JobResult,
    pub output: Vec<u8>,
}

pub fn code() -> &'static [u8] {
    joule_vm::examples::HASH_CHAIN
}

pub fn setup_with(params: MarketParams) -> Setup {
    let k = Keys {
        requester: SecretKey::from_seed("requester"),
        providers: (0..3)
            .map(|i| SecretKey::from_seed(&format!("provider-{i}")))
            .collect(),
        watcher: SecretKey::from_seed("watcher"),
    };
    let mut all: Vec<&SecretKey> = vec![&k.requester, &k.watcher];
    all.extend(k.providers.iter());
    let mut m = Market::new(params, &all, BALANCE);
    for p in &k.providers {
        m.try_call(p, Call::RegisterProvider { stake: STAKE })
            .expect("registers");
    }
    let module = m.publish(&k.requester, code());
    let vm = joule_vm::Vm::with_config(joule_vm::VmConfig {
        wall_clock_limit: None,
        ..Default::default()
    })
    .unwrap();
    let outcome = vm
        .execute(
            code(),
            INPUT,
            &joule_contracts::job_limits(m.params(), FUEL),
        )
        .unwrap();
    assert!(outcome.is_ok(), "{outcome:?}");
    let honest = joule_contracts::result_of(&outcome);
    assert_eq!(honest, m.honest_result(code(), INPUT, FUEL));
    m.end_block();
    Setup {
        m,
        k,
        module,
        honest,
        output: outcome.output,
    }
}

pub fn setup() -> Setup {
    setup_with(test_params())
}

/// A result that differs from the honest one (a cheater's guess).
pub fn wrong(honest: JobResult) -> JobResult {
    JobResult {
        output_hash: Hash::keccak(b"made up"),
        ..honest
    }
}

impl Setup {
    /// Matches a fresh bid (k replicas) with providers `who`, returning the job id.
    pub fn post(&mut self, replicas: u8, who: &[usize], nonce: u64) -> Hash {
        let bid = self.m.bid(
            &self.k.requester,
            self.module,
            INPUT,
            FUEL,
            PRICE + 1,
            replicas,
            nonce,
        );
        for &i in who {
            let offer = self.m.offer(&self.k.providers[i], PRICE, 4);
            self.m
                .try_call(
                    &self.k.providers[i],
                    Call::Match {
                        bid: Box::new(bid.clone()),
                        offer: Box::new(offer),
                    },
                )
                .expect("match accepted");
        }
        bid.bid.id()
    }

    pub fn assert_conserved(&self) {
        assert_eq!(self.m.accounted_supply(), self.m.genesis_supply);
    }
}
