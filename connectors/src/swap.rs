//! Swaps in the Uniswap family: routes through V2 pairs or V3 pools, their quotes on cached pool state, and the
//! router call that executes one within its limits.

use alloy::primitives::aliases::{U24, U160};
use alloy::primitives::{Address, Bytes, U256};
use alloy::sol_types::SolCall;
use chains::network::Network;
use chains::tx::Call;
use serde::{Deserialize, Serialize};

use crate::dex::Dex;
use crate::error::ConnectorError;
use crate::state::PoolStates;
use crate::v2::IUniswapV2Router02;
use crate::v2::math as v2_math;
use crate::v3::pool::SwapAmount;
use crate::v3::{ISwapRouter02, ISwapRouterWithDeadline, SwapRouterKind, V3Deployment};

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

fn no_v2() -> ConnectorError {
    ConnectorError::invalid("connector", "this connector has no V2 (amm) pools on this network")
}

fn no_v3() -> ConnectorError {
    ConnectorError::invalid("connector", "this connector has no V3 (clmm) pools on this network")
}

fn v3_of(dex: &Dex) -> Result<&V3Deployment, ConnectorError> {
    dex.v3.as_ref().ok_or_else(no_v3)
}

/// Quotes a route on cached pool state: exact in runs forward, exact out backward.
pub async fn quote_route(
    states: &PoolStates,
    network: &Network,
    dex: &Dex,
    route: &Route,
    amount: SwapAmount,
) -> Result<RouteQuote, ConnectorError> {
    let mut mids = 1.0f64;
    let mut block = 0;
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
                let deployment = dex.v2.ok_or_else(no_v2)?;
                let pair = states.v2_pair(network, &deployment, hop.pool).await?;
                let fee_bps = deployment.fee_bps;
                block = block.max(pair.block);
                let (reserve_in, reserve_out) = pair.reserves_for(hop.token_in)?;
                mids *= f64::from(reserve_out) / f64::from(reserve_in);
                let v2 = |e: v2_math::V2QuoteError| ConnectorError::Liquidity(format!("pair {}: {e}", hop.pool));
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
                let pool = states.v3_pool(network, v3_of(dex)?, hop.pool).await?;
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

/// Which contract executes a swap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// The V2 Router02 (`amm`).
    V2Router,
    /// The V3 swap router (`clmm`, `router`): V3 routes, and V2 routes where it is SwapRouter02.
    SwapRouter,
}

fn has_swap_router_02(dex: &Dex) -> bool {
    dex.v3.as_ref().is_some_and(|v3| v3.swap_router_kind == SwapRouterKind::SwapRouter02)
}

impl Via {
    /// The router for a route: the V3 router, and for V2 routes the V2 router unless the V3 one is SwapRouter02,
    /// which swaps through V2 pairs too.
    pub fn for_route(dex: &Dex, family: Family) -> Via {
        match family {
            Family::V2 if !has_swap_router_02(dex) => Via::V2Router,
            _ => Via::SwapRouter,
        }
    }

