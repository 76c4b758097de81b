//! Finding, quoting and swapping through V2 pairs: the factory's `getPair`, the constant-product quote on a
//! pair's cached reserves, and Router02's swaps.

use alloy::primitives::{Address, Bytes};
use alloy::sol_types::SolCall;
use chains::network::Network;
use chains::tx::Call;

use super::math::{self, V2QuoteError};
use super::{IUniswapV2Factory, IUniswapV2Router02, V2Deployment};
use crate::core::capability::{Deployed, Discover, Lookup, Quote, Reading, Swap};
use crate::core::error::{ConnectorError, Field};
use crate::core::family::Family;
use crate::core::pool_address::PoolAddress;
use crate::core::route::HopQuote;
use crate::core::route::SwapAmount;
use crate::core::route::{Hop, Route, SwapLimits};
use crate::core::state::PoolStates;

impl Deployed for V2Deployment {
    fn family(&self) -> Family {
        Family::V2
    }
}

impl Discover for V2Deployment {
    fn pool_addresses(&self, token0: Address, token1: Address) -> Vec<(PoolAddress, u32)> {
        vec![(self.pair_address(token0, token1).into(), 0)]
    }

    fn is_pool(&self, address: Address, token0: Address, token1: Address, fee: Option<u32>) -> bool {
        fee.is_none() && self.pair_address(token0, token1) == address
    }

    /// Every pair of a V2 DEX charges the one fee.
    fn fee(&self, _tier: u32) -> u32 {
        self.fee_bps * 100
    }

    fn lookups(&self, token0: Address, token1: Address) -> Vec<Lookup> {
        let call = IUniswapV2Factory::getPairCall { tokenA: token0, tokenB: token1 };
        vec![Lookup { contract: self.factory, call: Bytes::from(call.abi_encode()), fee: 0, pool: None }]
    }

    fn found(&self, _lookup: &Lookup, answer: &[u8]) -> Option<PoolAddress> {
        IUniswapV2Factory::getPairCall::abi_decode_returns(answer).ok().filter(|pair| !pair.is_zero()).map(Into::into)
    }
}

impl Quote for V2Deployment {
    fn quote_hop<'a>(
        &'a self,
        states: &'a PoolStates,
        network: &'a Network,
        hop: &'a Hop,
        amount: SwapAmount,
    ) -> Reading<'a, HopQuote> {
        Box::pin(async move {
            let pair = self.pair(states, network, hop.pool).await?;
            let (reserve_in, reserve_out) = pair.reserves_for(hop.token_in)?;
            let short = |e: V2QuoteError| ConnectorError::Liquidity(format!("pair {}: {e}", hop.pool));
            let (amount_in, amount_out) = match amount {
                SwapAmount::ExactIn(a) => {
                    (a, math::amount_out(a, reserve_in, reserve_out, self.fee_bps).map_err(short)?)
                }
                SwapAmount::ExactOut(a) => {
                    (math::amount_in(a, reserve_in, reserve_out, self.fee_bps).map_err(short)?, a)
                }
            };
            let mid_out_per_in = f64::from(reserve_out) / f64::from(reserve_in);
            Ok(HopQuote { amount_in, amount_out, mid_out_per_in, block: pair.block })
        })
    }
}

impl Swap for V2Deployment {
    fn swap_router(&self) -> Result<Address, ConnectorError> {
        Ok(self.router)
    }

    fn routes_through(&self, family: Family) -> bool {
        family == Family::V2
    }

    fn swap_call(&self, route: &Route, limits: &SwapLimits) -> Result<Call, ConnectorError> {
        if route.family() != Some(Family::V2) {
            return Err(ConnectorError::invalid(Field::Connector, "the V2 router swaps through V2 pairs only"));
        }
        let SwapLimits { exact_in, amount_in, amount_out, min_out, max_in, recipient, deadline } = *limits;
        let path = token_path(&route.hops);
        let data = match exact_in {
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
        };
        Ok(Call::new(self.router, data))
    }
}

/// The tokens a V2 route passes, in swap order, as V2 routers take them.
pub fn token_path(hops: &[Hop]) -> Vec<Address> {
    std::iter::once(hops[0].token_in).chain(hops.iter().map(|hop| hop.token_out)).collect()
}

#[cfg(test)]
mod tests {
    use alloy::primitives::U256;

    use super::*;
    use crate::core::route::tests_support::{USDC, WBTC, WETH, limits, two_hops};
    use crate::dex::Registry;

    #[test]
    fn pancakeswaps_v2_router_takes_the_path_and_the_deadline_in_each_swap() {
        let pancakeswap = Registry::builtin().find("pancakeswap", "bsc").unwrap();
        let v2 = pancakeswap.v2.unwrap();
        let call = v2.swap_call(&two_hops(Family::V2), &limits(false)).unwrap();
        assert_eq!(call.to, v2.router);
        let swap = IUniswapV2Router02::swapTokensForExactTokensCall::abi_decode(&call.data).unwrap();
        assert_eq!(swap.path, vec![WBTC, WETH, USDC]);
        assert_eq!(
            (swap.amountOut, swap.amountInMax, swap.deadline),
            (U256::from(200), U256::from(110), limits(false).deadline)
        );
        let call = v2.swap_call(&two_hops(Family::V2), &limits(true)).unwrap();
        let swap = IUniswapV2Router02::swapExactTokensForTokensCall::abi_decode(&call.data).unwrap();
        assert_eq!(
            (swap.amountIn, swap.amountOutMin, swap.to),
            (U256::from(100), U256::from(190), limits(true).recipient)
        );
        assert!(v2.swap_call(&two_hops(Family::V3), &limits(true)).is_err(), "V3 pools are not the V2 router's");
        assert_eq!(pancakeswap.router_for(Family::V2).unwrap().family(), Family::V2);
    }

    #[test]
    fn a_pairs_lookup_is_the_factorys_get_pair() {
        let v2 = Registry::builtin().find("uniswap", "mainnet").unwrap().v2.unwrap();
        let lookups = v2.lookups(USDC, WETH);
        assert_eq!(lookups.len(), 1);
        assert_eq!(lookups[0].contract, v2.factory);
        let call = IUniswapV2Factory::getPairCall::abi_decode(&lookups[0].call).unwrap();
        assert_eq!((call.tokenA, call.tokenB), (USDC, WETH));
        let pair = v2.pair_address(USDC, WETH);
        let answer = IUniswapV2Factory::getPairCall::abi_encode_returns(&pair);
        assert_eq!(v2.found(&lookups[0], &answer), Some(pair.into()));
        let none = IUniswapV2Factory::getPairCall::abi_encode_returns(&Address::ZERO);
        assert_eq!(v2.found(&lookups[0], &none), None, "the zero address: no pair");
        // Off-chain, the pair is where CREATE2 puts it, and answers no fee tier; the DEX's one fee is 0.3 %.
        assert_eq!(v2.pool_addresses(USDC, WETH), vec![(pair.into(), 0)]);
        assert!(v2.is_pool(pair, WETH, USDC, None) && !v2.is_pool(pair, WETH, USDC, Some(3000)));
        assert_eq!(v2.fee(0), 3000);
    }
}
