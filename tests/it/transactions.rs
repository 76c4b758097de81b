//! The transaction lifecycle off the happy path: restarts over the same ledger, transactions the node drops, a
//! crash between signing and sending, retries with an Idempotency-Key, fee caps, stuck transactions sped up,
//! cancelled and replaced automatically, and many senders at once through PostgreSQL.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use alloy::primitives::{Address, B256, U256};
use alloy::providers::ext::AnvilApi;
use alloy::providers::{Provider, RootProvider};
use chains::tx::{Ledger, LedgerTx, TxStatus};
use gateway::devnet::Devnet;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{self, PASSPHRASE, TestGateway, assert_error_body};

const GWEI: u128 = 1_000_000_000;

use crate::common::node;

async fn wrap(gw: &TestGateway, body: Value) -> (StatusCode, Value) {
    gw.post("/chains/ethereum/wrap", json!({"network": "devnet", "amount": "0.001"}).merge(body)).await
}

trait Merge {
    fn merge(self, other: Value) -> Value;
}

impl Merge for Value {
    fn merge(mut self, other: Value) -> Value {
        if let (Some(target), Value::Object(extra)) = (self.as_object_mut(), other) {
            target.extend(extra);
        }
        self
    }
}

fn hash_of(body: &Value) -> B256 {
    body["signature"].as_str().unwrap_or_else(|| panic!("no signature: {body}")).parse().unwrap()
}

/// The hash an answer `TRANSACTION_TIMEOUT` names, found as Hummingbot's client finds it (its pattern
/// `Transaction (\S+) (?:was not confirmed|pending)`).
fn timed_out(status: StatusCode, body: &Value) -> B256 {
    assert_eq!((status, body["code"].as_str()), (StatusCode::GATEWAY_TIMEOUT, Some("TRANSACTION_TIMEOUT")), "{body}");
    let message = body["message"].as_str().unwrap();
    let hash = message.strip_prefix("Transaction ").and_then(|rest| rest.split(' ').next()).unwrap();
    assert!(message.contains(&format!("{hash} was not confirmed within ")), "{message}");
    hash.parse().unwrap()
}

/// The hash and nonce of a transaction sent and not mined in time, as the node holds it.
async fn pending(anvil: &RootProvider, status: StatusCode, body: &Value) -> (B256, u64) {
    let hash = timed_out(status, body);
    let tx = anvil.get_transaction_by_hash(hash).await.unwrap().expect("in the node's pool");
    (hash, alloy::consensus::Transaction::nonce(&tx))
}

