//! `clmm`: Uniswap-V3-family pools through the swap router and the NonfungiblePositionManager.

use std::sync::Arc;

use alloy::primitives::{Address, U256};
use connectors::v3::pool::V3PoolState;
use connectors::v3::position::{Orientation, amounts_for_liquidity};
use serde::Serialize;
use utoipa::ToSchema;

use super::pool::{PoolQuery, base_of, pool_state};
use super::swap::{self, Family, Hop, Order, Planned, Quoted, Route, SwapData, SwapRequest, Via};
use super::{Market, Side, TxResponse};
use crate::error::{ApiError, ApiResult};
use crate::request::{Human, parse_address};
use crate::state::AppState;
use connectors::discovery::PoolKind;

/// The pools a swap may use: the one named, else the listed pools for the pair, else those of every fee tier
/// the factory has (found once per block).
async fn candidate_pools(
    state: &AppState,
    market: &Market,
    pool: Option<&str>,
    a: Address,
    b: Address,
) -> ApiResult<Vec<Arc<V3PoolState>>> {
    if let Some(pool) = pool.filter(|p| !p.is_empty()) {
        return Ok(vec![pool_state(state, market, parse_address("poolAddress", pool)?).await?]);
    }
    let book = state.pool_book(&market.config, &market.connector, &market.network_name).await?;
    let listed: Vec<Address> = book.for_pair(Some("clmm"), a, b).iter().map(|p| p.address).collect();
    let addresses = if listed.is_empty() {
        if market.dex.v3.is_none() {
            return Err(ApiError::bad_request("connector", "no clmm pools on this network"));
        }
        let found = state.pool_states().discovery().pools(&market.network, &market.dex, &[(a, b)]).await?;
        found.iter().filter(|pool| pool.kind == PoolKind::Clmm).map(|pool| pool.address).collect()
    } else {
        listed
    };
    let mut pools = Vec::new();
    for address in addresses {
        match pool_state(state, market, address).await {
            Ok(pool) => pools.push(pool),
            Err(error) if error.status().is_client_error() => {}
            Err(error) => return Err(error),
        }
    }
    if pools.is_empty() {
        return Err(ApiError::bad_request(
            "quoteToken",
            "no clmm pool trades this pair here; name one with poolAddress or add one with POST /pools",
        ));
    }
    Ok(pools)
}

async fn plan(state: &AppState, connector: Option<&str>, request: &SwapRequest) -> ApiResult<Planned> {
    let market = Market::resolve(state, request.venue(connector)).await?;
    let named_pool = match request.pool_address.as_deref().filter(|p| !p.is_empty()) {
        Some(pool) => Some(pool_state(state, &market, parse_address("poolAddress", pool)?).await?),
        None => None,
    };
    let order = Order::resolve(&market, request, named_pool.as_ref().map(|p| (p.token0, p.token1)))?;
    let pools = match named_pool {
        Some(pool) => vec![pool],
        None => candidate_pools(state, &market, None, order.token_in.address, order.token_out.address).await?,
    };
    let mut quoted = Vec::new();
    let mut last_error = None;
    for pool in pools {
        if !pool.has_token(order.token_in.address) || !pool.has_token(order.token_out.address) {
            return Err(ApiError::bad_request(
                "poolAddress",
                format!("pool {} does not trade {}/{}", pool.address, order.base.symbol, order.quote.symbol),
            ));
        }
        let route = Route {
            family: Family::V3,
            hops: vec![Hop {
                pool: pool.address,
                token_in: order.token_in.address,
                token_out: order.token_out.address,
                fee: pool.fee,
            }],
        };
        match swap::quote_route(state.pool_states(), &market, &route, order.amount).await {
            Ok(quote) => quoted.push((route, quote)),
            // A pool that cannot fill the amount is passed over; a node that failed fails the quote, so no
            // answer is ever chosen from the pools that happened to load.
            Err(error) if error.status().is_client_error() => last_error = Some(error),
            Err(error) => return Err(error),
        }
    }
    // Pools read on either side of a new block were compared across blocks: the answer says the older one.
    let oldest = quoted.iter().map(|(_, quote)| quote.block).min();
    let (route, mut quote) = match connectors::swap::best(order.side == Side::Sell, quoted) {
        Some(best) => best,
        None => {
            return Err(last_error.unwrap_or_else(|| ApiError::bad_request("amount", "no pool can fill this amount")));
        }
    };
    quote.block = oldest.unwrap_or(quote.block);
    Ok(Planned { market, order, route, quote })
}

pub async fn quote_swap(state: &AppState, connector: Option<&str>, request: SwapRequest) -> ApiResult<Quoted> {
    Ok(plan(state, connector, &request).await?.quoted())
}

