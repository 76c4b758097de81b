//! `/clob/*`: order-book trading in the shape of Hummingbot Gateway v1's CLOB API. Prices and amounts are
//! decimal strings, as that API had them.

use std::collections::BTreeMap;

use alloy::primitives::U256;
use axum::extract::State;
use chains::amount::NATIVE_DECIMALS;
use chains::amount::{Amount, format_units};
use chains::fee_market::current_fees;
use connectors::Side;
use connectors::clob::{ClobVenue, Market, levels};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::extract::{Json, Query};
use crate::clob::{Clob, NewOrder};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::request::{AmountText, page, parse_address, parse_order_type, parse_side, wallet_address};
use crate::state::AppState;
use crate::storage::{StoredOrder, now_ms};
use crate::with_clob;

const TAG: &str = "clob";
const DAY_MS: i64 = 86_400_000;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(markets))
        .routes(routes!(order_book))
        .routes(routes!(ticker))
        .routes(routes!(get_orders, post_order, delete_order))
        .routes(routes!(batch_orders))
        .routes(routes!(clob_estimate_gas))
}

#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ClobQuery {
    #[param(example = "ethereum")]
    chain: Option<String>,
    #[param(example = "devnet")]
    network: Option<String>,
    chain_network: Option<String>,
    /// The order-book connector; `zeroex` when omitted.
    #[param(example = "zeroex")]
    connector: Option<String>,
    #[param(example = "WETH-USDC")]
    market: Option<String>,
    /// Only this maker's orders (`/clob/orders`).
    address: Option<String>,
    /// One order, by its id (the 0x order hash) or its client order id (`/clob/orders`).
    order_id: Option<String>,
    /// Orders per answer (`/clob/orders`), 1 to 1000; 100 when omitted.
    limit: Option<usize>,
    /// Where the previous answer's list ended: its `nextCursor` (`/clob/orders`).
    cursor: Option<String>,
}

/// What every answer starts with: the network, when, and how long it took.
#[derive(Serialize, ToSchema)]
pub struct Envelope {
    #[schema(example = "devnet")]
    network: String,
    /// Unix milliseconds when the answer was made.
    timestamp: i64,
    /// Milliseconds the gateway took.
    latency: i64,
}

fn envelope<V: ClobVenue>(clob: &Clob<V>, started: i64) -> Envelope {
    let now = now_ms();
    Envelope { network: clob.network_name.clone(), timestamp: now, latency: now - started }
}

fn decimal(raw: U256, decimals: u8) -> String {
    Amount::new(raw, decimals).to_decimal_string()
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MarketInfo {
    #[schema(example = "WETH-USDC")]
    market: String,
    #[schema(example = "WETH")]
    base_token: String,
    #[schema(example = "USDC")]
    quote_token: String,
    base_token_address: String,
    quote_token_address: String,
    #[schema(example = "0.01")]
    tick_size: String,
    #[schema(example = "0.001")]
    minimum_amount: String,
    maker_fee: String,
    taker_fee: String,
}

#[derive(Serialize, ToSchema)]
pub struct MarketsResponse {
    #[serde(flatten)]
    envelope: Envelope,
    /// By market name.
    markets: BTreeMap<String, MarketInfo>,
}

fn chosen<'a, V: ClobVenue>(clob: &'a Clob<V>, market: Option<&str>) -> ApiResult<Vec<&'a Market>> {
    match market.map(str::trim).filter(|m| !m.is_empty()) {
        Some(name) => Ok(vec![clob.market(name)?]),
        None => Ok(clob.markets.iter().collect()),
    }
}

/// The markets an order-book connector trades on a network (all, or the one named).
#[utoipa::path(get, path = "/clob/markets", tag = TAG, params(ClobQuery), responses(
    (status = 200, body = MarketsResponse), (status = 400, body = ErrorBody),
))]
async fn markets(
    State(state): State<AppState>,
    Query(query): Query<ClobQuery>,
) -> ApiResult<axum::Json<MarketsResponse>> {
    let started = now_ms();
    with_clob!(&state, query, |clob| {
        let markets = chosen(&clob, query.market.as_deref())?
            .into_iter()
            .map(|m| {
                let info = MarketInfo {
                    market: m.name.clone(),
                    base_token: m.base.symbol.clone(),
                    quote_token: m.quote.symbol.clone(),
                    base_token_address: m.base.address.to_checksum(None),
                    quote_token_address: m.quote.address.to_checksum(None),
                    tick_size: decimal(m.tick, m.quote.decimals),
                    minimum_amount: decimal(m.minimum, m.base.decimals),
                    maker_fee: "0".into(),
                    taker_fee: "0".into(),
                };
                (m.name.clone(), info)
            })
            .collect();
        Ok(axum::Json(MarketsResponse { envelope: envelope(&clob, started), markets }))
    })
}

