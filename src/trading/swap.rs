//! Swaps shared by `amm`, `clmm` and `router`: a route of pools, quoted on cached state, executed through the
//! connector's router contract, with what moved read from the receipt.

use alloy::primitives::Address;
use chains::erc20::{Token, transfers};
use connectors::family::Family;
use connectors::router::{Route, RouteQuote, SwapLimits};
use connectors::state::PoolStates;
use connectors::v3::pool::SwapAmount;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{Desk, TxResponse, fee_of, ratio, signed, status_of};
use crate::error::{ApiError, ApiResult};
use crate::request::{AmountText, Human, Target, parse_side};
use crate::state::AppState;
use connectors::Side;

/// Quotes a route on the desk's cached pool state.
pub async fn quote_route(states: &PoolStates, desk: &Desk, route: &Route, amount: SwapAmount) -> ApiResult<RouteQuote> {
    Ok(connectors::router::quote_route(states, &desk.network, &desk.dex, route, amount).await?)
}

/// The query or body of every quote-swap and execute-swap, in either route style.
#[derive(Debug, Clone, Deserialize, IntoParams, ToSchema)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
#[schema(example = json!({"chainNetwork": "ethereum-devnet", "connector": "uniswap", "baseToken": "WETH", "quoteToken": "USDC", "amount": "0.1", "side": "SELL", "slippagePct": 1, "walletAddress": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"}))]
pub struct SwapRequest {
    /// Network name (per-connector routes), e.g. `devnet`.
    #[param(example = "devnet")]
    pub network: Option<String>,
    /// `ethereum-<network>` (unified routes).
    #[param(example = "ethereum-devnet")]
    pub chain_network: Option<String>,
    /// `uniswap` or `pancakeswap` (unified routes; `/trading/swap/*` take the type too: `uniswap/clmm`,
    /// `uniswap/amm`, `uniswap/router`); the network's swapProvider when omitted.
    #[param(example = "uniswap")]
    pub connector: Option<String>,
    /// Symbol or address of the token whose amount is given.
    #[param(example = "WETH")]
    pub base_token: String,
    /// Symbol or address of the other token (taken from the pool when omitted and a pool is given).
    #[param(example = "USDC")]
    pub quote_token: Option<String>,
    /// Human amount of the base token. Digits past its decimals are dropped (rounded toward zero): a SELL never
    /// spends more than written, a BUY never pays for more; the slippage bounds follow from the rounded amount.
    #[param(value_type = String, example = "0.1")]
    #[schema(value_type = String)]
    pub amount: AmountText,
    /// SELL spends `amount` of the base token; BUY receives `amount` of it.
    #[param(example = "SELL")]
    pub side: String,
    /// A specific pool (amm, clmm); otherwise the best listed pool for the pair.
    pub pool_address: Option<String>,
    /// Tolerance, 0-100; the connector's `slippagePct` when omitted.
    pub slippage_pct: Option<f64>,
    /// The wallet (execute), the default wallet when omitted.
    pub wallet_address: Option<String>,
}

impl SwapRequest {
    pub fn target<'a>(&'a self, connector: Option<&'a str>) -> Target<'a> {
        Target::new(connector, &self.connector, &self.network, &self.chain_network, self.slippage_pct)
    }
}

/// A swap request resolved against the desk.
pub struct Order {
    pub side: Side,
    pub base: Token,
    pub quote: Token,
    pub token_in: Token,
    pub token_out: Token,
    pub amount: SwapAmount,
}

