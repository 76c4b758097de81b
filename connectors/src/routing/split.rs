//! The best order for an amount: the best single route, or the amount split in steps across a few routes that
//! share no pool, each order ranked by what it gives net of its gas.

use alloy::primitives::U256;

use super::HopQuoter;
use super::gas::{LEG_GAS, SPLIT_GAS, gas};
use super::search::{RouteSpace, quote_route, whole_routes};
use crate::core::error::ConnectorError;
use crate::core::route::{Leg, Route, RouteQuote, SwapAmount};

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

impl SplitSearch {
    /// How many steps the whole amount is.
    fn steps(&self) -> usize {
        (100 / self.step_pct.clamp(1, 100)) as usize
    }
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
    async fn bought(self, quoter: &impl HopQuoter) -> Result<Routing, ConnectorError> {
        let routes = self.routes();
        let mut forward_legs = Vec::with_capacity(self.legs.len());
        for leg in &self.legs {
            let mut forward = false;
            for family in leg.route.families() {
                forward |= quoter.buys_forward(&routes, family)?;
            }
            forward_legs.push(forward);
        }
        let Routing { legs, mut quote } = self;
        let mut bought = Vec::with_capacity(legs.len());
        for (leg, forward) in legs.into_iter().zip(forward_legs) {
            if !forward {
                bought.push(leg);
                continue;
            }
            let forward = quote_route(quoter, &leg.route, SwapAmount::ExactIn(leg.amount_in)).await?;
            quote.amount_out = quote.amount_out - leg.amount_out + forward.amount_out;
            bought.push(Leg { amount_out: forward.amount_out, asks: Some(leg.amount_out), ..leg });
        }
        Ok(Routing { legs: bought, quote })
    }
}

/// What an order is worth to its sender, net of its gas (`gas_price`: raw units of the order's quote token per gas
/// unit): the output less its gas for exact in, the input plus its gas (negated) for exact out; higher is better.
#[derive(Debug, Clone, Copy)]
struct Worth {
    exact_in: bool,
    gas_price: f64,
}

impl Worth {
    fn of(&self, quote: &RouteQuote, gas_units: u64) -> f64 {
        let gas = gas_units as f64 * self.gas_price;
        match self.exact_in {
            true => f64::from(quote.amount_out) - gas,
            false => -(f64::from(quote.amount_in) + gas),
        }
    }
}

/// The best order for `amount` over the routes of `space`, exact on cached pool state: the best single route, or,
/// where that leaves enough on the table, the amount split in steps across up to `search.max_splits` routes that
/// share no pool (so each leg's quote is what it executes to), an order `takes` accepts (some router executes it).
/// Orders are ranked by what they give net of their gas (`gas_price`: raw units of the order's quote token per
/// gas unit; it is what comes out of a SELL and goes into a BUY), so a split never costs more gas than it gains.
pub async fn best_routing(
    quoter: &impl HopQuoter,
    space: &RouteSpace<'_>,
    amount: SwapAmount,
    search: &SplitSearch,
    gas_price: f64,
    takes: impl Fn(&[&Route]) -> bool,
) -> Result<Option<Routing>, ConnectorError> {
    let worth = Worth { exact_in: amount.is_exact_in(), gas_price };
    let (whole, last_error) = whole_routes(quoter, space, amount, &takes).await?;
    let mut whole = ranked(whole, worth);
    let Some((best_route, best_quote)) = whole.first().cloned() else {
        return last_error.map_or(Ok(None), Err);
    };
    let best_single = worth.of(&best_quote, gas(&[&best_route]));
    let legs = match worth_splitting(&whole, amount, search, gas_price) {
        false => vec![(best_route, best_quote)],
        true => {
            whole.truncate(search.max_routes.max(2));
            let mut shares = ShareQuotes::new(quoter, &whole, amount, search.steps());
            match best_split(&mut shares, search, worth, best_single, &takes).await? {
                Some(picks) => split_legs(&mut shares, &picks).await?,
                None => vec![(best_route, best_quote)],
            }
        }
    };
    let routing = Routing::of(legs);
    match amount {
        SwapAmount::ExactIn(_) => Ok(Some(routing)),
        SwapAmount::ExactOut(_) => Ok(Some(routing.bought(quoter).await?)),
    }
}

