//! The benchmark: starts the devnet and a gateway (as its own process, so its startup time and memory can be
//! measured), then measures quotes, swaps and the floors they are compared against, in one run. Prints a table
//! and writes the same figures as JSON.
//!
//!     cargo run --release --bin bench -- [--out bench-results.json] [--seconds 3] [--executions-only | --quotes-only]
//!
//! `--executions-only` measures the executions alone (startup, memory idle, and every execution to its receipt),
//! for work on the send path; `--quotes-only` the quotes one at a time alone (over HTTP, in turn with the node's
//! `eth_blockNumber`, and in-process), for work on the quote path.
//!
//! Not a test: nothing here asserts a time. The targets are printed next to the figures. Each scenario is a
//! function of its own ([`scenarios`], [`execution`]) over what the run shares ([`Bench`]).

mod execution;
mod measure;
mod scenarios;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy::transports::http::reqwest;
use gateway::devnet::{Devnet, DevnetAssets};
use serde_json::{Value, json};

use measure::{Report, counting_proxy, rss_kib};

const PASSPHRASE: &str = "bench";
/// How long after the load its memory is read: past the gateway's quiet second (`gateway::memory`).
const SETTLE: Duration = Duration::from_millis(2500);

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--serve") {
        return serve(&args[2], &args[3]);
    }
    let option = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let out = option("--out").unwrap_or_else(|| "bench-results.json".into());
    let seconds: f64 = option("--seconds").and_then(|s| s.parse().ok()).unwrap_or(3.0);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let scope = match (args.iter().any(|a| a == "--executions-only"), args.iter().any(|a| a == "--quotes-only")) {
        (true, true) => panic!("--executions-only and --quotes-only: one or the other"),
        (true, false) => Scope::Executions,
        (false, true) => Scope::Quotes,
        (false, false) => Scope::Everything,
    };
    runtime.block_on(bench(&out, Duration::from_secs_f64(seconds), scope));
}

/// The gateway process: the same server, with the same logging, that `gateway start --dev` runs.
fn serve(conf: &str, port: &str) {
    gateway::logging::init_logging(false);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        let gateway = gateway::server::start(gateway::server::GatewayOptions {
            port: Some(port.parse().unwrap()),
            ..gateway::server::GatewayOptions::local(conf.into(), gateway::passphrase::Passphrase::new(PASSPHRASE))
        })
        .await
        .expect("gateway starts");
        let signal = gateway::server::ShutdownSignal::install().expect("signals");
        gateway.stop_on(signal).await.expect("gateway stops");
    });
}

/// What the scenarios of one run share: the devnet, the gateway process they measure and its address, a client,
/// what the gateway asked the node, and the report.
pub struct Bench {
    devnet: Devnet,
    conf: tempfile::TempDir,
    base: String,
    client: reqwest::Client,
    rpc_counts: Arc<std::sync::Mutex<BTreeMap<String, u64>>>,
    /// The node's URL through that counting proxy.
    counted_node: String,
    gateway: std::process::Child,
    report: Report,
    /// How long each throughput run lasts.
    duration: Duration,
}

impl Bench {
    /// Points the gateway at `url` for the devnet's node (a config update, as a user makes one).
    async fn use_node(&self, url: &str) {
        self.post("/config/update", json!({"namespace": "ethereum-devnet", "path": "nodeURL", "value": url})).await;
    }

    /// Posts `body` to the gateway; anything but a 2xx stops the run.
    async fn post(&self, path: &str, body: Value) -> Value {
        let response = self.client.post(format!("{}{path}", self.base)).json(&body).send().await.unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert!(status.is_success(), "{body}");
        body
    }
}

/// What a run measures.
#[derive(Clone, Copy, PartialEq)]
enum Scope {
    Everything,
    Executions,
    Quotes,
}

async fn bench(out: &str, duration: Duration, scope: Scope) {
    let mut bench = start(duration).await;
    scenarios::fund(&bench).await;
    if scope == Scope::Quotes {
        let floor = scenarios::floors(&mut bench).await;
        let quotes = scenarios::quote_latency(&mut bench, &floor).await;
        scenarios::in_process(&mut bench, &quotes).await;
        return finish(bench, out);
    }
    let floor = match scope {
        Scope::Executions => None,
        _ => {
            let floor = scenarios::floors(&mut bench).await;
            let quotes = scenarios::quote_latency(&mut bench, &floor).await;
            scenarios::in_process(&mut bench, &quotes).await;
            scenarios::time_inside(&mut bench).await;
            scenarios::throughput(&mut bench, &quotes).await;
            execution::pool_reads_per_block(&mut bench, &quotes).await;
            Some(floor)
        }
    };
    execution::executions(&mut bench).await;
    // What it holds once the load is over: freed memory goes back to the system after a quiet second.
    tokio::time::sleep(SETTLE).await;
    let rss_loaded = rss_kib(bench.gateway.id());
    bench.report.add(
        "rss_after_load_mib",
        "RSS 2.5 s after the load",
        format!("{:.1} MiB", rss_loaded as f64 / 1024.0),
        "< 50 MiB",
        json!(rss_loaded as f64 / 1024.0),
    );
    if let Some(floor) = floor {
        scenarios::many_pools(&mut bench, &floor).await;
    }
    finish(bench, out);
}

/// Stops the gateway, prints the table and writes the figures.
fn finish(mut bench: Bench, out: &str) {
    let _ = std::process::Command::new("kill").args(["-TERM", &bench.gateway.id().to_string()]).status();
    let _ = bench.gateway.wait();
    print(&bench.report, out);
}

/// Starts the devnet (behind a proxy that counts what the gateway asks), and the gateway as a process of its own:
/// the time to its first answer and its memory idle are the first rows.
async fn start(duration: Duration) -> Bench {
    let devnet = Devnet::start(&DevnetAssets::locate(), 0, &|step| eprintln!("devnet: {step}")).await.expect("devnet");
    let (proxy, rpc_counts) = counting_proxy(devnet.rpc_url()).await;
    let conf = tempfile::TempDir::new().unwrap();
    gateway::config::install_templates(conf.path()).unwrap();
    let config = gateway::config::Config::load(conf.path()).unwrap();
    let counted_node = format!("http://{proxy}");
    config.update("ethereum-devnet", "nodeURL", json!(counted_node)).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder().pool_max_idle_per_host(256).tcp_nodelay(true).build().unwrap();
    // Startup: process start to the first 200.
    let started = Instant::now();
    let gateway = std::process::Command::new(std::env::current_exe().unwrap())
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
    let rss_idle = rss_kib(gateway.id());
    let mut report = Report { rows: vec![], json: BTreeMap::new() };
    report.add("startup_ms", "startup to first 200", format!("{startup_ms:.1} ms"), "< 100 ms", json!(startup_ms));
    report.add(
        "rss_idle_mib",
        "RSS idle",
        format!("{:.1} MiB", rss_idle as f64 / 1024.0),
        "< 25 MiB",
        json!(rss_idle as f64 / 1024.0),
    );
    Bench { devnet, conf, base, client, rpc_counts, counted_node, gateway, report, duration }
}

/// The table, and the same figures as JSON in `out`.
fn print(report: &Report, out: &str) {
    let width = report.rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
    let value_width = report.rows.iter().map(|r| r.1.chars().count()).max().unwrap_or(0);
    println!("\n{:width$}  {:value_width$}  target", "measure", "value");
    for (label, value, target) in &report.rows {
        println!("{label:width$}  {value:value_width$}  {target}");
    }
    std::fs::write(out, serde_json::to_string_pretty(&report.json).unwrap()).expect("write results");
    println!("\nwritten to {out}");
}
