//! `clmm`: swaps through one concentrated-liquidity pool (the named one, or the best of the pair's, V3 or V4),
//! and a pool's state with its liquidity bins.

use alloy::primitives::{Address, U256};
use connectors::clmm::pool::ClmmPool;
use connectors::clmm::range::Orientation;
use connectors::core::family::TradingType;
use connectors::core::pool_address::PoolAddress;
use connectors::core::route::Route;

use super::Desk;
use super::pool::{base_of, no_pool, pool_state, pools_for_pair};
use super::swap::{self, Order, Planned};
use crate::error::{AppError, AppResult};
use crate::request::{Human, parse_pool_address};
use crate::schema::TxResponse;
use crate::schema::liquidity::{Bin, ClmmPoolInfo, FetchPoolsQuery, FetchPoolsResponse, PoolListItem, PoolQuery};
use crate::schema::swap::{SwapData, SwapRequest};
use crate::state::AppState;

/// The pools a swap of the pair may use: the listed pools, else those of every fee tier the factory has, less
/// any that cannot be read as its pools.
async fn candidate_pools(state: &AppState, desk: &Desk, pair: (Address, Address)) -> AppResult<Vec<ClmmPool>> {
    let mut pools = Vec::new();
    for address in pools_for_pair(state, desk, TradingType::Clmm, pair).await? {
        match pool_state(state, desk, address).await {
            Ok(pool) => pools.push(pool),
            Err(error) if error.is_refusal() => {}
            Err(error) => return Err(error),
        }
    }
    match pools.is_empty() {
        true => Err(no_pool(TradingType::Clmm)),
        false => Ok(pools),
    }
}

/// The order a swap request names, and a route through each pool it may take: the named one, else the pair's.
pub async fn resolve(state: &AppState, desk: &Desk, request: &SwapRequest) -> AppResult<(Order, Vec<Route>)> {
    let named_pool = match request.pool()? {
        Some(pool) => Some(pool_state(state, desk, pool).await?),
        None => None,
    };
    let order = Order::resolve(desk, request, named_pool.as_ref().map(ClmmPool::tokens))?;
    let (token_in, token_out) = (order.token_in().address, order.token_out().address);
    let pools = match named_pool {
        Some(pool) => vec![pool],
        None => candidate_pools(state, desk, (token_in, token_out)).await?,
    };
    let mut routes = Vec::with_capacity(pools.len());
    for pool in pools {
        if !pool.has_token(token_in) || !pool.has_token(token_out) {
            return Err(AppError::invalid(
                "poolAddress",
                format!("pool {} does not trade {}/{}", pool.address(), order.base.symbol, order.quote.symbol),
            ));
        }
        routes.push(Route::single(pool.family(), pool.address(), pool.tier(), token_in, token_out));
    }
    Ok((order, routes))
}

async fn plan(state: &AppState, desk: Desk, request: &SwapRequest) -> AppResult<Planned> {
    let (order, routes) = resolve(state, &desk, request).await?;
    let routing = swap::best_routing(state.pool_states(), &desk, &order, &routes).await?;
    Ok(Planned { desk, order, routing })
}

pub async fn execute_swap(
    state: &AppState,
    connector: Option<&str>,
    request: SwapRequest,
) -> AppResult<TxResponse<SwapData>> {
    let desk = Desk::resolve(state, request.target(connector)).await?;
    let network = desk.network.clone();
    let planned = swap::reading_fees_meanwhile(&network, plan(state, desk, &request)).await?;
    let family = planned.routing.legs[0].route.hops[0].family;
    let answer = planned.execute(state, Some(family), TradingType::Clmm, request.wallet_address.as_deref()).await?;
    planned.read_pools_again(state);
    Ok(answer)
}

const DEFAULT_BINS: u32 = 10;

pub async fn pool_info(state: &AppState, connector: Option<&str>, query: PoolQuery) -> AppResult<ClmmPoolInfo> {
    let desk = Desk::resolve(state, query.target(connector)).await?;
    let pool = pool_state(state, &desk, parse_pool_address("poolAddress", &query.pool_address)?).await?;
    let (token0, token1) = pool.tokens();
    let base_is_0 = base_of(state, &desk, pool.address(), token0, token1, query.base_token.as_deref()).await?;
    let (token0, token1) = (desk.token_at(token0).await?, desk.token_at(token1).await?);
    let orientation = Orientation { base_is_token0: base_is_0, decimals0: token0.decimals, decimals1: token1.decimals };
    let held = held(&desk, &pool).await?;
    let (base, quote, base_held, quote_held) =
        if base_is_0 { (&token0, &token1, held.0, held.1) } else { (&token1, &token0, held.1, held.0) };
    let (base_decimals, quote_decimals) = orientation.decimals();
    let bins = orientation
        .ranges_around(&pool, query.bin_count.unwrap_or(DEFAULT_BINS) as usize)?
        .into_iter()
        .map(|range| Bin {
            bin_id: range.lower,
            price: Human(range.price),
            base_token_amount: Human(chains::amount::format_units(range.base, base_decimals)),
            quote_token_amount: Human(chains::amount::format_units(range.quote, quote_decimals)),
        })
        .collect();
    Ok(ClmmPoolInfo {
        address: pool.address().to_string(),
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
        block_number: pool.block(),
    })
}

