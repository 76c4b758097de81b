//! A V4 pool's state at one block, read in one round trip through the deployless V4PoolStateLens (its key from
//! PositionManager, the rest through StateView), and swaps simulated on it with the pool's math.

use std::sync::Arc;

use alloy::primitives::{Address, B256, Bytes};
use alloy::sol_types::SolValue;
use chains::network::Network;

use super::{PoolKey, V4Deployment};
use crate::clmm::curve::{Curve, CurveReads, SwapResult, WINDOW_WORDS, run_lens};
use crate::clmm::pool::{ClmmPool, Concentrated, ConcentratedPool};
use crate::core::capability::Reading;
use crate::core::error::{ConnectorError, Field};
use crate::core::family::Family;
use crate::core::pool_address::PoolAddress;
use crate::core::route::SwapAmount;
use crate::core::state::{AtBlock, PoolStates};

/// The lens's creation code, compiled with solc 0.7.6 (optimizer, 200 runs) from
/// `connectors/contracts/V4PoolStateLens.sol`; a test compiles the source again and compares.
pub static V4_POOL_STATE_LENS_CODE: std::sync::LazyLock<Bytes> = std::sync::LazyLock::new(|| {
    alloy::hex::decode(V4_POOL_STATE_LENS_HEX.trim()).expect("V4PoolStateLens.hex is hex").into()
});
pub const V4_POOL_STATE_LENS_HEX: &str = include_str!("../../contracts/V4PoolStateLens.hex");

alloy::sol! {
    struct PopulatedTick {
        int24 tick;
        int128 liquidityNet;
    }

    struct LensState {
        PoolKey key;
        uint160 sqrtPriceX96;
        int24 tick;
        uint24 protocolFee;
        uint24 lpFee;
        uint128 liquidity;
        int16 fromWord;
        int16 toWord;
        PopulatedTick[] ticks;
    }
}

/// Hundredths of a basis point in a whole: fees are in these pips.
const PIPS: u32 = 1_000_000;

#[derive(Debug, Clone)]
pub struct V4PoolState {
    pub id: B256,
    pub key: PoolKey,
    /// The protocol's cut of the fee, zero for one (low 12 bits) and one for zero (high 12 bits), in pips.
    pub protocol_fee: u32,
    /// The price, liquidity and ticks a swap runs on; its fee is the liquidity providers'.
    pub curve: Curve,
    pub block: u64,
}

/// A V4 pool's fields read as its curve's.
impl std::ops::Deref for V4PoolState {
    type Target = Curve;

    fn deref(&self) -> &Curve {
        &self.curve
    }
}

impl V4PoolState {
    /// Reads pool `id` at `block`. A pool PositionManager has no key for is not one the gateway can trade; a pool
    /// with hooks is refused naming them (what a hook does to a swap is its own code, not the pool's math).
    pub async fn load(
        network: &Network,
        v4: &V4Deployment,
        id: B256,
        block: u64,
    ) -> Result<V4PoolState, ConnectorError> {
        let args = (v4.state_view, v4.position_manager, id, WINDOW_WORDS).abi_encode_params();
        let code = [V4_POOL_STATE_LENS_CODE.as_ref(), &args].concat();
        let output = run_lens(network, code, block, id.into()).await?;
        let state = <LensState as SolValue>::abi_decode(&output).map_err(|_| ConnectorError::NotAPool(id.into()))?;
        if state.key.id() != id {
            return Err(ConnectorError::NotAPool(id.into()));
        }
        if state.key.hooks != Address::ZERO {
            return Err(ConnectorError::invalid(
                Field::Pool,
                format!(
                    "V4 pool {id} has hooks at {}; the gateway trades only V4 pools without hooks",
                    state.key.hooks.to_checksum(None)
                ),
            ));
        }
        if state.sqrtPriceX96.is_zero() {
            return Err(ConnectorError::Liquidity(format!("pool {id} is not initialized")));
        }
        let curve = Curve::from_reads(CurveReads {
            fee: state.lpFee.to::<u32>(),
            tick_spacing: state.key.tickSpacing.as_i32(),
            sqrt_price_x96: state.sqrtPriceX96,
            tick: state.tick.as_i32(),
            liquidity: state.liquidity,
            from_word: state.fromWord,
            to_word: state.toWord,
            ticks: state.ticks.iter().map(|t| (t.tick.as_i32(), t.liquidityNet)).collect(),
        });
        Ok(V4PoolState { id, key: state.key, protocol_fee: state.protocolFee.to::<u32>(), curve, block })
    }

