//! The quote scenarios: the floors a quote is compared against, each kind of quote one at a time and under load,
//! what the gateway adds in-process and inside its router, and the router's search over hundreds of pools.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::Instant;

use alloy::primitives::U256;
use alloy::primitives::aliases::{U24, U160};
use alloy::sol_types::SolCall;
use connectors::core::family::TradingType;
use connectors::core::pool_address::PoolAddress;
use connectors::dex::Registry;
use connectors::v3::IQuoterV2;
use serde_json::{Value, json};

use super::Bench;
use super::measure::{
    NEXT_VARIANT, RawRequest, Samples, VARIANT, concurrent, quote_calls, sequential_pair, sequential_raw,
};

/// What quotes are compared against: a raw `eth_blockNumber` to the same node.
pub struct Floor {
    pub block_number: RawRequest,
}

/// A quote measured: its row name, its URL, and the targets of its rows.
pub struct QuoteRun {
    pub name: String,
    pub url: String,
    latency_target: &'static str,
    throughput_target: &'static str,
}

/// A funded wallet with allowances, and LINK's one pool: a V2 pair with WETH, so its best route to USDC changes
/// family at WETH.
pub async fn fund(bench: &Bench) {
    let key = bench.devnet.private_key(1);
    bench.post("/wallet/add", json!({"chain": "ethereum", "privateKey": key, "setDefault": true})).await;
    for kind in [TradingType::Amm, TradingType::Clmm, TradingType::Router] {
        for token in ["WETH", "USDC"] {
            let spender = format!("uniswap/{kind}");
            bench
                .post("/chains/ethereum/approve", json!({"network": "devnet", "token": token, "spender": spender}))
                .await;
        }
    }
    gateway::devnet::add_market(&bench.devnet, &[("LINK", 15), ("WETH", 3000)], 1_000_000, &[])
        .await
        .expect("LINK pair");
}

