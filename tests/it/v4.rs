//! Uniswap V4 on the devnet: pools named by id on the `clmm` routes, quoted on cached state equal to V4Quoter and
//! executed through the UniversalRouter to the wei, with ERC-20 and native ETH legs, approvals through Permit2.

use alloy::primitives::{Address, B256, U256};
use alloy::providers::Provider;
use connectors::core::pool_address::PoolAddress;
use connectors::v4::{IV4Quoter, PoolKey, V4Deployment};
use gateway::devnet::{Devnet, Unlocked};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{self, TestGateway, approve, data_field, quote_on, raw, raw_field};

fn v4() -> V4Deployment {
    connectors::dex::Registry::builtin().find("uniswap", "devnet").unwrap().v4.unwrap()
}

/// The devnet's V4 pool of the two symbols ("ETH": native), its key and id.
fn pool(devnet: &Devnet, base: &str, quote: &str) -> (PoolKey, B256) {
    let address = |symbol: &str| match symbol {
        "ETH" => Address::ZERO,
        other => devnet.deployment().token(other).address,
    };
    let listed = devnet
        .deployment()
        .pools
        .iter()
        .find(|pool| matches!(pool.address, PoolAddress::Id(_)) && pool.base == base && pool.quote == quote)
        .unwrap_or_else(|| panic!("the devnet has a V4 {base}/{quote} pool"));
    let tier = *v4().fee_tiers.iter().find(|tier| tier.fee == listed.fee).unwrap();
    let key = v4().hookless_key(address(base), address(quote), tier);
    (key.clone(), key.id())
}

/// V4Quoter's answer for the pool: what comes out for `amount` in (`exact_in`), or what goes in for it out.
async fn v4_quoter(chain: &Unlocked, key: &PoolKey, currency_in: Address, exact_in: bool, amount: U256) -> U256 {
    let quoter = IV4Quoter::new(v4().quoter, &chain.provider);
    let params = IV4Quoter::QuoteExactSingleParams {
        poolKey: key.clone(),
        zeroForOne: currency_in == key.currency0,
        exactAmount: amount.to(),
        hookData: Default::default(),
    };
    match exact_in {
        true => quoter.quoteExactInputSingle(params).call().await.unwrap().amountOut,
        false => quoter.quoteExactOutputSingle(params).call().await.unwrap().amountIn,
    }
}

/// The wallet's balance of a currency (the zero address: ETH).
async fn holding(chain: &Unlocked, currency: Address, owner: Address) -> U256 {
    match currency.is_zero() {
        true => chain.provider.get_balance(owner).await.unwrap(),
        false => chains::contracts::IERC20::new(currency, &chain.provider).balanceOf(owner).call().await.unwrap(),
    }
}

/// What a mined transaction cost its sender in ETH.
async fn fee_paid(chain: &Unlocked, executed: &Value) -> U256 {
    let hash: B256 = executed["signature"].as_str().unwrap().parse().unwrap();
    let receipt = chain.provider.get_transaction_receipt(hash).await.unwrap().unwrap();
    U256::from(receipt.gas_used) * U256::from(receipt.effective_gas_price)
}

/// Executes a router quote; it must be mined.
async fn execute_quote(gw: &TestGateway, quote: &Value) -> Value {
    let request = json!({"chainNetwork": "ethereum-devnet", "connector": "uniswap", "quoteId": quote["quoteId"]});
    let (status, executed) = gw.post("/trading/router/execute-quote", request).await;
    assert_eq!((status, executed["status"].as_i64()), (StatusCode::OK, Some(1)), "{executed}");
    executed
}

struct Case<'a> {
    base: &'a str,
    quote: &'a str,
    side: &'a str,
    amount: &'a str,
}

