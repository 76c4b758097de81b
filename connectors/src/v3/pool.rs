//! A V3 pool's state at one block (price, liquidity, every initialized tick), read in two round trips, and
//! swaps simulated on it with the same math the pool runs.

use alloy::eips::BlockId;
use alloy::primitives::aliases::{I24, U24, U160};
use alloy::primitives::{Address, Bytes, I256, U256};
use alloy::sol_types::SolCall;
use chains::erc20::multicall;
use chains::network::Network;
use uniswap_v3_sdk::prelude::{EphemeralTickDataProvider, Tick, TickListDataProvider, v3_swap};

use super::IUniswapV3Pool;
use super::position::{usable_max, usable_min};
use crate::error::ConnectorError;

/// What a swap is sized by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SwapAmount {
    /// Spend exactly this much of the input token.
    ExactIn(U256),
    /// Receive exactly this much of the output token.
    ExactOut(U256),
}

/// A simulated swap through one pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SwapResult {
    pub amount_in: U256,
    pub amount_out: U256,
    pub sqrt_price_after: U160,
}

#[derive(Debug, Clone)]
pub struct V3PoolState {
    pub address: Address,
    pub token0: Address,
    pub token1: Address,
    pub fee: u32,
    pub tick_spacing: i32,
    pub sqrt_price_x96: U160,
    pub tick: i32,
    pub liquidity: u128,
    /// Initialized ticks, ascending. When only a window around the price was read, two stand-in ticks at
    /// its edges carry the liquidity of everything beyond, and a swap must not cross them.
    pub ticks: Vec<Tick<i32>>,
    /// The same ticks, ready for the swap math (built once per read, not per quote).
    tick_list: Option<TickListDataProvider<i32>>,
    /// The window's edges, when the ticks do not cover the whole range.
    pub window: Option<(i32, i32)>,
    /// The block the state was read at.
    pub block: u64,
}

/// How many bitmap words (256 tick spacings each) to read on either side of the price: enough for any
/// sensible trade, small enough for one call on the finest tick spacing.
const WINDOW_WORDS: i32 = 64;

impl V3PoolState {
    /// Reads the pool at `block`: its constants, slot0 and liquidity in one Multicall3 call, every initialized
    /// tick in one deployless lens call.
    pub async fn load(network: &Network, address: Address, block: u64) -> Result<V3PoolState, ConnectorError> {
        let calls = [
            IUniswapV3Pool::token0Call {}.abi_encode(),
            IUniswapV3Pool::token1Call {}.abi_encode(),
            IUniswapV3Pool::feeCall {}.abi_encode(),
            IUniswapV3Pool::tickSpacingCall {}.abi_encode(),
            IUniswapV3Pool::slot0Call {}.abi_encode(),
            IUniswapV3Pool::liquidityCall {}.abi_encode(),
        ]
        .into_iter()
        .map(|data| (address, Bytes::from(data)))
        .collect();
        let results = multicall(network, calls, Some(block)).await?;
        let get = |i: usize| results[i].as_ref().ok_or(ConnectorError::NotAPool(address));
        let decode_err = |_| ConnectorError::NotAPool(address);
        let token0 = IUniswapV3Pool::token0Call::abi_decode_returns(get(0)?).map_err(decode_err)?;
        let token1 = IUniswapV3Pool::token1Call::abi_decode_returns(get(1)?).map_err(decode_err)?;
        let fee: U24 = IUniswapV3Pool::feeCall::abi_decode_returns(get(2)?).map_err(decode_err)?;
        let tick_spacing: I24 = IUniswapV3Pool::tickSpacingCall::abi_decode_returns(get(3)?).map_err(decode_err)?;
        let slot0 = IUniswapV3Pool::slot0Call::abi_decode_returns(get(4)?).map_err(decode_err)?;
        let liquidity = IUniswapV3Pool::liquidityCall::abi_decode_returns(get(5)?).map_err(decode_err)?;
        if slot0.sqrtPriceX96.is_zero() {
            return Err(ConnectorError::Liquidity(format!("pool {address} is not initialized")));
        }
        let (spacing, tick) = (tick_spacing.as_i32(), slot0.tick.as_i32());
        let span = spacing * 256 * WINDOW_WORDS;
        let lower = ((tick - span).div_euclid(spacing) * spacing).max(usable_min(spacing));
        let upper = ((tick + span).div_euclid(spacing) * spacing + spacing).min(usable_max(spacing));
        let window = (lower > usable_min(spacing) || upper < usable_max(spacing)).then_some((lower, upper));
        let (from, to) = match window {
            Some((lower, upper)) => (lower + spacing, upper - spacing),
            None => (usable_min(spacing), usable_max(spacing)),
        };
        let mut ticks = EphemeralTickDataProvider::<i32>::new(
            address,
            network.provider(),
            Some(from),
            Some(to),
            Some(BlockId::number(block)),
        )
        .await
        .map_err(|e| ConnectorError::Math(format!("reading the ticks of {address}: {e}")))?
        .ticks;
        if let Some((lower, upper)) = window {
            // The liquidity active below the window is what is active now minus what the window's ticks below
            // the price add; the upper stand-in takes whatever closes the sum to zero.
            let below_in_window: i128 = ticks.iter().filter(|t| t.index <= tick).map(|t| t.liquidity_net).sum();
            let entering = liquidity as i128 - below_in_window;
            let total: i128 = ticks.iter().map(|t| t.liquidity_net).sum::<i128>() + entering;
            if entering != 0 || total != 0 {
                ticks.insert(0, Tick::new(lower, entering.unsigned_abs(), entering));
                ticks.push(Tick::new(upper, total.unsigned_abs(), -total));
            }
        }
        Ok(V3PoolState {
            address,
            token0,
            token1,
            fee: fee.to::<u32>(),
            tick_spacing: spacing,
            sqrt_price_x96: slot0.sqrtPriceX96,
            tick,
            liquidity,
            tick_list: (!ticks.is_empty()).then(|| TickListDataProvider::new(ticks.clone(), spacing)),
            ticks,
            window,
            block,
        })
    }

