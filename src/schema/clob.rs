//! The bodies of `/clob/*`, in the shape of Hummingbot Gateway v1's CLOB API: prices and amounts are decimal
//! strings, as that API had them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::request::AmountText;

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ClobQuery {
    #[param(example = "ethereum")]
    pub chain: Option<String>,
    #[param(example = "devnet")]
    pub network: Option<String>,
    pub chain_network: Option<String>,
    /// The order-book connector; `zeroex` when omitted.
    #[param(example = "zeroex")]
    pub connector: Option<String>,
    #[param(example = "WETH-USDC")]
    pub market: Option<String>,
    /// Only this maker's orders (`/clob/orders`).
    pub address: Option<String>,
    /// One order, by its id (the 0x order hash) or its client order id (`/clob/orders`).
    pub order_id: Option<String>,
    /// Orders per answer (`/clob/orders`), 1 to 1000; 100 when omitted.
    pub limit: Option<usize>,
    /// Where the previous answer's list ended: its `nextCursor` (`/clob/orders`).
    pub cursor: Option<String>,
}

/// What every answer starts with: the network, when, and how long it took.
#[derive(Serialize, ToSchema)]
pub struct Envelope {
    #[schema(example = "devnet")]
    pub network: String,
    /// Unix milliseconds when the answer was made.
    pub timestamp: i64,
    /// Milliseconds the gateway took.
    pub latency: i64,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MarketInfo {
    #[schema(example = "WETH-USDC")]
    pub market: String,
    #[schema(example = "WETH")]
    pub base_token: String,
    #[schema(example = "USDC")]
    pub quote_token: String,
    pub base_token_address: String,
    pub quote_token_address: String,
    #[schema(example = "0.01")]
    pub tick_size: String,
    #[schema(example = "0.001")]
    pub minimum_amount: String,
    pub maker_fee: String,
    pub taker_fee: String,
}

#[derive(Serialize, ToSchema)]
pub struct MarketsResponse {
    #[serde(flatten)]
    pub envelope: Envelope,
    /// By market name.
    pub markets: BTreeMap<String, MarketInfo>,
}

#[derive(Serialize, ToSchema)]
pub struct PriceLevel {
    #[schema(example = "3000.5")]
    pub price: String,
    #[schema(example = "1.25")]
    pub quantity: String,
    pub timestamp: i64,
}

#[derive(Serialize, ToSchema)]
pub struct OrderBookSides {
    /// Bids, best (highest) first.
    pub buys: Vec<PriceLevel>,
    /// Asks, best (lowest) first.
    pub sells: Vec<PriceLevel>,
}

#[derive(Serialize, ToSchema)]
pub struct OrderBookResponse {
    #[serde(flatten)]
    pub envelope: Envelope,
    pub orderbook: OrderBookSides,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Ticker {
    pub market: String,
    /// Highest bid, if any.
    pub best_bid: Option<String>,
    /// Lowest ask, if any.
    pub best_ask: Option<String>,
    /// Price of the last fill, if any.
    pub price: Option<String>,
    /// Base traded over the last 24 hours.
    pub volume24h: String,
    pub timestamp: i64,
}

#[derive(Serialize, ToSchema)]
pub struct TickerResponse {
    #[serde(flatten)]
    pub envelope: Envelope,
    /// By market name.
    pub markets: BTreeMap<String, Ticker>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderFill {
    pub tx_hash: String,
    pub price: String,
    /// Base filled.
    pub amount: String,
    /// Quote paid.
    pub quote_amount: String,
    pub taker: String,
    pub timestamp: i64,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderView {
    /// The venue's id (for 0x, the order hash).
    pub order_id: String,
    #[serde(rename = "clientOrderID")]
    pub client_order_id: String,
    pub market: String,
    pub side: String,
    pub order_type: String,
    pub price: String,
    /// Base the order was placed for.
    pub amount: String,
    pub filled_amount: String,
    /// Base a taker could fill now (0 when the maker's balance or allowance does not back it).
    pub fillable_amount: String,
    /// OPEN, PARTIALLY_FILLED, FILLED, CANCELLED, EXPIRED or INVALID.
    pub status: String,
    pub address: String,
    /// Unix seconds.
    pub expiration: i64,
    pub created_at: i64,
    pub fills: Vec<OrderFill>,
    /// The signed order as the venue takes it (for 0x v4: the LimitOrder fields and the signature).
    #[schema(value_type = Object)]
    pub venue_order: serde_json::Value,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrdersResponse {
    #[serde(flatten)]
    pub envelope: Envelope,
    pub orders: Vec<OrderView>,
    /// Pass as `cursor` for the next orders; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderParams {
    #[schema(example = "WETH-USDC")]
    pub market: String,
    /// Quote per base, exactly (no more decimals than the quote token has); for MARKET the worst price accepted
    /// (any when omitted).
    #[schema(value_type = Option<String>, example = "2900")]
    pub price: Option<AmountText>,
    /// Base amount; digits past the base token's decimals are dropped.
    #[schema(value_type = String, example = "0.5")]
    pub amount: AmountText,
    /// BUY or SELL.
    #[schema(example = "BUY")]
    pub side: String,
    /// LIMIT (default), LIMIT_MAKER (rests only; refused if it would cross) or MARKET.
    #[schema(example = "LIMIT")]
    pub order_type: Option<String>,
    #[serde(rename = "clientOrderID", alias = "clientOrderId")]
    pub client_order_id: Option<String>,
    /// Unix seconds the order stays valid until; the connector's orderExpirySeconds from now when omitted.
    pub expiration: Option<u64>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"network": "devnet", "connector": "zeroex", "address": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    "market": "WETH-USDC", "side": "SELL", "orderType": "LIMIT", "price": "3100", "amount": "0.5", "clientOrderID": "my-ask-1"}))]
pub struct PlaceOrderRequest {
    #[serde(flatten)]
    pub target: OrderTarget,
    #[serde(flatten)]
    pub order: OrderParams,
}

/// Where a write goes: the network, the order-book connector, and the maker.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Venue)]
pub struct OrderTarget {
    pub chain: Option<String>,
    pub network: Option<String>,
    pub chain_network: Option<String>,
    /// `zeroex` when omitted.
    pub connector: Option<String>,
    /// The maker (the configured default wallet when omitted).
    pub address: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlaceOrderResponse {
    #[serde(flatten)]
    pub envelope: Envelope,
    /// The fill transaction when the order crossed the book; null when it only rests.
    pub tx_hash: Option<String>,
    #[serde(rename = "clientOrderID")]
    pub client_order_id: String,
    /// The resting order's id; null when nothing rests (filled at once, or MARKET).
    pub order_id: Option<String>,
    /// Base filled at once (by a mined fill).
    pub filled_amount: String,
    /// Set when something needs the client's attention: a fill still pending, or a rest that was not placed.
    pub message: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"network": "devnet", "connector": "zeroex", "address": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    "market": "WETH-USDC", "orderId": "my-ask-1"}))]
