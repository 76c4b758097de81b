//! Positions in a price range: prices and ticks as the API's base and quote see them, a range's ticks, what a
//! deposit sizes to, and what the liquidity around the price holds.

use alloy::primitives::aliases::U160;
use alloy::primitives::{U256, U512};

use super::curve::Curve;
use super::ticks::{MAX_TICK, MIN_TICK, amounts_for_liquidity, liquidity_for_amounts, sqrt_at, usable_max, usable_min};
use crate::core::error::{ConnectorError, Field};

/// How a pool's tokens map onto the API's base and quote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Orientation {
    pub base_is_token0: bool,
    pub decimals0: u8,
    pub decimals1: u8,
}

impl Orientation {
    /// The tick whose price (quote per base, in human units) is closest to `price`, rounded to the spacing.
    pub fn tick_for_price(&self, price: f64, tick_spacing: i32) -> Result<i32, ConnectorError> {
        if !(price.is_finite() && price > 0.0) {
            return Err(ConnectorError::invalid(Field::Price, "must be a positive number"));
        }
        // token1 per token0, in raw units.
        let human_1_per_0 = if self.base_is_token0 { price } else { 1.0 / price };
        let raw = human_1_per_0 * 10f64.powi(self.decimals1 as i32 - self.decimals0 as i32);
        // A price beyond what a tick can say (its raw ratio even infinite or zero) is the end of the range.
        let tick = (raw.ln() / 1.0001f64.ln()).clamp(MIN_TICK as f64, MAX_TICK as f64).round();
        let spacing = tick_spacing as i64;
        let usable = ((tick / spacing as f64).round() as i64) * spacing;
        let (min, max) = (usable_min(tick_spacing) as i64, usable_max(tick_spacing) as i64);
        Ok(usable.clamp(min, max) as i32)
    }

    /// The price (quote per base) at a tick, as exact decimal text: the tick's sqrt price squared.
    pub fn exact_price_at_tick(&self, tick: i32) -> Result<String, ConnectorError> {
        Ok(self.price_from_sqrt(sqrt_at(tick)?))
    }

    /// The ticks of a price range (quote per base), rounded to the spacing, lower first.
    pub fn range(&self, lower_price: f64, upper_price: f64, tick_spacing: i32) -> Result<(i32, i32), ConnectorError> {
        if !(lower_price > 0.0 && upper_price > lower_price) {
            return Err(ConnectorError::invalid(Field::UpperPrice, "must be above lowerPrice, and both above zero"));
        }
        let a = self.tick_for_price(lower_price, tick_spacing)?;
        let b = self.tick_for_price(upper_price, tick_spacing)?;
        let (lower, upper) = (a.min(b), a.max(b));
        if lower == upper {
            return Err(ConnectorError::invalid(
                Field::UpperPrice,
                format!("the range is narrower than one tick spacing ({tick_spacing}) of this pool"),
            ));
        }
        Ok((lower, upper))
    }

    /// (of base, of quote) from (of token0, of token1).
    pub fn split<T>(&self, of0: T, of1: T) -> (T, T) {
        if self.base_is_token0 { (of0, of1) } else { (of1, of0) }
    }

    /// (of token0, of token1) from (of base, of quote): the same swap.
    pub fn join<T>(&self, of_base: T, of_quote: T) -> (T, T) {
        self.split(of_base, of_quote)
    }

