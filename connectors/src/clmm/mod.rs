//! The concentrated-liquidity layer V3 and V4 share: the curve and its swap math, tick math, positions in a price
//! range, fee tiers, and the pool every family's state is seen as.

pub mod curve;
pub mod fee_tier;
pub mod pool;
pub mod positions;
pub mod range;
pub mod ticks;