pub struct CancelOrderRequest {
    #[serde(flatten)]
    pub target: OrderTarget,
    #[schema(example = "WETH-USDC")]
    pub market: String,
    /// The order's id or client order id.
    pub order_id: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = TxResponse)]
pub struct CancelResponse {
    #[serde(flatten)]
    pub envelope: Envelope,
    pub tx_hash: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "camelCase")]
pub struct CancelParams {
    #[schema(example = "WETH-USDC")]
    pub market: String,
    pub order_id: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"network": "devnet", "connector": "zeroex", "address": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    "createOrderParams": [{"market": "WETH-USDC", "side": "BUY", "price": "2900", "amount": "0.2", "orderType": "LIMIT_MAKER"}],
    "cancelOrderParams": []}))]
pub struct BatchOrdersRequest {
    #[serde(flatten)]
    pub target: OrderTarget,
    #[serde(default)]
    pub create_order_params: Vec<OrderParams>,
    #[serde(default)]
    pub cancel_order_params: Vec<CancelParams>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BatchOrdersResponse {
    #[serde(flatten)]
    pub envelope: Envelope,
    /// The one transaction cancelling every order named (null when none was).
    pub tx_hash: Option<String>,
    /// Ids of the orders created, in request order (null where nothing rests).
    pub order_ids: Vec<Option<String>>,
    #[serde(rename = "clientOrderIDs")]
    pub client_order_ids: Vec<String>,
    /// Fill transactions of created orders that crossed the book.
    pub fill_tx_hashes: Vec<String>,
    /// Per created order, in request order: why it was refused, or what needs attention (null when all went
    /// as asked). One refusal does not undo the others or the cancel.
    pub messages: Vec<Option<String>>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClobGasResponse {
    #[serde(flatten)]
    pub envelope: Envelope,
    /// Gwei per gas.
    pub gas_price: String,
    #[schema(example = "ETH")]
    pub gas_price_token: String,
    pub gas_limit: u64,
    /// gasPrice × gasLimit, in the native token.
    pub gas_cost: String,
}