    /// What a position in `[lower, upper)` takes at `sqrt_price` for at most `base` and/or at most `quote` (an
    /// amount not given is unbounded, so the other decides): the liquidity the position manager mints and the
    /// amounts it takes for it, rounded up as the pool rounds them.
    pub fn size(
        &self,
        sqrt_price: U160,
        (lower, upper): (i32, i32),
        base: Option<U256>,
        quote: Option<U256>,
    ) -> Result<Sizing, SizingError> {
        if base.is_none() && quote.is_none() {
            return Err(SizingError::NoAmount);
        }
        // A range beyond the price holds one token only: the other amount cannot size it.
        let price = U256::from(sqrt_price);
        let (takes0, takes1) = (price < U256::from(sqrt_at(upper)?), price > U256::from(sqrt_at(lower)?));
        match self.split(takes0, takes1) {
            (true, false) if base.is_none() => return Err(SizingError::TakesOnlyBase),
            (false, true) if quote.is_none() => return Err(SizingError::TakesOnlyQuote),
            _ => {}
        }
        let unbounded = U256::from(u128::MAX);
        let liquidity_for = |base: Option<U256>, quote: Option<U256>| {
            let (cap0, cap1) = self.join(base.unwrap_or(unbounded), quote.unwrap_or(unbounded));
            liquidity_for_amounts(sqrt_price, lower, upper, cap0, cap1)
        };
        let liquidity = liquidity_for(base, quote)?;
        if liquidity == 0 {
            return Err(SizingError::NoLiquidity);
        }
        let (amount0, amount1) = amounts_for_liquidity(sqrt_price, lower, upper, liquidity, true)?;
        let base_limited = match (base, quote) {
            (Some(_), Some(_)) => liquidity_for(base, None)? <= liquidity_for(None, quote)?,
            (Some(_), None) => true,
            _ => false,
        };
        Ok(Sizing { liquidity, amount0, amount1, base_limited })
    }

    /// The liquidity between consecutive initialized ticks of `pool`, the `count` ranges nearest its price, in
    /// price order, each with what it holds of base and quote.
    pub fn ranges_around(&self, pool: &Curve, count: usize) -> Result<Vec<TickRange>, ConnectorError> {
        let mut ranges = pool.ranges();
        let distance = |(lower, upper, _): &(i32, i32, u128)| {
            if pool.tick < *lower {
                lower - pool.tick
            } else if pool.tick >= *upper {
                pool.tick - upper + 1
            } else {
                0
            }
        };
        ranges.sort_by_key(distance);
        ranges.truncate(count);
        ranges.sort_by_key(|(lower, _, _)| *lower);
        ranges
            .into_iter()
            .map(|(lower, upper, liquidity)| {
                let (amount0, amount1) = amounts_for_liquidity(pool.sqrt_price_x96, lower, upper, liquidity, false)?;
                let (base, quote) = self.split(amount0, amount1);
                Ok(TickRange { lower, price: self.exact_price_at_tick(lower)?, base, quote })
            })
            .collect()
    }

    /// The decimals of (base, quote).
    pub fn decimals(&self) -> (u8, u8) {
        if self.base_is_token0 { (self.decimals0, self.decimals1) } else { (self.decimals1, self.decimals0) }
    }

    /// What `base` raw units of the base token are worth in raw units of the quote token at `sqrt_price_x96`
    /// (rounded down).
    pub fn quote_value(&self, sqrt_price_x96: U160, base: U256) -> U256 {
        // token1 per token0 as a Q128 number: sqrtP² / 2^192, kept in 256 bits by shifting 64 places first.
        let sqrt = U512::from(sqrt_price_x96);
        let price_x128: U512 = (sqrt * sqrt) >> 64usize;
        let value = match self.base_is_token0 {
            true => (U512::from(base) * price_x128) >> 128,
            false if price_x128.is_zero() => U512::ZERO,
            false => (U512::from(base) << 128) / price_x128,
        };
        U256::saturating_from(value)
    }

    /// The price (quote per base) from a sqrt price, as exact decimal text to 18 places.
    pub fn price_from_sqrt(&self, sqrt_price_x96: U160) -> String {
        // token1 per token0 (raw) = sqrtP² / 2^192; human = raw × 10^(d0 - d1).
        let sqrt = U512::from(sqrt_price_x96);
        let squared = sqrt * sqrt;
        let scale = U512::from(10).pow(U512::from(18));
        let (num, den) = (squared, U512::from(1) << 192);
        let (d0, d1) = (self.decimals0 as u64, self.decimals1 as u64);
        let (mut num, mut den) = if d0 >= d1 {
            (num * U512::from(10).pow(U512::from(d0 - d1)), den)
        } else {
            (num, den * U512::from(10).pow(U512::from(d1 - d0)))
        };
        if !self.base_is_token0 {
            (num, den) = (den, num);
        }
        let fixed = num * scale / den;
        chains::amount::format_units(U256::saturating_from(fixed), 18)
    }
}

/// What a position takes: the liquidity, and the (token0, token1) amounts for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sizing {
    pub liquidity: u128,
    pub amount0: U256,
    pub amount1: U256,
    /// Whether the base amount (rather than the quote amount) decided the liquidity.
    pub base_limited: bool,
}

