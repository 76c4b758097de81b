//! Routes through a DEX's pools: the paths between two tokens over the pools known for them (hops of different
//! families mixed), each path's quote on cached pool state through each hop's family's
//! [`Quote`](crate::family::Quote), and the best of them.

use alloy::primitives::{Address, U256};
use chains::network::Network;
use serde::{Deserialize, Serialize};

use crate::dex::Dex;
use crate::error::ConnectorError;
use crate::family::Family;
use crate::pool_address::PoolAddress;
use crate::state::PoolStates;
use crate::v3::pool::SwapAmount;

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
    states: &PoolStates,
    network: &Network,
    dex: &Dex,
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
                let quote = match dex.protocol(hop.family)?.quote_hop(states, network, hop, step).await {
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
    states: &PoolStates,
    network: &Network,
    dex: &Dex,
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
        let quote = dex.protocol(hop.family)?.quote_hop(states, network, hop, step).await?;
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

/// How far the router looks for a better order than the best single route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SplitSearch {
    /// Routes an order may be split across, at most.
    pub max_splits: usize,
    /// The share steps a split moves in, in percent of the amount (100 divisible by it).
    pub step_pct: u32,
    /// Routes considered for splits: the best this many by their quote for the whole amount.
    pub max_routes: usize,
}

/// How an order is routed: its legs, and their sums.
#[derive(Debug, Clone, PartialEq)]
pub struct Routing {
    pub legs: Vec<Leg>,
    pub quote: RouteQuote,
}

impl Routing {
    /// The whole amount along one route.
    pub fn single(route: Route, quote: RouteQuote) -> Routing {
        Routing::of(vec![(route, quote)])
    }

    fn of(legs: Vec<(Route, RouteQuote)>) -> Routing {
        let sum = |part: fn(&RouteQuote) -> U256| legs.iter().fold(U256::ZERO, |sum, (_, quote)| sum + part(quote));
        let (amount_in, amount_out) = (sum(|q| q.amount_in), sum(|q| q.amount_out));
        // The order's mid price: each leg's, weighted by what goes in.
        let weight = |amount: U256| f64::from(amount) / f64::from(amount_in).max(1.0);
        let mid_out_per_in = legs.iter().map(|(_, q)| q.mid_out_per_in * weight(q.amount_in)).sum();
        let block = legs.iter().map(|(_, q)| q.block).max().unwrap_or_default();
        let quote = RouteQuote { amount_in, amount_out, mid_out_per_in, block };
        let legs = legs.into_iter().map(|(route, q)| Leg::new(route, q.amount_in, q.amount_out)).collect();
        Routing { legs, quote }
    }

    /// Each leg's route, in order.
    pub fn routes(&self) -> Vec<&Route> {
        self.legs.iter().map(|leg| &leg.route).collect()
    }

    /// What the order asks its router to deliver when it buys: each leg's ask.
    pub fn asked_out(&self) -> U256 {
        self.legs.iter().fold(U256::ZERO, |sum, leg| sum + leg.asked_out())
    }

    /// The order as its router executes it: a bought leg through pools the router buys forward delivers what its
    /// input buys on the cached state (exact, as no two legs share a pool), and asks for its share of the amount.
    async fn bought(self, states: &PoolStates, network: &Network, dex: &Dex) -> Result<Routing, ConnectorError> {
        let router = dex.router_for_order(&self.routes())?;
        let Routing { legs, mut quote } = self;
        let mut bought = Vec::with_capacity(legs.len());
        for leg in legs {
            if !leg.route.families().into_iter().any(|family| router.buys_forward(family)) {
                bought.push(leg);
                continue;
            }
            let forward = quote_route(states, network, dex, &leg.route, SwapAmount::ExactIn(leg.amount_in)).await?;
            quote.amount_out = quote.amount_out - leg.amount_out + forward.amount_out;
            bought.push(Leg { amount_out: forward.amount_out, asks: Some(leg.amount_out), ..leg });
        }
        Ok(Routing { legs: bought, quote })
    }
}

