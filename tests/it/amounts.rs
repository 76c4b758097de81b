//! Amounts with more decimals than their token, as clients computing with floats send them: every kind is taken
//! rounded down to the token's decimals (what the wallet pays, provides, grants or asks for never grows), and what
//! moves on-chain is that amount to the wei.

use alloy::primitives::{Address, U256};
use chains::contracts::IERC20;
use gateway::devnet::Unlocked;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{self, TestGateway, raw};

struct Balances {
    chain: Unlocked,
}

impl Balances {
    async fn of(&self, token: Address, owner: Address) -> U256 {
        IERC20::new(token, &self.chain.provider).balanceOf(owner).call().await.unwrap()
    }

    async fn native(&self, owner: Address) -> U256 {
        alloy::providers::Provider::get_balance(&self.chain.provider, owner).await.unwrap()
    }
}

async fn confirmed(gw: &TestGateway, path: &str, body: Value) -> Value {
    let (status, answer) = gw.post(path, body).await;
    assert_eq!((status, answer["status"].as_i64()), (StatusCode::OK, Some(1)), "{path}: {answer}");
    answer
}

#[tokio::test]
async fn amounts_past_a_tokens_decimals_are_rounded_down_to_the_wei() {
    let devnet = common::devnet().await;
    let gw = TestGateway::on_devnet(&devnet).await;
    let wallet = devnet.accounts()[1];
    let other = devnet.accounts()[5];
    let (weth, usdc) = (devnet.deployment().token("WETH").address, devnet.deployment().token("USDC").address);
    let chain = Balances { chain: Unlocked::new(&devnet.rpc_url(), devnet.accounts()[0]).unwrap() };

    // An allowance granted: 12.3456789 USDC is 12.345678, never 12.345679.
    let uniswap_v2 = connectors::dex::Registry::builtin().find("uniswap", "devnet").unwrap().v2.unwrap().router;
    confirmed(
        &gw,
        "/chains/ethereum/approve",
        json!({"network": "devnet", "token": "USDC", "spender": "uniswap/amm", "amount": 12.3456789}),
    )
    .await;
    let granted = IERC20::new(usdc, &chain.chain.provider).allowance(wallet, uniswap_v2).call().await.unwrap();
    assert_eq!(granted, raw("12.345678", 6));

    // Wrapped: 19 decimals of ether, the 19th dropped.
    let before = chain.of(weth, wallet).await;
    confirmed(&gw, "/chains/ethereum/wrap", json!({"network": "devnet", "amount": "0.1000000000000000009"})).await;
    assert_eq!(chain.of(weth, wallet).await - before, raw("0.1", 18));

    // Sent: an ERC-20 and the native currency, to an address server.yml allows.
    let allowed = json!({"namespace": "server", "path": "allowedRecipients", "value": [other]});
    assert_eq!(gw.post("/config/update", allowed).await.0, reqwest::StatusCode::OK);
    let before = chain.of(usdc, other).await;
    let sent = confirmed(
        &gw,
        "/wallet/send",
        json!({"chain": "ethereum", "network": "devnet", "toAddress": other, "amount": 1.0000009, "token": "USDC"}),
    )
    .await;
    assert_eq!(chain.of(usdc, other).await - before, raw("1", 6));
    assert_eq!((sent["amount"].as_str(), sent["token"].as_str()), (Some("1"), Some("USDC")), "{sent}");
    let before = chain.native(other).await;
    let sent = confirmed(
        &gw,
        "/wallet/send",
        json!({"network": "devnet", "toAddress": other, "amount": "0.0000000000000000019"}),
    )
    .await;
    assert_eq!(chain.native(other).await - before, U256::from(1), "one wei, not two");
    assert_eq!(sent["token"], "ETH");

    // Swaps through the V2 pair. SELL: what leaves the wallet is the amount rounded down, and the quote for it
    // (minimum out included) is that of the rounded amount.
    confirmed(&gw, "/chains/ethereum/approve", json!({"network": "devnet", "token": "USDC", "spender": "uniswap/amm"}))
        .await;
    confirmed(&gw, "/chains/ethereum/approve", json!({"network": "devnet", "token": "WETH", "spender": "uniswap/amm"}))
        .await;
    let base = "chainNetwork=ethereum-devnet&connector=uniswap&baseToken=USDC&quoteToken=WETH&side=SELL";
    let (_, floated) = gw.get(&format!("/trading/amm/quote-swap?{base}&amount=100.1234569")).await;
    let (_, rounded) = gw.get(&format!("/trading/amm/quote-swap?{base}&amount=100.123456")).await;
    for field in ["amountIn", "amountOut", "minAmountOut", "maxAmountIn"] {
        assert_eq!(floated[field], rounded[field], "{field}: {floated} vs {rounded}");
    }
    let before = chain.of(usdc, wallet).await;
    let swap = json!({"chainNetwork": "ethereum-devnet", "connector": "uniswap", "baseToken": "USDC", "quoteToken": "WETH", "side": "SELL", "amount": 100.1234569});
    confirmed(&gw, "/trading/amm/execute-swap", swap).await;
    assert_eq!(before - chain.of(usdc, wallet).await, raw("100.123456", 6));
    // BUY: what arrives is the amount rounded down, and what is paid is bounded by the quote of that amount.
    let before = chain.of(usdc, wallet).await;
    let swap = json!({"chainNetwork": "ethereum-devnet", "connector": "uniswap", "baseToken": "USDC", "quoteToken": "WETH", "side": "BUY", "amount": "50.0000009"});
    let bought = confirmed(&gw, "/trading/amm/execute-swap", swap).await;
    assert_eq!(chain.of(usdc, wallet).await - before, raw("50", 6));
    assert_eq!(bought["data"]["amountOut"], "50");

    // Liquidity: the USDC side as a float (base × price) is taken rounded down, to the wei.
    let pair = "0xB4e16d0168e52d35CaCD2c6185b44281Ec28C9Dc";
    let before = chain.of(usdc, wallet).await;
    let add = json!({"chainNetwork": "ethereum-devnet", "connector": "uniswap", "poolAddress": pair, "baseTokenAmount": 10, "quoteTokenAmount": 100.1234567891});
    let (status, text) = gw.post_text("/trading/amm/add", add).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let spent = before - chain.of(usdc, wallet).await;
    // The pair takes the ratio's share of the rounded amount (the router rounds its other side down again).
    assert!(spent <= raw("100.123456", 6) && spent >= raw("100.123455", 6), "spent {spent}");
    let reported = common::raw_numbers(&text, "data")["quoteTokenAmountAdded"].clone();
    assert_eq!(raw(&reported, 6), spent, "the answer says what moved, to the wei");

    // A V3 position below the price takes USDC only: never more than the amount rounded down.
    confirmed(
        &gw,
        "/chains/ethereum/approve",
        json!({"network": "devnet", "token": "USDC", "spender": "uniswap/clmm"}),
    )
    .await;
    confirmed(
        &gw,
        "/chains/ethereum/approve",
        json!({"network": "devnet", "token": "WETH", "spender": "uniswap/clmm"}),
    )
    .await;
    let (_, info) = gw.get("/trading/clmm/pool-info?chainNetwork=ethereum-devnet&connector=uniswap&poolAddress=0x88e6A0c2dDD26FEEb64F039a2c41296FcB3f5640").await;
    let price = common::decimal(&info["price"]);
    let before = chain.of(usdc, wallet).await;
    let open = json!({"chainNetwork": "ethereum-devnet", "connector": "uniswap", "poolAddress": "0x88e6A0c2dDD26FEEb64F039a2c41296FcB3f5640",
        "lowerPrice": price * 0.8, "upperPrice": price * 0.9, "quoteTokenAmount": 250.9999999});
    confirmed(&gw, "/trading/clmm/open", open).await;
    let spent = before - chain.of(usdc, wallet).await;
    assert!(spent <= raw("250.999999", 6) && spent > raw("250.9999", 6), "spent {spent}");
}
