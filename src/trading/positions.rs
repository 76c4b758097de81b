//! `clmm` liquidity: positions are NonfungiblePositionManager NFTs (`positionAddress` is the token id).
//! Prices are quote per base as the client names them; ticks are rounded to the pool's spacing.

use std::sync::Arc;

use alloy::primitives::{Address, Bytes, U256};
use chains::erc20::Token;
use chains::tx::Call;
use connectors::v3::V3Deployment;
use connectors::v3::pool::V3PoolState;
use connectors::v3::position::{Orientation, amounts_for_liquidity, liquidity_for_amounts};
use connectors::v3::position_manager::{Position, PositionManager};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::pool::{base_of, pool_state};
use super::{Market, TxResponse, Venue, fee_of, status_of};
use crate::error::{ApiError, ApiResult};
use crate::request::{AmountText, Human, parse_address};
use crate::state::AppState;

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

fn v3_of(market: &Market) -> ApiResult<&V3Deployment> {
    market.dex.v3.as_ref().ok_or_else(|| {
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

/// Checks both allowances to the position manager, then sends the call.
async fn send_to_manager(
    state: &AppState,
    market: &Market,
    request: &PositionRequest,
    sides: &Sides,
    needed: Option<(U256, U256)>,
    call: Call,
    label: &str,
) -> ApiResult<(chains::tx::SentTx, chains::tx::Outcome)> {
    let (owner, signer) = market.wallet(state, request.wallet_address.as_deref())?;
    if let Some((amount0, amount1)) = needed {
        let spender_name = format!("{}/clmm", market.connector);
        let (token0, token1) =
            if sides.orientation.base_is_token0 { (&sides.base, &sides.quote) } else { (&sides.quote, &sides.base) };
        market.require_allowance(owner, token0, call.to, amount0, &spender_name).await?;
        market.require_allowance(owner, token1, call.to, amount1, &spender_name).await?;
    }
    market.send(state, &signer, call, label).await
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
    let manager = PositionManager::new(v3_of(&market)?);
    let desired = (sizing.amount0, sizing.amount1);
    let least = (market.min_out(sizing.amount0), market.min_out(sizing.amount1));
    let call = manager.mint(&sides.pool, (lower, upper), desired, least, owner, market.deadline());
    let (sent, outcome) =
        send_to_manager(state, &market, &request, &sides, Some(desired), call, "open-position").await?;
    let data = status_of(&outcome).1.map(|receipt| {
        let moved = manager.moved(receipt);
        let mut data = LiquidityData::new(fee_of(&outcome), sides.pool.address, moved.token_id);
        let (base, quote) = sides.human(moved.added.0, moved.added.1);
        data.base_token_amount_added = Some(base);
        data.quote_token_amount_added = Some(quote);
        data
    });
    Ok(TxResponse::new(&sent, &outcome, data))
}

/// A position as the position manager holds it, with its pool.
struct Held {
    position: Position,
    sides: Sides,
}

async fn held(state: &AppState, market: &Market, token_id: U256) -> ApiResult<Held> {
    let manager = PositionManager::new(v3_of(market)?);
    let position = manager.position(&market.network, token_id).await?.ok_or_else(|| {
        ApiError::not_found(format!(
            "position {token_id} does not exist on {} {}",
            market.connector, market.network_name
        ))
    })?;
    let sides = Sides::of(state, market, position.pool).await?;
    Ok(Held { position, sides })
}

/// The market and the position a request names, which must belong to the request's wallet.
async fn owned(state: &AppState, connector: Option<&str>, request: &PositionRequest) -> ApiResult<(Market, Held)> {
    let market = Market::resolve(state, request.venue(connector)).await?;
    let position = held(state, &market, token_id(request)?).await?;
    let (wallet, _) = market.wallet(state, request.wallet_address.as_deref())?;
    let Position { owner, token_id, .. } = position.position;
    if owner != wallet {
        return Err(ApiError::bad_request(
            "positionAddress",
            format!("position {token_id} belongs to {owner}, not {wallet}"),
        ));
    }
    Ok((market, position))
}

impl Held {
    fn collect_call(&self) -> Bytes {
        PositionManager::collect_all(self.position.token_id, self.position.owner)
    }

    fn decrease_call(&self, market: &Market, liquidity: u128) -> ApiResult<Bytes> {
        let Position { token_id, lower, upper, .. } = self.position;
        let (amount0, amount1) = amounts_for_liquidity(self.sides.pool.sqrt_price_x96, lower, upper, liquidity, false)?;
        let least = (market.min_out(amount0), market.min_out(amount1));
        Ok(PositionManager::decrease(token_id, liquidity, least, market.deadline()))
    }
}

/// Adds liquidity to a position, in its range, with the amounts the price calls for.
pub async fn add(
    state: &AppState,
    connector: Option<&str>,
    request: PositionRequest,
) -> ApiResult<TxResponse<LiquidityData>> {
    let (market, held) = owned(state, connector, &request).await?;
    let (sides, position) = (&held.sides, &held.position);
    let sizing = sides.size(
        position.lower,
        position.upper,
        request.base_token_amount.as_ref(),
        request.quote_token_amount.as_ref(),
    )?;
    let manager = PositionManager::new(v3_of(&market)?);
    let desired = (sizing.amount0, sizing.amount1);
    let least = (market.min_out(sizing.amount0), market.min_out(sizing.amount1));
    let call = manager.increase(position.token_id, desired, least, market.deadline());
    let (sent, outcome) =
        send_to_manager(state, &market, &request, sides, Some(desired), call, "add-liquidity").await?;
    let data = status_of(&outcome).1.map(|receipt| {
        let moved = manager.moved(receipt);
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
    let (market, held) = owned(state, connector, &request).await?;
    let Position { token_id, liquidity, .. } = held.position;
    if liquidity == 0 {
        return Err(ApiError::bad_request("positionAddress", format!("position {token_id} holds no liquidity")));
    }
    let removed = (U256::from(liquidity) * U256::from((percentage * 10_000.0).round() as u64)
        / U256::from(1_000_000u64))
    .to::<u128>();
    let calls = vec![held.decrease_call(&market, removed)?, held.collect_call()];
    liquidity_change(state, &market, &request, &held, calls, Change::Remove).await
}

/// Collects the fees a position has earned.
pub async fn collect_fees(
    state: &AppState,
    connector: Option<&str>,
    request: PositionRequest,
) -> ApiResult<TxResponse<LiquidityData>> {
    let (market, held) = owned(state, connector, &request).await?;
    liquidity_change(state, &market, &request, &held, vec![held.collect_call()], Change::CollectFees).await
}

/// Closes a position: removes all its liquidity, collects everything and burns the NFT, in one transaction.
pub async fn close(
    state: &AppState,
    connector: Option<&str>,
    request: PositionRequest,
) -> ApiResult<TxResponse<LiquidityData>> {
    let (market, held) = owned(state, connector, &request).await?;
    let Position { token_id, liquidity, .. } = held.position;
    let mut calls = Vec::new();
    if liquidity > 0 {
        calls.push(held.decrease_call(&market, liquidity)?);
    }
    calls.push(held.collect_call());
    calls.push(PositionManager::burn(token_id));
    liquidity_change(state, &market, &request, &held, calls, Change::Close).await
}

/// What a liquidity change takes out of a position, which decides what its answer reports.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Change {
    /// Liquidity, and the fees that come with it: reported as removed.
    Remove,
    /// Fees only.
    CollectFees,
    /// Everything, then the NFT burnt: liquidity removed and fees collected, apart.
    Close,
}

impl Change {
    fn label(self) -> &'static str {
        match self {
            Change::Remove => "remove-liquidity",
            Change::CollectFees => "collect-fees",
            Change::Close => "close-position",
        }
    }
}

async fn liquidity_change(
    state: &AppState,
    market: &Market,
    request: &PositionRequest,
    held: &Held,
    calls: Vec<Bytes>,
    change: Change,
) -> ApiResult<TxResponse<LiquidityData>> {
    let manager = PositionManager::new(v3_of(market)?);
    let sides = &held.sides;
    let call = manager.batch(calls);
    let (sent, outcome) = send_to_manager(state, market, request, sides, None, call, change.label()).await?;
    let data = status_of(&outcome).1.map(|receipt| {
        let moved = manager.moved(receipt);
        let mut data = LiquidityData::new(fee_of(&outcome), sides.pool.address, held.position.token_id);
        let fees =
            (moved.collected.0.saturating_sub(moved.removed.0), moved.collected.1.saturating_sub(moved.removed.1));
        if change != Change::CollectFees {
            let (base, quote) = sides.human(moved.removed.0, moved.removed.1);
            data.base_token_amount_removed = Some(base);
            data.quote_token_amount_removed = Some(quote);
        }
        if change != Change::Remove {
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

async fn info(market: &Market, held: &Held) -> ApiResult<PositionInfo> {
    let (sides, position) = (&held.sides, &held.position);
    let (amount0, amount1) =
        amounts_for_liquidity(sides.pool.sqrt_price_x96, position.lower, position.upper, position.liquidity, false)?;
    let (owed0, owed1) = PositionManager::new(v3_of(market)?).owed(&market.network, position).await?;
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
    let owner = crate::request::wallet_address(&market.config, "walletAddress", request.wallet_address.as_deref())?;
    let pool_filter = request
        .pool_address
        .as_deref()
        .filter(|p| !p.is_empty())
        .map(|p| parse_address("poolAddress", p))
        .transpose()?;
    let token_ids = PositionManager::new(v3_of(&market)?).token_ids(&market.network, owner).await?;
    let mut positions = Vec::new();
    for token_id in token_ids {
        let position = held(state, &market, token_id).await?;
        if pool_filter.is_none_or(|pool| pool == position.sides.pool.address) {
            positions.push(info(&market, &position).await?);
        }
    }
    Ok(positions)
}
