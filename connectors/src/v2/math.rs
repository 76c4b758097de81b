//! Constant-product math, exactly as the V2 pair and its library compute it.

use alloy::primitives::U256;

/// Why a V2 quote is impossible.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum V2QuoteError {
    #[error("the pool has no liquidity")]
    NoLiquidity,
    #[error("the pool holds less than the amount asked for")]
    InsufficientReserve,
    #[error("the amount must be greater than zero")]
    ZeroAmount,
}

const BPS: u32 = 10_000;

/// `getAmountOut`: what `amount_in` buys, after the fee (in basis points).
pub fn amount_out(amount_in: U256, reserve_in: U256, reserve_out: U256, fee_bps: u32) -> Result<U256, V2QuoteError> {
    if amount_in.is_zero() {
        return Err(V2QuoteError::ZeroAmount);
    }
    if reserve_in.is_zero() || reserve_out.is_zero() {
        return Err(V2QuoteError::NoLiquidity);
    }
    let in_with_fee = amount_in * U256::from(BPS - fee_bps);
    Ok(in_with_fee * reserve_out / (reserve_in * U256::from(BPS) + in_with_fee))
}

/// `getAmountIn`: what it costs to receive exactly `amount_out`, after the fee.
pub fn amount_in(amount_out: U256, reserve_in: U256, reserve_out: U256, fee_bps: u32) -> Result<U256, V2QuoteError> {
    if amount_out.is_zero() {
        return Err(V2QuoteError::ZeroAmount);
    }
    if reserve_in.is_zero() || reserve_out.is_zero() {
        return Err(V2QuoteError::NoLiquidity);
    }
    if amount_out >= reserve_out {
        return Err(V2QuoteError::InsufficientReserve);
    }
    let numerator = reserve_in * amount_out * U256::from(BPS);
    let denominator = (reserve_out - amount_out) * U256::from(BPS - fee_bps);
    Ok(numerator / denominator + U256::from(1))
}

/// The Router's `quote`: the amount of the other token that keeps the pool's ratio.
pub fn proportional(amount_a: U256, reserve_a: U256, reserve_b: U256) -> Result<U256, V2QuoteError> {
    if reserve_a.is_zero() || reserve_b.is_zero() {
        return Err(V2QuoteError::NoLiquidity);
    }
    Ok(amount_a * reserve_b / reserve_a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_uniswap_v2_library() {
        // getAmountOut(1e18, 100e18, 200e18) with 0.3 %: 1.974316068794122597e18 (UniswapV2Library test vector).
        let e18 = U256::from(1_000_000_000_000_000_000u64);
        let out = amount_out(e18, U256::from(100) * e18, U256::from(200) * e18, 30).unwrap();
        assert_eq!(out, U256::from(1_974_316_068_794_122_597u64));
        let back = amount_in(out, U256::from(100) * e18, U256::from(200) * e18, 30).unwrap();
        assert!(back <= e18 && back > e18 - U256::from(2), "{back}");
        assert_eq!(
            amount_in(U256::from(200) * e18, U256::from(1), U256::from(200) * e18, 30),
            Err(V2QuoteError::InsufficientReserve)
        );
    }
}
