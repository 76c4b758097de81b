//! The routes between two tokens over the pools known for them (hops of different families mixed), found depth by
//! depth and quoted hop by hop through a [`HopQuoter`], and the best of them.

use alloy::primitives::{Address, U256};

use super::HopQuoter;
use crate::core::error::ConnectorError;
use crate::core::route::{Hop, PoolRef, Route, RouteQuote, SwapAmount};

/// Where an order's routes may go: through `pools`, from `from` to `to`, through `max_hops` pools at most.
#[derive(Debug, Clone, Copy)]
pub struct RouteSpace<'a> {
    pub pools: &'a [PoolRef],
    pub from: Address,
    pub to: Address,
    pub max_hops: usize,
}

/// Partial routes followed further from each token at each depth: the best this many by what they bring to it
/// (exact in) or what they cost from it (exact out). It bounds the search on a network with hundreds of pools:
/// each depth quotes at most this many hops per pool end.
pub const BEAM_WIDTH: usize = 3;

/// A route begun: hops from the order's input (exact in) or back from its output (exact out), the token it has
/// reached, and its quote so far (`running`: what it brings there, or what it costs from there).
#[derive(Debug, Clone)]
struct Partial {
    route: Route,
    at: Address,
    running: U256,
    mid_out_per_in: f64,
    block: u64,
}

/// The hops that extend `partial` by one pool: to a token it has not passed, and at the last depth only to
/// `target`.
fn extensions(pools: &[PoolRef], partial: &Partial, target: Address, last: bool, exact_in: bool) -> Vec<Route> {
    let passed = |token: Address| partial.route.hops.iter().any(|hop| hop.token_in == token || hop.token_out == token);
    pools
        .iter()
        .filter_map(|pool| {
            let other = match partial.at {
                at if pool.token0 == at => pool.token1,
                at if pool.token1 == at => pool.token0,
                _ => return None,
            };
            if passed(other) || (last && other != target) {
                return None;
            }
            let (token_in, token_out) = if exact_in { (partial.at, other) } else { (other, partial.at) };
            let hop = Hop { family: pool.family, pool: pool.address, token_in, token_out, fee: pool.fee };
            let mut hops = partial.route.hops.clone();
            match exact_in {
                true => hops.push(hop),
                false => hops.insert(0, hop),
            }
            Some(Route { hops })
        })
        .collect()
}

/// Keeps the best [`BEAM_WIDTH`] partial routes at each token (the tests take it as 3).
fn keep_best(partials: &mut Vec<Partial>, exact_in: bool) {
    partials.sort_by(|a, b| {
        let better_first = if exact_in { b.running.cmp(&a.running) } else { a.running.cmp(&b.running) };
        a.at.cmp(&b.at).then(better_first)
    });
    let mut seen: Option<(Address, usize)> = None;
    partials.retain(|partial| {
        let count = match seen {
            Some((at, count)) if at == partial.at => count + 1,
            _ => 1,
        };
        seen = Some((partial.at, count));
        count <= BEAM_WIDTH
    });
}

/// The routes of `space` that `takes` accepts, each quoted for the whole `amount` on cached pool state, found
/// depth by depth following the best [`BEAM_WIDTH`] partial routes at each token; with the last error of a
/// route that could not be quoted (a pool too shallow for the amount).
pub async fn whole_routes(
    quoter: &impl HopQuoter,
    space: &RouteSpace<'_>,
    amount: SwapAmount,
    takes: impl Fn(&[&Route]) -> bool,
) -> Result<(Vec<(Route, RouteQuote)>, Option<ConnectorError>), ConnectorError> {
    let (exact_in, total) = match amount {
        SwapAmount::ExactIn(a) => (true, a),
        SwapAmount::ExactOut(a) => (false, a),
    };
    let (start, target) = if exact_in { (space.from, space.to) } else { (space.to, space.from) };
    let mut frontier =
        vec![Partial { route: Route { hops: vec![] }, at: start, running: total, mid_out_per_in: 1.0, block: 0 }];
    let (mut complete, mut last_error) = (Vec::new(), None);
    for depth in 1..=space.max_hops {
        let mut next = Vec::new();
        for partial in &frontier {
            for route in extensions(space.pools, partial, target, depth == space.max_hops, exact_in) {
                if !takes(&[&route]) {
                    continue;
                }
                let hop = if exact_in { &route.hops[route.hops.len() - 1] } else { &route.hops[0] };
                let step =
                    if exact_in { SwapAmount::ExactIn(partial.running) } else { SwapAmount::ExactOut(partial.running) };
                let quote = match quoter.quote_hop(hop, step).await {
                    Ok(quote) => quote,
                    Err(error @ ConnectorError::Chain(_)) => return Err(error),
                    Err(error) => {
                        last_error = Some(error);
                        continue;
                    }
                };
                let at = if exact_in { hop.token_out } else { hop.token_in };
                let running = if exact_in { quote.amount_out } else { quote.amount_in };
                let (mid_out_per_in, block) =
                    (partial.mid_out_per_in * quote.mid_out_per_in, partial.block.max(quote.block));
                if at == target {
                    let (amount_in, amount_out) = if exact_in { (total, running) } else { (running, total) };
                    complete.push((route, RouteQuote { amount_in, amount_out, mid_out_per_in, block }));
                } else {
                    next.push(Partial { route, at, running, mid_out_per_in, block });
                }
            }
        }
        keep_best(&mut next, exact_in);
        frontier = next;
    }
    Ok((complete, last_error))
}

