//! `clmm` liquidity: positions are NonfungiblePositionManager NFTs (`positionAddress` is the token id).
//! Prices are quote per base as the client names them; ticks are rounded to the pool's spacing.

use std::sync::Arc;

use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, Bytes, U256};
use alloy::providers::Provider;
use alloy::rpc::types::{TransactionReceipt, TransactionRequest};
use alloy::sol_types::{SolCall, SolEvent};
use chains::erc20::{Token, multicall};
use chains::tx::Call;
use connectors::v3::pool::V3PoolState;
use connectors::v3::position::{Orientation, amounts_for_liquidity, liquidity_for_amounts};
use connectors::v3::{INonfungiblePositionManager as Npm, V3Deployment};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::amm::base_of;
use super::clmm::pool_state;
use super::{Market, TxResponse, Venue, fee_of, status_of};
use crate::error::{ApiError, ApiResult};
use crate::http::params::{AmountText, Human, parse_address};
use crate::state::AppState;

const MAX_COLLECT: u128 = u128::MAX;

/// The fields every position request shares, in either route style.
#[derive(Debug, Clone, Default, Deserialize, IntoParams, ToSchema)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct PositionRequest {
    #[param(example = "devnet")]
    pub network: Option<String>,
    #[param(example = "ethereum-devnet")]
    pub chain_network: Option<String>,
    #[param(example = "uniswap")]
    pub connector: Option<String>,
    /// The wallet (transactions and positions-owned), the default wallet when omitted.
    pub wallet_address: Option<String>,
    /// The pool (open, quote-position; filters positions-owned).
    #[param(example = "0x88e6A0c2dDD26FEEb64F039a2c41296FcB3f5640")]
    pub pool_address: Option<String>,
    /// The position's token id (add, remove, collect-fees, close, position-info).
    pub position_address: Option<String>,
    /// Lower and upper price of the range, quote per base (open, quote-position).
    pub lower_price: Option<f64>,
    pub upper_price: Option<f64>,
    /// Human amounts; one is enough, the other follows from the range and the price. Digits past a token's
    /// decimals are dropped (amounts computed as floats, e.g. base × price, are taken rounded down).
    #[schema(value_type = Option<String>)]
    #[param(value_type = Option<String>)]
    pub base_token_amount: Option<AmountText>,
    #[schema(value_type = Option<String>)]
    #[param(value_type = Option<String>)]
    pub quote_token_amount: Option<AmountText>,
    /// 0-100 (remove).
    pub percentage_to_remove: Option<f64>,
    pub slippage_pct: Option<f64>,
}

impl PositionRequest {
    /// The share of liquidity to remove: required, above 0 and at most 100.
    pub fn percentage_to_remove(&self) -> ApiResult<f64> {
        let percentage =
            self.percentage_to_remove.ok_or_else(|| ApiError::bad_request("percentageToRemove", "is required"))?;
        if !(percentage > 0.0 && percentage <= 100.0) {
            return Err(ApiError::bad_request("percentageToRemove", "must be above 0 and at most 100"));
        }
        Ok(percentage)
    }

    fn venue<'a>(&'a self, connector: Option<&'a str>) -> Venue<'a> {
        Venue {
            connector: connector.or(self.connector.as_deref()),
            network: self.network.as_deref(),
            chain_network: self.chain_network.as_deref(),
            slippage_pct: self.slippage_pct,
        }
    }
}

/// A pool seen from the API: its tokens as base and quote.
struct Sides {
    pool: Arc<V3PoolState>,
    orientation: Orientation,
    base: Token,
    quote: Token,
}

impl Sides {
    async fn of(state: &AppState, market: &Market, pool: Address) -> ApiResult<Sides> {
        let pool = pool_state(state, market, pool).await?;
        let base_is_token0 = base_of(state, market, pool.address, pool.token0, pool.token1, None).await?;
        let (token0, token1) = (market.token_at(pool.token0).await?, market.token_at(pool.token1).await?);
        let orientation = Orientation { base_is_token0, decimals0: token0.decimals, decimals1: token1.decimals };
        let (base, quote) = if base_is_token0 { (token0, token1) } else { (token1, token0) };
        Ok(Sides { pool, orientation, base, quote })
    }

