//! Swaps shared by `amm`, `clmm` and `router`: a route of pools, quoted on cached state, executed through the
//! connector's router contract, with what moved read from the receipt.

use alloy::primitives::aliases::{U24, U160};
use alloy::primitives::{Address, Bytes, U256};
use alloy::sol_types::SolCall;
use chains::erc20::Token;
use chains::tx::Call;
use connectors::state::PoolStates;
use connectors::v2::IUniswapV2Router02;
use connectors::v2::math as v2_math;
use connectors::v3::pool::SwapAmount;
use connectors::v3::{ISwapRouter02, ISwapRouterWithDeadline, SwapRouterKind};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{Market, Side, TxResponse, Venue, fee_of, ratio, signed, status_of, transfers};
use crate::error::{ApiError, ApiResult};
use crate::http::params::{AmountText, Human};
use crate::state::AppState;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Family {
    V2,
    V3,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hop {
    pub pool: Address,
    pub token_in: Address,
    pub token_out: Address,
    /// V3 fee tier; 0 for V2.
    pub fee: u32,
}

/// Pools to swap through, all of one family.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    pub family: Family,
    pub hops: Vec<Hop>,
}

/// A route's quote at one block.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RouteQuote {
    pub amount_in: U256,
    pub amount_out: U256,
    /// The route's mid price, output per input in raw units, before fees and impact.
    pub mid_out_per_in: f64,
    pub block: u64,
}

/// Quotes a route on cached pool state: exact in runs forward, exact out backward.
pub async fn quote_route(
    states: &PoolStates,
    market: &Market,
    route: &Route,
    amount: SwapAmount,
) -> ApiResult<RouteQuote> {
    let network = &market.network;
    let mut mids = 1.0f64;
    let mut block = 0;
    let mut amounts = Vec::with_capacity(route.hops.len());
    let hops: Vec<&Hop> = match amount {
        SwapAmount::ExactIn(_) => route.hops.iter().collect(),
        SwapAmount::ExactOut(_) => route.hops.iter().rev().collect(),
    };
    let mut running = match amount {
        SwapAmount::ExactIn(a) | SwapAmount::ExactOut(a) => a,
    };
    for hop in hops {
        let (hop_in, hop_out) = match route.family {
            Family::V2 => {
                let deployment = market.dex.v2.ok_or_else(no_v2)?;
                let pair = states.v2_pair(network, &deployment, hop.pool).await?;
                let fee_bps = deployment.fee_bps;
                block = block.max(pair.block);
                let (reserve_in, reserve_out) = pair.reserves_for(hop.token_in)?;
                mids *= f64::from(reserve_out) / f64::from(reserve_in);
                let v2 = |e: v2_math::V2QuoteError| {
                    ApiError::from(connectors::error::ConnectorError::Liquidity(format!("pair {}: {e}", hop.pool)))
                };
                match amount {
                    SwapAmount::ExactIn(_) => {
                        (running, v2_math::amount_out(running, reserve_in, reserve_out, fee_bps).map_err(v2)?)
                    }
                    SwapAmount::ExactOut(_) => {
                        (v2_math::amount_in(running, reserve_in, reserve_out, fee_bps).map_err(v2)?, running)
                    }
                }
            }
            Family::V3 => {
                let pool = states.v3_pool(network, market.dex.v3.as_ref().ok_or_else(no_v3)?, hop.pool).await?;
                block = block.max(pool.block);
                let price_1_per_0 = (f64::from(U256::from(pool.sqrt_price_x96)) / 2f64.powi(96)).powi(2);
                mids *= if hop.token_in == pool.token0 { price_1_per_0 } else { 1.0 / price_1_per_0 };
                let step = match amount {
                    SwapAmount::ExactIn(_) => SwapAmount::ExactIn(running),
                    SwapAmount::ExactOut(_) => SwapAmount::ExactOut(running),
                };
                let result = pool.swap(hop.token_in, step).await?;
                (result.amount_in, result.amount_out)
            }
        };
        amounts.push((hop_in, hop_out));
        running = match amount {
            SwapAmount::ExactIn(_) => hop_out,
            SwapAmount::ExactOut(_) => hop_in,
        };
    }
    let (amount_in, amount_out) = match amount {
        SwapAmount::ExactIn(a) => (a, running),
        SwapAmount::ExactOut(a) => (running, a),
    };
    Ok(RouteQuote { amount_in, amount_out, mid_out_per_in: mids, block })
}