pub async fn execute_swap(
    state: &AppState,
    connector: Option<&str>,
    request: SwapRequest,
) -> ApiResult<TxResponse<SwapData>> {
    plan(state, connector, &request)
        .await?
        .execute(state, Via::SwapRouter, "clmm", request.wallet_address.as_deref())
        .await
}

/// Liquidity between two initialized ticks around the price.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Bin {
    /// The range's lower tick.
    bin_id: i32,
    /// Quote per base at the lower tick.
    price: f64,
    #[schema(value_type = f64)]
    base_token_amount: Human,
    #[schema(value_type = f64)]
    quote_token_amount: Human,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClmmPoolInfo {
    address: String,
    base_token_address: String,
    quote_token_address: String,
    /// The tick spacing.
    bin_step: i32,
    #[schema(value_type = f64, example = 0.05)]
    fee_pct: Human,
    /// Quote per base.
    #[schema(value_type = f64)]
    price: Human,
    /// What the pool holds of each token.
    #[schema(value_type = f64)]
    base_token_amount: Human,
    #[schema(value_type = f64)]
    quote_token_amount: Human,
    /// The current tick.
    active_bin_id: i32,
    /// Liquidity in range at the current tick.
    liquidity: String,
    sqrt_price_x96: String,
    bins: Vec<Bin>,
    block_number: u64,
}

const DEFAULT_BINS: u32 = 10;

pub async fn pool_info(state: &AppState, connector: Option<&str>, query: PoolQuery) -> ApiResult<ClmmPoolInfo> {
    let market = Market::resolve(state, query.venue(connector)).await?;
    let pool = pool_state(state, &market, parse_address("poolAddress", &query.pool_address)?).await?;
    let base_is_0 =
        base_of(state, &market, pool.address, pool.token0, pool.token1, query.base_token.as_deref()).await?;
    let (token0, token1) = (market.token_at(pool.token0).await?, market.token_at(pool.token1).await?);
    let orientation = Orientation { base_is_token0: base_is_0, decimals0: token0.decimals, decimals1: token1.decimals };
    let (_, held) = chains::erc20::balances(&market.network, pool.address, &[pool.token0, pool.token1]).await?;
    let (base, quote, base_held, quote_held) =
        if base_is_0 { (&token0, &token1, held[0], held[1]) } else { (&token1, &token0, held[1], held[0]) };
    let bins = bins_around(&pool, orientation, query.bin_count.unwrap_or(DEFAULT_BINS) as usize)?;
    Ok(ClmmPoolInfo {
        address: chains::checksum(pool.address),
        base_token_address: chains::checksum(base.address),
        quote_token_address: chains::checksum(quote.address),
        bin_step: pool.tick_spacing,
        fee_pct: Human(chains::amount::format_units(U256::from(pool.fee), 4)),
        price: Human(orientation.price_from_sqrt(pool.sqrt_price_x96)),
        base_token_amount: Human(chains::amount::format_units(base_held, base.decimals)),
        quote_token_amount: Human(chains::amount::format_units(quote_held, quote.decimals)),
        active_bin_id: pool.tick,
        liquidity: pool.liquidity.to_string(),
        sqrt_price_x96: pool.sqrt_price_x96.to_string(),
        bins,
        block_number: pool.block,
    })
}

/// The liquidity between consecutive initialized ticks, the `count` ranges nearest the current tick.
fn bins_around(pool: &V3PoolState, orientation: Orientation, count: usize) -> ApiResult<Vec<Bin>> {
    let mut ranges = Vec::new();
    let mut active: i128 = 0;
    for pair in pool.ticks.windows(2) {
        active += pair[0].liquidity_net;
        if active > 0 {
            ranges.push((pair[0].index, pair[1].index, active as u128));
        }
    }
    ranges.sort_by_key(|(lower, upper, _)| {
        if pool.tick < *lower {
            lower - pool.tick
        } else if pool.tick >= *upper {
            pool.tick - upper + 1
        } else {
            0
        }
    });
    ranges.truncate(count);
    ranges.sort_by_key(|(lower, _, _)| *lower);
    let (base_decimals, quote_decimals) = if orientation.base_is_token0 {
        (orientation.decimals0, orientation.decimals1)
    } else {
        (orientation.decimals1, orientation.decimals0)
    };
    ranges
        .into_iter()
        .map(|(lower, upper, liquidity)| {
            let (amount0, amount1) = amounts_for_liquidity(pool.sqrt_price_x96, lower, upper, liquidity, false)?;
            let (base_amount, quote_amount) =
                if orientation.base_is_token0 { (amount0, amount1) } else { (amount1, amount0) };
            Ok(Bin {
                bin_id: lower,
                price: orientation.price_at_tick(lower),
                base_token_amount: Human(chains::amount::format_units(base_amount, base_decimals)),
                quote_token_amount: Human(chains::amount::format_units(quote_amount, quote_decimals)),
            })
        })
        .collect()
}