async fn poll(gw: &TestGateway, hash: B256) -> Value {
    let (status, body) = gw.post("/chains/ethereum/poll", json!({"network": "devnet", "signature": hash})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn row(gw: &TestGateway, hash: B256) -> LedgerTx {
    gw.gateway
        .state
        .ethereum()
        .sender
        .ledger()
        .find(hash)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("{hash} not in the ledger"))
}

/// Waits for `check` to hold, for what a background task does; fails naming `what` if it never does.
async fn eventually<F: AsyncFn() -> bool>(what: &str, check: F) {
    for _ in 0..400 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("never happened: {what}");
}

async fn update(gw: &TestGateway, path: &str, value: Value) {
    let (status, body) =
        gw.post("/config/update", json!({"namespace": "ethereum-devnet", "path": path, "value": value})).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
}

async fn nonce(devnet: &Devnet, wallet: Address) -> u64 {
    node(devnet).get_transaction_count(wallet).await.unwrap()
}

#[tokio::test]
async fn a_gateway_restarted_over_the_same_conf_with_a_fresh_chain_sends_at_once_and_reconciles() {
    let devnet = common::devnet().await;
    let gw = TestGateway::on_devnet(&devnet).await;
    let wallet = devnet.accounts()[1];
    let start = nonce(&devnet, wallet).await;
    let mut first_run = Vec::new();
    for _ in 0..3 {
        let (status, body) = wrap(&gw, json!({})).await;
        assert_eq!((status, body["status"].as_i64()), (StatusCode::OK, Some(1)), "{body}");
        first_run.push(hash_of(&body));
    }
    assert_eq!(row(&gw, first_run[2]).await.status, TxStatus::Confirmed);
    // `gateway devnet` run again: the chain starts from its snapshot, the conf dir keeps the ledger of the first run.
    let conf = gw.stop().await;
    drop(devnet);
    let devnet = common::devnet().await;
    assert_eq!(nonce(&devnet, wallet).await, start, "the chain forgot the first run");
    gateway::config::Config::load(conf.path())
        .unwrap()
        .update("ethereum-devnet", "nodeURL", json!([devnet.rpc_url()]))
        .unwrap();
    let gw = TestGateway::start_in(conf, None, PASSPHRASE).await.unwrap();
    // Another amount: the same call at the same nonce and fees would sign to the first run's bytes.
    let (status, body) = wrap(&gw, json!({"amount": "0.005"})).await;
    assert_eq!((status, body["status"].as_i64()), (StatusCode::OK, Some(1)), "sends at once: {body}");
    assert_eq!(body["data"]["nonce"], start, "the node's nonce, not the ledger's");
    // The tracker finds the first run's blocks gone and says so in the ledger.
    for hash in first_run {
        eventually("the first run's transactions are dropped", async || {
            row(&gw, hash).await.status == TxStatus::Dropped
        })
        .await;
        let answer = poll(&gw, hash).await;
        assert_eq!(
            (answer["txStatus"].as_i64(), answer["ledgerStatus"].as_str()),
            (Some(-2), Some("dropped")),
            "{answer}"
        );
        assert!(row(&gw, hash).await.inclusion.is_none());
    }
    assert_eq!(row(&gw, hash_of(&body)).await.status, TxStatus::Confirmed);
}

#[tokio::test]
async fn a_transaction_the_node_drops_is_dropped_in_the_ledger_and_its_nonce_taken_by_the_next_send() {
    let devnet = common::devnet().await;
    let gw = TestGateway::on_devnet(&devnet).await;
    let wallet = devnet.accounts()[1];
    update(&gw, "transactionExecutionTimeoutMs", json!(300)).await;
    let anvil = node(&devnet);
    anvil.anvil_set_auto_mine(false).await.unwrap();
    let (status, body) = wrap(&gw, json!({})).await;
    let (lost, lost_nonce) = pending(&anvil, status, &body).await;
    assert_eq!(anvil.anvil_drop_transaction(lost).await.unwrap(), Some(lost));
    let answer = poll(&gw, lost).await;
    assert_eq!((answer["txStatus"].as_i64(), answer["ledgerStatus"].as_str()), (Some(0), Some("pending")), "{answer}");
    assert!(anvil.get_transaction_by_hash(lost).await.unwrap().is_none(), "a poll sends nothing again");

    anvil.anvil_set_auto_mine(true).await.unwrap();
    let (status, body) = wrap(&gw, json!({"amount": "0.002"})).await;
    assert_eq!((status, body["status"].as_i64()), (StatusCode::OK, Some(1)), "{body}");
    assert_eq!(body["data"]["nonce"].as_u64(), Some(lost_nonce), "the lost transaction's nonce is used, no gap left");
    assert_eq!(nonce(&devnet, wallet).await, lost_nonce + 1);
    let answer = poll(&gw, lost).await;
    assert_eq!((answer["txStatus"].as_i64(), answer["ledgerStatus"].as_str()), (Some(-2), Some("dropped")), "{answer}");

    // Asked again for exactly what was lost, the gateway signs the same bytes: the same transaction, mined now.
    anvil.anvil_set_auto_mine(false).await.unwrap();
    let (status, body) = wrap(&gw, json!({})).await;
    let (lost, _) = pending(&anvil, status, &body).await;
    anvil.anvil_drop_transaction(lost).await.unwrap();
    anvil.anvil_set_auto_mine(true).await.unwrap();
    let (status, body) = wrap(&gw, json!({})).await;
    assert_eq!((status, body["status"].as_i64()), (StatusCode::OK, Some(1)), "not a 500: {body}");
    assert_eq!(hash_of(&body), lost);
    assert_eq!(row(&gw, lost).await.status, TxStatus::Confirmed);
}

#[tokio::test]
async fn a_gateway_killed_between_signing_and_sending_never_sends_that_transaction() {
    use std::io::BufRead;
    let devnet = common::devnet().await;
    let wallet = devnet.accounts()[1];
    let gw = TestGateway::on_devnet(&devnet).await;
    let conf = gw.stop().await;
    let before = nonce(&devnet, wallet).await;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_gateway"))
        .args(["start", "--dev", "--port", "0", "--conf", conf.path().to_str().unwrap()])
        .env("GATEWAY_PASSPHRASE", PASSPHRASE)
        .env("GATEWAY_FAILPOINT", "abort-after-sign")
        .env("GATEWAY_BIND_ADDRESS", common::LOOPBACK)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let url = lines
        .find_map(|line| line.ok()?.split_whitespace().find(|w| w.starts_with("http://")).map(str::to_string))
        .expect("the gateway says where it listens");
    let request = json!({"network": "devnet", "amount": "0.001"});
    let answer = reqwest::Client::new()
        .post(format!("{url}/chains/ethereum/wrap"))
        .header("Idempotency-Key", "crash-1")
        .json(&request)
        .send()
        .await;
    assert!(answer.is_err(), "the process died before answering: {answer:?}");
    assert!(!child.wait().unwrap().success());
    assert_eq!(nonce(&devnet, wallet).await, before, "nothing reached the node");

    let gw = TestGateway::start_in(conf, None, PASSPHRASE).await.unwrap();
    let ledger = gw.gateway.state.ethereum().sender.ledger();
    let left = gw.gateway.state.storage().transactions_of_request("POST /chains/ethereum/wrap crash-1").await.unwrap();
    assert_eq!(left.len(), 1, "the signed transaction was recorded before the crash");
    let orphan = left[0].hash;
    eventually("the orphan is abandoned", async || {
        ledger.find(orphan).await.unwrap().unwrap().status == TxStatus::Abandoned
    })
    .await;
    assert!(node(&devnet).get_transaction_by_hash(orphan).await.unwrap().is_none(), "not broadcast on restart");
    let answer = poll(&gw, orphan).await;
    assert_eq!(
        (answer["txStatus"].as_i64(), answer["ledgerStatus"].as_str()),
        (Some(-2), Some("abandoned")),
        "{answer}"
    );
    // The client retries with its key: the first attempt reached no node, so the request runs afresh, once,
    // taking the abandoned transaction's nonce.
    let (status, body, (replayed, recovered)) =
        gw.post_keyed("/chains/ethereum/wrap", request.clone(), "crash-1").await;
    assert_eq!((status, body["status"].as_i64()), (StatusCode::OK, Some(1)), "{body}");
    assert!(!replayed && !recovered, "a fresh run, not a replay");
    assert_eq!((body["data"]["nonce"].as_u64(), left[0].nonce), (Some(before), before));
    assert_eq!(nonce(&devnet, wallet).await, before + 1);
    let (again, replay, (replayed, _)) = gw.post_keyed("/chains/ethereum/wrap", request, "crash-1").await;
    assert_eq!((again, &replay, replayed), (StatusCode::OK, &body, true), "its answer is kept");
    assert_eq!(nonce(&devnet, wallet).await, before + 1, "and nothing sent again");
}

#[tokio::test]
async fn one_idempotency_key_sends_once_and_answers_every_retry_the_same() {
    let devnet = common::devnet().await;
    let gw = TestGateway::on_devnet(&devnet).await;
    let wallet = devnet.accounts()[1];
    let before = nonce(&devnet, wallet).await;
    let request = json!({"network": "devnet", "amount": "0.002"});
    let (status, first, replayed) = gw.post_once("/chains/ethereum/wrap", request.clone(), "wrap-1").await;
    assert_eq!((status, replayed), (StatusCode::OK, false), "{first}");
    let (status, again, replayed) = gw.post_once("/chains/ethereum/wrap", request.clone(), "wrap-1").await;
    assert_eq!((status, replayed), (StatusCode::OK, true));
    assert_eq!(again, first, "the same answer, byte for byte");
    assert_eq!(nonce(&devnet, wallet).await, before + 1, "one transaction");

    // Sent again while the first is still waiting for its receipt: the retry waits for it and gets its answer.
    update(&gw, "transactionExecutionTimeoutMs", json!(1000)).await;
    let anvil = node(&devnet);
    anvil.anvil_set_auto_mine(false).await.unwrap();
    let body = json!({"network": "devnet", "amount": "0.003"});
    let first = tokio::spawn({
        let (url, body) = (gw.url("/chains/ethereum/wrap"), body.clone());
        async move {
            let response =
                reqwest::Client::new().post(url).header("Idempotency-Key", "wrap-2").json(&body).send().await.unwrap();
            (response.status(), response.text().await.unwrap())
        }
    });
    let storage = gw.gateway.state.storage();
    eventually("the first is sent", async || {
        !storage.transactions_of_request("POST /chains/ethereum/wrap wrap-2").await.unwrap().is_empty()
    })
    .await;
    let (status, retried, replayed) = gw.post_once("/chains/ethereum/wrap", body, "wrap-2").await;
    let (first_status, first_text) = first.await.unwrap();
    assert_eq!((status, replayed), (first_status, true), "{retried}");
    assert_eq!(retried, first_text, "the first one's answer");
    timed_out(status, &serde_json::from_str::<Value>(&retried).unwrap());
    anvil.anvil_set_auto_mine(true).await.unwrap();
    anvil.evm_mine(None).await.unwrap();
    assert_eq!(nonce(&devnet, wallet).await, before + 2);

    // A refused request retried is refused the same way, never a 500.
    let too_much = json!({"network": "devnet", "amount": "5000"});
    let (status, refused, _) = gw.post_once("/chains/ethereum/unwrap", too_much.clone(), "unwrap-1").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    let (status, again, replayed) = gw.post_once("/chains/ethereum/unwrap", too_much, "unwrap-1").await;
    assert_eq!((status, replayed, again), (StatusCode::BAD_REQUEST, true, refused));

    // The key of one request used for another is refused.
    let (status, text, _) =
        gw.post_once("/chains/ethereum/wrap", json!({"network": "devnet", "amount": "9"}), "wrap-1").await;
    assert_error_body(
        status,
        &serde_json::from_str(&text).unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "another request",
    );
    let (status, text, _) = gw.post_once("/chains/ethereum/wrap", request, "a key with spaces").await;
    assert_error_body(status, &serde_json::from_str(&text).unwrap(), StatusCode::BAD_REQUEST, "Idempotency-Key");
    assert_eq!(nonce(&devnet, wallet).await, before + 2);
}

#[tokio::test]
async fn a_client_that_hangs_up_gets_the_answer_when_it_retries_with_its_key() {
    let (devnet, gw, anvil) = stuck_setup().await;
    let wallet = devnet.accounts()[1];
    update(&gw, "transactionExecutionTimeoutMs", json!(800)).await;
    let before = nonce(&devnet, wallet).await;
    let request = json!({"network": "devnet", "amount": "0.004"});
    let impatient = reqwest::Client::builder().timeout(Duration::from_millis(200)).build().unwrap();
    let gone = impatient
        .post(gw.url("/chains/ethereum/wrap"))
        .header("Idempotency-Key", "hang-up")
        .json(&request)
        .send()
        .await;
    assert!(gone.is_err(), "the client gave up: {gone:?}");
    let storage = gw.gateway.state.storage();
    let scoped = "POST /chains/ethereum/wrap hang-up";
    eventually("the request finishes without its client", async || {
        matches!(
            storage.idempotency_key(scoped).await.unwrap(),
            Some(gateway::storage::Claim::Held { answer: Some(_), .. })
        )
    })
    .await;
    let (status, text, replayed) = gw.post_once("/chains/ethereum/wrap", request, "hang-up").await;
    assert!(replayed, "{text}");
    let answer: Value = serde_json::from_str(&text).unwrap();
    let sent = storage.transactions_of_request(scoped).await.unwrap();
    assert_eq!(sent.len(), 1);
    assert_eq!(timed_out(status, &answer), sent[0].hash, "the answer names what it sent");
    anvil.evm_mine(None).await.unwrap();
    assert_eq!(nonce(&devnet, wallet).await, before + 1, "sent once");
}

#[tokio::test]
async fn fees_over_a_cap_are_refused_before_signing_and_caps_change_without_restart() {
    let devnet = common::devnet().await;
    let gw = TestGateway::on_devnet(&devnet).await;
    let wallet = devnet.accounts()[1];
    let before = nonce(&devnet, wallet).await;
    // The next block's base fee over the devnet's gasPriceCap of 100 gwei.
    node(&devnet).anvil_set_next_block_base_fee_per_gas(150 * GWEI).await.unwrap();
    let request = json!({"network": "devnet", "amount": "0.001"});
    let (status, text, _) = gw.post_once("/chains/ethereum/wrap", request.clone(), "capped").await;
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_error_body(status, &body, StatusCode::BAD_REQUEST, "over gasPriceCap 100 gwei");
    assert_eq!(body["code"], "FEE_CAP");
    assert!(body["message"].as_str().unwrap().contains("150.001 gwei"), "names the fee needed: {body}");
    let signed = gw.gateway.state.storage().transactions_of_request("POST /chains/ethereum/wrap capped").await.unwrap();
    assert!(signed.is_empty(), "nothing signed: {signed:?}");
    assert_eq!(nonce(&devnet, wallet).await, before);

    update(&gw, "gasPriceCap", json!(1000)).await;
    let (status, body) = wrap(&gw, json!({})).await;
    assert_eq!((status, body["status"].as_i64()), (StatusCode::OK, Some(1)), "{body}");
    let tx = node(&devnet).get_transaction_by_hash(hash_of(&body)).await.unwrap().unwrap();
    assert!(alloy::consensus::Transaction::max_fee_per_gas(&tx) <= 1000 * GWEI);

    // What one transaction may cost: 0.0001 ETH is under 21k+ gas at 150 gwei.
    update(&gw, "maxTxFee", json!(0.0001)).await;
    node(&devnet).anvil_set_next_block_base_fee_per_gas(150 * GWEI).await.unwrap();
    let (status, body) = wrap(&gw, json!({})).await;
    assert_error_body(status, &body, StatusCode::BAD_REQUEST, "over maxTxFee 0.0001");
    let (status, body) =
        gw.post("/config/update", json!({"namespace": "ethereum-devnet", "path": "gasPriceCap", "value": -1})).await;
    assert_error_body(status, &body, StatusCode::BAD_REQUEST, "gasPriceCap");
}

/// A send of a shape sent before is signed and written ahead while its call is simulated (held here by a slow
/// node). If its request runs out of time meanwhile, what was written is taken back: nothing is sent, nothing is
/// left of it in the ledger, and the retry with its key runs afresh and sends, once.
#[tokio::test]
async fn a_send_written_ahead_for_a_request_out_of_time_is_taken_back() {
    let devnet = common::devnet().await;
    let (gw, slow) = holding(&devnet, "eth_call", Duration::from_millis(2500)).await;
    let wallet = devnet.accounts()[1];
    let (status, body) = wrap(&gw, json!({})).await;
    assert_eq!((status, body["status"].as_i64()), (StatusCode::OK, Some(1)), "the shape is now known: {body}");
    let (status, body) =
        gw.post("/config/update", json!({"namespace": "server", "path": "requestTimeoutSeconds", "value": 1})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let before = nonce(&devnet, wallet).await;
    let storage = gw.gateway.state.storage();
    let written = async || storage.transactions_of_request("POST /chains/ethereum/wrap late").await.unwrap();
    slow.store(true, Ordering::Relaxed);

    let request = json!({"network": "devnet", "amount": "0.001"});
    let late = tokio::spawn({
        let (http, url, request) = (gw.client().clone(), gw.url("/chains/ethereum/wrap"), request.clone());
        async move {
            let response = http.post(url).header("Idempotency-Key", "late").json(&request).send().await.unwrap();
            (response.status(), response.text().await.unwrap())
        }
    });
    eventually("written ahead while simulated", async || {
        written().await.iter().any(|row| row.status == TxStatus::Signed)
    })
    .await;
    let (status, text) = late.await.unwrap();
    assert_error_body(status, &serde_json::from_str(&text).unwrap(), StatusCode::GATEWAY_TIMEOUT, "nothing was signed");
    // The simulation answers after the request's time: what was written for it is taken back, not sent.
    eventually("taken back", async || written().await.is_empty()).await;
    assert_eq!(nonce(&devnet, wallet).await, before, "nothing sent for a request answered 504");

    slow.store(false, Ordering::Relaxed);
    let (status, text, replayed) = gw.post_once("/chains/ethereum/wrap", request, "late").await;
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!((status, replayed, body["data"]["nonce"].as_u64()), (StatusCode::OK, false, Some(before)), "{body}");
    let rows: Vec<_> = written().await.into_iter().map(|row| (row.hash, row.status)).collect();
    assert_eq!(rows, vec![(hash_of(&body), TxStatus::Confirmed)], "sent once, as written");
    assert_eq!(nonce(&devnet, wallet).await, before + 1);
}

/// A send of a shape sent before is also written ahead at the nonce after the gateway's last send from the wallet,
/// while the node is asked for the wallet's nonce (held here by a slow node). A transaction sent from the wallet
/// outside the gateway took that nonce meanwhile: what was written at it is taken back, never sent, and the send
/// is written again and sent at the node's nonce, once.
#[tokio::test]
async fn a_send_written_ahead_at_a_nonce_taken_outside_the_gateway_is_sent_at_the_nodes_nonce_instead() {
    let devnet = common::devnet().await;
    let (gw, slow) = holding(&devnet, "eth_getTransactionCount", Duration::from_millis(1500)).await;
    let wallet = devnet.accounts()[1];
    let (status, body) = wrap(&gw, json!({})).await;
    assert_eq!((status, body["status"].as_i64()), (StatusCode::OK, Some(1)), "the shape is now known: {body}");
    let guess = body["data"]["nonce"].as_u64().unwrap() + 1;
    let outside = alloy::rpc::types::TransactionRequest::default().from(wallet).to(wallet).value(U256::ZERO);
    node(&devnet).send_transaction(outside).await.unwrap().get_receipt().await.unwrap();
    assert_eq!(nonce(&devnet, wallet).await, guess + 1, "the nonce after the gateway's last send is taken");
    let storage = gw.gateway.state.storage();
    let written = async || storage.transactions_of_request("POST /chains/ethereum/wrap after").await.unwrap();
    slow.store(true, Ordering::Relaxed);

    let request = json!({"network": "devnet", "amount": "0.001"});
    let sending = tokio::spawn({
        let (http, url) = (gw.client().clone(), gw.url("/chains/ethereum/wrap"));
        async move {
            let response = http.post(url).header("Idempotency-Key", "after").json(&request).send().await.unwrap();
            (response.status(), response.json::<Value>().await.unwrap())
        }
    });
    eventually("written ahead at the guess while the nonce is asked", async || {
        written().await.iter().any(|row| (row.status, row.nonce) == (TxStatus::Signed, guess))
    })
    .await;
    let (status, body) = sending.await.unwrap();
    assert_eq!((status, body["data"]["nonce"].as_u64()), (StatusCode::OK, Some(guess + 1)), "{body}");
    let rows: Vec<_> = written().await.into_iter().map(|row| (row.hash, row.nonce, row.status)).collect();
    assert_eq!(rows, vec![(hash_of(&body), guess + 1, TxStatus::Confirmed)], "the write at the guess is taken back");
    assert_eq!(nonce(&devnet, wallet).await, guess + 2, "sent once");
}

/// The market's fees are read once a block. A read that finds a newer block than the gateway knew (its block
/// poller held here) is kept as of that block: learning of the block afterwards does not read them again.
#[tokio::test]
async fn fees_read_in_a_block_newer_than_known_are_not_read_again_when_that_block_becomes_known() {
    let devnet = common::devnet().await;
    let (fee_reads, polls_held) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicBool::new(false)));
    let gw = behind(&devnet, {
        let (fee_reads, polls_held) = (fee_reads.clone(), polls_held.clone());
        move |method, _| match method {
            "eth_feeHistory" | "eth_maxPriorityFeePerGas" => {
                fee_reads.fetch_add(1, Ordering::Relaxed);
                common::Interception::Forward
            }
            "eth_getBlockByNumber" if polls_held.load(Ordering::Relaxed) => {
                common::Interception::Delay(Duration::from_secs(10))
            }
            _ => common::Interception::Forward,
        }
    })
    .await;
    let estimate = async || {
        let (status, body) = gw.get("/chains/ethereum/estimate-gas?network=devnet").await;
        assert_eq!(status, StatusCode::OK, "{body}");
    };
    let learn_the_latest_block = async || {
        let (status, body) = gw.get("/chains/ethereum/status?network=devnet").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["currentBlockNumber"].as_u64().unwrap()
    };
    estimate().await;
    polls_held.store(true, Ordering::Relaxed);
    // A poll on its way is answered; the next ones are held.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let anvil = node(&devnet);
    anvil.anvil_mine(Some(1), None).await.unwrap();
    let known = learn_the_latest_block().await;
    anvil.anvil_mine(Some(1), None).await.unwrap();
    let before = fee_reads.load(Ordering::Relaxed);
    // Known: `known`, stale for the fees read before it; the read finds `known + 1`.
    estimate().await;
    assert_eq!(fee_reads.load(Ordering::Relaxed), before + 1);
    assert_eq!(learn_the_latest_block().await, known + 1);
    estimate().await;
    assert_eq!(fee_reads.load(Ordering::Relaxed), before + 1, "read once in block {}", known + 1);
}

