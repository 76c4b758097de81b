//! The pools a request trades through: those of a pair (listed, else found through the factories), which of a
//! pool's tokens is the base, and a V3 pool's state.

use std::sync::Arc;

use alloy::primitives::Address;
use connectors::family::Family;
use connectors::v3::pool::V3PoolState;

use super::Desk;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Which of a pool's two tokens is the base: the request's, else the pool list's, else token0.
pub async fn base_of(
    state: &AppState,
    desk: &Desk,
    pool: Address,
    token0: Address,
    token1: Address,
    requested: Option<&str>,
) -> ApiResult<bool> {
    if let Some(base) = requested.filter(|b| !b.is_empty()) {
        let base = desk.token("baseToken", base)?.address;
        if base != token0 && base != token1 {
            return Err(ApiError::bad_request("baseToken", format!("is not a token of pool {pool}")));
        }
        return Ok(base == token0);
    }
    let book = state.pool_book(&desk.config, &desk.connector, &desk.network_name).await?;
    Ok(book.by_address(pool).is_none_or(|listed| listed.base_token_address == token0))
}

/// The pools of `family` trading the pair: the listed ones, else those the factories have (found once per block).
pub async fn pools_for_pair(
    state: &AppState,
    desk: &Desk,
    family: Family,
    (a, b): (Address, Address),
) -> ApiResult<Vec<Address>> {
    let book = state.pool_book(&desk.config, &desk.connector, &desk.network_name).await?;
    let mut pools: Vec<Address> = book.for_pair(Some(family.kind()), a, b).iter().map(|p| p.address).collect();
    if pools.is_empty() {
        desk.protocol(family)?;
        let found = state.pool_states().discovery().pools(&desk.network, &desk.dex, &[(a, b)]).await?;
        pools = found.iter().filter(|pool| pool.family == family).map(|pool| pool.address).collect();
    }
    match pools.is_empty() {
        true => Err(no_pool(family)),
        false => Ok(pools),
    }
}

/// The refusal of a pair no pool of `family` trades.
pub fn no_pool(family: Family) -> ApiError {
    ApiError::bad_request(
        "quoteToken",
        format!(
            "no {} pool trades this pair here; name one with poolAddress or add one with POST /pools",
            family.kind()
        ),
    )
}

/// A V3 pool's state at the latest block, from the cache.
pub async fn pool_state(state: &AppState, desk: &Desk, address: Address) -> ApiResult<Arc<V3PoolState>> {
    let v3 = desk.dex.v3.as_ref().ok_or_else(|| desk.not_deployed(Family::V3))?;
    Ok(state.pool_states().v3_pool(&desk.network, v3, address).await?)
}
