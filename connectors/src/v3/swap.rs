//! Finding, quoting and swapping through V3 pools: the factory's `getPool` per fee tier, the pool's own swap
//! math on its cached ticks, and the swap router's calls (Uniswap's SwapRouter02, which takes V2 routes too and
//! its deadline in `multicall`; PancakeSwap's SwapRouter, with a deadline in each swap).

use alloy::primitives::aliases::{U24, U160};
use alloy::primitives::{Address, Bytes, U256};
use alloy::sol_types::SolCall;
use chains::network::Network;
use chains::tx::Call;

use super::pool::SwapAmount;
use super::{ISwapRouter02, ISwapRouterWithDeadline, IUniswapV3Factory, SwapRouterKind, V3Deployment};
use crate::error::ConnectorError;
use crate::family::{Deployed, Discover, Family, HopQuote, Lookup, Quote, Reading, Swap};
use crate::router::{Hop, Route, SwapLimits};
use crate::state::PoolStates;
use crate::v2::swap::token_path;

impl Deployed for V3Deployment {
    fn family(&self) -> Family {
        Family::V3
    }
}

impl Discover for V3Deployment {
    fn pool_addresses(&self, token0: Address, token1: Address) -> Vec<(Address, u32)> {
        self.fee_tiers.iter().map(|tier| (self.pool_address(token0, token1, tier.fee), tier.fee)).collect()
    }

    fn is_pool(&self, address: Address, token0: Address, token1: Address, fee: Option<u32>) -> bool {
        fee.is_some_and(|fee| self.pool_address(token0, token1, fee) == address)
    }

    fn lookups(&self, token0: Address, token1: Address) -> Vec<Lookup> {
        self.fee_tiers
            .iter()
            .map(|tier| {
                let call = IUniswapV3Factory::getPoolCall { tokenA: token0, tokenB: token1, fee: U24::from(tier.fee) };
                Lookup { factory: self.factory, call: Bytes::from(call.abi_encode()), fee: tier.fee }
            })
            .collect()
    }

    fn found(&self, answer: &[u8]) -> Option<Address> {
        IUniswapV3Factory::getPoolCall::abi_decode_returns(answer).ok()
    }
}

impl Quote for V3Deployment {
    fn quote_hop<'a>(
        &'a self,
        states: &'a PoolStates,
        network: &'a Network,
        hop: &'a Hop,
        amount: SwapAmount,
    ) -> Reading<'a, HopQuote> {
        Box::pin(async move {
            let pool = states.v3_pool(network, self, hop.pool).await?;
            let price_1_per_0 = (f64::from(U256::from(pool.sqrt_price_x96)) / 2f64.powi(96)).powi(2);
            let mid_out_per_in = if hop.token_in == pool.token0 { price_1_per_0 } else { 1.0 / price_1_per_0 };
            let swapped = pool.swap(hop.token_in, amount).await?;
            Ok(HopQuote {
                amount_in: swapped.amount_in,
                amount_out: swapped.amount_out,
                mid_out_per_in,
                block: pool.block,
            })
        })
    }
}

impl Swap for V3Deployment {
    fn swap_router(&self) -> Result<Address, ConnectorError> {
        Ok(self.swap_router)
    }

    fn routes_through(&self, family: Family) -> bool {
        family == Family::V3 || (family == Family::V2 && self.swap_router_kind == SwapRouterKind::SwapRouter02)
    }

    fn swap_call(&self, route: &Route, limits: &SwapLimits) -> Result<Call, ConnectorError> {
        let data = match route.family {
            Family::V3 => swap_data(self.swap_router_kind, route, limits),
            Family::V2 if self.routes_through(Family::V2) => v2_swap_data(route, limits),
            Family::V2 => {
                return Err(ConnectorError::invalid(
                    "connector",
                    "this connector's router swaps through V3 pools only",
                ));
            }
        };
        // SwapRouter02 takes its deadline in multicall, not in each swap's parameters.
        let data = match self.swap_router_kind {
            SwapRouterKind::SwapRouter02 => {
                ISwapRouter02::multicallCall { deadline: limits.deadline, data: vec![data.into()] }.abi_encode()
            }
            SwapRouterKind::SwapRouterWithDeadline => data,
        };
        Ok(Call::new(self.swap_router, data))
    }
}

