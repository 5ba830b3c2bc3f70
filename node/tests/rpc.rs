//! JSON-RPC over a real server on a free port, against a chain with the market executor.

use std::sync::Arc;

use joule_contracts::MarketExecutor;
use joule_ledger::mempool::{Mempool, MempoolConfig};
use joule_ledger::testing::TestNet;
use joule_ledger::{Call, Chain, Hash, Transaction, codec};
use joule_node::rpc::{self, RpcConfig, RpcContext};
use jsonrpsee::core::client::{ClientT, SubscriptionClientT};
use jsonrpsee::core::params::ArrayParams;
use jsonrpsee_http_client::HttpClientBuilder;
use jsonrpsee_ws_client::WsClientBuilder;
use parking_lot::Mutex;
use serde_json::{Value, json};
use tokio::sync::broadcast;

struct Fixture {
    net: TestNet,
    chain: Arc<Chain>,
    mempool: Arc<Mutex<Mempool>>,
    heads: broadcast::Sender<joule_ledger::Header>,
    book: Arc<Mutex<joule_market::OrderBook>>,
    url: String,
    ws: String,
    _server: jsonrpsee::server::ServerHandle,
}

async fn fixture() -> Fixture {
    let net = TestNet::new(1, 2, 1_000_000_000_000);
    let executor = MarketExecutor::new(net.genesis.market.clone()).unwrap();
    let chain = Arc::new(net.memory_chain_with(Arc::new(executor)));
    let mempool = Arc::new(Mutex::new(Mempool::new(MempoolConfig::default())));
    let (heads, _) = broadcast::channel(16);
    let book = Arc::new(Mutex::new(joule_market::OrderBook::new(
        joule_market::BookLimits::default(),
        0,
    )));
    let ctx = RpcContext {
        chain: chain.clone(),
        mempool: mempool.clone(),
        heads: heads.clone(),
        book: book.clone(),
        roles: vec!["full".into()],
    };
    let config = RpcConfig {
        addr: "127.0.0.1:0".parse().unwrap(),
        ..RpcConfig::default()
    };
    let (addr, server) = rpc::start(&config, ctx).await.unwrap();
    Fixture {
        net,
        chain,
        mempool,
        heads,
        book,
        url: format!("http://{addr}"),
        ws: format!("ws://{addr}"),
        _server: server,
    }
}

fn params(values: &[Value]) -> ArrayParams {
    let mut p = ArrayParams::new();
    for v in values {
        p.insert(v).unwrap();
    }
    p
}

#[tokio::test]
async fn chain_state_and_transactions_over_http() {
    let f = fixture().await;
    let client = HttpClientBuilder::default().build(&f.url).unwrap();
    let sender = f.net.users[0].clone();
    let to = f.net.users[1].address();

    // Submit a signed transfer as raw bytes; it waits in the pool.
    let signed = Transaction {
        chain_id: f.net.genesis.chain_id,
        nonce: 0,
        fee: 5,
        call: Call::Transfer { to, amount: 1234 },
    }
    .sign(&sender);
    let hex = format!("0x{}", hex::encode(codec::encode(&signed)));
    let hash: Hash = client
        .request("tx_submit", params(&[json!(hex)]))
        .await
        .unwrap();
    assert_eq!(hash, signed.hash());
    let pending: Value = client
        .request("chain_getTransaction", params(&[json!(hash)]))
        .await
        .unwrap();
    assert_eq!(pending["blockNumber"], Value::Null);
    let account: Value = client
        .request("state_getAccount", params(&[json!(sender.address())]))
        .await
        .unwrap();
    assert_eq!(account["nonce"], 0);
    assert_eq!(account["pendingNonce"], 1);
    assert_eq!(account["balance"], "1000000000000");

    // Include it in a block and read it back.
    let tx = f.mempool.lock().get(&hash).unwrap().clone();
    let block = f.net.produce_block(&f.chain, vec![tx]);
    let head: Value = client.request("chain_head", params(&[])).await.unwrap();
    assert_eq!(head["number"], 1);
    assert_eq!(head["hash"], json!(block.hash()));
    for id in [json!(1), json!("1"), json!(block.hash()), json!("latest")] {
        let got: Value = client
            .request("chain_getBlock", params(std::slice::from_ref(&id)))
            .await
            .unwrap();
        assert_eq!(got["header"]["hash"], json!(block.hash()), "{id}");
        assert_eq!(got["transactions"][0]["hash"], json!(hash));
    }
    let missing: Value = client
        .request("chain_getBlock", params(&[json!(99)]))
        .await
        .unwrap();
    assert_eq!(missing, Value::Null);
    let included: Value = client
        .request("chain_getTransaction", params(&[json!(hash)]))
        .await
        .unwrap();
    assert_eq!(included["blockNumber"], 1);
    assert_eq!(included["receipt"]["status"]["status"], "success");
    assert_eq!(included["sender"], json!(sender.address()));

    // The proof checks against the header with nothing else.
    let proof: joule_node::rpc::types::TxProofJson = client
        .request("chain_getTransactionProof", params(&[json!(hash)]))
        .await
        .unwrap();
    assert!(proof.proof.verify(
        proof.header.header.tx_root,
        joule_ledger::merkle::leaf_hash(&proof.signed_tx)
    ));
    assert_eq!(Hash::keccak(&proof.signed_tx), hash);

    let account: Value = client
        .request("state_getAccount", params(&[json!(to)]))
        .await
        .unwrap();
    assert_eq!(account["balance"], "1000000001234");

    let info: Value = client.request("node_info", params(&[])).await.unwrap();
    assert_eq!(info["chainId"], f.net.genesis.chain_id);
    assert_eq!(info["head"], 1);
    let jobs: Vec<Value> = client
        .request("market_listJobs", params(&[]))
        .await
        .unwrap();
    assert!(jobs.is_empty());
    let provider: Value = client
        .request("market_getProvider", params(&[json!(to)]))
        .await
        .unwrap();
    assert_eq!(provider, Value::Null);
}