#[derive(Serialize, ToSchema)]
pub struct PriceLevel {
    #[schema(example = "3000.5")]
    price: String,
    #[schema(example = "1.25")]
    quantity: String,
    timestamp: i64,
}

#[derive(Serialize, ToSchema)]
pub struct OrderBookSides {
    /// Bids, best (highest) first.
    buys: Vec<PriceLevel>,
    /// Asks, best (lowest) first.
    sells: Vec<PriceLevel>,
}

#[derive(Serialize, ToSchema)]
pub struct OrderBookResponse {
    #[serde(flatten)]
    envelope: Envelope,
    orderbook: OrderBookSides,
}

fn required_market<'a, V: ClobVenue>(clob: &'a Clob<V>, market: Option<&str>) -> ApiResult<&'a Market> {
    match market.map(str::trim).filter(|m| !m.is_empty()) {
        Some(name) => clob.market(name),
        None => Err(ApiError::bad_request("market", "is required, e.g. WETH-USDC (GET /clob/markets lists them)")),
    }
}

/// The book of a market: open orders with something fillable now, summed per price.
#[utoipa::path(get, path = "/clob/orderBook", tag = TAG, params(ClobQuery), responses(
    (status = 200, body = OrderBookResponse), (status = 400, body = ErrorBody), (status = 503, body = ErrorBody),
))]
async fn order_book(
    State(state): State<AppState>,
    Query(query): Query<ClobQuery>,
) -> ApiResult<axum::Json<OrderBookResponse>> {
    let started = now_ms();
    with_clob!(&state, query, |clob| {
        let market = required_market(&clob, query.market.as_deref())?;
        let book: Vec<_> = clob.book(&state, market).await?.into_iter().map(|(_, resting)| resting).collect();
        let now = now_ms();
        let side = |side: Side| {
            levels(&book, side)
                .into_iter()
                .map(|level| PriceLevel {
                    price: decimal(level.price, market.quote.decimals),
                    quantity: decimal(level.quantity, market.base.decimals),
                    timestamp: now,
                })
                .collect()
        };
        Ok(axum::Json(OrderBookResponse {
            envelope: envelope(&clob, started),
            orderbook: OrderBookSides { buys: side(Side::Buy), sells: side(Side::Sell) },
        }))
    })
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Ticker {
    market: String,
    /// Highest bid, if any.
    best_bid: Option<String>,
    /// Lowest ask, if any.
    best_ask: Option<String>,
    /// Price of the last fill, if any.
    price: Option<String>,
    /// Base traded over the last 24 hours.
    volume24h: String,
    timestamp: i64,
}

#[derive(Serialize, ToSchema)]
pub struct TickerResponse {
    #[serde(flatten)]
    envelope: Envelope,
    /// By market name.
    markets: BTreeMap<String, Ticker>,
}

/// Best bid and ask, last traded price and 24 h volume, per market.
#[utoipa::path(get, path = "/clob/ticker", tag = TAG, params(ClobQuery), responses(
    (status = 200, body = TickerResponse), (status = 400, body = ErrorBody), (status = 503, body = ErrorBody),
))]
async fn ticker(
    State(state): State<AppState>,
    Query(query): Query<ClobQuery>,
) -> ApiResult<axum::Json<TickerResponse>> {
    let started = now_ms();
    with_clob!(&state, query, |clob| {
        let mut tickers = BTreeMap::new();
        for market in chosen(&clob, query.market.as_deref())? {
            let book: Vec<_> = clob.book(&state, market).await?.into_iter().map(|(_, resting)| resting).collect();
            let best = |side| levels(&book, side).first().map(|level| decimal(level.price, market.quote.decimals));
            let now = now_ms();
            let fills =
                state.storage().clob_fills(&clob.connector, &clob.network_name, &market.name, now - DAY_MS).await?;
            let last = state.storage().clob_last_fill(&clob.connector, &clob.network_name, &market.name).await?;
            let one_base = market.one_base().unwrap_or(U256::MAX);
            tickers.insert(
                market.name.clone(),
                Ticker {
                    market: market.name.clone(),
                    best_bid: best(Side::Buy),
                    best_ask: best(Side::Sell),
                    price: last.map(|fill| {
                        decimal(fill.quote * one_base / fill.base.max(U256::from(1)), market.quote.decimals)
                    }),
                    volume24h: decimal(
                        fills.iter().map(|f| f.base).fold(U256::ZERO, |a, b| a + b),
                        market.base.decimals,
                    ),
                    timestamp: now,
                },
            );
        }
        Ok(axum::Json(TickerResponse { envelope: envelope(&clob, started), markets: tickers }))
    })
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderFill {
    tx_hash: String,
    price: String,
    /// Base filled.
    amount: String,
    /// Quote paid.
    quote_amount: String,
    taker: String,
    timestamp: i64,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderView {
    /// The venue's id (for 0x, the order hash).
    order_id: String,
    #[serde(rename = "clientOrderID")]
    client_order_id: String,
    market: String,
    side: String,
    order_type: String,
    price: String,
    /// Base the order was placed for.
    amount: String,
    filled_amount: String,
    /// Base a taker could fill now (0 when the maker's balance or allowance does not back it).
    fillable_amount: String,
    /// OPEN, PARTIALLY_FILLED, FILLED, CANCELLED, EXPIRED or INVALID.
    status: String,
    address: String,
    /// Unix seconds.
    expiration: i64,
    created_at: i64,
    fills: Vec<OrderFill>,
    /// The signed order as the venue takes it (for 0x v4: the LimitOrder fields and the signature).
    #[schema(value_type = Object)]
    venue_order: serde_json::Value,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrdersResponse {
    #[serde(flatten)]
    envelope: Envelope,
    orders: Vec<OrderView>,
    /// Pass as `cursor` for the next orders; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
}

/// Orders per `/clob/orders` answer when the request names no limit, and at most.
const ORDERS_PAGE: usize = 100;
const ORDERS_PAGE_MAX: usize = 1000;

fn view<V: ClobVenue>(
    clob: &Clob<V>,
    order: StoredOrder,
    fills: Vec<crate::storage::StoredFill>,
) -> ApiResult<OrderView> {
    let market = clob.market(&order.market)?;
    let one_base = market.one_base().unwrap_or(U256::MAX);
    let status = match order.status.as_str() {
        "OPEN" if !order.filled.is_zero() => "PARTIALLY_FILLED".to_string(),
        other => other.to_string(),
    };
    let mut venue_order: serde_json::Value = serde_json::from_str(&order.venue_order).map_err(ApiError::internal)?;
    venue_order["signature"] = serde_json::Value::String(order.signature.clone());
    Ok(OrderView {
        order_id: order.id.to_string(),
        client_order_id: order.client_order_id,
        market: order.market,
        side: order.side.as_str().into(),
        order_type: order.order_type,
        price: decimal(order.price, market.quote.decimals),
        amount: decimal(order.amount, market.base.decimals),
        filled_amount: decimal(order.filled, market.base.decimals),
        fillable_amount: decimal(order.fillable, market.base.decimals),
        status,
        address: order.maker.to_checksum(None),
        expiration: order.expiry,
        created_at: order.created_at,
        fills: fills
            .into_iter()
            .map(|fill| OrderFill {
                tx_hash: fill.tx_hash.to_string(),
                price: decimal(fill.quote * one_base / fill.base.max(U256::from(1)), market.quote.decimals),
                amount: decimal(fill.base, market.base.decimals),
                quote_amount: decimal(fill.quote, market.quote.decimals),
                taker: fill.taker.to_checksum(None),
                timestamp: fill.filled_at,
            })
            .collect(),
        venue_order,
    })
}

/// Orders placed through this gateway: by market, maker, or one by id or client order id.
#[utoipa::path(get, path = "/clob/orders", tag = TAG, params(ClobQuery), responses(
    (status = 200, body = OrdersResponse), (status = 400, body = ErrorBody), (status = 404, description = "No such order, or a wallet this gateway does not hold", body = ErrorBody),
    (status = 503, body = ErrorBody),
))]
async fn get_orders(
    State(state): State<AppState>,
    Query(query): Query<ClobQuery>,
) -> ApiResult<axum::Json<OrdersResponse>> {
    let started = now_ms();
    with_clob!(&state, query, |clob| {
        let market = query.market.as_deref().filter(|m| !m.trim().is_empty()).map(|m| clob.market(m)).transpose()?;
        let maker = query
            .address
            .as_deref()
            .filter(|a| !a.trim().is_empty())
            .map(|a| parse_address("address", a))
            .transpose()?;
        let mut stored = clob.orders(&state, market, maker).await?;
        if let Some(id) = query.order_id.as_deref().map(str::trim).filter(|id| !id.is_empty()) {
            stored.retain(|o| o.id.to_string().eq_ignore_ascii_case(id) || o.client_order_id == id);
            if stored.is_empty() {
                return Err(ApiError::not_found(format!("no order {} on {}", chains::quoted(id), clob.network_name)));
            }
        }
        let (skip, limit) = page(query.limit, query.cursor.as_deref(), ORDERS_PAGE, ORDERS_PAGE_MAX)?;
        let next_cursor = (stored.len() > skip.saturating_add(limit)).then(|| (skip + limit).to_string());
        let page: Vec<StoredOrder> = stored.into_iter().skip(skip).take(limit).collect();
        let ids: Vec<_> = page.iter().map(|order| order.id).collect();
        let mut fills = state.storage().clob_fills_of(&ids).await?;
        let mut orders = Vec::with_capacity(page.len());
        for order in page {
            let (own, rest): (Vec<_>, Vec<_>) = fills.into_iter().partition(|fill| fill.order_id == order.id);
            fills = rest;
            orders.push(view(&clob, order, own)?);
        }
        Ok(axum::Json(OrdersResponse { envelope: envelope(&clob, started), orders, next_cursor }))
    })
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderParams {
    #[schema(example = "WETH-USDC")]
    market: String,
    /// Quote per base, exactly (no more decimals than the quote token has); for MARKET the worst price accepted
    /// (any when omitted).
    #[schema(value_type = Option<String>, example = "2900")]
    price: Option<AmountText>,
    /// Base amount; digits past the base token's decimals are dropped.
    #[schema(value_type = String, example = "0.5")]
    amount: AmountText,
    /// BUY or SELL.
    #[schema(example = "BUY")]
    side: String,
    /// LIMIT (default), LIMIT_MAKER (rests only; refused if it would cross) or MARKET.
    #[schema(example = "LIMIT")]
    order_type: Option<String>,
    #[serde(rename = "clientOrderID", alias = "clientOrderId")]
    client_order_id: Option<String>,
    /// Unix seconds the order stays valid until; the connector's orderExpirySeconds from now when omitted.
    expiration: Option<u64>,
}

impl OrderParams {
    fn parse<V: ClobVenue>(&self, clob: &Clob<V>) -> ApiResult<NewOrder> {
        let market = clob.market(&self.market)?;
        let side = parse_side(&self.side)?;
        let order_type = parse_order_type(self.order_type.as_deref())?;
        let amount = self.amount.parse("amount", market.base.decimals)?;
        if amount.raw.is_zero() {
            return Err(ApiError::bad_request("amount", "must be greater than zero"));
        }
        let price = match self.price.as_ref().filter(|p| !p.is_empty()) {
            Some(text) => {
                let price = text.parse_exact("price", market.quote.decimals)?;
                Some(market.price(&price).map_err(ApiError::from)?)
            }
            None => None,
        };
        Ok(NewOrder {
            market: market.name.clone(),
            side,
            order_type,
            amount: amount.raw,
            price,
            client_order_id: self.client_order_id.clone().filter(|id| !id.trim().is_empty()),
            expiration: self.expiration,
        })
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"network": "devnet", "connector": "zeroex", "address": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    "market": "WETH-USDC", "side": "SELL", "orderType": "LIMIT", "price": "3100", "amount": "0.5", "clientOrderID": "my-ask-1"}))]
pub struct PlaceOrderRequest {
    #[serde(flatten)]
    target: OrderTarget,
    #[serde(flatten)]
    order: OrderParams,
}

