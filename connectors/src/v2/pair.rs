//! A V2 pair's reserves at one block, read in one round trip and cached per block.

use std::sync::Arc;

use alloy::primitives::{Address, Bytes, U256};
use alloy::sol_types::SolCall;
use chains::multicall::multicall;
use chains::network::Network;

use super::{IUniswapV2Pair, V2Deployment};
use crate::core::error::{ConnectorError, Field};
use crate::core::pool_address::PoolAddress;
use crate::core::state::{AtBlock, PoolStates};

/// A V2 pair's reserves at one block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V2PairState {
    pub address: Address,
    pub token0: Address,
    pub token1: Address,
    pub reserve0: U256,
    pub reserve1: U256,
    pub block: u64,
}

impl V2PairState {
    pub async fn load(network: &Network, address: Address, block: u64) -> Result<V2PairState, ConnectorError> {
        let calls = [
            IUniswapV2Pair::token0Call {}.abi_encode(),
            IUniswapV2Pair::token1Call {}.abi_encode(),
            IUniswapV2Pair::getReservesCall {}.abi_encode(),
        ]
        .into_iter()
        .map(|data| (address, Bytes::from(data)))
        .collect();
        let results = multicall(network, calls, Some(block)).await?;
        let get = |i: usize| results[i].as_ref().ok_or(ConnectorError::NotAPool(address.into()));
        let not_a_pair = |_| ConnectorError::NotAPool(address.into());
        let reserves = IUniswapV2Pair::getReservesCall::abi_decode_returns(get(2)?).map_err(not_a_pair)?;
        Ok(V2PairState {
            address,
            token0: IUniswapV2Pair::token0Call::abi_decode_returns(get(0)?).map_err(not_a_pair)?,
            token1: IUniswapV2Pair::token1Call::abi_decode_returns(get(1)?).map_err(not_a_pair)?,
            reserve0: U256::from(reserves.reserve0),
            reserve1: U256::from(reserves.reserve1),
            block,
        })
    }

    /// The reserves as (of `token`, of the other token).
    pub fn reserves_for(&self, token: Address) -> Result<(U256, U256), ConnectorError> {
        if token == self.token0 {
            Ok((self.reserve0, self.reserve1))
        } else if token == self.token1 {
            Ok((self.reserve1, self.reserve0))
        } else {
            Err(ConnectorError::invalid(Field::Token, format!("{token} is not a token of pair {}", self.address)))
        }
    }
}

impl AtBlock for V2PairState {
    fn block(&self) -> u64 {
        self.block
    }
}

impl V2Deployment {
    /// A pair of this factory as of the latest block: a contract that answers like a pair but is not at the
    /// address the factory gives its tokens is not one (it could set the price a swap is bounded by).
    pub async fn pair(
        &self,
        states: &PoolStates,
        network: &Network,
        pool: PoolAddress,
    ) -> Result<Arc<V2PairState>, ConnectorError> {
        let address = pool.contract().ok_or(ConnectorError::NotAPool(pool))?;
        states
            .get(network, pool, |latest| async move {
                let pair = V2PairState::load(network, address, latest).await?;
                match self.pair_address(pair.token0, pair.token1) == address {
                    true => Ok(pair),
                    false => Err(ConnectorError::NotAPool(address.into())),
                }
            })
            .await
    }
}
