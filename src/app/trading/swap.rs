//! Swaps shared by `amm`, `clmm` and `router`: a route of pools, quoted on cached state, executed through the
//! connector's router contract, with what moved read from the receipt.

use std::sync::Arc;

use alloy::primitives::{Address, U256};
use chains::amount::ratio;
use chains::erc20::{Token, transfers};
use chains::network::Network;
use chains::tx::revert::RevertKind;
use chains::tx::{Outcome, SentTx};
use connectors::Side;
use connectors::core::family::{Family, TradingType};
use connectors::core::pool_address::PoolAddress;
use connectors::core::route::SwapAmount;
use connectors::core::route::{Leg, Route, RouteQuote, SwapLimits};
use connectors::core::state::PoolStates;
use connectors::dex::Protocol;
use connectors::routing::gas::gas;
use connectors::routing::search::best;
use connectors::routing::split::Routing;
use serde::{Deserialize, Serialize};

use super::Desk;
use crate::app::sending::{Recipe, keep};
use crate::error::{AppError, AppResult};
use crate::request::{Human, Target, parse_side};
use crate::schema::swap::{QuoteSwapResponse, RouteSplit, RouteStep, SwapData, SwapRequest};
use crate::schema::{TxResponse, fee_of, signed, status_of};
use crate::state::AppState;

/// Quotes a route on the desk's cached pool state.
pub async fn quote_route(states: &PoolStates, desk: &Desk, route: &Route, amount: SwapAmount) -> AppResult<RouteQuote> {
    Ok(connectors::routing::search::quote_route(&desk.dex.quoter(states, &desk.network), route, amount).await?)
}

/// `plan`, with the market's fees being read meanwhile: the send that follows prices with them, and finds them
/// read or being read (one read a block, shared by everything priced in it). The read is started, not awaited: the
/// plan, and what the send does before it prices (the wallet's lock, the nonce, the simulation), overlap it.
pub async fn reading_fees_meanwhile<T>(
    network: &Arc<Network>,
    plan: impl std::future::Future<Output = AppResult<T>>,
) -> AppResult<T> {
    chains::fee_market::read_ahead(network);
    plan.await
}

/// A swap request resolved against the desk.
pub struct Order {
    pub side: Side,
    pub base: Token,
    pub quote: Token,
    pub amount: SwapAmount,
}

impl Order {
    /// Resolves tokens, side and amount; the quote token may come from a pool when the request names none.
    pub fn resolve(desk: &Desk, request: &SwapRequest, pool_tokens: Option<(Address, Address)>) -> AppResult<Order> {
        let side = parse_side(&request.side)?;
        let base = desk.token("baseToken", &request.base_token)?;
        let quote = match (request.quote_token.as_deref().filter(|q| !q.is_empty()), pool_tokens) {
            (Some(quote), _) => desk.token("quoteToken", quote)?,
            (None, Some((a, b))) => {
                let other = if a == base.address { b } else { a };
                desk.listed_token_at(other).ok_or_else(|| {
                    AppError::invalid(
                        "quoteToken",
                        format!("is required: the pool's other token {other} is not listed"),
                    )
                })?
            }
            (None, None) => return Err(AppError::invalid("quoteToken", "is required")),
        };
        if base.address == quote.address {
            return Err(AppError::invalid("quoteToken", "must differ from baseToken"));
        }
        let raw = amount_of(request, &base)?;
        Ok(Order::new(side, base, quote, raw))
    }

    /// This order's side and tokens, for the amount `request` names.
    pub fn for_amount(&self, request: &SwapRequest) -> AppResult<Order> {
        Ok(Order::new(self.side, self.base.clone(), self.quote.clone(), amount_of(request, &self.base)?))
    }