/// Where a write goes: the network, the order-book connector, and the maker.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Venue)]
pub struct OrderTarget {
    chain: Option<String>,
    network: Option<String>,
    chain_network: Option<String>,
    /// `zeroex` when omitted.
    connector: Option<String>,
    /// The maker (the configured default wallet when omitted).
    address: Option<String>,
}

impl OrderTarget {
    fn maker<V: ClobVenue>(&self, clob: &Clob<V>) -> ApiResult<alloy::primitives::Address> {
        wallet_address(&clob.config, "address", self.address.as_deref())
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlaceOrderResponse {
    #[serde(flatten)]
    envelope: Envelope,
    /// The fill transaction when the order crossed the book; null when it only rests.
    tx_hash: Option<String>,
    #[serde(rename = "clientOrderID")]
    client_order_id: String,
    /// The resting order's id; null when nothing rests (filled at once, or MARKET).
    order_id: Option<String>,
    /// Base filled at once (by a mined fill).
    filled_amount: String,
    /// Set when something needs the client's attention: a fill still pending, or a rest that was not placed.
    message: Option<String>,
}

/// Places an order: LIMIT fills what it crosses and rests the rest; LIMIT_MAKER only rests; MARKET only takes.
#[utoipa::path(post, path = "/clob/orders", tag = TAG, request_body = PlaceOrderRequest, responses(
    (status = 200, body = PlaceOrderResponse), (status = 400, body = ErrorBody), (status = 404, description = "No such order, or a wallet this gateway does not hold", body = ErrorBody),
    (status = 503, body = ErrorBody),
))]
async fn post_order(
    State(state): State<AppState>,
    Json(request): Json<PlaceOrderRequest>,
) -> ApiResult<axum::Json<PlaceOrderResponse>> {
    let started = now_ms();
    with_clob!(&state, request.target, |clob| {
        let maker = request.target.maker(&clob)?;
        let order = request.order.parse(&clob)?;
        let base_decimals = clob.market(&order.market)?.base.decimals;
        let placed = clob.place(&state, maker, order).await?;
        Ok(axum::Json(PlaceOrderResponse {
            envelope: envelope(&clob, started),
            tx_hash: placed.fill_tx.map(|h| h.to_string()),
            client_order_id: placed.client_order_id,
            order_id: placed.resting.map(|id| id.to_string()),
            filled_amount: decimal(placed.filled, base_decimals),
            message: placed.note,
        }))
    })
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"network": "devnet", "connector": "zeroex", "address": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    "market": "WETH-USDC", "orderId": "my-ask-1"}))]
pub struct CancelOrderRequest {
    #[serde(flatten)]
    target: OrderTarget,
    #[schema(example = "WETH-USDC")]
    market: String,
    /// The order's id or client order id.
    order_id: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = TxResponse)]
