//! `router`: the best route over the connector's listed V2 and V3 pools, up to `maximumHops`, for exact in
//! (SELL) and exact out (BUY). Quotes are stored with an id and an expiry, so `execute-quote` runs exactly
//! what was quoted, within its slippage bounds.

use std::collections::HashSet;

use alloy::primitives::{Address, U256};
use chains::erc20::Token;
use connectors::discovery::PoolKind;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::swap::{
    self, Family, Hop, Order, Planned, QuoteSwapResponse, Route, RouteQuote, SwapData, SwapRequest, Via,
};
use super::{Market, Side, TxResponse, Venue};
use crate::config::ListedPool;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::storage::now_ms;

/// Every simple path of one family from `from` to `to` through listed pools, up to `max_hops` pools.
fn routes(pools: &[ListedPool], from: Address, to: Address, max_hops: usize) -> Vec<Route> {
    let mut found = Vec::new();
    for (family, kind) in [(Family::V2, "amm"), (Family::V3, "clmm")] {
        let edges: Vec<&ListedPool> = pools.iter().filter(|p| p.kind == kind).collect();
        let mut path = Vec::new();
        let mut visited = HashSet::from([from]);
        extend(&edges, family, from, to, max_hops, &mut path, &mut visited, &mut found);
    }
    found
}

#[allow(clippy::too_many_arguments)]
fn extend(
    edges: &[&ListedPool],
    family: Family,
    at: Address,
    to: Address,
    max_hops: usize,
    path: &mut Vec<Hop>,
    visited: &mut HashSet<Address>,
    found: &mut Vec<Route>,
) {
    if path.len() == max_hops {
        return;
    }
    for pool in edges {
        let next = if pool.base_token_address == at {
            pool.quote_token_address
        } else if pool.quote_token_address == at {
            pool.base_token_address
        } else {
            continue;
        };
        if visited.contains(&next) {
            continue;
        }
        let fee = (pool.fee_pct * 10_000.0).round() as u32;
        path.push(Hop {
            pool: pool.address,
            token_in: at,
            token_out: next,
            fee: if family == Family::V3 { fee } else { 0 },
        });
        if next == to {
            found.push(Route { family, hops: path.clone() });
        } else {
            visited.insert(next);
            extend(edges, family, next, to, max_hops, path, visited, found);
            visited.remove(&next);
        }
        path.pop();
    }
}

/// The pools the connector's factories have between the order's tokens, directly and through the network's
/// routing tokens, as if listed.
async fn discovered(state: &AppState, market: &Market, order: &Order) -> ApiResult<Vec<ListedPool>> {
    let (from, to) = (order.token_in.address, order.token_out.address);
    let symbols = market.config.network(&market.network_name).map(|n| n.routing_symbols()).unwrap_or_default();
    let mut pairs = vec![(from, to)];
    for symbol in symbols {
        let Ok(via) = market.book.resolve("routingTokens", &symbol) else { continue };
        if via.address != from && via.address != to {
            pairs.extend([(from, via.address), (via.address, to)]);
        }
    }
    let found = state.pool_states().discovery().pools(&market.network, &market.dex, &pairs).await?;
    let symbol = |token: Address| {
        market.book.resolve("token", &token.to_string()).map_or_else(|_| token.to_string(), |token| token.symbol)
    };
    Ok(found
        .into_iter()
        .map(|pool| ListedPool {
            kind: match pool.kind {
                PoolKind::Amm => "amm",
                PoolKind::Clmm => "clmm",
            }
            .into(),
            network: market.network_name.clone(),
            base_symbol: symbol(pool.token0),
            quote_symbol: symbol(pool.token1),
            address: pool.address,
            base_token_address: pool.token0,
            quote_token_address: pool.token1,
            fee_pct: f64::from(pool.fee) / 10_000.0,
        })
        .collect())
}

