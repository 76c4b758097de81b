use alloy::primitives::U256;
use alloy::primitives::aliases::{U24, U160};
use connectors::v3::INonfungiblePositionManager;
use gateway::devnet::Unlocked;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{self, TestGateway, assert_error_body};

#[tokio::test]
async fn pools_are_listed_found_on_chain_added_and_removed() {
    let devnet = common::devnet().await;
    let gw = TestGateway::on_devnet(&devnet).await;

    let (status, all) = gw.get("/pools?chainNetwork=ethereum-devnet").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(all.as_array().unwrap().len(), devnet.deployment().pools.len());
    let (_, clmm) = gw.get("/pools?chainNetwork=ethereum-devnet&connector=uniswap&type=clmm&search=WETH-USDC").await;
    assert_eq!(clmm.as_array().unwrap().len(), 3, "V3's 0.05 % and 0.3 % pools and V4's 0.3 % pool: {clmm}");
    let (status, pool) = gw.get("/pools/WETH-USDC?chainNetwork=ethereum-devnet&connector=uniswap&type=amm").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(pool["address"], "0xB4e16d0168e52d35CaCD2c6185b44281Ec28C9Dc");
    let (status, body) = gw.get("/pools/WETH-DAI?chainNetwork=ethereum-devnet&type=amm").await;
    assert_error_body(status, &body, StatusCode::NOT_FOUND, "GET /pools/find");
    for half in ["WETH-", "-USDC", "WETHUSDC"] {
        let (status, body) = gw.get(&format!("/pools/{half}?chainNetwork=ethereum-devnet&type=amm")).await;
        assert_error_body(status, &body, StatusCode::BAD_REQUEST, "tradingPair");
    }

    // On-chain discovery through the factories (and V4's StateView): Uniswap V2 + two V3 tiers + V4's 0.3 %,
    // PancakeSwap V2 + two V3 tiers.
    let (status, found) = gw.get("/pools/find?chainNetwork=ethereum-devnet&tokenA=WETH&tokenB=USDC").await;
    assert_eq!(status, StatusCode::OK, "{found}");
    let mut kinds: Vec<String> =
        found.as_array().unwrap().iter().map(|p| format!("{}/{}/{}", p["connector"], p["type"], p["feePct"])).collect();
    kinds.sort();
    assert_eq!(
        kinds,
        vec![
            "\"pancakeswap\"/\"amm\"/\"0.2\"",
            "\"pancakeswap\"/\"clmm\"/\"0.05\"",
            "\"pancakeswap\"/\"clmm\"/\"0.25\"",
            "\"uniswap\"/\"amm\"/\"0.3\"",
            "\"uniswap\"/\"clmm\"/\"0.05\"",
            "\"uniswap\"/\"clmm\"/\"0.3\"",
            "\"uniswap\"/\"clmm\"/\"0.3\""
        ]
    );
    let v4 =
        found.as_array().unwrap().iter().find(|p| p["address"].as_str().unwrap().len() == 66).expect("a V4 pool id");
    let (status, by_id) =
        gw.get(&format!("/pools/find/{}?chainNetwork=ethereum-devnet", v4["address"].as_str().unwrap())).await;
    assert_eq!(status, StatusCode::OK, "{by_id}");
    assert_eq!(&by_id, v4, "a V4 pool is found by its id as by its tokens");

    // A pool created now (USDT/USDC 0.01 %) is found by address, saved, used, and removed.
    let chain = Unlocked::new(&devnet.rpc_url(), devnet.accounts()[0]).unwrap();
    let v3 = connectors::dex::Registry::builtin().find("uniswap", "devnet").unwrap().v3.unwrap();
    let (usdt, usdc) = (devnet.deployment().token("USDT").address, devnet.deployment().token("USDC").address);
    let (token0, token1) = connectors::core::route::sort_tokens(usdt, usdc);
    create_pool(&chain, v3.position_manager, (token0, token1), 100).await;
    let address = v3.pool_address(usdt, usdc, 100);
    let (status, found) = gw.get(&format!("/pools/find/{address}?chainNetwork=ethereum-devnet")).await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(
        (found["connector"].as_str(), found["type"].as_str(), Some(common::decimal(&found["feePct"]))),
        (Some("uniswap"), Some("clmm"), Some(0.01))
    );
    let (status, saved) = gw.post(&format!("/pools/save/{address}?chainNetwork=ethereum-devnet"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    let (status, again) = gw.post(&format!("/pools/save/{address}?chainNetwork=ethereum-devnet"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "saving again updates: {again}");
    assert!(again["message"].as_str().unwrap().contains("updated"), "{again}");
    let (_, listed) = gw.get("/pools?chainNetwork=ethereum-devnet&search=USDT").await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    let response =
        gw.client().delete(gw.url(&format!("/pools/{address}?chainNetwork=ethereum-devnet"))).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let (_, listed) = gw.get("/pools?chainNetwork=ethereum-devnet&search=USDT").await;
    assert!(listed.as_array().unwrap().is_empty());

    // Added by hand, with the base the caller chooses; a config pool cannot be removed here; bad input is named.
    let (status, added) = gw
        .post("/pools", json!({"chainNetwork": "ethereum-devnet", "connector": "uniswap", "type": "clmm", "address": address, "baseTokenAddress": usdc}))
        .await;
    assert_eq!(status, StatusCode::OK, "{added}");
    assert_eq!(added["pool"]["baseSymbol"], "USDC");
    // Added again ("ensure" scripts): 200, and the entry follows the latest request.
    let (status, again) = gw
        .post(
            "/pools",
            json!({"chainNetwork": "ethereum-devnet", "connector": "uniswap", "type": "clmm", "address": address,
            "baseTokenAddress": usdt, "baseSymbol": "USDT0", "feePct": 0.01}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{again}");
    let (_, listed) = gw.get("/pools?chainNetwork=ethereum-devnet&search=USDT0").await;
    assert_eq!(listed.as_array().unwrap().len(), 1, "one entry, updated: {listed}");
    assert_eq!((listed[0]["baseSymbol"].as_str(), listed[0]["quoteSymbol"].as_str()), (Some("USDT0"), Some("USDC")));
    // A listed config pool re-added with other symbols: 200, one entry, the new symbols.
    let listed_pool = "0x88e6A0c2dDD26FEEb64F039a2c41296FcB3f5640";
    let (status, body) = gw
        .post(
            "/pools",
            json!({"chainNetwork": "ethereum-devnet", "connector": "uniswap", "type": "clmm",
            "address": listed_pool, "baseSymbol": "WETH", "quoteSymbol": "USDC.e"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, listed) = gw.get("/pools?chainNetwork=ethereum-devnet&connector=uniswap&type=clmm").await;
    let entries: Vec<&Value> = listed.as_array().unwrap().iter().filter(|p| p["address"] == listed_pool).collect();
    assert_eq!(entries.len(), 1, "{listed}");
    assert_eq!(entries[0]["quoteSymbol"], "USDC.e");
    // Another pool for the same pair said to have the same fee is refused; at its own fee it is listed.
    create_pool(&chain, v3.position_manager, (token0, token1), 500).await;
    let sibling = v3.pool_address(usdt, usdc, 500);
    let (status, body) = gw
        .post(
            "/pools",
            json!({"chainNetwork": "ethereum-devnet", "connector": "uniswap", "type": "clmm",
            "address": sibling, "feePct": 0.01}),
        )
        .await;
    assert_error_body(status, &body, StatusCode::CONFLICT, "already lists");
    let (status, body) = gw
        .post(
            "/pools",
            json!({"chainNetwork": "ethereum-devnet", "connector": "uniswap", "type": "clmm", "address": sibling}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = gw
        .post(
            "/pools",
            json!({"chainNetwork": "ethereum-devnet", "connector": "uniswap", "type": "amm", "address": address}),
        )
        .await;
    assert_error_body(status, &body, StatusCode::BAD_REQUEST, "is a uniswap clmm pool");
    // What the caller labels a listed pool with is bounded as a listed token's symbol is, and its fee is a percentage.
    for (field, value, named) in [
        ("baseSymbol", json!("US\nDC"), "baseSymbol: must be 1 to 32 printable characters; got 'US?DC'"),
        ("quoteSymbol", json!("x".repeat(33)), "quoteSymbol: must be 1 to 32"),
        ("baseSymbol", json!("USD\u{20ae}0"), "baseSymbol: U+20AE at position 4"),
        ("feePct", json!(-5), "feePct: must be a percentage from 0 to under 100; got -5"),
        ("feePct", json!(1e300), "feePct: must be a percentage"),
    ] {
        let mut request =
            json!({"chainNetwork": "ethereum-devnet", "connector": "uniswap", "type": "clmm", "address": address});
        request[field] = value;
        let (status, body) = gw.post("/pools", request).await;
        assert_error_body(status, &body, StatusCode::BAD_REQUEST, named);
    }
    let response = gw
        .client()
        .delete(gw.url("/pools/0xB4e16d0168e52d35CaCD2c6185b44281Ec28C9Dc?chainNetwork=ethereum-devnet"))
        .send()
        .await
        .unwrap();
    let (status, body) = common::into_json(response).await;
    assert_error_body(status, &body, StatusCode::BAD_REQUEST, "pools/uniswap.json");
    let (status, body) = gw.get("/pools?chainNetwork=ethereum-devnet&type=orderbook").await;
    assert_error_body(status, &body, StatusCode::BAD_REQUEST, "type");
}

/// Creates a V3 pool at price 1 through the position manager.
async fn create_pool(
    chain: &Unlocked,
    manager: alloy::primitives::Address,
    (token0, token1): (alloy::primitives::Address, alloy::primitives::Address),
    fee: u32,
) {
    let create = INonfungiblePositionManager::createAndInitializePoolIfNecessaryCall {
        token0,
        token1,
        fee: U24::from(fee),
        sqrtPriceX96: U160::from(U256::from(1) << 96),
    };
    chain.call(manager, create).await.unwrap();
}