pub struct CancelResponse {
    #[serde(flatten)]
    envelope: Envelope,
    tx_hash: String,
}

/// Cancels an open order on-chain (the maker's transaction).
#[utoipa::path(delete, path = "/clob/orders", tag = TAG, request_body = CancelOrderRequest, responses(
    (status = 200, body = CancelResponse), (status = 400, body = ErrorBody), (status = 404, description = "No such order, or a wallet this gateway does not hold", body = ErrorBody),
    (status = 503, body = ErrorBody),
))]
async fn delete_order(
    State(state): State<AppState>,
    Json(request): Json<CancelOrderRequest>,
) -> ApiResult<axum::Json<CancelResponse>> {
    let started = now_ms();
    with_clob!(&state, request.target, |clob| {
        let maker = request.target.maker(&clob)?;
        clob.market(&request.market)?;
        let hash = clob.cancel(&state, maker, std::slice::from_ref(&request.order_id)).await?;
        Ok(axum::Json(CancelResponse { envelope: envelope(&clob, started), tx_hash: hash.to_string() }))
    })
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CancelParams {
    #[schema(example = "WETH-USDC")]
    market: String,
    order_id: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"network": "devnet", "connector": "zeroex", "address": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    "createOrderParams": [{"market": "WETH-USDC", "side": "BUY", "price": "2900", "amount": "0.2", "orderType": "LIMIT_MAKER"}],
    "cancelOrderParams": []}))]
