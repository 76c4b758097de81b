//! Hummingbot's own Gateway client (from its PyPI sdist) drives a session against the gateway on the devnet,
//! over HTTPS with client certificates as Hummingbot runs in production: status, wallets, balances, approvals
//! (through upstream's `<connector>/clmm/swap` too), quotes and swaps of every trading type, the V3, V4 and V2
//! liquidity lifecycles with amounts computed as floats, pools and config, through uniswap and pancakeswap; every
//! answer validated against the client's own response models.

use std::path::Path;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use alloy::providers::Provider;
use axum::http::StatusCode;
use gateway::devnet::{Devnet, DevnetAssets};
use gateway::rehearsal::Profile;

use crate::common::session::client_session;
use crate::common::{self, PASSPHRASE, TestGateway, devnet_conf, https_client, make_certs};

/// Runs the client's whole session against a gateway over HTTPS on `devnet`, checks every step it must go
/// through, and returns how many transactions its wallet sent.
async fn session(devnet: &Devnet) -> u64 {
    let conf = devnet_conf(&[devnet.rpc_url()]);
    // Hummingbot reads its certificates from <root>/certs: the conf dir is that root here.
    let certs = make_certs(conf.path(), PASSPHRASE);
    let hummingbot_root = conf.path().to_path_buf();
    let gw = TestGateway::start_https(conf, https_client(&certs, Some(&certs))).await.unwrap();
    let url = gw.gateway.url().replace("127.0.0.1", "localhost");
    assert!(url.starts_with("https://localhost:"), "{url}");
    client_session(devnet, &url, &hummingbot_root).await;
    gw.stop().await;
    let anvil =
        alloy::providers::RootProvider::<alloy::network::Ethereum>::new_http(devnet.anvil_url().parse().unwrap());
    anvil.get_transaction_count(devnet.accounts()[3]).await.unwrap()
}

/// The session on the devnet as it is, then through a provider that misbehaves every way `gateway devnet
/// --faults` rehearses: it passes whole both times, sends exactly as many transactions (nothing twice), and no
/// answer is computed at a block older than one before it.
#[tokio::test]
async fn the_hummingbot_client_drives_a_whole_session_also_through_a_misbehaving_provider() {
    let sent = session(&common::devnet().await).await;
    let faults =
        "rate-limit=0.3,lag=3,logs-max-range=1000,logs-max-results=500,drop-send-answer=0.1,receipt-delay=300ms";
    let progress = |step: &str| eprintln!("devnet: {step}");
    let faulty = Devnet::start_with(&DevnetAssets::locate(), 0, Profile::PLAIN, faults.parse().unwrap(), &progress)
        .await
        .unwrap();
    assert_eq!(session(&faulty).await, sent, "the same transactions through {faults}, none twice");
}

/// A node front forwarding JSON-RPC to `target`, which answers HTTP 429 to every call (as a provider over its
/// rate limit) between `POST /limit/on` and `POST /limit/off`.
async fn limiting_front(target: String) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let limited = Arc::new(AtomicBool::new(false));
    let switch = |on: bool| {
        let limited = limited.clone();
        move || async move { limited.store(on, Ordering::Relaxed) }
    };
    let client = reqwest::Client::new();
    let forward = |limited: Arc<AtomicBool>| {
        move |body: axum::body::Bytes| {
            let (client, target, limited) = (client.clone(), target.clone(), limited.clone());
            async move {
                if limited.load(Ordering::Relaxed) {
                    return (StatusCode::TOO_MANY_REQUESTS, "Too Many Requests".to_string());
                }
                let answer = client.post(&target).header("content-type", "application/json").body(body).send().await;
                (StatusCode::OK, answer.unwrap().text().await.unwrap())
            }
        }
    };
    let (on, off) = (switch(true), switch(false));
    let forwarding = limited.clone();
    let app = axum::Router::new()
        .route("/limit/on", axum::routing::post(on))
        .route("/limit/off", axum::routing::post(off))
        .fallback(forward(forwarding));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    port
}

/// Every failure the client branches on, read through its own code: request-shape refusals, no route, a short
/// balance, a simulation that reverts, slippage found before sending (V3 and V4 routes) and after mining (V2 and
/// V3 pools), a transaction not mined in time that the client polls to confirmed, and a rate-limited node.
#[tokio::test]
async fn the_clients_error_rules_read_gateway_v2_17s_codes_on_every_failure() {
    let devnet = common::devnet().await;
    let assets = DevnetAssets::locate();
    let python = common::python_with("hummingbot", "tests/hummingbot/requirements.txt").await;
    let front = limiting_front(devnet.rpc_url()).await;
    let gw =
        TestGateway::start_in(devnet_conf(&[format!("http://127.0.0.1:{front}")]), None, PASSPHRASE).await.unwrap();
    // The script sends ether to USDC's contract, which takes none: a recipient server.yml must allow.
    let usdc = devnet.deployment().token("USDC").address;
    let allowed = serde_json::json!({"namespace": "server", "path": "allowedRecipients", "value": [usdc]});
    assert_eq!(gw.post("/config/update", allowed).await.0, StatusCode::OK);
    let uniswap = connectors::dex::Registry::builtin().find("uniswap", "devnet").unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/hummingbot/error_paths.py");
    let output = tokio::process::Command::new(python)
        .arg(script)
        .arg(assets.work_dir().join("hummingbot"))
        .arg(gw.url(""))
        .arg(devnet.rpc_url())
        .arg(format!("http://127.0.0.1:{front}"))
        .arg(devnet.private_key(4))
        .arg(devnet.accounts()[5].to_string())
        .arg(uniswap.v2.unwrap().router.to_string())
        .arg(uniswap.v3.unwrap().swap_router.to_string())
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the client's error paths failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for step in [
        "a negative amount: INVALID_PARAMS",
        "an unknown request key: INVALID_PARAMS",
        "a pair no pool trades: NO_ROUTE_FOUND",
        "selling more than the wallet holds: INSUFFICIENT_BALANCE",
        "ether sent to a token contract: SIMULATION_FAILED",
        "a WETH router quote after the market moved: the slippage ramp starts",
        "a ETH router quote after the market moved: the slippage ramp starts",
        "an amm swap mined after the market moved: the slippage ramp starts",
        "an clmm swap mined after the market moved: the slippage ramp starts",
        "a swap not mined in time: TRANSACTION_TIMEOUT (retried)",
        "the client polls",
        "a node answering 429 to every call: RATE_LIMITED (retried)",
        "the same request succeeds once the node recovers",
        "every error path passed",
    ] {
        assert!(stdout.contains(&format!("ok {step}")) || stdout.contains(step), "no '{step}':\n{stdout}");
    }
}