/// The floors, from this process: a raw eth_blockNumber and a QuoterV2 eth_call against the node.
pub async fn floors(bench: &mut Bench) -> Floor {
    let devnet = &bench.devnet;
    let block_number_request = RawRequest::post_json(
        &devnet.rpc_url(),
        &json!({"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []}),
    );
    let block_number = sequential_raw(&block_number_request, 2000).await;
    let (weth, usdc) = (devnet.deployment().token("WETH").address, devnet.deployment().token("USDC").address);
    let quoter = Registry::builtin().find("uniswap", "devnet").unwrap().v3.unwrap().quoter_v2;
    let quote_call = IQuoterV2::quoteExactInputSingleCall {
        params: IQuoterV2::QuoteExactInputSingleParams {
            tokenIn: weth,
            tokenOut: usdc,
            amountIn: U256::from(10u64.pow(18)),
            fee: U24::from(500),
            sqrtPriceLimitX96: U160::ZERO,
        },
    };
    let quoter_call = RawRequest::post_json(
        &devnet.rpc_url(),
        &json!({"jsonrpc": "2.0", "id": 1, "method": "eth_call", "params": [
            {"to": quoter, "data": alloy::primitives::hex::encode_prefixed(quote_call.abi_encode())}, "latest"
        ]}),
    );
    let quoter_call = sequential_raw(&quoter_call, 2000).await;
    let floor = block_number.percentile(0.5);
    bench.report.add(
        "raw_block_number_us",
        "raw eth_blockNumber p50 / p99",
        format!("{:.0} / {:.0} µs", floor, block_number.percentile(0.99)),
        "the floor",
        json!({"p50": floor, "p99": block_number.percentile(0.99)}),
    );
    bench.report.add(
        "raw_quoter_call_us",
        "raw QuoterV2 eth_call p50 / p99",
        format!("{:.0} / {:.0} µs", quoter_call.percentile(0.5), quoter_call.percentile(0.99)),
        "",
        json!({"p50": quoter_call.percentile(0.5), "p99": quoter_call.percentile(0.99)}),
    );
    Floor { block_number: block_number_request }
}

/// The devnet's V4 WETH/USDC pool, beside V3's.
pub fn v4_weth_usdc(bench: &Bench) -> PoolAddress {
    bench
        .devnet
        .deployment()
        .pools
        .iter()
        .find(|pool| matches!(pool.address, PoolAddress::Id(_)) && pool.base == "WETH" && pool.quote == "USDC")
        .expect("the devnet has a V4 WETH/USDC pool")
        .address
}

/// The quotes measured: amm, clmm (V3 and V4) and router ones (a two-hop, a split, a route changing family); and
/// each amm and clmm quote twice: the same request over and over, as a polling bot sends it (answered again
/// while the block holds), and with a new amount each time, so every one is computed.
fn quote_runs(bench: &Bench) -> Vec<QuoteRun> {
    // The V4 pool of the same pair, beside V3's: a quote on it runs the same math on state read through a lens.
    let v4_weth_usdc = v4_weth_usdc(bench);
    let base = &bench.base;
    let swap = |kind: TradingType, query: &str| {
        format!("{base}/trading/{kind}/quote-swap?chainNetwork=ethereum-devnet&connector=uniswap&{query}")
    };
    let (amm, clmm, router) = (TradingType::Amm, TradingType::Clmm, TradingType::Router);
    let pool = |kind: TradingType, name: String, url: String| QuoteRun {
        name,
        url,
        latency_target: "< raw eth_blockNumber p50",
        throughput_target: if kind.is_pool_type() { "≥ 20,000/s" } else { "" },
    };
    let routed = |name: String, url: String, throughput_target| QuoteRun {
        name,
        url,
        latency_target: "< 1000 µs",
        throughput_target,
    };
    let pools = [
        pool(amm, amm.to_string(), swap(amm, "baseToken=WETH&quoteToken=USDC&amount=1&side=SELL")),
        pool(
            clmm,
            clmm.to_string(),
            swap(
                clmm,
                "baseToken=WETH&quoteToken=USDC&amount=1&side=SELL&poolAddress=0x88e6A0c2dDD26FEEb64F039a2c41296FcB3f5640",
            ),
        ),
        pool(
            clmm,
            format!("{clmm}_v4"),
            swap(clmm, &format!("baseToken=WETH&quoteToken=USDC&amount=1&side=SELL&poolAddress={v4_weth_usdc}")),
        ),
    ];
    let computed: Vec<QuoteRun> = pools
        .iter()
        .map(|run| QuoteRun {
            name: format!("{}_computed", run.name),
            url: run.url.replacen("amount=1&", &format!("amount=1.{VARIANT}&"), 1),
            ..*run
        })
        .collect();
    let routes = [
        routed(router.to_string(), swap(router, "baseToken=WBTC&quoteToken=USDC&amount=0.5&side=SELL"), "≥ 5,000/s"),
        routed(
            format!("{router}_split"),
            swap(router, "baseToken=WETH&quoteToken=USDC&amount=500&side=SELL"),
            "≥ half the router's",
        ),
        routed(
            format!("{router}_mixed"),
            swap(router, "baseToken=LINK&quoteToken=USDC&amount=50&side=SELL"),
            "≥ half the router's",
        ),
    ];
    pools.into_iter().chain(routes).chain(computed).collect()
}

/// Each quote one at a time, in turn with a raw eth_blockNumber; and how many RPC calls a warm one makes.
pub async fn quote_latency(bench: &mut Bench, floor: &Floor) -> Vec<QuoteRun> {
    let runs = quote_runs(bench);
    // What each router quote is: its legs and their pools' types, so a row says which search it measures.
    let mut shapes = BTreeMap::new();
    for run in runs.iter().filter(|run| !run.url.contains(VARIANT)) {
        let answer: Value = bench.client.get(&run.url).send().await.unwrap().json().await.unwrap();
        shapes.insert(run.name.clone(), route_shape(&answer));
    }
    let mut p50s = BTreeMap::new();
    for run in &runs {
        let kind = &run.name;
        eprintln!("bench: {kind} quotes, one at a time");
        let request = RawRequest::get(&run.url);
        // The first quote reads the pools; the rest are warm.
        sequential_raw(&request, 1).await;
        let rpc_before = quote_calls(&bench.rpc_counts.lock().unwrap());
        let (beside, samples) = sequential_pair(&floor.block_number, &request, 2000).await;
        let rpc_per_quote = (quote_calls(&bench.rpc_counts.lock().unwrap()) - rpc_before) as f64 / 2200.0;
        let (p50, p99, floor_beside) = (samples.percentile(0.5), samples.percentile(0.99), beside.percentile(0.5));
        p50s.insert(kind.clone(), p50);
        let shape = shapes.get(kind).map(|shape| format!(" [{shape}]")).unwrap_or_default();
        bench.report.add(
            &format!("{kind}_quote_us"),
            &format!("{}{shape} quote p50 / p99 (× eth_blockNumber taken in turn)", kind.replace('_', " ")),
            format!("{p50:.0} / {p99:.0} µs ({:.2}× {floor_beside:.0} µs)", p50 / floor_beside),
            run.latency_target,
            json!({"p50": p50, "p99": p99, "block_number_p50_in_turn": floor_beside, "ratio_to_block_number": p50 / floor_beside}),
        );
        bench.report.add(
            &format!("{kind}_rpc_per_quote"),
            &format!("{} RPC calls per warm quote", kind.replace('_', " ")),
            format!("{rpc_per_quote:.4}"),
            "0 in a block already read",
            json!(rpc_per_quote),
        );
    }
    let clmm = TradingType::Clmm;
    for (v4, v3) in
        [(format!("{clmm}_v4"), clmm.to_string()), (format!("{clmm}_v4_computed"), format!("{clmm}_computed"))]
    {
        let ratio = p50s[&v4] / p50s[&v3];
        bench.report.add(
            &format!("{v4}_to_v3"),
            &format!("{} quote p50 ÷ V3's", v4.replace('_', " ")),
            format!("{ratio:.2}×"),
            "≤ 1.20×",
            json!(ratio),
        );
    }
    runs
}

/// The same quotes through a gateway's whole router in this process, no socket: what the gateway itself adds.
pub async fn in_process(bench: &mut Bench, runs: &[QuoteRun]) {
    let local = gateway::server::start(gateway::server::GatewayOptions::local(
        bench.conf.path().into(),
        gateway::passphrase::Passphrase::new(super::PASSPHRASE),
    ))
    .await
    .expect("in-process gateway starts");
    let app = gateway::server::app(local.state.clone());
    let health = format!("{}/", bench.base);
    let named = runs.iter().map(|run| (run.name.as_str(), run.url.as_str())).chain([("health", health.as_str())]);
    for (kind, url) in named {
        let path = url.strip_prefix(&bench.base).unwrap().to_string();
        let call = || {
            let variant = format!("{:09}", NEXT_VARIANT.fetch_add(1, Ordering::Relaxed) % 1_000_000_000);
            // A client names the host it reaches; the gateway answers plain HTTP to local names only.
            let request = axum::http::Request::get(path.replacen(VARIANT, &variant, 1))
                .header(axum::http::header::HOST, "127.0.0.1")
                .body(axum::body::Body::empty())
                .unwrap();
            tower::ServiceExt::oneshot(app.clone(), request)
        };
        let first = call().await.unwrap();
        let status = first.status();
        let body = axum::body::to_bytes(first.into_body(), usize::MAX).await.unwrap();
        assert!(status.is_success(), "in-process {kind}: {status} {}", String::from_utf8_lossy(&body));
        for _ in 0..200 {
            let _ = axum::body::to_bytes(call().await.unwrap().into_body(), usize::MAX).await.unwrap();
        }
        let mut samples = Samples::default();
        for _ in 0..2000 {
            let start = Instant::now();
            let response = call().await.unwrap();
            let _ = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
            samples.0.push(start.elapsed().as_secs_f64() * 1e6);
        }
        bench.report.add(
            &format!("{kind}_in_process_us"),
            &format!("{} through the router in-process p50 / p99", kind.replace('_', " ")),
            format!("{:.1} / {:.1} µs", samples.percentile(0.5), samples.percentile(0.99)),
            "",
            json!({"p50": samples.percentile(0.5), "p99": samples.percentile(0.99)}),
        );
    }
    local.stop().await.unwrap();
}

/// Time inside the gateway's router and handler per quote (from its own /metrics, over the runs above).
pub async fn time_inside(bench: &mut Bench) {
    let metrics = bench.client.get(format!("{}/metrics", bench.base)).send().await.unwrap().text().await.unwrap();
    for kind in [TradingType::Amm, TradingType::Clmm, TradingType::Router] {
        let series = |suffix: &str| {
            metrics
                .lines()
                .find(|line| {
                    line.starts_with(&format!("gateway_http_request_duration_seconds_{suffix}{{"))
                        && line.contains(&format!("route=\"/trading/{kind}/quote-swap\""))
                })
                .and_then(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        let inside = series("sum") / series("count").max(1.0) * 1e6;
        bench.report.add(
            &format!("{kind}_quote_inside_us"),
            &format!("{kind} quote time inside the gateway (mean)"),
            format!("{inside:.1} µs"),
            "",
            json!(inside),
        );
    }
}

/// Each quote, and the health check, from 16 and 64 connections at once: rate and p99.
pub async fn throughput(bench: &mut Bench, runs: &[QuoteRun]) {
    let health = format!("{}/", bench.base);
    for connections in [16usize, 64] {
        let named = runs.iter().map(|run| (run.name.as_str(), run.url.as_str(), run.throughput_target)).chain([(
            "health",
            health.as_str(),
            "",
        )]);
        for (kind, url, target) in named {
            eprintln!("bench: {kind} at {connections} connections");
            let (rate, samples) = concurrent(&RawRequest::get(url), connections, bench.duration).await;
            let (p50, p99) = (samples.percentile(0.5), samples.percentile(0.99));
            let target = match connections {
                16 => target,
                _ if kind.starts_with(TradingType::Router.as_str()) => "p99 ≤ 10× p50",
                _ => "",
            };
            bench.report.add(
                &format!("{kind}_{connections}c"),
                &format!("{} at {connections} connections: rate, p50 / p99", kind.replace('_', " ")),
                format!("{rate:.0}/s, {p50:.0} / {p99:.0} µs ({:.1}×)", p99 / p50),
                target,
                json!({"per_second": rate, "p50_us": p50, "p99_us": p99}),
            );
        }
    }
}

/// A router answer's shape: its legs, each as its pools' types (`V3+V2` for a leg through a V3 pool then a pair).
fn route_shape(answer: &Value) -> String {
    let legs = answer["splits"].as_array().cloned().unwrap_or_default();
    let kinds = |route: &Value| {
        let kinds: Vec<&str> = route
            .as_array()
            .into_iter()
            .flatten()
            .map(|step| {
                let kind = step["type"].as_str().and_then(TradingType::parse);
                match (kind, step["poolAddress"].as_str().map(str::len)) {
                    (Some(TradingType::Amm), _) => "V2",
                    // A V4 pool is named by its 32-byte id.
                    (_, Some(66)) => "V4",
                    _ => "V3",
                }
            })
            .collect();
        kinds.join("+")
    };
    match &legs[..] {
        [] => kinds(&answer["route"]),
        legs => legs.iter().map(|leg| kinds(&leg["route"])).collect::<Vec<_>>().join(" | "),
    }
}

/// Dollar prices the many-pool market sets the devnet's tokens at.
const MARKET: [(&str, u64); 9] = [
    ("WETH", 3000),
    ("USDC", 1),
    ("USDT", 1),
    ("DAI", 1),
    ("WBTC", 60_000),
    ("LINK", 15),
    ("UNI", 8),
    ("AAVE", 150),
    ("MKR", 1500),
];

/// The router's search over hundreds of pools: a pair and a pool at each V3 tier between every two of the
/// devnet's tokens, all listed, and a quote whose routes may pass through any of them (up to 3 hops).
pub async fn many_pools(bench: &mut Bench, floor: &Floor) {
    eprintln!("bench: adding a market of many pools");
    let added = gateway::devnet::add_market(&bench.devnet, &MARKET, 1_000_000, &[100, 500, 3000, 10_000])
        .await
        .expect("market");
    let base = bench.base.clone();
    for pool in &added {
        let body = json!({"chainNetwork": "ethereum-devnet", "connector": "uniswap", "type": pool.kind,
            "address": pool.address, "baseTokenAddress": pool.base_address});
        bench.post("/pools", body).await;
    }
    let listed: Value = bench
        .client
        .get(format!("{base}/pools?chainNetwork=ethereum-devnet&connector=uniswap"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let pools = listed.as_array().map_or(0, Vec::len);
    let url = format!(
        "{base}/trading/{}/quote-swap?chainNetwork=ethereum-devnet&connector=uniswap&baseToken=LINK&quoteToken=AAVE&amount=20000&side=SELL",
        TradingType::Router
    );
    let request = RawRequest::get(&url);
    let answer: Value = bench.client.get(&url).send().await.unwrap().json().await.unwrap();
    let shape = route_shape(&answer);
    let rpc_before = quote_calls(&bench.rpc_counts.lock().unwrap());
    let (beside, samples) = sequential_pair(&floor.block_number, &request, 500).await;
    let rpc_per_quote = (quote_calls(&bench.rpc_counts.lock().unwrap()) - rpc_before) as f64 / 550.0;
    let (p50, p99) = (samples.percentile(0.5), samples.percentile(0.99));
    bench.report.add(
        "router_many_pools_quote_us",
        &format!("router quote over {pools} listed pools [{shape}] p50 / p99"),
        format!(
            "{p50:.0} / {p99:.0} µs ({:.2}× eth_blockNumber {:.0} µs)",
            p50 / beside.percentile(0.5),
            beside.percentile(0.5)
        ),
        "< 5000 µs",
        json!({"pools": pools, "p50": p50, "p99": p99, "rpc_per_quote": rpc_per_quote, "shape": shape}),
    );
}