    /// The contract that executes the swap, which the wallet approves.
    pub fn spender(&self, dex: &Dex) -> Result<Address, ConnectorError> {
        match self {
            Via::V2Router => Ok(dex.v2.ok_or_else(no_v2)?.router),
            Via::SwapRouter => Ok(v3_of(dex)?.swap_router),
        }
    }
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

/// The router call for a quoted route, bounded by `limits`.
pub fn swap_call(dex: &Dex, via: Via, route: &Route, limits: &SwapLimits) -> Result<Call, ConnectorError> {
    let SwapLimits { exact_in, amount_in, amount_out, min_out, max_in, recipient, deadline } = *limits;
    let path: Vec<Address> =
        std::iter::once(route.hops[0].token_in).chain(route.hops.iter().map(|h| h.token_out)).collect();
    let router = via.spender(dex)?;
    let data = match (via, route.family) {
        (Via::V2Router, Family::V2) => match exact_in {
            true => IUniswapV2Router02::swapExactTokensForTokensCall {
                amountIn: amount_in,
                amountOutMin: min_out,
                path,
                to: recipient,
                deadline,
            }
            .abi_encode(),
            false => IUniswapV2Router02::swapTokensForExactTokensCall {
                amountOut: amount_out,
                amountInMax: max_in,
                path,
                to: recipient,
                deadline,
            }
            .abi_encode(),
        },
        (Via::V2Router, Family::V3) => {
            return Err(ConnectorError::invalid("connector", "the V2 router cannot swap through V3 pools"));
        }
        (Via::SwapRouter, Family::V2) => {
            if !has_swap_router_02(dex) {
                return Err(ConnectorError::invalid(
                    "connector",
                    "this connector's router swaps through V3 pools only",
                ));
            }
            match exact_in {
                true => ISwapRouter02::swapExactTokensForTokensCall {
                    amountIn: amount_in,
                    amountOutMin: min_out,
                    path,
                    to: recipient,
                }
                .abi_encode(),
                false => ISwapRouter02::swapTokensForExactTokensCall {
                    amountOut: amount_out,
                    amountInMax: max_in,
                    path,
                    to: recipient,
                }
                .abi_encode(),
            }
        }
        (Via::SwapRouter, Family::V3) => v3_swap_data(v3_of(dex)?.swap_router_kind, route, limits),
    };
    // SwapRouter02 takes its deadline in multicall, not in each swap's parameters.
    let data = match via {
        Via::SwapRouter if has_swap_router_02(dex) => {
            ISwapRouter02::multicallCall { deadline, data: vec![data.into()] }.abi_encode()
        }
        _ => data,
    };
    Ok(Call::new(router, data))
}

fn v3_swap_data(kind: SwapRouterKind, route: &Route, limits: &SwapLimits) -> Vec<u8> {
    let SwapLimits { exact_in, amount_in, amount_out, min_out, max_in, recipient, deadline } = *limits;
    let hop = &route.hops[0];
    let (token_in, token_out, fee, no_limit) =
        (hop.token_in, route.hops[route.hops.len() - 1].token_out, U24::from(hop.fee), U160::ZERO);
    let single = route.hops.len() == 1;
    match (kind, single, exact_in) {
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
                deadline,
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
                deadline,
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
                deadline,
                amountIn: amount_in,
                amountOutMinimum: min_out,
            },
        }
        .abi_encode(),
        (SwapRouterKind::SwapRouterWithDeadline, false, false) => ISwapRouterWithDeadline::exactOutputCall {
            params: ISwapRouterWithDeadline::ExactOutputParams {
                path: encode_path(&route.hops, true),
                recipient,
                deadline,
                amountOut: amount_out,
                amountInMaximum: max_in,
            },
        }
        .abi_encode(),
    }
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

#[cfg(test)]
mod tests {
    use alloy::primitives::{U256, address};
    use alloy::sol_types::SolCall;

    use super::*;
    use crate::dex::Registry;

    const WETH: Address = address!("0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2");
    const USDC: Address = address!("0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48");
    const WBTC: Address = address!("0x2260FAC5E5542a773Aa44fBCfeDf7C193bc2C599");

    fn two_hops(family: Family) -> Route {
        let fee = |fee| if family == Family::V3 { fee } else { 0 };
        Route {
            family,
            hops: vec![
                Hop { pool: Address::repeat_byte(1), token_in: WBTC, token_out: WETH, fee: fee(3000) },
                Hop { pool: Address::repeat_byte(2), token_in: WETH, token_out: USDC, fee: fee(500) },
            ],
        }
    }