/// Quotes a route on cached pool state: exact in runs forward, exact out backward.
pub async fn quote_route(
    quoter: &impl HopQuoter,
    route: &Route,
    amount: SwapAmount,
) -> Result<RouteQuote, ConnectorError> {
    let (exact_in, mut running) = match amount {
        SwapAmount::ExactIn(a) => (true, a),
        SwapAmount::ExactOut(a) => (false, a),
    };
    let (mut mids, mut block) = (1.0f64, 0);
    for index in 0..route.hops.len() {
        let hop = &route.hops[if exact_in { index } else { route.hops.len() - 1 - index }];
        let step = if exact_in { SwapAmount::ExactIn(running) } else { SwapAmount::ExactOut(running) };
        let quote = quoter.quote_hop(hop, step).await?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::family::Family;
    use crate::core::route::tests_support::{DAI, USDC, WBTC, WETH};

    fn pool(family: Family, byte: u8, a: Address, b: Address, fee: u32) -> PoolRef {
        PoolRef { family, address: Address::repeat_byte(byte).into(), token0: a.min(b), token1: a.max(b), fee }
    }

    fn path(route: &Route) -> Vec<(u8, Address)> {
        route.hops.iter().map(|hop| (hop.pool.contract().unwrap().0[0], hop.token_out)).collect()
    }

    fn partial(route: Route, at: Address, running: u64) -> Partial {
        Partial { route, at, running: U256::from(running), mid_out_per_in: 1.0, block: 1 }
    }

    #[test]
    fn a_route_extends_through_every_pool_to_a_token_it_has_not_passed_and_at_the_last_depth_to_the_target() {
        let pools = [
            pool(Family::V3, 1, WETH, USDC, 500),
            pool(Family::V3, 2, WETH, USDC, 3000),
            pool(Family::V3, 3, WBTC, WETH, 3000),
            pool(Family::V2, 4, WBTC, WETH, 0),
            pool(Family::V2, 5, WETH, USDC, 0),
            pool(Family::V3, 6, DAI, USDC, 100),
        ];
        let start = partial(Route { hops: vec![] }, WBTC, 100);
        let first = extensions(&pools, &start, USDC, false, true);
        assert_eq!(first.iter().map(path).collect::<Vec<_>>(), vec![vec![(3, WETH)], vec![(4, WETH)]]);
        // Fee tiers ride along for V3 hops; V2 hops carry none.
        assert_eq!((first[0].hops[0].fee, first[1].hops[0].fee), (3000, 0));
        let at_weth = partial(first[0].clone(), WETH, 100);
        let second = extensions(&pools, &at_weth, USDC, true, true);
        assert_eq!(
            second.iter().map(path).collect::<Vec<_>>(),
            vec![vec![(3, WETH), (1, USDC)], vec![(3, WETH), (2, USDC)], vec![(3, WETH), (5, USDC)]],
            "not back to WBTC"
        );
        assert_eq!(second[2].families(), vec![Family::V3, Family::V2]);
        assert_eq!((second[0].family(), second[2].family()), (Some(Family::V3), None));
        assert_eq!(second[2].segments().count(), 2);
        // Exact out grows back from the output: hops are put in front.
        let from_usdc = partial(Route { hops: vec![] }, USDC, 100);
        let back = extensions(&pools, &from_usdc, DAI, false, false);
        assert_eq!(back.len(), 4);
        assert!(back.iter().all(|route| route.token_out() == USDC));
        let at_dai = back.iter().find(|route| route.token_in() == DAI).unwrap().clone();
        assert!(extensions(&pools, &partial(at_dai, DAI, 1), WBTC, false, false).is_empty(), "DAI has USDC only");
    }

    #[test]
    fn each_token_keeps_its_best_partial_routes_only() {
        let route = || Route { hops: vec![] };
        let mut partials: Vec<Partial> =
            [(WETH, 5), (WETH, 9), (DAI, 1), (WETH, 7), (WETH, 6)].map(|(at, v)| partial(route(), at, v)).into();
        let mut bought = partials.clone();
        keep_best(&mut partials, true);
        let kept = |partials: &[Partial]| partials.iter().map(|p| (p.at, p.running.to::<u64>())).collect::<Vec<_>>();
        let mut expected = vec![(WETH, 9), (WETH, 7), (WETH, 6), (DAI, 1)];
        expected.sort_by_key(|(at, _)| *at);
        assert_eq!(kept(&partials), expected, "the most brought");
        keep_best(&mut bought, false);
        let mut expected = vec![(WETH, 5), (WETH, 6), (WETH, 7), (DAI, 1)];
        expected.sort_by_key(|(at, _)| *at);
        assert_eq!(kept(&bought), expected, "the least cost");
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