    /// An order for `amount` raw units of `base`: SELL spends exactly that, BUY receives exactly that.
    pub fn new(side: Side, base: Token, quote: Token, amount: U256) -> Order {
        let amount = match side {
            Side::Sell => SwapAmount::ExactIn(amount),
            Side::Buy => SwapAmount::ExactOut(amount),
        };
        Order { side, base, quote, amount }
    }

    /// What the swap spends: the base on a SELL, the quote on a BUY.
    pub fn token_in(&self) -> &Token {
        match self.side {
            Side::Sell => &self.base,
            Side::Buy => &self.quote,
        }
    }

    /// What the swap receives.
    pub fn token_out(&self) -> &Token {
        match self.side {
            Side::Sell => &self.quote,
            Side::Buy => &self.base,
        }
    }
}

/// The raw amount of `base` a swap request names.
fn amount_of(request: &SwapRequest, base: &Token) -> AppResult<U256> {
    let raw = request.amount.parse("amount", base.decimals)?.raw;
    match raw.is_zero() {
        true => Err(AppError::invalid("amount", "must be greater than zero")),
        false => Ok(raw),
    }
}

/// The best of `routes` for `order`, each quoted on cached pool state. A route that cannot fill the amount is
/// passed over; a node that failed fails the quote, so no answer is ever chosen from the routes that happened to
/// load.
pub async fn best_routing(states: &PoolStates, desk: &Desk, order: &Order, routes: &[Route]) -> AppResult<Routing> {
    let mut quoted = Vec::with_capacity(routes.len());
    let mut last_error = None;
    for route in routes {
        match quote_route(states, desk, route, order.amount).await {
            Ok(quote) => quoted.push((route, quote)),
            Err(error) if error.is_refusal() => last_error = Some(error),
            Err(error) => return Err(error),
        }
    }
    // Pools read on either side of a new block were compared across blocks: the answer says the older one.
    let oldest = quoted.iter().map(|(_, quote)| quote.block).min();
    let Some((route, mut quote)) = best(order.side == Side::Sell, quoted) else {
        return Err(last_error.unwrap_or_else(|| AppError::invalid("amount", "no pool can fill this amount")));
    };
    quote.block = oldest.unwrap_or(quote.block);
    Ok(Routing::single(route.clone(), quote))
}

/// A quote, and the network it was computed on.
pub struct Quoted {
    pub response: QuoteSwapResponse,
    pub network: Arc<Network>,
}

/// What a quote's answer says of its route whatever the amount: its pools, path and tokens. Kept with a resolved
/// request, so that each amount is answered without writing them again.
#[derive(Clone)]
pub struct RouteText {
    pool_address: Option<String>,
    route_path: String,
    steps: Vec<RouteStep>,
    token_in: String,
    token_out: String,
}

impl RouteText {
    /// The text of `order` taking `route` whole.
    pub fn of(desk: &Desk, order: &Order, route: &Route) -> RouteText {
        RouteText {
            pool_address: only_pool(route).map(|pool| pool.to_string()),
            route_path: route_path(desk, route),
            steps: steps(route),
            token_in: chains::checksum(order.token_in().address),
            token_out: chains::checksum(order.token_out().address),
        }
    }

    /// The text of a routing: a route's own, or for a split each leg's path after its share of the amount.
    fn of_routing(desk: &Desk, order: &Order, routing: &Routing) -> RouteText {
        match &routing.legs[..] {
            [leg] => RouteText::of(desk, order, &leg.route),
            legs => RouteText {
                pool_address: None,
                route_path: legs
                    .iter()
                    .map(|leg| format!("{}% {}", share(order, routing, leg).0, route_path(desk, &leg.route)))
                    .collect::<Vec<_>>()
                    .join(" + "),
                steps: legs.iter().flat_map(|leg| steps(&leg.route)).collect(),
                token_in: chains::checksum(order.token_in().address),
                token_out: chains::checksum(order.token_out().address),
            },
        }
    }
}

pub fn quote_response(desk: &Desk, order: &Order, routing: &Routing) -> QuoteSwapResponse {
    priced_response(desk, order, routing, RouteText::of_routing(desk, order, routing))
}