    /// (base, quote) from (token0, token1).
    fn split(&self, amount0: U256, amount1: U256) -> (U256, U256) {
        if self.orientation.base_is_token0 { (amount0, amount1) } else { (amount1, amount0) }
    }

    fn human(&self, amount0: U256, amount1: U256) -> (Human, Human) {
        let (base, quote) = self.split(amount0, amount1);
        (
            Human(chains::amount::format_units(base, self.base.decimals)),
            Human(chains::amount::format_units(quote, self.quote.decimals)),
        )
    }

    /// The ticks of a price range, in order.
    fn ticks(&self, lower_price: Option<f64>, upper_price: Option<f64>) -> ApiResult<(i32, i32)> {
        let lower = lower_price.ok_or_else(|| ApiError::bad_request("lowerPrice", "is required"))?;
        let upper = upper_price.ok_or_else(|| ApiError::bad_request("upperPrice", "is required"))?;
        if !(lower > 0.0 && upper > lower) {
            return Err(ApiError::bad_request("upperPrice", "must be above lowerPrice, and both above zero"));
        }
        let spacing = self.pool.tick_spacing;
        let a = self.orientation.tick_for_price(lower, spacing).map_err(ApiError::from)?;
        let b = self.orientation.tick_for_price(upper, spacing).map_err(ApiError::from)?;
        let (lo, hi) = (a.min(b), a.max(b));
        if lo == hi {
            return Err(ApiError::bad_request(
                "upperPrice",
                format!("the range is narrower than one tick spacing ({spacing}) of this pool"),
            ));
        }
        Ok((lo, hi))
    }

    /// The liquidity and amounts for the given base and/or quote amount in a range.
    fn size(&self, lower: i32, upper: i32, base: Option<&AmountText>, quote: Option<&AmountText>) -> ApiResult<Sizing> {
        let base = base
            .filter(|a| !a.is_empty())
            .map(|a| a.parse("baseTokenAmount", self.base.decimals))
            .transpose()?
            .map(|a| a.raw);
        let quote = quote
            .filter(|a| !a.is_empty())
            .map(|a| a.parse("quoteTokenAmount", self.quote.decimals))
            .transpose()?
            .map(|a| a.raw);
        if base.is_none() && quote.is_none() {
            return Err(ApiError::bad_request("baseTokenAmount", "give baseTokenAmount, quoteTokenAmount or both"));
        }
        // An amount not given is unbounded: the other decides the liquidity.
        let unbounded = U256::from(u128::MAX);
        let (base_cap, quote_cap) = (base.unwrap_or(unbounded), quote.unwrap_or(unbounded));
        let (cap0, cap1) = if self.orientation.base_is_token0 { (base_cap, quote_cap) } else { (quote_cap, base_cap) };
        let sqrt = self.pool.sqrt_price_x96;
        let liquidity = liquidity_for_amounts(sqrt, lower, upper, cap0, cap1)?;
        if liquidity == 0 {
            return Err(ApiError::bad_request(
                "baseTokenAmount",
                "adds no liquidity in this range at the current price; give the other token",
            ));
        }
        let (amount0, amount1) = amounts_for_liquidity(sqrt, lower, upper, liquidity, true)?;
        let (base_needed, quote_needed) = self.split(amount0, amount1);
        if base.is_none() && quote_needed.is_zero() {
            return Err(ApiError::bad_request(
                "baseTokenAmount",
                format!("the range is beyond the price and takes only {}: give baseTokenAmount", self.base.symbol),
            ));
        }
        if quote.is_none() && base_needed.is_zero() {
            return Err(ApiError::bad_request(
                "quoteTokenAmount",
                format!("the range is beyond the price and takes only {}: give quoteTokenAmount", self.quote.symbol),
            ));
        }
        let base_limited = match (base, quote) {
            (Some(b), Some(q)) => {
                let only_base = liquidity_for_amounts(
                    sqrt,
                    lower,
                    upper,
                    if self.orientation.base_is_token0 { b } else { unbounded },
                    if self.orientation.base_is_token0 { unbounded } else { b },
                )?;
                let only_quote = liquidity_for_amounts(
                    sqrt,
                    lower,
                    upper,
                    if self.orientation.base_is_token0 { unbounded } else { q },
                    if self.orientation.base_is_token0 { q } else { unbounded },
                )?;
                only_base <= only_quote
            }
            (Some(_), None) => true,
            _ => false,
        };
        Ok(Sizing { liquidity, amount0, amount1, base_limited })
    }
}

