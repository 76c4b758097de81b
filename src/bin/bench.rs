//! The benchmark: starts the devnet and a gateway (as its own process, so its startup time and memory can be
//! measured), then measures quotes, swaps and the floors they are compared against, in one run. Prints a table
//! and writes the same figures as JSON.
//!
//!     cargo run --release --bin bench -- [--out bench-results.json] [--seconds 3]
//!
//! Not a test: nothing here asserts a time. The targets are printed next to the figures.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use alloy::network::EthereumWallet;
use alloy::primitives::aliases::{U24, U160};
use alloy::primitives::{Address, U256};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::rpc::types::TransactionRequest;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolCall;
use alloy::transports::http::reqwest;
use connectors::core::pool_address::PoolAddress;
use connectors::dex::Registry;
use connectors::v3::IQuoterV2;
use gateway::devnet::{Devnet, DevnetAssets};
use serde_json::{Value, json};

const PASSPHRASE: &str = "bench";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--serve") {
        return serve(&args[2], &args[3]);
    }
    let option = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let out = option("--out").unwrap_or_else(|| "bench-results.json".into());
    let seconds: f64 = option("--seconds").and_then(|s| s.parse().ok()).unwrap_or(3.0);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(bench(&out, Duration::from_secs_f64(seconds)));
}

/// The gateway process: the same server, with the same logging, that `gateway start --dev` runs.
fn serve(conf: &str, port: &str) {
    gateway::logging::init_logging(false);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        let gateway = gateway::server::start(gateway::server::GatewayOptions {
            conf_dir: conf.into(),
            database_url: None,
            passphrase: gateway::passphrase::Passphrase::new(PASSPHRASE),
            host: "127.0.0.1".parse().unwrap(),
            port: Some(port.parse().unwrap()),
            tls: false,
        })
        .await
        .expect("gateway starts");
        let signal = gateway::server::ShutdownSignal::install().expect("signals");
        gateway.stop_on(signal).await.expect("gateway stops");
    });
}

/// Latencies of a run, in microseconds.
#[derive(Default)]
struct Samples(Vec<f64>);

impl Samples {
    fn percentile(&self, p: f64) -> f64 {
        let mut sorted = self.0.clone();
        sorted.sort_by(|a, b| a.partial_cmp(b).unwrap());
        if sorted.is_empty() {
            return f64::NAN;
        }
        sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
    }
}

struct Report {
    rows: Vec<(String, String, String)>,
    json: BTreeMap<String, Value>,
}

impl Report {
    fn add(&mut self, key: &str, label: &str, value: String, target: &str, raw: Value) {
        self.rows.push((label.to_string(), value, target.to_string()));
        self.json.insert(key.to_string(), raw);
    }
}

async fn sequential<F, Fut>(count: usize, mut call: F) -> Samples
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for _ in 0..count / 10 {
        call().await;
    }
    let mut samples = Samples::default();
    for _ in 0..count {
        let start = Instant::now();
        call().await;
        samples.0.push(start.elapsed().as_secs_f64() * 1e6);
    }
    samples
}

/// One keep-alive HTTP/1.1 connection sending one prepared request over and over, as wrk does, so what is
/// measured is the server and the loopback, not a client library.
struct RawConnection {
    stream: tokio::net::TcpStream,
    request: RawRequest,
    bytes: Vec<u8>,
    buffer: Vec<u8>,
}

/// Gives each request of a varying quote its own amount, across all connections.
static NEXT_VARIANT: AtomicU64 = AtomicU64::new(0);

impl RawConnection {
    async fn open(request: &RawRequest) -> RawConnection {
        let stream = tokio::net::TcpStream::connect(request.addr).await.expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        RawConnection { stream, request: request.clone(), bytes: Vec::new(), buffer: Vec::with_capacity(64 * 1024) }
    }

