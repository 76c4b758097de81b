use alloy::primitives::{Address, U256};
use alloy::providers::Provider;
use chains::contracts::IERC20;
use gateway::devnet::{Devnet, Unlocked};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{self, TestGateway, raw, raw_field};

const POOL: &str = "0x88e6A0c2dDD26FEEb64F039a2c41296FcB3f5640";
const PAIR: &str = "0xB4e16d0168e52d35CaCD2c6185b44281Ec28C9Dc";

struct Wallet<'a> {
    chain: Unlocked,
    address: Address,
    /// The base token, WETH or (the zero address) native ETH.
    base: Address,
    usdc: Address,
    gw: &'a TestGateway,
}

impl Wallet<'_> {
    async fn balances(&self) -> (U256, U256) {
        let read = |token: Address| async move {
            match token.is_zero() {
                true => self.chain.provider.get_balance(self.address).await.unwrap(),
                false => IERC20::new(token, &self.chain.provider).balanceOf(self.address).call().await.unwrap(),
            }
        };
        (read(self.base).await, read(self.usdc).await)
    }

    /// What a transaction's answer says its gas cost the base balance: its fee where the base is ETH.
    fn gas(&self, data: &std::collections::BTreeMap<String, String>) -> U256 {
        match self.base.is_zero() {
            true => raw(&data["fee"], 18),
            false => U256::ZERO,
        }
    }

    /// POSTs, expects a confirmed transaction, and returns the exact text of `data`'s fields.
    async fn post(&self, path: &str, body: Value) -> std::collections::BTreeMap<String, String> {
        let (status, text) = self.gw.post_text(path, body).await;
        assert_eq!(status, StatusCode::OK, "{path}: {text}");
        let parsed: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed["status"], 1, "{path}: {text}");
        let outer: std::collections::BTreeMap<String, Box<serde_json::value::RawValue>> =
            serde_json::from_str(&text).unwrap();
        let data: std::collections::BTreeMap<String, Box<serde_json::value::RawValue>> =
            serde_json::from_str(outer["data"].get()).unwrap();
        data.into_iter().map(|(k, v)| (k, v.get().trim_matches('"').to_string())).collect()
    }
}

async fn setup(devnet: &Devnet, gw: &TestGateway, spender: &str) {
    approve_tokens(gw, spender, &["WETH", "USDC"]).await;
    let _ = devnet;
}

async fn approve_tokens(gw: &TestGateway, spender: &str, tokens: &[&str]) {
    for token in tokens {
        let (status, body) =
            gw.post("/chains/ethereum/approve", json!({"network": "devnet", "token": token, "spender": spender})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
}

fn wallet<'a>(devnet: &Devnet, gw: &'a TestGateway, base: &str) -> Wallet<'a> {
    Wallet {
        chain: Unlocked::new(&devnet.rpc_url(), devnet.accounts()[0]).unwrap(),
        address: devnet.accounts()[1],
        base: match base {
            "ETH" => Address::ZERO,
            token => devnet.deployment().token(token).address,
        },
        usdc: devnet.deployment().token("USDC").address,
        gw,
    }
}

#[tokio::test]
async fn clmm_position_lifecycle_with_exact_balances() {
    clmm_lifecycle_case("uniswap", POOL, "WETH").await;
}