struct Sizing {
    liquidity: u128,
    amount0: U256,
    amount1: U256,
    base_limited: bool,
}

fn npm(market: &Market) -> ApiResult<V3Deployment> {
    market.dex.v3.clone().ok_or_else(|| {
        ApiError::bad_request("connector", format!("{} has no clmm pools on {}", market.connector, market.network_name))
    })
}

fn pool_address(request: &PositionRequest) -> ApiResult<Address> {
    parse_address(
        "poolAddress",
        request.pool_address.as_deref().ok_or_else(|| ApiError::bad_request("poolAddress", "is required"))?,
    )
}

fn token_id(request: &PositionRequest) -> ApiResult<U256> {
    let text = request
        .position_address
        .as_deref()
        .ok_or_else(|| ApiError::bad_request("positionAddress", "is required: the position's token id"))?;
    // An empty string parses as 0, which is not a position anyone holds.
    let digits = text.trim();
    let parsed = (!digits.is_empty()).then(|| digits.parse::<U256>().ok()).flatten();
    parsed.ok_or_else(|| {
        ApiError::bad_request("positionAddress", format!("{} is not a position token id", chains::quoted(text)))
    })
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QuotePositionResponse {
    pool_address: String,
    /// Whether the base amount decided the liquidity.
    base_limited: bool,
    #[schema(value_type = f64)]
    base_token_amount: Human,
    #[schema(value_type = f64)]
    quote_token_amount: Human,
    /// With the slippage tolerance.
    #[schema(value_type = f64)]
    base_token_amount_max: Human,
    #[schema(value_type = f64)]
    quote_token_amount_max: Human,
    liquidity: String,
    lower_bin_id: i32,
    upper_bin_id: i32,
}

/// What opening a position in a range would take: the liquidity and both amounts.
pub async fn quote_position(
    state: &AppState,
    connector: Option<&str>,
    request: PositionRequest,
) -> ApiResult<QuotePositionResponse> {
    let market = Market::resolve(state, request.venue(connector)).await?;
    let sides = Sides::of(state, &market, pool_address(&request)?).await?;
    let (lower, upper) = sides.ticks(request.lower_price, request.upper_price)?;
    let sizing = sides.size(lower, upper, request.base_token_amount.as_ref(), request.quote_token_amount.as_ref())?;
    let (base, quote) = sides.split(sizing.amount0, sizing.amount1);
    let fmt = |amount: U256, token: &Token| Human(chains::amount::format_units(amount, token.decimals));
    Ok(QuotePositionResponse {
        pool_address: chains::checksum(sides.pool.address),
        base_limited: sizing.base_limited,
        base_token_amount: fmt(base, &sides.base),
        quote_token_amount: fmt(quote, &sides.quote),
        base_token_amount_max: fmt(market.max_in(base), &sides.base),
        quote_token_amount_max: fmt(market.max_in(quote), &sides.quote),
        liquidity: sizing.liquidity.to_string(),
        lower_bin_id: lower,
        upper_bin_id: upper,
    })
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LiquidityData {
    /// Gas fee in the native currency.
    #[schema(value_type = f64)]
    fee: Human,
    pool_address: String,
    /// The position's token id.
    position_address: String,
    /// Solana's rent; always 0 here.
    #[schema(value_type = f64)]
    position_rent: Human,
    /// Solana's rent given back when a position closes; always 0 here (Hummingbot's client requires a number).
    #[schema(value_type = f64)]
    position_rent_refunded: Human,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<f64>)]
    base_token_amount_added: Option<Human>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<f64>)]
    quote_token_amount_added: Option<Human>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<f64>)]
    base_token_amount_removed: Option<Human>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<f64>)]
    quote_token_amount_removed: Option<Human>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<f64>)]
    base_fee_amount_collected: Option<Human>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<f64>)]
    quote_fee_amount_collected: Option<Human>,
}

impl LiquidityData {
    fn new(fee: Human, pool: Address, token_id: U256) -> Self {
        LiquidityData {
            fee,
            pool_address: chains::checksum(pool),
            position_address: token_id.to_string(),
            position_rent: Human("0".into()),
            position_rent_refunded: Human("0".into()),
            base_token_amount_added: None,
            quote_token_amount_added: None,
            base_token_amount_removed: None,
            quote_token_amount_removed: None,
            base_fee_amount_collected: None,
            quote_fee_amount_collected: None,
        }
    }
}

