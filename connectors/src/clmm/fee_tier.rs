//! Fee tiers: what a concentrated-liquidity pool charges and the tick spacing that goes with it.

/// A fee tier (hundredths of a basis point, so 500 = 0.05 %) and the tick spacing the factory gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FeeTier {
    pub fee: u32,
    pub tick_spacing: i32,
}
