//! Routes through a DEX's pools: the paths between two tokens over the pools known for them, each path's quote
//! on cached pool state through its family's [`Quote`](crate::family::Quote), and the best of them.

use std::collections::{BTreeSet, HashSet};

use alloy::primitives::{Address, U256};
use chains::network::Network;
use serde::{Deserialize, Serialize};

use crate::dex::Dex;
use crate::error::ConnectorError;
use crate::family::Family;
use crate::state::PoolStates;
use crate::v3::pool::SwapAmount;

/// A pool a route may go through: a listed one, or one a factory named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolRef {
    pub family: Family,
    pub address: Address,
    pub token0: Address,
    pub token1: Address,
    /// The fee tier in hundredths of a basis point where the family has tiers (V3); 0 otherwise.
    pub fee: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hop {
    pub pool: Address,
    pub token_in: Address,
    pub token_out: Address,
    /// The pool's fee tier (V3); 0 for V2.
    pub fee: u32,
}

/// Pools to swap through, all of one family.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    pub family: Family,
    pub hops: Vec<Hop>,
}

impl Route {
    /// A swap through one pool of `family` (`fee`: its tier, 0 for V2).
    pub fn single(family: Family, pool: Address, fee: u32, token_in: Address, token_out: Address) -> Route {
        Route { family, hops: vec![Hop { pool, token_in, token_out, fee }] }
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
/// received, at most `max_in` spent), to `recipient`, before `deadline`.
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

/// Every simple path from `from` to `to` through `pools`, each of one family (V2 paths first), up to `max_hops`
/// pools.
pub fn routes(pools: &[PoolRef], from: Address, to: Address, max_hops: usize) -> Vec<Route> {
    let families: BTreeSet<Family> = pools.iter().map(|pool| pool.family).collect();
    let mut found = Vec::new();
    for family in families {
        let edges: Vec<&PoolRef> = pools.iter().filter(|pool| pool.family == family).collect();
        let mut search = Search { edges: &edges, to, max_hops, path: Vec::new(), visited: HashSet::from([from]) };
        search.extend(from, &mut |hops| found.push(Route { family, hops }));
    }
    found
}

/// A depth-first walk over one family's pools.
struct Search<'a> {
    edges: &'a [&'a PoolRef],
    to: Address,
    max_hops: usize,
    path: Vec<Hop>,
    visited: HashSet<Address>,
}

impl Search<'_> {
    fn extend(&mut self, at: Address, found: &mut impl FnMut(Vec<Hop>)) {
        if self.path.len() == self.max_hops {
            return;
        }
        for pool in self.edges {
            let next = if pool.token0 == at {
                pool.token1
            } else if pool.token1 == at {
                pool.token0
            } else {
                continue;
            };
            if self.visited.contains(&next) {
                continue;
            }
            self.path.push(Hop { pool: pool.address, token_in: at, token_out: next, fee: pool.fee });
            if next == self.to {
                found(self.path.clone());
            } else {
                self.visited.insert(next);
                self.extend(next, found);
                self.visited.remove(&next);
            }
            self.path.pop();
        }
    }
}

/// Quotes a route on cached pool state: exact in runs forward, exact out backward.
pub async fn quote_route(
    states: &PoolStates,
    network: &Network,
    dex: &Dex,
    route: &Route,
    amount: SwapAmount,
) -> Result<RouteQuote, ConnectorError> {
    let protocol = dex.protocol(route.family)?;
    let (exact_in, mut running) = match amount {
        SwapAmount::ExactIn(a) => (true, a),
        SwapAmount::ExactOut(a) => (false, a),
    };
    let (mut mids, mut block) = (1.0f64, 0);
    for index in 0..route.hops.len() {
        let hop = &route.hops[if exact_in { index } else { route.hops.len() - 1 - index }];
        let step = if exact_in { SwapAmount::ExactIn(running) } else { SwapAmount::ExactOut(running) };
        let quote = protocol.quote_hop(states, network, hop, step).await?;
        mids *= quote.mid_out_per_in;
        block = block.max(quote.block);
        running = if exact_in { quote.amount_out } else { quote.amount_in };
    }
    let (amount_in, amount_out) = match amount {
        SwapAmount::ExactIn(a) => (a, running),
        SwapAmount::ExactOut(a) => (running, a),
    };
    Ok(RouteQuote { amount_in, amount_out, mid_out_per_in: mids, block })
}

