//! `router`: the best routing over the connector's V2 and V3 pools (listed, and those its factories have), paths
//! of up to `maximumHops` mixing families where a router takes them, split across up to `maximumSplits` routes
//! when that gives more net of gas, for exact in (SELL) and exact out (BUY). Quotes are stored with an id and an
//! expiry, so `execute-quote` runs exactly what was quoted, in one transaction, within its slippage bounds.

use alloy::primitives::{Address, U256};
use chains::erc20::Token;
use connectors::Side;
use connectors::core::family::TradingType;
use connectors::core::route::{Leg, PoolRef, Route, RouteQuote, SwapAmount};
use connectors::routing::search::{RouteSpace, whole_routes};
use connectors::routing::split::{Routing, SplitSearch, best_routing as best_routing_of};
use serde::{Deserialize, Serialize};

use super::Desk;
use super::swap::{self, Order, Planned};
use crate::error::{AppError, AppResult, InvalidKind};
use crate::request::Target;
use crate::schema::TxResponse;
use crate::schema::swap::{ExecuteQuoteRequest, QuoteSwapResponse, SwapData, SwapRequest};
use crate::state::AppState;
use crate::storage::{Taken, now_ms};

/// The pools the connector's factories have between the order's tokens, directly and through the network's
/// routing tokens.
async fn discovered(state: &AppState, desk: &Desk, order: &Order) -> AppResult<Vec<PoolRef>> {
    let (from, to) = (order.token_in().address, order.token_out().address);
    let symbols = desk.config.network(&desk.network_name).map(|n| n.routing_symbols()).unwrap_or_default();
    let mut pairs = vec![(from, to)];
    for symbol in symbols {
        let Ok(via) = desk.book.resolve("routingTokens", &symbol) else { continue };
        if via.address != from && via.address != to {
            pairs.extend([(from, via.address), (via.address, to)]);
        }
    }
    Ok(desk.dex.discover(state.pool_states(), &desk.network, &pairs).await?)
}

/// Routes considered for splitting an order: the best this many for the whole amount (bounds the search on a
/// network with hundreds of pools).
const SPLIT_ROUTES: usize = 8;

/// The best routing of the order over every candidate pool: the listed ones and those the factories have for
/// the pair and through the routing tokens; split across routes where that gives more net of gas.
pub(super) async fn best_routing(state: &AppState, desk: &Desk, order: &Order) -> AppResult<Routing> {
    let book = state.pool_book(&desk.config, &desk.connector, &desk.network_name).await?;
    let settings = desk.config.connectors.get(&desk.connector);
    let max_hops = settings.map_or(3, |c| c.maximum_hops) as usize;
    let (from, to) = (order.token_in().address, order.token_out().address);
    let mut pools = book.routable.clone();
    for pool in discovered(state, desk, order).await? {
        if !pools.iter().any(|listed| listed.address == pool.address) {
            pools.push(pool);
        }
    }
    let exact_in = order.side == Side::Sell;
    let dex = &desk.dex;
    // A bought route keeps to one family: its legs buy exactly, which a change of family cannot.
    let takes = |routes: &[&Route]| {
        (exact_in || routes.iter().all(|route| route.family().is_some())) && dex.router_for_order(routes).is_ok()
    };
    let search = SplitSearch {
        max_splits: settings.map_or(3, |c| c.maximum_splits) as usize,
        step_pct: settings.map_or(5, |c| c.split_step_pct),
        max_routes: SPLIT_ROUTES,
    };
    let gas_price = gas_price(state, desk, order, &pools).await?;
    let space = RouteSpace { pools: &pools, from, to, max_hops };
    let quoter = dex.quoter(state.pool_states(), &desk.network);
    best_routing_of(&quoter, &space, order.amount, &search, gas_price, takes).await?.ok_or_else(|| {
        AppError::invalid(
            "quoteToken",
            format!(
                "no route from {} to {} over the listed pools of {} on {} (up to {max_hops} hops), and its factories \
                 have none directly or through the network's routingTokens; list one with POST /pools",
                order.token_in().symbol,
                order.token_out().symbol,
                desk.connector,
                desk.network_name
            ),
        )
        .of_kind(InvalidKind::NoRoute)
    })
}