/// What the position manager's events in a receipt say happened to a position.
#[derive(Default)]
struct Moved {
    token_id: U256,
    added: (U256, U256),
    removed: (U256, U256),
    collected: (U256, U256),
}

fn moved(receipt: &TransactionReceipt, npm: Address) -> Moved {
    let mut moved = Moved::default();
    for log in receipt.inner.logs().iter().filter(|log| log.address() == npm) {
        if let Ok(event) = Npm::IncreaseLiquidity::decode_log(&log.inner) {
            moved.token_id = event.tokenId;
            moved.added = (moved.added.0 + event.amount0, moved.added.1 + event.amount1);
        } else if let Ok(event) = Npm::DecreaseLiquidity::decode_log(&log.inner) {
            moved.removed = (moved.removed.0 + event.amount0, moved.removed.1 + event.amount1);
        } else if let Ok(event) = Npm::Collect::decode_log(&log.inner) {
            moved.collected = (moved.collected.0 + event.amount0, moved.collected.1 + event.amount1);
        }
    }
    moved
}

/// Checks both allowances to the position manager, then sends the call.
async fn send_to_npm(
    state: &AppState,
    market: &Market,
    request: &PositionRequest,
    sides: &Sides,
    needed: Option<(U256, U256)>,
    data: Vec<u8>,
    label: &str,
) -> ApiResult<(alloy::primitives::Address, chains::tx::SentTx, chains::tx::Outcome)> {
    let (owner, signer) = market.wallet(state, request.wallet_address.as_deref())?;
    let v3 = npm(market)?;
    if let Some((amount0, amount1)) = needed {
        let spender_name = format!("{}/clmm", market.connector);
        let (token0, token1) =
            if sides.orientation.base_is_token0 { (&sides.base, &sides.quote) } else { (&sides.quote, &sides.base) };
        market.require_allowance(owner, token0, v3.position_manager, amount0, &spender_name).await?;
        market.require_allowance(owner, token1, v3.position_manager, amount1, &spender_name).await?;
    }
    let (sent, outcome) = market.send(state, &signer, Call::new(v3.position_manager, data), label).await?;
    Ok((owner, sent, outcome))
}

/// Opens a position: mints the NFT for the range with the amounts the price calls for.
pub async fn open(
    state: &AppState,
    connector: Option<&str>,
    request: PositionRequest,
) -> ApiResult<TxResponse<LiquidityData>> {
    let market = Market::resolve(state, request.venue(connector)).await?;
    let sides = Sides::of(state, &market, pool_address(&request)?).await?;
    let (lower, upper) = sides.ticks(request.lower_price, request.upper_price)?;
    let sizing = sides.size(lower, upper, request.base_token_amount.as_ref(), request.quote_token_amount.as_ref())?;
    let (owner, _) = market.wallet(state, request.wallet_address.as_deref())?;
    let params = Npm::MintParams {
        token0: sides.pool.token0,
        token1: sides.pool.token1,
        fee: alloy::primitives::aliases::U24::from(sides.pool.fee),
        tickLower: int24(lower),
        tickUpper: int24(upper),
        amount0Desired: sizing.amount0,
        amount1Desired: sizing.amount1,
        amount0Min: market.min_out(sizing.amount0),
        amount1Min: market.min_out(sizing.amount1),
        recipient: owner,
        deadline: market.deadline(),
    };
    let data = Npm::mintCall { params }.abi_encode();
    let (_, sent, outcome) =
        send_to_npm(state, &market, &request, &sides, Some((sizing.amount0, sizing.amount1)), data, "open-position")
            .await?;
    let v3 = npm(&market)?;
    let data = status_of(&outcome).1.map(|receipt| {
        let moved = moved(receipt, v3.position_manager);
        let mut data = LiquidityData::new(fee_of(&outcome), sides.pool.address, moved.token_id);
        let (base, quote) = sides.human(moved.added.0, moved.added.1);
        data.base_token_amount_added = Some(base);
        data.quote_token_amount_added = Some(quote);
        data
    });
    Ok(TxResponse::new(&sent, &outcome, data))
}

