//! Finding, quoting and swapping through V4 pools: a pair's hookless pools are where the ids of its keys at each
//! fee tier have a price in StateView, quotes run the pool's math on its cached state, and swaps are a
//! UniversalRouter `V4_SWAP` plan of single-pool swaps chained through the router's open deltas, settled from
//! the wallet (through Permit2, or with the ETH sent) and taken to it.

use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::rpc::types::TransactionReceipt;
use alloy::sol_types::{SolCall, SolEvent, SolValue};
use chains::network::Network;
use chains::tx::Call;

use super::{
    ExactInputSingleParams, ExactOutputSingleParams, IPoolManager, IStateView, IUniversalRouter, Plan, PoolKey,
    V4_SWAP_COMMAND, V4Deployment, actions,
};
use crate::error::ConnectorError;
use crate::family::{Deployed, Discover, Family, HopQuote, Liquidity, Lookup, Pair, Positions, Quote, Reading, Swap};
use crate::pool_address::PoolAddress;
use crate::router::{Hop, Leg, Route, SwapLimits};
use crate::state::PoolStates;
use crate::v3::pool::SwapAmount;

/// The UniversalRouter's command that pays its whole balance of a token (the zero address: ETH) onward
/// (`Commands.SWEEP`): what an exact-out swap paid in ETH leaves over goes back to the wallet.
const SWEEP_COMMAND: u8 = 0x04;

/// `ActionConstants.OPEN_DELTA`: a chained swap's amount is what the previous one left owed or owing.
const OPEN_DELTA: u128 = 0;

impl Deployed for V4Deployment {
    fn family(&self) -> Family {
        Family::V4
    }
}

impl V4Deployment {
    fn tier_keys(&self, token0: Address, token1: Address) -> impl Iterator<Item = (PoolKey, u32)> + '_ {
        self.fee_tiers.iter().map(move |tier| (self.hookless_key(token0, token1, *tier), tier.fee))
    }
}

impl Discover for V4Deployment {
    fn pool_addresses(&self, token0: Address, token1: Address) -> Vec<(PoolAddress, u32)> {
        self.tier_keys(token0, token1).map(|(key, fee)| (key.id().into(), fee)).collect()
    }

    fn lookups(&self, token0: Address, token1: Address) -> Vec<Lookup> {
        self.tier_keys(token0, token1)
            .map(|(key, fee)| Lookup {
                contract: self.state_view,
                call: Bytes::from(IStateView::getSlot0Call { poolId: key.id() }.abi_encode()),
                fee,
                pool: Some(key.id().into()),
            })
            .collect()
    }

    /// A pool exists once it has a price.
    fn found(&self, lookup: &Lookup, answer: &[u8]) -> Option<PoolAddress> {
        let slot0 = IStateView::getSlot0Call::abi_decode_returns(answer).ok()?;
        lookup.pool.filter(|_| !slot0.sqrtPriceX96.is_zero())
    }
}

fn pool_id(hop: &Hop) -> Result<B256, ConnectorError> {
    match hop.pool {
        PoolAddress::Id(id) => Ok(id),
        contract => Err(ConnectorError::NotAPool(contract)),
    }
}

impl Quote for V4Deployment {
    fn quote_hop<'a>(
        &'a self,
        states: &'a PoolStates,
        network: &'a Network,
        hop: &'a Hop,
        amount: SwapAmount,
    ) -> Reading<'a, HopQuote> {
        Box::pin(async move {
            let pool = states.v4_pool(network, self, pool_id(hop)?).await?;
            let swapped = pool.swap(hop.token_in, amount).await?;
            Ok(HopQuote::on_curve(swapped, &pool.curve, hop.token_in == pool.key.currency0, pool.block))
        })
    }
}

impl Swap for V4Deployment {
    fn swap_router(&self) -> Result<Address, ConnectorError> {
        Ok(self.universal_router)
    }

    fn permit2(&self) -> Option<Address> {
        Some(self.permit2)
    }

    fn routes_through(&self, family: Family) -> bool {
        family == Family::V4
    }