/// The answer to a quote whose route says `text`.
pub fn priced_response(desk: &Desk, order: &Order, routing: &Routing, text: RouteText) -> QuoteSwapResponse {
    let quote = &routing.quote;
    let (amount_in, amount_out) = (quote.amount_in, quote.amount_out);
    let (min_out, max_in) = match order.side {
        Side::Sell => (desk.min_out(amount_out), amount_in),
        Side::Buy => (routing.asked_out(), desk.max_in(amount_in)),
    };
    let price = match order.side {
        Side::Sell => ratio(amount_out, order.quote.decimals, amount_in, order.base.decimals),
        Side::Buy => ratio(amount_in, order.quote.decimals, amount_out, order.base.decimals),
    };
    let executed = f64::from(amount_out) / f64::from(amount_in);
    let impact = ((1.0 - executed / quote.mid_out_per_in) * 100.0).max(0.0);
    let mut impact = format!("{impact:.6}");
    impact.truncate(impact.trim_end_matches('0').trim_end_matches('.').len());
    QuoteSwapResponse {
        pool_address: text.pool_address,
        route_path: Some(text.route_path),
        quote_id: None,
        route: text.steps,
        splits: Vec::new(),
        token_in: text.token_in,
        token_out: text.token_out,
        amount_in: Human(chains::amount::format_units(amount_in, order.token_in().decimals)),
        amount_out: Human(chains::amount::format_units(amount_out, order.token_out().decimals)),
        price: Human(price),
        price_impact_pct: Human(impact),
        slippage_pct: Human::setting(desk.slippage_pct),
        min_amount_out: Human(chains::amount::format_units(min_out, order.token_out().decimals)),
        max_amount_in: Human(chains::amount::format_units(max_in, order.token_in().decimals)),
        block_number: quote.block,
        gas_estimate: gas(&routing.routes()),
        warnings: Vec::new(),
    }
}

/// Each leg of the routing as the answer shows it: its share of the amount, its pools and amounts.
pub fn splits(desk: &Desk, order: &Order, routing: &Routing) -> Vec<RouteSplit> {
    routing
        .legs
        .iter()
        .map(|leg| RouteSplit {
            percent: share(order, routing, leg),
            route_path: route_path(desk, &leg.route),
            amount_in: Human(chains::amount::format_units(leg.amount_in, order.token_in().decimals)),
            amount_out: Human(chains::amount::format_units(leg.amount_out, order.token_out().decimals)),
            route: steps(&leg.route),
        })
        .collect()
}

/// A leg's share of the order's amount (what a SELL spends, what a BUY receives), in percent to two places.
fn share(order: &Order, routing: &Routing, leg: &Leg) -> Human {
    let (part, whole) = match order.side {
        Side::Sell => (leg.amount_in, routing.quote.amount_in),
        Side::Buy => (leg.amount_out, routing.quote.amount_out),
    };
    let hundredths = (part * U256::from(20_000) / whole.max(U256::from(1)) + U256::from(1)) / U256::from(2);
    Human(chains::amount::format_units(hundredths, 2))
}

/// The one pool of a routing through a single pool.
fn single_pool(legs: &[Leg]) -> Option<PoolAddress> {
    match legs {
        [leg] => only_pool(&leg.route),
        _ => None,
    }
}

/// The one pool of a route through a single pool.
fn only_pool(route: &Route) -> Option<PoolAddress> {
    match &route.hops[..] {
        [hop] => Some(hop.pool),
        _ => None,
    }
}

fn steps(route: &Route) -> Vec<RouteStep> {
    route
        .hops
        .iter()
        .map(|hop| RouteStep {
            pool_address: hop.pool.to_string(),
            kind: hop.family.trading_type(),
            token_in: chains::checksum(hop.token_in),
            token_out: chains::checksum(hop.token_out),
            fee: hop.fee,
        })
        .collect()
}

