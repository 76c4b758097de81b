//! A V3 pool's state at one block (price, liquidity, every initialized tick), read in one round trip, and
//! swaps simulated on it with the same math the pool runs.

use alloy::eips::BlockId;
use alloy::network::TransactionBuilder;
use alloy::primitives::aliases::{U24, U160};
use alloy::primitives::{Address, Bytes, I256, U256};
use alloy::providers::Provider;
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::SolValue;
use chains::network::Network;
use uniswap_v3_sdk::prelude::{Tick, TickListDataProvider, v3_swap};

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

/// A concentrated-liquidity curve at one block, as V3 and V4 pools hold it: what their swaps run on.
#[derive(Debug, Clone)]
pub struct Curve {
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
}

/// What a lens reads of a pool's curve: the price, the active liquidity, and the initialized ticks (with their
/// net liquidity) in the bitmap words `from_word..=to_word`.
pub struct CurveReads {
    pub fee: u32,
    pub tick_spacing: i32,
    pub sqrt_price_x96: U160,
    pub tick: i32,
    pub liquidity: u128,
    pub from_word: i16,
    pub to_word: i16,
    pub ticks: Vec<(i32, i128)>,
}

/// How many bitmap words (256 tick spacings each) to read on either side of the price: enough for any
/// sensible trade, small enough for one call on the finest tick spacing.
pub(crate) const WINDOW_WORDS: i16 = 64;

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

/// Runs a deployless lens at `block`: its constructor's output. A revert says `pool` is not one the lens reads;
/// any other failure is the node's.
pub(crate) async fn run_lens(
    network: &Network,
    code: Vec<u8>,
    block: u64,
    pool: crate::pool_address::PoolAddress,
) -> Result<Bytes, ConnectorError> {
    let request = TransactionRequest::default().with_deploy_code(code);
    network.provider().call(request).block(BlockId::number(block)).await.map_err(|error| match error {
        alloy::transports::RpcError::ErrorResp(payload) if payload.message.to_lowercase().contains("revert") => {
            ConnectorError::NotAPool(pool)
        }
        other => ConnectorError::Chain(network.rpc_error(other)),
    })
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
                "tokenIn",
                format!("{token_in} is not a token of pool {}", self.address),
            ));
        }
        self.curve.swap(&self.address, self.fee, token_in == self.token0, amount).await
    }
}

impl Curve {
    /// The curve the reads describe: when the words read do not reach both ends of the tick range, the ticks
    /// beyond are summed into two stand-ins at the window's edges.
    pub fn from_reads(reads: CurveReads) -> Curve {
        let CurveReads { fee, tick_spacing: spacing, sqrt_price_x96, tick, liquidity, from_word, to_word, ticks } =
            reads;
        let word_ticks = 256 * spacing;
        let lower = (i32::from(from_word) * word_ticks - spacing).max(usable_min(spacing));
        let upper = ((i32::from(to_word) + 1) * word_ticks).min(usable_max(spacing));
        let window = (lower > usable_min(spacing) || upper < usable_max(spacing)).then_some((lower, upper));
        let mut ticks: Vec<Tick<i32>> = ticks
            .into_iter()
            .filter(|(index, _)| window.is_none_or(|(lower, upper)| lower < *index && *index < upper))
            .map(|(index, net)| Tick::new(index, net.unsigned_abs(), net))
            .collect();
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
        Curve {
            fee,
            tick_spacing: spacing,
            sqrt_price_x96,
            tick,
            liquidity,
            tick_list: (!ticks.is_empty()).then(|| TickListDataProvider::new(ticks.clone(), spacing)),
            ticks,
            window,
        }
    }

    /// The price before a swap, output per input in raw units (no fee, no impact), token0 in when `zero_for_one`.
    pub fn mid_out_per_in(&self, zero_for_one: bool) -> f64 {
        let price_1_per_0 = (f64::from(U256::from(self.sqrt_price_x96)) / 2f64.powi(96)).powi(2);
        if zero_for_one { price_1_per_0 } else { 1.0 / price_1_per_0 }
    }