/// SwapRouter02's V2 swaps (`IV2SwapRouter`), deadline-free like the rest of its calls.
fn v2_swap_data(route: &Route, limits: &SwapLimits) -> Vec<u8> {
    let SwapLimits { exact_in, amount_in, amount_out, min_out, max_in, recipient, .. } = *limits;
    let path = token_path(&route.hops);
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

fn swap_data(kind: SwapRouterKind, route: &Route, limits: &SwapLimits) -> Vec<u8> {
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
    use alloy::primitives::U256;

    use super::*;
    use crate::dex::Registry;
    use crate::router::tests_support::{USDC, WBTC, WETH, limits, two_hops};

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
        let v3 = uniswap.v3.as_ref().unwrap();
        assert_eq!(uniswap.router_for(Family::V2).unwrap().family(), Family::V3, "SwapRouter02 swaps V2 pairs too");
        let call = v3.swap_call(&two_hops(Family::V3), &limits(false)).unwrap();
        assert_eq!(call.to, v3.swap_router);
        let multicall = ISwapRouter02::multicallCall::abi_decode(&call.data).unwrap();
        assert_eq!(multicall.deadline, limits(false).deadline);
        let inner = ISwapRouter02::exactOutputCall::abi_decode(&multicall.data[0]).unwrap().params;
        assert_eq!(inner.path, encode_path(&two_hops(Family::V3).hops, true));
        assert_eq!((inner.amountOut, inner.amountInMaximum), (U256::from(200), U256::from(110)));
        let call = v3.swap_call(&two_hops(Family::V2), &limits(true)).unwrap();
        let multicall = ISwapRouter02::multicallCall::abi_decode(&call.data).unwrap();
        let inner = ISwapRouter02::swapExactTokensForTokensCall::abi_decode(&multicall.data[0]).unwrap();
        assert_eq!(inner.path, vec![WBTC, WETH, USDC]);
        assert_eq!((inner.amountIn, inner.amountOutMin), (U256::from(100), U256::from(190)));
    }

    #[test]
    fn pancakeswap_takes_the_deadline_in_each_swap_and_its_router_takes_v3_pools_only() {
        let pancakeswap = Registry::builtin().find("pancakeswap", "bsc").unwrap();
        let v3 = pancakeswap.v3.as_ref().unwrap();
        let single = Route { family: Family::V3, hops: two_hops(Family::V3).hops[1..].to_vec() };
        let call = v3.swap_call(&single, &limits(true)).unwrap();
        let params = ISwapRouterWithDeadline::exactInputSingleCall::abi_decode(&call.data).unwrap().params;
        assert_eq!((params.tokenIn, params.tokenOut, params.fee), (WETH, USDC, U24::from(500)));
        assert_eq!((params.deadline, params.amountOutMinimum), (limits(true).deadline, U256::from(190)));
        let call = v3.swap_call(&two_hops(Family::V3), &limits(false)).unwrap();
        let params = ISwapRouterWithDeadline::exactOutputCall::abi_decode(&call.data).unwrap().params;
        assert_eq!(
            (params.path, params.deadline),
            (encode_path(&two_hops(Family::V3).hops, true), limits(false).deadline)
        );
        let refused = v3.swap_call(&two_hops(Family::V2), &limits(true)).unwrap_err();
        assert!(refused.to_string().contains("V3 pools only"), "{refused}");
    }

    #[test]
    fn a_pools_lookups_ask_the_factory_for_every_fee_tier() {
        let v3 = Registry::builtin().find("uniswap", "mainnet").unwrap().v3.unwrap();
        let lookups = v3.lookups(USDC, WETH);
        let fees: Vec<u32> = lookups.iter().map(|lookup| lookup.fee).collect();
        assert_eq!(fees, v3.fee_tiers.iter().map(|tier| tier.fee).collect::<Vec<_>>());
        let call = IUniswapV3Factory::getPoolCall::abi_decode(&lookups[1].call).unwrap();
        assert_eq!((call.tokenA, call.tokenB, call.fee), (USDC, WETH, U24::from(fees[1])));
        let pool = v3.pool_address(USDC, WETH, 500);
        assert_eq!(v3.found(&IUniswapV3Factory::getPoolCall::abi_encode_returns(&pool)), Some(pool));
        assert!(v3.pool_addresses(USDC, WETH).contains(&(pool, 500)));
        assert!(v3.is_pool(pool, WETH, USDC, Some(500)) && !v3.is_pool(pool, WETH, USDC, Some(3000)));
        assert!(!v3.is_pool(pool, WETH, USDC, None), "a pool that answers no fee is no V3 pool");
        assert_eq!(v3.fee(500), 500);
    }
}