/// How many pools a fetch-pools request may ask for, and how many it gets when it does not say.
const FETCH_LIMIT: std::ops::RangeInclusive<u32> = 1..=1000;
const FETCH_DEFAULT: u32 = 50;

/// The pair's pools in every concentrated-liquidity family of the connector (V3's fee tiers, V4's hookless pools),
/// those holding the most first, tokenA as the base.
pub async fn fetch_pools(
    state: &AppState,
    connector: Option<&str>,
    query: FetchPoolsQuery,
) -> AppResult<FetchPoolsResponse> {
    let desk = Desk::resolve(state, query.target(connector)).await?;
    let limit = query.limit.unwrap_or(FETCH_DEFAULT);
    if !FETCH_LIMIT.contains(&limit) {
        return Err(AppError::invalid("limit", "must be 1 to 1000"));
    }
    let (a, b) = query.pair()?;
    let (base, quote) = (desk.token("tokenA", a)?, desk.token("tokenB", b)?);
    if base.address == quote.address {
        return Err(AppError::invalid("tokenB", "must differ from tokenA"));
    }
    let found = desk.dex.discover(state.pool_states(), &desk.network, &[(base.address, quote.address)]).await?;
    let mut pools = Vec::new();
    for address in found.iter().filter(|pool| pool.family.trading_type() == TradingType::Clmm).map(|p| p.address) {
        match pool_state(state, &desk, address).await {
            Ok(pool) => pools.push(listed(&desk, &pool, (&base, &quote)).await?),
            Err(error) if error.is_refusal() => {}
            Err(error) => return Err(error),
        }
    }
    pools.sort_by_key(|(held, _)| std::cmp::Reverse(*held));
    let total = pools.len();
    let page = query.page.unwrap_or(0);
    let skipped = (page as usize).saturating_mul(limit as usize);
    let pools = pools.into_iter().skip(skipped).take(limit as usize).map(|(_, item)| item).collect();
    Ok(FetchPoolsResponse { pools, total, page, page_size: limit })
}

/// A pool as fetch-pools lists it, and what it holds valued in raw units of the quote token.
async fn listed(
    desk: &Desk,
    pool: &ClmmPool,
    (base, quote): (&chains::erc20::Token, &chains::erc20::Token),
) -> AppResult<(U256, PoolListItem)> {
    let (token0, _) = pool.tokens();
    let base_is_token0 = base.address == token0;
    let (decimals0, decimals1) =
        if base_is_token0 { (base.decimals, quote.decimals) } else { (quote.decimals, base.decimals) };
    let orientation = Orientation { base_is_token0, decimals0, decimals1 };
    let (base_held, quote_held) = {
        let held = held(desk, pool).await?;
        orientation.split(held.0, held.1)
    };
    let tvl = orientation.quote_value(pool.sqrt_price_x96, base_held).saturating_add(quote_held);
    let item = PoolListItem {
        address: pool.address().to_string(),
        name: format!("{}-{}", base.symbol, quote.symbol),
        base_token_address: chains::checksum(base.address),
        base_token_symbol: base.symbol.clone(),
        quote_token_address: chains::checksum(quote.address),
        quote_token_symbol: quote.symbol.clone(),
        bin_step: pool.tick_spacing,
        base_fee: Human(chains::amount::format_units(U256::from(pool.fee), 4)),
        price: Human(orientation.price_from_sqrt(pool.sqrt_price_x96)),
        tvl: Human(chains::amount::format_units(tvl, quote.decimals)),
        liquidity: pool.liquidity.to_string(),
    };
    Ok((tvl, item))
}

/// What a pool holds of its two tokens: a V3 pool's balances; a V4 pool shares the PoolManager's, so what its
/// liquidity amounts to at the price, over the ticks read around it (fees owed to positions are not counted).
async fn held(desk: &Desk, pool: &ClmmPool) -> AppResult<(U256, U256)> {
    match pool.address() {
        PoolAddress::Contract(address) => {
            let (token0, token1) = pool.tokens();
            let (_, held) = chains::erc20::balances(&desk.network, address, &[token0, token1]).await?;
            Ok((held[0], held[1]))
        }
        PoolAddress::Id(_) => Ok(pool.held()?),
    }
}
