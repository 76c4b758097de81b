//! What Gateway v2.17 added: create-pool (a V3 pool started at a price, then usable by pool-info, fetch-pools,
//! positions and quotes; a V2 pair seeded with exactly what was given; each refused once it exists), and a router
//! quote for a wallet naming what it lacks.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::common::{self, TestGateway, approve, assert_error_body, decimal};

fn on_devnet(body: Value) -> Value {
    let mut body = body;
    body["chainNetwork"] = json!("ethereum-devnet");
    body["connector"] = json!("uniswap");
    body
}

#[tokio::test]
async fn a_clmm_pool_created_at_a_price_answers_it_takes_a_position_and_quotes() {
    let devnet = common::devnet().await;
    let gw = TestGateway::on_devnet(&devnet).await;
    for token in ["LINK", "USDC"] {
        approve(&gw, token, "uniswap/clmm").await;
        approve(&gw, token, "uniswap/clmm/swap").await;
    }
    let create = on_devnet(json!({"baseToken": "LINK", "quoteToken": "USDC", "feeBps": 30, "initialPrice": "15"}));
    let (status, created) = gw.post("/trading/clmm/create-pool", create.clone()).await;
    assert_eq!((status, created["status"].as_i64()), (StatusCode::OK, Some(1)), "{created}");
    let pool = created["poolAddress"].as_str().unwrap().to_string();
    let started = decimal(&created["price"]);
    assert!((started / 15.0 - 1.0).abs() < 0.0001, "within one tick of 15: {created}");

    let (status, info) = gw
        .get(&format!(
            "/trading/clmm/pool-info?chainNetwork=ethereum-devnet&connector=uniswap&poolAddress={pool}&baseToken=LINK"
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{info}");
    assert_eq!(info["price"], created["price"], "pool-info reads the price it was started at");
    assert_eq!(info["feePct"], "0.3");

    let open = on_devnet(json!({"poolAddress": pool, "lowerPrice": 10, "upperPrice": 20, "baseTokenAmount": "100"}));
    let (status, opened) = gw.post("/trading/clmm/open", open).await;
    assert_eq!((status, opened["status"].as_i64()), (StatusCode::OK, Some(1)), "{opened}");
    let (status, quote) = gw
        .get(&format!(
            "/trading/clmm/quote-swap?chainNetwork=ethereum-devnet&connector=uniswap&poolAddress={pool}&baseToken=LINK&quoteToken=USDC&amount=1&side=SELL"
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{quote}");
    assert!((decimal(&quote["price"]) / 15.0 - 1.0).abs() < 0.01, "{quote}");

    // fetch-pools finds it, as v2.17's clients search (query=BASE-QUOTE).
    let (status, fetched) =
        gw.get("/trading/clmm/fetch-pools?chainNetwork=ethereum-devnet&connector=uniswap&query=LINK-USDC").await;
    assert_eq!(status, StatusCode::OK, "{fetched}");
    assert!(
        fetched["pools"].as_array().unwrap().iter().any(|p| p["address"] == pool.as_str() && p["baseFee"] == "0.3"),
        "{fetched}"
    );

    let (status, again) = gw.post("/trading/clmm/create-pool", create).await;
    assert_error_body(
        status,
        &again,
        StatusCode::BAD_REQUEST,
        &format!("pool {pool} of this pair and fee already exists"),
    );
    assert_eq!(again["code"], "INVALID_PARAMS");
    let (status, tier) = gw
        .post("/trading/clmm/create-pool", on_devnet(json!({"baseToken": "LINK", "quoteToken": "USDC", "feeBps": 25})))
        .await;
    assert_error_body(status, &tier, StatusCode::BAD_REQUEST, "feeBps: must be one of 1, 5, 30, 100");
    for (price, says) in [("1e400", "must be a positive number"), ("1e-31", "beyond the prices a pool")] {
        let create = on_devnet(json!({"baseToken": "LINK", "quoteToken": "USDC", "feeBps": 5, "initialPrice": price}));
        let (status, refused) = gw.post("/trading/clmm/create-pool", create).await;
        assert_error_body(status, &refused, StatusCode::BAD_REQUEST, says);
        assert!(refused["message"].as_str().unwrap().starts_with("initialPrice"), "{refused}");
    }
}

#[tokio::test]
async fn an_amm_pair_created_with_100_and_50_holds_exactly_that_and_quotes_at_half() {
    let devnet = common::devnet().await;
    let gw = TestGateway::on_devnet(&devnet).await;
    for token in ["LINK", "USDC"] {
        approve(&gw, token, "uniswap/amm").await;
    }
    let create =
        on_devnet(json!({"baseToken": "LINK", "quoteToken": "USDC", "baseTokenAmount": "100", "quoteTokenAmount": 50}));
    let (status, created) = gw.post("/trading/amm/create-pool", create.clone()).await;
    assert_eq!((status, created["status"].as_i64()), (StatusCode::OK, Some(1)), "{created}");
    assert_eq!(
        (created["price"].as_str(), created["data"]["baseTokenAmountAdded"].as_str()),
        (Some("0.5"), Some("100"))
    );
    assert_eq!(created["data"]["quoteTokenAmountAdded"], "50");
    let pair = created["poolAddress"].as_str().unwrap().to_string();

    let (status, info) = gw
        .get(&format!(
            "/trading/amm/pool-info?chainNetwork=ethereum-devnet&connector=uniswap&poolAddress={pair}&baseToken=LINK"
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{info}");
    assert_eq!((info["baseTokenAmount"].as_str(), info["quoteTokenAmount"].as_str()), (Some("100"), Some("50")));
    assert_eq!(info["price"], "0.5");
    let (status, quote) = gw
        .get(&format!(
            "/trading/amm/quote-swap?chainNetwork=ethereum-devnet&connector=uniswap&poolAddress={pair}&baseToken=LINK&quoteToken=USDC&amount=1&side=SELL"
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{quote}");
    // What the pair's reserves give for 1 LINK at V2's 0.3 % fee, to the unit.
    let out = 10u128.pow(18) * 997 * 50_000_000 / (100 * 10u128.pow(18) * 1000 + 10u128.pow(18) * 997);
    assert_eq!(quote["amountOut"], format!("0.{out:06}"), "{quote}");

    let (status, again) = gw.post("/trading/amm/create-pool", create).await;
    assert_error_body(
        status,
        &again,
        StatusCode::BAD_REQUEST,
        &format!("pool {pair} of this pair and fee already exists"),
    );

    // Priced instead of paired: the quote amount is base × initialPrice, exactly.
    approve(&gw, "UNI", "uniswap/amm").await;
    let priced =
        on_devnet(json!({"baseToken": "UNI", "quoteToken": "USDC", "baseTokenAmount": "10", "initialPrice": "7.5"}));
    let (status, created) = gw.post("/trading/amm/create-pool", priced).await;
    assert_eq!((status, created["status"].as_i64()), (StatusCode::OK, Some(1)), "{created}");
    assert_eq!(
        (created["price"].as_str(), created["data"]["quoteTokenAmountAdded"].as_str()),
        (Some("7.5"), Some("75"))
    );
}

#[tokio::test]
async fn a_router_quote_for_a_wallet_names_what_it_lacks_and_is_answered_all_the_same() {
    let devnet = common::devnet().await;
    let gw = TestGateway::on_devnet(&devnet).await;
    let wallet = devnet.accounts()[1];
    let quote = |amount: &str, wallet: &str| {
        format!(
            "/trading/router/quote-swap?chainNetwork=ethereum-devnet&connector=uniswap&baseToken=WETH&quoteToken=USDC&amount={amount}&side=SELL{wallet}"
        )
    };
    let (status, plain) = gw.get(&quote("1", "")).await;
    assert_eq!(status, StatusCode::OK, "{plain}");
    assert!(plain.get("warnings").is_none(), "no wallet, no warnings: {plain}");
    let (status, unapproved) = gw.get(&quote("5000", &format!("&walletAddress={wallet}"))).await;
    assert_eq!(status, StatusCode::OK, "{unapproved}");
    let warnings: Vec<&str> = unapproved["warnings"].as_array().unwrap().iter().map(|w| w.as_str().unwrap()).collect();
    assert_eq!(warnings.len(), 2, "{unapproved}");
    assert!(warnings[0].ends_with("holds 1000 WETH; this swap needs 5000 WETH"), "{warnings:?}");
    assert!(warnings[1].contains("may spend 0 WETH") && warnings[1].ends_with("approve it first"), "{warnings:?}");
    approve(&gw, "WETH", "uniswap/router").await;
    let (status, ready) = gw.get(&quote("1", &format!("&walletAddress={wallet}"))).await;
    assert_eq!(status, StatusCode::OK, "{ready}");
    assert!(ready.get("warnings").is_none(), "a wallet that can execute it: {ready}");
}
