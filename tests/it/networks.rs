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

/// A wrap as the node holds it, and the base fee of the block that mined it. The block is read from the receipt:
/// for a moment after mining, anvil still answers the transaction from its pool, without its block.
async fn wrapped(gw: &TestGateway) -> (alloy::rpc::types::Transaction, u128) {
    let (status, body) = gw.post("/chains/ethereum/wrap", json!({"network": "devnet", "amount": "0.001"})).await;
    assert_eq!((status, body["status"].as_i64()), (StatusCode::OK, Some(1)), "{body}");
    let hash: B256 = body["signature"].as_str().unwrap().parse().unwrap();
    let network = gw.devnet_network();
    let node = network.provider();
    let sent = node.get_transaction_by_hash(hash).await.unwrap().expect("the node has it");
    let receipt = node.get_transaction_receipt(hash).await.unwrap().expect("mined");
    let block = node.get_block_by_number(receipt.block_number.unwrap().into()).await.unwrap().unwrap();
    (sent, u128::from(block.header.base_fee_per_gas.unwrap()))
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
    assert_eq!(estimate["maxPriorityFeePerGas"], "25", "{estimate}");
    let (sent, base_fee) = wrapped(&gw).await;
    assert_eq!(sent.max_priority_fee_per_gas(), Some(25 * GWEI));
    assert!(sent.max_fee_per_gas() >= base_fee + 25 * GWEI, "the whole tip is payable");

    // BSC's rule: legacy, at the node's gas price or the floor, whichever is higher.
    assert_eq!(set(&gw, "transactionType", json!("legacy")).await.0, StatusCode::OK);
    let node_price = gw.devnet_network().provider().get_gas_price().await.unwrap();
    let (sent, _) = wrapped(&gw).await;
    assert_eq!(sent.inner.tx_type(), alloy::consensus::TxType::Legacy);
    assert_eq!(sent.gas_price(), Some(node_price.max(25 * GWEI)));
    let (_, estimate) = gw.get("/chains/ethereum/estimate-gas?network=devnet").await;
    assert_eq!(estimate["gasType"], "legacy", "{estimate}");

    // A fixed legacy price on a chain with a floor: its tip is what is over the base fee, so the floor is on top.
    assert_eq!(set(&gw, "gasPrice", json!(1)).await.0, StatusCode::OK);
    let (sent, base_fee) = wrapped(&gw).await;
    assert!(sent.gas_price() >= Some(base_fee + 25 * GWEI), "{:?} over a base fee of {base_fee}", sent.gas_price());

    // A floor the caps cannot pay is refused when it is set, naming both.
    let (status, body) = set(&gw, "minPriorityFee", json!(600)).await;
    assert_error_body(status, &body, StatusCode::BAD_REQUEST, "minPriorityFee");
    assert!(body["message"].as_str().unwrap().contains("gasPriceCap"), "{body}");
    let (status, body) = set(&gw, "transactionType", json!("type-7")).await;
    assert_error_body(status, &body, StatusCode::BAD_REQUEST, "transactionType");
}

