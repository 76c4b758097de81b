//! Liquidity in a V2 pair: what a wallet's pool tokens are, and the Router02 calls that add and remove it.

use alloy::primitives::{Address, Bytes, U256};
use alloy::sol_types::SolCall;
use chains::multicall::multicall;
use chains::network::Network;
use chains::tx::Call;

use super::{IUniswapV2Pair, IUniswapV2Router02, V2Deployment};
use crate::core::capability::{Liquidity, Pair, Reading};
use crate::core::error::ConnectorError;

impl Liquidity for V2Deployment {
    fn liquidity_router(&self) -> Result<Address, ConnectorError> {
        Ok(self.router)
    }

    fn pool_tokens<'a>(
        &'a self,
        network: &'a Network,
        pair: Address,
        owner: Address,
        block: u64,
    ) -> Reading<'a, (U256, U256)> {
        Box::pin(async move {
            let calls = vec![
                (pair, Bytes::from(IUniswapV2Pair::balanceOfCall { owner }.abi_encode())),
                (pair, Bytes::from(IUniswapV2Pair::totalSupplyCall {}.abi_encode())),
            ];
            let results = multicall(network, calls, Some(block)).await?;
            let read = |i: usize, decode: fn(&[u8]) -> Option<U256>| {
                results[i].as_ref().and_then(|d| decode(d)).ok_or(ConnectorError::NotAPool(pair.into()))
            };
            Ok((
                read(0, |d| IUniswapV2Pair::balanceOfCall::abi_decode_returns(d).ok())?,
                read(1, |d| IUniswapV2Pair::totalSupplyCall::abi_decode_returns(d).ok())?,
            ))
        })
    }

    fn add_liquidity(
        &self,
        tokens: (Address, Address),
        desired: Pair,
        least: Pair,
        to: Address,
        deadline: U256,
    ) -> Result<Call, ConnectorError> {
        let call = IUniswapV2Router02::addLiquidityCall {
            tokenA: tokens.0,
            tokenB: tokens.1,
            amountADesired: desired.0,
            amountBDesired: desired.1,
            amountAMin: least.0,
            amountBMin: least.1,
            to,
            deadline,
        };
        Ok(Call::new(self.router, call.abi_encode()))
    }

    /// The router takes the pool tokens, so it must be approved for them.
    fn remove_liquidity(
        &self,
        tokens: (Address, Address),
        liquidity: U256,
        least: Pair,
        to: Address,
        deadline: U256,
    ) -> Result<Call, ConnectorError> {
        let call = IUniswapV2Router02::removeLiquidityCall {
            tokenA: tokens.0,
            tokenB: tokens.1,
            liquidity,
            amountAMin: least.0,
            amountBMin: least.1,
            to,
            deadline,
        };
        Ok(Call::new(self.router, call.abi_encode()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dex::Registry;

    #[test]
    fn adding_and_removing_go_to_the_router_with_their_bounds() {
        let v2 = Registry::builtin().find("uniswap", "mainnet").unwrap().v2.unwrap();
        let (a, b, to) = (Address::repeat_byte(1), Address::repeat_byte(2), Address::repeat_byte(3));
        let amounts = |x: u64, y: u64| (U256::from(x), U256::from(y));
        let call = v2.add_liquidity((a, b), amounts(100, 200), amounts(99, 198), to, U256::from(5)).unwrap();
        assert_eq!(call.to, v2.router);
        let decoded = IUniswapV2Router02::addLiquidityCall::abi_decode(&call.data).unwrap();
        assert_eq!((decoded.tokenA, decoded.tokenB, decoded.to), (a, b, to));
        assert_eq!(
            (decoded.amountADesired, decoded.amountBMin, decoded.deadline),
            (U256::from(100), U256::from(198), U256::from(5))
        );
        let call = v2.remove_liquidity((a, b), U256::from(7), amounts(1, 2), to, U256::from(5)).unwrap();
        let decoded = IUniswapV2Router02::removeLiquidityCall::abi_decode(&call.data).unwrap();
        assert_eq!(
            (decoded.liquidity, decoded.amountAMin, decoded.amountBMin),
            (U256::from(7), U256::from(1), U256::from(2))
        );
    }
}