/// The best order for `amount` over the routes of `space`, exact on cached pool state: the best single route, or, where
/// that leaves enough on the table, the amount split in steps across up to `search.max_splits` routes that share
/// no pool (so each leg's quote is what it executes to), an order `takes` accepts (some router executes it).
/// Orders are ranked by what they give net of their gas (`gas_price`: raw units of the order's quote token per
/// gas unit; it is what comes out of a SELL and goes into a BUY), so a split never costs more gas than it gains.
#[allow(clippy::too_many_arguments)]
pub async fn best_routing(
    states: &PoolStates,
    network: &Network,
    dex: &Dex,
    space: &RouteSpace<'_>,
    amount: SwapAmount,
    search: &SplitSearch,
    gas_price: f64,
    takes: impl Fn(&[&Route]) -> bool,
) -> Result<Option<Routing>, ConnectorError> {
    let exact_in = matches!(amount, SwapAmount::ExactIn(_));
    let total = match amount {
        SwapAmount::ExactIn(a) | SwapAmount::ExactOut(a) => a,
    };
    let part = |raw: U256| if exact_in { SwapAmount::ExactIn(raw) } else { SwapAmount::ExactOut(raw) };
    // What an order is worth: the output less its gas for exact in, the input plus its gas (negated) for exact
    // out; higher is better.
    let worth = |quote: &RouteQuote, gas_units: u64| {
        let gas = gas_units as f64 * gas_price;
        if exact_in { f64::from(quote.amount_out) - gas } else { -(f64::from(quote.amount_in) + gas) }
    };
    let (whole, last_error) = whole_routes(states, network, dex, space, amount, &takes).await?;
    let mut scored: Vec<(f64, Route, RouteQuote)> =
        whole.into_iter().map(|(route, quote)| (worth(&quote, gas(&[&route])), route, quote)).collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    let best_single = scored.first().map_or(f64::MIN, |(value, _, _)| *value);
    let mut whole: Vec<(Route, RouteQuote)> = scored.into_iter().map(|(_, route, quote)| (route, quote)).collect();
    let Some((best_route, best_quote)) = whole.first().cloned() else {
        return match last_error {
            Some(error) => Err(error),
            None => Ok(None),
        };
    };
    let legs = 'chosen: {
        let steps = (100 / search.step_pct.clamp(1, 100)) as usize;
        // Splitting gains at most what the best route loses to its price impact; past an extra leg's gas it may pay.
        let ideal = whole.iter().map(|(_, q)| q.mid_out_per_in).fold(0.0f64, f64::max);
        let impact = match exact_in {
            true => f64::from(total) * ideal - f64::from(best_quote.amount_out),
            false => f64::from(best_quote.amount_in) - f64::from(total) / ideal.max(f64::MIN_POSITIVE),
        };
        if search.max_splits < 2 || steps < 2 || whole.len() < 2 || impact <= (LEG_GAS + SPLIT_GAS) as f64 * gas_price {
            break 'chosen vec![(best_route, best_quote)];
        }
        whole.truncate(search.max_routes.max(2));
        let routes: Vec<&Route> = whole.iter().map(|(route, _)| route).collect();
        let mut shares = ShareQuotes::new(states, network, dex, &whole, total, steps, exact_in);
        let disjoint =
            |a: &Route, b: &Route| a.hops.iter().all(|hop| b.hops.iter().all(|other| other.pool != hop.pool));
        // The sets of routes tried: the best route with one or two others, no two sharing a pool.
        let n = routes.len();
        let mut sets: Vec<Vec<usize>> = Vec::new();
        for b in 1..n {
            if !disjoint(routes[0], routes[b]) || !takes(&[routes[0], routes[b]]) {
                continue;
            }
            sets.push(vec![0, b]);
            for c in (b + 1..n).filter(|_| search.max_splits >= 3) {
                if disjoint(routes[0], routes[c])
                    && disjoint(routes[b], routes[c])
                    && takes(&[routes[0], routes[b], routes[c]])
                {
                    sets.push(vec![0, b, c]);
                }
            }
        }
        let mut chosen: Option<(f64, Vec<(usize, usize)>)> = None;
        for set in sets {
            // From the whole amount on the best route, a step moves from one route to another while that adds
            // the most it can (more out, or less in): a swap's output is concave in its input, so where no move
            // adds, the split is the set's best on the steps' grid. Most of an order stays on the best route, so
            // this quotes few of its shares.
            let mut steps_of = vec![0usize; set.len()];
            steps_of[0] = steps;
            loop {
                let mut worth_of = Vec::with_capacity(set.len());
                for (i, &r) in set.iter().enumerate() {
                    let k = steps_of[i];
                    let now = shares.worth(r, k).await?;
                    let less = if k > 0 { shares.worth(r, k - 1).await? } else { None };
                    let more = if k < steps { shares.worth(r, k + 1).await? } else { None };
                    worth_of.push((now, less, more));
                }
                let mut best: Option<(f64, usize, usize)> = None;
                for (from, &(now, less, _)) in worth_of.iter().enumerate() {
                    let (Some(now), Some(less)) = (now, less) else { continue };
                    for (to, &(then, _, more)) in worth_of.iter().enumerate() {
                        let (Some(then), Some(more)) = (then, more) else { continue };
                        let gain = (more - then) - (now - less);
                        if to != from && gain > 0.0 && best.is_none_or(|(most, _, _)| gain > most) {
                            best = Some((gain, from, to));
                        }
                    }
                }
                let Some((_, from, to)) = best else { break };
                (steps_of[from], steps_of[to]) = (steps_of[from] - 1, steps_of[to] + 1);
            }
            let picks: Vec<(usize, usize)> =
                set.iter().zip(&steps_of).filter(|&(_, &k)| k > 0).map(|(&r, &k)| (r, k)).collect();
            if picks.len() < 2 {
                continue;
            }
            let (mut amount_in, mut amount_out) = (U256::ZERO, U256::ZERO);
            for &(r, k) in &picks {
                let Some(quote) = shares.at(r, k).await? else { continue };
                (amount_in, amount_out) = (amount_in + quote.amount_in, amount_out + quote.amount_out);
            }
            let picked: Vec<&Route> = picks.iter().map(|&(r, _)| routes[r]).collect();
            let value = worth(&RouteQuote { amount_in, amount_out, mid_out_per_in: 0.0, block: 0 }, gas(&picked));
            if value > best_single && chosen.as_ref().is_none_or(|(best, _)| value > *best) {
                chosen = Some((value, picks));
            }
        }
        let Some((_, picks)) = chosen else {
            break 'chosen vec![(best_route, best_quote)];
        };
        // The last leg takes what the others leave, so the legs add up to the amount exactly; it is quoted again for
        // that amount.
        let mut legs = Vec::with_capacity(picks.len());
        let mut left = total;
        for (index, &(r, k)) in picks.iter().enumerate() {
            let raw = if index + 1 == picks.len() { left } else { shares.share(k) };
            left -= raw;
            let quote = match shares.at(r, k).await? {
                Some(quote) if (if exact_in { quote.amount_in } else { quote.amount_out }) == raw => quote,
                _ => quote_route(states, network, dex, routes[r], part(raw)).await?,
            };
            legs.push((routes[r].clone(), quote));
        }
        legs
    };
    let routing = Routing::of(legs);
    match amount {
        SwapAmount::ExactIn(_) => Ok(Some(routing)),
        SwapAmount::ExactOut(_) => Ok(Some(routing.bought(states, network, dex).await?)),
    }
}