/// The routes, best first by what each is worth net of its gas.
fn ranked(whole: Vec<(Route, RouteQuote)>, worth: Worth) -> Vec<(Route, RouteQuote)> {
    let mut scored: Vec<(f64, Route, RouteQuote)> =
        whole.into_iter().map(|(route, quote)| (worth.of(&quote, gas(&[&route])), route, quote)).collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    scored.into_iter().map(|(_, route, quote)| (route, quote)).collect()
}

/// Whether a split may pay: it gains at most what the best route loses to its price impact, which must be more
/// than an extra leg's gas; and there must be steps and routes to split across.
fn worth_splitting(whole: &[(Route, RouteQuote)], amount: SwapAmount, search: &SplitSearch, gas_price: f64) -> bool {
    let best = &whole[0].1;
    let ideal = whole.iter().map(|(_, q)| q.mid_out_per_in).fold(0.0f64, f64::max);
    let total = f64::from(amount.raw());
    let impact = match amount.is_exact_in() {
        true => total * ideal - f64::from(best.amount_out),
        false => f64::from(best.amount_in) - total / ideal.max(f64::MIN_POSITIVE),
    };
    search.max_splits >= 2
        && search.steps() >= 2
        && whole.len() >= 2
        && impact > (LEG_GAS + SPLIT_GAS) as f64 * gas_price
}

/// The sets of routes tried: the best route with one or two others (as `max_splits` allows), no two sharing a
/// pool, each a set `takes` accepts.
fn split_sets(routes: &[&Route], max_splits: usize, takes: &impl Fn(&[&Route]) -> bool) -> Vec<Vec<usize>> {
    let disjoint = |a: &Route, b: &Route| a.hops.iter().all(|hop| b.hops.iter().all(|other| other.pool != hop.pool));
    let mut sets = Vec::new();
    for b in 1..routes.len() {
        if !disjoint(routes[0], routes[b]) || !takes(&[routes[0], routes[b]]) {
            continue;
        }
        sets.push(vec![0, b]);
        for c in (b + 1..routes.len()).filter(|_| max_splits >= 3) {
            if disjoint(routes[0], routes[c])
                && disjoint(routes[b], routes[c])
                && takes(&[routes[0], routes[b], routes[c]])
            {
                sets.push(vec![0, b, c]);
            }
        }
    }
    sets
}

/// The best split worth more than `best_single`, as (route, steps) picks of at least two routes.
async fn best_split(
    shares: &mut ShareQuotes<'_, impl HopQuoter>,
    search: &SplitSearch,
    worth: Worth,
    best_single: f64,
    takes: &impl Fn(&[&Route]) -> bool,
) -> Result<Option<Vec<(usize, usize)>>, ConnectorError> {
    let sets = split_sets(&shares.routes, search.max_splits, takes);
    let mut chosen: Option<(f64, Vec<(usize, usize)>)> = None;
    for set in sets {
        let steps_of = shares.climb(&set).await?;
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
        let picked: Vec<&Route> = picks.iter().map(|&(r, _)| shares.routes[r]).collect();
        let value = worth.of(&RouteQuote { amount_in, amount_out, mid_out_per_in: 0.0, block: 0 }, gas(&picked));
        if value > best_single && chosen.as_ref().is_none_or(|(best, _)| value > *best) {
            chosen = Some((value, picks));
        }
    }
    Ok(chosen.map(|(_, picks)| picks))
}

/// The legs of a split: the last leg takes what the others leave, so the legs add up to the amount exactly; it is
/// quoted again for that amount.
async fn split_legs(
    shares: &mut ShareQuotes<'_, impl HopQuoter>,
    picks: &[(usize, usize)],
) -> Result<Vec<(Route, RouteQuote)>, ConnectorError> {
    let mut legs = Vec::with_capacity(picks.len());
    let mut left = shares.amount.raw();
    for (index, &(r, k)) in picks.iter().enumerate() {
        let raw = if index + 1 == picks.len() { left } else { shares.share(k) };
        left -= raw;
        let exact_in = shares.amount.is_exact_in();
        let quote = match shares.at(r, k).await? {
            Some(quote) if (if exact_in { quote.amount_in } else { quote.amount_out }) == raw => quote,
            _ => quote_route(shares.quoter, shares.routes[r], shares.amount.with(raw)).await?,
        };
        legs.push((shares.routes[r].clone(), quote));
    }
    Ok(legs)
}