    pub fn has_token(&self, token: Address) -> bool {
        token == self.token0 || token == self.token1
    }

    /// Simulates a swap of `token_in` for the other token, as the pool would run it now.
    pub async fn swap(&self, token_in: Address, amount: SwapAmount) -> Result<SwapResult, ConnectorError> {
        if !self.has_token(token_in) {
            return Err(ConnectorError::invalid(
                "tokenIn",
                format!("{token_in} is not a token of pool {}", self.address),
            ));
        }
        let Some(ticks) = &self.tick_list else {
            return Err(ConnectorError::Liquidity(format!("pool {} has no liquidity", self.address)));
        };
        let zero_for_one = token_in == self.token0;
        let specified = match amount {
            SwapAmount::ExactIn(a) | SwapAmount::ExactOut(a) if a.is_zero() => {
                return Err(ConnectorError::invalid("amount", "must be greater than zero"));
            }
            SwapAmount::ExactIn(a) => I256::try_from(a),
            SwapAmount::ExactOut(a) => I256::try_from(a).map(|a| -a),
        }
        .map_err(|_| ConnectorError::invalid("amount", "is too large"))?;
        let state = v3_swap(
            U24::from(self.fee),
            self.sqrt_price_x96,
            self.tick,
            self.liquidity,
            self.tick_spacing,
            ticks,
            zero_for_one,
            specified,
            None,
        )
        .await
        .map_err(|e| ConnectorError::Math(e.to_string()))?;
        if let Some((lower, upper)) = self.window
            && !(lower < state.tick_current && state.tick_current < upper)
        {
            return Err(ConnectorError::Liquidity(format!(
                "this amount moves pool {}'s price further than the gateway reads ticks; split it into smaller swaps",
                self.address
            )));
        }
        if !state.amount_specified_remaining.is_zero() {
            return Err(ConnectorError::Liquidity(format!(
                "pool {} does not hold enough liquidity for this amount",
                self.address
            )));
        }
        let (amount_in, amount_out) = match amount {
            SwapAmount::ExactIn(a) => (a, state.amount_calculated.unsigned_abs()),
            SwapAmount::ExactOut(a) => (state.amount_calculated.unsigned_abs(), a),
        };
        Ok(SwapResult { amount_in, amount_out, sqrt_price_after: state.sqrt_price_x96 })
    }
}
