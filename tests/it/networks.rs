//! Each chain's gas rules, applied as data: a tip floor, legacy transactions, a tip never collected; here through
//! the network config's overrides on the plain devnet, the same values the chain ids select on real networks.

use alloy::consensus::Transaction as _;
use alloy::primitives::B256;
use alloy::providers::Provider;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{self, TestGateway, assert_error_body};

const GWEI: u128 = 1_000_000_000;

async fn set(gw: &TestGateway, path: &str, value: Value) -> (StatusCode, Value) {
    gw.post("/config/update", json!({"namespace": "ethereum-devnet", "path": path, "value": value})).await
}

async fn wrapped(gw: &TestGateway) -> alloy::rpc::types::Transaction {
    let (status, body) = gw.post("/chains/ethereum/wrap", json!({"network": "devnet", "amount": "0.001"})).await;
    assert_eq!((status, body["status"].as_i64()), (StatusCode::OK, Some(1)), "{body}");
    let hash: B256 = body["signature"].as_str().unwrap().parse().unwrap();
    gw.devnet_network().provider().get_transaction_by_hash(hash).await.unwrap().expect("the node has it")
}

#[tokio::test]
async fn a_tip_floor_lifts_every_tip_and_a_legacy_chain_gets_legacy_transactions_at_its_minimum() {
    let devnet = common::devnet().await;
    let gw = TestGateway::on_devnet(&devnet).await;

    // Polygon's rule: the template's 0.001 GWEI tip is lifted to the floor, in the estimate and in what is sent.
    let (status, body) = set(&gw, "minPriorityFee", json!(25)).await;
    assert_error_body(status, &body, StatusCode::BAD_REQUEST, "over maxPriorityFee (10 GWEI)");
    assert_eq!(set(&gw, "maxPriorityFee", json!(50)).await.0, StatusCode::OK);
    assert_eq!(set(&gw, "minPriorityFee", json!(25)).await.0, StatusCode::OK);
    let (_, estimate) = gw.get("/chains/ethereum/estimate-gas?network=devnet").await;
    assert_eq!(estimate["maxPriorityFeePerGas"], 25, "{estimate}");
    let sent = wrapped(&gw).await;
    assert_eq!(sent.max_priority_fee_per_gas(), Some(25 * GWEI));
    assert!(sent.max_fee_per_gas() >= 25 * GWEI);

    // BSC's rule: legacy, at the node's gas price or the floor, whichever is higher.
    assert_eq!(set(&gw, "transactionType", json!("legacy")).await.0, StatusCode::OK);
    let node_price = gw.devnet_network().provider().get_gas_price().await.unwrap();
    let sent = wrapped(&gw).await;
    assert_eq!(sent.inner.tx_type(), alloy::consensus::TxType::Legacy);
    assert_eq!(sent.gas_price(), Some(node_price.max(25 * GWEI)));
    let (_, estimate) = gw.get("/chains/ethereum/estimate-gas?network=devnet").await;
    assert_eq!(estimate["gasType"], "legacy", "{estimate}");

    // A floor the caps cannot pay is refused when it is set, naming both.
    let (status, body) = set(&gw, "minPriorityFee", json!(600)).await;
    assert_error_body(status, &body, StatusCode::BAD_REQUEST, "minPriorityFee");
    assert!(body["message"].as_str().unwrap().contains("gasPriceCap"), "{body}");
    let (status, body) = set(&gw, "transactionType", json!("type-7")).await;
    assert_error_body(status, &body, StatusCode::BAD_REQUEST, "transactionType");
}

#[tokio::test]
async fn on_an_op_stack_chain_the_fee_reported_is_what_the_wallet_paid_l1_data_fee_included() {
    use gateway::devnet::{Devnet, DevnetAssets, Profile};
    let base = Profile::named("base").unwrap();
    let devnet =
        Devnet::start_like(&DevnetAssets::locate(), 0, base, &|step| eprintln!("devnet: {step}")).await.unwrap();
    let conf = common::devnet_conf(&[devnet.rpc_url()]);
    gateway::config::Config::load(conf.path()).unwrap().update("ethereum-devnet", "chainID", json!(8453)).unwrap();
    let gw = TestGateway::start_in(conf, None, common::PASSPHRASE).await.unwrap();
    let wallet = gw.add_wallet(&devnet, 1).await;
    let node = gw.devnet_network().provider().clone();

    let (_, estimate) = gw.get("/chains/ethereum/estimate-gas?network=devnet").await;
    let l1_estimate: f64 = estimate["l1DataFee"].as_f64().expect("the estimate names the L1 data fee");
    assert!(l1_estimate > 0.0, "{estimate}");
    let gas_only = estimate["feePerComputeUnit"].as_f64().unwrap() * 300_000.0 / 1e9;
    assert!((estimate["fee"].as_f64().unwrap() - gas_only - l1_estimate).abs() < 1e-12, "{estimate}");

    let before = node.get_balance(wallet).await.unwrap();
    let (status, body) = gw.post("/chains/ethereum/wrap", json!({"network": "devnet", "amount": "0.001"})).await;
    assert_eq!((status, body["status"].as_i64()), (StatusCode::OK, Some(1)), "{body}");
    let after = node.get_balance(wallet).await.unwrap();
    let paid = before - after - alloy::primitives::U256::from(1_000_000_000_000_000u64);
    let hash: B256 = body["signature"].as_str().unwrap().parse().unwrap();
    let receipt = node.get_transaction_receipt(hash).await.unwrap().unwrap();
    let gas =
        alloy::primitives::U256::from(receipt.gas_used) * alloy::primitives::U256::from(receipt.effective_gas_price);
    assert!(paid > gas, "the node charged an L1 data fee on top of gas: paid {paid}, gas {gas}");
    assert_eq!(body["data"]["fee"], chains::amount::format_units(paid, 18), "the fee reported is what was paid");
    let (_, polled) = gw.post("/chains/ethereum/poll", json!({"network": "devnet", "signature": hash})).await;
    assert_eq!(polled["fee"].as_f64(), body["data"]["fee"].as_str().unwrap().parse::<f64>().ok(), "{polled}");
}