/// The split search's quotes of each route for `k` steps of the amount, each computed once, when first needed.
struct ShareQuotes<'a, Q> {
    quoter: &'a Q,
    routes: Vec<&'a Route>,
    amount: SwapAmount,
    steps: usize,
    /// `quotes[route][k]`: not yet quoted, or the quote (none where the route cannot fill that much).
    quotes: Vec<Vec<Option<Option<RouteQuote>>>>,
}

impl<'a, Q: HopQuoter> ShareQuotes<'a, Q> {
    fn new(quoter: &'a Q, whole: &'a [(Route, RouteQuote)], amount: SwapAmount, steps: usize) -> ShareQuotes<'a, Q> {
        let quotes = whole
            .iter()
            .map(|(_, quote)| {
                let mut row = vec![None; steps + 1];
                row[steps] = Some(Some(*quote));
                row
            })
            .collect();
        let routes = whole.iter().map(|(route, _)| route).collect();
        ShareQuotes { quoter, routes, amount, steps, quotes }
    }

    /// `k` steps of the amount, raw.
    fn share(&self, k: usize) -> U256 {
        self.amount.raw() * U256::from(k) / U256::from(self.steps)
    }

    /// The steps of each route of `set` a split settles on: from the whole amount on the set's first route, a step
    /// moves from one route to another while that adds the most it can (more out, or less in). A swap's output is
    /// concave in its input, so where no move adds, the split is the set's best on the steps' grid. Most of an
    /// order stays on the best route, so this quotes few of its shares.
    async fn climb(&mut self, set: &[usize]) -> Result<Vec<usize>, ConnectorError> {
        let mut steps_of = vec![0usize; set.len()];
        steps_of[0] = self.steps;
        loop {
            let mut worth_of = Vec::with_capacity(set.len());
            for (i, &r) in set.iter().enumerate() {
                let k = steps_of[i];
                let now = self.worth(r, k).await?;
                let less = if k > 0 { self.worth(r, k - 1).await? } else { None };
                let more = if k < self.steps { self.worth(r, k + 1).await? } else { None };
                worth_of.push((now, less, more));
            }
            let Some((from, to)) = best_move(&worth_of) else { return Ok(steps_of) };
            (steps_of[from], steps_of[to]) = (steps_of[from] - 1, steps_of[to] + 1);
        }
    }

    /// What `k` steps along `route` are worth to the order before gas: what comes out (exact in), or less what
    /// goes in; none where the route cannot fill them.
    async fn worth(&mut self, route: usize, k: usize) -> Result<Option<f64>, ConnectorError> {
        if k == 0 {
            return Ok(Some(0.0));
        }
        let exact_in = self.amount.is_exact_in();
        let quote = self.at(route, k).await?;
        Ok(quote.map(|q| if exact_in { f64::from(q.amount_out) } else { -f64::from(q.amount_in) }))
    }

    async fn at(&mut self, route: usize, k: usize) -> Result<Option<RouteQuote>, ConnectorError> {
        if let Some(known) = self.quotes[route][k] {
            return Ok(known);
        }
        let amount = self.amount.with(self.share(k));
        let quote = match quote_route(self.quoter, self.routes[route], amount).await {
            Ok(quote) => Some(quote),
            Err(error @ ConnectorError::Chain(_)) => return Err(error),
            Err(_) => None,
        };
        self.quotes[route][k] = Some(quote);
        Ok(quote)
    }
}

/// Of each route's worth now, one step less and one step more, the move of a step from one route to another that
/// adds the most, if any adds.
fn best_move(worth_of: &[(Option<f64>, Option<f64>, Option<f64>)]) -> Option<(usize, usize)> {
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
    best.map(|(_, from, to)| (from, to))
}

#[cfg(test)]
mod tests {
    use alloy::primitives::{Address, address};

    use super::*;
    use crate::core::capability::Reading;
    use crate::core::family::Family;
    use crate::core::route::{Hop, HopQuote, PoolRef};

    const WETH: Address = address!("0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2");
    const USDC: Address = address!("0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48");
    const DAI: Address = address!("0x6B175474E89094C44Da98b954EedeAC495271d0F");