/// After a send, the market's fees are read as each block comes, with no request asking: the next send finds its
/// block's fees read. Before any send, and between blocks, they are not read.
#[tokio::test]
async fn after_a_send_the_fees_of_each_new_block_are_read_ahead_once() {
    let devnet = common::devnet().await;
    let fee_reads = Arc::new(AtomicUsize::new(0));
    let gw = behind(&devnet, {
        let fee_reads = fee_reads.clone();
        move |method, _| {
            if method == "eth_feeHistory" {
                fee_reads.fetch_add(1, Ordering::Relaxed);
            }
            common::Interception::Forward
        }
    })
    .await;
    let anvil = node(&devnet);
    let (status, body) = gw.get("/chains/ethereum/status?network=devnet").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let idle = fee_reads.load(Ordering::Relaxed);
    anvil.anvil_mine(Some(1), None).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(fee_reads.load(Ordering::Relaxed), idle, "no send asked for fees yet");

    let (status, body) = wrap(&gw, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // The wrap's own block is read ahead too; then the reads settle.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = fee_reads.load(Ordering::Relaxed);
    anvil.anvil_mine(Some(1), None).await.unwrap();
    let read = async {
        while fee_reads.load(Ordering::Relaxed) == before {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(5), read).await.expect("the new block's fees are read");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(fee_reads.load(Ordering::Relaxed), before + 1, "read once in the new block");
}

/// A gateway ([`behind`]) whose node holds each call of `method` for `pause` while the flag answered is set.
async fn holding(devnet: &Devnet, method: &'static str, pause: Duration) -> (TestGateway, Arc<AtomicBool>) {
    let slow = Arc::new(AtomicBool::new(false));
    let gw = behind(devnet, {
        let slow = slow.clone();
        move |called, _| match called == method && slow.load(Ordering::Relaxed) {
            true => common::Interception::Delay(pause),
            false => common::Interception::Forward,
        }
    })
    .await;
    (gw, slow)
}

/// A gateway whose devnet node is `intercept`ing calls on their way to the devnet, with devnet account 1 added.
async fn behind(
    devnet: &Devnet,
    intercept: impl Fn(&str, usize) -> common::Interception + Send + Sync + 'static,
) -> TestGateway {
    let port = common::intercepting_node(devnet.rpc_url(), intercept).await;
    let conf = common::devnet_conf(&[format!("http://127.0.0.1:{port}/")]);
    let gw = TestGateway::start_in(conf, None, PASSPHRASE).await.expect("gateway starts");
    gw.add_wallet(devnet, 1).await;
    gw
}

async fn weth_of(gw: &TestGateway, devnet: &Devnet, wallet: Address) -> U256 {
    let weth = devnet.deployment().token("WETH").address;
    chains::erc20::balances(&gw.devnet_network(), wallet, &[weth]).await.unwrap().1[0]
}

#[tokio::test]
async fn a_transaction_the_node_took_though_its_answer_was_lost_is_answered_once_and_never_sent_twice() {
    let devnet = common::devnet().await;
    // The node takes the first transaction and mines it, and the gateway hears 502: it asks the node, which holds
    // it, so it is sent, once.
    // Either post: at once, or answered once mined (EIP-7966).
    let gw = behind(&devnet, |method, before| match method.starts_with("eth_sendRawTransaction") && before == 0 {
        true => common::Interception::ForwardThenAnswer(StatusCode::BAD_GATEWAY),
        false => common::Interception::Forward,
    })
    .await;
    let wallet = devnet.accounts()[1];
    let (nonce_before, weth_before) = (nonce(&devnet, wallet).await, weth_of(&gw, &devnet, wallet).await);
    let (status, body) = wrap(&gw, json!({})).await;
    assert_eq!((status, body["status"].as_i64()), (StatusCode::OK, Some(1)), "{body}");
    assert_eq!(poll(&gw, hash_of(&body)).await["txStatus"], 1);
    assert_eq!(nonce(&devnet, wallet).await, nonce_before + 1, "sent once");
    assert_eq!(weth_of(&gw, &devnet, wallet).await - weth_before, U256::from(1_000_000_000_000_000u64));
    assert_eq!(row(&gw, hash_of(&body)).await.status, TxStatus::Confirmed);
}

#[tokio::test]
async fn a_request_out_of_time_before_signing_is_answered_504_and_nothing_is_sent_for_it() {
    let devnet = common::devnet().await;
    let gw = behind(&devnet, |method, before| match (method, before) {
        ("eth_estimateGas", 0) => common::Interception::Delay(Duration::from_millis(2500)),
        _ => common::Interception::Forward,
    })
    .await;
    let (status, body) =
        gw.post("/config/update", json!({"namespace": "server", "path": "requestTimeoutSeconds", "value": 1})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let wallet = devnet.accounts()[1];
    let nonce_before = nonce(&devnet, wallet).await;
    // With a key, the request is served in a task of its own that outlives the answer: the 504 must still
    // withdraw it.
    let request = json!({"network": "devnet", "amount": "0.001"});
    let (status, text, _) = gw.post_once("/chains/ethereum/wrap", request.clone(), "late").await;
    assert_error_body(status, &serde_json::from_str(&text).unwrap(), StatusCode::GATEWAY_TIMEOUT, "nothing was signed");
    // The estimate comes back after the answer: the send it was for must not go ahead.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(nonce(&devnet, wallet).await, nonce_before, "nothing sent for a request answered 504");
    // The key was given back: the retry runs afresh and sends, once.
    let (status, text, replayed) = gw.post_once("/chains/ethereum/wrap", request, "late").await;
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        (status, replayed, body["data"]["nonce"].as_u64()),
        (StatusCode::OK, false, Some(nonce_before)),
        "{body}"
    );
    assert_eq!(nonce(&devnet, wallet).await, nonce_before + 1);
}

#[tokio::test]
async fn a_request_that_sent_a_transaction_is_answered_with_it_even_past_its_time() {
    let (devnet, gw, anvil) = stuck_setup().await;
    update(&gw, "transactionExecutionTimeoutMs", json!(10_000)).await;
    let (status, body) =
        gw.post("/config/update", json!({"namespace": "server", "path": "requestTimeoutSeconds", "value": 1})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let wallet = devnet.accounts()[1];
    let weth_before = weth_of(&gw, &devnet, wallet).await;
    let waiting = tokio::spawn({
        let (http, url) = (gw.client().clone(), gw.url("/chains/ethereum/wrap"));
        async move {
            common::into_json(
                http.post(url).json(&json!({"network": "devnet", "amount": "0.001"})).send().await.unwrap(),
            )
            .await
        }
    });
    tokio::time::sleep(Duration::from_millis(2000)).await;
    assert!(!waiting.is_finished(), "past its second, the request still waits for its receipt");
    anvil.evm_mine(None).await.unwrap();
    let (status, body) = waiting.await.unwrap();
    assert_eq!((status, body["status"].as_i64()), (StatusCode::OK, Some(1)), "{body}");
    assert_eq!(poll(&gw, hash_of(&body)).await["txStatus"], 1);
    assert_eq!(weth_of(&gw, &devnet, wallet).await - weth_before, U256::from(1_000_000_000_000_000u64));
}

/// A devnet where blocks come only when the test mines one, and a gateway answering "pending" after 300 ms.
async fn stuck_setup() -> (Devnet, TestGateway, RootProvider) {
    let devnet = common::devnet().await;
    let gw = TestGateway::on_devnet(&devnet).await;
    update(&gw, "transactionExecutionTimeoutMs", json!(300)).await;
    let anvil = node(&devnet);
    anvil.anvil_set_auto_mine(false).await.unwrap();
    (devnet, gw, anvil)
}

/// Sends a wrap that stays pending, then raises the next block's base fee over what it offered.
async fn stuck_wrap(gw: &TestGateway, anvil: &RootProvider) -> (B256, u64) {
    let (status, body) = wrap(gw, json!({})).await;
    let stuck = pending(anvil, status, &body).await;
    anvil.anvil_set_next_block_base_fee_per_gas(50 * GWEI).await.unwrap();
    stuck
}

#[tokio::test]
async fn a_stuck_transaction_is_sped_up_and_another_cancelled_and_poll_tells_each_hash_the_truth() {
    let (devnet, gw, anvil) = stuck_setup().await;
    let wallet = devnet.accounts()[1];
    let weth = devnet.deployment().token("WETH").address;
    let balance = async || chains::erc20::balances(&gw.devnet_network(), wallet, &[weth]).await.unwrap().1[0];
    let weth_before = balance().await;

    let (stuck, stuck_nonce) = stuck_wrap(&gw, &anvil).await;
    let (status, body) = gw.post("/chains/ethereum/speed-up", json!({"network": "devnet", "signature": stuck})).await;
    assert_eq!((status, body["status"].as_i64()), (StatusCode::OK, Some(0)), "{body}");
    let faster = hash_of(&body);
    assert_eq!(body["txHash"], body["signature"]);
    assert_eq!(body["data"]["replaced"], stuck.to_string());
    assert_eq!(body["data"]["nonce"].as_u64(), Some(stuck_nonce));
    let replacement = anvil.get_transaction_by_hash(faster).await.unwrap().unwrap();
    assert!(alloy::consensus::Transaction::max_fee_per_gas(&replacement) >= 50 * GWEI, "over the new base fee");
    anvil.evm_mine(None).await.unwrap();
    let answer = poll(&gw, stuck).await;
    assert_eq!(answer["txStatus"], 1, "what it stood for was mined: {answer}");
    assert_eq!(answer["replacedBy"], faster.to_string());
    assert_eq!(answer["ledgerStatus"], "replaced");
    let answer = poll(&gw, faster).await;
    assert_eq!(
        (answer["txStatus"].as_i64(), answer["ledgerStatus"].as_str()),
        (Some(1), Some("confirmed")),
        "{answer}"
    );
    assert_eq!(balance().await - weth_before, U256::from(1_000_000_000_000_000u64), "wrapped once");
    let (status, body) = gw.post("/chains/ethereum/speed-up", json!({"network": "devnet", "signature": faster})).await;
    assert_error_body(status, &body, StatusCode::BAD_REQUEST, "already mined");

    let (doomed, doomed_nonce) = stuck_wrap(&gw, &anvil).await;
    let (status, body) = gw
        .post("/chains/ethereum/cancel", json!({"network": "devnet", "address": wallet, "nonce": doomed_nonce}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let cancel = hash_of(&body);
    assert_eq!(body["data"]["replaced"], doomed.to_string());
    anvil.evm_mine(None).await.unwrap();
    let answer = poll(&gw, doomed).await;
    assert_eq!(answer["txStatus"], -1, "cancelled: {answer}");
    assert_eq!(answer["replacedBy"], cancel.to_string());
    assert!(answer["error"].as_str().unwrap().contains("cancelled"), "{answer}");
    assert_eq!(poll(&gw, cancel).await["txStatus"], 1);
    let mined = anvil.get_transaction_by_hash(cancel).await.unwrap().unwrap();
    assert_eq!(alloy::consensus::Transaction::to(&mined), Some(wallet), "a transfer to itself");
    assert_eq!(balance().await - weth_before, U256::from(1_000_000_000_000_000u64), "the cancelled wrap did nothing");
    assert_eq!(nonce(&devnet, wallet).await, doomed_nonce + 1);

    let (status, body) = gw
        .post("/chains/ethereum/cancel", json!({"network": "devnet", "address": wallet, "nonce": doomed_nonce}))
        .await;
    assert_error_body(status, &body, StatusCode::BAD_REQUEST, "no transaction");
    assert_eq!(body["code"], "NOTHING_TO_REPLACE");
    let (status, body) =
        gw.post("/chains/ethereum/speed-up", json!({"network": "devnet", "signature": B256::ZERO})).await;
    assert_error_body(status, &body, StatusCode::NOT_FOUND, "not a transaction this gateway sent");
}

#[tokio::test]
async fn a_transaction_stuck_under_the_market_is_replaced_automatically_and_the_request_answers_the_mined_one() {
    let (devnet, gw, anvil) = stuck_setup().await;
    let wallet = devnet.accounts()[1];
    update(&gw, "replaceAfterSeconds", json!(1)).await;
    update(&gw, "transactionExecutionTimeoutMs", json!(20_000)).await;
    let before = nonce(&devnet, wallet).await;
    let ledger = gw.gateway.state.ethereum().sender.ledger().clone();
    let waiting = tokio::spawn({
        let url = gw.url("/chains/ethereum/wrap");
        async move {
            common::into_json(
                reqwest::Client::new()
                    .post(url)
                    .json(&json!({"network": "devnet", "amount": "0.001"}))
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        }
    });
    eventually("the wrap is sent", async || !ledger.pending("devnet", 31337, 10).await.unwrap().is_empty()).await;
    let original = ledger.pending("devnet", 31337, 10).await.unwrap()[0].clone();
    anvil.anvil_set_next_block_base_fee_per_gas(50 * GWEI).await.unwrap();
    eventually("the tracker replaces it", async || !ledger.replacements(original.hash).await.unwrap().is_empty()).await;
    let replacement = ledger.replacements(original.hash).await.unwrap()[0].clone();
    assert_eq!(replacement.nonce, original.nonce);
    // The ledger records a replacement before the node has it: mined before it arrives, the block is empty.
    eventually("the node has the replacement", async || {
        anvil.get_transaction_by_hash(replacement.hash).await.unwrap().is_some()
    })
    .await;
    anvil.evm_mine(None).await.unwrap();
    let (status, body) = waiting.await.unwrap();
    assert_eq!((status, body["status"].as_i64()), (StatusCode::OK, Some(1)), "{body}");
    assert_eq!(hash_of(&body), replacement.hash, "the answer names the transaction that was mined");
    assert_eq!(body["data"]["nonce"].as_u64(), Some(before));
    let answer = poll(&gw, original.hash).await;
    assert_eq!((answer["txStatus"].as_i64(), answer["ledgerStatus"].as_str()), (Some(1), Some("replaced")), "{answer}");
    assert_eq!(nonce(&devnet, wallet).await, before + 1);
}

#[tokio::test]
async fn a_cancel_mined_in_place_of_a_request_still_waiting_answers_it_as_failed() {
    let (devnet, gw, anvil) = stuck_setup().await;
    let wallet = devnet.accounts()[1];
    update(&gw, "transactionExecutionTimeoutMs", json!(20_000)).await;
    let ledger = gw.gateway.state.ethereum().sender.ledger().clone();
    let post = |path: &'static str, body: Value| {
        let url = gw.url(path);
        tokio::spawn(async move {
            common::into_json(reqwest::Client::new().post(url).json(&body).send().await.unwrap()).await
        })
    };
    let waiting = post("/chains/ethereum/wrap", json!({"network": "devnet", "amount": "0.001"}));
    eventually("the wrap is sent", async || !ledger.pending("devnet", 31337, 10).await.unwrap().is_empty()).await;
    let original = ledger.pending("devnet", 31337, 10).await.unwrap()[0].clone();
    let cancelling =
        post("/chains/ethereum/cancel", json!({"network": "devnet", "address": wallet, "nonce": original.nonce}));
    eventually("the cancel is recorded", async || !ledger.replacements(original.hash).await.unwrap().is_empty()).await;
    let cancel = ledger.replacements(original.hash).await.unwrap()[0].hash;
    // Recorded before it is sent: the block is mined once the node has it.
    eventually("the node has the cancel", async || anvil.get_transaction_by_hash(cancel).await.unwrap().is_some())
        .await;
    anvil.evm_mine(None).await.unwrap();
    let (status, body) = waiting.await.unwrap();
    assert_eq!((status, body["status"].as_i64()), (StatusCode::OK, Some(-1)), "the wrap did not happen: {body}");
    assert_eq!(hash_of(&body), cancel, "it names what was mined");
    let (status, body) = cancelling.await.unwrap();
    assert_eq!((status, body["status"].as_i64()), (StatusCode::OK, Some(1)), "{body}");
    assert_eq!(row(&gw, original.hash).await.status, TxStatus::Replaced);
}

#[tokio::test]
async fn the_tracker_drops_what_another_transaction_displaced_and_what_the_node_lost_long_enough() {
    let (devnet, gw, anvil) = stuck_setup().await;
    let wallet = devnet.accounts()[1];
    // Another program using the same wallet takes the nonce of the gateway's pending transaction.
    let (status, body) = wrap(&gw, json!({})).await;
    let (displaced, taken) = pending(&anvil, status, &body).await;
    let other = alloy::rpc::types::TransactionRequest::default()
        .from(wallet)
        .to(wallet)
        .nonce(taken)
        .gas_limit(21_000)
        .max_fee_per_gas(100 * GWEI)
        .max_priority_fee_per_gas(GWEI);
    let _pending = anvil.send_transaction(other).await.unwrap();
    anvil.evm_mine(None).await.unwrap();
    eventually("the displaced one is dropped", async || row(&gw, displaced).await.status == TxStatus::Dropped).await;
    assert_eq!(poll(&gw, displaced).await["txStatus"], -2);

    // One the node lost and nothing replaced: dropped once dropAfterSeconds has passed.
    update(&gw, "dropAfterSeconds", json!(1)).await;
    let (status, body) = wrap(&gw, json!({"amount": "0.002"})).await;
    let (lost, lost_nonce) = pending(&anvil, status, &body).await;
    assert_eq!(lost_nonce, taken + 1);
    anvil.anvil_drop_transaction(lost).await.unwrap();
    eventually("the lost one is dropped", async || row(&gw, lost).await.status == TxStatus::Dropped).await;
    assert_eq!(nonce(&devnet, wallet).await, taken + 1);
}

#[tokio::test]
async fn a_swap_mined_after_its_deadline_reverts_instead_of_trading() {
    let (devnet, gw, anvil) = stuck_setup().await;
    let wallet = devnet.accounts()[1];
    let (status, body) =
        gw.post("/config/update", json!({"namespace": "uniswap", "path": "deadlineSeconds", "value": 30})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    anvil.anvil_set_auto_mine(true).await.unwrap();
    let (status, body) = gw
        .post("/chains/ethereum/approve", json!({"network": "devnet", "token": "WETH", "spender": "uniswap/router"}))
        .await;
    assert_eq!((status, body["status"].as_i64()), (StatusCode::OK, Some(1)), "{body}");
    anvil.anvil_set_auto_mine(false).await.unwrap();
    let weth = devnet.deployment().token("WETH").address;
    let weth_before = chains::erc20::balances(&gw.devnet_network(), wallet, &[weth]).await.unwrap().1[0];
    // Through SwapRouter02, whose swaps take their deadline in multicall.
    let (status, body) = gw
        .post(
            "/trading/router/execute-swap",
            json!({"chainNetwork": "ethereum-devnet", "connector": "uniswap",
            "baseToken": "WETH", "quoteToken": "USDC", "amount": 0.1, "side": "SELL"}),
        )
        .await;
    let late = timed_out(status, &body);
    anvil.anvil_increase_time(120).await.unwrap();
    anvil.evm_mine(None).await.unwrap();
    let answer = poll(&gw, late).await;
    assert_eq!((answer["txStatus"].as_i64(), answer["ledgerStatus"].as_str()), (Some(-1), Some("failed")), "{answer}");
    let receipt = anvil.get_transaction_receipt(late).await.unwrap().expect("mined");
    assert!(!receipt.status(), "reverted past its deadline");
    let weth_after = chains::erc20::balances(&gw.devnet_network(), wallet, &[weth]).await.unwrap().1[0];
    assert_eq!(weth_after, weth_before, "nothing traded");
}

/// `per_wallet` wraps from each of `wallets` (devnet account indexes), all at once, spread over `gateways`; checks
/// every one was mined and each wallet's nonces are contiguous.
async fn wraps_from_many_wallets(devnet: &Devnet, gateways: &[&TestGateway], wallets: &[usize], per_wallet: usize) {
    let mut starts = Vec::new();
    for &index in wallets {
        starts.push(nonce(devnet, devnet.accounts()[index]).await);
    }
    let started = std::time::Instant::now();
    let requests = (0..per_wallet).flat_map(|round| wallets.iter().map(move |&index| (round, index))).enumerate().map(
        |(i, (_, index))| {
            let gw = gateways[i % gateways.len()];
            let address = devnet.accounts()[index];
            async move {
                let started = std::time::Instant::now();
                let answer = wrap(gw, json!({"address": address})).await;
                (index, answer, started.elapsed())
            }
        },
    );
    let answers = futures::future::join_all(requests).await;
    let slowest = answers.iter().map(|(_, _, took)| *took).max().unwrap_or_default();
    eprintln!(
        "{} wraps from {} wallets over {} gateway(s): {:.2} s in all, slowest request {:.2} s",
        answers.len(),
        wallets.len(),
        gateways.len(),
        started.elapsed().as_secs_f64(),
        slowest.as_secs_f64()
    );
    for (position, &index) in wallets.iter().enumerate() {
        let mut nonces: Vec<u64> = answers
            .iter()
            .filter(|(wallet, _, _)| *wallet == index)
            .map(|(_, (status, body), _)| {
                assert_eq!((*status, body["status"].as_i64()), (StatusCode::OK, Some(1)), "{body}");
                body["data"]["nonce"].as_u64().unwrap()
            })
            .collect();
        nonces.sort();
        let start = starts[position];
        assert_eq!(nonces, (start..start + per_wallet as u64).collect::<Vec<_>>(), "wallet {index}: contiguous");
        assert_eq!(nonce(devnet, devnet.accounts()[index]).await, start + per_wallet as u64);
    }
}

async fn postgres_gateway(devnet: &Devnet, url: &str, wallets: &[usize]) -> TestGateway {
    let conf = common::devnet_conf(&[devnet.rpc_url()]);
    // A small pool: a send holding one connection while waiting for another would starve it at once.
    gateway::config::Config::load(conf.path()).unwrap().update("server", "databaseMaxConnections", json!(4)).unwrap();
    let gw = TestGateway::start_in(conf, Some(url.to_string()), PASSPHRASE).await.unwrap();
    for &index in wallets {
        gw.add_wallet(devnet, index).await;
    }
    gw
}

#[tokio::test]
async fn postgres_holds_ten_wallets_sending_ten_wraps_each_at_once() {
    let Some(db) = crate::common::postgres::PostgresDb::create().await else { return };
    let devnet = common::devnet().await;
    let wallets: Vec<usize> = (0..10).collect();
    let gw = postgres_gateway(&devnet, &db.url, &wallets).await;
    wraps_from_many_wallets(&devnet, &[&gw], &wallets, 10).await;
    gw.stop().await;
    db.drop_db().await;
}

#[tokio::test]
async fn three_instances_sharing_postgres_send_three_hundred_wraps_as_one_gateway() {
    let Some(db) = crate::common::postgres::PostgresDb::create().await else { return };
    let devnet = common::devnet().await;
    let wallets: Vec<usize> = (0..10).collect();
    let first = postgres_gateway(&devnet, &db.url, &wallets).await;
    let second = postgres_gateway(&devnet, &db.url, &wallets).await;
    let third = postgres_gateway(&devnet, &db.url, &wallets).await;
    wraps_from_many_wallets(&devnet, &[&first, &second, &third], &wallets, 30).await;
    for gw in [first, second, third] {
        gw.stop().await;
    }
    db.drop_db().await;
}

#[tokio::test]
async fn a_key_left_by_a_killed_instance_is_answered_at_once_by_another_pending_then_with_its_outcome() {
    let Some(db) = crate::common::postgres::PostgresDb::create().await else { return };
    let devnet = common::devnet().await;
    let conf = common::devnet_conf(&[devnet.rpc_url()]);
    let config = gateway::config::Config::load(conf.path()).unwrap();
    config.update("ethereum-devnet", "transactionExecutionTimeoutMs", json!(60_000)).unwrap();
    let process = common::GatewayProcess::start(conf.path(), &[("DATABASE_URL", db.url.as_str())]);
    let client = reqwest::Client::new();
    let add = json!({"chain": "ethereum", "privateKey": devnet.private_key(1), "setDefault": true});
    let added = client.post(format!("{}/wallet/add", process.url)).json(&add).send().await.unwrap();
    assert_eq!(added.status(), StatusCode::OK);
    let anvil = node(&devnet);
    anvil.anvil_set_auto_mine(false).await.unwrap();
    // A keyed wrap that waits for a block that does not come, then its instance killed.
    let request = json!({"network": "devnet", "amount": "0.005"});
    let waiting = client
        .post(format!("{}/chains/ethereum/wrap", process.url))
        .header("Idempotency-Key", "killed-1")
        .json(&request)
        .send();
    let waiting = tokio::spawn(waiting);
    let storage = gateway::storage::Storage::connect(&db.url).await.unwrap();
    let scoped = "POST /chains/ethereum/wrap killed-1";
    // Sent means the node holds it: the ledger's row is written before the send, and a kill between the two
    // leaves a transaction nobody has, which the other instance rightly answers as dropped.
    eventually("the wrap is sent", async || {
        let sent = storage.transactions_of_request(scoped).await.unwrap();
        match sent.first() {
            Some(sent) => anvil.get_transaction_by_hash(sent.hash).await.unwrap().is_some(),
            None => false,
        }
    })
    .await;
    process.kill();
    assert!(waiting.await.unwrap().is_err(), "its client lost the answer");

    let other = TestGateway::start_in(common::devnet_conf(&[devnet.rpc_url()]), Some(db.url.clone()), PASSPHRASE)
        .await
        .unwrap();
    // Not mined yet: the pending form, at once, for the client to poll.
    let started = std::time::Instant::now();
    let (status, body, flags) = other.post_keyed("/chains/ethereum/wrap", request.clone(), "killed-1").await;
    let took = started.elapsed();
    let sent = storage.transactions_of_request(scoped).await.unwrap();
    assert_eq!((status, flags), (StatusCode::OK, (true, true)), "{body}");
    assert_eq!(body, json!({"signature": sent[0].hash.to_string(), "status": 0}));
    assert!(took < Duration::from_secs(1), "answered at once, not after waiting for a dead instance: {took:?}");
    // Mined: the route's own answer, rebuilt from the receipt, kept for every later retry.
    anvil.anvil_set_auto_mine(true).await.unwrap();
    anvil.evm_mine(None).await.unwrap();
    let (status, body, flags) = other.post_keyed("/chains/ethereum/wrap", request.clone(), "killed-1").await;
    assert_eq!((status, flags), (StatusCode::OK, (true, true)), "{body}");
    let receipt = anvil.get_transaction_receipt(sent[0].hash).await.unwrap().unwrap();
    let fee = U256::from(receipt.gas_used) * U256::from(receipt.effective_gas_price);
    assert_eq!(body["signature"], sent[0].hash.to_string());
    assert_eq!(body["status"], 1);
    assert_eq!(body["data"]["amount"], "0.005");
    assert_eq!(body["data"]["nonce"].as_u64(), Some(sent[0].nonce));
    assert_eq!(body["data"]["fee"], chains::amount::format_units(fee, 18), "{body}");
    assert_eq!(body["data"]["wrappedToken"], "WETH");
    let (_, replay, flags) = other.post_keyed("/chains/ethereum/wrap", request, "killed-1").await;
    assert_eq!((&replay, flags), (&body, (true, false)), "kept: replayed as it is");
    assert_eq!(storage.transactions_of_request(scoped).await.unwrap().len(), 1, "nothing sent again");
    storage.close().await;
    other.stop().await;
    db.drop_db().await;
}

#[tokio::test]
async fn a_send_refused_for_rate_posts_the_same_bytes_again_and_never_skips_a_nonce() {
    let devnet = common::devnet().await;
    // Posts of either kind (at once, or answered once mined): the first wrap's first two of each refused, the second
    // wrap's all refused (for as long as it keeps trying), the third's first taken.
    let refusing = Arc::new(AtomicBool::new(false));
    let refuses = refusing.clone();
    let intercept = move |method: &str, before: usize| match method.starts_with("eth_sendRawTransaction")
        && (before < 2 || refuses.load(Ordering::Relaxed))
    {
        true => common::Interception::Refuse(StatusCode::TOO_MANY_REQUESTS),
        false => common::Interception::Forward,
    };
    let port = common::intercepting_node(devnet.rpc_url(), intercept).await;
    let conf = common::devnet_conf(&[format!("http://127.0.0.1:{port}")]);
    let gw = TestGateway::start_in(conf, None, PASSPHRASE).await.unwrap();
    gw.add_wallet(&devnet, 1).await;
    let wallet = devnet.accounts()[1];
    let before = nonce(&devnet, wallet).await;
    let (status, body) = wrap(&gw, json!({})).await;
    assert_eq!((status, body["status"].as_i64()), (StatusCode::OK, Some(1)), "{body}");
    assert_eq!(nonce(&devnet, wallet).await, before + 1);
    refusing.store(true, Ordering::Relaxed);
    let (status, body) = wrap(&gw, json!({})).await;
    refusing.store(false, Ordering::Relaxed);
    assert_eq!((status, body["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("RATE_LIMITED")), "{body}");
    assert_eq!(nonce(&devnet, wallet).await, before + 1, "nothing sent");
    let (status, body) = wrap(&gw, json!({})).await;
    assert_eq!((status, body["data"]["nonce"].as_u64()), (StatusCode::OK, Some(before + 1)), "no gap: {body}");
}

#[tokio::test]
async fn a_wallet_added_or_made_default_through_one_instance_signs_on_every_other_within_a_second_and_stops_when_removed()
 {
    let Some(db) = crate::common::postgres::PostgresDb::create().await else { return };
    let devnet = common::devnet().await;
    let mut gateways = Vec::new();
    for _ in 0..3 {
        gateways.push(TestGateway::on_devnet_with(&devnet, Some(db.url.clone())).await);
    }
    let added = devnet.accounts()[2];
    let add = json!({"chain": "ethereum", "privateKey": devnet.private_key(2), "setDefault": false});
    let (status, body) = gateways[0].post("/wallet/add", add).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let started = std::time::Instant::now();
    let wrap_from = json!({"network": "devnet", "address": added, "amount": "0.001"});
    for gw in &gateways[1..] {
        eventually("the wallet signs on another instance", async || {
            gw.post("/chains/ethereum/wrap", wrap_from.clone()).await.0 == StatusCode::OK
        })
        .await;
    }
    assert!(started.elapsed() < Duration::from_secs(3), "within about a second: {:?}", started.elapsed());
    // Made default through the second: the first signs a wrap naming no wallet with it.
    let made = json!({"chain": "ethereum", "address": added});
    assert_eq!(gateways[1].post("/wallet/setDefault", made).await.0, StatusCode::OK);
    let sent_before = nonce(&devnet, added).await;
    let anonymous = json!({"network": "devnet", "amount": "0.001"});
    eventually("the first instance signs with the new default", async || {
        let (status, _) = gateways[0].post("/chains/ethereum/wrap", anonymous.clone()).await;
        status == StatusCode::OK && nonce(&devnet, added).await > sent_before
    })
    .await;

    let removed = gateways[2]
        .client()
        .delete(gateways[2].url("/wallet/remove"))
        .json(&json!({"chain": "ethereum", "address": added}))
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), StatusCode::OK);
    eventually("the first instance stops signing for it", async || {
        let (status, body) = gateways[0].post("/chains/ethereum/wrap", wrap_from.clone()).await;
        status == StatusCode::NOT_FOUND && body["code"] == "WALLET_NOT_FOUND"
    })
    .await;
    eventually("no instance keeps the removed default", async || {
        let (status, body) = gateways[1].post("/chains/ethereum/wrap", anonymous.clone()).await;
        status == StatusCode::BAD_REQUEST && body["message"].as_str().is_some_and(|m| m.contains("no default wallet"))
    })
    .await;
    for gw in gateways {
        gw.stop().await;
    }
    db.drop_db().await;
}

#[tokio::test]
async fn a_wrap_reorged_out_is_not_reported_mined_and_its_nonce_is_taken_again_without_a_gap() {
    let devnet = common::devnet().await;
    let gw = TestGateway::on_devnet(&devnet).await;
    let wallet = devnet.accounts()[1];
    let anvil = node(&devnet);
    let before = nonce(&devnet, wallet).await;
    let (status, body) = wrap(&gw, json!({})).await;
    assert_eq!((status, body["status"].as_i64()), (StatusCode::OK, Some(1)), "{body}");
    let reorged = hash_of(&body);
    assert_eq!(poll(&gw, reorged).await["txStatus"], 1);
    // Three blocks replaced by three empty ones: the wrap is in none of them.
    anvil.evm_mine(None).await.unwrap();
    anvil.evm_mine(None).await.unwrap();
    let options = alloy::rpc::types::anvil::ReorgOptions { depth: 3, tx_block_pairs: vec![] };
    anvil.anvil_reorg(options).await.unwrap();
    assert!(anvil.get_transaction_receipt(reorged).await.unwrap().is_none(), "reorged out");
    assert_eq!(nonce(&devnet, wallet).await, before, "the chain forgot it");
    eventually("poll no longer reports it mined", async || poll(&gw, reorged).await["txStatus"] != 1).await;
    let answer = poll(&gw, reorged).await;
    assert!(
        matches!(
            (answer["txStatus"].as_i64(), answer["ledgerStatus"].as_str()),
            (Some(0), Some("pending")) | (Some(-2), Some("dropped"))
        ),
        "pending or dropped: {answer}"
    );
    let (status, body) = wrap(&gw, json!({"amount": "0.002"})).await;
    assert_eq!((status, body["status"].as_i64()), (StatusCode::OK, Some(1)), "{body}");
    let tx = anvil.get_transaction_by_hash(hash_of(&body)).await.unwrap().unwrap();
    assert_eq!(alloy::consensus::Transaction::nonce(&tx), before, "its nonce taken again, no gap");
}

#[tokio::test]
async fn with_two_confirmations_a_wrap_is_answered_once_a_block_is_on_top_of_its_own() {
    let devnet = common::devnet().await;
    let gw = TestGateway::on_devnet(&devnet).await;
    update(&gw, "confirmations", json!(2)).await;
    let anvil = node(&devnet);
    let before = nonce(&devnet, devnet.accounts()[1]).await;
    let wrapping = tokio::spawn({
        let (client, url) = (gw.client().clone(), gw.url("/chains/ethereum/wrap"));
        async move {
            common::into_json(
                client.post(url).json(&json!({"network": "devnet", "amount": "0.001"})).send().await.unwrap(),
            )
            .await
        }
    });
    // Mined at once (automine), and not yet answered: one confirmation of two.
    let sent = mined_next(&devnet, devnet.accounts()[1], before).await;
    let receipt = anvil.get_transaction_receipt(sent).await.unwrap().expect("mined");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!wrapping.is_finished(), "answered after one confirmation of two");
    let polled = poll(&gw, sent).await;
    assert_eq!(polled["txStatus"], 0, "{polled}");
    assert!(polled["error"].as_str().is_some_and(|e| e.contains("1 of the 2 confirmations")), "{polled}");
    anvil.evm_mine(None).await.unwrap();
    let (status, body) = wrapping.await.unwrap();
    assert_eq!((status, body["status"].as_i64()), (StatusCode::OK, Some(1)), "{body}");
    assert_eq!(body["signature"], sent.to_string());
    assert_eq!(poll(&gw, sent).await["txBlock"].as_u64(), receipt.block_number);
    assert_eq!(poll(&gw, sent).await["txStatus"], 1);
}

/// The hash of the transaction `wallet` sent at nonce `before`, once a block holds it.
async fn mined_next(devnet: &Devnet, wallet: Address, before: u64) -> B256 {
    let anvil = node(devnet);
    eventually("the transaction is mined", async || nonce(devnet, wallet).await > before).await;
    let block = anvil.get_block_by_number(alloy::eips::BlockNumberOrTag::Latest).await.unwrap().unwrap();
    *block.transactions.hashes().collect::<Vec<_>>().first().expect("the block holds it")
}

#[tokio::test]
async fn a_quote_after_a_reorg_replaced_the_latest_block_is_computed_from_the_block_that_replaced_it() {
    let devnet = common::devnet().await;
    let gw = TestGateway::on_devnet(&devnet).await;
    let path = "/trading/clmm/quote-swap?chainNetwork=ethereum-devnet&connector=uniswap&baseToken=WETH&quoteToken=USDC&amount=1&side=SELL";
    let (_, before) = gw.get(path).await;
    // A swap moves the pool in the latest block; the quote follows it.
    let approve = json!({"network": "devnet", "token": "USDC", "spender": "uniswap/clmm"});
    assert_eq!(gw.post("/chains/ethereum/approve", approve).await.0, StatusCode::OK);
    let swap = json!({"chainNetwork": "ethereum-devnet", "connector": "uniswap", "baseToken": "USDC", "quoteToken": "WETH", "amount": 20000, "side": "SELL"});
    let (status, body) = gw.post("/trading/clmm/execute-swap", swap).await;
    assert_eq!((status, body["status"].as_i64()), (StatusCode::OK, Some(1)), "{body}");
    let (_, moved) = gw.get(path).await;
    assert_ne!(moved["amountOut"], before["amountOut"], "the swap moved the price");
    // A reorg replaces that block with an empty one at the same height: the swap never happened.
    let options = alloy::rpc::types::anvil::ReorgOptions { depth: 1, tx_block_pairs: vec![] };
    node(&devnet).anvil_reorg(options).await.unwrap();
    eventually("the quote is computed from the replacing block", async || {
        gw.get(path).await.1["amountOut"] == before["amountOut"]
    })
    .await;
    let (_, after) = gw.get(path).await;
    assert_eq!(
        (after["amountOut"].clone(), after["blockNumber"].clone()),
        (before["amountOut"].clone(), moved["blockNumber"].clone())
    );
}