    /// Sends the request and reads the whole response; panics unless it is a 2xx.
    async fn round_trip(&mut self) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        match &self.request.variant_at {
            None => self.stream.write_all(&self.request.bytes).await.expect("write"),
            Some(at) => {
                use std::io::Write;
                self.bytes.clear();
                self.bytes.extend_from_slice(&self.request.bytes[..*at]);
                write!(self.bytes, "{:09}", NEXT_VARIANT.fetch_add(1, Ordering::Relaxed) % 1_000_000_000).unwrap();
                self.bytes.extend_from_slice(&self.request.bytes[*at..]);
                self.stream.write_all(&self.bytes).await.expect("write");
            }
        }
        self.buffer.clear();
        let mut chunk = [0u8; 16 * 1024];
        let (header_end, body_length) = loop {
            let read = self.stream.read(&mut chunk).await.expect("read");
            assert!(read > 0, "the server closed the connection");
            self.buffer.extend_from_slice(&chunk[..read]);
            if let Some(end) = self.buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = std::str::from_utf8(&self.buffer[..end]).expect("ASCII head");
                assert!(head.starts_with("HTTP/1.1 2"), "{}", String::from_utf8_lossy(&self.buffer));
                let length = head
                    .lines()
                    .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_string()))
                    .and_then(|v| v.parse::<usize>().ok())
                    .expect("a content-length");
                break (end + 4, length);
            }
        };
        while self.buffer.len() < header_end + body_length {
            let read = self.stream.read(&mut chunk).await.expect("read");
            assert!(read > 0, "the server closed the connection");
            self.buffer.extend_from_slice(&chunk[..read]);
        }
    }
}

/// A request prepared once, as bytes; a varying one gets nine more digits at `variant_at` each time it is sent.
#[derive(Clone)]
struct RawRequest {
    addr: SocketAddr,
    bytes: Arc<[u8]>,
    variant_at: Option<usize>,
}

/// Where a varying request's digits go.
const VARIANT: &str = "VARIANTDIGITS";

impl RawRequest {
    fn get(url: &str) -> RawRequest {
        Self::new("GET", url, None)
    }

    fn post_json(url: &str, body: &Value) -> RawRequest {
        Self::new("POST", url, Some(body.to_string()))
    }

    fn new(method: &str, url: &str, body: Option<String>) -> RawRequest {
        let url: reqwest::Url = url.parse().expect("URL");
        let addr = url.socket_addrs(|| None).expect("address")[0];
        let target = match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_string(),
        };
        let mut text = format!("{method} {target} HTTP/1.1\r\nHost: {addr}\r\n");
        if let Some(body) = &body {
            text += &format!("Content-Type: application/json\r\nContent-Length: {}\r\n", body.len());
        }
        text += "\r\n";
        text += body.as_deref().unwrap_or_default();
        let variant_at = text.find(VARIANT);
        let text = text.replacen(VARIANT, "", 1);
        RawRequest { addr, bytes: text.into_bytes().into(), variant_at }
    }
}

/// Sequential round trips on one connection.
async fn sequential_raw(request: &RawRequest, count: usize) -> Samples {
    let mut connection = RawConnection::open(request).await;
    for _ in 0..count / 10 {
        connection.round_trip().await;
    }
    let mut samples = Samples::default();
    for _ in 0..count {
        let start = Instant::now();
        connection.round_trip().await;
        samples.0.push(start.elapsed().as_secs_f64() * 1e6);
    }
    samples
}

/// `count` round trips of `a` and of `b` taken in turn on two kept-alive connections, so both see the same
/// machine at the same moments: a comparison that noise from other processes does not tilt.
async fn sequential_pair(a: &RawRequest, b: &RawRequest, count: usize) -> (Samples, Samples) {
    let (mut first, mut second) = (RawConnection::open(a).await, RawConnection::open(b).await);
    for _ in 0..count / 10 {
        first.round_trip().await;
        second.round_trip().await;
    }
    let (mut a_samples, mut b_samples) = (Samples::default(), Samples::default());
    for _ in 0..count {
        let start = Instant::now();
        first.round_trip().await;
        a_samples.0.push(start.elapsed().as_secs_f64() * 1e6);
        let start = Instant::now();
        second.round_trip().await;
        b_samples.0.push(start.elapsed().as_secs_f64() * 1e6);
    }
    (a_samples, b_samples)
}