/// The split search's quotes of each route for `k` steps of the amount, each computed once, when first needed.
struct ShareQuotes<'a> {
    states: &'a PoolStates,
    network: &'a Network,
    dex: &'a Dex,
    routes: Vec<&'a Route>,
    total: U256,
    steps: usize,
    exact_in: bool,
    /// `quotes[route][k]`: not yet quoted, or the quote (none where the route cannot fill that much).
    quotes: Vec<Vec<Option<Option<RouteQuote>>>>,
}

impl<'a> ShareQuotes<'a> {
    fn new(
        states: &'a PoolStates,
        network: &'a Network,
        dex: &'a Dex,
        whole: &'a [(Route, RouteQuote)],
        total: U256,
        steps: usize,
        exact_in: bool,
    ) -> ShareQuotes<'a> {
        let quotes = whole
            .iter()
            .map(|(_, quote)| {
                let mut row = vec![None; steps + 1];
                row[steps] = Some(Some(*quote));
                row
            })
            .collect();
        let routes = whole.iter().map(|(route, _)| route).collect();
        ShareQuotes { states, network, dex, routes, total, steps, exact_in, quotes }
    }

    /// `k` steps of the amount, raw.
    fn share(&self, k: usize) -> U256 {
        self.total * U256::from(k) / U256::from(self.steps)
    }

    /// What `k` steps along `route` are worth to the order before gas: what comes out (exact in), or less what
    /// goes in; none where the route cannot fill them.
    async fn worth(&mut self, route: usize, k: usize) -> Result<Option<f64>, ConnectorError> {
        if k == 0 {
            return Ok(Some(0.0));
        }
        let exact_in = self.exact_in;
        let quote = self.at(route, k).await?;
        Ok(quote.map(|q| if exact_in { f64::from(q.amount_out) } else { -f64::from(q.amount_in) }))
    }

    async fn at(&mut self, route: usize, k: usize) -> Result<Option<RouteQuote>, ConnectorError> {
        if let Some(known) = self.quotes[route][k] {
            return Ok(known);
        }
        let raw = self.share(k);
        let amount = if self.exact_in { SwapAmount::ExactIn(raw) } else { SwapAmount::ExactOut(raw) };
        let quote = match quote_route(self.states, self.network, self.dex, self.routes[route], amount).await {
            Ok(quote) => Some(quote),
            Err(error @ ConnectorError::Chain(_)) => return Err(error),
            Err(_) => None,
        };
        self.quotes[route][k] = Some(quote);
        Ok(quote)
    }
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

#[cfg(test)]
mod tests {
    use super::tests_support::{DAI, USDC, WBTC, WETH};
    use super::*;

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
    fn an_orders_gas_counts_each_pool_each_further_leg_and_the_split() {
        use super::tests_support::{mixed, two_hops};
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