/// Of several quoted routes, the best: the most out for exact in, the least in for exact out.
pub fn best<T>(exact_in: bool, candidates: Vec<(T, RouteQuote)>) -> Option<(T, RouteQuote)> {
    candidates.into_iter().reduce(|best, next| {
        let better = match exact_in {
            true => next.1.amount_out > best.1.amount_out,
            false => next.1.amount_in < best.1.amount_in,
        };
        if better { next } else { best }
    })
}

/// What the families' calldata tests share: mainnet tokens, a two-hop route and a swap's limits.
#[cfg(test)]
pub(crate) mod tests_support {
    use alloy::primitives::{Address, U256, address};

    use super::{Hop, Route, SwapLimits};
    use crate::family::Family;

    pub const WETH: Address = address!("0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2");
    pub const USDC: Address = address!("0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48");
    pub const WBTC: Address = address!("0x2260FAC5E5542a773Aa44fBCfeDf7C193bc2C599");
    pub const DAI: Address = address!("0x6B175474E89094C44Da98b954EedeAC495271d0F");

    /// WBTC -> WETH -> USDC; V3 hops at 0.3 % then 0.05 %.
    pub fn two_hops(family: Family) -> Route {
        let fee = |fee| if family == Family::V3 { fee } else { 0 };
        Route {
            family,
            hops: vec![
                Hop { pool: Address::repeat_byte(1), token_in: WBTC, token_out: WETH, fee: fee(3000) },
                Hop { pool: Address::repeat_byte(2), token_in: WETH, token_out: USDC, fee: fee(500) },
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

#[cfg(test)]
mod tests {
    use super::tests_support::{DAI, USDC, WBTC, WETH};
    use super::*;

    fn pool(family: Family, byte: u8, a: Address, b: Address, fee: u32) -> PoolRef {
        PoolRef { family, address: Address::repeat_byte(byte), token0: a.min(b), token1: a.max(b), fee }
    }

    fn path(route: &Route) -> Vec<(u8, Address)> {
        route.hops.iter().map(|hop| (hop.pool.0[0], hop.token_out)).collect()
    }

    #[test]
    fn routes_are_every_simple_path_of_one_family_within_the_hop_limit_v2_first() {
        let pools = [
            pool(Family::V3, 1, WETH, USDC, 500),
            pool(Family::V3, 2, WETH, USDC, 3000),
            pool(Family::V3, 3, WBTC, WETH, 3000),
            pool(Family::V2, 4, WBTC, WETH, 0),
            pool(Family::V2, 5, WETH, USDC, 0),
            pool(Family::V3, 6, DAI, USDC, 100),
        ];
        let found = routes(&pools, WBTC, USDC, 3);
        let summary: Vec<(Family, Vec<(u8, Address)>)> = found.iter().map(|r| (r.family, path(r))).collect();
        assert_eq!(
            summary,
            vec![
                (Family::V2, vec![(4, WETH), (5, USDC)]),
                (Family::V3, vec![(3, WETH), (1, USDC)]),
                (Family::V3, vec![(3, WETH), (2, USDC)]),
            ]
        );
        // Fee tiers ride along for V3 hops; V2 hops carry none.
        assert_eq!(found[1].hops.iter().map(|h| h.fee).collect::<Vec<_>>(), vec![3000, 500]);
        assert_eq!(found[0].hops.iter().map(|h| h.fee).collect::<Vec<_>>(), vec![0, 0]);
        // One hop allowed: nothing joins WBTC to USDC directly.
        assert!(routes(&pools, WBTC, USDC, 1).is_empty());
        // A path never comes back through a token it passed: DAI -> USDC -> WETH, not through USDC twice.
        let from_dai = routes(&pools, DAI, WETH, 3);
        assert_eq!(
            from_dai.iter().map(path).collect::<Vec<_>>(),
            vec![vec![(6, USDC), (1, WETH)], vec![(6, USDC), (2, WETH)]]
        );
    }

    #[test]
    fn the_best_route_gives_the_most_out_or_takes_the_least_in() {
        let quote = |amount_in: u64, amount_out: u64| RouteQuote {
            amount_in: U256::from(amount_in),
            amount_out: U256::from(amount_out),
            mid_out_per_in: 1.0,
            block: 1,
        };
        let candidates = || vec![("a", quote(10, 20)), ("b", quote(9, 21)), ("c", quote(11, 19))];
        assert_eq!(best(true, candidates()).unwrap().0, "b");
        assert_eq!(best(false, vec![("a", quote(10, 20)), ("c", quote(11, 20)), ("d", quote(8, 20))]).unwrap().0, "d");
        assert!(best::<&str>(true, vec![]).is_none());
    }
}