#[tokio::test]
async fn on_an_op_stack_chain_the_fee_reported_is_what_the_wallet_paid_l1_data_fee_included() {
    use gateway::devnet::{Devnet, DevnetAssets};
    use gateway::rehearsal::Profile;
    let base = Profile::named("base").unwrap();
    let devnet =
        Devnet::start_like(&DevnetAssets::locate(), 0, base, &|step| eprintln!("devnet: {step}")).await.unwrap();
    let conf = common::devnet_conf(&[devnet.rpc_url()]);
    gateway::config::Config::load(conf.path()).unwrap().update("ethereum-devnet", "chainID", json!(8453)).unwrap();
    let gw = TestGateway::start_in(conf, None, common::PASSPHRASE).await.unwrap();
    let wallet = gw.add_wallet(&devnet, 1).await;
    let node = gw.devnet_network().provider().clone();

    let (_, estimate) = gw.get("/chains/ethereum/estimate-gas?network=devnet").await;
    let l1_estimate: f64 = common::decimal(&estimate["l1DataFee"]);
    assert!(l1_estimate > 0.0, "{estimate}");
    let gas_only = common::decimal(&estimate["feePerComputeUnit"]) * 300_000.0 / 1e9;
    assert!((common::decimal(&estimate["fee"]) - gas_only - l1_estimate).abs() < 1e-12, "{estimate}");

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
    assert_eq!(polled["fee"], body["data"]["fee"], "{polled}");

    // maxTxFee holds the L1 fee too: under what the L1 fee alone may reach, nothing is signed.
    let cap = json!({"namespace": "ethereum-devnet", "path": "maxTxFee", "value": 0.0000001});
    assert_eq!(gw.post("/config/update", cap).await.0, StatusCode::OK);
    let nonce = node.get_transaction_count(wallet).await.unwrap();
    let (status, body) = gw.post("/chains/ethereum/wrap", json!({"network": "devnet", "amount": "0.001"})).await;
    assert_error_body(status, &body, StatusCode::BAD_REQUEST, "L1 data fee");
    assert_eq!(node.get_transaction_count(wallet).await.unwrap(), nonce, "nothing sent");
}

/// A devnet like `name`'s network, and a gateway on it as `gateway devnet --like` sets one up, with devnet
/// account 1 as its wallet.
async fn like(name: &str) -> (gateway::devnet::Devnet, TestGateway) {
    use gateway::devnet::{Devnet, DevnetAssets};
    use gateway::rehearsal::Profile;
    let profile = Profile::named(name).unwrap();
    let devnet =
        Devnet::start_like(&DevnetAssets::locate(), 0, profile, &|step| eprintln!("devnet: {step}")).await.unwrap();
    let conf = tempfile::TempDir::new().unwrap();
    gateway::devnet::point_network_at(conf.path(), &devnet.rpc_url(), profile, devnet.accounts()).unwrap();
    let gw = TestGateway::start_in(conf, None, common::PASSPHRASE).await.unwrap();
    gw.add_wallet(&devnet, 1).await;
    (devnet, gw)
}

async fn sent(gw: &TestGateway, body: &Value) -> alloy::rpc::types::Transaction {
    let hash: B256 = body["signature"].as_str().unwrap_or_else(|| panic!("{body}")).parse().unwrap();
    gw.devnet_network().provider().get_transaction_by_hash(hash).await.unwrap().expect("the node has it")
}

/// Signs a transfer of 1 wei from devnet account `index` with `fees` and posts it to the devnet's node.
async fn post_raw(devnet: &gateway::devnet::Devnet, index: usize, legacy_price: Option<u128>, tip: u128) -> String {
    use alloy::consensus::{SignableTransaction, TxEip1559, TxEnvelope, TxLegacy};
    use alloy::eips::eip2718::Encodable2718;
    use alloy::network::TxSignerSync;
    let signer: alloy::signers::local::PrivateKeySigner = devnet.private_key(index).parse().unwrap();
    let node = common::node(devnet);
    let (chain_id, nonce) =
        (node.get_chain_id().await.unwrap(), node.get_transaction_count(signer.address()).await.unwrap());
    let to = alloy::primitives::TxKind::Call(signer.address());
    let value = alloy::primitives::U256::from(1);
    let envelope: TxEnvelope = match legacy_price {
        Some(gas_price) => {
            let mut tx = TxLegacy {
                chain_id: Some(chain_id),
                nonce,
                gas_price,
                gas_limit: 21_000,
                to,
                value,
                ..Default::default()
            };
            let signature = signer.sign_transaction_sync(&mut tx).unwrap();
            tx.into_signed(signature).into()
        }
        None => {
            let mut tx = TxEip1559 {
                chain_id,
                nonce,
                gas_limit: 21_000,
                max_fee_per_gas: 1000 * GWEI,
                max_priority_fee_per_gas: tip,
                to,
                value,
                ..Default::default()
            };
            let signature = signer.sign_transaction_sync(&mut tx).unwrap();
            tx.into_signed(signature).into()
        }
    };
    let raw = alloy::primitives::Bytes::from(envelope.encoded_2718());
    match node.send_raw_transaction(&raw).await {
        Ok(_) => "accepted".into(),
        Err(error) => error.to_string(),
    }
}

