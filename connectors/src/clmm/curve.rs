//! A concentrated-liquidity curve at one block, as V3 and V4 pools hold it (price, active liquidity, initialized
//! ticks): swaps simulated on it with the math the pools run (`uniswap-v3-sdk`'s swap, which V4's hookless pools
//! share), and the deployless lens runner both families read their pools with.

use alloy::eips::BlockId;
use alloy::network::TransactionBuilder;
use alloy::primitives::aliases::{U24, U160};
use alloy::primitives::{Bytes, I256, U256};
use alloy::providers::Provider;
use alloy::rpc::types::TransactionRequest;
use chains::network::Network;
use uniswap_v3_sdk::prelude::{Tick, TickListDataProvider, v3_swap};

use super::ticks::{amounts_for_liquidity, usable_max, usable_min};
use crate::core::error::{ConnectorError, Field};
use crate::core::pool_address::PoolAddress;
use crate::core::route::{HopQuote, SwapAmount};

/// A simulated swap through one pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SwapResult {
    pub amount_in: U256,
    pub amount_out: U256,
    pub sqrt_price_after: U160,
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
pub const WINDOW_WORDS: i16 = 64;

/// Runs a deployless lens at `block`: its constructor's output. A revert says `pool` is not one the lens reads;
/// any other failure is the node's.
pub async fn run_lens(
    network: &Network,
    code: Vec<u8>,
    block: u64,
    pool: PoolAddress,
) -> Result<Bytes, ConnectorError> {
    let request = TransactionRequest::default().with_deploy_code(code);
    network.provider().call(request).block(BlockId::number(block)).await.map_err(|error| match error {
        alloy::transports::RpcError::ErrorResp(payload) if payload.message.to_lowercase().contains("revert") => {
            ConnectorError::NotAPool(pool)
        }
        other => ConnectorError::Chain(network.rpc_error(other)),
    })
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
            let (amount0, amount1) = amounts_for_liquidity(self.sqrt_price_x96, lower, upper, liquidity, false)?;
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
                return Err(ConnectorError::invalid(Field::Amount, "must be greater than zero"));
            }
            SwapAmount::ExactIn(a) => I256::try_from(a),
            SwapAmount::ExactOut(a) => I256::try_from(a).map(|a| -a),
        }
        .map_err(|_| ConnectorError::invalid(Field::Amount, "is too large"))?;
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

    /// A hop's quote from a swap simulated on this curve, token0 in when `zero_for_one`, read at `block`.
    pub fn hop_quote(&self, swapped: SwapResult, zero_for_one: bool, block: u64) -> HopQuote {
        HopQuote {
            amount_in: swapped.amount_in,
            amount_out: swapped.amount_out,
            mid_out_per_in: self.mid_out_per_in(zero_for_one),
            block,
        }
    }
}

/// Curves built in memory, for tests of what is computed from them.
#[cfg(test)]
pub(crate) mod tests_support {
    use super::*;
    use crate::clmm::ticks::sqrt_at;

    /// A 0.05 % curve at `tick`, with `liquidity_by_range` as (lower, upper, liquidity) positions.
    pub fn curve_with(tick: i32, tick_spacing: i32, liquidity_by_range: &[(i32, i32, u128)]) -> Curve {
        let mut nets = std::collections::BTreeMap::<i32, i128>::new();
        for &(lower, upper, liquidity) in liquidity_by_range {
            *nets.entry(lower).or_default() += liquidity as i128;
            *nets.entry(upper).or_default() -= liquidity as i128;
        }
        let ticks: Vec<Tick<i32>> =
            nets.into_iter().map(|(index, net)| Tick::new(index, net.unsigned_abs(), net)).collect();
        let active = liquidity_by_range.iter().filter(|(l, u, _)| *l <= tick && tick < *u).map(|r| r.2).sum();
        Curve {
            fee: 500,
            tick_spacing,
            sqrt_price_x96: sqrt_at(tick).unwrap(),
            tick,
            liquidity: active,
            tick_list: (!ticks.is_empty()).then(|| TickListDataProvider::new(ticks.clone(), tick_spacing)),
            ticks,
            window: None,
        }
    }
}
