//! The order book on 0x v4 limit orders (`zeroex`), on the devnet with two funded wallets: the maker's orders
//! signed and kept by the gateway, takers filling them on-chain, and the book kept honest against the chain.

use alloy::primitives::{Address, B256, U256};
use alloy::providers::Provider;
use alloy::providers::ext::AnvilApi;
use chains::contracts::IERC20;
use connectors::clob::zeroex::{EXCHANGE_PROXY, INativeOrders, LimitOrder};
use gateway::devnet::{Devnet, Unlocked};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{self, TestGateway, assert_error_body, into_json, raw};

const MARKET: &str = "WETH-USDC";

struct Setup {
    devnet: Devnet,
    gw: TestGateway,
    chain: Unlocked,
    maker: Address,
    taker: Address,
}

async fn setup() -> Setup {
    setup_on(None).await
}

async fn setup_on(database_url: Option<String>) -> Setup {
    let devnet = common::devnet().await;
    let gw = TestGateway::on_devnet_with(&devnet, database_url).await;
    let maker = devnet.accounts()[1];
    let taker = gw.add_wallet(&devnet, 2).await;
    for wallet in [maker, taker] {
        for token in ["WETH", "USDC"] {
            let body = json!({"network": "devnet", "address": wallet, "token": token, "spender": "zeroex/clob"});
            let (status, body) = gw.post("/chains/ethereum/approve", body).await;
            assert_eq!(status, StatusCode::OK, "{body}");
        }
    }
    let chain = Unlocked::new(&devnet.rpc_url(), devnet.accounts()[0]).unwrap();
    Setup { devnet, gw, chain, maker, taker }
}

impl Setup {
    async fn place(&self, wallet: Address, order: Value) -> (StatusCode, Value) {
        let mut body = json!({"network": "devnet", "connector": "zeroex", "address": wallet, "market": MARKET});
        body.as_object_mut().unwrap().extend(order.as_object().unwrap().clone());
        self.gw.post("/clob/orders", body).await
    }