/// `connections` connections in a loop for `duration`: requests per second and p99 latency.
async fn concurrent(request: &RawRequest, connections: usize, duration: Duration) -> (f64, f64) {
    let done = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + duration;
    let tasks: Vec<_> = (0..connections)
        .map(|_| {
            let (request, done) = (request.clone(), done.clone());
            tokio::spawn(async move {
                let mut connection = RawConnection::open(&request).await;
                let mut samples = Vec::new();
                while Instant::now() < deadline {
                    let start = Instant::now();
                    connection.round_trip().await;
                    samples.push(start.elapsed().as_secs_f64() * 1e6);
                    done.fetch_add(1, Ordering::Relaxed);
                }
                samples
            })
        })
        .collect();
    let started = Instant::now();
    let mut all = Samples::default();
    for task in tasks {
        all.0.extend(task.await.unwrap());
    }
    (done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64(), all.percentile(0.99))
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// A JSON-RPC proxy in front of anvil that counts what the gateway asks, by method.
async fn counting_proxy(upstream: String) -> (SocketAddr, Arc<std::sync::Mutex<BTreeMap<String, u64>>>) {
    let counts: Arc<std::sync::Mutex<BTreeMap<String, u64>>> = Arc::default();
    let client = reqwest::Client::new();
    let app = axum::Router::new().route(
        "/",
        axum::routing::post({
            let counts = counts.clone();
            move |body: axum::body::Bytes| {
                let (counts, client, upstream) = (counts.clone(), client.clone(), upstream.clone());
                async move {
                    if let Ok(request) = serde_json::from_slice::<Value>(&body) {
                        let methods: Vec<String> = match &request {
                            Value::Array(batch) => {
                                batch.iter().filter_map(|r| r["method"].as_str().map(str::to_string)).collect()
                            }
                            single => single["method"].as_str().map(str::to_string).into_iter().collect(),
                        };
                        let mut counts = counts.lock().unwrap();
                        for method in methods {
                            *counts.entry(method).or_default() += 1;
                        }
                    }
                    let response = client
                        .post(&upstream)
                        .header("content-type", "application/json")
                        .body(body)
                        .send()
                        .await
                        .unwrap();
                    (
                        axum::http::StatusCode::OK,
                        [("content-type", "application/json")],
                        response.bytes().await.unwrap(),
                    )
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, counts)
}

fn quote_calls(counts: &BTreeMap<String, u64>) -> u64 {
    counts.iter().filter(|(method, _)| method.as_str() != "eth_blockNumber").map(|(_, n)| n).sum()
}

async fn bench(out: &str, duration: Duration) {
    let devnet = Devnet::start(&DevnetAssets::locate(), 0, &|step| eprintln!("devnet: {step}")).await.expect("devnet");
    let (proxy, rpc_counts) = counting_proxy(devnet.rpc_url()).await;
    let conf = tempfile::TempDir::new().unwrap();
    gateway::config::install_templates(conf.path()).unwrap();
    let config = gateway::config::Config::load(conf.path()).unwrap();
    config.update("ethereum-devnet", "nodeURL", json!(format!("http://{proxy}"))).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder().pool_max_idle_per_host(256).tcp_nodelay(true).build().unwrap();

    // Startup: process start to the first 200.
    let started = Instant::now();
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--serve", conf.path().to_str().unwrap(), &port.to_string()])
        // Logging as in production (info), so the per-request span costs what it costs there.
        .env_remove("RUST_LOG")
        // GATEWAY_WORKER_THREADS sizes the gateway's runtime alone (TOKIO_WORKER_THREADS would size both).
        .envs(std::env::var("GATEWAY_WORKER_THREADS").ok().map(|n| ("TOKIO_WORKER_THREADS", n)))
        .spawn()
        .expect("gateway process");
    loop {
        if let Ok(response) = client.get(&base).send().await
            && response.status().is_success()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let startup_ms = started.elapsed().as_secs_f64() * 1e3;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss_idle = rss_kib(child.id());
    let mut report = Report { rows: vec![], json: BTreeMap::new() };
    report.add("startup_ms", "startup to first 200", format!("{startup_ms:.1} ms"), "< 100 ms", json!(startup_ms));
    report.add(
        "rss_idle_mib",
        "RSS idle",
        format!("{:.1} MiB", rss_idle as f64 / 1024.0),
        "< 30 MiB",
        json!(rss_idle as f64 / 1024.0),
    );

    // A funded wallet with allowances.
    let post = |path: &str, body: Value| {
        let (client, url) = (client.clone(), format!("{base}{path}"));
        async move {
            let response = client.post(url).json(&body).send().await.unwrap();
            let status = response.status();
            let body: Value = response.json().await.unwrap();
            assert!(status.is_success(), "{body}");
            body
        }
    };
    post("/wallet/add", json!({"chain": "ethereum", "privateKey": devnet.private_key(1), "setDefault": true})).await;
    for spender in ["uniswap/amm", "uniswap/clmm", "uniswap/router"] {
        for token in ["WETH", "USDC"] {
            post("/chains/ethereum/approve", json!({"network": "devnet", "token": token, "spender": spender})).await;
        }
    }

    // LINK's one pool: a V2 pair with WETH, so its best route to USDC changes family at WETH.
    gateway::devnet::add_market(&devnet, &[("LINK", 15), ("WETH", 3000)], 1_000_000, &[]).await.expect("LINK pair");

    // Floors, from this process: a raw eth_blockNumber and a QuoterV2 eth_call against the node.
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
    report.add(
        "raw_block_number_us",
        "raw eth_blockNumber p50 / p99",
        format!("{:.0} / {:.0} µs", floor, block_number.percentile(0.99)),
        "the floor",
        json!({"p50": floor, "p99": block_number.percentile(0.99)}),
    );
    report.add(
        "raw_quoter_call_us",
        "raw QuoterV2 eth_call p50 / p99",
        format!("{:.0} / {:.0} µs", quoter_call.percentile(0.5), quoter_call.percentile(0.99)),
        "",
        json!({"p50": quoter_call.percentile(0.5), "p99": quoter_call.percentile(0.99)}),
    );

    // The V4 pool of the same pair, beside V3's: a quote on it runs the same math on state read through a lens.
    let v4_weth_usdc = devnet
        .deployment()
        .pools
        .iter()
        .find(|pool| matches!(pool.address, PoolAddress::Id(_)) && pool.base == "WETH" && pool.quote == "USDC")
        .expect("the devnet has a V4 WETH/USDC pool")
        .address;
    let quotes = [
        (
            "amm",
            format!(
                "{base}/trading/amm/quote-swap?chainNetwork=ethereum-devnet&connector=uniswap&baseToken=WETH&quoteToken=USDC&amount=1&side=SELL"
            ),
        ),
        (
            "clmm",
            format!(
                "{base}/trading/clmm/quote-swap?chainNetwork=ethereum-devnet&connector=uniswap&baseToken=WETH&quoteToken=USDC&amount=1&side=SELL&poolAddress=0x88e6A0c2dDD26FEEb64F039a2c41296FcB3f5640"
            ),
        ),
        (
            "clmm_v4",
            format!(
                "{base}/trading/clmm/quote-swap?chainNetwork=ethereum-devnet&connector=uniswap&baseToken=WETH&quoteToken=USDC&amount=1&side=SELL&poolAddress={v4_weth_usdc}"
            ),
        ),
        (
            "router",
            format!(
                "{base}/trading/router/quote-swap?chainNetwork=ethereum-devnet&connector=uniswap&baseToken=WBTC&quoteToken=USDC&amount=0.5&side=SELL"
            ),
        ),
        (
            "router_split",
            format!(
                "{base}/trading/router/quote-swap?chainNetwork=ethereum-devnet&connector=uniswap&baseToken=WETH&quoteToken=USDC&amount=500&side=SELL"
            ),
        ),
        (
            "router_mixed",
            format!(
                "{base}/trading/router/quote-swap?chainNetwork=ethereum-devnet&connector=uniswap&baseToken=LINK&quoteToken=USDC&amount=50&side=SELL"
            ),
        ),
    ];
    // What each router quote is: its legs and their pools' types, so a row says which search it measures.
    let mut shapes = BTreeMap::new();
    for (kind, url) in &quotes {
        let answer: Value = client.get(url).send().await.unwrap().json().await.unwrap();
        shapes.insert(*kind, route_shape(&answer));
    }
    // Each amm and clmm (V3, V4) quote twice: the same request over and over, as a polling bot sends it
    // (answered again while the block holds), and with a new amount each time, so every one is computed.
    let computed: Vec<(String, String)> = quotes[..3]
        .iter()
        .map(|(kind, url)| (format!("{kind}_computed"), url.replacen("amount=1&", &format!("amount=1.{VARIANT}&"), 1)))
        .collect();
    let latency_runs: Vec<(&str, &str)> = quotes
        .iter()
        .map(|(kind, url)| (*kind, url.as_str()))
        .chain(computed.iter().map(|(kind, url)| (kind.as_str(), url.as_str())))
        .collect();
    let mut p50s = BTreeMap::new();
    for &(kind, url) in &latency_runs {
        eprintln!("bench: {kind} quotes, one at a time");
        let request = RawRequest::get(url);
        // The first quote reads the pools; the rest are warm.
        sequential_raw(&request, 1).await;
        let rpc_before = quote_calls(&rpc_counts.lock().unwrap());
        let (beside, samples) = sequential_pair(&block_number_request, &request, 2000).await;
        let rpc_per_quote = (quote_calls(&rpc_counts.lock().unwrap()) - rpc_before) as f64 / 2200.0;
        let (p50, p99, floor_beside) = (samples.percentile(0.5), samples.percentile(0.99), beside.percentile(0.5));
        p50s.insert(kind, p50);
        let target = if kind.starts_with("router") { "< 1000 µs" } else { "< raw eth_blockNumber p50" };
        let shape = shapes.get(kind).map(|shape| format!(" [{shape}]")).unwrap_or_default();
        report.add(
            &format!("{kind}_quote_us"),
            &format!("{}{shape} quote p50 / p99 (× eth_blockNumber taken in turn)", kind.replace('_', " ")),
            format!("{p50:.0} / {p99:.0} µs ({:.2}× {floor_beside:.0} µs)", p50 / floor_beside),
            target,
            json!({"p50": p50, "p99": p99, "block_number_p50_in_turn": floor_beside, "ratio_to_block_number": p50 / floor_beside}),
        );
        report.add(
            &format!("{kind}_rpc_per_quote"),
            &format!("{} RPC calls per warm quote", kind.replace('_', " ")),
            format!("{rpc_per_quote:.4}"),
            "0 in a block already read",
            json!(rpc_per_quote),
        );
    }
    for (v4, v3) in [("clmm_v4", "clmm"), ("clmm_v4_computed", "clmm_computed")] {
        let ratio = p50s[v4] / p50s[v3];
        report.add(
            &format!("{v4}_to_v3"),
            &format!("{} quote p50 ÷ V3's", v4.replace('_', " ")),
            format!("{ratio:.2}×"),
            "≤ 1.20×",
            json!(ratio),
        );
    }
    let health = format!("{base}/");
    // The same quotes through a gateway's whole router in this process, no socket: what the gateway itself adds.
    let local = gateway::server::start(gateway::server::GatewayOptions {
        conf_dir: conf.path().into(),
        database_url: None,
        passphrase: gateway::passphrase::Passphrase::new(PASSPHRASE),
        host: "127.0.0.1".parse().unwrap(),
        port: Some(0),
        tls: false,
    })
    .await
    .expect("in-process gateway starts");
    let app = gateway::server::app(local.state.clone());
    let health_url = format!("{base}/");
    for &(kind, url) in latency_runs.iter().chain([&("health", health_url.as_str())]) {
        let path = url.strip_prefix(&base).unwrap().to_string();
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
        report.add(
            &format!("{kind}_in_process_us"),
            &format!("{} through the router in-process p50 / p99", kind.replace('_', " ")),
            format!("{:.1} / {:.1} µs", samples.percentile(0.5), samples.percentile(0.99)),
            "",
            json!({"p50": samples.percentile(0.5), "p99": samples.percentile(0.99)}),
        );
    }
    local.stop().await.unwrap();

    // Time inside the gateway's router and handler per quote (from its own /metrics, over the runs above).
    let metrics = client.get(format!("{base}/metrics")).send().await.unwrap().text().await.unwrap();
    for kind in ["amm", "clmm", "router"] {
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
        report.add(
            &format!("{kind}_quote_inside_us"),
            &format!("{kind} quote time inside the gateway (mean)"),
            format!("{inside:.1} µs"),
            "",
            json!(inside),
        );
    }

    for connections in [16usize, 64] {
        for &(kind, url) in latency_runs.iter().chain([&("health", health.as_str())]) {
            eprintln!("bench: {kind} at {connections} connections");
            let (rate, p99) = concurrent(&RawRequest::get(url), connections, duration).await;
            let target = match kind {
                "router" if connections == 16 => "≥ 5,000/s",
                "router_split" | "router_mixed" if connections == 16 => "≥ half the router's",
                "amm" | "clmm" | "clmm_v4" | "amm_computed" | "clmm_computed" | "clmm_v4_computed"
                    if connections == 16 =>
                {
                    "≥ 20,000/s"
                }
                _ => "",
            };
            report.add(
                &format!("{kind}_{connections}c"),
                &format!("{} at {connections} connections: rate, p99", kind.replace('_', " ")),
                format!("{rate:.0}/s, {p99:.0} µs"),
                target,
                json!({"per_second": rate, "p99_us": p99}),
            );
        }
    }

    // Pool reads per block: after each swap (a new block), 50 clmm quotes of one pool; only their calls count.
    let blocks = 20;
    let mut quote_reads = 0;
    for _ in 0..blocks {
        post("/trading/amm/execute-swap", json!({"chainNetwork": "ethereum-devnet", "connector": "uniswap", "baseToken": "WETH", "quoteToken": "USDC", "amount": "0.01", "side": "SELL"})).await;
        let before = quote_calls(&rpc_counts.lock().unwrap());
        for _ in 0..50 {
            client.get(&quotes[1].1).send().await.unwrap().bytes().await.unwrap();
        }
        quote_reads += quote_calls(&rpc_counts.lock().unwrap()) - before;
    }
    report.add(
        "pool_reads_per_block",
        "RPC calls of 50 clmm quotes per new block (one pool, 20 blocks)",
        format!("{quote_reads} ({:.2} per pool per block)", quote_reads as f64 / blocks as f64),
        "≤ 1 per pool per block",
        json!(quote_reads as f64 / blocks as f64),
    );

    // Execute-swap: send to receipt, against signing + eth_sendRawTransaction + receipt from this process.
    let swap = || {
        post(
            "/trading/clmm/execute-swap",
            json!({"chainNetwork": "ethereum-devnet", "connector": "uniswap", "baseToken": "WETH", "quoteToken": "USDC", "amount": "0.01", "side": "SELL", "poolAddress": "0x88e6A0c2dDD26FEEb64F039a2c41296FcB3f5640"}),
        )
    };
    let executed = sequential(100, || async {
        swap().await;
    })
    .await;
    let signer: PrivateKeySigner = devnet.private_key(2).parse().unwrap();
    let to: Address = devnet.accounts()[3];
    let wallet_provider =
        ProviderBuilder::new().wallet(EthereumWallet::from(signer)).connect_http(devnet.rpc_url().parse().unwrap());
    let raw_send = sequential(100, || async {
        let pending =
            wallet_provider.send_transaction(TransactionRequest::default().to(to).value(U256::from(1))).await.unwrap();
        let hash = *pending.tx_hash();
        while wallet_provider.get_transaction_receipt(hash).await.unwrap().is_none() {
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
    })
    .await;
    report.add(
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
    report.add(
        "raw_send_us",
        "raw sign + send + receipt p50 / p99",
        format!("{:.0} / {:.0} µs", raw_send.percentile(0.5), raw_send.percentile(0.99)),
        "the floor",
        json!({"p50": raw_send.percentile(0.5), "p99": raw_send.percentile(0.99)}),
    );

    let rss_loaded = rss_kib(child.id());
    report.add(
        "rss_after_load_mib",
        "RSS after the load",
        format!("{:.1} MiB", rss_loaded as f64 / 1024.0),
        "< 60 MiB",
        json!(rss_loaded as f64 / 1024.0),
    );
    many_pools(&devnet, &mut report, &base, &client, &rpc_counts, &block_number_request).await;
    let _ = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let _ = child.wait();

    let width = report.rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
    let value_width = report.rows.iter().map(|r| r.1.chars().count()).max().unwrap_or(0);
    println!("\n{:width$}  {:value_width$}  target", "measure", "value");
    for (label, value, target) in &report.rows {
        println!("{label:width$}  {value:value_width$}  {target}");
    }
    std::fs::write(out, serde_json::to_string_pretty(&report.json).unwrap()).expect("write results");
    println!("\nwritten to {out}");
}

/// A router answer's shape: its legs, each as its pools' types (`V3+V2` for a leg through a V3 pool then a pair).
fn route_shape(answer: &Value) -> String {
    let legs = answer["splits"].as_array().cloned().unwrap_or_default();
    let kinds = |route: &Value| {
        let kinds: Vec<&str> = route
            .as_array()
            .into_iter()
            .flatten()
            .map(|step| match (step["type"].as_str(), step["poolAddress"].as_str().map(str::len)) {
                (Some("amm"), _) => "V2",
                // A V4 pool is named by its 32-byte id.
                (_, Some(66)) => "V4",
                _ => "V3",
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
async fn many_pools(
    devnet: &Devnet,
    report: &mut Report,
    base: &str,
    client: &reqwest::Client,
    rpc_counts: &std::sync::Mutex<BTreeMap<String, u64>>,
    block_number_request: &RawRequest,
) {
    eprintln!("bench: adding a market of many pools");
    let added =
        gateway::devnet::add_market(devnet, &MARKET, 1_000_000, &[100, 500, 3000, 10_000]).await.expect("market");
    for pool in &added {
        let body = json!({"chainNetwork": "ethereum-devnet", "connector": "uniswap", "type": pool.kind,
            "address": pool.address, "baseTokenAddress": pool.base_address});
        let response = client.post(format!("{base}/pools")).json(&body).send().await.unwrap();
        assert!(response.status().is_success(), "{}", response.text().await.unwrap());
    }
    let listed: Value = client
        .get(format!("{base}/pools?chainNetwork=ethereum-devnet&connector=uniswap"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let pools = listed.as_array().map_or(0, Vec::len);
    let url = format!(
        "{base}/trading/router/quote-swap?chainNetwork=ethereum-devnet&connector=uniswap&baseToken=LINK&quoteToken=AAVE&amount=20000&side=SELL"
    );
    let request = RawRequest::get(&url);
    let answer: Value = client.get(&url).send().await.unwrap().json().await.unwrap();
    let shape = route_shape(&answer);
    let rpc_before = quote_calls(&rpc_counts.lock().unwrap());
    let (beside, samples) = sequential_pair(block_number_request, &request, 500).await;
    let rpc_per_quote = (quote_calls(&rpc_counts.lock().unwrap()) - rpc_before) as f64 / 550.0;
    let (p50, p99) = (samples.percentile(0.5), samples.percentile(0.99));
    report.add(
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