/// What `owner` lacks to execute the routing: a balance, or the router's allowance, short of what the swap spends
/// (a BUY: its most in), each said in token units.
async fn shortfalls(desk: &Desk, order: &Order, routing: &Routing, owner: Address) -> AppResult<Vec<String>> {
    let token = &order.token_in();
    let needed = match order.side {
        Side::Sell => routing.quote.amount_in,
        Side::Buy => desk.max_in(routing.quote.amount_in),
    };
    let units = |raw| format!("{} {}", chains::amount::format_units(raw, token.decimals), token.symbol);
    let protocol = desk.dex.router_for_order(&routing.routes())?;
    let spender = protocol.spender(protocol.swap_router()?);
    let held = crate::app::chain::held(&desk.network, owner, token.address);
    let (held, allowed) = tokio::try_join!(held, desk.allowed(owner, token, &spender))?;
    let mut warnings = Vec::new();
    if held < needed {
        warnings.push(format!("wallet {owner} holds {}; this swap needs {}", units(held), units(needed)));
    }
    if allowed < needed {
        warnings.push(format!(
            "{}/router ({}) may spend {} of wallet {owner}; this swap needs {}: approve it first",
            desk.connector,
            spender.contract,
            units(allowed),
            units(needed)
        ));
    }
    Ok(warnings)
}

/// Raw units of the order's quote token (what a SELL receives, what a BUY pays) one unit of gas costs now: the
/// network's price per gas, at the price of the wrapped native token in a pool joining it to the quote token (0,
/// gas left out of the ranking, where none does).
async fn gas_price(state: &AppState, desk: &Desk, order: &Order, pools: &[PoolRef]) -> AppResult<f64> {
    let wei = chains::fee_market::price_per_gas(&desk.network).await? as f64;
    let Ok(native) = desk.book.wrapped_native() else { return Ok(0.0) };
    if native.address == order.quote.address {
        return Ok(wei);
    }
    let one_native = SwapAmount::ExactIn(U256::from(10u64).pow(U256::from(native.decimals)));
    let space = RouteSpace { pools, from: native.address, to: order.quote.address, max_hops: 1 };
    let quoter = desk.dex.quoter(state.pool_states(), &desk.network);
    let (quoted, _) = whole_routes(&quoter, &space, one_native, |_| true).await?;
    Ok(quoted.first().map_or(0.0, |(_, quote)| wei * quote.mid_out_per_in))
}

/// What a stored quote holds: enough to run it again exactly.
#[derive(Debug, Serialize, Deserialize)]
struct StoredQuote {
    network: String,
    connector: String,
    slippage_pct: f64,
    side: Side,
    base: String,
    quote: String,
    legs: Vec<Leg>,
    /// The wallet it was quoted for, when one was named: the only one that may execute it.
    #[serde(default)]
    wallet: Option<Address>,
    #[serde(flatten)]
    quoted: RouteQuote,
}

pub async fn quote_swap(
    state: &AppState,
    connector: Option<&str>,
    request: SwapRequest,
) -> AppResult<QuoteSwapResponse> {
    let desk = Desk::resolve(state, request.target(connector)).await?;
    let order = Order::resolve(&desk, &request, None)?;
    let routing = best_routing(state, &desk, &order).await?;
    let mut response = swap::quote_response(&desk, &order, &routing);
    response.splits = swap::splits(&desk, &order, &routing);
    let wallet = request.wallet_address.as_deref().filter(|wallet| !wallet.trim().is_empty());
    let wallet = wallet.map(|wallet| crate::request::parse_address("walletAddress", wallet)).transpose()?;
    if let Some(owner) = wallet {
        response.warnings = shortfalls(&desk, &order, &routing, owner).await?;
    }
    let id = uuid::Uuid::new_v4().to_string();
    let stored = StoredQuote {
        network: desk.network_name.clone(),
        connector: desk.connector.clone(),
        slippage_pct: desk.slippage_pct,
        side: order.side,
        base: order.base.address.to_string(),
        quote: order.quote.address.to_string(),
        legs: routing.legs,
        wallet,
        quoted: routing.quote,
    };
    let ttl_ms = desk.config.connectors.get(&desk.connector).map(|c| c.quote_ttl_seconds).unwrap_or(30) as i64 * 1000;
    let payload = serde_json::to_string(&stored).map_err(AppError::internal)?;
    state.storage().insert_quote(&id, &payload, now_ms() + ttl_ms).await;
    response.quote_id = Some(id);
    Ok(response)
}

