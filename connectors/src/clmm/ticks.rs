//! Tick math as the pools and position managers compute it: the tick range, a tick's square-root price, and
//! liquidity against token amounts.

use alloy::primitives::U256;
use alloy::primitives::aliases::{I24, U160};
use uniswap_v3_sdk::prelude::{get_amount_0_delta, get_amount_1_delta, get_sqrt_ratio_at_tick, mul_div};

use crate::core::error::{ConnectorError, Field};

pub const MIN_TICK: i32 = -887_272;
pub const MAX_TICK: i32 = 887_272;
const Q96: U256 = U256::from_limbs([0, 1 << 32, 0, 0]);

pub fn usable_min(tick_spacing: i32) -> i32 {
    -(MAX_TICK / tick_spacing) * tick_spacing
}

pub fn usable_max(tick_spacing: i32) -> i32 {
    (MAX_TICK / tick_spacing) * tick_spacing
}

/// A tick as the contracts take it, in 24 bits.
pub fn int24(tick: i32) -> Result<I24, ConnectorError> {
    I24::try_from(tick).map_err(|_| ConnectorError::invalid(Field::Tick, "out of range"))
}

pub fn sqrt_at(tick: i32) -> Result<U160, ConnectorError> {
    get_sqrt_ratio_at_tick(int24(tick)?).map_err(|e| ConnectorError::Math(e.to_string()))
}

/// Token amounts for `liquidity` in [lower, upper) at the current price; `round_up` as the pool does when
/// adding (true) or removing (false).
pub fn amounts_for_liquidity(
    sqrt_price: U160,
    lower: i32,
    upper: i32,
    liquidity: u128,
    round_up: bool,
) -> Result<(U256, U256), ConnectorError> {
    let (a, b) = (sqrt_at(lower)?, sqrt_at(upper)?);
    let math = |e: uniswap_v3_sdk::error::Error| ConnectorError::Math(e.to_string());
    if sqrt_price <= a {
        Ok((get_amount_0_delta(a, b, liquidity, round_up).map_err(math)?, U256::ZERO))
    } else if sqrt_price < b {
        Ok((
            get_amount_0_delta(sqrt_price, b, liquidity, round_up).map_err(math)?,
            get_amount_1_delta(a, sqrt_price, liquidity, round_up).map_err(math)?,
        ))
    } else {
        Ok((U256::ZERO, get_amount_1_delta(a, b, liquidity, round_up).map_err(math)?))
    }
}

/// The liquidity the position manager mints for the desired amounts (its `LiquidityAmounts` library).
pub fn liquidity_for_amounts(
    sqrt_price: U160,
    lower: i32,
    upper: i32,
    amount0: U256,
    amount1: U256,
) -> Result<u128, ConnectorError> {
    let (a, b) = (U256::from(sqrt_at(lower)?), U256::from(sqrt_at(upper)?));
    let current = U256::from(sqrt_price);
    let math = |e: uniswap_v3_sdk::error::Error| ConnectorError::Math(e.to_string());
    let for_amount0 = |lo: U256, hi: U256| -> Result<U256, ConnectorError> {
        let intermediate = mul_div(lo, hi, Q96).map_err(math)?;
        mul_div(amount0, intermediate, hi - lo).map_err(math)
    };
    let for_amount1 =
        |lo: U256, hi: U256| -> Result<U256, ConnectorError> { mul_div(amount1, Q96, hi - lo).map_err(math) };
    let liquidity = if current <= a {
        for_amount0(a, b)?
    } else if current < b {
        for_amount0(current, b)?.min(for_amount1(a, current)?)
    } else {
        for_amount1(a, b)?
    };
    u128::try_from(liquidity).map_err(|_| ConnectorError::invalid(Field::Amount, "is too large for one position"))
}
