//! What each order-book request asks of a venue's book, and the answer it gets: markets, the book, a ticker,
//! orders with their fills, placing, cancelling, a batch of both, and what a fill's gas costs.

use std::collections::BTreeMap;

use alloy::primitives::U256;
use chains::amount::NATIVE_DECIMALS;
use chains::amount::{Amount, format_units};
use chains::fee_market::current_fees;
use connectors::Side;
use connectors::clob::{ClobVenue, Market, levels};

use super::{Clob, NewOrder};
use crate::error::{AppError, AppResult};
use crate::request::{page, parse_address, parse_order_type, parse_side, wallet_address};
use crate::schema::clob::*;
use crate::state::AppState;
use crate::storage::{StoredOrder, now_ms};

const DAY_MS: i64 = 86_400_000;

fn envelope<V: ClobVenue>(clob: &Clob<V>, started: i64) -> Envelope {
    let now = now_ms();
    Envelope { network: clob.network_name.clone(), timestamp: now, latency: now - started }
}

fn decimal(raw: U256, decimals: u8) -> String {
    Amount::new(raw, decimals).to_decimal_string()
}

fn chosen<'a, V: ClobVenue>(clob: &'a Clob<V>, market: Option<&str>) -> AppResult<Vec<&'a Market>> {
    match market.map(str::trim).filter(|m| !m.is_empty()) {
        Some(name) => Ok(vec![clob.market(name)?]),
        None => Ok(clob.markets.iter().collect()),
    }
}

/// The markets an order-book connector trades on a network (all, or the one named).
pub async fn markets<V: ClobVenue>(clob: &Clob<V>, query: &ClobQuery, started: i64) -> AppResult<MarketsResponse> {
    let markets = chosen(clob, query.market.as_deref())?
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
    Ok(MarketsResponse { envelope: envelope(clob, started), markets })
}

fn required_market<'a, V: ClobVenue>(clob: &'a Clob<V>, market: Option<&str>) -> AppResult<&'a Market> {
    match market.map(str::trim).filter(|m| !m.is_empty()) {
        Some(name) => clob.market(name),
        None => Err(AppError::invalid("market", "is required, e.g. WETH-USDC (GET /clob/markets lists them)")),
    }
}

/// The book of a market: open orders with something fillable now, summed per price.
pub async fn order_book<V: ClobVenue>(
    state: &AppState,
    clob: &Clob<V>,
    query: &ClobQuery,
    started: i64,
) -> AppResult<OrderBookResponse> {
    let market = required_market(clob, query.market.as_deref())?;
    let book: Vec<_> = clob.book(state, market).await?.into_iter().map(|(_, resting)| resting).collect();
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
    Ok(OrderBookResponse {
        envelope: envelope(clob, started),
        orderbook: OrderBookSides { buys: side(Side::Buy), sells: side(Side::Sell) },
    })
}

/// Best bid and ask, last traded price and 24 h volume, per market.
pub async fn ticker<V: ClobVenue>(
    state: &AppState,
    clob: &Clob<V>,
    query: &ClobQuery,
    started: i64,
) -> AppResult<TickerResponse> {
    let mut tickers = BTreeMap::new();
    for market in chosen(clob, query.market.as_deref())? {
        let book: Vec<_> = clob.book(state, market).await?.into_iter().map(|(_, resting)| resting).collect();
        let best = |side| levels(&book, side).first().map(|level| decimal(level.price, market.quote.decimals));
        let now = now_ms();
        let fills = state.storage().clob_fills(&clob.connector, &clob.network_name, &market.name, now - DAY_MS).await?;
        let last = state.storage().clob_last_fill(&clob.connector, &clob.network_name, &market.name).await?;
        let one_base = market.one_base().unwrap_or(U256::MAX);
        tickers.insert(
            market.name.clone(),
            Ticker {
                market: market.name.clone(),
                best_bid: best(Side::Buy),
                best_ask: best(Side::Sell),
                price: last
                    .map(|fill| decimal(fill.quote * one_base / fill.base.max(U256::from(1)), market.quote.decimals)),
                volume24h: decimal(fills.iter().map(|f| f.base).fold(U256::ZERO, |a, b| a + b), market.base.decimals),
                timestamp: now,
            },
        );
    }
    Ok(TickerResponse { envelope: envelope(clob, started), markets: tickers })
}

/// Orders per `/clob/orders` answer when the request names no limit, and at most.
const ORDERS_PAGE: usize = 100;

const ORDERS_PAGE_MAX: usize = 1000;