pub async fn execute_swap(
    state: &AppState,
    connector: Option<&str>,
    request: SwapRequest,
) -> AppResult<TxResponse<SwapData>> {
    let desk = Desk::resolve(state, request.target(connector)).await?;
    let order = Order::resolve(&desk, &request, None)?;
    let routing = best_routing(state, &desk, &order).await?;
    execute_routed(state, Planned { desk, order, routing }, request.wallet_address.as_deref()).await
}

/// Executes a routed order; then, in the background, searches its routes again: the swap made every pool state
/// of the pair stale, and the next quote of it (a bot quotes again right after it trades) finds them read.
async fn execute_routed(state: &AppState, planned: Planned, wallet: Option<&str>) -> AppResult<TxResponse<SwapData>> {
    let answer = planned.execute(state, None, TradingType::Router, wallet).await?;
    let state = state.clone();
    tokio::spawn(async move {
        let _ = best_routing(&state, &planned.desk, &planned.order).await;
    });
    Ok(answer)
}

/// Executes a stored quote: the same route and amounts, bounded by the slippage it was quoted with. If the price
/// has moved beyond that, the simulation reverts and nothing is sent.
pub async fn execute_quote(
    state: &AppState,
    connector: Option<&str>,
    request: ExecuteQuoteRequest,
) -> AppResult<TxResponse<SwapData>> {
    let (payload, expires_at) = state.storage().quote(request.quote_id.trim()).await?.ok_or_else(|| {
        AppError::not_found(format!(
            "quote {} does not exist; get one from router quote-swap",
            chains::quoted(&request.quote_id)
        ))
    })?;
    if expires_at < now_ms() {
        return Err(AppError::invalid(
            "quoteId",
            "has expired; quote again (connector setting quoteTtlSeconds sets how long quotes live)",
        )
        .of_kind(InvalidKind::QuoteExpired));
    }
    // A quote another version of the gateway stored is not run: it may mean something else.
    let stored: StoredQuote = serde_json::from_str(&payload)
        .map_err(|_| AppError::invalid("quoteId", "was made by another version of the gateway; quote again"))?;
    let mut target = Target::new(connector, &request.connector, &request.network, &request.chain_network, None);
    target.connector = target.connector.or(Some(&stored.connector));
    target.slippage_pct = Some(stored.slippage_pct);
    let desk = Desk::resolve(state, target).await?;
    if desk.network_name != stored.network || desk.connector != stored.connector {
        return Err(AppError::invalid("quoteId", format!("was quoted for {} on {}", stored.connector, stored.network)));
    }
    if let Some(quoted_for) = stored.wallet {
        let executing =
            crate::request::wallet_address(&desk.config, "walletAddress", request.wallet_address.as_deref())?;
        if executing != quoted_for {
            return Err(AppError::invalid(
                "walletAddress",
                format!(
                    "{executing} did not ask for this quote: it was quoted for {quoted_for}, which alone executes it"
                ),
            ));
        }
    }
    let token = |address: &str| -> AppResult<Token> { desk.token("quoteId", address) };
    let (base, quote) = (token(&stored.base)?, token(&stored.quote)?);
    let StoredQuote { side, legs, quoted, .. } = stored;
    let routing = Routing { legs, quote: quoted };
    // A BUY's amount is what it asks for; its legs through V2 pairs may deliver a little more.
    let amount = if side == Side::Sell { quoted.amount_in } else { routing.asked_out() };
    let order = Order::new(side, base, quote, amount);
    let id = request.quote_id.trim();
    if let Taken::Before(sent) =
        state.storage().take_quote(id, &payload, expires_at, chains::tx::current_request_key().as_deref()).await?
    {
        let by = sent.map_or_else(|| "is being executed now".to_string(), |hash| format!("was executed by {hash}"));
        return Err(AppError::invalid("quoteId", format!("{id} {by}; a quote executes once: quote again"))
            .of_kind(InvalidKind::QuoteUsed));
    }
    let executed = execute_routed(state, Planned { desk, order, routing }, request.wallet_address.as_deref()).await;
    let sent = match &executed {
        Ok(answer) => Some(answer.signature.clone()),
        Err(AppError::Failed { hash, .. } | AppError::TimedOut { hash, .. }) => Some(hash.to_string()),
        Err(error) if error.sent_nothing() => None,
        // It may have sent: the quote stays taken, naming nothing.
        Err(_) => return executed,
    };
    state.storage().settle_quote(id, sent.as_deref()).await?;
    executed
}