async fn best_route(state: &AppState, market: &Market, order: &Order) -> ApiResult<(Route, RouteQuote)> {
    let book = state.pool_book(&market.config, &market.connector, &market.network_name).await?;
    let max_hops = market.config.connectors.get(&market.connector).map(|c| c.maximum_hops).unwrap_or(3) as usize;
    let (from, to) = (order.token_in.address, order.token_out.address);
    // Listed pools are the fast path; the factories are asked only when they join nothing.
    let mut candidates = routes(&book.pools, from, to, max_hops);
    if candidates.is_empty() {
        candidates = routes(&discovered(state, market, order).await?, from, to, max_hops.min(2));
    }
    if candidates.is_empty() {
        return Err(ApiError::bad_request(
            "quoteToken",
            format!(
                "no route from {} to {} over the listed pools of {} on {} (up to {max_hops} hops), and its factories \
                 have none directly or through the network's routingTokens; list one with POST /pools",
                order.token_in.symbol, order.token_out.symbol, market.connector, market.network_name
            ),
        ));
    }
    let mut quoted = Vec::new();
    let mut last_error = None;
    for route in candidates {
        match swap::quote_route(state.pool_states(), market, &route, order.amount).await {
            Ok(quote) => quoted.push((route, quote)),
            Err(error) => last_error = Some(error),
        }
    }
    connectors::swap::best(order.side == Side::Sell, quoted)
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
    amount_in: U256,
    amount_out: U256,
    mid_out_per_in: f64,
    block: u64,
}

pub async fn quote_swap(
    state: &AppState,
    connector: Option<&str>,
    request: SwapRequest,
) -> ApiResult<QuoteSwapResponse> {
    let market = Market::resolve(state, request.venue(connector)).await?;
    let order = Order::resolve(&market, &request, None)?;
    let (route, quote) = best_route(state, &market, &order).await?;
    let mut response = swap::quote_response(&market, &order, &route, &quote);
    let id = uuid::Uuid::new_v4().to_string();
    let stored = StoredQuote {
        network: market.network_name.clone(),
        connector: market.connector.clone(),
        slippage_pct: market.slippage_pct,
        side: order.side,
        base: order.base.address.to_string(),
        quote: order.quote.address.to_string(),
        route,
        amount_in: quote.amount_in,
        amount_out: quote.amount_out,
        mid_out_per_in: quote.mid_out_per_in,
        block: quote.block,
    };
    let ttl_ms =
        market.config.connectors.get(&market.connector).map(|c| c.quote_ttl_seconds).unwrap_or(30) as i64 * 1000;
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
    let market = Market::resolve(state, request.venue(connector)).await?;
    let order = Order::resolve(&market, &request, None)?;
    let (route, quote) = best_route(state, &market, &order).await?;
    Planned { market, order, route, quote }
        .execute(state, Via::SwapRouter, "router", request.wallet_address.as_deref())
        .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"chainNetwork": "ethereum-devnet", "connector": "uniswap", "walletAddress": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "quoteId": "<quoteId from quote-swap>"}))]
pub struct ExecuteQuoteRequest {
    pub network: Option<String>,
    pub chain_network: Option<String>,
    pub connector: Option<String>,
    pub wallet_address: Option<String>,
    /// The `quoteId` a router quote-swap answered.
    pub quote_id: String,
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
    let venue = Venue {
        connector: connector.or(request.connector.as_deref()).or(Some(&stored.connector)),
        network: request.network.as_deref(),
        chain_network: request.chain_network.as_deref(),
        slippage_pct: Some(stored.slippage_pct),
    };
    let market = Market::resolve(state, venue).await?;
    if market.network_name != stored.network || market.connector != stored.connector {
        return Err(ApiError::bad_request(
            "quoteId",
            format!("was quoted for {} on {}", stored.connector, stored.network),
        ));
    }
    let token = |address: &str| -> ApiResult<Token> { market.token("quoteId", address) };
    let (base, quote) = (token(&stored.base)?, token(&stored.quote)?);
    let (token_in, token_out) = match stored.side {
        Side::Sell => (base.clone(), quote.clone()),
        Side::Buy => (quote.clone(), base.clone()),
    };
    let amount = match stored.side {
        Side::Sell => connectors::v3::pool::SwapAmount::ExactIn(stored.amount_in),
        Side::Buy => connectors::v3::pool::SwapAmount::ExactOut(stored.amount_out),
    };
    let order = Order { side: stored.side, base, quote, token_in, token_out, amount };
    let quote = RouteQuote {
        amount_in: stored.amount_in,
        amount_out: stored.amount_out,
        mid_out_per_in: stored.mid_out_per_in,
        block: stored.block,
    };
    Planned { market, order, route: stored.route, quote }
        .execute(state, Via::SwapRouter, "router", request.wallet_address.as_deref())
        .await
}
