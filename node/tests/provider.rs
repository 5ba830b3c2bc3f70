//! Provider workers in one node process: an honest one and a test-only liar take the same
//! two-replica job; the chain re-executes it, slashes the liar, pays the honest one, and gives
//! the liar's escrow back to the requester.

use std::time::Duration;

use joule_contracts::state::{MarketState, Phase, Resolution};
use joule_ledger::genesis::GenesisBalance;
use joule_ledger::state::StateOverlay;
use joule_ledger::{Bid, Call, Genesis, Hash, JobInput, SecretKey, Transaction};
use joule_node::dev::{DEV_AUTHORITY_SEED, DEV_CHAIN_ID, dev_genesis, dev_provider_config};
use joule_node::outbox::Outbox;
use joule_node::provider::Behaviour;
use joule_node::service::{self, NodeSpec, Running};
use tokio::sync::oneshot;

const BALANCE: u128 = 1_000_000_000_000;

struct Outcome {
    phase: Phase,
    arbitrated: bool,
    honest: Option<Resolution>,
    liar: Option<Resolution>,
    honest_paid_fuel: u64,
    requester_change: i128,
    publish_and_fee: u128,
    liar_slashed: u128,
    liar_disputes_lost: u64,
    liar_restaked: bool,
}

async fn requester_side(
    running: Running,
    requester: SecretKey,
    honest: SecretKey,
    liar: SecretKey,
) -> anyhow::Result<Outcome> {
    let chain = running.chain.clone();
    let mut heads = running.heads.subscribe();
    let state = || StateOverlay::new(chain.store().clone());
    // Both providers registered and offering.
    loop {
        let s = state();
        if s.provider(&honest.address())?.is_some() && s.provider(&liar.address())?.is_some() {
            break;
        }
        heads.recv().await?;
    }
    let start_balance = state().account(&requester.address())?.balance;
    let code = joule_vm::examples::PRIMES;
    let module = Hash::keccak(code);
    running.outbox.submit_tx(
        Transaction {
            chain_id: DEV_CHAIN_ID,
            nonce: 0,
            fee: 1,
            call: Call::PublishModule {
                code: code.to_vec(),
            },
        }
        .sign(&requester),
    )?;
    while !state().has_module(&module)? {
        heads.recv().await?;
    }
    // Offers are refreshed at heads; the next head has both in the book.
    heads.recv().await?;
    let bid = Bid {
        chain_id: DEV_CHAIN_ID,
        requester: requester.address(),
        module,
        input: JobInput::Inline(100_000u32.to_le_bytes().to_vec()),
        fuel_limit: 100_000_000,
        max_price_per_fuel: 2,
        replicas: 2,
        min_reputation: 0,
        deadline: chain.head().number + 20,
        nonce: 7,
    }
    .sign(&requester);
    let job = running.outbox.publish_bid(bid)?;
    let record = loop {
        heads.recv().await?;
        if let Some(j) = state().job(&job)?
            && j.phase.is_final()
        {
            break j;
        }
    };
    // The slashed liar tops its bond back up to its configured stake within a few blocks.
    let stake = joule_node::dev::DEV_PROVIDER_STAKE;
    let mut liar_restaked = false;
    for _ in 0..10 {
        if state()
            .provider(&liar.address())?
            .is_some_and(|p| p.bonded == stake)
        {
            liar_restaked = true;
            break;
        }
        heads.recv().await?;
    }
    let resolution = |who: &SecretKey| {
        record
            .assignments
            .iter()
            .find(|a| a.provider == who.address())
            .and_then(|a| a.resolution)
    };
    Ok(Outcome {
        phase: record.phase,
        arbitrated: record.arbitrated.is_some(),
        honest: resolution(&honest),
        liar: resolution(&liar),
        honest_paid_fuel: record.result.map_or(0, |r| r.fuel_used),
        requester_change: state().account(&requester.address())?.balance as i128
            - start_balance as i128,
        publish_and_fee: 1 + 10 * code.len() as u128,
        liar_slashed: state()
            .provider(&liar.address())?
            .map_or(0, |p| p.reputation.slashed),
        liar_disputes_lost: state()
            .provider(&liar.address())?
            .map_or(0, |p| p.reputation.disputes_lost),
        liar_restaked,
    })
}

#[test]
fn a_lying_provider_is_caught_slashed_and_the_requester_refunded() {
    let dir = tempfile::tempdir().unwrap();
    let requester = SecretKey::from_seed("provider-test-requester");
    let honest = SecretKey::from_seed("provider-test-honest");
    let liar = SecretKey::from_seed("provider-test-liar");
    let genesis = Genesis {
        balances: [
            (requester.address(), GenesisBalance(BALANCE)),
            (honest.address(), GenesisBalance(BALANCE)),
            (liar.address(), GenesisBalance(BALANCE)),
        ]
        .into(),
        ..dev_genesis()
    };
    let honest_config = dev_provider_config(&dir.path().join("honest"));
    let mut liar_config = dev_provider_config(&dir.path().join("liar"));
    liar_config.behaviour = Behaviour::WrongOutput;
    let spec = NodeSpec {
        datadir: dir.path().to_path_buf(),
        genesis: genesis.clone(),
        authority: Some(SecretKey::from_seed(DEV_AUTHORITY_SEED)),
        providers: vec![(honest.clone(), honest_config), (liar.clone(), liar_config)],
        rpc: None,
        until_block: None,
        metrics: None,
    };
    let chain = service::open_chain(dir.path(), genesis).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let (done_tx, done_rx) = oneshot::channel();
    let outcome = runtime.block_on(async move {
        let node = tokio::spawn(service::run(
            spec,
            chain,
            async move {
                let _ = stop_rx.await;
            },
            move |running| async move {
                let _ = done_tx.send(requester_side(running, requester, honest, liar).await);
            },
        ));
        let outcome = tokio::time::timeout(Duration::from_secs(180), done_rx)
            .await
            .expect("job did not end within 180 s")
            .expect("requester side ran")
            .expect("requester side succeeded");
        let _ = stop_tx.send(());
        node.await.unwrap().unwrap();
        outcome
    });

    assert_eq!(outcome.phase, Phase::Settled);
    assert!(outcome.arbitrated, "the disagreement went to arbitration");
    let Some(Resolution::Paid(paid)) = outcome.honest else {
        panic!("honest provider not paid: {:?}", outcome.honest)
    };
    assert_eq!(paid, u128::from(outcome.honest_paid_fuel));
    assert_eq!(outcome.liar, Some(Resolution::Wrong));
    assert!(outcome.liar_slashed > 0);
    assert_eq!(outcome.liar_disputes_lost, 1);
    assert!(
        outcome.liar_restaked,
        "the slashed provider did not top its stake up"
    );
    // The requester paid the publish fees and the honest replica; the liar's escrow came back,
    // and as the wronged party it received the reward share of the liar's collateral.
    let reward =
        outcome.liar_slashed * u128::from(dev_genesis().market.slash_reward_ppm) / 1_000_000;
    assert!(reward > 0);
    assert_eq!(
        outcome.requester_change,
        reward as i128 - (outcome.publish_and_fee + paid) as i128,
        "paid {paid}, reward {reward}"
    );
}