    fn limits(exact_in: bool) -> SwapLimits {
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

    #[test]
    fn a_v3_path_packs_token_fee_token_forward_and_reversed_for_exact_output() {
        let route = two_hops(Family::V3);
        let forward = encode_path(&route.hops, false);
        let expected: Vec<u8> =
            [WBTC.as_slice(), &[0x00, 0x0b, 0xb8], WETH.as_slice(), &[0x00, 0x01, 0xf4], USDC.as_slice()].concat();
        assert_eq!(forward.as_ref(), expected.as_slice());
        let reversed = encode_path(&route.hops, true);
        let expected: Vec<u8> =
            [USDC.as_slice(), &[0x00, 0x01, 0xf4], WETH.as_slice(), &[0x00, 0x0b, 0xb8], WBTC.as_slice()].concat();
        assert_eq!(reversed.as_ref(), expected.as_slice());
    }

    #[test]
    fn uniswap_swaps_go_through_swap_router_02_in_a_multicall_with_the_deadline() {
        let uniswap = Registry::builtin().find("uniswap", "mainnet").unwrap();
        assert_eq!(Via::for_route(&uniswap, Family::V2), Via::SwapRouter, "SwapRouter02 swaps V2 pairs too");
        let call = swap_call(&uniswap, Via::SwapRouter, &two_hops(Family::V3), &limits(false)).unwrap();
        assert_eq!(call.to, uniswap.v3.as_ref().unwrap().swap_router);
        let multicall = ISwapRouter02::multicallCall::abi_decode(&call.data).unwrap();
        assert_eq!(multicall.deadline, limits(false).deadline);
        let inner = ISwapRouter02::exactOutputCall::abi_decode(&multicall.data[0]).unwrap().params;
        assert_eq!(inner.path, encode_path(&two_hops(Family::V3).hops, true));
        assert_eq!((inner.amountOut, inner.amountInMaximum), (U256::from(200), U256::from(110)));
        let call = swap_call(&uniswap, Via::SwapRouter, &two_hops(Family::V2), &limits(true)).unwrap();
        let multicall = ISwapRouter02::multicallCall::abi_decode(&call.data).unwrap();
        let inner = ISwapRouter02::swapExactTokensForTokensCall::abi_decode(&multicall.data[0]).unwrap();
        assert_eq!(inner.path, vec![WBTC, WETH, USDC]);
        assert_eq!((inner.amountIn, inner.amountOutMin), (U256::from(100), U256::from(190)));
    }

    #[test]
    fn pancakeswap_takes_the_deadline_in_each_swap_and_v2_routes_through_its_v2_router() {
        let pancakeswap = Registry::builtin().find("pancakeswap", "bsc").unwrap();
        let single = Route { family: Family::V3, hops: two_hops(Family::V3).hops[1..].to_vec() };
        let call = swap_call(&pancakeswap, Via::SwapRouter, &single, &limits(true)).unwrap();
        let params = ISwapRouterWithDeadline::exactInputSingleCall::abi_decode(&call.data).unwrap().params;
        assert_eq!((params.tokenIn, params.tokenOut, params.fee), (WETH, USDC, U24::from(500)));
        assert_eq!((params.deadline, params.amountOutMinimum), (limits(true).deadline, U256::from(190)));
        assert_eq!(Via::for_route(&pancakeswap, Family::V2), Via::V2Router);
        let call = swap_call(&pancakeswap, Via::V2Router, &two_hops(Family::V2), &limits(false)).unwrap();
        assert_eq!(call.to, pancakeswap.v2.unwrap().router);
        let swap = IUniswapV2Router02::swapTokensForExactTokensCall::abi_decode(&call.data).unwrap();
        assert_eq!(
            (swap.amountOut, swap.amountInMax, swap.deadline),
            (U256::from(200), U256::from(110), limits(false).deadline)
        );
        let refused = swap_call(&pancakeswap, Via::SwapRouter, &two_hops(Family::V2), &limits(true)).unwrap_err();
        assert!(refused.to_string().contains("V3 pools only"), "{refused}");
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
