//! `amm`: Uniswap-V2-family pairs through Router02.

use alloy::primitives::Address;
use connectors::state::V2PairState;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::swap::{self, Family, Hop, Order, QuoteSwapResponse, Route, SwapData, SwapRequest, Via};
use super::{Market, TxResponse, Venue, ratio};
use crate::error::{ApiError, ApiResult};
use crate::http::params::{Human, parse_address};
use crate::pools::PoolBook;
use crate::state::AppState;

/// The pair a request names, or the listed (else the factory's) pair for its tokens.
async fn pair_for(
    state: &AppState,
    market: &Market,
    pool: Option<&str>,
    tokens: Option<(Address, Address)>,
) -> ApiResult<std::sync::Arc<V2PairState>> {
    let v2 = market.dex.v2.ok_or_else(|| {
        ApiError::bad_request("connector", format!("{} has no amm pools on {}", market.connector, market.network_name))
    })?;
    let address = match (pool.filter(|p| !p.is_empty()), tokens) {
        (Some(pool), _) => parse_address("poolAddress", pool)?,
        (None, Some((a, b))) => {
            let book = PoolBook::load(&market.config, state.storage(), &market.connector, &market.network_name).await?;
            match book.for_pair(Some("amm"), a, b).first() {
                Some(listed) => listed.address,
                None => v2.pair_address(a, b),
            }
        }
        (None, None) => return Err(ApiError::bad_request("poolAddress", "is required when quoteToken is not given")),
    };
    Ok(state.pool_states().v2_pair(&market.network, address).await?)
}

async fn plan(
    state: &AppState,
    connector: Option<&str>,
    request: &SwapRequest,
) -> ApiResult<(Market, Order, Route, swap::RouteQuote)> {
    let market = Market::resolve(state, request.venue(connector)).await?;
    let named_tokens = match request.quote_token.as_deref().filter(|q| !q.is_empty()) {
        Some(quote) => {
            Some((market.token("baseToken", &request.base_token)?.address, market.token("quoteToken", quote)?.address))
        }
        None => None,
    };
    let pair = pair_for(state, &market, request.pool_address.as_deref(), named_tokens).await?;
    let order = Order::resolve(&market, request, Some((pair.token0, pair.token1)))?;
    if pair.reserves_for(order.token_in.address).is_err() || pair.reserves_for(order.token_out.address).is_err() {
        return Err(ApiError::bad_request(
            "poolAddress",
            format!("pool {} does not trade {}/{}", pair.address, order.base.symbol, order.quote.symbol),
        ));
    }
    let route = Route {
        family: Family::V2,
        hops: vec![Hop {
            pool: pair.address,
            token_in: order.token_in.address,
            token_out: order.token_out.address,
            fee: 0,
        }],
    };
    let quote = swap::quote_route(state.pool_states(), &market, &route, order.amount).await?;
    Ok((market, order, route, quote))
}

pub async fn quote_swap(
    state: &AppState,
    connector: Option<&str>,
    request: SwapRequest,
) -> ApiResult<QuoteSwapResponse> {
    let (market, order, route, quote) = plan(state, connector, &request).await?;
    Ok(swap::quote_response(&market, &order, &route, &quote))
}

pub async fn execute_swap(
    state: &AppState,
    connector: Option<&str>,
    request: SwapRequest,
) -> ApiResult<TxResponse<SwapData>> {
    let (market, order, route, quote) = plan(state, connector, &request).await?;
    let spender_name = format!("{}/amm", market.connector);
    swap::execute(
        state,
        &market,
        &order,
        &route,
        &quote,
        Via::V2Router,
        &spender_name,
        request.wallet_address.as_deref(),
    )
    .await
}

/// A pool named by address, in either route style.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct PoolQuery {
    #[param(example = "devnet")]
    pub network: Option<String>,
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
    pub fn venue<'a>(&'a self, connector: Option<&'a str>) -> Venue<'a> {
        Venue {
            connector: connector.or(self.connector.as_deref()),
            network: self.network.as_deref(),
            chain_network: self.chain_network.as_deref(),
            slippage_pct: None,
        }
    }
}

/// Which of a pool's two tokens is the base: the request's, else the pool list's, else token0.
pub async fn base_of(
    state: &AppState,
    market: &Market,
    pool: Address,
    token0: Address,
    token1: Address,
    requested: Option<&str>,
) -> ApiResult<bool> {
    if let Some(base) = requested.filter(|b| !b.is_empty()) {
        let base = market.token("baseToken", base)?.address;
        if base != token0 && base != token1 {
            return Err(ApiError::bad_request("baseToken", format!("is not a token of pool {pool}")));
        }
        return Ok(base == token0);
    }
    let book = PoolBook::load(&market.config, state.storage(), &market.connector, &market.network_name).await?;
    Ok(book.by_address(pool).is_none_or(|listed| listed.base_token_address == token0))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AmmPoolInfo {
    address: String,
    base_token_address: String,
    quote_token_address: String,
    #[schema(value_type = f64, example = 0.3)]
    fee_pct: Human,
    /// Quote per base.
    #[schema(value_type = f64)]
    price: Human,
    #[schema(value_type = f64)]
    base_token_amount: Human,
    #[schema(value_type = f64)]
    quote_token_amount: Human,
    block_number: u64,
}

pub async fn pool_info(state: &AppState, connector: Option<&str>, query: PoolQuery) -> ApiResult<AmmPoolInfo> {
    let market = Market::resolve(state, query.venue(connector)).await?;
    let pair = pair_for(state, &market, Some(&query.pool_address), None).await?;
    let base_is_0 =
        base_of(state, &market, pair.address, pair.token0, pair.token1, query.base_token.as_deref()).await?;
    let (base, quote) = if base_is_0 { (pair.token0, pair.token1) } else { (pair.token1, pair.token0) };
    let (base, quote) = (market.token_at(base).await?, market.token_at(quote).await?);
    let (base_reserve, quote_reserve) = pair.reserves_for(base.address)?;
    let fee_bps = market.dex.v2.map(|v2| v2.fee_bps).unwrap_or_default();
    Ok(AmmPoolInfo {
        address: pair.address.to_checksum(None),
        base_token_address: base.address.to_checksum(None),
        quote_token_address: quote.address.to_checksum(None),
        fee_pct: Human(chains::amount::format_units(alloy::primitives::U256::from(fee_bps), 2)),
        price: Human(ratio(quote_reserve, quote.decimals, base_reserve, base.decimals)),
        base_token_amount: Human(chains::amount::format_units(base_reserve, base.decimals)),
        quote_token_amount: Human(chains::amount::format_units(quote_reserve, quote.decimals)),
        block_number: pair.block,
    })
}
