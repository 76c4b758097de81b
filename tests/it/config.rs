use std::collections::BTreeSet;

use alloy::primitives::Address;
use gateway::config::Config;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{self, TestGateway, assert_error_body};

#[tokio::test]
async fn an_update_is_applied_at_once_and_persists_to_yaml() {
    let gw = TestGateway::start().await;
    let file = gw.conf_dir().join("connectors/uniswap.yml");
    let before = std::fs::read_to_string(&file).unwrap();
    assert!(before.contains("slippagePct: 1\n"));

    let (status, body) =
        gw.post("/config/update", json!({"namespace": "uniswap", "path": "slippagePct", "value": 0.5})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["message"].as_str().unwrap().contains("'uniswap.slippagePct' set to 0.5"));

    let (_, uniswap) = gw.get("/config?namespace=uniswap").await;
    assert_eq!(uniswap["slippagePct"], json!(0.5));
    let after = std::fs::read_to_string(&file).unwrap();
    assert!(after.contains("slippagePct: 0.5\n"), "{after}");
    // Only that line changed: the comments and other settings are as the template left them.
    assert_eq!(after.replace("slippagePct: 0.5\n", "slippagePct: 1\n"), before);
    // Reading the files again (as a restart does) sees the new value.
    let (status, _) = gw.post("/restart", json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let (_, uniswap) = gw.get("/config?namespace=uniswap").await;
    assert_eq!(uniswap["slippagePct"], json!(0.5));
    assert_eq!(Config::load(gw.conf_dir()).unwrap().connectors["uniswap"].slippage_pct, 0.5);
}

#[tokio::test]
async fn values_typed_as_strings_are_converted_like_gateway_did() {
    let gw = TestGateway::start().await;
    let (status, body) =
        gw.post("/config/update", json!({"namespace": "uniswap", "path": "maximumHops", "value": "2"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, uniswap) = gw.get("/config?namespace=uniswap").await;
    assert_eq!(uniswap["maximumHops"], json!(2));
}

#[tokio::test]
async fn gateway_network_form_and_node_url_lists() {
    let gw = TestGateway::start().await;
    let urls = json!(["http://127.0.0.1:1", "http://127.0.0.1:2"]);
    let (status, body) = gw
        .post("/config/update", json!({"namespace": "ethereum", "network": "devnet", "path": "nodeURL", "value": urls}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, devnet) = gw.get("/config?namespace=ethereum&network=devnet").await;
    assert_eq!(devnet["nodeURL"], urls);
    let loaded = Config::load(gw.conf_dir()).unwrap();
    assert_eq!(loaded.networks["devnet"].node_url.to_vec(), vec!["http://127.0.0.1:1", "http://127.0.0.1:2"]);
}

#[tokio::test]
async fn bad_updates_are_refused_with_400_naming_the_setting_and_change_nothing() {
    let gw = TestGateway::start().await;
    let snapshot = || {
        ["connectors/uniswap.yml", "chains/ethereum/devnet.yml", "chains/ethereum.yml", "server.yml"]
            .map(|f| std::fs::read_to_string(gw.conf_dir().join(f)).unwrap())
    };
    let before = snapshot();
    let cases = [
        (json!({"namespace": "uniswap", "path": "slippagePct", "value": "abc"}), "slippagePct"),
        (json!({"namespace": "uniswap", "path": "slippagePct", "value": 150}), "between 0 and 100"),
        (json!({"namespace": "uniswap", "path": "slipagePct", "value": 1}), "'slipagePct' is not a setting"),
        (json!({"namespace": "ethereum-devnet", "path": "nodeURL", "value": "not a url"}), "nodeURL"),
        (json!({"namespace": "ethereum-devnet", "path": "swapProvider", "value": "sushiswap/router"}), "swapProvider"),
        (json!({"namespace": "ethereum", "path": "defaultNetwork", "value": "moon"}), "defaultNetwork"),
        (json!({"namespace": "server", "path": "port", "value": 70000}), "port"),
        (json!({"namespace": "server", "path": "logLevel", "value": "loud"}), "logLevel"),
        (json!({"namespace": "server", "path": "requestTimeoutSeconds", "value": 0}), "requestTimeoutSeconds"),
        // The next start must not be pointed at keys outside the conf dir, or at a folder that is not there.
        (json!({"namespace": "server", "path": "certificatePath", "value": "/etc/"}), "inside the conf dir"),
        (json!({"namespace": "server", "path": "certificatePath", "value": "../"}), "certificatePath"),
        (json!({"namespace": "server", "path": "certificatePath", "value": "elsewhere/"}), "certificatePath"),
        (json!({"namespace": "server", "path": "certificatePath", "value": "escape/"}), "certificatePath"),
        (json!({"namespace": "server", "path": "certificatePath", "value": "server.yml"}), "certificatePath"),
    ];
    std::os::unix::fs::symlink("/etc", gw.conf_dir().join("escape")).unwrap();
    for (request, expected) in cases {
        let (status, body) = gw.post("/config/update", request.clone()).await;
        assert_error_body(status, &body, StatusCode::BAD_REQUEST, expected);
    }
    let (status, body) = gw.post("/config/update", json!({"namespace": "nowhere", "path": "x", "value": 1})).await;
    assert_error_body(status, &body, StatusCode::NOT_FOUND, "namespace 'nowhere' does not exist");
    assert_eq!(snapshot(), before);
}

#[tokio::test]
async fn settings_read_at_start_say_so_when_updated() {
    let gw = TestGateway::start().await;
    std::fs::create_dir(gw.conf_dir().join("tls")).unwrap();
    for (path, value) in [("certificatePath", json!("./tls/")), ("port", json!(15999))] {
        let (status, body) =
            gw.post("/config/update", json!({"namespace": "server", "path": path, "value": value})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body["message"].as_str().unwrap().ends_with("it takes effect at the next start"), "{body}");
    }
    assert_eq!(Config::load(gw.conf_dir()).unwrap().server.certificate_path, "./tls/");
    let (_, body) =
        gw.post("/config/update", json!({"namespace": "server", "path": "requestTimeoutSeconds", "value": 30})).await;
    assert!(!body["message"].as_str().unwrap().contains("next start"), "applied at once: {body}");
    assert_eq!(gw.gateway.state.request_timeout(), std::time::Duration::from_secs(30));
}

#[tokio::test]
async fn chains_connectors_and_namespaces_describe_the_config() {
    let gw = TestGateway::start().await;
    let (status, chains) = gw.get("/config/chains").await;
    assert_eq!(status, StatusCode::OK);
    let ethereum = &chains["chains"][0];
    assert_eq!(ethereum["chain"], "ethereum");
    assert_eq!(ethereum["defaultNetwork"], "mainnet");
    let networks: BTreeSet<&str> =
        ethereum["networks"].as_array().unwrap().iter().map(|n| n.as_str().unwrap()).collect();
    for network in ["mainnet", "polygon", "arbitrum", "bsc", "base", "optimism", "sepolia", "devnet"] {
        assert!(networks.contains(network), "{network} missing from {networks:?}");
    }

    let (_, connectors) = gw.get("/config/connectors").await;
    let uniswap = connectors["connectors"].as_array().unwrap().iter().find(|c| c["name"] == "uniswap").unwrap();
    assert_eq!(uniswap["trading_types"], json!(["router", "amm", "clmm"]));
    assert_eq!(uniswap["chain"], "ethereum");
    assert!(uniswap["networks"].as_array().unwrap().contains(&json!("devnet")));

    let (_, namespaces) = gw.get("/config/namespaces").await;
    let namespaces: Vec<&str> =
        namespaces["namespaces"].as_array().unwrap().iter().map(|n| n.as_str().unwrap()).collect();
    for expected in ["server", "ethereum", "ethereum-mainnet", "ethereum-devnet", "uniswap", "pancakeswap"] {
        assert!(namespaces.contains(&expected), "{expected} missing from {namespaces:?}");
    }

    let (_, all) = gw.get("/config").await;
    assert_eq!(all["ethereum-mainnet"]["chainID"], json!(1));
    assert_eq!(all["server"]["port"], json!(15888));
    assert_eq!(all["ethereum-devnet"]["chainID"], json!(31337));
}

#[test]
fn token_lists_hold_checksummed_addresses_and_match_their_network() {
    let dir = tempfile::TempDir::new().unwrap();
    gateway::config::install_templates(dir.path()).unwrap();
    let config = Config::load(dir.path()).unwrap();
    for (network, network_config) in &config.networks {
        let path = dir.path().join(format!("tokens/ethereum/{network}.json"));
        let tokens: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert!(!tokens.is_empty(), "{network} has no tokens");
        for token in tokens {
            let address = token["address"].as_str().unwrap();
            Address::parse_checksummed(address, None).unwrap_or_else(|e| panic!("{network} {address}: {e}"));
            assert_eq!(token["chainId"], json!(network_config.chain_id), "{network} {token}");
            assert!(token["decimals"].as_u64().unwrap() <= 36);
        }
    }
}

#[tokio::test]
async fn devnet_templates_list_exactly_what_the_devnet_deploys() {
    let devnet = common::devnet().await;
    let deployment = devnet.deployment();
    let dir = tempfile::TempDir::new().unwrap();
    gateway::config::install_templates(dir.path()).unwrap();

    let tokens: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("tokens/ethereum/devnet.json")).unwrap())
            .unwrap();
    let listed: BTreeSet<(String, Address, u64)> = tokens
        .iter()
        .map(|t| {
            (
                t["symbol"].as_str().unwrap().to_string(),
                t["address"].as_str().unwrap().parse().unwrap(),
                t["decimals"].as_u64().unwrap(),
            )
        })
        .collect();
    let deployed: BTreeSet<(String, Address, u64)> =
        deployment.tokens.iter().map(|t| (t.symbol.clone(), t.address, t.decimals as u64)).collect();
    assert_eq!(listed, deployed);

    for connector in ["uniswap", "pancakeswap"] {
        let pools: Vec<Value> =
            serde_json::from_str(&std::fs::read_to_string(dir.path().join(format!("pools/{connector}.json"))).unwrap())
                .unwrap();
        let by_address = |a: &Value, b: &Value| a["address"].as_str().cmp(&b["address"].as_str());
        let mut listed: Vec<Value> = pools.into_iter().filter(|p| p["network"] == "devnet").collect();
        listed.sort_by(by_address);
        let mut deployed: Vec<Value> =
            deployment.pools.iter().filter(|p| p.connector == connector).map(pool_list_entry).collect();
        deployed.sort_by(by_address);
        assert_eq!(
            listed,
            deployed,
            "pools/{connector}.json should list, for devnet: {}",
            serde_json::to_string_pretty(&deployed).unwrap()
        );
    }
}

/// A pool as Gateway's pool lists write it.
fn pool_list_entry(pool: &gateway::devnet::DevnetPool) -> Value {
    let fee_pct = match pool.kind.as_str() {
        "amm" => {
            connectors::dex::Registry::builtin().find(&pool.connector, "devnet").unwrap().v2.unwrap().fee_bps as f64
                / 100.0
        }
        _ => pool.fee as f64 / 10_000.0,
    };
    json!({
        "type": pool.kind,
        "network": "devnet",
        "baseSymbol": pool.base,
        "quoteSymbol": pool.quote,
        "address": pool.address.to_string(),
        "baseTokenAddress": pool.base_address.to_checksum(None),
        "quoteTokenAddress": pool.quote_address.to_checksum(None),
        "feePct": fee_pct,
    })
}