    pub fn has_currency(&self, currency: Address) -> bool {
        currency == self.key.currency0 || currency == self.key.currency1
    }

    /// What a swap pays in all, in pips: the providers' fee, with the protocol's cut for that direction taken
    /// out of it as the PoolManager does (`ProtocolFeeLibrary.calculateSwapFee`).
    pub fn swap_fee(&self, zero_for_one: bool) -> u32 {
        let protocol = if zero_for_one { self.protocol_fee & 0xfff } else { self.protocol_fee >> 12 };
        let lp = self.curve.fee;
        match protocol {
            0 => lp,
            _ => protocol + lp - (u64::from(protocol) * u64::from(lp) / u64::from(PIPS)) as u32,
        }
    }

    /// Simulates a swap of `currency_in` (the zero address: native ETH) for the pool's other currency.
    pub async fn swap(&self, currency_in: Address, amount: SwapAmount) -> Result<SwapResult, ConnectorError> {
        if !self.has_currency(currency_in) {
            return Err(ConnectorError::invalid(
                Field::TokenIn,
                format!("{} is not a currency of V4 pool {}", currency_in.to_checksum(None), self.id),
            ));
        }
        let zero_for_one = currency_in == self.key.currency0;
        self.curve.swap(&self.id, self.swap_fee(zero_for_one), zero_for_one, amount).await
    }
}

impl AtBlock for V4PoolState {
    fn block(&self) -> u64 {
        self.block
    }
}

impl ConcentratedPool for V4PoolState {
    fn family(&self) -> Family {
        Family::V4
    }

    fn address(&self) -> PoolAddress {
        self.id.into()
    }

    fn tokens(&self) -> (Address, Address) {
        (self.key.currency0, self.key.currency1)
    }

    fn tier(&self) -> u32 {
        self.key.fee.to::<u32>()
    }

    fn curve(&self) -> &Curve {
        &self.curve
    }

    fn block(&self) -> u64 {
        self.block
    }
}

impl V4Deployment {
    /// A pool of this PoolManager as of the latest block: the lens checks its key gives its id.
    pub async fn pool(
        &self,
        states: &PoolStates,
        network: &Network,
        id: B256,
    ) -> Result<Arc<V4PoolState>, ConnectorError> {
        states.get(network, id.into(), |latest| V4PoolState::load(network, self, id, latest)).await
    }
}

impl Concentrated for V4Deployment {
    fn clmm_pool<'a>(
        &'a self,
        states: &'a PoolStates,
        network: &'a Network,
        address: PoolAddress,
    ) -> Reading<'a, ClmmPool> {
        Box::pin(async move {
            let id = address.id().ok_or(ConnectorError::NotAPool(address))?;
            Ok(ClmmPool::new(self.pool(states, network, id).await?))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_protocols_cut_is_taken_from_the_swap_fee_per_direction() {
        let mut curve = crate::clmm::curve::tests_support::curve_with(0, 60, &[]);
        curve.fee = 3000;
        let pool = |protocol_fee: u32| V4PoolState {
            id: B256::ZERO,
            key: PoolKey {
                currency0: Address::ZERO,
                currency1: Address::repeat_byte(1),
                fee: alloy::primitives::aliases::U24::from(3000),
                tickSpacing: alloy::primitives::aliases::I24::try_from(60).unwrap(),
                hooks: Address::ZERO,
            },
            protocol_fee,
            curve: curve.clone(),
            block: 1,
        };
        assert_eq!((pool(0).swap_fee(true), pool(0).swap_fee(false)), (3000, 3000));
        // 0.1 % to the protocol one way, nothing the other: 1000 + 3000 - 1000 * 3000 / 1e6 = 3997.
        let cut = pool(1000);
        assert_eq!((cut.swap_fee(true), cut.swap_fee(false)), (3997, 3000));
        assert_eq!(pool(1000 << 12).swap_fee(false), 3997);
    }
}
