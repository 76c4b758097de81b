//! amm and clmm quotes priced on requests resolved once. What a request line names besides its amount (the desk,
//! the tokens, the pools it may take) does not change with the amount, so it is kept per line without it, under
//! the kept answers' rule (the same block, config and lists), and a bot asking one pair for ever new amounts has
//! only the amount read and priced.

use std::sync::Arc;
use std::time::Instant;

use connectors::core::family::TradingType;
use connectors::core::route::Route;

use super::swap::{self, Order, Quoted, RouteText};
use super::{Desk, amm, clmm};
use crate::answers::{Basis, Inputs};
use crate::error::AppResult;
use crate::schema::swap::SwapRequest;
use crate::state::AppState;

/// A swap request resolved: its desk, its order (side and tokens; the amount is each request's) and the routes
/// it may take, the best of which is taken for each amount, each with what the answer says of it.
struct Resolved {
    desk: Desk,
    order: Order,
    routes: Vec<Route>,
    texts: Vec<RouteText>,
}

/// Quotes a swap through one pool of `kind` (`amm` or `clmm`) as `line`, the request's line, asks, computed
/// from `inputs` (read before computing, as the kept answers read them).
pub async fn quote_swap(
    state: &AppState,
    kind: TradingType,
    connector: Option<&str>,
    request: SwapRequest,
    line: &str,
    inputs: Inputs,
) -> AppResult<Quoted> {
    let key = key(kind, line);
    let kept = state.resolutions().current(&key, inputs).and_then(|kept| kept.downcast::<Resolved>().ok());
    let resolved = match kept {
        Some(resolved) => resolved,
        None => resolve(state, kind, connector, &request, &key, inputs).await?,
    };
    let Resolved { desk, order, routes, texts } = &*resolved;
    let order = order.for_amount(&request)?;
    let routing = swap::best_routing(state.pool_states(), desk, &order, routes).await?;
    let taken = routes.iter().position(|route| *route == routing.legs[0].route).expect("one of the routes");
    let response = swap::priced_response(desk, &order, &routing, texts[taken].clone());
    Ok(Quoted { response, network: desk.network.clone() })
}

/// Resolves the request, and keeps the resolution when the network has a block it holds for.
async fn resolve(
    state: &AppState,
    kind: TradingType,
    connector: Option<&str>,
    request: &SwapRequest,
    key: &str,
    inputs: Inputs,
) -> AppResult<Arc<Resolved>> {
    let asked = Instant::now();
    let desk = Desk::resolve(state, request.target(connector)).await?;
    // Read before resolving: a block that comes meanwhile makes the resolution stale rather than one for the
    // block before look current.
    let (block, reorgs) = (desk.network.known_block(), desk.network.reorgs());
    let (order, routes) = match kind {
        TradingType::Amm => amm::resolve(state, &desk, request).await?,
        _ => clmm::resolve(state, &desk, request).await?,
    };
    let network = Arc::downgrade(&desk.network);
    let texts = routes.iter().map(|route| RouteText::of(&desk, &order, route)).collect();
    let resolved = Arc::new(Resolved { desk, order, routes, texts });
    if let Some(block) = block {
        let basis = Basis { inputs, network, block, reorgs, asked };
        state.resolutions().keep(key, resolved.clone(), basis);
    }
    Ok(resolved)
}

/// What a resolution is kept under: the trading type and the request line without its `amount`.
fn key(kind: TradingType, line: &str) -> String {
    let (path, query) = line.split_once('?').unwrap_or((line, ""));
    let mut key = String::with_capacity(line.len() + 8);
    key.push_str(kind.as_str());
    key.push(' ');
    key.push_str(path);
    key.push('?');
    for pair in query.split('&').filter(|pair| pair.split('=').next() != Some("amount")) {
        key.push_str(pair);
        key.push('&');
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resolution_is_kept_under_the_line_without_its_amount_and_nothing_else_is_left_out() {
        let line = |query: &str| key(TradingType::Clmm, &format!("/trading/clmm/quote-swap?{query}"));
        let asked = line("baseToken=WETH&quoteToken=USDC&amount=1&side=SELL");
        assert_eq!(asked, "clmm /trading/clmm/quote-swap?baseToken=WETH&quoteToken=USDC&side=SELL&");
        assert_eq!(line("baseToken=WETH&quoteToken=USDC&amount=1.25&side=SELL"), asked);
        assert_eq!(
            line("amount=7&baseToken=WETH&quoteToken=USDC&side=SELL"),
            line("baseToken=WETH&quoteToken=USDC&side=SELL")
        );
        // Whatever else differs, or is spelled otherwise, is another key: at worst resolved again, never mistaken.
        for other in [
            "baseToken=WETH&quoteToken=USDC&amount=1&side=BUY",
            "baseToken=WETH&quoteToken=DAI&amount=1&side=SELL",
            "baseToken=WETH&quoteToken=USDC&amounts=1&side=SELL",
            "baseToken=WETH&quoteToken=USDC&%61mount=1&side=SELL",
            "baseToken=WETH&quoteToken=USDC&amount=1&side=SELL&slippagePct=2",
        ] {
            assert_ne!(line(other), asked, "{other}");
        }
        assert_ne!(
            key(TradingType::Amm, "/trading/swap/quote?amount=1"),
            key(TradingType::Clmm, "/trading/swap/quote?amount=1")
        );
    }
}