/// Why amounts do not size a position.
#[derive(Debug, thiserror::Error)]
pub enum SizingError {
    #[error("give the base amount, the quote amount or both")]
    NoAmount,
    #[error("the amounts add no liquidity in this range at the current price")]
    NoLiquidity,
    /// The range lies beyond the price where it holds base only, and only quote was given.
    #[error("the range takes only the base token")]
    TakesOnlyBase,
    #[error("the range takes only the quote token")]
    TakesOnlyQuote,
    #[error(transparent)]
    Math(#[from] ConnectorError),
}

/// The liquidity between two consecutive initialized ticks, and what it holds.
#[derive(Debug, Clone, PartialEq)]
pub struct TickRange {
    pub lower: i32,
    /// Quote per base at the lower tick, as exact decimal text.
    pub price: String,
    pub base: U256,
    pub quote: U256,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_and_prices_round_trip() {
        // WETH (18) base, USDC (6) quote; USDC is token0 on mainnet.
        let orientation = Orientation { base_is_token0: false, decimals0: 6, decimals1: 18 };
        let tick = orientation.tick_for_price(3000.0, 10).unwrap();
        let price: f64 = orientation.exact_price_at_tick(tick).unwrap().parse().unwrap();
        assert!((price - 3000.0).abs() / 3000.0 < 0.001, "{tick} → {price}");
        let spacing_up: f64 = orientation.exact_price_at_tick(tick + 10).unwrap().parse().unwrap();
        assert!(spacing_up < price, "USDC is token0: quote per base falls as the tick rises");
    }

    #[test]
    fn a_base_amount_is_valued_in_the_quote_token_at_the_price() {
        // At tick 0 one raw unit of token0 is one of token1.
        let even = sqrt_at(0).unwrap();
        let token0_base = Orientation { base_is_token0: true, decimals0: 18, decimals1: 18 };
        assert_eq!(token0_base.quote_value(even, U256::from(1_000_000u64)), U256::from(1_000_000u64));
        // Price 4 (sqrt 2): a token0 is worth 4 of token1, a token1 a quarter of token0.
        let four = U160::from(2u8) << 96;
        assert_eq!(token0_base.quote_value(four, U256::from(10u64)), U256::from(40u64));
        let token1_base = Orientation { base_is_token0: false, ..token0_base };
        assert_eq!(token1_base.quote_value(four, U256::from(100u64)), U256::from(25u64));
    }

    #[test]
    fn liquidity_and_amounts_agree() {
        let sqrt = sqrt_at(100).unwrap();
        let liquidity =
            liquidity_for_amounts(sqrt, -600, 600, U256::from(10u64.pow(18)), U256::from(10u64.pow(18))).unwrap();
        let (a0, a1) = amounts_for_liquidity(sqrt, -600, 600, liquidity, true).unwrap();
        assert!(a0 <= U256::from(10u64.pow(18)) && a1 <= U256::from(10u64.pow(18)));
        assert!(
            a0 == U256::from(10u64.pow(18))
                || a1 >= U256::from(10u64.pow(18)) - U256::from(2)
                || a1 == U256::from(10u64.pow(18))
        );
    }

    /// The devnet's Uniswap V3 WETH/USDC 0.05 % pool at its start (USDC is token0): a position of 2 WETH between
    /// 2,500 and 3,500 USDC, as `open` minted it there (the IncreaseLiquidity event: liquidity and amounts taken).
    #[test]
    fn sizing_a_range_gives_what_the_position_manager_mints_on_the_devnet() {
        let weth_usdc = Orientation { base_is_token0: false, decimals0: 6, decimals1: 18 };
        let sqrt_price = U160::from(1_446_501_726_624_926_496_477_173_928_747_177u128);
        let ticks = weth_usdc.range(2500.0, 3500.0, 10).unwrap();
        assert_eq!(ticks, (194_720, 198_080));
        let two_weth = U256::from(2_000_000_000_000_000_000u128);
        let sizing = weth_usdc.size(sqrt_price, ticks, Some(two_weth), None).unwrap();
        assert_eq!(
            sizing,
            Sizing {
                liquidity: 1_481_582_764_730_151,
                amount0: U256::from(7_071_771_981u64),
                amount1: U256::from(1_999_999_999_999_999_275u128),
                base_limited: true,
            }
        );
        // With plenty of USDC as well, the WETH still decides; with little, the USDC does.
        let plenty = weth_usdc.size(sqrt_price, ticks, Some(two_weth), Some(U256::from(10_000_000_000u64))).unwrap();
        assert_eq!((plenty.liquidity, plenty.base_limited), (sizing.liquidity, true));
        let little = weth_usdc.size(sqrt_price, ticks, Some(two_weth), Some(U256::from(1_000_000_000u64))).unwrap();
        assert!(
            !little.base_limited
                && little.liquidity < sizing.liquidity
                && little.amount0 <= U256::from(1_000_000_000u64)
        );
    }

