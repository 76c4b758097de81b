//! Amounts: raw `U256` with the token's decimals inside, human decimal text only at the API edge.
//! Conversions are exact, or, where asked, drop the digits past the token's decimals (rounding toward zero):
//! clients compute amounts as floats, and an amount a wallet pays, provides or grants must never grow.

use alloy::primitives::{U256, U512};

/// Every EVM chain counts its native currency in wei: 18 decimals.
pub const NATIVE_DECIMALS: u8 = 18;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    /// The input, quoted as [`crate::quoted`] shows it.
    #[error("{0} is not a number")]
    NotANumber(String),
    #[error("must not be negative")]
    Negative,
    #[error("has more than {0} decimal places, the most this token has")]
    TooPrecise(u8),
    #[error("is too large")]
    TooLarge,
}

/// What to do with digits past a token's decimals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rounding {
    Exact,
    Down,
}

/// A token amount: raw base units and the token's decimals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Amount {
    pub raw: U256,
    pub decimals: u8,
}

impl Amount {
    pub fn new(raw: U256, decimals: u8) -> Self {
        Amount { raw, decimals }
    }

    /// Parses human decimal text ("1.5", "0.000001", "1e-6", "2E3") for a token with `decimals`, exactly: more
    /// decimals than that is an error.
    pub fn parse(text: &str, decimals: u8) -> Result<Amount, AmountError> {
        Amount::parse_with(text, decimals, Rounding::Exact)
    }

    /// Parses human decimal text, dropping the digits past the token's `decimals` (2998.2388961234 USDC is
    /// 2998.238896): the amount never comes out larger than written.
    pub fn parse_down(text: &str, decimals: u8) -> Result<Amount, AmountError> {
        Amount::parse_with(text, decimals, Rounding::Down)
    }

    fn parse_with(text: &str, decimals: u8, rounding: Rounding) -> Result<Amount, AmountError> {
        let text = text.trim();
        let not_a_number = || AmountError::NotANumber(crate::quoted(text));
        if text.starts_with('-') {
            return Err(AmountError::Negative);
        }
        let unsigned = text.strip_prefix('+').unwrap_or(text);
        let (mantissa, exponent) = match unsigned.split_once(['e', 'E']) {
            Some((m, e)) => (m, e.parse::<i32>().map_err(|_| not_a_number())?),
            None => (unsigned, 0),
        };
        let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        if whole.is_empty() && fraction.is_empty()
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || !fraction.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(not_a_number());
        }
        // value = digits * 10^(exponent - fraction.len()); raw = value * 10^decimals. The digits are those of
        // the whole part then the fraction, read in place (a quote parses one amount per request).
        let shift = exponent as i64 - fraction.len() as i64 + decimals as i64;
        let digits = || whole.bytes().chain(fraction.bytes()).skip_while(|&b| b == b'0');
        let count = digits().count();
        let (kept, shift) = if shift < 0 {
            let kept = count.saturating_sub((-shift) as usize);
            if rounding == Rounding::Exact && digits().skip(kept).any(|b| b != b'0') {
                return Err(AmountError::TooPrecise(decimals));
            }
            (kept, 0)
        } else {
            (count, shift)
        };
        if shift > 77 {
            return if kept == 0 { Ok(Amount::new(U256::ZERO, decimals)) } else { Err(AmountError::TooLarge) };
        }
        let base = match kept {
            // Up to 19 digits fit a u64: what amounts in requests are, read without U256 arithmetic.
            0..=19 => U256::from(digits().take(kept).fold(0u64, |base, digit| base * 10 + u64::from(digit - b'0'))),
            // 78 digits hold every U256 and 79 none.
            20..=78 => {
                let mut buffer = [0u8; 78];
                digits().take(kept).zip(buffer.iter_mut()).for_each(|(digit, slot)| *slot = digit);
                let text = std::str::from_utf8(&buffer[..kept]).expect("ASCII digits");
                U256::from_str_radix(text, 10).map_err(|_| AmountError::TooLarge)?
            }
            _ => return Err(AmountError::TooLarge),
        };
        let raw = pow10(shift as u8).and_then(|power| base.checked_mul(power)).ok_or(AmountError::TooLarge)?;
        Ok(Amount::new(raw, decimals))
    }

    /// Exact human decimal text, without trailing zeros: 1500000 raw with 6 decimals is "1.5".
    pub fn to_decimal_string(&self) -> String {
        format_units(self.raw, self.decimals)
    }
}

