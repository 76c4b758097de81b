//! Finding, quoting and swapping through V3 pools: the factory's `getPool` per fee tier, the pool's own swap
//! math on its cached ticks, and the swap router's calls (Uniswap's SwapRouter02, which takes V2 routes too and
//! its deadline in `multicall`; PancakeSwap's SwapRouter, with a deadline in each swap).

use alloy::primitives::aliases::{U24, U160};
use alloy::primitives::{Address, Bytes, U256};
use alloy::sol_types::SolCall;
use chains::network::Network;
use chains::tx::Call;

use super::{ISwapRouter02, ISwapRouterWithDeadline, IUniswapV3Factory, SwapRouterKind, V3Deployment};
use crate::core::capability::{Deployed, Discover, Lookup, Quote, Reading, Swap};
use crate::core::error::{ConnectorError, Field};
use crate::core::family::Family;
use crate::core::pool_address::PoolAddress;
use crate::core::route::HopQuote;
use crate::core::route::SwapAmount;
use crate::core::route::token_path;
use crate::core::route::{Hop, Leg, Route, SwapLimits};
use crate::core::state::PoolStates;

impl Deployed for V3Deployment {
    fn family(&self) -> Family {
        Family::V3
    }
}

impl Discover for V3Deployment {
    fn pool_addresses(&self, token0: Address, token1: Address) -> Vec<(PoolAddress, u32)> {
        self.fee_tiers.iter().map(|tier| (self.pool_address(token0, token1, tier.fee).into(), tier.fee)).collect()
    }

    fn is_pool(&self, address: Address, token0: Address, token1: Address, fee: Option<u32>) -> bool {
        fee.is_some_and(|fee| self.pool_address(token0, token1, fee) == address)
    }

    fn lookups(&self, token0: Address, token1: Address) -> Vec<Lookup> {
        self.fee_tiers
            .iter()
            .map(|tier| {
                let call = IUniswapV3Factory::getPoolCall { tokenA: token0, tokenB: token1, fee: U24::from(tier.fee) };
                Lookup { contract: self.factory, call: Bytes::from(call.abi_encode()), fee: tier.fee, pool: None }
            })
            .collect()
    }

