//! The scenarios that send transactions: how often a pool is read as blocks come, and an executed swap to its
//! receipt against the floor of signing, sending and waiting from this process.

use std::time::Duration;

use alloy::network::EthereumWallet;
use alloy::primitives::{Address, U256};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::rpc::types::TransactionRequest;
use alloy::signers::local::PrivateKeySigner;
use connectors::core::family::TradingType;
use serde_json::json;

use super::Bench;
use super::measure::{quote_calls, sequential};
use super::scenarios::QuoteRun;

/// Pool reads per block: after each swap (a new block), 50 clmm quotes of one pool; only their calls count.
pub async fn pool_reads_per_block(bench: &mut Bench, runs: &[QuoteRun]) {
    let clmm = runs.iter().find(|run| run.name == TradingType::Clmm.as_str()).expect("a clmm quote");
    let blocks = 20;
    let mut quote_reads = 0;
    for _ in 0..blocks {
        let swap = json!({"chainNetwork": "ethereum-devnet", "connector": "uniswap", "baseToken": "WETH",
            "quoteToken": "USDC", "amount": "0.01", "side": "SELL"});
        bench.post(&format!("/trading/{}/execute-swap", TradingType::Amm), swap).await;
        let before = quote_calls(&bench.rpc_counts.lock().unwrap());
        for _ in 0..50 {
            bench.client.get(&clmm.url).send().await.unwrap().bytes().await.unwrap();
        }
        quote_reads += quote_calls(&bench.rpc_counts.lock().unwrap()) - before;
    }
    bench.report.add(
        "pool_reads_per_block",
        "RPC calls of 50 clmm quotes per new block (one pool, 20 blocks)",
        format!("{quote_reads} ({:.2} per pool per block)", quote_reads as f64 / blocks as f64),
        "≤ 1 per pool per block",
        json!(quote_reads as f64 / blocks as f64),
    );
}

/// Execute-swap: send to receipt, against signing + eth_sendRawTransaction + receipt from this process.
pub async fn execute_swap(bench: &mut Bench) {
    let path = format!("/trading/{}/execute-swap", TradingType::Clmm);
    let body = json!({"chainNetwork": "ethereum-devnet", "connector": "uniswap", "baseToken": "WETH",
        "quoteToken": "USDC", "amount": "0.01", "side": "SELL", "poolAddress": "0x88e6A0c2dDD26FEEb64F039a2c41296FcB3f5640"});
    let executed = sequential(100, || async {
        bench.post(&path, body.clone()).await;
    })
    .await;
    let signer: PrivateKeySigner = bench.devnet.private_key(2).parse().unwrap();
    let to: Address = bench.devnet.accounts()[3];
    let wallet_provider = ProviderBuilder::new()
        .wallet(EthereumWallet::from(signer))
        .connect_http(bench.devnet.rpc_url().parse().unwrap());
    let raw_send = sequential(100, || async {
        let pending =
            wallet_provider.send_transaction(TransactionRequest::default().to(to).value(U256::from(1))).await.unwrap();
        let hash = *pending.tx_hash();
        while wallet_provider.get_transaction_receipt(hash).await.unwrap().is_none() {
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
    })
    .await;
    bench.report.add(
        "execute_swap_us",
        "clmm execute-swap to receipt p50 / p99 (×floor)",
        format!(
            "{:.0} / {:.0} µs ({:.2}×)",
            executed.percentile(0.5),
            executed.percentile(0.99),
            executed.percentile(0.5) / raw_send.percentile(0.5)
        ),
        "",
        json!({"p50": executed.percentile(0.5), "p99": executed.percentile(0.99)}),
    );
    bench.report.add(
        "raw_send_us",
        "raw sign + send + receipt p50 / p99",
        format!("{:.0} / {:.0} µs", raw_send.percentile(0.5), raw_send.percentile(0.99)),
        "the floor",
        json!({"p50": raw_send.percentile(0.5), "p99": raw_send.percentile(0.99)}),
    );
}