impl Order {
    /// Resolves tokens, side and amount; the quote token may come from a pool when the request names none.
    pub fn resolve(desk: &Desk, request: &SwapRequest, pool_tokens: Option<(Address, Address)>) -> ApiResult<Order> {
        let side = parse_side(&request.side)?;
        let base = desk.token("baseToken", &request.base_token)?;
        let quote = match (request.quote_token.as_deref().filter(|q| !q.is_empty()), pool_tokens) {
            (Some(quote), _) => desk.token("quoteToken", quote)?,
            (None, Some((a, b))) => {
                let other = if a == base.address { b } else { a };
                desk.book.tokens.iter().find(|t| t.address == other).cloned().ok_or_else(|| {
                    ApiError::bad_request(
                        "quoteToken",
                        format!("is required: the pool's other token {other} is not listed"),
                    )
                })?
            }
            (None, None) => return Err(ApiError::bad_request("quoteToken", "is required")),
        };
        if base.address == quote.address {
            return Err(ApiError::bad_request("quoteToken", "must differ from baseToken"));
        }
        let raw = request.amount.parse("amount", base.decimals)?.raw;
        if raw.is_zero() {
            return Err(ApiError::bad_request("amount", "must be greater than zero"));
        }
        let (token_in, token_out, amount) = match side {
            Side::Sell => (base.clone(), quote.clone(), SwapAmount::ExactIn(raw)),
            Side::Buy => (quote.clone(), base.clone(), SwapAmount::ExactOut(raw)),
        };
        Ok(Order { side, base, quote, token_in, token_out, amount })
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QuoteSwapResponse {
    /// The pool (single-pool swaps).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pool_address: Option<String>,
    /// Token symbols and fee tiers of the route, e.g. `WBTC -0.3%-> WETH -0.05%-> USDC`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub route_path: Option<String>,
    /// Execute this quote by id with `execute-quote` (router).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quote_id: Option<String>,
    /// The pools the swap goes through, in order.
    pub route: Vec<RouteStep>,
    pub token_in: String,
    pub token_out: String,
    #[schema(value_type = f64, example = 0.1)]
    pub amount_in: Human,
    #[schema(value_type = f64, example = 299.6)]
    pub amount_out: Human,
    /// Quote token per base token.
    #[schema(value_type = f64, example = 2996.0)]
    pub price: Human,
    #[schema(value_type = f64)]
    pub price_impact_pct: Human,
    pub slippage_pct: f64,
    /// The least a SELL accepts.
    #[schema(value_type = f64)]
    pub min_amount_out: Human,
    /// The most a BUY pays.
    #[schema(value_type = f64)]
    pub max_amount_in: Human,
    /// The block the quote was computed at.
    pub block_number: u64,
    /// Gas the swap is expected to use.
    pub gas_estimate: u64,
}

/// A quote, and the network it was computed on.
pub struct Quoted {
    pub response: QuoteSwapResponse,
    pub network: std::sync::Arc<chains::network::Network>,
}

/// One pool of a route.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RouteStep {
    pub pool_address: String,
    /// `amm` (V2) or `clmm` (V3).
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub token_in: String,
    pub token_out: String,
    /// The V3 fee tier (hundredths of a basis point); 0 for V2.
    pub fee: u32,
}

/// Gas a swap through one pool uses, and what each further pool adds (from the devnet's receipts).
const SWAP_GAS: u64 = 130_000;
const HOP_GAS: u64 = 70_000;

pub fn quote_response(desk: &Desk, order: &Order, route: &Route, quote: &RouteQuote) -> QuoteSwapResponse {
    let (amount_in, amount_out) = (quote.amount_in, quote.amount_out);
    let (min_out, max_in) = match order.side {
        Side::Sell => (desk.min_out(amount_out), amount_in),
        Side::Buy => (amount_out, desk.max_in(amount_in)),
    };
    let price = match order.side {
        Side::Sell => ratio(amount_out, order.quote.decimals, amount_in, order.base.decimals),
        Side::Buy => ratio(amount_in, order.quote.decimals, amount_out, order.base.decimals),
    };
    let executed = f64::from(amount_out) / f64::from(amount_in);
    let impact = ((1.0 - executed / quote.mid_out_per_in) * 100.0).max(0.0);
    QuoteSwapResponse {
        pool_address: (route.hops.len() == 1).then(|| chains::checksum(route.hops[0].pool)),
        route_path: Some(route_path(desk, route)),
        quote_id: None,
        route: route
            .hops
            .iter()
            .map(|hop| RouteStep {
                pool_address: chains::checksum(hop.pool),
                kind: route.family.kind(),
                token_in: chains::checksum(hop.token_in),
                token_out: chains::checksum(hop.token_out),
                fee: hop.fee,
            })
            .collect(),
        token_in: chains::checksum(order.token_in.address),
        token_out: chains::checksum(order.token_out.address),
        amount_in: Human(chains::amount::format_units(amount_in, order.token_in.decimals)),
        amount_out: Human(chains::amount::format_units(amount_out, order.token_out.decimals)),
        price: Human(price),
        price_impact_pct: Human(format!("{impact:.6}").trim_end_matches('0').trim_end_matches('.').to_string()),
        slippage_pct: desk.slippage_pct,
        min_amount_out: Human(chains::amount::format_units(min_out, order.token_out.decimals)),
        max_amount_in: Human(chains::amount::format_units(max_in, order.token_in.decimals)),
        block_number: quote.block,
        gas_estimate: SWAP_GAS + HOP_GAS * (route.hops.len() as u64 - 1),
    }
}

fn route_path(desk: &Desk, route: &Route) -> String {
    let symbol = |address: Address| {
        desk.book
            .tokens
            .iter()
            .find(|t| t.address == address)
            .map(|t| t.symbol.clone())
            .unwrap_or_else(|| address.to_string())
    };
    let protocol = desk.dex.protocol(route.family).ok();
    let mut path = symbol(route.hops[0].token_in);
    for hop in &route.hops {
        let fee = protocol.map_or(hop.fee, |protocol| protocol.hop_fee(hop));
        path.push_str(&format!(" -{}%-> {}", fee as f64 / 10_000.0, symbol(hop.token_out)));
    }
    path
}

/// What the swap may do: the quoted amounts, bounded by the desk's slippage and deadline.
fn limits(desk: &Desk, order: &Order, quote: &RouteQuote, recipient: Address) -> SwapLimits {
    SwapLimits {
        exact_in: order.side == Side::Sell,
        amount_in: quote.amount_in,
        amount_out: quote.amount_out,
        min_out: desk.min_out(quote.amount_out),
        max_in: desk.max_in(quote.amount_in),
        recipient,
        deadline: desk.deadline(),
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SwapData {
    pub token_in: String,
    pub token_out: String,
    /// What left the wallet, read from the receipt.
    #[schema(value_type = f64)]
    pub amount_in: Human,
    /// What reached the wallet, read from the receipt.
    #[schema(value_type = f64)]
    pub amount_out: Human,
    /// Gas fee in the native currency.
    #[schema(value_type = f64)]
    pub fee: Human,
    #[schema(value_type = f64)]
    pub base_token_balance_change: Human,
    #[schema(value_type = f64)]
    pub quote_token_balance_change: Human,
    pub slippage_pct: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pool_address: Option<String>,
}

/// A swap resolved, routed and quoted, ready to answer or execute.
pub struct Planned {
    pub desk: Desk,
    pub order: Order,
    pub route: Route,
    pub quote: RouteQuote,
}

impl Planned {
    /// The quote, and the network whose chain state it was computed from.
    pub fn quoted(&self) -> Quoted {
        Quoted {
            response: quote_response(&self.desk, &self.order, &self.route, &self.quote),
            network: self.desk.network.clone(),
        }
    }

    /// Checks the allowance, sends the swap through the router of the `router` family and reads what moved.
    /// `kind` (`amm`, `clmm`, `router`) names the spender in messages.
    pub async fn execute(
        &self,
        state: &AppState,
        router: Family,
        kind: &str,
        wallet: Option<&str>,
    ) -> ApiResult<TxResponse<SwapData>> {
        let Planned { desk, order, route, quote } = self;
        let (owner, signer) = desk.wallet(state, wallet)?;
        let protocol = desk.protocol(router)?;
        let spender = protocol.swap_router()?;
        let needed = match order.side {
            Side::Sell => quote.amount_in,
            Side::Buy => desk.max_in(quote.amount_in),
        };
        desk.require_allowance(owner, &order.token_in, spender, needed, &format!("{}/{kind}", desk.connector)).await?;
        let call = protocol.swap_call(route, &limits(desk, order, quote, owner))?;
        let (sent, outcome) = desk.send(state, &signer, call, "swap").await?;
        let data = status_of(&outcome).1.map(|receipt| {
            let (amount_in, _) = transfers(receipt, order.token_in.address, owner);
            let (_, amount_out) = transfers(receipt, order.token_out.address, owner);
            let (base_change, quote_change) = match order.side {
                Side::Sell => {
                    (signed(amount_in, order.base.decimals, true), signed(amount_out, order.quote.decimals, false))
                }
                Side::Buy => {
                    (signed(amount_out, order.base.decimals, false), signed(amount_in, order.quote.decimals, true))
                }
            };
            SwapData {
                token_in: chains::checksum(order.token_in.address),
                token_out: chains::checksum(order.token_out.address),
                amount_in: Human(chains::amount::format_units(amount_in, order.token_in.decimals)),
                amount_out: Human(chains::amount::format_units(amount_out, order.token_out.decimals)),
                fee: fee_of(&outcome),
                base_token_balance_change: base_change,
                quote_token_balance_change: quote_change,
                slippage_pct: desk.slippage_pct,
                pool_address: (route.hops.len() == 1).then(|| chains::checksum(route.hops[0].pool)),
            }
        });
        Ok(TxResponse::new(&sent, &outcome, data))
    }
}