    fn found(&self, _lookup: &Lookup, answer: &[u8]) -> Option<PoolAddress> {
        IUniswapV3Factory::getPoolCall::abi_decode_returns(answer).ok().filter(|pool| !pool.is_zero()).map(Into::into)
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
            let pool = self.pool(states, network, hop.pool).await?;
            let swapped = pool.swap(hop.token_in, amount).await?;
            Ok(pool.curve.hop_quote(swapped, hop.token_in == pool.token0, pool.block))
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

    /// SwapRouter02's V2 swaps read what each pair received from its balance, for tokens that take a fee on
    /// transfer, so a bought route's pairs swap forward from the rounded-up input.
    fn buys_forward(&self, family: Family) -> bool {
        family == Family::V2 && self.routes_through(Family::V2)
    }

    /// Each leg pays its output to the router, which pays the whole order to the recipient at the end if it is
    /// at least the order's minimum (exact in); bought legs pay the recipient directly, each within its share of
    /// the order's maximum in (exact out, one family per leg). A route that changes family hands the router's
    /// balance of the token in between to the next segment: only SwapRouter02 can.
    fn takes_splits(&self) -> bool {
        true
    }

    fn split_call(&self, legs: &[Leg], limits: &SwapLimits) -> Result<Call, ConnectorError> {
        let Some(first) = legs.first() else {
            return Err(ConnectorError::invalid(Field::Amount, "an order needs at least one route"));
        };
        let kind = self.swap_router_kind;
        let mut calls = Vec::new();
        if limits.exact_in {
            let router_itself = match kind {
                SwapRouterKind::SwapRouter02 => ADDRESS_THIS,
                SwapRouterKind::SwapRouterWithDeadline => self.swap_router,
            };
            for leg in legs {
                for (index, segment) in leg.route.segments().enumerate() {
                    if index > 0 && kind == SwapRouterKind::SwapRouterWithDeadline {
                        return Err(ConnectorError::invalid(
                            Field::Connector,
                            "this connector's router swaps one family per route",
                        ));
                    }
                    let amount_in = if index == 0 { leg.amount_in } else { CONTRACT_BALANCE };
                    calls.push(self.segment_in(segment, amount_in, router_itself, limits.deadline)?);
                }
            }
            let (token, minimum, recipient) = (first.route.token_out(), limits.min_out, limits.recipient);
            calls.push(match kind {
                SwapRouterKind::SwapRouter02 => {
                    ISwapRouter02::sweepTokenCall { token, amountMinimum: minimum, recipient }.abi_encode()
                }
                SwapRouterKind::SwapRouterWithDeadline => {
                    ISwapRouterWithDeadline::sweepTokenCall { token, amountMinimum: minimum, recipient }.abi_encode()
                }
            });
        } else {
            let total_in = legs.iter().fold(U256::ZERO, |sum, leg| sum + leg.amount_in).max(U256::from(1));
            for leg in legs {
                if leg.route.family().is_none() {
                    return Err(ConnectorError::invalid(Field::Side, "a bought route swaps through one family"));
                }
                // Shares of the order's maximum, rounded down: together they never pass it.
                let max_in = limits.max_in * leg.amount_in / total_in;
                let leg_limits =
                    SwapLimits { amount_in: leg.amount_in, amount_out: leg.asked_out(), max_in, ..*limits };
                calls.push(self.segment(&leg.route, &leg_limits)?);
            }
        }
        let data = match kind {
            SwapRouterKind::SwapRouter02 => {
                let data = calls.into_iter().map(Bytes::from).collect();
                ISwapRouter02::multicallCall { deadline: limits.deadline, data }.abi_encode()
            }
            SwapRouterKind::SwapRouterWithDeadline => {
                ISwapRouterWithDeadline::multicallCall { data: calls.into_iter().map(Bytes::from).collect() }
                    .abi_encode()
            }
        };
        Ok(Call::new(self.swap_router, data))
    }

    fn swap_call(&self, route: &Route, limits: &SwapLimits) -> Result<Call, ConnectorError> {
        let data = match route.family() {
            Some(Family::V3) => swap_data(self.swap_router_kind, route, limits),
            Some(Family::V2) if self.routes_through(Family::V2) => v2_swap_data(route, limits),
            Some(Family::V2 | Family::V4) => {
                return Err(ConnectorError::invalid(
                    Field::Connector,
                    "this connector's router swaps through V3 pools only",
                ));
            }
            None => {
                let leg = Leg::new(route.clone(), limits.amount_in, limits.amount_out);
                return self.split_call(&[leg], limits);
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

/// SwapRouter02's stand-ins (its `Constants`): the router itself as a recipient, and its whole balance of the
/// token as an amount in.
const ADDRESS_THIS: Address = Address::with_last_byte(2);
const CONTRACT_BALANCE: U256 = U256::ZERO;

impl V3Deployment {
    /// One segment of a leg, exact in: V3 pools through the V3 calls, V2 pairs through SwapRouter02's.
    fn segment_in(
        &self,
        segment: &[Hop],
        amount_in: U256,
        recipient: Address,
        deadline: U256,
    ) -> Result<Vec<u8>, ConnectorError> {
        let route = Route { hops: segment.to_vec() };
        let limits = SwapLimits {
            exact_in: true,
            amount_in,
            amount_out: U256::ZERO,
            min_out: U256::ZERO,
            max_in: U256::ZERO,
            recipient,
            deadline,
        };
        self.segment(&route, &limits)
    }

    fn segment(&self, route: &Route, limits: &SwapLimits) -> Result<Vec<u8>, ConnectorError> {
        match route.family() {
            Some(Family::V3) => Ok(swap_data(self.swap_router_kind, route, limits)),
            Some(Family::V2) if self.routes_through(Family::V2) => Ok(v2_swap_data(route, limits)),
            _ => Err(ConnectorError::invalid(Field::Connector, "this connector's router swaps through V3 pools only")),
        }
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
    match kind {
        SwapRouterKind::SwapRouter02 => swap_router_02_data(route, limits),
        SwapRouterKind::SwapRouterWithDeadline => swap_router_with_deadline_data(route, limits),
    }
}

/// Uniswap's SwapRouter02: the deadline goes in the multicall around the swap.
fn swap_router_02_data(route: &Route, limits: &SwapLimits) -> Vec<u8> {
    let SwapLimits { exact_in, amount_in, amount_out, min_out, max_in, recipient, .. } = *limits;
    let hop = &route.hops[0];
    let (token_in, token_out, fee, no_limit) =
        (hop.token_in, route.hops[route.hops.len() - 1].token_out, U24::from(hop.fee), U160::ZERO);
    match (route.hops.len() == 1, exact_in) {
        (true, true) => ISwapRouter02::exactInputSingleCall {
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
        (true, false) => ISwapRouter02::exactOutputSingleCall {
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
        (false, true) => ISwapRouter02::exactInputCall {
            params: ISwapRouter02::ExactInputParams {
                path: encode_path(&route.hops, false),
                recipient,
                amountIn: amount_in,
                amountOutMinimum: min_out,
            },
        }
        .abi_encode(),
        (false, false) => ISwapRouter02::exactOutputCall {
            params: ISwapRouter02::ExactOutputParams {
                path: encode_path(&route.hops, true),
                recipient,
                amountOut: amount_out,
                amountInMaximum: max_in,
            },
        }
        .abi_encode(),
    }
}

/// The first SwapRouter's ABI (PancakeSwap V3's): the deadline in every swap.
fn swap_router_with_deadline_data(route: &Route, limits: &SwapLimits) -> Vec<u8> {
    let SwapLimits { exact_in, amount_in, amount_out, min_out, max_in, recipient, deadline } = *limits;
    let hop = &route.hops[0];
    let (token_in, token_out, fee, no_limit) =
        (hop.token_in, route.hops[route.hops.len() - 1].token_out, U24::from(hop.fee), U160::ZERO);
    match (route.hops.len() == 1, exact_in) {
        (true, true) => ISwapRouterWithDeadline::exactInputSingleCall {
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
        (true, false) => ISwapRouterWithDeadline::exactOutputSingleCall {
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
        (false, true) => ISwapRouterWithDeadline::exactInputCall {
            params: ISwapRouterWithDeadline::ExactInputParams {
                path: encode_path(&route.hops, false),
                recipient,
                deadline,
                amountIn: amount_in,
                amountOutMinimum: min_out,
            },
        }
        .abi_encode(),
        (false, false) => ISwapRouterWithDeadline::exactOutputCall {
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
    use crate::core::route::tests_support::{USDC, WBTC, WETH, limits, mixed, two_hops};
    use crate::dex::Registry;

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
        let single = Route { hops: two_hops(Family::V3).hops[1..].to_vec() };
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

    fn leg(route: Route, amount_in: u64, amount_out: u64) -> Leg {
        Leg::new(route, U256::from(amount_in), U256::from(amount_out))
    }

    #[test]
    fn a_sold_order_split_and_mixed_pays_the_router_and_sweeps_the_whole_minimum_to_the_wallet() {
        let v3 = Registry::builtin().find("uniswap", "mainnet").unwrap().v3.unwrap();
        let legs = [leg(two_hops(Family::V3), 60, 120), leg(mixed(Family::V2, Family::V3), 40, 79)];
        let call = v3.split_call(&legs, &limits(true)).unwrap();
        assert_eq!(call.to, v3.swap_router);
        let multicall = ISwapRouter02::multicallCall::abi_decode(&call.data).unwrap();
        assert_eq!(multicall.deadline, limits(true).deadline);
        let calls = multicall.data;
        assert_eq!(calls.len(), 4, "one V3 path, a V2 then a V3 segment, the sweep");
        let first = ISwapRouter02::exactInputCall::abi_decode(&calls[0]).unwrap().params;
        assert_eq!(
            (first.amountIn, first.amountOutMinimum, first.recipient),
            (U256::from(60), U256::ZERO, ADDRESS_THIS)
        );
        let v2 = ISwapRouter02::swapExactTokensForTokensCall::abi_decode(&calls[1]).unwrap();
        assert_eq!((v2.amountIn, v2.path, v2.to), (U256::from(40), vec![WBTC, WETH], ADDRESS_THIS));
        // The next segment takes what the first left with the router.
        let then = ISwapRouter02::exactInputSingleCall::abi_decode(&calls[2]).unwrap().params;
        assert_eq!(
            (then.tokenIn, then.tokenOut, then.amountIn, then.recipient),
            (WETH, USDC, CONTRACT_BALANCE, ADDRESS_THIS)
        );
        let sweep = ISwapRouter02::sweepTokenCall::abi_decode(&calls[3]).unwrap();
        assert_eq!(
            (sweep.token, sweep.amountMinimum, sweep.recipient),
            (USDC, U256::from(190), limits(true).recipient)
        );
    }

    #[test]
    fn a_bought_order_split_pays_the_wallet_from_each_leg_within_its_share_of_the_maximum() {
        let v3 = Registry::builtin().find("uniswap", "mainnet").unwrap().v3.unwrap();
        // The V2 leg delivers 81 (its pairs swap forward from the input rounded up) and asks for 80.
        let legs = [
            leg(two_hops(Family::V3), 66, 120),
            Leg { asks: Some(U256::from(80)), ..leg(two_hops(Family::V2), 34, 81) },
        ];
        assert!(v3.buys_forward(Family::V2) && !v3.buys_forward(Family::V3));
        let call = v3.split_call(&legs, &limits(false)).unwrap();
        let calls = ISwapRouter02::multicallCall::abi_decode(&call.data).unwrap().data;
        assert_eq!(calls.len(), 2);
        let first = ISwapRouter02::exactOutputCall::abi_decode(&calls[0]).unwrap().params;
        // 110 in at most for the order: 66/100 of it, rounded down.
        assert_eq!(
            (first.amountOut, first.amountInMaximum, first.recipient),
            (U256::from(120), U256::from(72), limits(false).recipient)
        );
        let second = ISwapRouter02::swapTokensForExactTokensCall::abi_decode(&calls[1]).unwrap();
        assert_eq!((second.amountOut, second.amountInMax), (U256::from(80), U256::from(37)));
        assert!(
            v3.split_call(&[leg(mixed(Family::V2, Family::V3), 1, 1)], &limits(false)).is_err(),
            "bought routes keep to one family"
        );
    }

    #[test]
    fn pancakeswaps_router_splits_v3_routes_sending_to_itself_then_sweeping() {
        let v3 = Registry::builtin().find("pancakeswap", "bsc").unwrap().v3.unwrap();
        let legs =
            [leg(two_hops(Family::V3), 60, 120), leg(Route { hops: two_hops(Family::V3).hops[1..].to_vec() }, 40, 79)];
        let call = v3.split_call(&legs, &limits(true)).unwrap();
        let calls = ISwapRouterWithDeadline::multicallCall::abi_decode(&call.data).unwrap().data;
        let first = ISwapRouterWithDeadline::exactInputCall::abi_decode(&calls[0]).unwrap().params;
        assert_eq!((first.recipient, first.deadline), (v3.swap_router, limits(true).deadline));
        let sweep = ISwapRouterWithDeadline::sweepTokenCall::abi_decode(&calls[2]).unwrap();
        assert_eq!((sweep.token, sweep.amountMinimum), (USDC, U256::from(190)));
        assert!(v3.split_call(&[leg(mixed(Family::V2, Family::V3), 1, 1)], &limits(true)).is_err());
        assert!(
            Registry::builtin()
                .find("pancakeswap", "bsc")
                .unwrap()
                .router_for_order(&[&mixed(Family::V2, Family::V3)])
                .is_err()
        );
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
        let answer = IUniswapV3Factory::getPoolCall::abi_encode_returns(&pool);
        assert_eq!(v3.found(&lookups[1], &answer), Some(pool.into()));
        assert!(v3.pool_addresses(USDC, WETH).contains(&(pool.into(), 500)));
        assert!(v3.is_pool(pool, WETH, USDC, Some(500)) && !v3.is_pool(pool, WETH, USDC, Some(3000)));
        assert!(!v3.is_pool(pool, WETH, USDC, None), "a pool that answers no fee is no V3 pool");
        assert_eq!(v3.fee(500), 500);
    }
}