    /// Constant-product pools in memory (0.3 %), by the first byte of their address.
    struct Pools(Vec<(PoolRef, U256, U256)>);

    fn e18(whole: u64) -> U256 {
        U256::from(whole) * U256::from(10u64.pow(18))
    }

    impl Pools {
        fn new(pools: &[(u8, Address, Address, u64, u64)]) -> Pools {
            Pools(
                pools
                    .iter()
                    .map(|&(byte, a, b, reserve_a, reserve_b)| {
                        let pool = PoolRef {
                            family: Family::V2,
                            address: Address::repeat_byte(byte).into(),
                            token0: a.min(b),
                            token1: a.max(b),
                            fee: 0,
                        };
                        let (r0, r1) = if a < b { (reserve_a, reserve_b) } else { (reserve_b, reserve_a) };
                        (pool, e18(r0), e18(r1))
                    })
                    .collect(),
            )
        }

        fn refs(&self) -> Vec<PoolRef> {
            self.0.iter().map(|(pool, _, _)| *pool).collect()
        }

        fn quote(&self, hop: &Hop, amount: SwapAmount) -> Result<HopQuote, ConnectorError> {
            let (pool, r0, r1) = self.0.iter().find(|(pool, _, _)| pool.address == hop.pool).expect("a pool");
            let (reserve_in, reserve_out) = if hop.token_in == pool.token0 { (*r0, *r1) } else { (*r1, *r0) };
            let short = || ConnectorError::Liquidity("too shallow".into());
            let (amount_in, amount_out) = match amount {
                SwapAmount::ExactIn(a) => {
                    let with_fee = a * U256::from(997);
                    (a, with_fee * reserve_out / (reserve_in * U256::from(1000) + with_fee))
                }
                SwapAmount::ExactOut(a) if a >= reserve_out => return Err(short()),
                SwapAmount::ExactOut(a) => {
                    let needed = reserve_in * a * U256::from(1000) / ((reserve_out - a) * U256::from(997));
                    (needed + U256::from(1), a)
                }
            };
            let mid_out_per_in = f64::from(reserve_out) / f64::from(reserve_in);
            Ok(HopQuote { amount_in, amount_out, mid_out_per_in, block: 7 })
        }
    }

    impl HopQuoter for Pools {
        fn quote_hop<'a>(&'a self, hop: &'a Hop, amount: SwapAmount) -> Reading<'a, HopQuote> {
            Box::pin(std::future::ready(self.quote(hop, amount)))
        }

        fn buys_forward(&self, _routes: &[&Route], _family: Family) -> Result<bool, ConnectorError> {
            Ok(false)
        }
    }

    const SEARCH: SplitSearch = SplitSearch { max_splits: 3, step_pct: 5, max_routes: 4 };

    async fn route(pools: &Pools, amount: SwapAmount, gas_price: f64) -> Option<Routing> {
        let refs = pools.refs();
        let space = RouteSpace { pools: &refs, from: WETH, to: USDC, max_hops: 2 };
        best_routing(pools, &space, amount, &SEARCH, gas_price, |_| true).await.unwrap()
    }

    fn deep_and_shallow() -> Pools {
        Pools::new(&[(1, WETH, USDC, 1_000, 3_000_000), (2, WETH, USDC, 500, 1_500_000)])
    }

    #[tokio::test]
    async fn a_small_order_keeps_to_the_best_pool_as_a_split_would_cost_more_gas_than_it_gains() {
        // 0.01 WETH (30 USDC) loses about 0.0003 USDC to impact; a further leg costs 85,000 gas at 1e12 raw each.
        let routing = route(&deep_and_shallow(), SwapAmount::ExactIn(e18(1) / U256::from(100)), 1e12).await.unwrap();
        assert_eq!(routing.legs.len(), 1);
        assert_eq!(routing.legs[0].route.hops[0].pool, Address::repeat_byte(1).into(), "the deeper pool");
    }

