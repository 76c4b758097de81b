//! What a swap goes through and how it is sized: pools as routes see them, hops, routes and the legs of an order,
//! a route's quote, a swap's amount and its limits.

use alloy::primitives::{Address, U256};
use serde::{Deserialize, Serialize};

use super::family::Family;
use super::pool_address::PoolAddress;

/// What a swap is sized by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SwapAmount {
    /// Spend exactly this much of the input token.
    ExactIn(U256),
    /// Receive exactly this much of the output token.
    ExactOut(U256),
}

impl SwapAmount {
    /// The amount, exact in or out.
    pub fn raw(self) -> U256 {
        match self {
            SwapAmount::ExactIn(amount) | SwapAmount::ExactOut(amount) => amount,
        }
    }

    pub fn is_exact_in(self) -> bool {
        matches!(self, SwapAmount::ExactIn(_))
    }

    /// Another amount the same way.
    pub fn with(self, amount: U256) -> SwapAmount {
        match self {
            SwapAmount::ExactIn(_) => SwapAmount::ExactIn(amount),
            SwapAmount::ExactOut(_) => SwapAmount::ExactOut(amount),
        }
    }
}

/// One hop's quote on cached pool state.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HopQuote {
    pub amount_in: U256,
    pub amount_out: U256,
    /// The pool's price before the swap, output per input in raw units (no fee, no impact).
    pub mid_out_per_in: f64,
    pub block: u64,
}

/// Pools order their tokens by address; token0 is the lower one.
pub fn sort_tokens(a: Address, b: Address) -> (Address, Address) {
    if a < b { (a, b) } else { (b, a) }
}

/// The tokens a run of hops passes, in swap order, as V2-style routers take them.
pub fn token_path(hops: &[Hop]) -> Vec<Address> {
    std::iter::once(hops[0].token_in).chain(hops.iter().map(|hop| hop.token_out)).collect()
}

/// A pool a route may go through: a listed one, or one a factory named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolRef {
    pub family: Family,
    pub address: PoolAddress,
    pub token0: Address,
    pub token1: Address,
    /// The fee tier in hundredths of a basis point where the family has tiers (V3); 0 otherwise.
    pub fee: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hop {
    pub family: Family,
    pub pool: PoolAddress,
    pub token_in: Address,
    pub token_out: Address,
    /// The pool's fee tier (V3); 0 for V2.
    pub fee: u32,
}

/// Pools to swap through, one after another. Consecutive hops of one family are a segment, which one router call
/// swaps through.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    pub hops: Vec<Hop>,
}

impl Route {
    /// A swap through one pool of `family` (`fee`: its tier, 0 for V2).
    pub fn single(
        family: Family,
        pool: impl Into<PoolAddress>,
        fee: u32,
        token_in: Address,
        token_out: Address,
    ) -> Route {
        Route { hops: vec![Hop { family, pool: pool.into(), token_in, token_out, fee }] }
    }

    /// The families the route goes through, each once, in order.
    pub fn families(&self) -> Vec<Family> {
        let mut families: Vec<Family> = Vec::new();
        for hop in &self.hops {
            if !families.contains(&hop.family) {
                families.push(hop.family);
            }
        }
        families
    }

    /// The family of every hop, when they share one.
    pub fn family(&self) -> Option<Family> {
        match self.families()[..] {
            [family] => Some(family),
            _ => None,
        }
    }

    /// The runs of consecutive hops of one family.
    pub fn segments(&self) -> impl Iterator<Item = &[Hop]> {
        self.hops.chunk_by(|a, b| a.family == b.family)
    }

    pub fn token_in(&self) -> Address {
        self.hops[0].token_in
    }

    pub fn token_out(&self) -> Address {
        self.hops[self.hops.len() - 1].token_out
    }
}

/// One part of an order: a route, and what it swaps (exact in: `amount_in` spent for `amount_out` expected;
/// exact out: `amount_out` bought for `amount_in` expected).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Leg {
    pub route: Route,
    pub amount_in: U256,
    pub amount_out: U256,
    /// For a bought leg whose router buys forward ([`Swap::buys_forward`](crate::family::Swap::buys_forward)):
    /// the amount it asks the router for, less than the `amount_out` it delivers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asks: Option<U256>,
}

impl Leg {
    /// A leg that delivers what it asks for.
    pub fn new(route: Route, amount_in: U256, amount_out: U256) -> Leg {
        Leg { route, amount_in, amount_out, asks: None }
    }

    /// What the leg asks its router for when it buys: `amount_out`, unless the router buys forward.
    pub fn asked_out(&self) -> U256 {
        self.asks.unwrap_or(self.amount_out)
    }
}

/// A route's quote at one block.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RouteQuote {
    pub amount_in: U256,
    pub amount_out: U256,
    /// The route's mid price, output per input in raw units, before fees and impact.
    pub mid_out_per_in: f64,
    pub block: u64,
}

/// What a swap may do: exact in (`amount_in` spent, at least `min_out` received) or exact out (`amount_out`
/// received, at most `max_in` spent), to `recipient`, before `deadline`. For an order of several legs the amounts
/// and bounds are the whole order's.
#[derive(Debug, Clone, Copy)]
pub struct SwapLimits {
    pub exact_in: bool,
    pub amount_in: U256,
    pub amount_out: U256,
    pub min_out: U256,
    pub max_in: U256,
    pub recipient: Address,
    pub deadline: U256,
}

/// What the families' calldata tests share: mainnet tokens, a two-hop route and a swap's limits.
#[cfg(test)]
pub(crate) mod tests_support {
    use alloy::primitives::{Address, U256, address};

    use super::{Hop, Route, SwapLimits};
    use crate::core::family::Family;

    pub const WETH: Address = address!("0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2");
    pub const USDC: Address = address!("0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48");
    pub const WBTC: Address = address!("0x2260FAC5E5542a773Aa44fBCfeDf7C193bc2C599");
    pub const DAI: Address = address!("0x6B175474E89094C44Da98b954EedeAC495271d0F");

    /// WBTC -> WETH -> USDC; V3 hops at 0.3 % then 0.05 %.
    pub fn two_hops(family: Family) -> Route {
        mixed(family, family)
    }

    /// WBTC -> WETH through `first`, WETH -> USDC through `second` (V3 at 0.3 % and 0.05 %).
    pub fn mixed(first: Family, second: Family) -> Route {
        let fee = |family: Family, fee| if family == Family::V3 { fee } else { 0 };
        Route {
            hops: vec![
                Hop {
                    family: first,
                    pool: Address::repeat_byte(1).into(),
                    token_in: WBTC,
                    token_out: WETH,
                    fee: fee(first, 3000),
                },
                Hop {
                    family: second,
                    pool: Address::repeat_byte(2).into(),
                    token_in: WETH,
                    token_out: USDC,
                    fee: fee(second, 500),
                },
            ],
        }
    }

    pub fn limits(exact_in: bool) -> SwapLimits {
        SwapLimits {
            exact_in,
            amount_in: U256::from(100),
            amount_out: U256::from(200),
            min_out: U256::from(190),
            max_in: U256::from(110),
            recipient: Address::repeat_byte(9),
            deadline: U256::from(1_700_000_000u64),
        }
    }
}