#[tokio::test]
async fn a_polygon_like_devnet_refuses_tips_under_25_gwei_as_bor_does_and_the_gateway_never_sends_one() {
    let (devnet, gw) = like("polygon").await;
    let refused = post_raw(&devnet, 2, None, GWEI).await;
    assert!(
        refused.contains("transaction gas price below minimum: gas tip cap 1000000000, minimum needed 25000000000"),
        "{refused}"
    );
    assert_eq!(post_raw(&devnet, 2, None, 25 * GWEI).await, "accepted");
    let (_, body) = gw.post("/chains/ethereum/wrap", json!({"network": "devnet", "amount": "0.001"})).await;
    assert!(sent(&gw, &body).await.max_priority_fee_per_gas() >= Some(25 * GWEI), "{body}");
    let approve = json!({"network": "devnet", "token": "WETH", "spender": "uniswap/router"});
    let (_, body) = gw.post("/chains/ethereum/approve", approve).await;
    assert!(sent(&gw, &body).await.max_priority_fee_per_gas() >= Some(25 * GWEI), "{body}");
}

#[tokio::test]
async fn a_bsc_like_devnet_gets_legacy_transactions_at_its_minimum_gas_price_or_above() {
    let (devnet, gw) = like("bsc").await;
    let refused = post_raw(&devnet, 2, Some(10_000_000), 0).await;
    assert!(refused.contains("transaction underpriced: gas tip cap 10000000, minimum needed 50000000"), "{refused}");
    let (_, body) = gw.post("/chains/ethereum/wrap", json!({"network": "devnet", "amount": "0.001"})).await;
    let tx = sent(&gw, &body).await;
    assert_eq!(tx.inner.tx_type(), alloy::consensus::TxType::Legacy, "{body}");
    assert!(tx.gas_price() >= Some(50_000_000), "{body}");
}

#[tokio::test]
async fn on_arbitrum_and_robinhood_chain_like_devnets_no_tip_is_offered() {
    for network in ["arbitrum", "robinhoodchain"] {
        let (_devnet, gw) = like(network).await;
        let (_, chains) = gw.get("/config/chains").await;
        let networks = chains["chains"][0]["networks"].as_array().unwrap();
        for served in ["robinhoodchain", "robinhoodchain-testnet"] {
            assert!(networks.iter().any(|n| n == served), "{served} in {chains}");
        }
        let (_, body) = gw.post("/chains/ethereum/wrap", json!({"network": "devnet", "amount": "0.001"})).await;
        assert_eq!(sent(&gw, &body).await.max_priority_fee_per_gas(), Some(0), "{network}: {body}");
    }
}