/// `raw / 10^decimals` as exact decimal text without trailing zeros.
pub fn format_units(raw: U256, decimals: u8) -> String {
    let mut buffer = [0u8; 80];
    let digits = decimal_digits(raw, &mut buffer);
    let decimals = decimals as usize;
    let mut text = String::with_capacity(digits.len() + decimals + 2);
    let fraction = if digits.len() > decimals {
        let (whole, fraction) = digits.split_at(digits.len() - decimals);
        text.push_str(whole);
        fraction.trim_end_matches('0')
    } else {
        text.push('0');
        digits.trim_end_matches('0')
    };
    if !fraction.is_empty() {
        text.push('.');
        // Leading zeros of a value below one unit: 0.000123 has decimals − digits of them.
        (digits.len()..decimals).for_each(|_| text.push('0'));
        text.push_str(fraction);
    }
    text
}

/// `raw` in decimal, written at the end of `buffer` (a U256 has at most 78 digits): every quote answer formats
/// several amounts, and this takes no allocation.
fn decimal_digits(raw: U256, buffer: &mut [u8; 80]) -> &str {
    const CHUNK: u64 = 10_000_000_000_000_000_000;
    let mut at = buffer.len();
    let mut rest = raw;
    loop {
        // Most amounts are below one chunk, and need no U256 division at all.
        let (higher, mut chunk) = match rest < U256::from(CHUNK) {
            true => (U256::ZERO, rest.to::<u64>()),
            false => {
                let (higher, chunk) = rest.div_rem(U256::from(CHUNK));
                (higher, chunk.to::<u64>())
            }
        };
        // A chunk below the highest is written with all its 19 digits, its leading zeros too.
        for _ in 0..19 {
            at -= 1;
            buffer[at] = b'0' + (chunk % 10) as u8;
            chunk /= 10;
            if chunk == 0 && higher.is_zero() {
                break;
            }
        }
        if higher.is_zero() {
            break;
        }
        rest = higher;
    }
    std::str::from_utf8(&buffer[at..]).expect("ASCII digits")
}

/// 10^exponent from a table (quotes need these on every request); `None` past 10^77, the largest a U256
/// holds (a token may claim any number of decimals up to 255).
pub fn pow10(exponent: u8) -> Option<U256> {
    static POWERS: std::sync::LazyLock<Vec<U256>> = std::sync::LazyLock::new(|| {
        std::iter::successors(Some(U256::from(1)), |p| p.checked_mul(U256::from(10))).collect()
    });
    POWERS.get(exponent as usize).copied()
}

impl std::fmt::Display for Amount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_decimal_string())
    }
}

