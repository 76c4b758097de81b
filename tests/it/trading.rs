use alloy::primitives::aliases::{U24, U160};
use alloy::primitives::{Address, U256};
use alloy::providers::Provider;
use alloy::providers::ext::AnvilApi;
use chains::contracts::IERC20;
use connectors::core::family::{Family, TradingType};
use connectors::core::route::Hop;
use connectors::dex::Dex;
use connectors::v2::IUniswapV2Router02;
use connectors::v3::IQuoterV2;
use gateway::devnet::{Devnet, Unlocked};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{self, TestGateway, approve, assert_error_body, data_field, quote_on, raw, raw_field};

fn chain(devnet: &Devnet) -> Unlocked {
    Unlocked::new(&devnet.rpc_url(), devnet.accounts()[0]).unwrap()
}

async fn balance(chain: &Unlocked, token: Address, owner: Address) -> U256 {
    IERC20::new(token, &chain.provider).balanceOf(owner).call().await.unwrap()
}

/// GETs a Uniswap quote and returns its text (for exact numbers) and parsed form.
async fn quote(gw: &TestGateway, kind: &str, query: &str) -> (String, Value) {
    quote_on(gw, "uniswap", kind, query).await
}

#[tokio::test]
async fn amm_quotes_equal_router02_and_the_executed_swap_to_the_wei() {
    let devnet = common::devnet().await;
    let gw = TestGateway::on_devnet(&devnet).await;
    let chain = chain(&devnet);
    let wallet = devnet.accounts()[1];
    let (weth, usdc) = (devnet.deployment().token("WETH").address, devnet.deployment().token("USDC").address);
    let router = connectors::dex::Registry::builtin().find("uniswap", "devnet").unwrap().v2.unwrap().router;
    approve(&gw, "WETH", "uniswap/amm").await;
    approve(&gw, "USDC", "uniswap/amm").await;

    // SELL 2.5 WETH for USDC.
    let (text, _) = quote(&gw, "amm", "baseToken=WETH&quoteToken=USDC&amount=2.5&side=SELL").await;
    let quoted_out = raw(&raw_field(&text, "amountOut"), 6);
    let on_chain = IUniswapV2Router02::new(router, &chain.provider)
        .getAmountsOut(raw("2.5", 18), vec![weth, usdc])
        .call()
        .await
        .unwrap();
    assert_eq!(quoted_out, on_chain[1], "local V2 math equals Router02.getAmountsOut");
    let usdc_before = balance(&chain, usdc, wallet).await;
    let (status, executed) = gw
        .post_text("/trading/amm/execute-swap", json!({"chainNetwork": "ethereum-devnet", "connector": "uniswap", "baseToken": "WETH", "quoteToken": "USDC", "amount": 2.5, "side": "SELL"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{executed}");
    assert_eq!(raw(&data_field(&executed, "amountOut"), 6), quoted_out);
    assert_eq!(balance(&chain, usdc, wallet).await - usdc_before, quoted_out);

    // BUY 1.5 WETH with USDC, per-connector route style.
    let response = gw
        .client()
        .get(gw.url(
            "/connectors/uniswap/amm/quote-swap?network=devnet&baseToken=WETH&quoteToken=USDC&amount=1.5&side=BUY",
        ))
        .send()
        .await
        .unwrap();
    let text = response.text().await.unwrap();
    let quoted_in = raw(&raw_field(&text, "amountIn"), 6);
    let on_chain = IUniswapV2Router02::new(router, &chain.provider)
        .getAmountsIn(raw("1.5", 18), vec![usdc, weth])
        .call()
        .await
        .unwrap();
    assert_eq!(quoted_in, on_chain[0], "local V2 math equals Router02.getAmountsIn");
    let (usdc_before, weth_before) = (balance(&chain, usdc, wallet).await, balance(&chain, weth, wallet).await);
    let (status, executed) = gw
        .post_text(
            "/connectors/uniswap/amm/execute-swap",
            json!({"network": "devnet", "baseToken": "WETH", "quoteToken": "USDC", "amount": "1.5", "side": "BUY"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{executed}");
    assert_eq!(raw(&data_field(&executed, "amountIn"), 6), quoted_in);
    assert_eq!(usdc_before - balance(&chain, usdc, wallet).await, quoted_in);
    assert_eq!(balance(&chain, weth, wallet).await - weth_before, raw("1.5", 18));
}

async fn quoter_v2(
    chain: &Unlocked,
    quoter: Address,
    token_in: Address,
    token_out: Address,
    fee: u32,
    exact_in: bool,
    amount: U256,
) -> (U256, u32) {
    let quoter = IQuoterV2::new(quoter, &chain.provider);
    if exact_in {
        let q = quoter
            .quoteExactInputSingle(IQuoterV2::QuoteExactInputSingleParams {
                tokenIn: token_in,
                tokenOut: token_out,
                amountIn: amount,
                fee: U24::from(fee),
                sqrtPriceLimitX96: U160::ZERO,
            })
            .call()
            .await
            .unwrap();
        (q.amountOut, q.initializedTicksCrossed)
    } else {
        let q = quoter
            .quoteExactOutputSingle(IQuoterV2::QuoteExactOutputSingleParams {
                tokenIn: token_in,
                tokenOut: token_out,
                amount,
                fee: U24::from(fee),
                sqrtPriceLimitX96: U160::ZERO,
            })
            .call()
            .await
            .unwrap();
        (q.amountIn, q.initializedTicksCrossed)
    }
}

#[tokio::test]
async fn clmm_quotes_crossing_ticks_equal_quoter_v2_and_the_executed_swap() {
    clmm_crossing_case("uniswap", 3000).await;
}

/// SELL 800 WETH into a WETH/USDC pool holding 500 WETH in each of two positions, far enough to leave the
/// concentrated one's range, then BUY 900 back: each quote equals the DEX's QuoterV2 and the executed swap.
pub async fn clmm_crossing_case(connector: &str, fee: u32) {
    let devnet = common::devnet().await;
    let gw = TestGateway::on_devnet(&devnet).await;
    let chain = chain(&devnet);
    let wallet = devnet.accounts()[1];
    let (weth, usdc) = (devnet.deployment().token("WETH").address, devnet.deployment().token("USDC").address);
    let v3 = connectors::dex::Registry::builtin().find(connector, "devnet").unwrap().v3.unwrap();
    let quoter = v3.quoter_v2;
    let pool = v3.pool_address(weth, usdc, fee).to_checksum(None);
    approve(&gw, "WETH", &format!("{connector}/clmm")).await;
    approve(&gw, "USDC", &format!("{connector}/clmm")).await;

    let (text, body) = quote_on(
        &gw,
        connector,
        "clmm",
        &format!("baseToken=WETH&quoteToken=USDC&amount=800&side=SELL&poolAddress={pool}"),
    )
    .await;
    let quoted_out = raw(&raw_field(&text, "amountOut"), 6);
    let (on_chain, crossed) = quoter_v2(&chain, quoter, weth, usdc, fee, true, raw("800", 18)).await;
    assert!(crossed >= 1, "the swap crosses an initialized tick ({crossed})");
    assert_eq!(quoted_out, on_chain, "local V3 math equals QuoterV2: {body}");
    let before = balance(&chain, usdc, wallet).await;
    let (status, executed) = gw
        .post_text("/trading/clmm/execute-swap", json!({"chainNetwork": "ethereum-devnet", "connector": connector, "baseToken": "WETH", "quoteToken": "USDC", "amount": 800, "side": "SELL", "poolAddress": pool}))
        .await;
    assert_eq!(status, StatusCode::OK, "{executed}");
    assert_eq!(raw(&data_field(&executed, "amountOut"), 6), quoted_out);
    assert_eq!(balance(&chain, usdc, wallet).await - before, quoted_out);

    // BUY 900 WETH back: exact output, crossing back through the ticks.
    let (text, _) = quote_on(
        &gw,
        connector,
        "clmm",
        &format!("baseToken=WETH&quoteToken=USDC&amount=900&side=BUY&poolAddress={pool}"),
    )
    .await;
    let quoted_in = raw(&raw_field(&text, "amountIn"), 6);
    let (on_chain, crossed) = quoter_v2(&chain, quoter, usdc, weth, fee, false, raw("900", 18)).await;
    assert!(crossed >= 1, "{crossed}");
    assert_eq!(quoted_in, on_chain);
    let (usdc_before, weth_before) = (balance(&chain, usdc, wallet).await, balance(&chain, weth, wallet).await);
    let (status, executed) = gw
        .post_text("/trading/clmm/execute-swap", json!({"chainNetwork": "ethereum-devnet", "connector": connector, "baseToken": "WETH", "quoteToken": "USDC", "amount": 900, "side": "BUY", "poolAddress": pool}))
        .await;
    assert_eq!(status, StatusCode::OK, "{executed}");
    assert_eq!(usdc_before - balance(&chain, usdc, wallet).await, quoted_in);
    assert_eq!(balance(&chain, weth, wallet).await - weth_before, raw("900", 18));
}

#[tokio::test]
async fn a_warm_quote_makes_no_rpc_call_and_a_new_block_refreshes_it() {
    let devnet = common::devnet().await;
    let gw = TestGateway::on_devnet(&devnet).await;
    let query =
        "baseToken=WETH&quoteToken=USDC&amount=1&side=SELL&poolAddress=0x88e6A0c2dDD26FEEb64F039a2c41296FcB3f5640";
    let (_, first) = quote(&gw, "clmm", query).await;
    let calls = || {
        let stats = gw.devnet_network();
        stats.stats().requests() - stats.stats().block_polls()
    };
    let before = calls();
    let (_, warm) = quote(&gw, "clmm", query).await;
    let (_, warm_amm) = quote(&gw, "amm", "baseToken=WETH&quoteToken=USDC&amount=1&side=SELL").await;
    let (_, warm_amm_again) = quote(&gw, "amm", "baseToken=WETH&quoteToken=USDC&amount=1&side=SELL").await;
    assert_eq!(warm["amountOut"], first["amountOut"]);
    assert_eq!(warm_amm["amountOut"], warm_amm_again["amountOut"]);
    // The first amm quote read its pair once; every other quote in this block read nothing.
    assert_eq!(calls() - before, 1, "warm quotes answer from cached state");

    // Someone else swaps: a new block, and the next quote sees the moved price.
    approve(&gw, "WETH", "uniswap/clmm").await;
    let (status, _) = gw
        .post("/trading/clmm/execute-swap", json!({"chainNetwork": "ethereum-devnet", "connector": "uniswap", "baseToken": "WETH", "quoteToken": "USDC", "amount": 10, "side": "SELL", "poolAddress": "0x88e6A0c2dDD26FEEb64F039a2c41296FcB3f5640"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    // The swap's pool was read again in the background once it was mined: the next quote asks nothing.
    let mut after = Value::Null;
    for _ in 0..100 {
        let before = calls();
        (_, after) = quote(&gw, "clmm", query).await;
        if calls() == before {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(after["blockNumber"].as_u64() > first["blockNumber"].as_u64());
    let swapped = after.clone();
    // A block nobody here made: the next quote reads the pool, in one round trip (price, liquidity and ticks
    // through the deployless lens).
    chain(&devnet).provider.anvil_mine(Some(1), None).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await; // the block poller sees it
    let before = calls();
    let (_, mined) = quote(&gw, "clmm", query).await;
    assert_eq!(calls() - before, 1, "one call refreshes a V3 pool");
    assert!(mined["blockNumber"].as_u64() > swapped["blockNumber"].as_u64());
    assert_eq!(mined["amountOut"], swapped["amountOut"], "an empty block moves no price");
    assert!(
        common::decimal(&after["amountOut"]) < common::decimal(&first["amountOut"]),
        "selling WETH lowered its price: {first} → {after}"
    );
}

#[tokio::test]
async fn an_identical_quote_is_answered_again_only_while_its_block_and_config_hold() {
    let devnet = common::devnet().await;
    let gw = TestGateway::on_devnet(&devnet).await;
    let query =
        "baseToken=WETH&quoteToken=USDC&amount=2&side=SELL&poolAddress=0x88e6A0c2dDD26FEEb64F039a2c41296FcB3f5640";
    let (first_text, first) = quote(&gw, "clmm", query).await;
    // The pool's state is looked up only when a quote is computed; a kept answer does not look.
    let lookups = || {
        let stats = gw.gateway.state.pool_states().stats();
        stats.hits() + stats.misses()
    };
    let before = lookups();
    let (again_text, _) = quote(&gw, "clmm", query).await;
    assert_eq!(again_text, first_text);
    assert_eq!(lookups(), before, "the identical quote is answered again, not computed");
    let (_, other_amount) = quote(&gw, "clmm", &query.replace("amount=2", "amount=3")).await;
    assert!(lookups() > before, "another amount is computed");
    assert_ne!(other_amount["amountOut"], first["amountOut"]);

    // A config change answers anew, under the new setting.
    let (status, body) =
        gw.post("/config/update", json!({"namespace": "uniswap", "path": "slippagePct", "value": 2.5})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, reconfigured) = quote(&gw, "clmm", query).await;
    assert_eq!(reconfigured["slippagePct"], "2.5");
    assert_eq!(reconfigured["amountOut"], first["amountOut"]);
    assert_ne!(reconfigured["minAmountOut"], first["minAmountOut"]);

    // A block mined by someone else: once the gateway has seen it, the answer is computed at that block.
    chain(&devnet).provider.anvil_mine(Some(1), None).await.unwrap();
    let mined = first["blockNumber"].as_u64().unwrap() + 1;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let (_, latest) = quote(&gw, "clmm", query).await;
        if latest["blockNumber"].as_u64() == Some(mined) {
            assert_eq!(latest["amountOut"], first["amountOut"]);
            break;
        }
        assert_eq!(latest["blockNumber"], first["blockNumber"], "{latest}");
        assert!(std::time::Instant::now() < deadline, "the new block was never quoted at");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_new_amount_is_answered_as_a_request_resolved_anew_would_be_and_a_config_change_resolves_again() {
    let devnet = common::devnet().await;
    let gw = TestGateway::on_devnet(&devnet).await;
    // 60 WETH sold into the 0.05 % pool leave it under the 0.3 % ones for a small sell; it stays the deepest, so
    // a large one still takes it: which pool a quote takes depends on its amount, in one block.
    let deep = "0x88e6A0c2dDD26FEEb64F039a2c41296FcB3f5640";
    approve(&gw, "WETH", "uniswap/clmm").await;
    let (status, body) = gw
        .post("/trading/clmm/execute-swap", json!({"chainNetwork": "ethereum-devnet", "connector": "uniswap", "baseToken": "WETH", "quoteToken": "USDC", "amount": 60, "side": "SELL", "poolAddress": deep}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // No pool named: amm takes the listed pair, clmm the best of the pair's pools for each amount.
    let asks = [
        ("amm", "baseToken=WETH&quoteToken=USDC&side=SELL"),
        ("clmm", "baseToken=WETH&quoteToken=USDC&side=SELL"),
        ("clmm", "baseToken=USDC&quoteToken=WETH&side=BUY"),
    ];
    for (kind, ask) in asks {
        quote(&gw, kind, &format!("{ask}&amount=2")).await;
    }
    // Each later amount is priced on those resolutions; a gateway that never saw the requests resolves each anew.
    let mut pools = Vec::new();
    for amount in ["3", "1000"] {
        let fresh = TestGateway::on_devnet(&devnet).await;
        for (kind, ask) in asks {
            let (anew, _) = quote(&fresh, kind, &format!("{ask}&amount={amount}")).await;
            let (priced, answer) = quote(&gw, kind, &format!("{ask}&amount={amount}")).await;
            assert_eq!(priced, anew, "{kind} {ask} {amount}");
            // What the answer says of its pool is the pool it priced on.
            let pool = answer["poolAddress"].as_str().unwrap();
            let (_, named) = quote(&gw, kind, &format!("{ask}&amount={amount}&poolAddress={pool}")).await;
            assert_eq!((&named["amountOut"], &named["routePath"]), (&answer["amountOut"], &answer["routePath"]));
            pools.push(answer["poolAddress"].clone());
        }
    }
    assert_eq!(pools[1], pools[2], "a BUY of USDC is a SELL of WETH");
    assert_ne!(pools[1], json!(deep), "a small sell takes a 0.3 % pool");
    assert_eq!(pools[4], json!(deep), "a large sell takes the deepest pool");

    // The desk was resolved under the config: a change resolves the request again, under the new setting.
    let (status, body) =
        gw.post("/config/update", json!({"namespace": "uniswap", "path": "slippagePct", "value": 2.5})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for (kind, ask) in asks {
        let (_, answer) = quote(&gw, kind, &format!("{ask}&amount=7")).await;
        assert_eq!(answer["slippagePct"], "2.5", "{kind} {answer}");
    }
}

#[tokio::test]
async fn two_networks_with_one_chain_id_never_share_pool_state() {
    // A local fork configured as mainnet keeps chain id 31337, as does the devnet: same id, same pool address,
    // different chains.
    let (devnet, fork) = (common::devnet().await, common::devnet().await);
    let gw = TestGateway::on_devnet(&devnet).await;
    for (path, value) in [("nodeURL", json!(fork.rpc_url())), ("chainID", json!(31337))] {
        let (status, body) =
            gw.post("/config/update", json!({"namespace": "ethereum-mainnet", "path": path, "value": value})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let pool = "0x88e6A0c2dDD26FEEb64F039a2c41296FcB3f5640";
    let on_fork = |url: String| {
        let gw = &gw;
        async move {
            let (status, body) = gw.get(&url).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            body
        }
    };
    let before = on_fork(format!("/trading/clmm/quote-swap?chainNetwork=ethereum-mainnet&connector=uniswap&baseToken=WETH&quoteToken=USDC&amount=3&side=SELL&poolAddress={pool}")).await;

    // The devnet's pool moves; the fork's does not.
    approve(&gw, "WETH", "uniswap/clmm").await;
    let (status, body) = gw
        .post("/trading/clmm/execute-swap", json!({"chainNetwork": "ethereum-devnet", "connector": "uniswap", "baseToken": "WETH", "quoteToken": "USDC", "amount": 10, "side": "SELL", "poolAddress": pool}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, moved) =
        quote(&gw, "clmm", &format!("baseToken=WETH&quoteToken=USDC&amount=3&side=SELL&poolAddress={pool}")).await;
    assert!(common::decimal(&moved["amountOut"]) < common::decimal(&before["amountOut"]), "{moved} vs {before}");

    // Asked another way (so computed, not answered again), the fork still quotes its own unmoved pool.
    let after = on_fork(format!("/connectors/uniswap/clmm/quote-swap?network=mainnet&baseToken=WETH&quoteToken=USDC&amount=3&side=SELL&poolAddress={pool}")).await;
    assert_eq!(after["amountOut"], before["amountOut"]);
    assert_eq!(after["blockNumber"], before["blockNumber"]);
}

#[tokio::test]
async fn swaps_refuse_bad_input_and_missing_allowances_with_what_to_do() {
    let devnet = common::devnet().await;
    let gw = TestGateway::on_devnet(&devnet).await;
    let base = "chainNetwork=ethereum-devnet&connector=uniswap";
    let cases = [
        ("amm", format!("{base}&baseToken=WETH&quoteToken=USDC&amount=1&side=HOLD"), "side"),
        ("amm", format!("{base}&baseToken=NOPE&quoteToken=USDC&amount=1&side=SELL"), "baseToken"),
        ("amm", format!("{base}&baseToken=WETH&quoteToken=USDC&amount=-1&side=SELL"), "amount"),
        // Past USDC's 6 decimals the amount is rounded down: to nothing here.
        (
            "amm",
            format!("{base}&baseToken=USDC&quoteToken=WETH&amount=0.0000001&side=SELL"),
            "amount: must be greater than zero",
        ),
        ("clmm", format!("{base}&baseToken=WETH&quoteToken=USDC&amount=1&side=SELL&poolAddress=0x12"), "poolAddress"),
        ("clmm", format!("{base}&baseToken=WETH&quoteToken=USDC&amount=1&side=SELL&slippagePct=150"), "slippagePct"),
        (
            "clmm",
            "chainNetwork=ethereum-devnet&connector=sushiswap&baseToken=WETH&quoteToken=USDC&amount=1&side=SELL"
                .to_string(),
            "connector",
        ),
        (
            "clmm",
            format!(
                "{base}&baseToken=WETH&quoteToken=USDC&amount=1&side=SELL&poolAddress=0xB4e16d0168e52d35CaCD2c6185b44281Ec28C9Dc"
            ),
            "is not a pool of this connector",
        ),
        (
            "clmm",
            format!(
                "{base}&baseToken=WETH&quoteToken=USDC&amount=1&side=SELL&poolAddress=0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
            ),
            "is not a pool of this connector",
        ),
    ];
    for (kind, query, field) in cases {
        let (status, body) = gw.get(&format!("/trading/{kind}/quote-swap?{query}")).await;
        assert_error_body(status, &body, StatusCode::BAD_REQUEST, field);
    }
    // No allowance yet: refused before anything is signed, saying how to approve.
    let (status, body) = gw
        .post("/trading/amm/execute-swap", json!({"chainNetwork": "ethereum-devnet", "connector": "uniswap", "baseToken": "WETH", "quoteToken": "USDC", "amount": 1, "side": "SELL"}))
        .await;
    assert_error_body(status, &body, StatusCode::BAD_REQUEST, "POST /chains/ethereum/approve");
    assert_eq!(body["code"], "INSUFFICIENT_ALLOWANCE");
}

/// Quotes a WBTC → USDC route (two pools: no direct one is listed) and checks it against the chain's quoter.
#[tokio::test]
async fn router_two_hop_quotes_equal_the_on_chain_quoter_and_execute_exactly() {
    router_two_hop_case("uniswap").await;
}

/// A router quote's legs as its text gives them, amounts exact.
struct QuotedLeg {
    hops: Vec<Hop>,
    amount_in: String,
    amount_out: String,
}

fn splits(text: &str) -> Vec<QuotedLeg> {
    use serde_json::value::RawValue;
    type Raw = std::collections::BTreeMap<String, Box<RawValue>>;
    let body: Raw = serde_json::from_str(text).unwrap();
    let legs: Vec<Raw> = serde_json::from_str(body["splits"].get()).unwrap();
    legs.iter()
        .map(|leg| {
            let steps: Vec<Value> = serde_json::from_str(leg["route"].get()).unwrap();
            let hops = steps
                .iter()
                .map(|s| {
                    let pool = s["poolAddress"].as_str().unwrap().parse().unwrap();
                    Hop {
                        family: Dex::family_of(TradingType::parse(s["type"].as_str().unwrap()).unwrap(), pool).unwrap(),
                        pool,
                        token_in: s["tokenIn"].as_str().unwrap().parse().unwrap(),
                        token_out: s["tokenOut"].as_str().unwrap().parse().unwrap(),
                        fee: s["fee"].as_u64().unwrap() as u32,
                    }
                })
                .collect();
            let text = |field: &str| leg[field].get().trim_matches('"').to_string();
            QuotedLeg { hops, amount_in: text("amountIn"), amount_out: text("amountOut") }
        })
        .collect()
}

/// The chain's own quote for a route, pool by pool: QuoterV2 for V3 pools, Router02 for V2 pairs; what comes out
/// for `amount` in (`exact_in`) or what goes in for `amount` out.
async fn on_chain_quote(
    chain: &Unlocked,
    dex: &connectors::dex::Dex,
    hops: &[Hop],
    exact_in: bool,
    amount: U256,
) -> U256 {
    let mut running = amount;
    let ordered: Vec<&Hop> = if exact_in { hops.iter().collect() } else { hops.iter().rev().collect() };
    for hop in ordered {
        let fee = U24::from(hop.fee);
        running = match hop.family {
            Family::V3 => {
                let quoter = IQuoterV2::new(dex.v3.as_ref().unwrap().quoter_v2, &chain.provider);
                let (token_in, token_out, no_limit) = (hop.token_in, hop.token_out, U160::ZERO);
                if exact_in {
                    let params = IQuoterV2::QuoteExactInputSingleParams {
                        tokenIn: token_in,
                        tokenOut: token_out,
                        amountIn: running,
                        fee,
                        sqrtPriceLimitX96: no_limit,
                    };
                    quoter.quoteExactInputSingle(params).call().await.unwrap().amountOut
                } else {
                    let params = IQuoterV2::QuoteExactOutputSingleParams {
                        tokenIn: token_in,
                        tokenOut: token_out,
                        amount: running,
                        fee,
                        sqrtPriceLimitX96: no_limit,
                    };
                    quoter.quoteExactOutputSingle(params).call().await.unwrap().amountIn
                }
            }
            Family::V4 => {
                let v4 = dex.v4.as_ref().unwrap();
                let tier = *v4.fee_tiers.iter().find(|tier| tier.fee == hop.fee).unwrap();
                let key = v4.hookless_key(hop.token_in, hop.token_out, tier);
                assert_eq!(hop.pool, key.id().into(), "a hookless pool at its tier's spacing");
                let quoter = connectors::v4::IV4Quoter::new(v4.quoter, &chain.provider);
                let params = connectors::v4::IV4Quoter::QuoteExactSingleParams {
                    zeroForOne: hop.token_in == key.currency0,
                    poolKey: key,
                    exactAmount: running.to(),
                    hookData: Default::default(),
                };
                match exact_in {
                    true => quoter.quoteExactInputSingle(params).call().await.unwrap().amountOut,
                    false => quoter.quoteExactOutputSingle(params).call().await.unwrap().amountIn,
                }
            }
            Family::V2 => {
                let router = IUniswapV2Router02::new(dex.v2.as_ref().unwrap().router, &chain.provider);
                let path = vec![hop.token_in, hop.token_out];
                match exact_in {
                    true => router.getAmountsOut(running, path).call().await.unwrap()[1],
                    false => router.getAmountsIn(running, path).call().await.unwrap()[0],
                }
            }
        };
    }
    running
}

pub async fn router_two_hop_case(connector: &str) {
    let devnet = common::devnet().await;
    let gw = TestGateway::on_devnet(&devnet).await;
    let chain = chain(&devnet);
    let wallet = devnet.accounts()[1];
    let (wbtc, usdc) = (devnet.deployment().token("WBTC").address, devnet.deployment().token("USDC").address);
    let dex = connectors::dex::Registry::builtin().find(connector, "devnet").unwrap();
    approve(&gw, "WBTC", &format!("{connector}/router")).await;
    approve(&gw, "USDC", &format!("{connector}/router")).await;

    for (side, amount) in [("SELL", "1.5"), ("BUY", "0.25")] {
        let (text, body) =
            quote_on(&gw, connector, "router", &format!("baseToken=WBTC&quoteToken=USDC&amount={amount}&side={side}"))
                .await;
        let in_decimals = if side == "SELL" { 8 } else { 6 };
        let (amount_in, amount_out) =
            (raw(&raw_field(&text, "amountIn"), in_decimals), raw(&raw_field(&text, "amountOut"), 14 - in_decimals));
        // Every leg (the router may split the order across routes that share no pool) against the chain's own
        // answer, pool by pool: QuoterV2 for V3 pools, Router02 for V2 pairs; the legs add up to the order.
        let legs = splits(&text);
        assert!(legs.iter().all(|leg| leg.hops.len() == 2), "through WETH: {body}");
        let (mut total_in, mut total_out) = (U256::ZERO, U256::ZERO);
        for leg in &legs {
            let (leg_in, leg_out) = (raw(&leg.amount_in, in_decimals), raw(&leg.amount_out, 14 - in_decimals));
            let expected =
                on_chain_quote(&chain, &dex, &leg.hops, side == "SELL", if side == "SELL" { leg_in } else { leg_out })
                    .await;
            assert_eq!(if side == "SELL" { leg_out } else { leg_in }, expected, "{body}");
            (total_in, total_out) = (total_in + leg_in, total_out + leg_out);
        }
        assert_eq!((total_in, total_out), (amount_in, amount_out), "{body}");
        let quote_id = body["quoteId"].as_str().unwrap();
        let (usdc_before, wbtc_before) = (balance(&chain, usdc, wallet).await, balance(&chain, wbtc, wallet).await);
        let (status, executed) = gw
            .post(
                "/trading/router/execute-quote",
                json!({"chainNetwork": "ethereum-devnet", "connector": connector, "quoteId": quote_id}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{executed}");
        assert_eq!(executed["status"], 1);
        if side == "SELL" {
            assert_eq!(balance(&chain, usdc, wallet).await - usdc_before, amount_out);
            assert_eq!(wbtc_before - balance(&chain, wbtc, wallet).await, amount_in);
        } else {
            assert_eq!(usdc_before - balance(&chain, usdc, wallet).await, amount_in);
            assert_eq!(balance(&chain, wbtc, wallet).await - wbtc_before, amount_out);
        }
    }
}

#[tokio::test]
async fn a_quote_overtaken_by_the_market_reverts_in_simulation_and_nothing_is_mined() {
    let devnet = common::devnet().await;
    let gw = TestGateway::on_devnet(&devnet).await;
    let chain = chain(&devnet);
    let wallet = devnet.accounts()[1];
    approve(&gw, "WETH", "uniswap/router").await;
    let (_, body) = quote(&gw, "router", "baseToken=WETH&quoteToken=USDC&amount=5&side=SELL&slippagePct=0.5").await;
    let quote_id = body["quoteId"].as_str().unwrap().to_string();

    // Another trader sells a lot of WETH through the same pools first.
    let other = TestGateway::on_devnet(&devnet).await;
    other.add_wallet(&devnet, 2).await;
    approve(&other, "WETH", "uniswap/router").await;
    for _ in 0..2 {
        let (status, moved) = other
            .post("/trading/router/execute-swap", json!({"chainNetwork": "ethereum-devnet", "connector": "uniswap", "baseToken": "WETH", "quoteToken": "USDC", "amount": 200, "side": "SELL"}))
            .await;
        assert_eq!(status, StatusCode::OK, "{moved}");
    }

    let nonce = chain.provider.get_transaction_count(wallet).await.unwrap();
    let block = chain.provider.get_block_number().await.unwrap();
    let (status, body) =
        gw.post("/trading/router/execute-quote", json!({"chainNetwork": "ethereum-devnet", "quoteId": quote_id})).await;
    assert_error_body(status, &body, StatusCode::BAD_REQUEST, "Too little received");
    assert_eq!(chain.provider.get_transaction_count(wallet).await.unwrap(), nonce);
    assert_eq!(chain.provider.get_block_number().await.unwrap(), block, "nothing mined");

    // Unknown and expired ids.
    let (status, body) = gw
        .post("/trading/router/execute-quote", json!({"chainNetwork": "ethereum-devnet", "quoteId": "no-such-quote"}))
        .await;
    assert_error_body(status, &body, StatusCode::NOT_FOUND, "does not exist");
    // A quote asked for a wallet executes for that wallet alone.
    let (_, body) =
        quote(&gw, "router", &format!("baseToken=WETH&quoteToken=USDC&amount=1&side=SELL&walletAddress={wallet}"))
            .await;
    let stranger = devnet.accounts()[2].to_string();
    let execute = json!({"chainNetwork": "ethereum-devnet", "quoteId": body["quoteId"], "walletAddress": stranger});
    let (status, body) = gw.post("/trading/router/execute-quote", execute).await;
    assert_error_body(status, &body, StatusCode::BAD_REQUEST, "which alone executes it");
    gw.post("/config/update", json!({"namespace": "uniswap", "path": "quoteTtlSeconds", "value": 1})).await;
    let (_, body) = quote(&gw, "router", "baseToken=WETH&quoteToken=USDC&amount=1&side=SELL").await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (status, body) = gw
        .post("/trading/router/execute-quote", json!({"chainNetwork": "ethereum-devnet", "quoteId": body["quoteId"]}))
        .await;
    assert_error_body(status, &body, StatusCode::BAD_REQUEST, "expired");
}

/// The sum of every sample of `metric` whose labels include all of `labels` (e.g. `route="/metrics"`).
fn metric_sum(exposition: &str, metric: &str, labels: &[&str]) -> f64 {
    exposition
        .lines()
        .filter(|line| line.starts_with(&format!("{metric}{{")) && labels.iter().all(|label| line.contains(label)))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

async fn scrape(gw: &TestGateway) -> String {
    let response = gw.client().get(gw.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    response.text().await.unwrap()
}

#[tokio::test]
async fn metrics_count_requests_by_route_rpc_calls_cache_use_and_transactions() {
    let devnet = common::devnet().await;
    let gw = TestGateway::on_devnet(&devnet).await;
    approve(&gw, "WETH", "uniswap/amm").await;
    // The registry is process-wide and other tests run alongside, so every check is a lower bound on growth.
    let before = scrape(&gw).await;
    let quote_route = ["route=\"/trading/amm/quote-swap\"", "status=\"200\""];
    let query = "baseToken=WETH&quoteToken=USDC&amount=0.1&side=SELL";
    quote(&gw, "amm", query).await;
    quote(&gw, "amm", query).await;
    let (status, executed) = gw
        .post("/trading/amm/execute-swap", json!({"chainNetwork": "ethereum-devnet", "connector": "uniswap", "baseToken": "WETH", "quoteToken": "USDC", "amount": "0.1", "side": "SELL"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{executed}");
    let (status, body) = gw
        .get("/connectors/uniswap/amm/quote-swap?network=devnet&baseToken=WETH&quoteToken=USDC&amount=-1&side=SELL")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let after = scrape(&gw).await;

    let grew = |metric: &str, labels: &[&str]| metric_sum(&after, metric, labels) - metric_sum(&before, metric, labels);
    assert!(grew("gateway_http_requests_total", &quote_route) >= 2.0, "{after}");
    assert!(
        grew("gateway_http_requests_total", &["route=\"/connectors/{connector}/amm/quote-swap\"", "status=\"400\""])
            >= 1.0
    );
    assert!(grew("gateway_http_request_duration_seconds_count", &["route=\"/trading/amm/execute-swap\""]) >= 1.0);
    assert!(
        !after.contains("amount=-1") && !after.contains("route=\"/connectors/uniswap/"),
        "routes are labelled by pattern, never by raw path or query"
    );
    assert!(grew("gateway_rpc_requests_total", &["network=\"devnet\""]) >= 1.0);
    assert!(grew("gateway_quote_answers_total", &["result=\"kept\""]) >= 1.0, "the second quote is answered again");
    assert!(grew("gateway_quote_cache_total", &["result=\"hit\""]) >= 1.0, "the swap plans on cached state");
    assert!(grew("gateway_transactions_total", &["outcome=\"confirmed\""]) >= 1.0);
}

#[tokio::test]
async fn gateway_v2_13s_unified_swap_routes_take_the_connector_with_its_type() {
    let devnet = common::devnet().await;
    let gw = TestGateway::on_devnet(&devnet).await;
    let wallet = devnet.accounts()[1];
    let v3 = connectors::dex::Registry::builtin().find("uniswap", "devnet").unwrap().v3.unwrap();
    // Upstream's spender name for a clmm connector's swap router: that router alone.
    approve(&gw, "WETH", "uniswap/clmm/swap").await;
    let weth = devnet.deployment().token("WETH").address;
    let allowed = IERC20::new(weth, &chain(&devnet).provider).allowance(wallet, v3.swap_router).call().await.unwrap();
    assert_eq!(allowed, U256::MAX);
    let on_manager = IERC20::new(weth, &chain(&devnet).provider).allowance(wallet, v3.position_manager).call().await;
    assert_eq!(on_manager.unwrap(), U256::ZERO, "clmm/swap is not the position manager");
    let (status, body) = gw
        .post(
            "/chains/ethereum/allowances",
            json!({"network": "devnet", "spender": "pancakeswap/clmm/swap", "tokens": ["WETH"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    approve(&gw, "WETH", "uniswap/amm").await;
    approve(&gw, "WETH", "uniswap/router").await;

    let pair = "baseToken=WETH&quoteToken=USDC&amount=0.5&side=SELL";
    for kind in ["clmm", "amm", "router"] {
        let (status, unified) =
            gw.get(&format!("/trading/swap/quote?chainNetwork=ethereum-devnet&connector=uniswap/{kind}&{pair}")).await;
        assert_eq!(status, StatusCode::OK, "{unified}");
        let (_, typed) = quote(&gw, kind, pair).await;
        assert_eq!(unified["amountOut"], typed["amountOut"], "{kind}: {unified} vs {typed}");
        assert_eq!(unified["quoteId"].is_string(), kind == "router", "{unified}");
        let (status, executed) = gw
            .post(
                "/trading/swap/execute",
                json!({"chainNetwork": "ethereum-devnet", "connector": format!("uniswap/{kind}"),
                "baseToken": "WETH", "quoteToken": "USDC", "amount": 0.5, "side": "SELL"}),
            )
            .await;
        assert_eq!((status, executed["status"].as_i64()), (StatusCode::OK, Some(1)), "{executed}");
        assert_eq!(executed["data"]["amountIn"], "0.5");
    }
    // No connector: the network's swapProvider (uniswap/router); a type that is not one is named.
    let (status, body) = gw.get(&format!("/trading/swap/quote?chainNetwork=ethereum-devnet&{pair}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["quoteId"].is_string(), "{body}");
    let (status, body) =
        gw.get(&format!("/trading/swap/quote?chainNetwork=ethereum-devnet&connector=uniswap/orderbook&{pair}")).await;
    assert_error_body(status, &body, StatusCode::BAD_REQUEST, "connector");

    // quote-position is upstream's name for quote-liquidity.
    let range = "chainNetwork=ethereum-devnet&connector=uniswap&poolAddress=0x88e6A0c2dDD26FEEb64F039a2c41296FcB3f5640&lowerPrice=2500&upperPrice=3500&baseTokenAmount=1";
    let (status, upstream) = gw.get(&format!("/trading/clmm/quote-position?{range}")).await;
    assert_eq!(status, StatusCode::OK, "{upstream}");
    let (_, ours) = gw.get(&format!("/trading/clmm/quote-liquidity?{range}")).await;
    assert_eq!(upstream, ours);
}

/// Quotes through the router, checks every leg against the chain pool by pool, executes the quote and checks
/// what moved equals the quote to the wei; returns the quote's text and body.
async fn router_executes_as_quoted(gw: &TestGateway, devnet: &Devnet, connector: &str, query: &str) -> (String, Value) {
    let chain = chain(devnet);
    let wallet = devnet.accounts()[1];
    let dex = connectors::dex::Registry::builtin().find(connector, "devnet").unwrap();
    let (text, body) = quote_on(gw, connector, "router", query).await;
    let sell = query.contains("side=SELL");
    let (token_in, token_out): (Address, Address) =
        (body["tokenIn"].as_str().unwrap().parse().unwrap(), body["tokenOut"].as_str().unwrap().parse().unwrap());
    let decimals = |token: Address| devnet.deployment().tokens.iter().find(|t| t.address == token).unwrap().decimals;
    let (in_decimals, out_decimals) = (decimals(token_in), decimals(token_out));
    let (amount_in, amount_out) =
        (raw(&raw_field(&text, "amountIn"), in_decimals), raw(&raw_field(&text, "amountOut"), out_decimals));
    let (mut total_in, mut total_out) = (U256::ZERO, U256::ZERO);
    for leg in splits(&text) {
        let (leg_in, leg_out) = (raw(&leg.amount_in, in_decimals), raw(&leg.amount_out, out_decimals));
        // SwapRouter02 buys through V2 pairs forward from the input it computes: such a leg delivers what its input
        // buys, a little more than its share; any other bought leg takes what its share costs.
        if sell || leg.hops.iter().all(|hop| hop.family == Family::V2) {
            assert_eq!(leg_out, on_chain_quote(&chain, &dex, &leg.hops, true, leg_in).await, "{body}");
        } else {
            assert_eq!(leg_in, on_chain_quote(&chain, &dex, &leg.hops, false, leg_out).await, "{body}");
        }
        (total_in, total_out) = (total_in + leg_in, total_out + leg_out);
    }
    assert_eq!((total_in, total_out), (amount_in, amount_out), "the legs add up: {body}");
    if !sell {
        let asked = raw(&raw_field(&text, "minAmountOut"), out_decimals);
        let wanted = query.split('&').find_map(|pair| pair.strip_prefix("amount=")).unwrap();
        assert_eq!(asked, raw(wanted, out_decimals), "a BUY asks for its amount: {body}");
        assert!(amount_out >= asked, "{body}");
    }
    let (in_before, out_before) = (balance(&chain, token_in, wallet).await, balance(&chain, token_out, wallet).await);
    let (status, executed) = gw
        .post(
            "/trading/router/execute-quote",
            json!({"chainNetwork": "ethereum-devnet", "connector": connector, "quoteId": body["quoteId"]}),
        )
        .await;
    assert_eq!((status, executed["status"].as_i64()), (StatusCode::OK, Some(1)), "{executed}");
    assert_eq!(in_before - balance(&chain, token_in, wallet).await, amount_in, "spent as quoted");
    assert_eq!(balance(&chain, token_out, wallet).await - out_before, amount_out, "received as quoted");
    (text, body)
}

/// The best a single pool of the pair gives (SELL: most out) or takes (BUY: least in), amm or clmm.
async fn best_single_pool(gw: &TestGateway, connector: &str, query: &str, side: &str, decimals: u8) -> U256 {
    let field = if side == "SELL" { "amountOut" } else { "amountIn" };
    let mut best: Option<U256> = None;
    for kind in ["amm", "clmm"] {
        let (text, _) = quote_on(gw, connector, kind, query).await;
        let amount = raw(&raw_field(&text, field), decimals);
        best = Some(match (best, side) {
            (None, _) => amount,
            (Some(b), "SELL") => b.max(amount),
            (Some(b), _) => b.min(amount),
        });
    }
    best.unwrap()
}

#[tokio::test]
async fn a_large_sell_split_across_pools_gives_half_a_percent_more_than_the_best_pool_and_executes_to_the_wei() {
    let devnet = common::devnet().await;
    let gw = TestGateway::on_devnet(&devnet).await;
    approve(&gw, "WETH", "uniswap/router").await;
    let query = "baseToken=WETH&quoteToken=USDC&amount=500&side=SELL";
    let single = best_single_pool(&gw, "uniswap", query, "SELL", 6).await;
    let (text, body) = router_executes_as_quoted(&gw, &devnet, "uniswap", query).await;
    let routed = raw(&raw_field(&text, "amountOut"), 6);
    assert!(body["splits"].as_array().unwrap().len() >= 2, "split: {body}");
    assert!(routed * U256::from(1000) >= single * U256::from(1005), "{routed} against {single}: {body}");
}

#[tokio::test]
async fn a_large_buy_split_across_pools_pays_half_a_percent_less_than_the_best_pool_and_executes_to_the_wei() {
    let devnet = common::devnet().await;
    let gw = TestGateway::on_devnet(&devnet).await;
    approve(&gw, "USDC", "uniswap/router").await;
    let query = "baseToken=WETH&quoteToken=USDC&amount=300&side=BUY";
    let single = best_single_pool(&gw, "uniswap", query, "BUY", 6).await;
    let (text, body) = router_executes_as_quoted(&gw, &devnet, "uniswap", query).await;
    let routed = raw(&raw_field(&text, "amountIn"), 6);
    assert!(body["splits"].as_array().unwrap().len() >= 2, "split: {body}");
    assert!(routed * U256::from(1005) <= single * U256::from(1000), "{routed} against {single}: {body}");
}

#[tokio::test]
async fn pancakeswap_splits_a_large_sell_across_its_pools_too_and_executes_to_the_wei() {
    let devnet = common::devnet().await;
    let gw = TestGateway::on_devnet(&devnet).await;
    approve(&gw, "WETH", "pancakeswap/router").await;
    let query = "baseToken=WETH&quoteToken=USDC&amount=500&side=SELL";
    let single = best_single_pool(&gw, "pancakeswap", query, "SELL", 6).await;
    let (text, body) = router_executes_as_quoted(&gw, &devnet, "pancakeswap", query).await;
    let routed = raw(&raw_field(&text, "amountOut"), 6);
    assert!(body["splits"].as_array().unwrap().len() >= 2, "split: {body}");
    assert!(routed * U256::from(1000) >= single * U256::from(1005), "{routed} against {single}: {body}");
}

#[tokio::test]
async fn a_small_order_takes_the_single_best_pool() {
    let devnet = common::devnet().await;
    let gw = TestGateway::on_devnet(&devnet).await;
    let query = "baseToken=WETH&quoteToken=USDC&amount=0.01&side=SELL";
    let single = best_single_pool(&gw, "uniswap", query, "SELL", 6).await;
    let (text, body) = quote_on(&gw, "uniswap", "router", query).await;
    assert_eq!(body["splits"].as_array().unwrap().len(), 1, "{body}");
    assert_eq!(raw(&raw_field(&text, "amountOut"), 6), single);
    assert_eq!(body["routePath"], "WETH -0.05%-> USDC");
}

/// LINK has a V2 pair with WETH only: the best route to USDC goes through it, then through a V3 pool, and executes
/// in one transaction through SwapRouter02.
#[tokio::test]
async fn a_route_mixing_a_v2_pair_and_a_v3_pool_executes_as_quoted() {
    use alloy::sol_types::SolCall;
    use connectors::v2::{IUniswapV2Factory, IUniswapV2Pair};
    let devnet = common::devnet().await;
    let chain = chain(&devnet);
    let v2 = connectors::dex::Registry::builtin().find("uniswap", "devnet").unwrap().v2.unwrap();
    let (link, weth) = (devnet.deployment().token("LINK").address, devnet.deployment().token("WETH").address);
    let send = async |to, data: Vec<u8>, what| {
        let tx = alloy::rpc::types::TransactionRequest::default().from(devnet.accounts()[0]).to(to).input(data.into());
        chain.transact(tx, what).await.unwrap();
    };
    send(v2.factory, IUniswapV2Factory::createPairCall { tokenA: link, tokenB: weth }.abi_encode(), "create").await;
    let pair = v2.pair_address(link, weth);
    let transfer = |amount| IERC20::transferCall { to: pair, amount }.abi_encode();
    send(link, transfer(raw("100000", 18)), "fund LINK").await;
    send(weth, transfer(raw("100", 18)), "fund WETH").await;
    send(pair, IUniswapV2Pair::mintCall { to: devnet.accounts()[0] }.abi_encode(), "mint").await;

    let gw = TestGateway::on_devnet(&devnet).await;
    approve(&gw, "LINK", "uniswap/router").await;
    let (_, body) =
        router_executes_as_quoted(&gw, &devnet, "uniswap", "baseToken=LINK&quoteToken=USDC&amount=50&side=SELL").await;
    let kinds: Vec<&str> =
        body["route"].as_array().unwrap().iter().map(|step| step["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["amm", "clmm"], "{body}");
}

#[tokio::test]
async fn a_stored_quote_executes_once_and_a_retry_with_its_key_gets_the_first_answer() {
    let devnet = common::devnet().await;
    let gw = TestGateway::on_devnet(&devnet).await;
    approve(&gw, "WETH", "uniswap/router").await;
    let weth = devnet.deployment().token("WETH").address;
    let wallet = devnet.accounts()[1];
    let held = async || chains::erc20::balances(&gw.devnet_network(), wallet, &[weth]).await.unwrap().1[0];
    let before = held().await;
    let (_, quote) = quote_on(&gw, "uniswap", "router", "baseToken=WETH&quoteToken=USDC&amount=0.1&side=SELL").await;
    let execute = json!({"chainNetwork": "ethereum-devnet", "connector": "uniswap", "quoteId": quote["quoteId"]});
    let (status, first, _) = gw.post_once("/trading/router/execute-quote", execute.clone(), "quote-once").await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let signature = serde_json::from_str::<Value>(&first).unwrap()["signature"].as_str().unwrap().to_string();
    // The same key: the first answer, replayed.
    let (status, again, replayed) = gw.post_once("/trading/router/execute-quote", execute.clone(), "quote-once").await;
    assert_eq!((status, replayed, &again), (StatusCode::OK, true, &first));
    // Without it: refused, naming the transaction that executed it.
    let (status, body) = gw.post("/trading/router/execute-quote", execute).await;
    assert_error_body(status, &body, StatusCode::CONFLICT, &format!("was executed by {signature}"));
    assert_eq!(body["code"], "QUOTE_ALREADY_EXECUTED");
    assert_eq!(before - held().await, raw("0.1", 18), "one swap");

    // A quote whose execution sent nothing (the wallet may not spend the token) can be executed once it may.
    let (_, quote) = quote_on(&gw, "uniswap", "router", "baseToken=USDC&quoteToken=WETH&amount=100&side=SELL").await;
    let execute = json!({"chainNetwork": "ethereum-devnet", "connector": "uniswap", "quoteId": quote["quoteId"]});
    let (status, body) = gw.post("/trading/router/execute-quote", execute.clone()).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("INSUFFICIENT_ALLOWANCE")), "{body}");
    approve(&gw, "USDC", "uniswap/router").await;
    let (status, body) = gw.post("/trading/router/execute-quote", execute).await;
    assert_eq!((status, body["status"].as_i64()), (StatusCode::OK, Some(1)), "{body}");
}