    async fn placed(&self, wallet: Address, order: Value) -> Value {
        let (status, body) = self.place(wallet, order).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    async fn book(&self) -> (Vec<(String, String)>, Vec<(String, String)>) {
        let (status, body) = self.gw.get(&format!("/clob/orderBook?network=devnet&market={MARKET}")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let side = |name: &str| {
            body["orderbook"][name]
                .as_array()
                .unwrap()
                .iter()
                .map(|level| {
                    (level["price"].as_str().unwrap().to_string(), level["quantity"].as_str().unwrap().to_string())
                })
                .collect::<Vec<_>>()
        };
        (side("buys"), side("sells"))
    }

    /// The asks once the gateway has seen the blocks mined behind its back (its block poller runs every 20 ms
    /// on loopback); fails with the last book read if they never are `expected`.
    async fn asks_become(&self, expected: Vec<(String, String)>) {
        let mut asks = Vec::new();
        for _ in 0..100 {
            asks = self.book().await.1;
            if asks == expected {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("asks stayed {asks:?}, expected {expected:?}");
    }

    async fn order(&self, id: &str) -> Value {
        let (status, body) = self.gw.get(&format!("/clob/orders?network=devnet&orderId={id}")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["orders"][0].clone()
    }

    async fn balances(&self, wallet: Address) -> (U256, U256) {
        let deployment = self.devnet.deployment();
        let read = |token: Address| async move {
            IERC20::new(token, &self.chain.provider).balanceOf(wallet).call().await.unwrap()
        };
        (read(deployment.token("WETH").address).await, read(deployment.token("USDC").address).await)
    }
}

fn pairs(levels: &[(&str, &str)]) -> Vec<(String, String)> {
    levels.iter().map(|(p, q)| (p.to_string(), q.to_string())).collect()
}

#[tokio::test]
async fn a_market_buy_fills_two_levels_on_chain_and_the_book_follows() {
    market_buy_across_two_levels(setup().await).await;
}

/// The same on PostgreSQL, where several gateway instances would share the book.
#[tokio::test]
async fn the_book_works_the_same_on_postgres() {
    let Some(db) = crate::common::postgres::PostgresDb::create().await else { return };
    market_buy_across_two_levels(setup_on(Some(db.url.clone())).await).await;
    db.drop_db().await;
}

async fn market_buy_across_two_levels(s: Setup) {
    let ask_low = s.placed(s.maker, json!({"side": "SELL", "orderType": "LIMIT_MAKER", "price": "3000", "amount": "1", "clientOrderID": "ask-low"})).await;
    let ask_high =
        s.placed(s.maker, json!({"side": "SELL", "orderType": "LIMIT", "price": "3010", "amount": "1"})).await;
    s.placed(s.maker, json!({"side": "BUY", "orderType": "LIMIT", "price": "2900", "amount": "1.5"})).await;
    assert!(ask_low["txHash"].is_null(), "nothing crossed: {ask_low}");
    assert_eq!(ask_low["clientOrderID"], "ask-low");
    let (buys, sells) = s.book().await;
    assert_eq!(buys, pairs(&[("2900", "1.5")]));
    assert_eq!(sells, pairs(&[("3000", "1"), ("3010", "1")]));

    // The id the gateway gives is the hash the contract computes for the signed order.
    let low = s.order("ask-low").await;
    let fields = &low["venueOrder"];
    let field = |name: &str| fields[name].as_str().unwrap().to_string();
    let order = LimitOrder {
        makerToken: field("makerToken").parse().unwrap(),
        takerToken: field("takerToken").parse().unwrap(),
        makerAmount: field("makerAmount").parse().unwrap(),
        takerAmount: field("takerAmount").parse().unwrap(),
        takerTokenFeeAmount: field("takerTokenFeeAmount").parse().unwrap(),
        maker: field("maker").parse().unwrap(),
        taker: field("taker").parse().unwrap(),
        sender: field("sender").parse().unwrap(),
        feeRecipient: field("feeRecipient").parse().unwrap(),
        pool: field("pool").parse().unwrap(),
        expiry: field("expiry").parse().unwrap(),
        salt: field("salt").parse().unwrap(),
    };
    let on_chain = INativeOrders::new(EXCHANGE_PROXY, &s.chain.provider).getLimitOrderHash(order).call().await.unwrap();
    assert_eq!(low["orderId"].as_str().unwrap().parse::<B256>().unwrap(), on_chain);
    assert_eq!(ask_low["orderId"], low["orderId"]);
    assert_eq!(field("makerAmount"), "1000000000000000000");
    assert_eq!(field("takerAmount"), "3000000000");

    let (maker_weth, maker_usdc) = s.balances(s.maker).await;
    let (taker_weth, taker_usdc) = s.balances(s.taker).await;
    let bought =
        s.placed(s.taker, json!({"side": "BUY", "orderType": "MARKET", "price": "3010", "amount": "1.5"})).await;
    assert!(bought["txHash"].as_str().unwrap().starts_with("0x"), "{bought}");
    assert!(bought["orderId"].is_null(), "a MARKET order never rests: {bought}");
    assert_eq!(bought["filledAmount"], "1.5");
    // 1 WETH at 3000 and 0.5 WETH at 3010: 3000 + 1505 USDC, exactly.
    let (maker_weth_after, maker_usdc_after) = s.balances(s.maker).await;
    let (taker_weth_after, taker_usdc_after) = s.balances(s.taker).await;
    assert_eq!(taker_weth_after - taker_weth, raw("1.5", 18));
    assert_eq!(taker_usdc - taker_usdc_after, raw("4505", 6));
    assert_eq!(maker_weth - maker_weth_after, raw("1.5", 18));
    assert_eq!(maker_usdc_after - maker_usdc, raw("4505", 6));

    let low = s.order("ask-low").await;
    assert_eq!((low["status"].as_str(), low["filledAmount"].as_str()), (Some("FILLED"), Some("1")));
    assert_eq!(low["fills"][0]["quoteAmount"], "3000");
    assert_eq!(low["fills"][0]["txHash"], bought["txHash"]);
    let high = s.order(ask_high["orderId"].as_str().unwrap()).await;
    assert_eq!(high["status"], "PARTIALLY_FILLED", "{high}");
    assert_eq!((high["filledAmount"].as_str(), high["fillableAmount"].as_str()), (Some("0.5"), Some("0.5")));
    let (buys, sells) = s.book().await;
    assert_eq!(sells, pairs(&[("3010", "0.5")]));
    assert_eq!(buys, pairs(&[("2900", "1.5")]));

    let (status, ticker) = s.gw.get(&format!("/clob/ticker?network=devnet&market={MARKET}")).await;
    assert_eq!(status, StatusCode::OK, "{ticker}");
    let market = &ticker["markets"][MARKET];
    assert_eq!((market["bestBid"].as_str(), market["bestAsk"].as_str()), (Some("2900"), Some("3010")));
    assert_eq!((market["price"].as_str(), market["volume24h"].as_str()), (Some("3010"), Some("1.5")));

    // A LIMIT that crosses takes what it crosses and rests the rest.
    let crossed =
        s.placed(s.taker, json!({"side": "BUY", "orderType": "LIMIT", "price": "3010", "amount": "0.7"})).await;
    assert_eq!(crossed["filledAmount"], "0.5");
    let rest = s.order(crossed["orderId"].as_str().unwrap()).await;
    assert_eq!((rest["status"].as_str(), rest["amount"].as_str()), (Some("OPEN"), Some("0.2")));
    let (buys, sells) = s.book().await;
    assert_eq!((buys, sells), (pairs(&[("3010", "0.2"), ("2900", "1.5")]), vec![]));

    // Orders come a page at a time, each with its fills.
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let (status, page) = s.gw.get(&format!("/clob/orders?network=devnet&limit=2&cursor={cursor}")).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let orders = page["orders"].as_array().unwrap();
        assert!(orders.len() <= 2, "{page}");
        seen.extend(
            orders.iter().map(|o| (o["orderId"].as_str().unwrap().to_string(), o["fills"].as_array().unwrap().len())),
        );
        match page["nextCursor"].as_str() {
            Some(next) => cursor = next.to_string(),
            None => break,
        }
    }
    let (_, all) = s.gw.get("/clob/orders?network=devnet").await;
    let everything: Vec<(String, usize)> = all["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["orderId"].as_str().unwrap().to_string(), o["fills"].as_array().unwrap().len()))
        .collect();
    assert_eq!(seen, everything, "the pages make up the whole list, fills included");
    assert!(everything.iter().any(|(_, fills)| *fills > 0));
    let (status, body) = s.gw.get("/clob/orders?network=devnet&limit=0").await;
    assert_error_body(status, &body, StatusCode::BAD_REQUEST, "limit");

    // A taker SELL crossing the bid with WETH it no longer holds: refused before a fill is sent.
    let unwrap_all = json!({"network": "devnet", "address": s.taker});
    let (status, body) = s.gw.post("/chains/ethereum/unwrap", unwrap_all).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = s.place(s.taker, json!({"side": "SELL", "orderType": "MARKET", "amount": "1"})).await;
    assert_error_body(status, &body, StatusCode::BAD_REQUEST, "holds 0 WETH; this needs 1 WETH");
    assert_eq!(body["code"], "INSUFFICIENT_BALANCE");

    // A LIMIT_MAKER that would cross is refused, and so is bad input, each naming the field.
    let (status, body) =
        s.place(s.maker, json!({"side": "SELL", "orderType": "LIMIT_MAKER", "price": "3000", "amount": "1"})).await;
    assert_error_body(status, &body, StatusCode::BAD_REQUEST, "cross");
    assert!(body["message"].as_str().unwrap().starts_with("price"), "{body}");
    for (order, field) in [
        (json!({"market": "FOO-BAR", "side": "SELL", "price": "1", "amount": "1"}), "market"),
        (json!({"side": "SELL", "price": "3000.001", "amount": "1"}), "price"),
        (json!({"side": "SELL", "price": "-3", "amount": "1"}), "price"),
        (json!({"side": "SELL", "price": "3000", "amount": "0"}), "amount"),
        (json!({"side": "SELL", "price": "3000", "amount": "0.0001"}), "amount"),
        (json!({"side": "SELL", "price": "3000", "amount": "lots"}), "amount"),
        (json!({"side": "HOLD", "price": "3000", "amount": "1"}), "side"),
        (json!({"side": "SELL", "orderType": "STOP", "price": "3000", "amount": "1"}), "orderType"),
        (json!({"side": "SELL", "orderType": "LIMIT", "amount": "1"}), "price"),
        // Beyond 0x's uint128 amounts, or price × amount beyond 256 bits: refused, never cut into another order.
        (json!({"side": "BUY", "price": "3000", "amount": "1000000000000000000000"}), "amount"),
        (json!({"side": "SELL", "price": "3000", "amount": "1e50"}), "amount"),
        (json!({"side": "SELL", "price": "3000", "amount": "1", "expiration": 1}), "expiration"),
        (json!({"side": "SELL", "price": "3100", "amount": "1", "clientOrderID": "ask-low"}), "clientOrderID"),
    ] {
        let (status, body) = s.place(s.maker, order.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{order}: {body}");
        assert!(body["message"].as_str().unwrap().starts_with(field), "{order} should name {field}: {body}");
    }
}

#[tokio::test]
async fn cancels_batches_expiry_and_a_revoked_allowance_each_leave_the_book_right() {
    let s = setup().await;
    let bid = s.placed(s.maker, json!({"side": "BUY", "price": "2800", "amount": "1", "clientOrderID": "bid-1"})).await;
    let response =
        s.gw.client()
            .delete(s.gw.url("/clob/orders"))
            .json(&json!({"network": "devnet", "address": s.maker, "market": MARKET, "orderId": "bid-1"}))
            .send()
            .await
            .unwrap();
    let (status, cancelled) = into_json(response).await;
    assert_eq!(status, StatusCode::OK, "{cancelled}");
    assert!(cancelled["txHash"].as_str().unwrap().starts_with("0x"), "{cancelled}");
    assert_eq!(s.order(bid["orderId"].as_str().unwrap()).await["status"], "CANCELLED");
    assert_eq!(s.book().await, (vec![], vec![]));

    let batch = json!({"network": "devnet", "address": s.maker, "createOrderParams": [
        {"market": MARKET, "side": "SELL", "price": "3200", "amount": "0.25", "orderType": "LIMIT_MAKER"},
        {"market": MARKET, "side": "SELL", "price": "3300", "amount": "0.5", "orderType": "LIMIT_MAKER", "clientOrderID": "b2"}]});
    let (status, created) = s.gw.post("/clob/batchOrders", batch).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    assert_eq!(created["clientOrderIDs"][1], "b2");
    assert_eq!(s.book().await.1, pairs(&[("3200", "0.25"), ("3300", "0.5")]));
    let ids: Vec<String> =
        created["orderIds"].as_array().unwrap().iter().map(|id| id.as_str().unwrap().to_string()).collect();
    let cancel = json!({"network": "devnet", "address": s.maker,
        "cancelOrderParams": [{"market": MARKET, "orderId": ids[0]}, {"market": MARKET, "orderId": ids[1]}]});
    let (status, cancelled) = s.gw.post("/clob/batchOrders", cancel).await;
    assert_eq!(status, StatusCode::OK, "{cancelled}");
    assert!(cancelled["txHash"].as_str().unwrap().starts_with("0x"));
    for id in &ids {
        assert_eq!(s.order(id).await["status"], "CANCELLED");
    }
    assert_eq!(s.book().await, (vec![], vec![]));
    let (status, body) =
        s.gw.post(
            "/clob/batchOrders",
            json!({"network": "devnet", "address": s.maker,
        "cancelOrderParams": [{"market": MARKET, "orderId": ids[0]}]}),
        )
        .await;
    assert_error_body(status, &body, StatusCode::BAD_REQUEST, "CANCELLED");

    // An order past its expiry leaves the book.
    let now = s.chain.provider.get_block_by_number(Default::default()).await.unwrap().unwrap().header.timestamp;
    let short =
        s.placed(s.maker, json!({"side": "SELL", "price": "3400", "amount": "1", "expiration": now + 30})).await;
    assert_eq!(s.book().await.1, pairs(&[("3400", "1")]));
    s.chain.provider.anvil_increase_time(60).await.unwrap();
    s.chain.provider.anvil_mine(Some(1), None).await.unwrap();
    s.asks_become(vec![]).await;
    assert_eq!(s.order(short["orderId"].as_str().unwrap()).await["status"], "EXPIRED");

    // A maker who revokes the allowance no longer backs the order: it leaves the book until re-approved.
    let backed = s.placed(s.maker, json!({"side": "SELL", "price": "3500", "amount": "2"})).await;
    let weth = s.devnet.deployment().token("WETH").address;
    let revoke = IERC20::approveCall { spender: EXCHANGE_PROXY, amount: U256::ZERO };
    s.chain.send(s.maker, weth, revoke, U256::ZERO).await.unwrap();
    s.asks_become(vec![]).await;
    let order = s.order(backed["orderId"].as_str().unwrap()).await;
    assert_eq!((order["status"].as_str(), order["fillableAmount"].as_str()), (Some("OPEN"), Some("0")));
    let (status, body) = s.place(s.taker, json!({"side": "BUY", "orderType": "MARKET", "amount": "1"})).await;
    assert_error_body(status, &body, StatusCode::BAD_REQUEST, "nothing on the");
    s.chain
        .send(s.maker, weth, IERC20::approveCall { spender: EXCHANGE_PROXY, amount: U256::MAX }, U256::ZERO)
        .await
        .unwrap();
    s.asks_become(pairs(&[("3500", "2")])).await;
}

#[tokio::test]
async fn markets_and_gas_are_described_and_zeroex_clob_is_a_spender() {
    let s = setup().await;
    let (status, body) = s.gw.get("/clob/markets?chain=ethereum&network=devnet&connector=zeroex").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let market = &body["markets"][MARKET];
    assert_eq!((market["tickSize"].as_str(), market["minimumAmount"].as_str()), (Some("0.01"), Some("0.001")));
    assert_eq!(market["baseTokenAddress"], s.devnet.deployment().token("WETH").address.to_checksum(None));
    let (status, body) = s.gw.get("/clob/estimateGas?network=devnet").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["gasLimit"], 150000);
    let allowance = IERC20::new(s.devnet.deployment().token("USDC").address, &s.chain.provider)
        .allowance(s.taker, EXCHANGE_PROXY)
        .call()
        .await
        .unwrap();
    assert_eq!(allowance, U256::MAX);
    let (status, body) = s.gw.get("/clob/markets?network=devnet&connector=uniswap").await;
    assert_error_body(status, &body, StatusCode::BAD_REQUEST, "order-book connector");
}

#[tokio::test]
async fn a_makers_orders_never_show_more_than_backs_them() {
    let s = setup().await;
    // The maker lets the venue take 1.5 WETH, then asks two prices for 1 WETH each: each order alone is backed.
    let weth = s.devnet.deployment().token("WETH").address;
    let allow = IERC20::approveCall { spender: EXCHANGE_PROXY, amount: raw("1.5", 18) };
    s.chain.send(s.maker, weth, allow, U256::ZERO).await.unwrap();
    s.placed(s.maker, json!({"side": "SELL", "price": "3000", "amount": "1"})).await;
    s.placed(s.maker, json!({"side": "SELL", "price": "3010", "amount": "1"})).await;
    // Together they are backed for 1.5: the book says so, and a taker asking for more gets what is there.
    s.asks_become(pairs(&[("3000", "1"), ("3010", "0.5")])).await;
    let (taker_weth, _) = s.balances(s.taker).await;
    let bought = s.placed(s.taker, json!({"side": "BUY", "orderType": "MARKET", "amount": "2"})).await;
    assert_eq!(bought["filledAmount"], "1.5", "{bought}");
    assert_eq!(s.balances(s.taker).await.0 - taker_weth, raw("1.5", 18));
    s.asks_become(vec![]).await;
}

#[tokio::test]
async fn a_fill_undone_by_a_reorg_leaves_the_order_and_its_fills() {
    let s = setup().await;
    let ask =
        s.placed(s.maker, json!({"side": "SELL", "price": "3000", "amount": "1", "clientOrderID": "reorged"})).await;
    let snapshot = s.chain.provider.anvil_snapshot().await.unwrap();
    s.placed(s.taker, json!({"side": "BUY", "orderType": "MARKET", "amount": "1"})).await;
    let filled = s.order("reorged").await;
    assert_eq!((filled["status"].as_str(), filled["fills"].as_array().map(Vec::len)), (Some("FILLED"), Some(1)));
    // The chain drops the fill's block and grows past it without it.
    assert!(s.chain.provider.anvil_revert(snapshot).await.unwrap());
    s.chain.provider.anvil_mine(Some(3), None).await.unwrap();
    s.asks_become(pairs(&[("3000", "1")])).await;
    let order = s.order(ask["orderId"].as_str().unwrap()).await;
    assert_eq!(order["status"], "OPEN", "{order}");
    assert_eq!(order["fills"], json!([]), "the orphaned fill is gone: {order}");
}
