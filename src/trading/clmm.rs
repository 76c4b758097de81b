//! `clmm`: Uniswap-V3-family pools through the swap router and the NonfungiblePositionManager.

use std::sync::Arc;

use alloy::primitives::{Address, U256};
use connectors::family::Family;
use connectors::router::{Route, best};
use connectors::v3::pool::V3PoolState;
use connectors::v3::position::Orientation;
use serde::Serialize;
use utoipa::ToSchema;

use super::pool::{PoolQuery, base_of, pool_state};
use super::swap::{self, Order, Planned, Quoted, SwapData, SwapRequest};
use super::{Desk, TxResponse};
use crate::error::{ApiError, ApiResult};
use crate::request::{Human, parse_address};
use crate::state::AppState;
use connectors::Side;

/// The pools a swap may use: the one named, else the listed pools for the pair, else those of every fee tier
/// the factory has (found once per block).
async fn candidate_pools(
    state: &AppState,
    desk: &Desk,
    pool: Option<&str>,
    a: Address,
    b: Address,
) -> ApiResult<Vec<Arc<V3PoolState>>> {
    if let Some(pool) = pool.filter(|p| !p.is_empty()) {
        return Ok(vec![pool_state(state, desk, parse_address("poolAddress", pool)?).await?]);
    }
    let book = state.pool_book(&desk.config, &desk.connector, &desk.network_name).await?;
    let listed: Vec<Address> = book.for_pair(Some("clmm"), a, b).iter().map(|p| p.address).collect();
    let addresses = if listed.is_empty() {
        desk.protocol(Family::V3)?;
        let found = state.pool_states().discovery().pools(&desk.network, &desk.dex, &[(a, b)]).await?;
        found.iter().filter(|pool| pool.family == Family::V3).map(|pool| pool.address).collect()
    } else {
        listed
    };
    let mut pools = Vec::new();
    for address in addresses {
        match pool_state(state, desk, address).await {
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
    let desk = Desk::resolve(state, request.target(connector)).await?;
    let named_pool = match request.pool_address.as_deref().filter(|p| !p.is_empty()) {
        Some(pool) => Some(pool_state(state, &desk, parse_address("poolAddress", pool)?).await?),
        None => None,
    };
    let order = Order::resolve(&desk, request, named_pool.as_ref().map(|p| (p.token0, p.token1)))?;
    let pools = match named_pool {
        Some(pool) => vec![pool],
        None => candidate_pools(state, &desk, None, order.token_in.address, order.token_out.address).await?,
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
        let route = Route::single(Family::V3, pool.address, pool.fee, order.token_in.address, order.token_out.address);
        match swap::quote_route(state.pool_states(), &desk, &route, order.amount).await {
            Ok(quote) => quoted.push((route, quote)),
            // A pool that cannot fill the amount is passed over; a node that failed fails the quote, so no
            // answer is ever chosen from the pools that happened to load.
            Err(error) if error.status().is_client_error() => last_error = Some(error),
            Err(error) => return Err(error),
        }
    }
    // Pools read on either side of a new block were compared across blocks: the answer says the older one.
    let oldest = quoted.iter().map(|(_, quote)| quote.block).min();
    let (route, mut quote) = match best(order.side == Side::Sell, quoted) {
        Some(best) => best,
        None => {
            return Err(last_error.unwrap_or_else(|| ApiError::bad_request("amount", "no pool can fill this amount")));
        }
    };
    quote.block = oldest.unwrap_or(quote.block);
    Ok(Planned { desk, order, route, quote })
}

pub async fn quote_swap(state: &AppState, connector: Option<&str>, request: SwapRequest) -> ApiResult<Quoted> {
    Ok(plan(state, connector, &request).await?.quoted())
}

pub async fn execute_swap(
    state: &AppState,
    connector: Option<&str>,
    request: SwapRequest,
) -> ApiResult<TxResponse<SwapData>> {
    plan(state, connector, &request).await?.execute(state, Family::V3, "clmm", request.wallet_address.as_deref()).await
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
    let desk = Desk::resolve(state, query.target(connector)).await?;
    let pool = pool_state(state, &desk, parse_address("poolAddress", &query.pool_address)?).await?;
    let base_is_0 = base_of(state, &desk, pool.address, pool.token0, pool.token1, query.base_token.as_deref()).await?;
    let (token0, token1) = (desk.token_at(pool.token0).await?, desk.token_at(pool.token1).await?);
    let orientation = Orientation { base_is_token0: base_is_0, decimals0: token0.decimals, decimals1: token1.decimals };
    let (_, held) = chains::erc20::balances(&desk.network, pool.address, &[pool.token0, pool.token1]).await?;
    let (base, quote, base_held, quote_held) =
        if base_is_0 { (&token0, &token1, held[0], held[1]) } else { (&token1, &token0, held[1], held[0]) };
    let (base_decimals, quote_decimals) = orientation.decimals();
    let bins = orientation
        .ranges_around(&pool, query.bin_count.unwrap_or(DEFAULT_BINS) as usize)?
        .into_iter()
        .map(|range| Bin {
            bin_id: range.lower,
            price: range.price,
            base_token_amount: Human(chains::amount::format_units(range.base, base_decimals)),
            quote_token_amount: Human(chains::amount::format_units(range.quote, quote_decimals)),
        })
        .collect();
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