#[tokio::test]
async fn on_every_profile_a_wallet_wraps_approves_and_executes_a_router_quote_to_the_unit_at_the_networks_addresses() {
    for profile in gateway::rehearsal::Profile::ALL {
        let (devnet, gw) = like(profile.name).await;
        let name = profile.name;
        let template = if profile.is_plain() { "devnet" } else { name };
        let (settings, listed) = gateway::config::network_template(template).unwrap();
        // The devnet holds the network's token list at the network's addresses.
        for token in &listed {
            let deployed = devnet.deployment().token(&token.symbol);
            assert_eq!((deployed.address, deployed.decimals), (token.address, token.decimals), "{name}");
        }
        let native = settings.native_currency_symbol;
        let (status, body) = gw.get("/pools?network=devnet&connector=uniswap").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body.as_array().unwrap().is_empty(), !profile.is_plain(), "{name}: listed pools {body}");
        let wrap = json!({"network": "devnet", "amount": "0.5"});
        let (status, body) = gw.post("/chains/ethereum/wrap", wrap).await;
        // Celo's native currency is an ERC-20 itself, which the periphery takes as its WETH9.
        let wrapped = match listed.iter().any(|token| token.symbol == native) {
            true => {
                assert_error_body(status, &body, StatusCode::BAD_REQUEST, "needs no wrapping");
                native.clone()
            }
            false => {
                assert_eq!((status, body["status"].as_i64()), (StatusCode::OK, Some(1)), "{name}: {body}");
                format!("W{native}")
            }
        };
        let approve = json!({"network": "devnet", "token": wrapped, "spender": "uniswap/router"});
        let (status, body) = gw.post("/chains/ethereum/approve", approve).await;
        assert_eq!((status, body["status"].as_i64()), (StatusCode::OK, Some(1)), "{name}: {body}");
        // USDC, or Robinhood Chain's USDG: the stablecoin the devnet pooled the wrapped native token against.
        let stable = match listed.iter().any(|token| token.symbol == "USDC") {
            true => "USDC".to_string(),
            false => listed.iter().find(|token| token.decimals == 6).expect("a stablecoin").symbol.clone(),
        };
        let quote = format!(
            "/trading/router/quote-swap?chainNetwork=ethereum-devnet&connector=uniswap&baseToken={wrapped}&quoteToken={stable}&amount=0.5&side=SELL"
        );
        let (status, text) = gw.get_text(&quote).await;
        assert_eq!(status, StatusCode::OK, "{name}: {text}");
        let quoted = common::raw_field(&text, "amountOut");
        let quote_id = serde_json::from_str::<Value>(&text).unwrap()["quoteId"].clone();
        let usdc = devnet.deployment().token(&stable);
        let wallet = devnet.accounts()[1];
        let usdc_of =
            async || chains::erc20::balances(&gw.devnet_network(), wallet, &[usdc.address]).await.unwrap().1[0];
        let before = usdc_of().await;
        let execute = json!({"chainNetwork": "ethereum-devnet", "connector": "uniswap", "quoteId": quote_id});
        let (status, body) = gw.post("/trading/router/execute-quote", execute).await;
        assert_eq!((status, body["status"].as_i64()), (StatusCode::OK, Some(1)), "{name}: {body}");
        let received = chains::amount::format_units(usdc_of().await - before, usdc.decimals);
        assert_eq!(received, quoted, "{name}: the executed amount is the quote's");
    }
}