    /// The liquidity between consecutive initialized ticks, as (lower, upper, liquidity), where there is any.
    pub fn ranges(&self) -> Vec<(i32, i32, u128)> {
        let mut ranges = Vec::new();
        let mut active: i128 = 0;
        for pair in self.ticks.windows(2) {
            active += pair[0].liquidity_net;
            if active > 0 {
                ranges.push((pair[0].index, pair[1].index, active as u128));
            }
        }
        ranges
    }

    /// What the curve's liquidity amounts to of (token0, token1) at its price, range by range (rounded down).
    pub fn held(&self) -> Result<(U256, U256), ConnectorError> {
        self.ranges().into_iter().try_fold((U256::ZERO, U256::ZERO), |(sum0, sum1), (lower, upper, liquidity)| {
            let (amount0, amount1) =
                super::position::amounts_for_liquidity(self.sqrt_price_x96, lower, upper, liquidity, false)?;
            Ok((sum0 + amount0, sum1 + amount1))
        })
    }

    /// Simulates a swap along the curve paying `fee` (hundredths of a basis point), token0 in when
    /// `zero_for_one`; messages name the pool as `pool`.
    pub async fn swap(
        &self,
        pool: &(dyn std::fmt::Display + Sync),
        fee: u32,
        zero_for_one: bool,
        amount: SwapAmount,
    ) -> Result<SwapResult, ConnectorError> {
        let Some(ticks) = &self.tick_list else {
            return Err(ConnectorError::Liquidity(format!("pool {pool} has no liquidity")));
        };
        let specified = match amount {
            SwapAmount::ExactIn(a) | SwapAmount::ExactOut(a) if a.is_zero() => {
                return Err(ConnectorError::invalid("amount", "must be greater than zero"));
            }
            SwapAmount::ExactIn(a) => I256::try_from(a),
            SwapAmount::ExactOut(a) => I256::try_from(a).map(|a| -a),
        }
        .map_err(|_| ConnectorError::invalid("amount", "is too large"))?;
        let state = v3_swap(
            U24::from(fee),
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
                "this amount moves pool {pool}'s price further than the gateway reads ticks; split it into smaller swaps"
            )));
        }
        if !state.amount_specified_remaining.is_zero() {
            return Err(ConnectorError::Liquidity(format!(
                "pool {pool} does not hold enough liquidity for this amount"
            )));
        }
        let (amount_in, amount_out) = match amount {
            SwapAmount::ExactIn(a) => (a, state.amount_calculated.unsigned_abs()),
            SwapAmount::ExactOut(a) => (state.amount_calculated.unsigned_abs(), a),
        };
        Ok(SwapResult { amount_in, amount_out, sqrt_price_after: state.sqrt_price_x96 })
    }
}

/// Pool states built in memory, for tests of what is computed from them.
#[cfg(test)]
pub(crate) mod tests_support {
    use super::*;
    use crate::v3::position::sqrt_at;

    /// A 0.05 % pool between two made-up tokens at `tick`, with `liquidity_by_range` as (lower, upper,
    /// liquidity) positions.
    pub fn pool_with(tick: i32, tick_spacing: i32, liquidity_by_range: &[(i32, i32, u128)]) -> V3PoolState {
        let mut nets = std::collections::BTreeMap::<i32, i128>::new();
        for &(lower, upper, liquidity) in liquidity_by_range {
            *nets.entry(lower).or_default() += liquidity as i128;
            *nets.entry(upper).or_default() -= liquidity as i128;
        }
        let ticks: Vec<Tick<i32>> =
            nets.into_iter().map(|(index, net)| Tick::new(index, net.unsigned_abs(), net)).collect();
        let active = liquidity_by_range.iter().filter(|(l, u, _)| *l <= tick && tick < *u).map(|r| r.2).sum();
        V3PoolState {
            address: Address::repeat_byte(0x33),
            token0: Address::repeat_byte(1),
            token1: Address::repeat_byte(2),
            curve: Curve {
                fee: 500,
                tick_spacing,
                sqrt_price_x96: sqrt_at(tick).unwrap(),
                tick,
                liquidity: active,
                tick_list: (!ticks.is_empty()).then(|| TickListDataProvider::new(ticks.clone(), tick_spacing)),
                ticks,
                window: None,
            },
            block: 1,
        }
    }

    pub fn pool_at_tick(tick: i32, tick_spacing: i32) -> V3PoolState {
        pool_with(tick, tick_spacing, &[])
    }
}