fn int24(tick: i32) -> alloy::primitives::aliases::I24 {
    alloy::primitives::aliases::I24::try_from(tick).expect("ticks fit in 24 bits")
}

/// A position as the position manager holds it, with its pool.
struct Held {
    token_id: U256,
    owner: Address,
    lower: i32,
    upper: i32,
    liquidity: u128,
    sides: Sides,
}

async fn held(state: &AppState, market: &Market, token_id: U256) -> ApiResult<Held> {
    let v3 = npm(market)?;
    let calls = vec![
        (v3.position_manager, Bytes::from(Npm::positionsCall { tokenId: token_id }.abi_encode())),
        (v3.position_manager, Bytes::from(Npm::ownerOfCall { tokenId: token_id }.abi_encode())),
    ];
    let results = multicall(&market.network, calls, None).await?;
    let missing = || {
        ApiError::not_found(format!(
            "position {token_id} does not exist on {} {}",
            market.connector, market.network_name
        ))
    };
    let position =
        results[0].as_ref().and_then(|d| Npm::positionsCall::abi_decode_returns(d).ok()).ok_or_else(missing)?;
    let owner = results[1].as_ref().and_then(|d| Npm::ownerOfCall::abi_decode_returns(d).ok()).ok_or_else(missing)?;
    let pool = v3.pool_address(position.token0, position.token1, position.fee.to::<u32>());
    Ok(Held {
        token_id,
        owner,
        lower: position.tickLower.as_i32(),
        upper: position.tickUpper.as_i32(),
        liquidity: position.liquidity,
        sides: Sides::of(state, market, pool).await?,
    })
}

/// The market and the position a request names, which must belong to the request's wallet.
async fn owned(state: &AppState, connector: Option<&str>, request: &PositionRequest) -> ApiResult<(Market, Held)> {
    let market = Market::resolve(state, request.venue(connector)).await?;
    let position = held(state, &market, token_id(request)?).await?;
    let (wallet, _) = market.wallet(state, request.wallet_address.as_deref())?;
    if position.owner != wallet {
        return Err(ApiError::bad_request(
            "positionAddress",
            format!("position {} belongs to {}, not {wallet}", position.token_id, position.owner),
        ));
    }
    Ok((market, position))
}

impl Held {
    fn collect_call(&self) -> Vec<u8> {
        Npm::collectCall {
            params: Npm::CollectParams {
                tokenId: self.token_id,
                recipient: self.owner,
                amount0Max: MAX_COLLECT,
                amount1Max: MAX_COLLECT,
            },
        }
        .abi_encode()
    }

    fn decrease_call(&self, market: &Market, liquidity: u128) -> ApiResult<Vec<u8>> {
        let (amount0, amount1) =
            amounts_for_liquidity(self.sides.pool.sqrt_price_x96, self.lower, self.upper, liquidity, false)?;
        Ok(Npm::decreaseLiquidityCall {
            params: Npm::DecreaseLiquidityParams {
                tokenId: self.token_id,
                liquidity,
                amount0Min: market.min_out(amount0),
                amount1Min: market.min_out(amount1),
                deadline: market.deadline(),
            },
        }
        .abi_encode())
    }

    /// The fees (and anything else owed) a collect would pay now, by running it as a call from the owner.
    async fn owed(&self, market: &Market) -> ApiResult<(U256, U256)> {
        let v3 = npm(market)?;
        let request =
            TransactionRequest::default().from(self.owner).to(v3.position_manager).with_input(self.collect_call());
        let result = market.network.provider().call(request).await.map_err(|e| market.network.rpc_error(e))?;
        let owed = Npm::collectCall::abi_decode_returns(&result).map_err(ApiError::internal)?;
        Ok((owed.amount0, owed.amount1))
    }
}

