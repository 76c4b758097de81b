//! The crash matrix: a `gateway start` process killed (SIGKILL) at a random moment under 16 concurrent keyed wraps
//! and swaps, restarted over the same conf and database, and every key retried. Each retry ends in the route's
//! answer for what was asked, each key is one transaction on chain, and nothing is sent after a restart that no
//! request asked for. `GATEWAY_CRASH_ROUNDS` rounds per database (CI runs 20; 2 by default).

use std::time::Duration;

use alloy::primitives::Address;
use alloy::providers::Provider;
use alloy::providers::ext::AnvilApi;
use rand::Rng;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{self, GatewayProcess, into_json, node};

const WRAPS: usize = 8;
const SWAPS: usize = 8;

fn rounds() -> usize {
    std::env::var("GATEWAY_CRASH_ROUNDS").ok().and_then(|n| n.parse().ok()).unwrap_or(2)
}

/// One keyed request of a round: where it goes, what it asks, and how its answer must read.
#[derive(Clone)]
struct Keyed {
    key: String,
    path: &'static str,
    body: Value,
    amount: String,
}

impl Keyed {
    fn new(round: usize, i: usize) -> Keyed {
        // Each amount its own, so an answer can only be its request's.
        let amount = format!("0.000{:02}{:02}1", round, i);
        let (path, body) = match i < WRAPS {
            true => ("/chains/ethereum/wrap", json!({"network": "devnet", "amount": amount})),
            false => (
                "/trading/clmm/execute-swap",
                json!({"chainNetwork": "ethereum-devnet", "connector": "uniswap", "baseToken": "WETH",
                       "quoteToken": "USDC", "side": "SELL", "amount": amount}),
            ),
        };
        Keyed { key: format!("crash-{round}-{i}"), path, body, amount }
    }

    async fn post(&self, client: &reqwest::Client, url: &str) -> reqwest::Result<reqwest::Response> {
        client.post(format!("{url}{}", self.path)).header("Idempotency-Key", &self.key).json(&self.body).send().await
    }

    /// Checks a confirmed answer is this request's: the amount wrapped, or swapped in and out of the wallet.
    fn check(&self, body: &Value) -> String {
        assert_eq!(body["status"], 1, "{}: {body}", self.key);
        let data = &body["data"];
        match self.path.contains("wrap") {
            true => assert_eq!(data["amount"], self.amount.trim_end_matches('0'), "{}: {body}", self.key),
            false => {
                assert_eq!(data["amountIn"], self.amount, "{}: {body}", self.key);
                assert_eq!(data["baseTokenBalanceChange"], format!("-{}", self.amount), "{}: {body}", self.key);
                assert!(data["amountOut"].as_str().is_some_and(|out| out != "0"), "{}: {body}", self.key);
            }
        }
        body["signature"].as_str().expect("a hash").to_string()
    }
}

/// How a retry was answered: replayed as kept, rebuilt from the chain, or run afresh.
#[derive(Debug, Default)]
struct Tally {
    replayed: usize,
    recovered: usize,
    fresh: usize,
    pending_first: usize,
}