#[tokio::test]
async fn with_no_pool_listed_the_router_finds_pools_through_the_factories_once_per_block() {
    let devnet = common::devnet().await;
    let listed = TestGateway::on_devnet(&devnet).await;
    let conf = common::devnet_conf(&[devnet.rpc_url()]);
    for connector in ["uniswap", "pancakeswap"] {
        let file = conf.path().join(format!("pools/{connector}.json"));
        let pools: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        let kept: Vec<Value> = pools.into_iter().filter(|pool| pool["network"] != "devnet").collect();
        std::fs::write(&file, serde_json::to_string(&kept).unwrap()).unwrap();
    }
    let unlisted = TestGateway::start_in(conf, None, common::PASSPHRASE).await.unwrap();
    unlisted.add_wallet(&devnet, 1).await;
    let quote = |pair: &str, amount: &str| {
        format!(
            "/trading/router/quote-swap?chainNetwork=ethereum-devnet&connector=uniswap&{pair}&amount={amount}&side=SELL"
        )
    };
    // The same best route as over the listed pools, directly and through WETH.
    for (pair, amount) in [("baseToken=WETH&quoteToken=USDC", "0.5"), ("baseToken=WBTC&quoteToken=USDC", "0.1")] {
        let (status, found) = unlisted.get_text(&quote(pair, amount)).await;
        assert_eq!(status, StatusCode::OK, "{found}");
        let (_, known) = listed.get_text(&quote(pair, amount)).await;
        assert_eq!(common::raw_field(&found, "amountOut"), common::raw_field(&known, "amountOut"), "{pair}");
    }
    // Warm: another amount in the same block asks the node nothing.
    let network = unlisted.devnet_network();
    // Calls beyond the block poller's, which asks for new blocks on its own.
    let calls = || network.stats().requests() - network.stats().block_polls();
    let asked = calls();
    let (status, _) = unlisted.get_text(&quote("baseToken=WBTC&quoteToken=USDC", "0.2")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(calls(), asked, "pools found and their states are kept for the block");

    // A pair the factories have no pool for, directly or through a routing token, says what to do.
    let (status, body) = unlisted.get(&quote("baseToken=LINK&quoteToken=MKR", "1")).await;
    assert_error_body(status, &body, StatusCode::BAD_REQUEST, "routingTokens");
    let asked = calls();
    let (status, _) = unlisted.get(&quote("baseToken=LINK&quoteToken=MKR", "2")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(calls(), asked, "no pool is an answer kept for the block too");

    // And the quote found that way executes to the unit.
    let approve = json!({"network": "devnet", "token": "WETH", "spender": "uniswap/router"});
    assert_eq!(unlisted.post("/chains/ethereum/approve", approve).await.0, StatusCode::OK);
    let (_, text) = unlisted.get_text(&quote("baseToken=WETH&quoteToken=USDC", "0.25")).await;
    let quote_id = serde_json::from_str::<Value>(&text).unwrap()["quoteId"].clone();
    let usdc = devnet.deployment().token("USDC").address;
    let wallet = devnet.accounts()[1];
    let usdc_of = async || chains::erc20::balances(&network, wallet, &[usdc]).await.unwrap().1[0];
    let before = usdc_of().await;
    let execute = json!({"chainNetwork": "ethereum-devnet", "connector": "uniswap", "quoteId": quote_id});
    let (status, body) = unlisted.post("/trading/router/execute-quote", execute).await;
    assert_eq!((status, body["status"].as_i64()), (StatusCode::OK, Some(1)), "{body}");
    assert_eq!(chains::amount::format_units(usdc_of().await - before, 6), common::raw_field(&text, "amountOut"));
}

/// The listed pools ship with the templates and are never checked against a node in the tests: each address
/// must be where its connector's deployer places the pool of its tokens and fee (CREATE2), and every network
/// shipped lists some.
#[test]
fn every_listed_pool_is_at_its_create2_address_and_every_network_lists_some() {
    let conf = tempfile::TempDir::new().unwrap();
    gateway::config::install_templates(conf.path()).unwrap();
    let config = gateway::config::Config::load(conf.path()).unwrap();
    let registry = connectors::dex::Registry::builtin();
    let mut wrong = Vec::new();
    let mut listing = std::collections::BTreeSet::new();
    for (connector, pools) in &config.pool_lists {
        for pool in pools {
            let dex =
                registry.find(connector, &pool.network).unwrap_or_else(|| panic!("{connector} on {}", pool.network));
            let (base, quote) = (pool.base_token_address, pool.quote_token_address);
            let fee = (pool.fee_pct * 10_000.0).round() as u32;
            let computed: connectors::core::pool_address::PoolAddress = match (pool.kind.as_str(), pool.address) {
                ("amm", _) => dex.v2.expect("amm deployment").pair_address(base, quote).into(),
                (_, connectors::core::pool_address::PoolAddress::Id(_)) => {
                    let v4 = dex.v4.expect("V4 deployment");
                    let tier = *v4.fee_tiers.iter().find(|tier| tier.fee == fee).expect("a V4 fee tier");
                    v4.hookless_key(base, quote, tier).id().into()
                }
                _ => dex.v3.expect("clmm deployment").pool_address(base, quote, fee).into(),
            };
            if computed != pool.address {
                wrong.push(format!(
                    "{connector} {} {} {}/{} {}: listed {}, computed {computed}",
                    pool.network, pool.kind, pool.base_symbol, pool.quote_symbol, pool.fee_pct, pool.address
                ));
            }
            listing.insert(pool.network.clone());
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // Pools Gateway v2.13 lists too (its templates/pools), as it writes them: the deployers and init code hashes
    // above are checked against addresses found independently.
    let from_gateway = [
        ("uniswap", "arbitrum", "0xc473e2aee3441bf9240be85eb122abb059a3b57c"),
        ("uniswap", "base", "0xd0b53d9277642d899df5c87a3966a349a798f224"),
        ("pancakeswap", "bsc", "0x172fcd41e0913e95784454622d1c3724f546f849"),
        ("pancakeswap", "bsc", "0x7f51c8aaa6b0599abd16674e2b17fec7a9f674a1"),
    ];
    for (connector, network, address) in from_gateway {
        let address: alloy::primitives::Address = address.parse().unwrap();
        let listed = &config.pool_lists[connector];
        assert!(
            listed.iter().any(|pool| pool.network == network && pool.address == address.into()),
            "{connector} {network} {address}"
        );
    }
    // Sepolia's pools are the user's own; Robinhood Chain's Uniswap pools are published nowhere Gateway or Uniswap
    // lists them (its router finds them through the factories).
    let unlisted = ["sepolia", "robinhoodchain", "robinhoodchain-testnet"];
    for network in config.networks.keys().filter(|network| !unlisted.contains(&network.as_str())) {
        assert!(listing.contains(network), "{network} lists no pool");
    }
}

#[tokio::test]
async fn an_op_stack_network_whose_nodes_are_down_answers_503_naming_the_setting() {
    let gw = TestGateway::start().await;
    let closed = common::free_port();
    let down =
        json!({"namespace": "ethereum-base", "path": "nodeURL", "value": [format!("http://127.0.0.1:{closed}")]});
    assert_eq!(gw.post("/config/update", down).await.0, StatusCode::OK);
    let (status, body) = gw.get("/chains/ethereum/estimate-gas?network=base").await;
    assert_error_body(status, &body, StatusCode::SERVICE_UNAVAILABLE, "nodeURL");
    assert_eq!(body["code"], "RPC_UNREACHABLE");
}

#[tokio::test]
async fn a_rehearsal_keeps_its_own_tokens_and_pools_apart_from_the_plain_devnets_and_no_token_takes_the_native_symbol()
{
    let devnet = common::devnet().await;
    let gw = TestGateway::on_devnet(&devnet).await;
    let add = |symbol: &str, address: &str| json!({"chainNetwork": "ethereum-devnet", "token": {"name": "Test", "symbol": symbol, "address": address, "decimals": 18}});
    let (status, body) = gw.post("/tokens", add("eth", "0x2222222222222222222222222222222222222222")).await;
    assert_error_body(status, &body, StatusCode::BAD_REQUEST, "token.symbol");
    let (status, body) = gw.post("/tokens", add("TST", "0x1111111111111111111111111111111111111111")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let symbols = async || {
        let (_, list) = gw.get("/tokens?network=devnet&limit=1000").await;
        let tokens = list["tokens"].as_array().unwrap_or_else(|| panic!("{list}")).clone();
        let entry = |token: &Value| {
            let address: alloy::primitives::Address = token["address"].as_str().unwrap().parse().unwrap();
            (token["symbol"].as_str().unwrap().to_string(), address)
        };
        tokens.iter().map(entry).collect::<Vec<_>>()
    };
    assert!(symbols().await.iter().any(|(symbol, _)| symbol == "TST"));

    // The devnet given Base's chain id lists Base's tokens at Base's addresses, not what was saved on the plain one.
    let (status, body) = set(&gw, "chainID", json!(8453)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, base_tokens) = gateway::config::network_template("base").unwrap();
    let listed = symbols().await;
    assert_eq!(listed.len(), base_tokens.len(), "{listed:?}");
    for token in &base_tokens {
        assert!(listed.iter().any(|(symbol, address)| symbol == &token.symbol && *address == token.address));
    }
    let (status, body) = gw.post("/tokens", add("TST2", "0x3333333333333333333333333333333333333333")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, pools) = gw.get("/pools?network=devnet").await;
    assert_eq!(pools, json!([]), "the plain devnet's listed pools are not Base's");

    // Back on the plain devnet: its own list and what was saved there, not the rehearsal's.
    let (status, body) = set(&gw, "chainID", json!(31337)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let listed = symbols().await;
    assert!(listed.iter().any(|(symbol, _)| symbol == "TST") && !listed.iter().any(|(symbol, _)| symbol == "TST2"));
    assert!(!gw.get("/pools?network=devnet").await.1.as_array().unwrap().is_empty());
}