fn view<V: ClobVenue>(
    clob: &Clob<V>,
    order: StoredOrder,
    fills: Vec<crate::storage::StoredFill>,
) -> AppResult<OrderView> {
    let market = clob.market(&order.market)?;
    let one_base = market.one_base().unwrap_or(U256::MAX);
    let status = match order.status.as_str() {
        "OPEN" if !order.filled.is_zero() => "PARTIALLY_FILLED".to_string(),
        other => other.to_string(),
    };
    let mut venue_order: serde_json::Value = serde_json::from_str(&order.venue_order).map_err(AppError::internal)?;
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
pub async fn get_orders<V: ClobVenue>(
    state: &AppState,
    clob: &Clob<V>,
    query: &ClobQuery,
    started: i64,
) -> AppResult<OrdersResponse> {
    let market = query.market.as_deref().filter(|m| !m.trim().is_empty()).map(|m| clob.market(m)).transpose()?;
    let maker =
        query.address.as_deref().filter(|a| !a.trim().is_empty()).map(|a| parse_address("address", a)).transpose()?;
    let mut stored = clob.orders(state, market, maker).await?;
    if let Some(id) = query.order_id.as_deref().map(str::trim).filter(|id| !id.is_empty()) {
        stored.retain(|o| o.id.to_string().eq_ignore_ascii_case(id) || o.client_order_id == id);
        if stored.is_empty() {
            return Err(AppError::not_found(format!("no order {} on {}", chains::quoted(id), clob.network_name)));
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
        orders.push(view(clob, order, own)?);
    }
    Ok(OrdersResponse { envelope: envelope(clob, started), orders, next_cursor })
}

impl OrderParams {
    fn parse<V: ClobVenue>(&self, clob: &Clob<V>) -> AppResult<NewOrder> {
        let market = clob.market(&self.market)?;
        let side = parse_side(&self.side)?;
        let order_type = parse_order_type(self.order_type.as_deref())?;
        let amount = self.amount.parse("amount", market.base.decimals)?;
        if amount.raw.is_zero() {
            return Err(AppError::invalid("amount", "must be greater than zero"));
        }
        let price = match self.price.as_ref().filter(|p| !p.is_empty()) {
            Some(text) => {
                let price = text.parse_exact("price", market.quote.decimals)?;
                Some(market.price(&price).map_err(AppError::from)?)
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

impl OrderTarget {
    fn maker<V: ClobVenue>(&self, clob: &Clob<V>) -> AppResult<alloy::primitives::Address> {
        wallet_address(&clob.config, "address", self.address.as_deref())
    }
}

/// Places an order: LIMIT fills what it crosses and rests the rest; LIMIT_MAKER only rests; MARKET only takes.
pub async fn post_order<V: ClobVenue>(
    state: &AppState,
    clob: &Clob<V>,
    request: &PlaceOrderRequest,
    started: i64,
) -> AppResult<PlaceOrderResponse> {
    let maker = request.target.maker(clob)?;
    let order = request.order.parse(clob)?;
    let base_decimals = clob.market(&order.market)?.base.decimals;
    let placed = clob.place(state, maker, order).await?;
    Ok(PlaceOrderResponse {
        envelope: envelope(clob, started),
        tx_hash: placed.fill_tx.map(|h| h.to_string()),
        client_order_id: placed.client_order_id,
        order_id: placed.resting.map(|id| id.to_string()),
        filled_amount: decimal(placed.filled, base_decimals),
        message: placed.note,
    })
}

/// Cancels an open order on-chain (the maker's transaction).
pub async fn delete_order<V: ClobVenue>(
    state: &AppState,
    clob: &Clob<V>,
    request: &CancelOrderRequest,
    started: i64,
) -> AppResult<CancelResponse> {
    let maker = request.target.maker(clob)?;
    clob.market(&request.market)?;
    let hash = clob.cancel(state, maker, std::slice::from_ref(&request.order_id)).await?;
    Ok(CancelResponse { envelope: envelope(clob, started), tx_hash: hash.to_string() })
}

/// Places several orders and cancels several (in one transaction) for one maker.
pub async fn batch_orders<V: ClobVenue>(
    state: &AppState,
    clob: &Clob<V>,
    request: &BatchOrdersRequest,
    started: i64,
) -> AppResult<BatchOrdersResponse> {
    let maker = request.target.maker(clob)?;
    if request.create_order_params.is_empty() && request.cancel_order_params.is_empty() {
        return Err(AppError::invalid(
            "createOrderParams",
            "nothing to do: give createOrderParams or cancelOrderParams",
        ));
    }
    let orders = request.create_order_params.iter().map(|p| p.parse(clob)).collect::<AppResult<Vec<_>>>()?;
    for cancel in &request.cancel_order_params {
        clob.market(&cancel.market)?;
    }
    let tx_hash = match request.cancel_order_params.is_empty() {
        true => None,
        false => {
            let ids: Vec<String> = request.cancel_order_params.iter().map(|c| c.order_id.clone()).collect();
            Some(clob.cancel(state, maker, &ids).await?.to_string())
        }
    };
    let (mut order_ids, mut client_order_ids, mut fill_tx_hashes, mut messages) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for order in orders {
        let client_order_id = order.client_order_id.clone().unwrap_or_default();
        match clob.place(state, maker, order).await {
            Ok(placed) => {
                order_ids.push(placed.resting.map(|id| id.to_string()));
                client_order_ids.push(placed.client_order_id);
                fill_tx_hashes.extend(placed.fill_tx.map(|h| h.to_string()));
                messages.push(placed.note);
            }
            Err(error) => {
                order_ids.push(None);
                client_order_ids.push(client_order_id);
                messages.push(Some(error.public_message()));
            }
        }
    }
    Ok(BatchOrdersResponse {
        envelope: envelope(clob, started),
        tx_hash,
        order_ids,
        client_order_ids,
        fill_tx_hashes,
        messages,
    })
}

/// What filling one order costs now: the gas price and the connector's fillGasLimit.
pub async fn clob_estimate_gas<V: ClobVenue>(clob: &Clob<V>, started: i64) -> AppResult<ClobGasResponse> {
    let (_, price) = current_fees(&clob.network).await?;
    let limit = clob.settings.fill_gas_limit;
    Ok(ClobGasResponse {
        envelope: envelope(clob, started),
        gas_price: format_units(U256::from(price), 9),
        gas_price_token: clob.network.settings().native_symbol.clone(),
        gas_limit: limit,
        gas_cost: format_units(U256::from(price) * U256::from(limit), NATIVE_DECIMALS),
    })
}