    fn swap_call(&self, route: &Route, limits: &SwapLimits) -> Result<Call, ConnectorError> {
        if route.family() != Some(Family::V4) {
            return Err(ConnectorError::invalid("connector", "the UniversalRouter swaps V4 routes here"));
        }
        let amount = |value: U256, field: &'static str| {
            u128::try_from(value).map_err(|_| ConnectorError::invalid(field, "is too large for a V4 swap"))
        };
        let keys: Vec<(PoolKey, bool)> = route.hops.iter().map(|hop| self.key_of(hop)).collect::<Result<_, _>>()?;
        let (currency_in, currency_out) = (route.token_in(), route.token_out());
        let mut plan = Plan::default();
        let paid_at_most = if limits.exact_in {
            let amount_in = amount(limits.amount_in, "amount")?;
            for (index, (key, zero_for_one)) in keys.into_iter().enumerate() {
                let params = ExactInputSingleParams {
                    poolKey: key,
                    zeroForOne: zero_for_one,
                    amountIn: if index == 0 { amount_in } else { OPEN_DELTA },
                    amountOutMinimum: 0,
                    hookData: Bytes::new(),
                };
                plan = plan.then(actions::SWAP_EXACT_IN_SINGLE, (params,));
            }
            plan = plan
                .then(actions::SETTLE_ALL, (currency_in, limits.amount_in))
                .then(actions::TAKE_ALL, (currency_out, limits.min_out));
            limits.amount_in
        } else {
            let amount_out = amount(limits.amount_out, "amount")?;
            let last = keys.len() - 1;
            // The pool paying the wallet swaps first; each before it owes what the one after took.
            for (index, (key, zero_for_one)) in keys.into_iter().enumerate().rev() {
                let params = ExactOutputSingleParams {
                    poolKey: key,
                    zeroForOne: zero_for_one,
                    amountOut: if index == last { amount_out } else { OPEN_DELTA },
                    amountInMaximum: if index == 0 { amount(limits.max_in, "amount")? } else { u128::MAX },
                    hookData: Bytes::new(),
                };
                plan = plan.then(actions::SWAP_EXACT_OUT_SINGLE, (params,));
            }
            plan = plan
                .then(actions::SETTLE_ALL, (currency_in, limits.max_in))
                .then(actions::TAKE_ALL, (currency_out, limits.amount_out));
            limits.max_in
        };
        let mut commands = vec![V4_SWAP_COMMAND];
        let mut inputs = vec![plan.encode()];
        let native_in = currency_in.is_zero();
        if native_in && !limits.exact_in {
            commands.push(SWEEP_COMMAND);
            inputs.push((Address::ZERO, limits.recipient, U256::ZERO).abi_encode_params().into());
        }
        let execute = IUniversalRouter::executeCall { commands: commands.into(), inputs, deadline: limits.deadline };
        let value = if native_in { paid_at_most } else { U256::ZERO };
        Ok(Call::new(self.universal_router, execute.abi_encode()).with_value(value))
    }

    /// ETH is always currency0: a route that starts with it paid what its first pool's swap took of currency0,
    /// one that ends with it received what its last pool's swap gave.
    fn native_moved(&self, receipt: &TransactionReceipt, legs: &[Leg]) -> Pair {
        let swaps: Vec<(B256, i128)> = receipt
            .inner
            .logs()
            .iter()
            .filter(|log| log.address() == self.pool_manager)
            .filter_map(|log| IPoolManager::Swap::decode_log(&log.inner).ok())
            .map(|swap| (swap.id, swap.amount0))
            .collect();
        let currency0_delta = |hop: &Hop| match hop.pool {
            PoolAddress::Id(id) => swaps.iter().filter(|(swapped, _)| *swapped == id).map(|(_, delta)| *delta).sum(),
            PoolAddress::Contract(_) => 0i128,
        };
        let (mut paid, mut received) = (U256::ZERO, U256::ZERO);
        for leg in legs {
            let (first, last) = (&leg.route.hops[0], &leg.route.hops[leg.route.hops.len() - 1]);
            if first.token_in.is_zero() {
                paid += U256::from(currency0_delta(first).unsigned_abs());
            }
            if last.token_out.is_zero() {
                received += U256::from(currency0_delta(last).unsigned_abs());
            }
        }
        (paid, received)
    }
}

impl V4Deployment {
    /// A hop's pool key and whether it swaps currency0 for currency1. A hop names its pool by id, tokens and fee;
    /// the key is the hookless one at a tick spacing of the deployment's tiers whose id it is.
    fn key_of(&self, hop: &Hop) -> Result<(PoolKey, bool), ConnectorError> {
        let id = pool_id(hop)?;
        let fee = crate::v3::FeeTier { fee: hop.fee, tick_spacing: 0 };
        let key = self
            .fee_tiers
            .iter()
            .map(|tier| {
                self.hookless_key(
                    hop.token_in,
                    hop.token_out,
                    crate::v3::FeeTier { tick_spacing: tier.tick_spacing, ..fee },
                )
            })
            .find(|key| key.id() == id)
            .ok_or_else(|| {
                ConnectorError::invalid(
                    "poolAddress",
                    format!(
                        "V4 pool {id} is not a hookless pool of these tokens at fee {} and a known tick spacing",
                        hop.fee
                    ),
                )
            })?;
        let zero_for_one = hop.token_in == key.currency0;
        Ok((key, zero_for_one))
    }
}

/// V4 has no pool tokens; its positions are PositionManager's.
impl Liquidity for V4Deployment {}

impl Positions for V4Deployment {}