/// `a / b` of two token amounts in human units, as decimal text to 18 places.
pub fn ratio(a: U256, a_decimals: u8, b: U256, b_decimals: u8) -> String {
    if b.is_zero() {
        return "0".into();
    }
    let power = |exponent: u8| match pow10(exponent) {
        Some(power) => U512::from(power),
        None => U512::from(10).pow(U512::from(exponent)),
    };
    let numerator = U512::from(a) * power(b_decimals.saturating_add(18));
    let denominator = U512::from(b) * power(a_decimals);
    format_units(U256::saturating_from(numerator / denominator), 18)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(text: &str, decimals: u8) -> Result<String, AmountError> {
        Amount::parse(text, decimals).map(|a| a.raw.to_string())
    }

    #[test]
    fn decimal_digits_equal_the_display_of_every_size() {
        let mut buffer = [0u8; 80];
        let mut values = vec![U256::ZERO, U256::from(1), U256::from(9), U256::from(10), U256::MAX];
        for exponent in [18u8, 19, 20, 37, 38, 39, 57, 77] {
            let power = pow10(exponent).unwrap();
            values.extend([power - U256::from(1), power, power + U256::from(1), power * U256::from(7) + U256::from(3)]);
        }
        for value in values {
            assert_eq!(decimal_digits(value, &mut buffer), value.to_string());
        }
    }

    #[test]
    fn parses_exactly() {
        assert_eq!(raw("1.5", 6).unwrap(), "1500000");
        assert_eq!(raw("0.000001", 6).unwrap(), "1");
        assert_eq!(raw("1", 18).unwrap(), "1000000000000000000");
        assert_eq!(raw(".5", 1).unwrap(), "5");
        assert_eq!(raw("5.", 0).unwrap(), "5");
        assert_eq!(raw("1e-6", 6).unwrap(), "1");
        assert_eq!(raw("2.5E3", 0).unwrap(), "2500");
        assert_eq!(raw("0", 18).unwrap(), "0");
        assert_eq!(raw("1.50000000", 6).unwrap(), "1500000");
        // 10^11 tokens of 18 decimals: beyond rust_decimal, exact here.
        assert_eq!(raw("100000000000.000000000000000001", 18).unwrap(), "100000000000000000000000000001");
    }

    #[test]
    fn parses_every_size_a_u256_holds_and_refuses_beyond() {
        let max = U256::MAX.to_string();
        assert_eq!(raw(&max, 0).unwrap(), max);
        assert_eq!(raw(&format!("0000{max}"), 0).unwrap(), max, "leading zeros are no digits");
        assert_eq!(raw(&format!("{}.{}", &max[..60], &max[60..]), 18).unwrap(), max);
        assert_eq!(
            raw("115792089237316195423570985008687907853269984665640564039457584007913129639936", 0),
            Err(AmountError::TooLarge)
        );
        assert_eq!(raw(&format!("{max}0"), 0), Err(AmountError::TooLarge));
        assert_eq!(raw("000.000", 6).unwrap(), "0");
        // Either side of what a u64 holds: 19 nines, 20 nines, and the digits of u64::MAX plus one.
        assert_eq!(raw("9999999999999999999", 0).unwrap(), "9999999999999999999");
        assert_eq!(raw("9999999999.9999999999", 10).unwrap(), "99999999999999999999");
        assert_eq!(raw("18446744073709551616", 0).unwrap(), "18446744073709551616");
        assert_eq!(raw("0.10", 1).unwrap(), "1", "a trailing zero past the decimals is exact");
        for value in [U256::from(1), U256::from(10).pow(U256::from(30)) + U256::from(7), U256::MAX] {
            for decimals in [0, 6, 18, 77] {
                let text = format_units(value, decimals);
                assert_eq!(Amount::parse(&text, decimals).unwrap().raw, value, "{text} with {decimals} decimals");
            }
        }
    }

    #[test]
    fn refuses_what_cannot_be_exact() {
        assert_eq!(raw("0.0000001", 6), Err(AmountError::TooPrecise(6)));
        assert_eq!(raw("-1", 6), Err(AmountError::Negative));
        assert!(matches!(raw("abc", 6), Err(AmountError::NotANumber(_))));
        assert!(matches!(raw("1.2.3", 6), Err(AmountError::NotANumber(_))));
        assert!(matches!(raw("", 6), Err(AmountError::NotANumber(_))));
        assert!(matches!(raw("0x10", 6), Err(AmountError::NotANumber(_))));
        assert_eq!(raw("1e80", 0), Err(AmountError::TooLarge));
    }

    #[test]
    fn rounds_down_past_the_tokens_decimals_when_asked() {
        let down = |text: &str, decimals: u8| Amount::parse_down(text, decimals).map(|a| a.raw.to_string());
        assert_eq!(down("2998.2388961234", 6).unwrap(), "2998238896");
        assert_eq!(down("0.9999999", 6).unwrap(), "999999", "never up");
        assert_eq!(down("0.0000001", 6).unwrap(), "0");
        assert_eq!(down("1.23456789e-3", 6).unwrap(), "1234");
        assert_eq!(down("1.000000000000000000999", 18).unwrap(), "1000000000000000000");
        assert_eq!(down("1.5", 6).unwrap(), "1500000", "exact amounts are unchanged");
        // Still refused: what is not a number, negatives, and what does not fit 256 bits.
        assert_eq!(down("-0.0000001", 6), Err(AmountError::Negative));
        assert!(matches!(down("NaN", 6), Err(AmountError::NotANumber(_))));
        assert!(matches!(down("inf", 6), Err(AmountError::NotANumber(_))));
        assert!(matches!(down("1e99999999999", 6), Err(AmountError::NotANumber(_))));
        assert_eq!(down("1e80", 0), Err(AmountError::TooLarge));
        assert_eq!(down("1e-99999", 6).unwrap(), "0");
    }

    #[test]
    fn formats_without_trailing_zeros() {
        assert_eq!(format_units(U256::from(1_500_000), 6), "1.5");
        assert_eq!(format_units(U256::from(1), 18), "0.000000000000000001");
        assert_eq!(format_units(U256::ZERO, 6), "0");
        assert_eq!(format_units(U256::from(42), 0), "42");
        assert_eq!(format_units(U256::from(3_000_000u64), 6), "3");
    }

    #[test]
    fn a_ratio_of_amounts_with_different_decimals_is_exact_to_18_places() {
        // 7,071.771981 USDC (6) for 2.357 WETH (18): 3000.3275269410267288926... USDC per WETH, cut at 18 places.
        let usdc = U256::from(7_071_771_981u64);
        let weth = U256::from(2_357_000_000_000_000_000u128);
        assert_eq!(ratio(usdc, 6, weth, 18), "3000.327526941026728892");
        assert_eq!(ratio(weth, 18, usdc, 6), "0.00033329694542367");
        assert_eq!(ratio(U256::from(1), 0, U256::ZERO, 0), "0", "nothing to divide by");
        assert_eq!(ratio(U256::MAX, 0, U256::from(1), 77), format_units(U256::MAX, 18), "saturates, never panics");
    }
}