fn route_path(desk: &Desk, route: &Route) -> String {
    use std::fmt::Write;
    let symbol = |path: &mut String, address: Address| match desk.listed_symbol_at(address) {
        Some(symbol) => path.push_str(symbol),
        None => write!(path, "{address}").expect("writing to a String"),
    };
    let mut path = String::with_capacity(64);
    symbol(&mut path, route.token_in());
    for hop in &route.hops {
        let fee = desk.dex.protocol(hop.family).map_or(hop.fee, |protocol| protocol.fee(hop.fee));
        write!(path, " -{}%-> ", fee as f64 / 10_000.0).expect("writing to a String");
        symbol(&mut path, hop.token_out);
    }
    path
}

/// What the swap may do: the quoted amounts (what a BUY asks for), bounded by the desk's slippage and deadline (for
/// the whole order).
fn limits(desk: &Desk, order: &Order, routing: &Routing, recipient: Address) -> SwapLimits {
    let quote = &routing.quote;
    SwapLimits {
        exact_in: order.side == Side::Sell,
        amount_in: quote.amount_in,
        amount_out: match order.side {
            Side::Sell => quote.amount_out,
            Side::Buy => routing.asked_out(),
        },
        min_out: desk.min_out(quote.amount_out),
        max_in: desk.max_in(quote.amount_in),
        recipient,
        deadline: desk.deadline(),
    }
}

/// A swap resolved, routed and quoted, ready to answer or execute.
pub struct Planned {
    pub desk: Desk,
    pub order: Order,
    pub routing: Routing,
}

impl Planned {
    /// Checks the allowance, sends the swap in one transaction through the router of the `router` family (or,
    /// when `None`, the router that takes this routing) and reads what moved. `kind` (`amm`, `clmm`, `router`)
    /// names the spender in messages.
    pub async fn execute(
        &self,
        state: &AppState,
        router: Option<Family>,
        kind: TradingType,
        wallet: Option<&str>,
    ) -> AppResult<TxResponse<SwapData>> {
        let Planned { desk, order, routing } = self;
        let quote = &routing.quote;
        let (owner, signer) = desk.wallet(state, wallet)?;
        let protocol = match router {
            Some(family) => desk.protocol(family)?,
            None => desk.dex.router_for_order(&routing.routes())?,
        };
        let spender = protocol.spender(protocol.swap_router()?);
        let needed = match order.side {
            Side::Sell => quote.amount_in,
            Side::Buy => desk.max_in(quote.amount_in),
        };
        let limits = limits(desk, order, routing, owner);
        let call = match &routing.legs[..] {
            [leg] => protocol.swap_call(&leg.route, &limits)?,
            legs => protocol.split_call(legs, &limits)?,
        };
        let recipe = SwapRecipe {
            network: desk.network_name.clone(),
            connector: desk.connector.clone(),
            family: protocol.family(),
            owner,
            side: order.side,
            base: order.base.clone(),
            quote: order.quote.clone(),
            legs: routing.legs.clone(),
            slippage_pct: desk.slippage_pct,
        };
        let spender_name = format!("{}/{kind}", desk.connector);
        keep(state, &recipe).await?;
        let checks = desk.require_funds(owner, order.token_in(), spender, needed, &spender_name);
        let (sent, outcome) = match desk.send_checked(state, &signer, call, "swap", checks).await {
            Err(AppError::Chain(error)) if error.revert_kind() == Some(RevertKind::Slippage) => {
                return Err(self.slippage(state, &error.to_string()).await);
            }
            sent => sent?,
        };
        Ok(recipe.answer_through(protocol, &sent, &outcome))
    }