/// Retries `keyed` until its answer is final: the route's answer, never an error. How long the first retry took
/// to be answered is in `waits` unless it ran afresh (then it waited for its block).
async fn settled(
    client: &reqwest::Client,
    url: &str,
    keyed: &Keyed,
    tally: &mut Tally,
    waits: &mut Vec<Duration>,
) -> Value {
    for attempt in 0..100 {
        let began = std::time::Instant::now();
        let response = keyed.post(client, url).await.expect("the gateway answers");
        if attempt == 0 && response.headers().contains_key("idempotent-replayed") {
            waits.push(began.elapsed());
        }
        let header = |name: &str| response.headers().get(name).is_some_and(|v| v == "true");
        let (replayed, recovered) = (header("idempotent-replayed"), header("gateway-recovered"));
        let (status, body) = into_json(response).await;
        assert_eq!(status, StatusCode::OK, "{}: {body}", keyed.key);
        if body["status"] != 0 {
            match (recovered, replayed) {
                (true, _) => tally.recovered += 1,
                (false, true) => tally.replayed += 1,
                (false, false) => tally.fresh += 1,
            }
            tally.pending_first += usize::from(attempt > 0);
            return body;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{} stayed pending", keyed.key)
}

async fn add_wallet(url: &str, key: &str) {
    let add = json!({"chain": "ethereum", "privateKey": key, "setDefault": true});
    let added = reqwest::Client::new().post(format!("{url}/wallet/add")).json(&add).send().await.unwrap();
    assert_eq!(added.status(), StatusCode::OK);
}

async fn prepare(url: &str) {
    let client = reqwest::Client::new();
    for (path, body) in [
        ("/chains/ethereum/wrap", json!({"network": "devnet", "amount": "1"})),
        ("/chains/ethereum/approve", json!({"network": "devnet", "token": "WETH", "spender": "uniswap/clmm"})),
    ] {
        let (status, body) = into_json(client.post(format!("{url}{path}")).json(&body).send().await.unwrap()).await;
        assert_eq!((status, body["status"].as_i64()), (StatusCode::OK, Some(1)), "{path}: {body}");
    }
}

/// On PostgreSQL, three instances share the database: the first takes the load and is killed, the other two
/// answer the retries (each timed), and a new instance takes the killed one's place at the back. On SQLite (one
/// gateway per file) the killed process is restarted and answers them.
async fn crash_matrix(database_url: Option<&str>) {
    let devnet = common::devnet().await;
    let anvil = node(&devnet);
    let wallet: Address = devnet.accounts()[1];
    let conf = common::devnet_conf(&[devnet.rpc_url()]);
    let env: Vec<(&str, &str)> = database_url.map(|url| ("DATABASE_URL", url)).into_iter().collect();
    let instances = if database_url.is_some() { 3 } else { 1 };
    let mut processes: std::collections::VecDeque<GatewayProcess> =
        (0..instances).map(|_| GatewayProcess::start(conf.path(), &env)).collect();
    add_wallet(&processes[0].url, &devnet.private_key(1)).await;
    tokio::time::sleep(Duration::from_millis(1500)).await; // every instance signs with it
    prepare(&processes[0].url).await;
    let client = reqwest::Client::new();
    let (mut keys, mut tally, mut waits) = (0u64, Tally::default(), Vec::new());
    for round in 0..rounds() {
        // Blocks mined at once, or every second (every transaction then in flight when the kill comes).
        let interval = round % 2 == 1;
        match interval {
            true => anvil.anvil_set_interval_mining(1).await.unwrap(),
            false => anvil.anvil_set_auto_mine(true).await.unwrap(),
        }
        let start = anvil.get_transaction_count(wallet).await.unwrap();
        let round_keys: Vec<Keyed> = (0..WRAPS + SWAPS).map(|i| Keyed::new(round, i)).collect();
        let loaded = processes.pop_front().expect("an instance");
        let requests: Vec<_> = round_keys
            .iter()
            .map(|keyed| {
                let (client, url, keyed) = (client.clone(), loaded.url.clone(), keyed.clone());
                tokio::spawn(async move {
                    match keyed.post(&client, &url).await {
                        Ok(response) => Some(into_json(response).await),
                        Err(_) => None,
                    }
                })
            })
            .collect();
        let moment = rand::thread_rng().gen_range(5..if interval { 900 } else { 150 });
        tokio::time::sleep(Duration::from_millis(moment)).await;
        loaded.kill();
        let mut answered = Vec::new();
        for request in requests {
            answered.push(request.await.unwrap());
        }
        // What the killed process sent is all the node will ever see without a request.
        let left = anvil.get_transaction_count(wallet).pending().await.unwrap();
        processes.push_back(GatewayProcess::start(conf.path(), &env));
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(anvil.get_transaction_count(wallet).pending().await.unwrap(), left, "a restart sends nothing");
        let mut hashes = std::collections::BTreeSet::new();
        for (i, (keyed, first)) in round_keys.iter().zip(answered).enumerate() {
            let url = &processes[i % instances].url;
            let body = settled(&client, url, keyed, &mut tally, &mut waits).await;
            hashes.insert(keyed.check(&body));
            if let Some((StatusCode::OK, first)) = first.filter(|(_, first)| first["status"] == 1) {
                assert_eq!(first, body, "{}: the answer given before the kill is the one replayed", keyed.key);
            }
        }
        keys += round_keys.len() as u64;
        let now = anvil.get_transaction_count(wallet).await.unwrap();
        assert_eq!(hashes.len(), round_keys.len(), "round {round} (killed at {moment} ms): one transaction per key");
        assert_eq!(
            now.checked_sub(start),
            Some(round_keys.len() as u64),
            "round {round} (killed at {moment} ms): nothing twice (the wallet's count went from {start} to {now})"
        );
    }
    waits.sort();
    // Few rounds may kill every instance before any key sent: then no retry was replayed, and there is no wait.
    let p99 = (!waits.is_empty()).then(|| waits[(waits.len() * 99).div_ceil(100) - 1]);
    eprintln!(
        "crash matrix ({instances} instances): {} rounds, {keys} keys, one transaction each; retries: {tally:?}; \
         a retry of a key that had sent answered in p50 {:?}, p99 {p99:?}",
        rounds(),
        waits.get(waits.len() / 2)
    );
    if let Some(p99) = p99 {
        assert!(
            p99 < Duration::from_secs(1),
            "a retry of a key its dead instance sent for is answered at once: {p99:?}"
        );
    }
    processes.into_iter().for_each(GatewayProcess::kill);
}

#[tokio::test]
async fn killed_under_keyed_wraps_and_swaps_on_sqlite_every_retry_gets_its_outcome_and_nothing_runs_twice() {
    crash_matrix(None).await;
}

#[tokio::test]
async fn killed_under_keyed_wraps_and_swaps_on_postgres_every_retry_gets_its_outcome_and_nothing_runs_twice() {
    let Some(db) = crate::common::postgres::PostgresDb::create().await else { return };
    crash_matrix(Some(&db.url)).await;
    db.drop_db().await;
}

/// A position opened by a process killed before the open was mined: its retry on the restarted process is the
/// pending form, then, once mined, the route's own answer (the new position's id and what it took), once.
#[tokio::test]
async fn a_position_opened_by_a_killed_gateway_is_answered_from_its_receipt_on_retry() {
    let devnet = common::devnet().await;
    let anvil = node(&devnet);
    let wallet: Address = devnet.accounts()[1];
    let conf = common::devnet_conf(&[devnet.rpc_url()]);
    let process = GatewayProcess::start(conf.path(), &[]);
    add_wallet(&process.url, &devnet.private_key(1)).await;
    prepare(&process.url).await;
    let client = reqwest::Client::new();
    let approve = json!({"network": "devnet", "token": "USDC", "spender": "uniswap/clmm"});
    let approved = client.post(format!("{}/chains/ethereum/approve", process.url)).json(&approve).send().await.unwrap();
    assert_eq!(approved.status(), StatusCode::OK);
    let open = Keyed {
        key: "open-1".into(),
        path: "/trading/clmm/open",
        body: json!({"chainNetwork": "ethereum-devnet", "connector": "uniswap", "lowerPrice": 2700, "upperPrice": 3300,
                     "poolAddress": "0x88e6A0c2dDD26FEEb64F039a2c41296FcB3f5640", "baseTokenAmount": 1}),
        amount: "1".into(),
    };
    anvil.anvil_set_auto_mine(false).await.unwrap();
    let sent_before = anvil.get_transaction_count(wallet).pending().await.unwrap();
    let waiting = tokio::spawn({
        let (open, url, client) = (open.clone(), process.url.clone(), client.clone());
        async move { open.post(&client, &url).await }
    });
    for _ in 0..200 {
        if anvil.get_transaction_count(wallet).pending().await.unwrap() > sent_before {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    process.kill();
    assert!(waiting.await.unwrap().is_err(), "its client lost the answer");
    let process = GatewayProcess::start(conf.path(), &[]);
    let ask = || async {
        let response = open.post(&client, &process.url).await.unwrap();
        let recovered = response.headers().get("gateway-recovered").is_some_and(|v| v == "true");
        let (status, body) = into_json(response).await;
        (status, body, recovered)
    };
    let (status, pending, recovered) = ask().await;
    assert_eq!((status, pending["status"].as_i64(), recovered), (StatusCode::OK, Some(0), true), "{pending}");
    anvil.anvil_set_auto_mine(true).await.unwrap();
    anvil.evm_mine(None).await.unwrap();
    let (status, body, recovered) = ask().await;
    assert_eq!((status, body["status"].as_i64(), recovered), (StatusCode::OK, Some(1), true), "{body}");
    assert_eq!(body["signature"], pending["signature"]);
    let position = body["data"]["positionAddress"].as_str().expect("the new position's id").to_string();
    let added = body["data"]["baseTokenAmountAdded"].as_str().unwrap().parse::<f64>().unwrap();
    assert!((added - 1.0).abs() < 1e-9, "{body}");
    assert_eq!(anvil.get_transaction_count(wallet).await.unwrap(), sent_before + 1, "opened once");
    let info = format!(
        "{}/trading/clmm/position-info?chainNetwork=ethereum-devnet&connector=uniswap&positionAddress={position}",
        process.url
    );
    let (status, info) = into_json(client.get(info).send().await.unwrap()).await;
    assert_eq!((status, info["address"].as_str()), (StatusCode::OK, Some(position.as_str())), "{info}");
    process.kill();
}