/// open → positions-owned → add → fees from another wallet's swaps → collect exactly the fees owed → remove
/// 50 % → close, every balance change exact, on `pool` of `base` (WETH, or native ETH: its gas counted) and USDC.
pub async fn clmm_lifecycle_case(connector: &str, pool: &str, base: &str) {
    let devnet = common::devnet().await;
    let gw = TestGateway::on_devnet(&devnet).await;
    setup(&devnet, &gw, &format!("{connector}/clmm")).await;
    let w = wallet(&devnet, &gw, base);
    let lp = |body: Value| {
        let mut body = body;
        body["chainNetwork"] = json!("ethereum-devnet");
        body["connector"] = json!(connector);
        body
    };

    // Quote, then open with only the base amount.
    let (status, quoted) = gw.get(&format!("/trading/clmm/quote-liquidity?chainNetwork=ethereum-devnet&connector={connector}&poolAddress={pool}&lowerPrice=2500&upperPrice=3500&baseTokenAmount=2")).await;
    assert_eq!(status, StatusCode::OK, "{quoted}");
    assert_eq!(quoted["baseLimited"], true);
    let before = w.balances().await;
    let opened = w
        .post(
            "/trading/clmm/open",
            lp(json!({"poolAddress": pool, "lowerPrice": 2500, "upperPrice": 3500, "baseTokenAmount": 2})),
        )
        .await;
    let after = w.balances().await;
    assert_eq!(before.0 - after.0, raw(&opened["baseTokenAmountAdded"], 18) + w.gas(&opened));
    assert_eq!(before.1 - after.1, raw(&opened["quoteTokenAmountAdded"], 6));
    assert!(
        raw(&opened["baseTokenAmountAdded"], 18) <= raw("2", 18)
            && raw(&opened["baseTokenAmountAdded"], 18) > raw("1.999", 18)
    );
    assert_eq!(
        opened["quoteTokenAmountAdded"],
        quoted["quoteTokenAmount"].to_string().trim_matches('"'),
        "the quote said what it would take"
    );
    let position = opened["positionAddress"].clone();

    // It is listed, in range.
    let (_, owned) =
        gw.get(&format!("/trading/clmm/positions-owned?chainNetwork=ethereum-devnet&connector={connector}")).await;
    let listed = owned.as_array().unwrap().iter().find(|p| p["address"] == position.as_str()).expect("listed").clone();
    assert_eq!(listed["poolAddress"].as_str().unwrap().to_lowercase(), pool.to_lowercase());
    assert_eq!(listed["inRange"], true);
    assert!(
        common::decimal(&listed["lowerPrice"]) > 2490.0 && common::decimal(&listed["upperPrice"]) < 3510.0,
        "{listed}"
    );

    // Add with only the quote amount.
    let before = w.balances().await;
    let added = w.post("/trading/clmm/add", lp(json!({"positionAddress": position, "quoteTokenAmount": 1500}))).await;
    let after = w.balances().await;
    assert_eq!(before.0 - after.0, raw(&added["baseTokenAmountAdded"], 18) + w.gas(&added));
    assert_eq!(before.1 - after.1, raw(&added["quoteTokenAmountAdded"], 6));

    // Another trader swaps both ways through the pool: the position earns fees in both tokens.
    let trader = TestGateway::on_devnet(&devnet).await;
    trader.add_wallet(&devnet, 2).await;
    let erc20s: Vec<&str> = [base, "USDC"].into_iter().filter(|token| *token != "ETH").collect();
    approve_tokens(&trader, &format!("{connector}/clmm"), &erc20s).await;
    for side in ["SELL", "BUY"] {
        let (status, body) = trader
            .post(
                "/trading/clmm/execute-swap",
                lp(json!({"baseToken": base, "quoteToken": "USDC", "amount": 20, "side": side, "poolAddress": pool})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    // The fees owed, then collected: exactly those.
    let (_, text) = {
        let response = gw
            .client()
            .get(gw.url(&format!(
                "/trading/clmm/position-info?chainNetwork=ethereum-devnet&connector={connector}&positionAddress={}",
                position.as_str()
            )))
            .send()
            .await
            .unwrap();
        (response.status(), response.text().await.unwrap())
    };
    let (base_fee, quote_fee) =
        (raw(&raw_field(&text, "baseFeeAmount"), 18), raw(&raw_field(&text, "quoteFeeAmount"), 6));
    assert!(base_fee > U256::ZERO && quote_fee > U256::ZERO, "fees in both tokens: {text}");
    let before = w.balances().await;
    let collected = w.post("/trading/clmm/collect-fees", lp(json!({"positionAddress": position}))).await;
    let after = w.balances().await;
    assert_eq!(raw(&collected["baseFeeAmountCollected"], 18), base_fee);
    assert_eq!(raw(&collected["quoteFeeAmountCollected"], 6), quote_fee);
    assert_eq!((after.0 + w.gas(&collected) - before.0, after.1 - before.1), (base_fee, quote_fee));

    // Remove half, then close: balances move by exactly what was removed (no fees accrued since).
    let before = w.balances().await;
    let removed =
        w.post("/trading/clmm/remove", lp(json!({"positionAddress": position, "percentageToRemove": 50}))).await;
    let after = w.balances().await;
    assert_eq!(after.0 + w.gas(&removed) - before.0, raw(&removed["baseTokenAmountRemoved"], 18));
    assert_eq!(after.1 - before.1, raw(&removed["quoteTokenAmountRemoved"], 6));
    let before = w.balances().await;
    let closed = w.post("/trading/clmm/close", lp(json!({"positionAddress": position}))).await;
    let after = w.balances().await;
    assert_eq!(
        after.0 + w.gas(&closed) - before.0,
        raw(&closed["baseTokenAmountRemoved"], 18) + raw(&closed["baseFeeAmountCollected"], 18)
    );
    assert_eq!(
        after.1 - before.1,
        raw(&closed["quoteTokenAmountRemoved"], 6) + raw(&closed["quoteFeeAmountCollected"], 6)
    );
    let (_, owned) =
        gw.get(&format!("/trading/clmm/positions-owned?chainNetwork=ethereum-devnet&connector={connector}")).await;
    assert!(owned.as_array().unwrap().iter().all(|p| p["address"] != position.as_str()), "burned: {owned}");
    // Asked by its pool: V3's and V4's managers number positions apart, so the id alone may name another's.
    let (status, _) = gw
        .get(&format!(
            "/trading/clmm/position-info?chainNetwork=ethereum-devnet&connector={connector}&positionAddress={}&poolAddress={pool}",
            position.as_str()
        ))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn amm_liquidity_lifecycle_with_exact_balances() {
    let devnet = common::devnet().await;
    let gw = TestGateway::on_devnet(&devnet).await;
    setup(&devnet, &gw, "uniswap/amm").await;
    let w = wallet(&devnet, &gw, "WETH");
    let lp = |body: Value| {
        let mut body = body;
        body["network"] = json!("devnet");
        body
    };

    let (status, quoted) = gw.get(&format!("/connectors/uniswap/amm/quote-liquidity?network=devnet&poolAddress={PAIR}&baseTokenAmount=10&quoteTokenAmount=40000")).await;
    assert_eq!(status, StatusCode::OK, "{quoted}");
    assert_eq!(quoted["baseLimited"], true, "40000 USDC is more than 10 WETH needs: {quoted}");

    let before = w.balances().await;
    let added = w
        .post(
            "/connectors/uniswap/amm/add-liquidity",
            lp(json!({"poolAddress": PAIR, "baseTokenAmount": 10, "quoteTokenAmount": 40000})),
        )
        .await;
    let after = w.balances().await;
    assert_eq!(before.0 - after.0, raw(&added["baseTokenAmountAdded"], 18) + w.gas(&added));
    assert_eq!(before.1 - after.1, raw(&added["quoteTokenAmountAdded"], 6));
    assert_eq!(raw(&added["baseTokenAmountAdded"], 18), raw("10", 18));

    let (_, info) = gw.get(&format!("/connectors/uniswap/amm/position-info?network=devnet&poolAddress={PAIR}")).await;
    assert!(common::decimal(&info["lpTokenAmount"]) > 0.0, "{info}");
    assert!(
        (common::decimal(&info["baseTokenAmount"]) - 10.0).abs() < 1e-6,
        "the share redeems for what went in: {info}"
    );

    let before = w.balances().await;
    let removed = w
        .post("/connectors/uniswap/amm/remove-liquidity", lp(json!({"poolAddress": PAIR, "percentageToRemove": 100})))
        .await;
    let after = w.balances().await;
    assert_eq!(after.0 + w.gas(&removed) - before.0, raw(&removed["baseTokenAmountRemoved"], 18));
    assert_eq!(after.1 - before.1, raw(&removed["quoteTokenAmountRemoved"], 6));
    let (_, info) = gw.get(&format!("/connectors/uniswap/amm/position-info?network=devnet&poolAddress={PAIR}")).await;
    assert_eq!(info["lpTokenAmount"], "0");
}

/// A deposit needs an amount: with neither, quote and add are refused naming the field, and nothing is sent.
#[tokio::test]
async fn amm_liquidity_without_an_amount_is_refused_and_nothing_is_sent() {
    let devnet = common::devnet().await;
    let gw = TestGateway::on_devnet(&devnet).await;
    setup(&devnet, &gw, "uniswap/amm").await;
    let nonce = async || {
        alloy::providers::Provider::get_transaction_count(&common::node(&devnet), devnet.accounts()[1]).await.unwrap()
    };
    let before = nonce().await;
    let (status, body) =
        gw.get(&format!("/connectors/uniswap/amm/quote-liquidity?network=devnet&poolAddress={PAIR}")).await;
    common::assert_error_body(status, &body, StatusCode::BAD_REQUEST, "give baseTokenAmount, quoteTokenAmount or both");
    let (status, body) =
        gw.post("/connectors/uniswap/amm/add-liquidity", json!({"network": "devnet", "poolAddress": PAIR})).await;
    common::assert_error_body(status, &body, StatusCode::BAD_REQUEST, "give baseTokenAmount, quoteTokenAmount or both");
    assert_eq!(nonce().await, before, "nothing was sent");
}
