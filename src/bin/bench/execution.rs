//! The scenarios that send transactions: how often a pool is read as blocks come; each kind of execution to its
//! receipt against the floor of signing, sending and waiting from this process; and the ledger's write-ahead
//! record alone.

use std::time::{Duration, Instant};

use alloy::network::EthereumWallet;
use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::rpc::types::TransactionRequest;
use alloy::signers::local::PrivateKeySigner;
use chains::tx::{Ledger, LedgerTx, SenderSession, TxKind, TxStatus};
use connectors::core::family::TradingType;
use serde_json::{Value, json};

use super::Bench;
use super::measure::{Samples, quote_calls};
use super::scenarios::QuoteRun;

/// Executions measured per row, after a tenth as many unmeasured.
const EXECUTIONS: usize = 100;
/// The pause before each execution and each raw send.
const QUIET: Duration = Duration::from_millis(10);

/// Pool reads per block: after each amm swap (a new block), 50 clmm quotes of one pool; only their calls count.
pub async fn pool_reads_per_block(bench: &mut Bench, runs: &[QuoteRun]) {
    let clmm = runs.iter().find(|run| run.name == TradingType::Clmm.as_str()).expect("a clmm quote");
    let blocks = 20;
    let mut quote_reads = 0;
    for _ in 0..blocks {
        let swap = json!({"chainNetwork": "ethereum-devnet", "connector": "uniswap", "baseToken": "WETH",
            "quoteToken": "USDC", "amount": "0.01", "side": "SELL"});
        bench.post(&format!("/trading/{}/execute-swap", TradingType::Amm), swap).await;
        // The swap's own pair is read again in the background once it is mined: that read is not the quotes'.
        tokio::time::sleep(QUIET).await;
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

/// One kind of execution: the route, and the two requests it alternates (a sale then a purchase of the same
/// amount, so the pools end near where they started).
struct Execution {
    name: String,
    path: String,
    requests: [Value; 2],
    target: &'static str,
}

fn swaps(bench: &Bench) -> Vec<Execution> {
    let v4_pool = super::scenarios::v4_weth_usdc(bench).to_string();
    let pair = |amount: &str, pool: Option<&str>| {
        ["SELL", "BUY"].map(|side| {
            let mut request = json!({"chainNetwork": "ethereum-devnet", "connector": "uniswap", "baseToken": "WETH",
                "quoteToken": "USDC", "amount": amount, "side": side});
            if let Some(pool) = pool {
                request["poolAddress"] = pool.into();
            }
            request
        })
    };
    let path = |kind: TradingType| format!("/trading/{kind}/execute-swap");
    let (amm, clmm, router) = (TradingType::Amm, TradingType::Clmm, TradingType::Router);
    vec![
        Execution {
            name: amm.to_string(), path: path(amm), requests: pair("0.01", None), target: "≤ 1.5× the floor"
        },
        Execution {
            name: clmm.to_string(),
            path: path(clmm),
            requests: pair("0.01", Some("0x88e6A0c2dDD26FEEb64F039a2c41296FcB3f5640")),
            target: "≤ 1.5× the floor",
        },
        Execution {
            name: format!("{clmm} v4"),
            path: path(clmm),
            requests: pair("0.01", Some(&v4_pool)),
            target: "≤ 1.5× the floor",
        },
        // 50 WETH goes three ways on the devnet's pools.
        Execution {
            name: format!("{router} split"),
            path: path(router),
            requests: pair("50", None),
            target: "≤ 2× the floor",
        },
    ]
}

/// Every kind of execution to its receipt, one at a time, in turn with the floor: a plain transfer signed, sent
/// and waited for from this process (its nonce, gas and fees filled by the provider, as a wallet does). Taken in
/// turn, both see the same chain (anvil slows as its blocks pile up) and the same moments of the machine. The
/// gateway talks to the node directly meanwhile, as the floor does, not through the proxy that counts its calls.
pub async fn executions(bench: &mut Bench) {
    bench.use_node(&bench.devnet.rpc_url()).await;
    let floor = RawSend::new(bench);
    for execution in swaps(bench) {
        eprintln!("bench: {} execute-swap to receipt", execution.name);
        let (samples, floor_samples) =
            in_turn(&floor, |turn| bench.post(&execution.path, execution.requests[turn % 2].clone())).await;
        let key = format!("execute_swap_{}_us", execution.name.replace(' ', "_"));
        let label = format!("{} execute-swap to receipt p50 / p99 (× raw send in turn)", execution.name);
        add_execution(bench, (&key, &label, execution.target), &samples, &floor_samples);
    }
    eprintln!("bench: execute-quote to receipt");
    let (samples, floor_samples) = in_turn(&floor, |turn| execute_quote(bench, ["SELL", "BUY"][turn % 2])).await;
    let label = "router execute-quote to receipt p50 / p99 (× raw send in turn)";
    add_execution(bench, ("execute_quote_us", label, ""), &samples, &floor_samples);
    eprintln!("bench: wrap to receipt");
    let wrap = json!({"network": "devnet", "amount": "0.001"});
    let (samples, floor_samples) = in_turn(&floor, |_| bench.post("/chains/ethereum/wrap", wrap.clone())).await;
    add_execution(bench, ("wrap_us", "wrap to receipt p50 / p99 (× raw send in turn)", ""), &samples, &floor_samples);
    let (floor_p50, floor_p99) = (floor_samples.percentile(0.5), floor_samples.percentile(0.99));
    bench.report.add(
        "raw_send_us",
        "raw sign + send + receipt p50 / p99 (in turn with the wraps)",
        format!("{floor_p50:.0} / {floor_p99:.0} µs"),
        "the floor",
        json!({"p50": floor_p50, "p99": floor_p99}),
    );
    ledger_write(bench).await;
    bench.use_node(&bench.counted_node.clone()).await;
}

/// `execute(turn)` and a raw send in turn, [`EXECUTIONS`] of each measured after a tenth as many unmeasured; the
/// samples measured, the execution's first.
async fn in_turn<F: std::future::Future>(floor: &RawSend, mut execute: impl FnMut(usize) -> F) -> (Samples, Samples) {
    let (mut executed, mut sent) = (Samples::default(), Samples::default());
    for turn in 0..EXECUTIONS + EXECUTIONS / 10 {
        // Each starts on a quiet machine: what the other left running (the gateway reads its pools again after a
        // swap, follows the block a raw send made) is done first.
        tokio::time::sleep(QUIET).await;
        let started = Instant::now();
        execute(turn).await;
        let execution = started.elapsed().as_secs_f64() * 1e6;
        tokio::time::sleep(QUIET).await;
        let started = Instant::now();
        floor.send().await;
        if turn >= EXECUTIONS / 10 {
            executed.0.push(execution);
            sent.0.push(started.elapsed().as_secs_f64() * 1e6);
        }
    }
    (executed, sent)
}

fn add_execution(bench: &mut Bench, (key, label, target): (&str, &str, &str), samples: &Samples, floor: &Samples) {
    let (p50, p99, floor_p50) = (samples.percentile(0.5), samples.percentile(0.99), floor.percentile(0.5));
    bench.report.add(
        key,
        label,
        format!("{p50:.0} / {p99:.0} µs ({:.2}× {floor_p50:.0} µs)", p50 / floor_p50),
        target,
        json!({"p50": p50, "p99": p99, "raw_send_p50_in_turn": floor_p50, "ratio_to_floor": p50 / floor_p50}),
    );
}

/// A router quote taken, then executed to its receipt.
async fn execute_quote(bench: &Bench, side: &str) {
    let quote = format!(
        "{}/trading/router/quote-swap?chainNetwork=ethereum-devnet&connector=uniswap&baseToken=WETH&quoteToken=USDC&\
         amount=0.01&side={side}",
        bench.base
    );
    let quoted: Value = bench.client.get(quote).send().await.unwrap().json().await.unwrap();
    bench
        .post(
            "/trading/router/execute-quote",
            json!({"chainNetwork": "ethereum-devnet", "connector": "uniswap", "quoteId": quoted["quoteId"]}),
        )
        .await;
}

/// The floor: a plain transfer from another devnet account, signed, sent and waited for from this process.
struct RawSend {
    provider: alloy::providers::DynProvider,
    to: Address,
}

impl RawSend {
    fn new(bench: &Bench) -> RawSend {
        let signer: PrivateKeySigner = bench.devnet.private_key(2).parse().unwrap();
        let provider = ProviderBuilder::new()
            .wallet(EthereumWallet::from(signer))
            .connect_http(bench.devnet.rpc_url().parse().unwrap());
        RawSend { provider: provider.erased(), to: bench.devnet.accounts()[3] }
    }

    async fn send(&self) {
        let request = TransactionRequest::default().to(self.to).value(U256::from(1));
        let hash = *self.provider.send_transaction(request).await.unwrap().tx_hash();
        while self.provider.get_transaction_receipt(hash).await.unwrap().is_none() {
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
    }
}

/// The write-ahead record alone: what every send writes (and waits for the disk to hold) before it is sent, in a
/// SQLite ledger of its own, as `gateway start` keeps it.
async fn ledger_write(bench: &mut Bench) {
    let dir = tempfile::TempDir::new().unwrap();
    let storage = gateway::storage::Storage::connect(&gateway::storage::default_url(dir.path())).await.unwrap();
    let sender = Address::repeat_byte(7);
    // A signed swap's size.
    let raw = Bytes::from(vec![0x5a; 532]);
    let mut samples = Samples::default();
    for nonce in 0..1100u64 {
        let row = LedgerTx {
            hash: B256::from(U256::from(nonce)),
            chain_id: 31337,
            network: "devnet".into(),
            sender,
            nonce,
            raw: raw.clone(),
            status: TxStatus::Signed,
            kind: TxKind::Call,
            label: "swap".into(),
            inclusion: None,
            replaces: None,
            request_key: None,
            recorded_at: chains::tx::now_ms(),
        };
        let mut session = storage.lock_sender(31337, sender).await.unwrap();
        let started = Instant::now();
        session.record(&row).await.unwrap();
        if nonce >= 100 {
            samples.0.push(started.elapsed().as_secs_f64() * 1e6);
        }
        session.release().await;
    }
    bench.report.add(
        "ledger_record_us",
        "ledger write-ahead record (SQLite, on disk before the send) p50 / p99",
        format!("{:.0} / {:.0} µs", samples.percentile(0.5), samples.percentile(0.99)),
        "",
        json!({"p50": samples.percentile(0.5), "p99": samples.percentile(0.99)}),
    );
}