fn no_v2() -> ApiError {
    ApiError::bad_request("connector", "this connector has no V2 (amm) pools on this network")
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
    pub fn venue<'a>(&'a self, connector: Option<&'a str>) -> Venue<'a> {
        Venue {
            connector: connector.or(self.connector.as_deref()),
            network: self.network.as_deref(),
            chain_network: self.chain_network.as_deref(),
            slippage_pct: self.slippage_pct,
        }
    }
}

/// A swap request resolved against the market.
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
    pub fn resolve(
        market: &Market,
        request: &SwapRequest,
        pool_tokens: Option<(Address, Address)>,
    ) -> ApiResult<Order> {
        let side = Side::parse(&request.side)?;
        let base = market.token("baseToken", &request.base_token)?;
        let quote = match (request.quote_token.as_deref().filter(|q| !q.is_empty()), pool_tokens) {
            (Some(quote), _) => market.token("quoteToken", quote)?,
            (None, Some((a, b))) => {
                let other = if a == base.address { b } else { a };
                market.book.tokens.iter().find(|t| t.address == other).cloned().ok_or_else(|| {
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

pub fn quote_response(market: &Market, order: &Order, route: &Route, quote: &RouteQuote) -> QuoteSwapResponse {
    let (amount_in, amount_out) = (quote.amount_in, quote.amount_out);
    let (min_out, max_in) = match order.side {
        Side::Sell => (market.min_out(amount_out), amount_in),
        Side::Buy => (amount_out, market.max_in(amount_in)),
    };
    let price = match order.side {
        Side::Sell => ratio(amount_out, order.quote.decimals, amount_in, order.base.decimals),
        Side::Buy => ratio(amount_in, order.quote.decimals, amount_out, order.base.decimals),
    };
    let executed = f64::from(amount_out) / f64::from(amount_in);
    let impact = ((1.0 - executed / quote.mid_out_per_in) * 100.0).max(0.0);
    QuoteSwapResponse {
        pool_address: (route.hops.len() == 1).then(|| chains::checksum(route.hops[0].pool)),
        route_path: Some(route_path(market, route)),
        quote_id: None,
        route: route
            .hops
            .iter()
            .map(|hop| RouteStep {
                pool_address: chains::checksum(hop.pool),
                kind: if route.family == Family::V2 { "amm" } else { "clmm" },
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
        slippage_pct: market.slippage_pct,
        min_amount_out: Human(chains::amount::format_units(min_out, order.token_out.decimals)),
        max_amount_in: Human(chains::amount::format_units(max_in, order.token_in.decimals)),
        block_number: quote.block,
        gas_estimate: SWAP_GAS + HOP_GAS * (route.hops.len() as u64 - 1),
    }
}

fn route_path(market: &Market, route: &Route) -> String {
    let symbol = |address: Address| {
        market
            .book
            .tokens
            .iter()
            .find(|t| t.address == address)
            .map(|t| t.symbol.clone())
            .unwrap_or_else(|| address.to_string())
    };
    let mut path = symbol(route.hops[0].token_in);
    for hop in &route.hops {
        let fee = match route.family {
            Family::V2 => format!("{}%", market.dex.v2.map(|v2| v2.fee_bps as f64 / 100.0).unwrap_or_default()),
            Family::V3 => format!("{}%", hop.fee as f64 / 10_000.0),
        };
        path.push_str(&format!(" -{fee}-> {}", symbol(hop.token_out)));
    }
    path
}

/// Which contract executes a swap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// The V2 Router02 (`amm`).
    V2Router,
    /// The V3 swap router (`clmm`, `router`): V3 routes, and V2 routes where it is SwapRouter02.
    SwapRouter,
}

impl Via {
    /// The router for a route: the V3 router, and for V2 routes the V2 router unless the V3 one is SwapRouter02,
    /// which swaps through V2 pairs too.
    pub fn for_route(market: &Market, family: Family) -> Via {
        let swap_router_02 =
            market.dex.v3.as_ref().is_some_and(|v3| v3.swap_router_kind == SwapRouterKind::SwapRouter02);
        match family {
            Family::V2 if !swap_router_02 => Via::V2Router,
            _ => Via::SwapRouter,
        }
    }

    pub fn spender(&self, market: &Market) -> ApiResult<Address> {
        match self {
            Via::V2Router => Ok(market.dex.v2.ok_or_else(no_v2)?.router),
            Via::SwapRouter => Ok(market.dex.v3.clone().ok_or_else(no_v3)?.swap_router),
        }
    }
}

fn no_v3() -> ApiError {
    ApiError::bad_request("connector", "this connector has no V3 (clmm) pools on this network")
}

/// The router call for a quoted route, bounded by the slippage limits.
pub fn swap_call(
    market: &Market,
    via: Via,
    route: &Route,
    order: &Order,
    quote: &RouteQuote,
    recipient: Address,
) -> ApiResult<Call> {
    let exact_in = order.side == Side::Sell;
    let (amount_in, amount_out) = (quote.amount_in, quote.amount_out);
    let (min_out, max_in) = (market.min_out(amount_out), market.max_in(amount_in));
    let path: Vec<Address> =
        std::iter::once(route.hops[0].token_in).chain(route.hops.iter().map(|h| h.token_out)).collect();
    let router = via.spender(market)?;
    let data = match (via, route.family) {
        (Via::V2Router, Family::V2) => {
            if exact_in {
                IUniswapV2Router02::swapExactTokensForTokensCall {
                    amountIn: amount_in,
                    amountOutMin: min_out,
                    path,
                    to: recipient,
                    deadline: market.deadline(),
                }
                .abi_encode()
            } else {
                IUniswapV2Router02::swapTokensForExactTokensCall {
                    amountOut: amount_out,
                    amountInMax: max_in,
                    path,
                    to: recipient,
                    deadline: market.deadline(),
                }
                .abi_encode()
            }
        }
        (Via::V2Router, Family::V3) => {
            return Err(ApiError::bad_request("connector", "the V2 router cannot swap through V3 pools"));
        }
        (Via::SwapRouter, Family::V2) => {
            if market.dex.v3.clone().ok_or_else(no_v3)?.swap_router_kind != SwapRouterKind::SwapRouter02 {
                return Err(ApiError::bad_request("connector", "this connector's router swaps through V3 pools only"));
            }
            if exact_in {
                ISwapRouter02::swapExactTokensForTokensCall {
                    amountIn: amount_in,
                    amountOutMin: min_out,
                    path,
                    to: recipient,
                }
                .abi_encode()
            } else {
                ISwapRouter02::swapTokensForExactTokensCall {
                    amountOut: amount_out,
                    amountInMax: max_in,
                    path,
                    to: recipient,
                }
                .abi_encode()
            }
        }
        (Via::SwapRouter, Family::V3) => {
            v3_swap_data(market, route, exact_in, amount_in, amount_out, min_out, max_in, recipient)?
        }
    };
    // SwapRouter02 takes its deadline in multicall, not in each swap's parameters.
    let data = match via {
        Via::SwapRouter
            if market.dex.v3.as_ref().is_some_and(|v3| v3.swap_router_kind == SwapRouterKind::SwapRouter02) =>
        {
            ISwapRouter02::multicallCall { deadline: market.deadline(), data: vec![data.into()] }.abi_encode()
        }
        _ => data,
    };
    Ok(Call::new(router, data))
}

#[allow(clippy::too_many_arguments)]
fn v3_swap_data(
    market: &Market,
    route: &Route,
    exact_in: bool,
    amount_in: U256,
    amount_out: U256,
    min_out: U256,
    max_in: U256,
    recipient: Address,
) -> ApiResult<Vec<u8>> {
    let kind = market.dex.v3.clone().ok_or_else(no_v3)?.swap_router_kind;
    let hop = &route.hops[0];
    let (token_in, token_out, fee, no_limit) =
        (hop.token_in, route.hops[route.hops.len() - 1].token_out, U24::from(hop.fee), U160::ZERO);
    let single = route.hops.len() == 1;
    Ok(match (kind, single, exact_in) {
        (SwapRouterKind::SwapRouter02, true, true) => ISwapRouter02::exactInputSingleCall {
            params: ISwapRouter02::ExactInputSingleParams {
                tokenIn: token_in,
                tokenOut: token_out,
                fee,
                recipient,
                amountIn: amount_in,
                amountOutMinimum: min_out,
                sqrtPriceLimitX96: no_limit,
            },
        }
        .abi_encode(),
        (SwapRouterKind::SwapRouter02, true, false) => ISwapRouter02::exactOutputSingleCall {
            params: ISwapRouter02::ExactOutputSingleParams {
                tokenIn: token_in,
                tokenOut: token_out,
                fee,
                recipient,
                amountOut: amount_out,
                amountInMaximum: max_in,
                sqrtPriceLimitX96: no_limit,
            },
        }
        .abi_encode(),
        (SwapRouterKind::SwapRouter02, false, true) => ISwapRouter02::exactInputCall {
            params: ISwapRouter02::ExactInputParams {
                path: encode_path(&route.hops, false),
                recipient,
                amountIn: amount_in,
                amountOutMinimum: min_out,
            },
        }
        .abi_encode(),
        (SwapRouterKind::SwapRouter02, false, false) => ISwapRouter02::exactOutputCall {
            params: ISwapRouter02::ExactOutputParams {
                path: encode_path(&route.hops, true),
                recipient,
                amountOut: amount_out,
                amountInMaximum: max_in,
            },
        }
        .abi_encode(),
        (SwapRouterKind::SwapRouterWithDeadline, true, true) => ISwapRouterWithDeadline::exactInputSingleCall {
            params: ISwapRouterWithDeadline::ExactInputSingleParams {
                tokenIn: token_in,
                tokenOut: token_out,
                fee,
                recipient,
                deadline: market.deadline(),
                amountIn: amount_in,
                amountOutMinimum: min_out,
                sqrtPriceLimitX96: no_limit,
            },
        }
        .abi_encode(),
        (SwapRouterKind::SwapRouterWithDeadline, true, false) => ISwapRouterWithDeadline::exactOutputSingleCall {
            params: ISwapRouterWithDeadline::ExactOutputSingleParams {
                tokenIn: token_in,
                tokenOut: token_out,
                fee,
                recipient,
                deadline: market.deadline(),
                amountOut: amount_out,
                amountInMaximum: max_in,
                sqrtPriceLimitX96: no_limit,
            },
        }
        .abi_encode(),
        (SwapRouterKind::SwapRouterWithDeadline, false, true) => ISwapRouterWithDeadline::exactInputCall {
            params: ISwapRouterWithDeadline::ExactInputParams {
                path: encode_path(&route.hops, false),
                recipient,
                deadline: market.deadline(),
                amountIn: amount_in,
                amountOutMinimum: min_out,
            },
        }
        .abi_encode(),
        (SwapRouterKind::SwapRouterWithDeadline, false, false) => ISwapRouterWithDeadline::exactOutputCall {
            params: ISwapRouterWithDeadline::ExactOutputParams {
                path: encode_path(&route.hops, true),
                recipient,
                deadline: market.deadline(),
                amountOut: amount_out,
                amountInMaximum: max_in,
            },
        }
        .abi_encode(),
    })
}

/// The packed V3 path: token, fee, token, ... in swap order, or reversed for exact-output swaps.
pub fn encode_path(hops: &[Hop], reverse: bool) -> Bytes {
    let mut path = Vec::with_capacity(20 + hops.len() * 23);
    if reverse {
        path.extend_from_slice(hops[hops.len() - 1].token_out.as_slice());
        for hop in hops.iter().rev() {
            path.extend_from_slice(&hop.fee.to_be_bytes()[1..]);
            path.extend_from_slice(hop.token_in.as_slice());
        }
    } else {
        path.extend_from_slice(hops[0].token_in.as_slice());
        for hop in hops {
            path.extend_from_slice(&hop.fee.to_be_bytes()[1..]);
            path.extend_from_slice(hop.token_out.as_slice());
        }
    }
    path.into()
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
    pub market: Market,
    pub order: Order,
    pub route: Route,
    pub quote: RouteQuote,
}

impl Planned {
    /// The quote, and the network whose chain state it was computed from.
    pub fn quoted(&self) -> Quoted {
        Quoted {
            response: quote_response(&self.market, &self.order, &self.route, &self.quote),
            network: self.market.network.clone(),
        }
    }

    /// Checks the allowance, sends the swap through `via` and reads what moved. `kind` (`amm`, `clmm`,
    /// `router`) names the spender in messages.
    pub async fn execute(
        &self,
        state: &AppState,
        via: Via,
        kind: &str,
        wallet: Option<&str>,
    ) -> ApiResult<TxResponse<SwapData>> {
        let Planned { market, order, route, quote } = self;
        let (owner, signer) = market.wallet(state, wallet)?;
        let spender = via.spender(market)?;
        let needed = match order.side {
            Side::Sell => quote.amount_in,
            Side::Buy => market.max_in(quote.amount_in),
        };
        market
            .require_allowance(owner, &order.token_in, spender, needed, &format!("{}/{kind}", market.connector))
            .await?;
        let call = swap_call(market, via, route, order, quote, owner)?;
        let (sent, outcome) = market.send(state, &signer, call, "swap").await?;
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
                slippage_pct: market.slippage_pct,
                pool_address: (route.hops.len() == 1).then(|| chains::checksum(route.hops[0].pool)),
            }
        });
        Ok(TxResponse::new(&sent, &outcome, data))
    }
}

/// Of several quoted routes, the best: the most out for exact in, the least in for exact out.
pub fn best<T>(side: Side, candidates: Vec<(T, RouteQuote)>) -> Option<(T, RouteQuote)> {
    candidates.into_iter().reduce(|best, next| {
        let better = match side {
            Side::Sell => next.1.amount_out > best.1.amount_out,
            Side::Buy => next.1.amount_in < best.1.amount_in,
        };
        if better { next } else { best }
    })
}