    /// After the swap: its pools moved, in a block that makes every cached pool state stale, so they are read again
    /// now, in the background, and the next quote of them (a bot quotes again right after it trades) finds them
    /// fresh.
    pub fn read_pools_again(self, state: &AppState) {
        let state = state.clone();
        tokio::spawn(async move {
            let Planned { desk, routing, .. } = self;
            for leg in &routing.legs {
                let _ = quote_route(state.pool_states(), &desk, &leg.route, SwapAmount::ExactIn(leg.amount_in)).await;
            }
        });
    }
}

/// What a swap answers besides its transaction: the order, its routes (a V4 swap's native amounts are read from
/// its pools' events) and the router family it went through.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SwapRecipe {
    network: String,
    connector: String,
    family: Family,
    owner: Address,
    side: Side,
    base: Token,
    quote: Token,
    legs: Vec<Leg>,
    slippage_pct: f64,
}

impl Recipe for SwapRecipe {
    const ROUTE: &'static str = "swap";
}

impl SwapRecipe {
    /// The answer to the swap's transaction, its router resolved again from the config.
    pub async fn answer(&self, state: &AppState, results: &[(SentTx, Outcome)]) -> AppResult<TxResponse<SwapData>> {
        let target = Target {
            connector: Some(&self.connector),
            network: Some(&self.network),
            chain_network: None,
            slippage_pct: Some(self.slippage_pct),
        };
        let desk = Desk::resolve(state, target).await?;
        let (sent, outcome) = results.last().ok_or_else(|| AppError::internal("a swap sent no transaction"))?;
        Ok(self.answer_through(desk.protocol(self.family)?, sent, outcome))
    }

    fn answer_through(&self, protocol: &dyn Protocol, sent: &SentTx, outcome: &Outcome) -> TxResponse<SwapData> {
        let order = Order::new(self.side, self.base.clone(), self.quote.clone(), U256::ZERO);
        let owner = self.owner;
        let data = status_of(outcome).1.map(|receipt| {
            let (native_paid, native_received) = protocol.native_moved(receipt, &self.legs);
            let amount_in = match order.token_in().address.is_zero() {
                true => native_paid,
                false => transfers(receipt, order.token_in().address, owner).0,
            };
            let amount_out = match order.token_out().address.is_zero() {
                true => native_received,
                false => transfers(receipt, order.token_out().address, owner).1,
            };
            let (base_change, quote_change) = match order.side {
                Side::Sell => {
                    (signed(amount_in, order.base.decimals, true), signed(amount_out, order.quote.decimals, false))
                }
                Side::Buy => {
                    (signed(amount_out, order.base.decimals, false), signed(amount_in, order.quote.decimals, true))
                }
            };
            SwapData {
                token_in: chains::checksum(order.token_in().address),
                token_out: chains::checksum(order.token_out().address),
                amount_in: Human(chains::amount::format_units(amount_in, order.token_in().decimals)),
                amount_out: Human(chains::amount::format_units(amount_out, order.token_out().decimals)),
                fee: fee_of(outcome),
                base_token_balance_change: base_change,
                quote_token_balance_change: quote_change,
                slippage_pct: Human::setting(self.slippage_pct),
                pool_address: single_pool(&self.legs).map(|pool| pool.to_string()),
            }
        });
        TxResponse::new(sent, outcome, data)
    }
}

