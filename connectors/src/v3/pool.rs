//! A V3 pool's state at one block (price, liquidity, every initialized tick), read in one round trip, and
//! swaps simulated on it with the same math the pool runs.

use std::sync::Arc;

use alloy::primitives::{Address, Bytes};
use alloy::sol_types::SolValue;
use chains::network::Network;

use super::V3Deployment;
use crate::clmm::curve::{Curve, CurveReads, SwapResult, WINDOW_WORDS, run_lens};
use crate::clmm::pool::{ClmmPool, Concentrated, ConcentratedPool};
use crate::core::capability::Reading;
use crate::core::error::{ConnectorError, Field};
use crate::core::family::Family;
use crate::core::pool_address::PoolAddress;
use crate::core::route::SwapAmount;
use crate::core::state::{AtBlock, PoolStates};

#[derive(Debug, Clone)]
pub struct V3PoolState {
    pub address: Address,
    pub token0: Address,
    pub token1: Address,
    /// The price, liquidity and ticks a swap runs on.
    pub curve: Curve,
    /// The block the state was read at.
    pub block: u64,
}

/// A V3 pool's fields read as its curve's.
impl std::ops::Deref for V3PoolState {
    type Target = Curve;

    fn deref(&self) -> &Curve {
        &self.curve
    }
}

/// The lens's creation code, compiled with solc 0.7.6 (optimizer, 200 runs) from
/// `connectors/contracts/PoolStateLens.sol`; a test compiles the source again and compares.
pub static POOL_STATE_LENS_CODE: std::sync::LazyLock<Bytes> = std::sync::LazyLock::new(|| {
    alloy::hex::decode(POOL_STATE_LENS_HEX.trim()).expect("PoolStateLens.hex is hex").into()
});
pub const POOL_STATE_LENS_HEX: &str = include_str!("../../contracts/PoolStateLens.hex");

alloy::sol! {
    contract PoolStateLens {
        struct PopulatedTick {
            int24 tick;
            int128 liquidityNet;
        }

        struct State {
            address token0;
            address token1;
            uint24 fee;
            int24 tickSpacing;
            uint160 sqrtPriceX96;
            int24 tick;
            uint128 liquidity;
            int16 fromWord;
            int16 toWord;
            PopulatedTick[] ticks;
        }
    }
}

impl V3PoolState {
    /// Reads the pool at `block` in one round trip: its constants, price, liquidity and every initialized tick
    /// within [`WINDOW_WORDS`] bitmap words of the price, through the deployless [`PoolStateLens`].
    pub async fn load(network: &Network, address: Address, block: u64) -> Result<V3PoolState, ConnectorError> {
        let code = [POOL_STATE_LENS_CODE.as_ref(), &(address, WINDOW_WORDS).abi_encode_params()].concat();
        let output = run_lens(network, code, block, address.into()).await?;
        let state = <PoolStateLens::State as SolValue>::abi_decode(&output)
            .map_err(|_| ConnectorError::NotAPool(address.into()))?;
        if state.sqrtPriceX96.is_zero() {
            return Err(ConnectorError::Liquidity(format!("pool {address} is not initialized")));
        }
        let curve = Curve::from_reads(CurveReads {
            fee: state.fee.to::<u32>(),
            tick_spacing: state.tickSpacing.as_i32(),
            sqrt_price_x96: state.sqrtPriceX96,
            tick: state.tick.as_i32(),
            liquidity: state.liquidity,
            from_word: state.fromWord,
            to_word: state.toWord,
            ticks: state.ticks.iter().map(|t| (t.tick.as_i32(), t.liquidityNet)).collect(),
        });
        Ok(V3PoolState { address, token0: state.token0, token1: state.token1, curve, block })
    }

    pub fn has_token(&self, token: Address) -> bool {
        token == self.token0 || token == self.token1
    }

    /// Simulates a swap of `token_in` for the other token, as the pool would run it now.
    pub async fn swap(&self, token_in: Address, amount: SwapAmount) -> Result<SwapResult, ConnectorError> {
        if !self.has_token(token_in) {
            return Err(ConnectorError::invalid(
                Field::TokenIn,
                format!("{token_in} is not a token of pool {}", self.address),
            ));
        }
        self.curve.swap(&self.address, self.fee, token_in == self.token0, amount).await
    }
}

impl AtBlock for V3PoolState {
    fn block(&self) -> u64 {
        self.block
    }
}

impl ConcentratedPool for V3PoolState {
    fn family(&self) -> Family {
        Family::V3
    }

    fn address(&self) -> PoolAddress {
        self.address.into()
    }

    fn tokens(&self) -> (Address, Address) {
        (self.token0, self.token1)
    }

    fn tier(&self) -> u32 {
        self.curve.fee
    }

    fn curve(&self) -> &Curve {
        &self.curve
    }

    fn block(&self) -> u64 {
        self.block
    }
}

impl V3Deployment {
    /// A pool of this factory as of the latest block, checked as a pair is: its tokens and fee must give its
    /// address.
    pub async fn pool(
        &self,
        states: &PoolStates,
        network: &Network,
        pool: PoolAddress,
    ) -> Result<Arc<V3PoolState>, ConnectorError> {
        let address = pool.contract().ok_or(ConnectorError::NotAPool(pool))?;
        states
            .get(network, pool, |latest| async move {
                let pool = V3PoolState::load(network, address, latest).await?;
                match self.pool_address(pool.token0, pool.token1, pool.fee) == address {
                    true => Ok(pool),
                    false => Err(ConnectorError::NotAPool(address.into())),
                }
            })
            .await
    }
}

impl Concentrated for V3Deployment {
    fn clmm_pool<'a>(
        &'a self,
        states: &'a PoolStates,
        network: &'a Network,
        address: PoolAddress,
    ) -> Reading<'a, ClmmPool> {
        Box::pin(async move { Ok(ClmmPool::new(self.pool(states, network, address).await?)) })
    }
}

/// Pool states built in memory, for tests of what is computed from them.
#[cfg(test)]
pub(crate) mod tests_support {
    use super::*;
    use crate::clmm::curve::tests_support::curve_with;

    /// A 0.05 % pool between two made-up tokens at `tick`, with `liquidity_by_range` as (lower, upper,
    /// liquidity) positions.
    pub fn pool_with(tick: i32, tick_spacing: i32, liquidity_by_range: &[(i32, i32, u128)]) -> V3PoolState {
        V3PoolState {
            address: Address::repeat_byte(0x33),
            token0: Address::repeat_byte(1),
            token1: Address::repeat_byte(2),
            curve: curve_with(tick, tick_spacing, liquidity_by_range),
            block: 1,
        }
    }

    pub fn pool_at_tick(tick: i32, tick_spacing: i32) -> V3PoolState {
        pool_with(tick, tick_spacing, &[])
    }
}