#[tokio::test]
async fn bad_requests_get_clear_errors() {
    let f = fixture().await;
    let client = HttpClientBuilder::default().build(&f.url).unwrap();
    let code = |e: jsonrpsee::core::ClientError| match e {
        jsonrpsee::core::ClientError::Call(obj) => (obj.code(), obj.message().to_owned()),
        other => panic!("not a call error: {other}"),
    };
    let err = client
        .request::<Value, _>("no_such_method", params(&[]))
        .await
        .unwrap_err();
    assert_eq!(code(err).0, -32601);
    let err = client
        .request::<Value, _>("state_getAccount", params(&[json!("0x1234")]))
        .await
        .unwrap_err();
    assert_eq!(code(err).0, -32602);
    let err = client
        .request::<Value, _>("chain_getBlock", params(&[json!("yesterday")]))
        .await
        .unwrap_err();
    let (c, message) = code(err);
    assert_eq!(c, -32602);
    assert!(message.contains("yesterday"), "{message}");
    let err = client
        .request::<Value, _>("tx_submit", params(&[json!("0xzz")]))
        .await
        .unwrap_err();
    assert_eq!(code(err).0, -32602);
    let err = client
        .request::<Value, _>("tx_submit", params(&[json!("0x0102")]))
        .await
        .unwrap_err();
    let (c, message) = code(err);
    assert_eq!(c, -32602);
    assert!(message.contains("decode"), "{message}");
    // A well-formed transaction for another chain is refused by the pool with its reason.
    let signed = Transaction {
        chain_id: 999,
        nonce: 0,
        fee: 1,
        call: Call::Withdraw,
    }
    .sign(&f.net.users[0]);
    let err = client
        .request::<Value, _>(
            "tx_submit",
            params(&[json!(format!("0x{}", hex::encode(codec::encode(&signed))))]),
        )
        .await
        .unwrap_err();
    let (c, message) = code(err);
    assert_eq!(c, 1001);
    assert!(message.contains("chain"), "{message}");
    let err = client
        .request::<Value, _>(
            "market_listJobs",
            params(&[json!({"status": "settled", "bogus": 1})]),
        )
        .await
        .unwrap_err();
    assert_eq!(code(err).0, -32602);
    // The server still answers.
    let _: Value = client.request("chain_head", params(&[])).await.unwrap();
}

#[tokio::test]
async fn heads_arrive_over_websocket() {
    let f = fixture().await;
    let client = WsClientBuilder::default().build(&f.ws).await.unwrap();
    let mut sub = client
        .subscribe::<Value, _>(
            "chain_subscribeHeads",
            params(&[]),
            "chain_unsubscribeHeads",
        )
        .await
        .unwrap();
    let block = f.net.produce_block(&f.chain, vec![]);
    f.heads.send(f.chain.head()).unwrap();
    let header = tokio::time::timeout(std::time::Duration::from_secs(30), sub.next())
        .await
        .expect("a head within the deadline")
        .unwrap()
        .unwrap();
    assert_eq!(header["hash"], json!(block.hash()));
    assert_eq!(header["number"], 1);
}