impl Planned {
    /// The refusal of a swap whose simulation reverted on its slippage bound: what it asked (the least out of a
    /// SELL, the most in of a BUY) and what the same routes give now, in token units.
    async fn slippage(&self, state: &AppState, reverted: &str) -> AppError {
        let Planned { desk, order, routing } = self;
        let mut now = U256::ZERO;
        for leg in &routing.legs {
            let amount = match order.side {
                Side::Sell => SwapAmount::ExactIn(leg.amount_in),
                Side::Buy => SwapAmount::ExactOut(leg.amount_out),
            };
            match quote_route(state.pool_states(), desk, &leg.route, amount).await {
                Ok(quote) if order.side == Side::Sell => now += quote.amount_out,
                Ok(quote) => now += quote.amount_in,
                Err(_) => return AppError::Slippage(format!("{reverted}; the market could not be quoted again")),
            }
        }
        let units = |raw: U256, token: &Token| {
            format!("{} {}", chains::amount::format_units(raw, token.decimals), token.symbol)
        };
        let (asked, gives) = match order.side {
            Side::Sell => (
                format!(
                    "at least {} for {}",
                    units(desk.min_out(routing.quote.amount_out), order.token_out()),
                    units(routing.quote.amount_in, order.token_in())
                ),
                units(now, order.token_out()),
            ),
            Side::Buy => (
                format!(
                    "at most {} for {}",
                    units(desk.max_in(routing.quote.amount_in), order.token_in()),
                    units(routing.asked_out(), order.token_out())
                ),
                units(now, order.token_in()),
            ),
        };
        AppError::Slippage(format!(
            "{reverted}: the swap asked {asked} (slippagePct {}), the market gives {gives} now; quote again or allow \
             more slippage",
            desk.slippage_pct
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::trading::tests_support::devnet_desk;
    use crate::request::AmountText;

    fn request(base: &str, quote: Option<&str>, amount: &str, side: &str) -> SwapRequest {
        SwapRequest {
            network: Some("devnet".into()),
            chain_network: None,
            connector: Some("uniswap".into()),
            base_token: base.into(),
            quote_token: quote.map(Into::into),
            amount: AmountText(amount.into()),
            side: side.into(),
            pool_address: None,
            slippage_pct: None,
            wallet_address: None,
            approximate_if_no_exact_out: None,
            indicative_price: None,
        }
    }

    #[test]
    fn the_quote_token_is_the_requests_else_the_named_pools_other_listed_token() {
        let desk = devnet_desk(1.0);
        let usdc = desk.token("quoteToken", "USDC").unwrap();
        let weth = desk.token("baseToken", "WETH").unwrap();
        let pool = Some((usdc.address, weth.address));
        let order = Order::resolve(&desk, &request("WETH", None, "1.5", "SELL"), pool).unwrap();
        assert_eq!((order.quote.symbol.as_str(), order.token_out().symbol.as_str()), ("USDC", "USDC"));
        assert_eq!(order.amount, SwapAmount::ExactIn(U256::from(1_500_000_000_000_000_000u64)));
        let bought = Order::resolve(&desk, &request("USDC", None, "2.0000019", "BUY"), pool).unwrap();
        assert_eq!(bought.quote.symbol, "WETH", "the pool's other token, whichever it is");
        assert_eq!(bought.amount, SwapAmount::ExactOut(U256::from(2_000_001)), "digits past 6 decimals dropped");
        let unlisted = Some((weth.address, Address::repeat_byte(7)));
        let error = Order::resolve(&desk, &request("WETH", None, "1", "SELL"), unlisted).err().unwrap();
        assert!(error.to_string().starts_with("quoteToken: is required: the pool's other token"), "{error}");
        let without = Order::resolve(&desk, &request("WETH", None, "1", "SELL"), None).err().unwrap();
        assert_eq!(without.to_string(), "quoteToken: is required");
    }

    #[test]
    fn an_order_of_one_token_for_itself_or_of_nothing_is_refused_naming_the_field() {
        let desk = devnet_desk(1.0);
        let same = Order::resolve(&desk, &request("WETH", Some("WETH"), "1", "SELL"), None).err().unwrap();
        assert_eq!(same.to_string(), "quoteToken: must differ from baseToken");
        let zero = Order::resolve(&desk, &request("WETH", Some("USDC"), "0.0000000000000000001", "SELL"), None);
        assert_eq!(zero.err().unwrap().to_string(), "amount: must be greater than zero");
        let side = Order::resolve(&desk, &request("WETH", Some("USDC"), "1", "HOLD"), None).err().unwrap();
        assert!(side.to_string().starts_with("side: must be BUY or SELL"), "{side}");
    }
}
