//! A pool a request names: by address in either route style, which of its tokens is the base, and a V3 pool's
//! state.

use std::sync::Arc;

use alloy::primitives::Address;
use connectors::v3::pool::V3PoolState;
use serde::Deserialize;
use utoipa::IntoParams;

use super::Desk;
use crate::error::{ApiError, ApiResult};
use crate::request::Target;
use crate::state::AppState;

/// A pool named by address, in either route style.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct PoolQuery {
    #[param(example = "devnet")]
    pub network: Option<String>,
    #[param(example = "ethereum-devnet")]
    pub chain_network: Option<String>,
    #[param(example = "uniswap")]
    pub connector: Option<String>,
    #[param(example = "0xB4e16d0168e52d35CaCD2c6185b44281Ec28C9Dc")]
    pub pool_address: String,
    /// Which token to call base (default: the pool list's base, else token0).
    pub base_token: Option<String>,
    /// Liquidity bins around the price to include (clmm); 10 when omitted.
    pub bin_count: Option<u32>,
}

impl PoolQuery {
    pub fn target<'a>(&'a self, connector: Option<&'a str>) -> Target<'a> {
        Target::new(connector, &self.connector, &self.network, &self.chain_network, None)
    }
}

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

/// A V3 pool's state at the latest block, from the cache.
pub async fn pool_state(state: &AppState, desk: &Desk, address: Address) -> ApiResult<Arc<V3PoolState>> {
    let Some(v3) = &desk.dex.v3 else {
        return Err(ApiError::bad_request(
            "connector",
            format!("{} has no clmm pools on {}", desk.connector, desk.network_name),
        ));
    };
    Ok(state.pool_states().v3_pool(&desk.network, v3, address).await?)
}