#[tokio::test]
async fn bids_enter_the_book_and_leave_it_when_matched() {
    let f = fixture().await;
    let client = HttpClientBuilder::default().build(&f.url).unwrap();
    let requester = f.net.users[0].clone();
    let provider = f.net.users[1].clone();
    let chain_id = f.net.genesis.chain_id;
    let code = joule_vm::examples::HASH_CHAIN.to_vec();
    let sign = |key: &joule_ledger::SecretKey, nonce, call| {
        Transaction {
            chain_id,
            nonce,
            fee: 1,
            call,
        }
        .sign(key)
        .verify(chain_id)
        .unwrap()
    };
    f.net.produce_block(
        &f.chain,
        vec![
            sign(&requester, 0, Call::PublishModule { code: code.clone() }),
            sign(
                &provider,
                0,
                Call::RegisterProvider {
                    stake: 500_000_000_000,
                },
            ),
        ],
    );
    let bid = |module, nonce| {
        joule_ledger::Bid {
            chain_id,
            requester: requester.address(),
            module,
            input: joule_ledger::JobInput::Inline(b"\x10\x00\x00\x00joule".to_vec()),
            fuel_limit: 1_000_000,
            max_price_per_fuel: 2,
            replicas: 1,
            min_reputation: 0,
            deadline: 50,
            nonce,
        }
        .sign(&requester)
    };
    let good = bid(Hash::keccak(&code), 0);
    let id: Hash = client
        .request("market_submitBid", params(&[json!(good)]))
        .await
        .unwrap();
    assert_eq!(id, good.bid.id());
    let info: Value = client.request("node_info", params(&[])).await.unwrap();
    assert_eq!(info["openBids"], 1);

    // A bid for a module the chain does not have is refused with the reason.
    let err = client
        .request::<Value, _>("market_submitBid", params(&[json!(bid(Hash::ZERO, 1))]))
        .await
        .unwrap_err();
    let jsonrpsee::core::ClientError::Call(obj) = err else {
        panic!("not a call error")
    };
    assert_eq!(obj.code(), 1002);
    assert!(obj.message().contains("module"), "{}", obj.message());

    // The provider matches it on chain; the book forgets it.
    let offer = joule_ledger::Offer {
        chain_id,
        provider: provider.address(),
        price_per_fuel: 1,
        max_fuel: 10_000_000,
        capacity: 1,
        expiry: 50,
        nonce: 0,
    }
    .sign(&provider);
    f.net.produce_block(
        &f.chain,
        vec![sign(
            &provider,
            1,
            Call::Match {
                bid: Box::new(good.clone()),
                offer: Box::new(offer),
            },
        )],
    );
    let book = f.book.clone();
    joule_node::book_sync::apply_block(&f.chain, &book, &f.chain.head());
    assert_eq!(book.lock().bid_count(), 0);
    let job: Value = client
        .request("market_getJob", params(&[json!(id)]))
        .await
        .unwrap();
    assert_eq!(job["status"], "committing");
    assert_eq!(job["assignments"][0]["provider"], json!(provider.address()));
    let jobs: Vec<Value> = client
        .request(
            "market_listJobs",
            params(&[json!({"requester": requester.address()})]),
        )
        .await
        .unwrap();
    assert_eq!(jobs.len(), 1);
    let none: Vec<Value> = client
        .request("market_listJobs", params(&[json!({"status": "settled"})]))
        .await
        .unwrap();
    assert!(none.is_empty());
    let record: Value = client
        .request("market_getProvider", params(&[json!(provider.address())]))
        .await
        .unwrap();
    assert_eq!(record["activeJobs"], 1);
}

#[tokio::test]
async fn published_modules_inputs_and_market_params() {
    let f = fixture().await;
    let client = HttpClientBuilder::default().build(&f.url).unwrap();
    let key = f.net.users[0].clone();
    let chain_id = f.net.genesis.chain_id;
    let code = joule_vm::examples::HASH_CHAIN.to_vec();
    let data = b"a stored job input".to_vec();
    let module = Hash::keccak(&code);
    let input = Hash::keccak(&data);
    let get = |method: &'static str, hash: Hash| {
        let client = client.clone();
        async move {
            client
                .request::<Value, _>(method, params(&[json!(hash)]))
                .await
                .unwrap()
        }
    };
    // Nothing is published yet.
    assert_eq!(get("market_getModule", module).await, Value::Null);
    assert_eq!(get("market_getInput", input).await, Value::Null);

    let sign = |nonce, call| {
        Transaction {
            chain_id,
            nonce,
            fee: 1,
            call,
        }
        .sign(&key)
        .verify(chain_id)
        .unwrap()
    };
    f.net.produce_block(
        &f.chain,
        vec![
            sign(0, Call::PublishModule { code: code.clone() }),
            sign(1, Call::PublishInput { data: data.clone() }),
        ],
    );
    assert_eq!(
        get("market_getModule", module).await,
        json!({"hash": module, "size": code.len()})
    );
    assert_eq!(
        get("market_getInput", input).await,
        json!({"hash": input, "size": data.len()})
    );
    // A module hash is not an input hash, and the other way round.
    assert_eq!(get("market_getInput", module).await, Value::Null);
    assert_eq!(get("market_getModule", input).await, Value::Null);
    let err = client
        .request::<Value, _>("market_getModule", params(&[json!("0x12")]))
        .await
        .unwrap_err();
    let jsonrpsee::core::ClientError::Call(obj) = err else {
        panic!("not a call error")
    };
    assert_eq!(obj.code(), -32602);

    // The genesis market parameters, as the genesis document writes them.
    let market: joule_ledger::genesis::MarketParams = client
        .request("market_getParams", params(&[]))
        .await
        .unwrap();
    assert_eq!(market, f.net.genesis.market);
}

