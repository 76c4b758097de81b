//! PancakeSwap runs on the same family code as Uniswap, from its own description: the same cases, on its pools.

use connectors::dex::Registry;
use reqwest::StatusCode;
use serde_json::json;

use crate::common::{self, PASSPHRASE, TestGateway, approve, devnet_conf, quote_on};

#[tokio::test]
async fn pancake_v3_quotes_crossing_ticks_equal_its_quoter_and_the_swap() {
    crate::trading::clmm_crossing_case("pancakeswap", 2500).await;
}

#[tokio::test]
async fn pancake_router_two_hop_quotes_equal_the_chain_and_execute_exactly() {
    crate::trading::router_two_hop_case("pancakeswap").await;
}

#[tokio::test]
async fn pancake_v3_position_lifecycle_with_exact_balances() {
    crate::liquidity::clmm_lifecycle_case("pancakeswap", "0x1ac1A8FEaAEa1900C4166dEeed0C11cC10669D36", "WETH").await;
}

#[tokio::test]
async fn pancake_v2_swaps_at_its_own_fee() {
    let devnet = common::devnet().await;
    let gw = TestGateway::on_devnet(&devnet).await;
    approve(&gw, "WETH", "pancakeswap/amm").await;
    let (_, quote) = quote_on(&gw, "pancakeswap", "amm", "baseToken=WETH&quoteToken=USDC&amount=1&side=SELL").await;
    // The devnet pair (npm's 2020 PancakePair) charges 0.2 %: 1 WETH into 1000 WETH / 3,000,000 USDC.
    let expected = 1_000_000_000_000_000_000u128 * 998 * 3_000_000_000_000
        / (1_000_000_000_000_000_000_000 * 1000 + 1_000_000_000_000_000_000 * 998);
    assert_eq!(common::decimal(&quote["amountOut"]), expected as f64 / 1e6, "{quote}");
    assert!(quote["routePath"].as_str().unwrap().contains("0.2%"), "{quote}");
    let (status, executed) = gw
        .post("/trading/amm/execute-swap", json!({"chainNetwork": "ethereum-devnet", "connector": "pancakeswap", "baseToken": "WETH", "quoteToken": "USDC", "amount": 1, "side": "SELL"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{executed}");
    assert_eq!(executed["data"]["amountOut"], quote["amountOut"]);
}

/// A fork is a description, not code: a `connectors/<name>.json` in the conf dir describing where its contracts
/// are (here: a second description of the devnet's PancakeSwap V3 deployment) makes a new connector.
#[tokio::test]
async fn a_new_fork_is_a_description_with_no_new_code() {
    let devnet = common::devnet().await;
    let conf = devnet_conf(&[devnet.rpc_url()]);
    let builtin: serde_json::Value = serde_json::from_str(include_str!("../../connectors/deployments.json")).unwrap();
    let pancake = builtin.as_array().unwrap().iter().find(|d| d["name"] == "pancakeswap").unwrap();
    let fork = json!({"name": "forkswap", "networks": {"devnet": {"clmm": pancake["networks"]["devnet"]["clmm"]}}});
    std::fs::write(conf.path().join("connectors/forkswap.json"), fork.to_string()).unwrap();
    let pool = "0x19ac5f80ec17497d0e585b953100e6d18c330040";
    let pools = json!([{"type": "clmm", "network": "devnet", "baseSymbol": "WETH", "quoteSymbol": "USDC", "address": pool,
        "baseTokenAddress": devnet.deployment().token("WETH").address, "quoteTokenAddress": devnet.deployment().token("USDC").address, "feePct": 0.25}]);
    std::fs::write(conf.path().join("pools/forkswap.json"), pools.to_string()).unwrap();
    let gw = TestGateway::start_in(conf, None, PASSPHRASE).await.unwrap();
    gw.add_wallet(&devnet, 1).await;

    let (_, connectors) = gw.get("/config/connectors").await;
    let forkswap =
        connectors["connectors"].as_array().unwrap().iter().find(|c| c["name"] == "forkswap").expect("listed").clone();
    assert_eq!(forkswap["trading_types"], json!(["router", "clmm"]));
    assert_eq!(forkswap["networks"], json!(["devnet"]));
    approve(&gw, "WETH", "forkswap/clmm").await;
    let (_, quote) = quote_on(&gw, "forkswap", "clmm", "baseToken=WETH&quoteToken=USDC&amount=2&side=SELL").await;
    assert_eq!(quote["poolAddress"].as_str().unwrap().to_lowercase(), pool);
    let (status, executed) = gw
        .post("/trading/clmm/execute-swap", json!({"chainNetwork": "ethereum-devnet", "connector": "forkswap", "baseToken": "WETH", "quoteToken": "USDC", "amount": 2, "side": "SELL"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{executed}");
    assert_eq!(executed["data"]["amountOut"], quote["amountOut"]);
    assert!(Registry::builtin().find("forkswap", "devnet").is_none(), "nothing was added to the code");
}

/// PancakeSwap's V3 router takes V3 pools only: a router route through its V2 pairs executes through its V2
/// router, which approving `pancakeswap/router` covers too. DAI/USDC is a pair only its V2 has here.
#[tokio::test]
async fn pancake_router_routes_through_v2_pairs_execute_through_its_v2_router() {
    use alloy::primitives::U256;
    use alloy::rpc::types::TransactionRequest;
    use alloy::sol_types::SolCall;
    use connectors::v2::{IUniswapV2Factory, IUniswapV2Pair};

    let devnet = common::devnet().await;
    let chain = gateway::devnet::Unlocked::new(&devnet.rpc_url(), devnet.accounts()[0]).unwrap();
    let v2 = Registry::builtin().find("pancakeswap", "devnet").unwrap().v2.unwrap();
    let (dai, usdc) = (devnet.deployment().token("DAI").address, devnet.deployment().token("USDC").address);
    let send = async |to, data: Vec<u8>, what| {
        let tx = TransactionRequest::default().from(devnet.accounts()[0]).to(to).input(data.into());
        chain.transact(tx, what).await.unwrap();
    };
    send(v2.factory, IUniswapV2Factory::createPairCall { tokenA: dai, tokenB: usdc }.abi_encode(), "create").await;
    let pair = v2.pair_address(dai, usdc);
    let (dai_reserve, usdc_reserve) = (U256::from(10u64).pow(U256::from(24)), U256::from(1_000_000_000_000u64));
    let transfer = |amount| chains::contracts::IERC20::transferCall { to: pair, amount }.abi_encode();
    send(dai, transfer(dai_reserve), "fund DAI").await;
    send(usdc, transfer(usdc_reserve), "fund USDC").await;
    send(pair, IUniswapV2Pair::mintCall { to: devnet.accounts()[0] }.abi_encode(), "mint").await;

    let gw = TestGateway::on_devnet(&devnet).await;
    let wallet = devnet.accounts()[1];
    approve(&gw, "DAI", "pancakeswap/router").await;
    let (_, quote) = quote_on(&gw, "pancakeswap", "router", "baseToken=DAI&quoteToken=USDC&amount=100&side=SELL").await;
    assert_eq!(quote["route"][0]["type"], "amm", "{quote}");
    let usdc_of = async || chains::erc20::balances(&gw.devnet_network(), wallet, &[usdc]).await.unwrap().1[0];
    let before = usdc_of().await;
    let (status, executed) = gw
        .post(
            "/trading/router/execute-quote",
            json!({"chainNetwork": "ethereum-devnet", "connector": "pancakeswap", "quoteId": quote["quoteId"]}),
        )
        .await;
    assert_eq!((status, executed["status"].as_i64()), (StatusCode::OK, Some(1)), "{executed}");
    // 100 DAI into the pair's 1,000,000 DAI / 1,000,000 USDC at npm's PancakePair's 0.2 %, to the unit.
    let amount_in = U256::from(100u64) * U256::from(10u64).pow(U256::from(18));
    let in_with_fee = amount_in * U256::from(998);
    let expected = in_with_fee * usdc_reserve / (dai_reserve * U256::from(1000) + in_with_fee);
    assert_eq!(usdc_of().await - before, expected);
    let hash: alloy::primitives::B256 = executed["signature"].as_str().unwrap().parse().unwrap();
    let sent =
        alloy::providers::Provider::get_transaction_by_hash(&common::node(&devnet), hash).await.unwrap().unwrap();
    assert_eq!(alloy::consensus::Transaction::to(&sent), Some(v2.router));
}
