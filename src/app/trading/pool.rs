//! The pools a request trades through: those of a pair (listed, else found on-chain), which of a pool's tokens
//! is the base, and a concentrated-liquidity pool's state.

use alloy::primitives::Address;
use connectors::clmm::pool::ClmmPool;
use connectors::core::family::TradingType;
use connectors::core::pool_address::PoolAddress;
use connectors::dex::Dex;

use super::Desk;
use crate::error::{AppError, AppResult, InvalidKind};
use crate::state::AppState;

/// Which of a pool's two tokens is the base: the request's, else the pool list's, else token0.
pub async fn base_of(
    state: &AppState,
    desk: &Desk,
    pool: PoolAddress,
    token0: Address,
    token1: Address,
    requested: Option<&str>,
) -> AppResult<bool> {
    if let Some(base) = requested.filter(|b| !b.is_empty()) {
        let base = desk.token("baseToken", base)?.address;
        if base != token0 && base != token1 {
            return Err(AppError::invalid("baseToken", format!("is not a token of pool {pool}")));
        }
        return Ok(base == token0);
    }
    let book = state.pool_book(&desk.config, &desk.connector, &desk.network_name).await?;
    Ok(book.by_address(pool).is_none_or(|listed| listed.base_token_address == token0))
}

/// The pools of type `kind` (`amm`, `clmm`) trading the pair: the listed ones, else those found on-chain (once per
/// block) in every family of that type.
pub async fn pools_for_pair(
    state: &AppState,
    desk: &Desk,
    kind: TradingType,
    (a, b): (Address, Address),
) -> AppResult<Vec<PoolAddress>> {
    let book = state.pool_book(&desk.config, &desk.connector, &desk.network_name).await?;
    let mut pools: Vec<PoolAddress> = book.for_pair(Some(kind), a, b).iter().map(|p| p.address).collect();
    if pools.is_empty() {
        if !desk.dex.protocols().any(|protocol| protocol.family().trading_type() == kind) {
            return Err(desk.not_deployed_kind(kind));
        }
        let found = desk.dex.discover(state.pool_states(), &desk.network, &[(a, b)]).await?;
        pools = found.iter().filter(|pool| pool.family.trading_type() == kind).map(|pool| pool.address).collect();
    }
    match pools.is_empty() {
        true => Err(no_pool(kind)),
        false => Ok(pools),
    }
}

/// The refusal of a pair no pool of type `kind` trades.
pub fn no_pool(kind: TradingType) -> AppError {
    AppError::invalid(
        "quoteToken",
        format!("no {kind} pool trades this pair here; name one with poolAddress or add one with POST /pools"),
    )
    .of_kind(InvalidKind::NoRoute)
}

/// A concentrated-liquidity pool's state at the latest block, from the cache: a V3 pool by its contract, a V4
/// pool by its id.
pub async fn pool_state(state: &AppState, desk: &Desk, address: PoolAddress) -> AppResult<ClmmPool> {
    let family = Dex::family_of(TradingType::Clmm, address).expect("every pool address names a clmm family");
    desk.protocol(family)?;
    Ok(desk.dex.clmm_pool(state.pool_states(), &desk.network, address).await?)
}

/// A V2 pair's contract: a V4 pool id names no pair.
pub fn pair_contract(address: PoolAddress) -> AppResult<Address> {
    address.contract().ok_or_else(|| {
        AppError::invalid("poolAddress", format!("{address} is a V4 pool id; amm pools are V2 pairs, named by address"))
    })
}
