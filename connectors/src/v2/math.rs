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

/// What a deposit of at most `base` and at most `quote` puts into a pair holding `reserves` (base, quote), at
/// its ratio: the amounts, and whether the base amount decided them. An amount not given follows from the other;
/// with neither, nothing goes in.
pub fn deposit(
    base: Option<U256>,
    quote: Option<U256>,
    reserves: (U256, U256),
) -> Result<(U256, U256, bool), V2QuoteError> {
    let (base_reserve, quote_reserve) = reserves;
    match (base, quote) {
        (None, None) => Ok((U256::ZERO, U256::ZERO, false)),
        (Some(b), None) => Ok((b, proportional(b, base_reserve, quote_reserve)?, true)),
        (None, Some(q)) => Ok((proportional(q, quote_reserve, base_reserve)?, q, false)),
        (Some(b), Some(q)) => {
            let quote_for_base = proportional(b, base_reserve, quote_reserve)?;
            if quote_for_base <= q {
                Ok((b, quote_for_base, true))
            } else {
                Ok((proportional(q, quote_reserve, base_reserve)?, q, false))
            }
        }
    }
}

/// What `pool_tokens` of a pair's `total_supply` redeem for, of each of its `reserves`.
pub fn redeemed(pool_tokens: U256, total_supply: U256, reserves: (U256, U256)) -> (U256, U256) {
    if total_supply.is_zero() {
        return (U256::ZERO, U256::ZERO);
    }
    (pool_tokens * reserves.0 / total_supply, pool_tokens * reserves.1 / total_supply)
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

    #[test]
    fn a_deposit_takes_the_pairs_ratio_from_whichever_amount_binds() {
        let e18 = |n: u64| U256::from(n) * U256::from(10u64.pow(18));
        // 100 WETH against 300,000 USDC (6 decimals): 1 WETH goes with 3,000 USDC.
        let reserves = (e18(100), U256::from(300_000_000_000u64));
        let usdc = |n: u64| U256::from(n * 1_000_000);
        assert_eq!(deposit(Some(e18(1)), None, reserves), Ok((e18(1), usdc(3_000), true)));
        assert_eq!(deposit(None, Some(usdc(1_500)), reserves), Ok((e18(1) / U256::from(2), usdc(1_500), false)));
        // Both given: the scarcer one decides, the other is cut to the ratio.
        assert_eq!(deposit(Some(e18(2)), Some(usdc(3_000)), reserves), Ok((e18(1), usdc(3_000), false)));
        assert_eq!(deposit(Some(e18(1)), Some(usdc(9_000)), reserves), Ok((e18(1), usdc(3_000), true)));
        assert_eq!(deposit(Some(e18(1)), None, (U256::ZERO, U256::ZERO)), Err(V2QuoteError::NoLiquidity));
    }

    #[test]
    fn pool_tokens_redeem_their_share_of_each_reserve_rounded_down() {
        let reserves = (U256::from(1_000), U256::from(3_001));
        assert_eq!(redeemed(U256::from(10), U256::from(100), reserves), (U256::from(100), U256::from(300)));
        assert_eq!(redeemed(U256::from(10), U256::ZERO, reserves), (U256::ZERO, U256::ZERO));
    }
}