/// Adds liquidity to a position, in its range, with the amounts the price calls for.
pub async fn add(
    state: &AppState,
    connector: Option<&str>,
    request: PositionRequest,
) -> ApiResult<TxResponse<LiquidityData>> {
    let (market, position) = owned(state, connector, &request).await?;
    let sides = &position.sides;
    let sizing = sides.size(
        position.lower,
        position.upper,
        request.base_token_amount.as_ref(),
        request.quote_token_amount.as_ref(),
    )?;
    let data = Npm::increaseLiquidityCall {
        params: Npm::IncreaseLiquidityParams {
            tokenId: position.token_id,
            amount0Desired: sizing.amount0,
            amount1Desired: sizing.amount1,
            amount0Min: market.min_out(sizing.amount0),
            amount1Min: market.min_out(sizing.amount1),
            deadline: market.deadline(),
        },
    }
    .abi_encode();
    let (_, sent, outcome) =
        send_to_npm(state, &market, &request, sides, Some((sizing.amount0, sizing.amount1)), data, "add-liquidity")
            .await?;
    let v3 = npm(&market)?;
    let data = status_of(&outcome).1.map(|receipt| {
        let moved = moved(receipt, v3.position_manager);
        let mut data = LiquidityData::new(fee_of(&outcome), sides.pool.address, position.token_id);
        let (base, quote) = sides.human(moved.added.0, moved.added.1);
        data.base_token_amount_added = Some(base);
        data.quote_token_amount_added = Some(quote);
        data
    });
    Ok(TxResponse::new(&sent, &outcome, data))
}

/// Removes a percentage of a position's liquidity and collects it (with any fees owed) in one transaction.
pub async fn remove(
    state: &AppState,
    connector: Option<&str>,
    request: PositionRequest,
) -> ApiResult<TxResponse<LiquidityData>> {
    let percentage = request.percentage_to_remove()?;
    let (market, position) = owned(state, connector, &request).await?;
    if position.liquidity == 0 {
        return Err(ApiError::bad_request(
            "positionAddress",
            format!("position {} holds no liquidity", position.token_id),
        ));
    }
    let liquidity = (U256::from(position.liquidity) * U256::from((percentage * 10_000.0).round() as u64)
        / U256::from(1_000_000u64))
    .to::<u128>();
    let calls = vec![position.decrease_call(&market, liquidity)?.into(), position.collect_call().into()];
    liquidity_change(state, &market, &request, &position, calls, "remove-liquidity", false).await
}

/// Collects the fees a position has earned.
pub async fn collect_fees(
    state: &AppState,
    connector: Option<&str>,
    request: PositionRequest,
) -> ApiResult<TxResponse<LiquidityData>> {
    let (market, position) = owned(state, connector, &request).await?;
    liquidity_change(state, &market, &request, &position, vec![position.collect_call().into()], "collect-fees", false)
        .await
}

/// Closes a position: removes all its liquidity, collects everything and burns the NFT, in one transaction.
pub async fn close(
    state: &AppState,
    connector: Option<&str>,
    request: PositionRequest,
) -> ApiResult<TxResponse<LiquidityData>> {
    let (market, position) = owned(state, connector, &request).await?;
    let mut calls: Vec<Bytes> = Vec::new();
    if position.liquidity > 0 {
        calls.push(position.decrease_call(&market, position.liquidity)?.into());
    }
    calls.push(position.collect_call().into());
    calls.push(Npm::burnCall { tokenId: position.token_id }.abi_encode().into());
    liquidity_change(state, &market, &request, &position, calls, "close-position", true).await
}