    #[tokio::test]
    async fn a_large_sale_splits_across_pools_by_their_depth_and_its_legs_add_up_to_the_amount_exactly() {
        let pools = deep_and_shallow();
        let amount = e18(300);
        let routing = route(&pools, SwapAmount::ExactIn(amount), 0.0).await.unwrap();
        assert_eq!(routing.legs.len(), 2);
        let spent: U256 = routing.legs.iter().fold(U256::ZERO, |sum, leg| sum + leg.amount_in);
        assert_eq!((spent, routing.quote.amount_in), (amount, amount));
        let share = |byte: u8| {
            let leg = routing.legs.iter().find(|leg| leg.route.hops[0].pool == Address::repeat_byte(byte).into());
            f64::from(leg.unwrap().amount_in) / f64::from(amount)
        };
        assert!((share(1) - 2.0 / 3.0).abs() <= 0.05, "two thirds to the pool twice as deep: {}", share(1));
        let single = pools.quote(&routing.legs[0].route.hops[0], SwapAmount::ExactIn(amount)).unwrap();
        let best_single = single
            .amount_out
            .max(pools.quote(&routing.legs[1].route.hops[0], SwapAmount::ExactIn(amount)).unwrap().amount_out);
        assert!(routing.quote.amount_out > best_single, "the split gives more than either pool alone");
        // Each leg is what its pool gives for its share, to the unit.
        for leg in &routing.legs {
            let quoted = pools.quote(&leg.route.hops[0], SwapAmount::ExactIn(leg.amount_in)).unwrap();
            assert_eq!(quoted.amount_out, leg.amount_out);
        }
    }

    #[tokio::test]
    async fn a_large_purchase_splits_too_and_buys_exactly_the_amount_for_less_than_one_pool_asks() {
        let pools = deep_and_shallow();
        let amount = e18(600_000);
        let refs = pools.refs();
        let space = RouteSpace { pools: &refs, from: WETH, to: USDC, max_hops: 1 };
        let routing =
            best_routing(&pools, &space, SwapAmount::ExactOut(amount), &SEARCH, 0.0, |_| true).await.unwrap().unwrap();
        assert_eq!(routing.legs.len(), 2);
        let bought: U256 = routing.legs.iter().fold(U256::ZERO, |sum, leg| sum + leg.amount_out);
        assert_eq!(bought, amount);
        let alone = pools.quote(&routing.legs[0].route.hops[0], SwapAmount::ExactOut(amount)).unwrap();
        assert!(routing.quote.amount_in < alone.amount_in);
    }

    #[tokio::test]
    async fn an_order_no_router_takes_split_stays_whole_and_a_route_may_pass_another_token() {
        let pools = Pools::new(&[
            (1, WETH, USDC, 1_000, 3_000_000),
            (2, WETH, DAI, 1_000, 3_000_000),
            (3, DAI, USDC, 3_000_000, 3_000_000),
        ]);
        let refs = pools.refs();
        let space = RouteSpace { pools: &refs, from: WETH, to: USDC, max_hops: 2 };
        let whole_only = |routes: &[&Route]| routes.len() == 1;
        let amount = SwapAmount::ExactIn(e18(300));
        let routing = best_routing(&pools, &space, amount, &SEARCH, 0.0, whole_only).await.unwrap().unwrap();
        assert_eq!(routing.legs.len(), 1);
        let split = best_routing(&pools, &space, amount, &SEARCH, 0.0, |_| true).await.unwrap().unwrap();
        assert_eq!(split.legs.len(), 2);
        assert!(split.legs.iter().any(|leg| leg.route.hops.len() == 2), "WETH -> DAI -> USDC carries a share");
    }

    #[tokio::test]
    async fn no_route_is_none_and_a_pool_too_shallow_is_its_error() {
        let pools = deep_and_shallow();
        let refs = pools.refs();
        let space = RouteSpace { pools: &refs, from: WETH, to: DAI, max_hops: 2 };
        assert!(
            best_routing(&pools, &space, SwapAmount::ExactIn(e18(1)), &SEARCH, 0.0, |_| true).await.unwrap().is_none()
        );
        let space = RouteSpace { pools: &refs, from: WETH, to: USDC, max_hops: 1 };
        let too_much = SwapAmount::ExactOut(e18(5_000_000));
        let error = best_routing(&pools, &space, too_much, &SEARCH, 0.0, |_| true).await.unwrap_err();
        assert!(matches!(error, ConnectorError::Liquidity(_)), "{error}");
    }
}