/// Quotes `case` on the V4 pool by id, checks the quote against V4Quoter, executes it and checks both
/// currencies moved by exactly the quoted amounts (ETH net of the gas paid).
async fn quote_and_execute(gw: &TestGateway, devnet: &Devnet, case: Case<'_>) {
    let chain = Unlocked::new(&devnet.rpc_url(), devnet.accounts()[0]).unwrap();
    let wallet = devnet.accounts()[1];
    let (key, id) = pool(devnet, case.base, case.quote);
    let currency =
        |symbol: &str| if symbol == "ETH" { Address::ZERO } else { devnet.deployment().token(symbol).address };
    let decimals = |symbol: &str| if symbol == "ETH" { 18 } else { devnet.deployment().token(symbol).decimals };
    let (base, quote) = (currency(case.base), currency(case.quote));
    let sell = case.side == "SELL";
    let (currency_in, currency_out) = if sell { (base, quote) } else { (quote, base) };
    let (decimals_in, decimals_out) =
        if sell { (decimals(case.base), decimals(case.quote)) } else { (decimals(case.quote), decimals(case.base)) };
    let query = format!(
        "baseToken={}&quoteToken={}&amount={}&side={}&poolAddress={id}",
        case.base, case.quote, case.amount, case.side
    );
    let (text, body) = quote_on(gw, "uniswap", "clmm", &query).await;
    assert_eq!(body["poolAddress"], id.to_string(), "{body}");
    let (amount_in, amount_out) =
        (raw(&raw_field(&text, "amountIn"), decimals_in), raw(&raw_field(&text, "amountOut"), decimals_out));
    let asked = raw(case.amount, decimals(case.base));
    let on_chain = v4_quoter(&chain, &key, currency_in, sell, asked).await;
    match sell {
        true => assert_eq!((amount_in, amount_out), (asked, on_chain), "SELL equals V4Quoter: {body}"),
        false => assert_eq!((amount_in, amount_out), (on_chain, asked), "BUY equals V4Quoter: {body}"),
    }
    let before = (holding(&chain, currency_in, wallet).await, holding(&chain, currency_out, wallet).await);
    let (status, executed) = gw
        .post_text(
            "/trading/clmm/execute-swap",
            json!({"chainNetwork": "ethereum-devnet", "connector": "uniswap", "baseToken": case.base, "quoteToken": case.quote,
                   "amount": case.amount, "side": case.side, "poolAddress": id.to_string()}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{executed}");
    let text = executed;
    let executed: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(executed["status"], 1, "{executed}");
    let gas = fee_paid(&chain, &executed).await;
    let after = (holding(&chain, currency_in, wallet).await, holding(&chain, currency_out, wallet).await);
    let paid_gas = |currency: Address| if currency.is_zero() { gas } else { U256::ZERO };
    assert_eq!(before.0 - after.0 - paid_gas(currency_in), amount_in, "paid exactly the quote's amount in: {executed}");
    assert_eq!(after.1 + paid_gas(currency_out) - before.1, amount_out, "got exactly the quote's amount out");
    assert_eq!(raw(&data_field(&text, "amountIn"), decimals_in), amount_in, "{text}");
    assert_eq!(raw(&data_field(&text, "amountOut"), decimals_out), amount_out, "{text}");
    assert_eq!(executed["data"]["poolAddress"], id.to_string());
}

#[tokio::test]
async fn v4_swaps_by_pool_id_equal_the_v4_quoter_and_move_exactly_the_quote() {
    let devnet = common::devnet().await;
    let gw = TestGateway::on_devnet(&devnet).await;
    for token in ["WETH", "USDC", "WBTC"] {
        approve(&gw, token, "uniswap/clmm/swap").await;
    }
    let cases = [
        Case { base: "WETH", quote: "USDC", side: "SELL", amount: "12.5" },
        Case { base: "WETH", quote: "USDC", side: "BUY", amount: "7" },
        // Native ETH in, then out.
        Case { base: "ETH", quote: "USDC", side: "SELL", amount: "3" },
        Case { base: "ETH", quote: "USDC", side: "BUY", amount: "2.25" },
        // ETH as the quote: a BUY pays ETH (the router refunds what the swap did not take), a SELL receives it.
        Case { base: "WBTC", quote: "ETH", side: "BUY", amount: "0.4" },
        Case { base: "WBTC", quote: "ETH", side: "SELL", amount: "1.5" },
    ];
    for case in cases {
        quote_and_execute(&gw, &devnet, case).await;
    }
}

/// `approve` for `uniswap/clmm/swap` sets up both layers V4 needs, and `allowances` reports each.
#[tokio::test]
async fn an_approval_for_v4_goes_through_permit2_and_allowances_report_each_layer() {
    let devnet = common::devnet().await;
    let gw = TestGateway::on_devnet(&devnet).await;
    let v4 = v4();
    let request = json!({"network": "devnet", "spender": "uniswap/clmm/swap", "tokens": ["USDC"]});
    let allowances = || gw.post("/chains/ethereum/allowances", request.clone());
    let (status, before) = allowances().await;
    assert_eq!(status, StatusCode::OK, "{before}");
    assert_eq!(before["approvals"]["USDC"], "0");
    let (status, approved) = gw
        .post(
            "/chains/ethereum/approve",
            json!({"network": "devnet", "token": "USDC", "spender": "uniswap/clmm/swap", "amount": "250"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{approved}");
    assert_eq!(
        (approved["status"].as_i64(), approved["data"]["amount"].as_str()),
        (Some(1), Some("250")),
        "{approved}"
    );
    let (_, after) = allowances().await;
    assert_eq!(after["approvals"]["USDC"], "250", "{after}");
    let layers = after["layers"].as_array().unwrap();
    let permit2 = v4.permit2.to_checksum(None);
    let router = v4.universal_router.to_checksum(None);
    assert!(
        layers.iter().any(|l| l["spender"] == permit2 && l["through"].is_null() && l["approvals"]["USDC"] == "250"),
        "{after}"
    );
    assert!(
        layers.iter().any(|l| l["spender"] == router && l["through"] == permit2 && l["approvals"]["USDC"] == "250"),
        "{after}"
    );
    // A swap needing more than Permit2 allows is refused before anything is sent, saying what to approve.
    let (_, id) = pool(&devnet, "WETH", "USDC");
    let (status, refused) = gw
        .post(
            "/trading/clmm/execute-swap",
            json!({"chainNetwork": "ethereum-devnet", "connector": "uniswap", "baseToken": "WETH", "quoteToken": "USDC",
               "amount": "1", "side": "BUY", "poolAddress": id.to_string()}),
        )
        .await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("INSUFFICIENT_ALLOWANCE")),
        "{refused}"
    );
}

/// A pool id no PoolManager has, and malformed ids, are refused with 400s naming poolAddress.
#[tokio::test]
async fn unknown_and_malformed_v4_pool_ids_are_refused_naming_the_field() {
    let devnet = common::devnet().await;
    let gw = TestGateway::on_devnet(&devnet).await;
    for (pool, expected) in [
        (B256::repeat_byte(7).to_string(), "is not a pool"),
        ("0x21c67e77068de97969ba93d4aab21826d33ca12bb9f565d8496e8fda8a82ca2z".to_string(), "poolAddress"),
    ] {
        let url = format!(
            "/trading/clmm/quote-swap?chainNetwork=ethereum-devnet&connector=uniswap&baseToken=ETH&quoteToken=USDC&amount=1&side=SELL&poolAddress={pool}"
        );
        let response = gw.client().get(gw.url(&url)).send().await.unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(body["message"].as_str().unwrap().contains(expected), "{body}");
    }
}

/// Native ETH is held by V4 pools alone: the router's quote from ETH takes the V4 pool, equals V4Quoter, and
/// executing the stored quote goes through the UniversalRouter, moving exactly the quote (ETH net of gas).
#[tokio::test]
async fn a_router_quote_through_a_v4_pool_executes_through_the_universal_router_as_quoted() {
    let devnet = common::devnet().await;
    let gw = TestGateway::on_devnet(&devnet).await;
    let chain = Unlocked::new(&devnet.rpc_url(), devnet.accounts()[0]).unwrap();
    let wallet = devnet.accounts()[1];
    let (key, id) = pool(&devnet, "ETH", "USDC");
    let usdc = devnet.deployment().token("USDC").address;
    let (text, body) = quote_on(&gw, "uniswap", "router", "baseToken=ETH&quoteToken=USDC&amount=4&side=SELL").await;
    assert_eq!(body["poolAddress"], id.to_string(), "{body}");
    assert_eq!(body["route"][0]["type"], "clmm", "{body}");
    let amount_out = raw(&raw_field(&text, "amountOut"), 6);
    assert_eq!(amount_out, v4_quoter(&chain, &key, Address::ZERO, true, raw("4", 18)).await, "{body}");
    let (eth_before, usdc_before) = (holding(&chain, Address::ZERO, wallet).await, holding(&chain, usdc, wallet).await);
    let executed = execute_quote(&gw, &body).await;
    let hash: B256 = executed["signature"].as_str().unwrap().parse().unwrap();
    let tx = chain.provider.get_transaction_by_hash(hash).await.unwrap().unwrap();
    assert_eq!(alloy::consensus::Transaction::to(&tx), Some(v4().universal_router), "sent to the UniversalRouter");
    let gas = fee_paid(&chain, &executed).await;
    assert_eq!(eth_before - holding(&chain, Address::ZERO, wallet).await - gas, raw("4", 18), "paid 4 ETH");
    assert_eq!(holding(&chain, usdc, wallet).await - usdc_before, amount_out, "received as quoted");
}

/// A pool with hooks is refused on every route that names it, with a 400 naming the hooks contract: what a hook
/// does to a swap is its own code, not the pool math the gateway runs. (Dynamic fees without hook calls make a
/// pool whose hooks address needs no code.)
#[tokio::test]
async fn a_pool_with_hooks_is_refused_naming_its_hooks() {
    use alloy::primitives::aliases::{I24, U24};
    use alloy::sol_types::SolCall;
    use connectors::v4::{IPositionManager, Plan, actions};
    let devnet = common::devnet().await;
    let gw = TestGateway::on_devnet(&devnet).await;
    let chain = Unlocked::new(&devnet.rpc_url(), devnet.accounts()[0]).unwrap();
    let (weth, usdc) = (devnet.deployment().token("WETH").address, devnet.deployment().token("USDC").address);
    let (currency0, currency1) = connectors::core::route::sort_tokens(weth, usdc);
    // No permission flag in the address's low 14 bits: the PoolManager never calls it.
    let hooks: Address = "0x000000000000000000000000000000000000c000".parse().unwrap();
    let dynamic_fee = U24::from(0x800000);
    let key = PoolKey { currency0, currency1, fee: dynamic_fee, tickSpacing: I24::try_from(60).unwrap(), hooks };
    let sqrt_price = connectors::clmm::ticks::sqrt_at(196_200).unwrap();
    let v4 = v4();
    let initialize = IPositionManager::initializePoolCall { key: key.clone(), sqrtPriceX96: sqrt_price };
    chain.call(v4.position_manager, initialize).await.unwrap();
    let mint = (
        key.clone(),
        I24::try_from(195_000).unwrap(),
        I24::try_from(197_400).unwrap(),
        U256::from(10u64.pow(12)),
        u128::MAX,
        u128::MAX,
        chain.deployer,
        alloy::primitives::Bytes::new(),
    );
    let plan = Plan::default().then(actions::MINT_POSITION, mint).then(actions::SETTLE_PAIR, (currency0, currency1));
    let call = IPositionManager::modifyLiquiditiesCall { unlockData: plan.encode(), deadline: U256::from(u64::MAX) };
    let request = alloy::rpc::types::TransactionRequest::default()
        .from(chain.deployer)
        .to(v4.position_manager)
        .input(call.abi_encode().into());
    chain.transact(request, "mint in a hooked pool").await.unwrap();

    let id = key.id();
    let hooks_named = |body: &Value| {
        body["message"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("has hooks at 0x000000000000000000000000000000000000c000")
    };
    let url = format!("/trading/clmm/pool-info?chainNetwork=ethereum-devnet&connector=uniswap&poolAddress={id}");
    let (status, body) = gw.get(&url).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(hooks_named(&body), "{body}");
    let url = format!(
        "/trading/clmm/quote-swap?chainNetwork=ethereum-devnet&connector=uniswap&baseToken=WETH&quoteToken=USDC&amount=1&side=SELL&poolAddress={id}"
    );
    let (status, body) = gw.get(&url).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(hooks_named(&body), "{body}");
    let (status, body) = gw
        .post("/pools", json!({"chainNetwork": "ethereum-devnet", "connector": "uniswap", "type": "clmm", "address": id.to_string()}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(hooks_named(&body), "listing it is refused too: {body}");
}

/// Between ERC-20s too the router takes V4 pools where they give most: WBTC -> USDC goes WBTC -V4-> ETH -V4-> USDC
/// on the devnet, each hop equal to V4Quoter, and the stored quote executes exactly as quoted.
#[tokio::test]
async fn a_router_quote_for_which_v4_pools_are_best_takes_them_and_executes_as_quoted() {
    let devnet = common::devnet().await;
    let gw = TestGateway::on_devnet(&devnet).await;
    let chain = Unlocked::new(&devnet.rpc_url(), devnet.accounts()[0]).unwrap();
    let wallet = devnet.accounts()[1];
    approve(&gw, "WBTC", "uniswap/router").await;
    let (wbtc, usdc) = (devnet.deployment().token("WBTC").address, devnet.deployment().token("USDC").address);
    let (text, body) = quote_on(&gw, "uniswap", "router", "baseToken=WBTC&quoteToken=USDC&amount=0.5&side=SELL").await;
    let (wbtc_eth, wbtc_eth_id) = pool(&devnet, "WBTC", "ETH");
    let (eth_usdc, eth_usdc_id) = pool(&devnet, "ETH", "USDC");
    let pools: Vec<&str> =
        body["route"].as_array().unwrap().iter().map(|step| step["poolAddress"].as_str().unwrap()).collect();
    assert_eq!(pools, vec![wbtc_eth_id.to_string(), eth_usdc_id.to_string()], "through the V4 pools: {body}");
    let through_eth = v4_quoter(&chain, &wbtc_eth, wbtc, true, raw("0.5", 8)).await;
    let amount_out = raw(&raw_field(&text, "amountOut"), 6);
    assert_eq!(amount_out, v4_quoter(&chain, &eth_usdc, Address::ZERO, true, through_eth).await, "{body}");
    let before = (holding(&chain, wbtc, wallet).await, holding(&chain, usdc, wallet).await);
    execute_quote(&gw, &body).await;
    assert_eq!(before.0 - holding(&chain, wbtc, wallet).await, raw("0.5", 8));
    assert_eq!(holding(&chain, usdc, wallet).await - before.1, amount_out, "received as quoted");
}

/// The position lifecycle on V4's WETH/USDC pool, through PositionManager and Permit2, every balance exact.
#[tokio::test]
async fn a_v4_position_lifecycle_with_erc20s_moves_exact_balances() {
    let devnet = common::devnet().await;
    let (_, id) = pool(&devnet, "WETH", "USDC");
    crate::liquidity::clmm_lifecycle_case("uniswap", &id.to_string(), "WETH").await;
}

/// The position lifecycle on V4's native ETH/USDC pool: ETH sent with the deposit, what it did not take swept
/// back, and paid out as ETH, every balance exact with the gas counted.
#[tokio::test]
async fn a_v4_position_lifecycle_with_native_eth_moves_exact_balances() {
    let devnet = common::devnet().await;
    let (_, id) = pool(&devnet, "ETH", "USDC");
    crate::liquidity::clmm_lifecycle_case("uniswap", &id.to_string(), "ETH").await;
}

/// V3's and V4's managers each number positions from 1: an id both hold names the wallet's own, the one
/// `poolAddress` says (a pool the position is not in is refused), and otherwise is refused asking for
/// `poolAddress`.
#[tokio::test]
async fn a_position_id_both_managers_hold_is_told_apart_by_owner_or_pool() {
    let devnet = common::devnet().await;
    let gw = TestGateway::on_devnet(&devnet).await;
    approve(&gw, "USDC", "uniswap/clmm").await;
    let (_, id) = pool(&devnet, "ETH", "USDC");
    let request = json!({"chainNetwork": "ethereum-devnet", "connector": "uniswap", "poolAddress": id.to_string(),
                         "lowerPrice": 2500, "upperPrice": 3500, "baseTokenAmount": 1});
    let (status, opened) = gw.post("/trading/clmm/open", request).await;
    assert_eq!((status, opened["status"].as_i64()), (StatusCode::OK, Some(1)), "{opened}");
    let position = opened["data"]["positionAddress"].as_str().unwrap().to_string();
    let info = |query: String| {
        let gw = &gw;
        let position = &position;
        async move {
            gw.get(&format!(
                "/trading/clmm/position-info?chainNetwork=ethereum-devnet&connector=uniswap&positionAddress={position}{query}"
            ))
            .await
        }
    };
    // The devnet's deployer minted the V3 fixture's positions: one of them has this id too.
    let (_, deployers) = gw
        .get(&format!(
            "/trading/clmm/positions-owned?chainNetwork=ethereum-devnet&connector=uniswap&walletAddress={}",
            devnet.accounts()[0]
        ))
        .await;
    let v3 = deployers.as_array().unwrap().iter().find(|p| p["address"] == position.as_str());
    let v3_pool =
        v3.unwrap_or_else(|| panic!("V3's manager holds position {position} too: {deployers}"))["poolAddress"]
            .as_str()
            .unwrap()
            .to_string();
    let (status, v3) = info(format!("&poolAddress={v3_pool}")).await;
    assert_eq!((status, v3["poolAddress"].as_str()), (StatusCode::OK, Some(v3_pool.as_str())), "{v3}");
    let (status, own) = info(String::new()).await;
    assert_eq!((status, own["poolAddress"].as_str()), (StatusCode::OK, Some(id.to_string().as_str())), "{own}");
    let (status, by_pool) = info(format!("&poolAddress={id}&walletAddress={}", devnet.accounts()[2])).await;
    assert_eq!((status, by_pool["poolAddress"].as_str()), (StatusCode::OK, Some(id.to_string().as_str())));
    let other_pool = B256::repeat_byte(1);
    let (status, elsewhere) = info(format!("&poolAddress={other_pool}")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{elsewhere}");
    assert_eq!(
        elsewhere["message"].as_str().unwrap(),
        format!("poolAddress: position {position} is in pool {id}, not {other_pool}")
    );
    let (status, neither) = info(format!("&walletAddress={}", devnet.accounts()[2])).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{neither}");
    assert!(neither["message"].as_str().unwrap().contains("poolAddress"), "{neither}");
}