pub struct BatchOrdersRequest {
    #[serde(flatten)]
    target: OrderTarget,
    #[serde(default)]
    create_order_params: Vec<OrderParams>,
    #[serde(default)]
    cancel_order_params: Vec<CancelParams>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BatchOrdersResponse {
    #[serde(flatten)]
    envelope: Envelope,
    /// The one transaction cancelling every order named (null when none was).
    tx_hash: Option<String>,
    /// Ids of the orders created, in request order (null where nothing rests).
    order_ids: Vec<Option<String>>,
    #[serde(rename = "clientOrderIDs")]
    client_order_ids: Vec<String>,
    /// Fill transactions of created orders that crossed the book.
    fill_tx_hashes: Vec<String>,
    /// Per created order, in request order: why it was refused, or what needs attention (null when all went
    /// as asked). One refusal does not undo the others or the cancel.
    messages: Vec<Option<String>>,
}

/// Places several orders and cancels several (in one transaction) for one maker.
#[utoipa::path(post, path = "/clob/batchOrders", tag = TAG, request_body = BatchOrdersRequest, responses(
    (status = 200, body = BatchOrdersResponse), (status = 400, body = ErrorBody), (status = 503, body = ErrorBody),
))]
async fn batch_orders(
    State(state): State<AppState>,
    Json(request): Json<BatchOrdersRequest>,
) -> ApiResult<axum::Json<BatchOrdersResponse>> {
    let started = now_ms();
    with_clob!(&state, request.target, |clob| {
        let maker = request.target.maker(&clob)?;
        if request.create_order_params.is_empty() && request.cancel_order_params.is_empty() {
            return Err(ApiError::bad_request(
                "createOrderParams",
                "nothing to do: give createOrderParams or cancelOrderParams",
            ));
        }
        let orders = request.create_order_params.iter().map(|p| p.parse(&clob)).collect::<ApiResult<Vec<_>>>()?;
        for cancel in &request.cancel_order_params {
            clob.market(&cancel.market)?;
        }
        let tx_hash = match request.cancel_order_params.is_empty() {
            true => None,
            false => {
                let ids: Vec<String> = request.cancel_order_params.iter().map(|c| c.order_id.clone()).collect();
                Some(clob.cancel(&state, maker, &ids).await?.to_string())
            }
        };
        let (mut order_ids, mut client_order_ids, mut fill_tx_hashes, mut messages) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for order in orders {
            let client_order_id = order.client_order_id.clone().unwrap_or_default();
            match clob.place(&state, maker, order).await {
                Ok(placed) => {
                    order_ids.push(placed.resting.map(|id| id.to_string()));
                    client_order_ids.push(placed.client_order_id);
                    fill_tx_hashes.extend(placed.fill_tx.map(|h| h.to_string()));
                    messages.push(placed.note);
                }
                Err(error) => {
                    order_ids.push(None);
                    client_order_ids.push(client_order_id);
                    messages.push(Some(error.message().to_string()));
                }
            }
        }
        Ok(axum::Json(BatchOrdersResponse {
            envelope: envelope(&clob, started),
            tx_hash,
            order_ids,
            client_order_ids,
            fill_tx_hashes,
            messages,
        }))
    })
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClobGasResponse {
    #[serde(flatten)]
    envelope: Envelope,
    /// Gwei per gas.
    gas_price: String,
    #[schema(example = "ETH")]
    gas_price_token: String,
    gas_limit: u64,
    /// gasPrice × gasLimit, in the native token.
    gas_cost: String,
}

/// What filling one order costs now: the gas price and the connector's fillGasLimit.
#[utoipa::path(get, path = "/clob/estimateGas", tag = TAG, params(ClobQuery), responses(
    (status = 200, body = ClobGasResponse), (status = 400, body = ErrorBody), (status = 503, body = ErrorBody),
))]
async fn clob_estimate_gas(
    State(state): State<AppState>,
    Query(query): Query<ClobQuery>,
) -> ApiResult<axum::Json<ClobGasResponse>> {
    let started = now_ms();
    with_clob!(&state, query, |clob| {
        let (_, price) = current_fees(&clob.network).await?;
        let limit = clob.settings.fill_gas_limit;
        Ok(axum::Json(ClobGasResponse {
            envelope: envelope(&clob, started),
            gas_price: format_units(U256::from(price), 9),
            gas_price_token: clob.network.settings().native_symbol.clone(),
            gas_limit: limit,
            gas_cost: format_units(U256::from(price) * U256::from(limit), NATIVE_DECIMALS),
        }))
    })
}