/// Sends `body` as a raw HTTP POST and returns the status code and the body.
async fn raw_post(url: &str, body: &[u8]) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = url.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    // The server may answer (and close) before reading an oversize body to the end.
    let _ = stream.write_all(body).await;
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response).await;
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("").to_owned();
    (status, body)
}

#[tokio::test]
async fn malformed_oversize_and_badly_signed_requests_are_refused_and_the_node_keeps_serving() {
    let f = fixture().await;
    let client = HttpClientBuilder::default().build(&f.url).unwrap();

    // Malformed JSON: the standard parse error.
    let (status, body) = raw_post(&f.url, b"{\"jsonrpc\": \"2.0\", \"method\": ").await;
    assert_eq!(status, 200, "{body}");
    let answer: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["error"]["code"], -32700, "{body}");

    // A request over the size limit is refused before it is parsed.
    let huge = format!(
        "{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tx_submit\",\"params\":[\"0x{}\"]}}",
        "00".repeat(RpcConfig::default().max_request_bytes as usize)
    );
    let (status, body) = raw_post(&f.url, huge.as_bytes()).await;
    assert!(
        status == 413 || body.contains("-32007") || body.contains("too big"),
        "{status} {body}"
    );

    // A batch above the limit.
    let batch: Vec<Value> = (0..RpcConfig::default().max_batch + 1)
        .map(|i| json!({"jsonrpc": "2.0", "id": i, "method": "chain_head", "params": []}))
        .collect();
    let (_, body) = raw_post(&f.url, serde_json::to_string(&batch).unwrap().as_bytes()).await;
    assert!(body.contains("error"), "{body}");

    // A transaction whose signature's s is out of range.
    let signed = Transaction {
        chain_id: f.net.genesis.chain_id,
        nonce: 0,
        fee: 1,
        call: Call::Withdraw,
    }
    .sign(&f.net.users[0]);
    let mut bytes = codec::encode(&signed);
    let n = bytes.len();
    bytes[n - 33..n - 1].fill(0xff);
    let err = client
        .request::<Value, _>(
            "tx_submit",
            params(&[json!(format!("0x{}", hex::encode(&bytes)))]),
        )
        .await
        .unwrap_err();
    let jsonrpsee::core::ClientError::Call(obj) = err else {
        panic!("not a call error")
    };
    assert_eq!(obj.code(), 1001, "{}", obj.message());
    assert!(obj.message().contains("signature"), "{}", obj.message());

    // A bid whose signature does not verify.
    let module = Hash::keccak(joule_vm::examples::HASH_CHAIN);
    let mut bid = joule_ledger::Bid {
        chain_id: f.net.genesis.chain_id,
        requester: f.net.users[0].address(),
        module,
        input: joule_ledger::JobInput::Inline(vec![1, 0, 0, 0]),
        fuel_limit: 1_000_000,
        max_price_per_fuel: 2,
        replicas: 1,
        min_reputation: 0,
        deadline: 10,
        nonce: 1,
    }
    .sign(&f.net.users[0]);
    bid.signature.0[32..64].fill(0xff);
    let err = client
        .request::<Value, _>("market_submitBid", params(&[json!(bid)]))
        .await
        .unwrap_err();
    let jsonrpsee::core::ClientError::Call(obj) = err else {
        panic!("not a call error")
    };
    assert_eq!(obj.code(), 1002, "{}", obj.message());
    assert!(obj.message().contains("signature"), "{}", obj.message());

    // Still serving.
    let head: Value = client.request("chain_head", params(&[])).await.unwrap();
    assert_eq!(head["number"], 0);
}
