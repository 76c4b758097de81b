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
use crate::clmm::fee_tier::FeeTier;
use crate::core::capability::{Deployed, Discover, Liquidity, Lookup, Pair, Quote, Reading, Swap};
use crate::core::error::{ConnectorError, Field};
use crate::core::family::Family;
use crate::core::pool_address::PoolAddress;
use crate::core::route::HopQuote;
use crate::core::route::SwapAmount;
use crate::core::route::{Hop, Leg, Route, SwapLimits};
use crate::core::state::PoolStates;

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
    hop.pool.id().ok_or(ConnectorError::NotAPool(hop.pool))
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
            let pool = self.pool(states, network, pool_id(hop)?).await?;
            let swapped = pool.swap(hop.token_in, amount).await?;
            Ok(pool.curve.hop_quote(swapped, hop.token_in == pool.key.currency0, pool.block))
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
            return Err(ConnectorError::invalid(Field::Connector, "the UniversalRouter swaps V4 routes here"));
        }
        let amount = |value: U256, field: Field| {
            u128::try_from(value).map_err(|_| ConnectorError::invalid(field, "is too large for a V4 swap"))
        };
        let keys: Vec<(PoolKey, bool)> = route.hops.iter().map(|hop| self.key_of(hop)).collect::<Result<_, _>>()?;
        let (currency_in, currency_out) = (route.token_in(), route.token_out());
        let mut plan = Plan::default();
        let paid_at_most = if limits.exact_in {
            let amount_in = amount(limits.amount_in, Field::Amount)?;
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
            let amount_out = amount(limits.amount_out, Field::Amount)?;
            let last = keys.len() - 1;
            // The pool paying the wallet swaps first; each before it owes what the one after took.
            for (index, (key, zero_for_one)) in keys.into_iter().enumerate().rev() {
                let params = ExactOutputSingleParams {
                    poolKey: key,
                    zeroForOne: zero_for_one,
                    amountOut: if index == last { amount_out } else { OPEN_DELTA },
                    amountInMaximum: if index == 0 { amount(limits.max_in, Field::Amount)? } else { u128::MAX },
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
        let fee = FeeTier { fee: hop.fee, tick_spacing: 0 };
        let key = self
            .fee_tiers
            .iter()
            .map(|tier| {
                self.hookless_key(hop.token_in, hop.token_out, FeeTier { tick_spacing: tier.tick_spacing, ..fee })
            })
            .find(|key| key.id() == id)
            .ok_or_else(|| {
                ConnectorError::invalid(
                    Field::Pool,
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

#[cfg(test)]
mod tests {
    use alloy::primitives::Log;

    use super::*;
    use crate::clmm::fee_tier::FeeTier;
    use crate::core::route::tests_support::{USDC, WBTC, limits};
    use crate::dex::Registry;

    fn v4() -> V4Deployment {
        Registry::builtin().find("uniswap", "mainnet").unwrap().v4.unwrap()
    }

    /// WBTC -> ETH at 0.3 %, ETH -> USDC at 0.05 %, through hookless pools at their tiers' spacings.
    fn through_eth() -> (Route, [PoolKey; 2]) {
        let v4 = v4();
        let wbtc_eth = v4.hookless_key(WBTC, Address::ZERO, FeeTier { fee: 3000, tick_spacing: 60 });
        let eth_usdc = v4.hookless_key(Address::ZERO, USDC, FeeTier { fee: 500, tick_spacing: 10 });
        let hop = |key: &PoolKey, token_in, token_out, fee| Hop {
            family: Family::V4,
            pool: key.id().into(),
            token_in,
            token_out,
            fee,
        };
        let route =
            Route { hops: vec![hop(&wbtc_eth, WBTC, Address::ZERO, 3000), hop(&eth_usdc, Address::ZERO, USDC, 500)] };
        (route, [wbtc_eth, eth_usdc])
    }

    /// The UniversalRouter call's commands, and its V4 plan's actions and parameters.
    fn decoded(call: &Call) -> (Vec<u8>, Vec<u8>, Vec<Bytes>, Vec<Bytes>) {
        let execute = IUniversalRouter::executeCall::abi_decode(&call.data).unwrap();
        let (plan_actions, params) = <(Bytes, Vec<Bytes>)>::abi_decode_params(&execute.inputs[0]).unwrap();
        (execute.commands.to_vec(), plan_actions.to_vec(), params, execute.inputs[1..].to_vec())
    }

    #[test]
    fn an_exact_in_route_chains_single_pool_swaps_through_the_open_delta_and_settles_and_takes_once() {
        let (route, keys) = through_eth();
        let call = v4().swap_call(&route, &limits(true)).unwrap();
        assert_eq!((call.to, call.value), (v4().universal_router, U256::ZERO), "WBTC in: nothing sent with it");
        let (commands, plan, params, rest) = decoded(&call);
        assert_eq!((commands, rest.len()), (vec![V4_SWAP_COMMAND], 0));
        let swap = actions::SWAP_EXACT_IN_SINGLE;
        assert_eq!(plan, vec![swap, swap, actions::SETTLE_ALL, actions::TAKE_ALL]);
        let first = <(ExactInputSingleParams,)>::abi_decode_params(&params[0]).unwrap().0;
        let second = <(ExactInputSingleParams,)>::abi_decode_params(&params[1]).unwrap().0;
        assert_eq!((&first.poolKey, first.zeroForOne, first.amountIn), (&keys[0], false, 100), "WBTC is currency1");
        assert_eq!((&second.poolKey, second.zeroForOne, second.amountIn), (&keys[1], true, OPEN_DELTA));
        let settle = <(Address, U256)>::abi_decode_params(&params[2]).unwrap();
        let take = <(Address, U256)>::abi_decode_params(&params[3]).unwrap();
        assert_eq!(
            (settle, take),
            ((WBTC, U256::from(100)), (USDC, U256::from(190))),
            "all in, at least the minimum out"
        );
    }

    #[test]
    fn an_exact_out_route_paying_eth_swaps_from_the_last_pool_back_sends_its_maximum_and_sweeps_the_rest() {
        let (route, keys) = through_eth();
        // USDC -> ETH, bought: the route reversed to its first hop.
        let reversed = Route { hops: vec![Hop { token_in: USDC, token_out: Address::ZERO, ..route.hops[1].clone() }] };
        let call = v4().swap_call(&reversed, &limits(false)).unwrap();
        assert_eq!(call.value, U256::ZERO, "USDC in");
        let eth_in = Route { hops: vec![Hop { token_in: Address::ZERO, token_out: WBTC, ..route.hops[0].clone() }] };
        let call = v4().swap_call(&eth_in, &limits(false)).unwrap();
        assert_eq!(call.value, U256::from(110), "ETH in: the maximum in goes with the call");
        let (commands, plan, params, rest) = decoded(&call);
        assert_eq!(commands, vec![V4_SWAP_COMMAND, SWEEP_COMMAND]);
        assert_eq!(plan, vec![actions::SWAP_EXACT_OUT_SINGLE, actions::SETTLE_ALL, actions::TAKE_ALL]);
        let out = <(ExactOutputSingleParams,)>::abi_decode_params(&params[0]).unwrap().0;
        assert_eq!((&out.poolKey, out.zeroForOne, out.amountOut, out.amountInMaximum), (&keys[0], true, 200, 110));
        let sweep = <(Address, Address, U256)>::abi_decode_params(&rest[0]).unwrap();
        assert_eq!(sweep, (Address::ZERO, Address::repeat_byte(9), U256::ZERO), "what is left goes back");
        // Two hops bought: the pool paying the wallet first, the one before owing what it took.
        let call = v4().swap_call(&route, &limits(false)).unwrap();
        let (_, plan, params, _) = decoded(&call);
        assert_eq!(&plan[..2], &[actions::SWAP_EXACT_OUT_SINGLE; 2]);
        let last = <(ExactOutputSingleParams,)>::abi_decode_params(&params[0]).unwrap().0;
        let first = <(ExactOutputSingleParams,)>::abi_decode_params(&params[1]).unwrap().0;
        assert_eq!((&last.poolKey, last.amountOut, last.amountInMaximum), (&keys[1], 200, u128::MAX));
        assert_eq!((&first.poolKey, first.amountOut, first.amountInMaximum), (&keys[0], OPEN_DELTA, 110));
    }

    #[test]
    fn a_hop_not_at_a_known_tick_spacing_or_of_another_family_is_refused() {
        let (mut route, _) = through_eth();
        route.hops[1].fee = 3000;
        assert!(v4().swap_call(&route, &limits(true)).is_err(), "no 0.3 % ETH/USDC pool has this id");
        let v3_route = crate::core::route::tests_support::two_hops(Family::V3);
        assert!(v4().swap_call(&v3_route, &limits(true)).is_err());
    }

    #[test]
    fn a_pool_is_found_where_its_id_has_a_price() {
        let v4 = v4();
        let lookups = v4.lookups(Address::ZERO, USDC);
        assert_eq!(lookups.len(), v4.fee_tiers.len());
        let at_500 = lookups.iter().find(|lookup| lookup.fee == 500).unwrap();
        let id = "0x21c67e77068de97969ba93d4aab21826d33ca12bb9f565d8496e8fda8a82ca27".parse::<B256>().unwrap();
        assert_eq!((at_500.contract, at_500.pool), (v4.state_view, Some(id.into())));
        assert_eq!(IStateView::getSlot0Call::abi_decode(&at_500.call).unwrap().poolId, id);
        let slot0 = |price: u64| {
            IStateView::getSlot0Call::abi_encode_returns(&IStateView::getSlot0Return {
                sqrtPriceX96: alloy::primitives::aliases::U160::from(price),
                tick: Default::default(),
                protocolFee: Default::default(),
                lpFee: Default::default(),
            })
        };
        assert_eq!(v4.found(at_500, &slot0(1)), Some(id.into()));
        assert_eq!(v4.found(at_500, &slot0(0)), None, "no price: not initialized");
    }

    #[test]
    fn the_eth_a_route_paid_and_received_is_read_from_the_pool_managers_swap_events() {
        let v4 = v4();
        let (route, keys) = through_eth();
        let swap = |id: B256, amount0: i128, amount1: i128| {
            let event = IPoolManager::Swap {
                id,
                sender: v4.universal_router,
                amount0,
                amount1,
                sqrtPriceX96: Default::default(),
                liquidity: 0,
                tick: Default::default(),
                fee: Default::default(),
            };
            alloy::rpc::types::Log {
                inner: Log { address: v4.pool_manager, data: event.encode_log_data() },
                ..Default::default()
            }
        };
        let receipt_of = crate::core::capability::tests_support::receipt_with;
        // WBTC -> ETH -> USDC: ETH only passes through; the wallet neither pays nor gets any.
        let through = receipt_of(vec![swap(keys[0].id(), 5, -1), swap(keys[1].id(), -5, 15_000)]);
        let leg = Leg::new(route.clone(), U256::from(1), U256::from(15_000));
        assert_eq!(v4.native_moved(&through, &[leg]), (U256::ZERO, U256::ZERO));
        // ETH -> USDC: paid what the pool took of currency0; a log from another contract does not count.
        let eth_usdc = Route { hops: vec![route.hops[1].clone()] };
        let mut stranger = swap(keys[1].id(), -99, 0);
        stranger.inner.address = Address::repeat_byte(7);
        let paid = receipt_of(vec![swap(keys[1].id(), -5, 15_000), stranger]);
        assert_eq!(
            v4.native_moved(&paid, &[Leg::new(eth_usdc, U256::from(5), U256::from(15_000))]),
            (U256::from(5), U256::ZERO)
        );
    }
}