    #[test]
    fn sizing_says_which_amount_a_range_needs() {
        let weth_usdc = Orientation { base_is_token0: false, decimals0: 6, decimals1: 18 };
        let sqrt_price = U160::from(1_446_501_726_624_926_496_477_173_928_747_177u128);
        let above = weth_usdc.range(3500.0, 4000.0, 10).unwrap();
        let usdc = Some(U256::from(1_000_000_000u64));
        let only_usdc = weth_usdc.size(sqrt_price, above, None, usdc);
        assert!(matches!(only_usdc, Err(SizingError::TakesOnlyBase)), "{only_usdc:?}");
        let below = weth_usdc.range(2000.0, 2500.0, 10).unwrap();
        let weth = Some(U256::from(10u64.pow(18)));
        let only_weth = weth_usdc.size(sqrt_price, below, weth, None);
        assert!(matches!(only_weth, Err(SizingError::TakesOnlyQuote)), "{only_weth:?}");
        assert!(matches!(weth_usdc.size(sqrt_price, below, None, None), Err(SizingError::NoAmount)));
        assert!(matches!(
            weth_usdc.size(sqrt_price, below, Some(U256::from(1)), Some(U256::ZERO)),
            Err(SizingError::NoLiquidity)
        ));
        assert!(weth_usdc.range(3000.0, 3000.001, 10).is_err(), "narrower than a tick spacing");
        // Prices a tick cannot say clamp to the ends of the range, whichever way the ratio overflows.
        let usdc_weth = Orientation { base_is_token0: true, ..weth_usdc };
        for orientation in [weth_usdc, usdc_weth] {
            let ends =
                (orientation.tick_for_price(1e-320, 10).unwrap(), orientation.tick_for_price(1e308, 10).unwrap());
            assert!([ends, (ends.1, ends.0)].contains(&(usable_min(10), usable_max(10))), "{ends:?}");
        }
        assert!(weth_usdc.range(3500.0, 2500.0, 10).is_err(), "upper under lower");
    }

    #[test]
    fn the_ranges_nearest_the_price_come_in_price_order_with_what_each_holds() {
        let pool = crate::clmm::curve::tests_support::curve_with(
            0,
            10,
            &[(-100, 100, 1_000_000), (100, 200, 2_000_000), (-300, -100, 3_000_000)],
        );
        let base_is_token0 = Orientation { base_is_token0: true, decimals0: 18, decimals1: 18 };
        let ranges = base_is_token0.ranges_around(&pool, 2).unwrap();
        assert_eq!(ranges.iter().map(|range| range.lower).collect::<Vec<_>>(), vec![-100, 100]);
        // Above the price a range holds token0 only, here the base.
        assert!(ranges[1].base > U256::ZERO && ranges[1].quote.is_zero());
        assert!(ranges[0].base > U256::ZERO && ranges[0].quote > U256::ZERO, "the active range holds both");
        let flipped = Orientation { base_is_token0: false, ..base_is_token0 };
        let seen_as_quote = flipped.ranges_around(&pool, 3).unwrap();
        assert_eq!(seen_as_quote.len(), 3);
        assert_eq!((seen_as_quote[2].base, seen_as_quote[2].quote), (ranges[1].quote, ranges[1].base));
        let price = |range: &TickRange| range.price.parse::<f64>().unwrap();
        assert!((price(&seen_as_quote[2]) - 1.0 / price(&ranges[1])).abs() < 1e-12);
    }
}