async fn liquidity_change(
    state: &AppState,
    market: &Market,
    request: &PositionRequest,
    position: &Held,
    calls: Vec<Bytes>,
    label: &str,
    closing: bool,
) -> ApiResult<TxResponse<LiquidityData>> {
    let data = if calls.len() == 1 { calls[0].to_vec() } else { Npm::multicallCall { data: calls }.abi_encode() };
    let (_, sent, outcome) = send_to_npm(state, market, request, &position.sides, None, data, label).await?;
    let v3 = npm(market)?;
    let sides = &position.sides;
    let data = status_of(&outcome).1.map(|receipt| {
        let moved = moved(receipt, v3.position_manager);
        let mut data = LiquidityData::new(fee_of(&outcome), sides.pool.address, position.token_id);
        let removes = label != "collect-fees";
        let fees =
            (moved.collected.0.saturating_sub(moved.removed.0), moved.collected.1.saturating_sub(moved.removed.1));
        if removes {
            let (base, quote) = sides.human(moved.removed.0, moved.removed.1);
            data.base_token_amount_removed = Some(base);
            data.quote_token_amount_removed = Some(quote);
        }
        if !removes || closing {
            let (base, quote) = sides.human(fees.0, fees.1);
            data.base_fee_amount_collected = Some(base);
            data.quote_fee_amount_collected = Some(quote);
        }
        data
    });
    Ok(TxResponse::new(&sent, &outcome, data))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PositionInfo {
    /// The position's token id.
    address: String,
    pool_address: String,
    base_token_address: String,
    quote_token_address: String,
    #[schema(value_type = f64)]
    base_token_amount: Human,
    #[schema(value_type = f64)]
    quote_token_amount: Human,
    /// Fees earned and not yet collected.
    #[schema(value_type = f64)]
    base_fee_amount: Human,
    #[schema(value_type = f64)]
    quote_fee_amount: Human,
    lower_bin_id: i32,
    upper_bin_id: i32,
    lower_price: f64,
    upper_price: f64,
    /// The pool's price now, quote per base.
    #[schema(value_type = f64)]
    price: Human,
    in_range: bool,
    liquidity: String,
}

async fn info(market: &Market, position: &Held) -> ApiResult<PositionInfo> {
    let sides = &position.sides;
    let (amount0, amount1) =
        amounts_for_liquidity(sides.pool.sqrt_price_x96, position.lower, position.upper, position.liquidity, false)?;
    let (owed0, owed1) = position.owed(market).await?;
    let (base, quote) = sides.human(amount0, amount1);
    let (base_fee, quote_fee) = sides.human(owed0, owed1);
    let (price_a, price_b) =
        (sides.orientation.price_at_tick(position.lower), sides.orientation.price_at_tick(position.upper));
    Ok(PositionInfo {
        address: position.token_id.to_string(),
        pool_address: chains::checksum(sides.pool.address),
        base_token_address: chains::checksum(sides.base.address),
        quote_token_address: chains::checksum(sides.quote.address),
        base_token_amount: base,
        quote_token_amount: quote,
        base_fee_amount: base_fee,
        quote_fee_amount: quote_fee,
        lower_bin_id: position.lower,
        upper_bin_id: position.upper,
        lower_price: price_a.min(price_b),
        upper_price: price_a.max(price_b),
        price: Human(sides.orientation.price_from_sqrt(sides.pool.sqrt_price_x96)),
        in_range: position.lower <= sides.pool.tick && sides.pool.tick < position.upper,
        liquidity: position.liquidity.to_string(),
    })
}

/// A position's amounts, uncollected fees, range and whether the price is in it.
pub async fn position_info(
    state: &AppState,
    connector: Option<&str>,
    request: PositionRequest,
) -> ApiResult<PositionInfo> {
    let market = Market::resolve(state, request.venue(connector)).await?;
    let position = held(state, &market, token_id(&request)?).await?;
    info(&market, &position).await
}

/// The wallet's positions (in one pool when `poolAddress` is given).
pub async fn positions_owned(
    state: &AppState,
    connector: Option<&str>,
    request: PositionRequest,
) -> ApiResult<Vec<PositionInfo>> {
    let market = Market::resolve(state, request.venue(connector)).await?;
    let owner =
        crate::http::params::wallet_address(&market.config, "walletAddress", request.wallet_address.as_deref())?;
    let pool_filter = request
        .pool_address
        .as_deref()
        .filter(|p| !p.is_empty())
        .map(|p| parse_address("poolAddress", p))
        .transpose()?;
    let v3 = npm(&market)?;
    let balance_call = vec![(v3.position_manager, Bytes::from(Npm::balanceOfCall { owner }.abi_encode()))];
    let count = multicall(&market.network, balance_call, None).await?[0]
        .as_ref()
        .and_then(|d| Npm::balanceOfCall::abi_decode_returns(d).ok())
        .unwrap_or_default()
        .to::<u64>();
    let index_calls = (0..count)
        .map(|index| {
            (
                v3.position_manager,
                Bytes::from(Npm::tokenOfOwnerByIndexCall { owner, index: U256::from(index) }.abi_encode()),
            )
        })
        .collect();
    let mut positions = Vec::new();
    for result in multicall(&market.network, index_calls, None).await? {
        let Some(token_id) = result.as_ref().and_then(|d| Npm::tokenOfOwnerByIndexCall::abi_decode_returns(d).ok())
        else {
            continue;
        };
        let position = held(state, &market, token_id).await?;
        if pool_filter.is_none_or(|pool| pool == position.sides.pool.address) {
            positions.push(info(&market, &position).await?);
        }
    }
    Ok(positions)
}
