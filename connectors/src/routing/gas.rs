//! What an order's gas is expected to be, by its routes' shapes: what quotes count against what a split gains.

use crate::core::route::Route;

/// Gas a swap through one pool uses, what each further pool of its route adds, what each further route of a split
/// order adds (the token already pulled once, the router warm), and what a split or a change of family adds (the
/// multicall, the final sweep of what the router holds), from the devnet's receipts (a three-way split of a WETH
/// sale used 235,000 to 253,000 gas, one pool 93,000 to 125,000).
pub const SWAP_GAS: u64 = 130_000;
pub const HOP_GAS: u64 = 70_000;
pub const LEG_GAS: u64 = 60_000;
pub const SPLIT_GAS: u64 = 25_000;

/// The gas an order along `routes` is expected to use.
pub fn gas(routes: &[&Route]) -> u64 {
    let swaps: u64 = routes.iter().map(|route| leg_gas(route)).sum();
    let split = routes.len() > 1 || routes.iter().any(|route| route.family().is_none());
    SWAP_GAS - LEG_GAS + swaps + if split { SPLIT_GAS } else { 0 }
}

/// The gas a route adds as a further leg of an order.
fn leg_gas(route: &Route) -> u64 {
    LEG_GAS + HOP_GAS * (route.hops.len() as u64 - 1)
}

#[cfg(test)]
mod tests {
    use alloy::primitives::Address;

    use super::*;
    use crate::core::family::Family;

    #[test]
    fn an_orders_gas_counts_each_pool_each_further_leg_and_the_split() {
        use crate::core::route::tests_support::{USDC, WETH, mixed, two_hops};
        let one_pool = Route::single(Family::V3, Address::repeat_byte(3), 500, WETH, USDC);
        assert_eq!(gas(&[&one_pool]), SWAP_GAS);
        assert_eq!(gas(&[&two_hops(Family::V3)]), SWAP_GAS + HOP_GAS);
        assert_eq!(
            gas(&[&mixed(Family::V2, Family::V3)]),
            SWAP_GAS + HOP_GAS + SPLIT_GAS,
            "the router holds WETH between"
        );
        assert_eq!(gas(&[&two_hops(Family::V3), &one_pool]), SWAP_GAS + HOP_GAS + LEG_GAS + SPLIT_GAS);
    }
}
