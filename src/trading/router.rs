//! `router`: the best route over the connector's listed V2 and V3 pools (else those its factories have), up to
//! `maximumHops`, for exact in (SELL) and exact out (BUY). Quotes are stored with an id and an expiry, so
//! `execute-quote` runs exactly what was quoted, within its slippage bounds, through the router that takes it.

use chains::erc20::Token;
use connectors::Side;
use connectors::router::{PoolRef, Route, RouteQuote, best, routes};
use serde::{Deserialize, Serialize};

use super::Desk;
use super::swap::{self, Order, Planned};
use crate::error::{ApiError, ApiResult};
use crate::request::Target;
use crate::schema::TxResponse;
use crate::schema::swap::{ExecuteQuoteRequest, QuoteSwapResponse, SwapData, SwapRequest};
use crate::state::AppState;
use crate::storage::now_ms;

/// The pools the connector's factories have between the order's tokens, directly and through the network's
/// routing tokens.
async fn discovered(state: &AppState, desk: &Desk, order: &Order) -> ApiResult<Vec<PoolRef>> {
    let (from, to) = (order.token_in.address, order.token_out.address);
    let symbols = desk.config.network(&desk.network_name).map(|n| n.routing_symbols()).unwrap_or_default();
    let mut pairs = vec![(from, to)];
    for symbol in symbols {
        let Ok(via) = desk.book.resolve("routingTokens", &symbol) else { continue };
        if via.address != from && via.address != to {
            pairs.extend([(from, via.address), (via.address, to)]);
        }
    }
    Ok(state.pool_states().discovery().pools(&desk.network, &desk.dex, &pairs).await?)
}

async fn best_route(state: &AppState, desk: &Desk, order: &Order) -> ApiResult<(Route, RouteQuote)> {
    let book = state.pool_book(&desk.config, &desk.connector, &desk.network_name).await?;
    let max_hops = desk.config.connectors.get(&desk.connector).map(|c| c.maximum_hops).unwrap_or(3) as usize;
    let (from, to) = (order.token_in.address, order.token_out.address);
    // Listed pools are the fast path; the factories are asked only when they join nothing.
    let mut candidates = routes(&book.routable, from, to, max_hops);
    if candidates.is_empty() {
        candidates = routes(&discovered(state, desk, order).await?, from, to, max_hops.min(2));
    }
    if candidates.is_empty() {
        return Err(ApiError::bad_request(
            "quoteToken",
            format!(
                "no route from {} to {} over the listed pools of {} on {} (up to {max_hops} hops), and its factories \
                 have none directly or through the network's routingTokens; list one with POST /pools",
                order.token_in.symbol, order.token_out.symbol, desk.connector, desk.network_name
            ),
        ));
    }
    let mut quoted = Vec::new();
    let mut last_error = None;
    for route in candidates {
        match swap::quote_route(state.pool_states(), desk, &route, order.amount).await {
            Ok(quote) => quoted.push((route, quote)),
            Err(error) => last_error = Some(error),
        }
    }
    best(order.side == Side::Sell, quoted)
        .ok_or_else(|| last_error.unwrap_or_else(|| ApiError::bad_request("amount", "no route can fill this amount")))
}

/// What a stored quote holds: enough to run it again exactly.
#[derive(Debug, Serialize, Deserialize)]
struct StoredQuote {
    network: String,
    connector: String,
    slippage_pct: f64,
    side: Side,
    base: String,
    quote: String,
    route: Route,
    #[serde(flatten)]
    quoted: RouteQuote,
}

pub async fn quote_swap(
    state: &AppState,
    connector: Option<&str>,
    request: SwapRequest,
) -> ApiResult<QuoteSwapResponse> {
    let desk = Desk::resolve(state, request.target(connector)).await?;
    let order = Order::resolve(&desk, &request, None)?;
    let (route, quote) = best_route(state, &desk, &order).await?;
    let mut response = swap::quote_response(&desk, &order, &route, &quote);
    let id = uuid::Uuid::new_v4().to_string();
    let stored = StoredQuote {
        network: desk.network_name.clone(),
        connector: desk.connector.clone(),
        slippage_pct: desk.slippage_pct,
        side: order.side,
        base: order.base.address.to_string(),
        quote: order.quote.address.to_string(),
        route,
        quoted: quote,
    };
    let ttl_ms = desk.config.connectors.get(&desk.connector).map(|c| c.quote_ttl_seconds).unwrap_or(30) as i64 * 1000;
    let payload = serde_json::to_string(&stored).map_err(ApiError::internal)?;
    state.storage().insert_quote(&id, &payload, now_ms() + ttl_ms).await;
    response.quote_id = Some(id);
    Ok(response)
}

pub async fn execute_swap(
    state: &AppState,
    connector: Option<&str>,
    request: SwapRequest,
) -> ApiResult<TxResponse<SwapData>> {
    let desk = Desk::resolve(state, request.target(connector)).await?;
    let order = Order::resolve(&desk, &request, None)?;
    let (route, quote) = best_route(state, &desk, &order).await?;
    execute(state, Planned { desk, order, route, quote }, request.wallet_address.as_deref()).await
}

/// Executes a stored quote: the same route and amounts, bounded by the slippage it was quoted with. If the price
/// has moved beyond that, the simulation reverts and nothing is sent.
pub async fn execute_quote(
    state: &AppState,
    connector: Option<&str>,
    request: ExecuteQuoteRequest,
) -> ApiResult<TxResponse<SwapData>> {
    let (payload, expires_at) = state.storage().quote(request.quote_id.trim()).await?.ok_or_else(|| {
        ApiError::not_found(format!(
            "quote {} does not exist; get one from router quote-swap",
            chains::quoted(&request.quote_id)
        ))
    })?;
    if expires_at < now_ms() {
        return Err(ApiError::bad_request(
            "quoteId",
            "has expired; quote again (connector setting quoteTtlSeconds sets how long quotes live)",
        )
        .with_code("QUOTE_EXPIRED"));
    }
    let stored: StoredQuote = serde_json::from_str(&payload).map_err(ApiError::internal)?;
    let mut target = Target::new(connector, &request.connector, &request.network, &request.chain_network, None);
    target.connector = target.connector.or(Some(&stored.connector));
    target.slippage_pct = Some(stored.slippage_pct);
    let desk = Desk::resolve(state, target).await?;
    if desk.network_name != stored.network || desk.connector != stored.connector {
        return Err(ApiError::bad_request(
            "quoteId",
            format!("was quoted for {} on {}", stored.connector, stored.network),
        ));
    }
    let token = |address: &str| -> ApiResult<Token> { desk.token("quoteId", address) };
    let (base, quote) = (token(&stored.base)?, token(&stored.quote)?);
    let StoredQuote { side, route, quoted, .. } = stored;
    let amount = if side == Side::Sell { quoted.amount_in } else { quoted.amount_out };
    let order = Order::new(side, base, quote, amount);
    execute(state, Planned { desk, order, route, quote: quoted }, request.wallet_address.as_deref()).await
}

/// Executes a planned route through the router that takes routes of its family.
async fn execute(state: &AppState, planned: Planned, wallet: Option<&str>) -> ApiResult<TxResponse<SwapData>> {
    let router = planned.desk.dex.router_for(planned.route.family)?.family();
    planned.execute(state, router, "router", wallet).await
}
