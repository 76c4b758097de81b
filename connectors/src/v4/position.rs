//! V4 positions: PositionManager's NFTs over liquidity the PoolManager holds for it, each position its own by the
//! token id as salt. Every change is one `modifyLiquidities` plan: the liquidity action, then the currencies
//! settled from the wallet (ERC-20s through Permit2, ETH from the value sent, what is left of it swept back) or
//! taken to it. Neither contract logs amounts, so what a change moved is what the pool's math gives for the
//! liquidity delta it logs, at the price the pool had then, and the fees the position's fee growth had earned.

use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::providers::Provider;
use alloy::rpc::types::{Filter, TransactionReceipt};
use alloy::sol_types::{SolCall, SolEvent};
use chains::error::ChainError;
use chains::multicall::multicall;
use chains::network::Network;
use chains::tx::Call;
use uniswap_v3_sdk::prelude::mul_div;

use super::{IPoolManager, IPositionManager, IStateView, Plan, V4Deployment, actions};
use crate::clmm::fee_tier::FeeTier;
use crate::clmm::pool::ClmmPool;
use crate::clmm::positions::{Deposit, Moved, Position, Positions};
use crate::clmm::ticks::{amounts_for_liquidity, int24};
use crate::core::capability::{Pair, Reading};
use crate::core::error::{ConnectorError, Field};

/// Fee growth is in Q128.128 per unit of liquidity.
const Q128: U256 = U256::from_limbs([0, 0, 1, 0]);

impl Positions for V4Deployment {
    fn position_manager(&self) -> Result<Address, ConnectorError> {
        Ok(self.position_manager)
    }

    fn open_position(
        &self,
        pool: &ClmmPool,
        (lower, upper): (i32, i32),
        deposit: &Deposit,
        recipient: Address,
        deadline: U256,
    ) -> Result<Call, ConnectorError> {
        // The pool's key from what every pool says of itself: only hookless pools are traded, so its id tells
        // whether this is the pool (and a V4 pool at all).
        let (token0, token1) = pool.tokens();
        let key = self.hookless_key(token0, token1, FeeTier { fee: pool.tier(), tick_spacing: pool.tick_spacing });
        if pool.address() != key.id().into() {
            return Err(ConnectorError::NotAPool(pool.address()));
        }
        let (most0, most1) = within_u128(deposit.most)?;
        let currencies = (key.currency0, key.currency1);
        let mint =
            (key, int24(lower)?, int24(upper)?, U256::from(deposit.liquidity), most0, most1, recipient, Bytes::new());
        let plan = Plan::default().then(actions::MINT_POSITION, mint);
        Ok(self.paid_from(plan, currencies, deposit, recipient, deadline))
    }

    fn add_to_position(&self, position: &Position, deposit: &Deposit, deadline: U256) -> Result<Call, ConnectorError> {
        let (most0, most1) = within_u128(deposit.most)?;
        let increase = (position.token_id, U256::from(deposit.liquidity), most0, most1, Bytes::new());
        let plan = Plan::default().then(actions::INCREASE_LIQUIDITY, increase);
        Ok(self.paid_from(plan, position.tokens, deposit, position.owner, deadline))
    }

    fn remove_from_position(
        &self,
        position: &Position,
        liquidity: u128,
        least: Pair,
        deadline: U256,
    ) -> Result<Call, ConnectorError> {
        let (least0, least1) = within_u128(least)?;
        let decrease = (position.token_id, U256::from(liquidity), least0, least1, Bytes::new());
        Ok(self.paid_out(Plan::default().then(actions::DECREASE_LIQUIDITY, decrease), position, deadline))
    }

    /// A decrease of nothing: the PositionManager pays the fees earned with every change.
    fn collect_fees(&self, position: &Position) -> Result<Call, ConnectorError> {
        let decrease = (position.token_id, U256::ZERO, 0u128, 0u128, Bytes::new());
        Ok(self.paid_out(Plan::default().then(actions::DECREASE_LIQUIDITY, decrease), position, U256::MAX))
    }

    fn close_position(&self, position: &Position, least: Pair, deadline: U256) -> Result<Call, ConnectorError> {
        let (least0, least1) = within_u128(least)?;
        let burn = (position.token_id, least0, least1, Bytes::new());
        Ok(self.paid_out(Plan::default().then(actions::BURN_POSITION, burn), position, deadline))
    }

    fn moved<'a>(&'a self, network: &'a Network, receipt: &'a TransactionReceipt) -> Reading<'a, Moved> {
        Box::pin(async move {
            let mut moved = Moved::default();
            let changes = receipt
                .inner
                .logs()
                .iter()
                .filter(|log| log.address() == self.pool_manager)
                .filter_map(|log| Some((log.log_index?, IPoolManager::ModifyLiquidity::decode_log(&log.inner).ok()?)))
                .filter(|(_, change)| change.sender == self.position_manager);
            for (log_index, change) in changes {
                let block = receipt.block_number.filter(|block| *block > 0);
                let block = block.ok_or_else(|| ChainError::Node("a receipt without a block after genesis".into()))?;
                let change = change.data;
                // Independent reads, at the block before and at the change's own.
                let (price, (liquidity, last_before), (_, last_after)) = tokio::try_join!(
                    self.price_before(network, receipt, change.id, log_index, block),
                    self.fee_growth_last(network, &change, block - 1),
                    self.fee_growth_last(network, &change, block),
                )?;
                let fees = fees_earned(liquidity, last_before, last_after)?;
                let (lower, upper) = (change.tickLower.as_i32(), change.tickUpper.as_i32());
                let delta = change.liquidityDelta;
                let liquidity_moved = u128::try_from(delta.unsigned_abs())
                    .map_err(|_| ChainError::Node(format!("a liquidity change of {delta}")))?;
                let principal = amounts_for_liquidity(price, lower, upper, liquidity_moved, delta.is_positive())?;
                moved.token_id = U256::from_be_bytes(change.salt.0);
                if delta.is_positive() {
                    moved.added = sum(moved.added, principal);
                } else {
                    moved.removed = sum(moved.removed, principal);
                    moved.collected = sum(moved.collected, principal);
                }
                moved.collected = sum(moved.collected, fees);
            }
            Ok(moved)
        })
    }

    fn position<'a>(&'a self, network: &'a Network, token_id: U256) -> Reading<'a, Option<Position>> {
        Box::pin(async move {
            let calls = vec![
                self.manager_call(IPositionManager::getPoolAndPositionInfoCall { tokenId: token_id }),
                self.manager_call(IPositionManager::getPositionLiquidityCall { tokenId: token_id }),
                self.manager_call(IPositionManager::ownerOfCall { tokenId: token_id }),
            ];
            let results = multicall(network, calls, None).await?;
            let answer = |index: usize| results[index].as_ref();
            let held = answer(0).and_then(|d| IPositionManager::getPoolAndPositionInfoCall::abi_decode_returns(d).ok());
            let liquidity =
                answer(1).and_then(|d| IPositionManager::getPositionLiquidityCall::abi_decode_returns(d).ok());
            // A burned or never-minted id has no owner.
            let owner = answer(2).and_then(|d| IPositionManager::ownerOfCall::abi_decode_returns(d).ok());
            Ok(held.zip(liquidity).zip(owner).map(|((held, liquidity), owner)| {
                let (lower, upper) = packed_ticks(held.info);
                Position {
                    token_id,
                    owner,
                    pool: held.poolKey.id().into(),
                    tokens: (held.poolKey.currency0, held.poolKey.currency1),
                    lower,
                    upper,
                    liquidity,
                }
            }))
        })
    }

    /// The fee growth inside the range since the position last changed, on its liquidity.
    fn owed<'a>(&'a self, network: &'a Network, position: &'a Position) -> Reading<'a, Pair> {
        Box::pin(async move {
            let id = position.pool.id().ok_or(ConnectorError::NotAPool(position.pool))?;
            let (lower, upper) = (int24(position.lower)?, int24(position.upper)?);
            let inside = IStateView::getFeeGrowthInsideCall { poolId: id, tickLower: lower, tickUpper: upper };
            let calls = vec![
                self.position_info_call(id, position.lower, position.upper, position.token_id)?,
                (self.state_view, Bytes::from(inside.abi_encode())),
            ];
            let results = multicall(network, calls, None).await?;
            let info = decoded::<IStateView::getPositionInfoCall>(&results[0])?;
            let inside = decoded::<IStateView::getFeeGrowthInsideCall>(&results[1])?;
            fees_earned(
                info.liquidity,
                (info.feeGrowthInside0LastX128, info.feeGrowthInside1LastX128),
                (inside.feeGrowthInside0X128, inside.feeGrowthInside1X128),
            )
        })
    }

    /// PositionManager does not enumerate an owner's tokens: the ids ever transferred to `owner`, that it still
    /// owns.
    fn positions_of<'a>(&'a self, network: &'a Network, owner: Address) -> Reading<'a, Vec<U256>> {
        Box::pin(async move {
            let received = Filter::new()
                .address(self.position_manager)
                .event_signature(IPositionManager::Transfer::SIGNATURE_HASH)
                .topic2(owner.into_word());
            // The node's latest, or the block poller's if this node lags: a position minted a moment ago is in it.
            let asked = network.provider().get_block_number().await.map_err(|e| network.rpc_error(e))?;
            let latest = asked.max(network.latest_block().await?);
            let logs = chains::logs::scan_incremental(network, &received, self.position_manager_block, latest).await?;
            let mut ids: Vec<U256> =
                logs.iter().filter_map(|log| log.topics().get(3).map(|id| U256::from_be_bytes(id.0))).collect();
            ids.sort();
            ids.dedup();
            let owners = ids.iter().map(|id| self.manager_call(IPositionManager::ownerOfCall { tokenId: *id }));
            let results = multicall(network, owners.collect(), None).await?;
            Ok(ids
                .into_iter()
                .zip(results)
                .filter(|(_, result)| {
                    result.as_ref().and_then(|d| IPositionManager::ownerOfCall::abi_decode_returns(d).ok())
                        == Some(owner)
                })
                .map(|(id, _)| id)
                .collect())
        })
    }
}

impl V4Deployment {
    /// A deposit's plan, then each currency settled from `payer` (or, where the fees the change collects exceed
    /// what it owes, taken to it), and the ETH sent and not taken swept back.
    fn paid_from(
        &self,
        plan: Plan,
        (currency0, currency1): (Address, Address),
        deposit: &Deposit,
        payer: Address,
        deadline: U256,
    ) -> Call {
        let mut plan = plan.then(actions::CLOSE_CURRENCY, (currency0,)).then(actions::CLOSE_CURRENCY, (currency1,));
        let native = currency0.is_zero();
        if native {
            plan = plan.then(actions::SWEEP, (Address::ZERO, payer));
        }
        let value = if native { deposit.most.0 } else { U256::ZERO };
        self.modify(plan, deadline).with_value(value)
    }

    /// A withdrawal's plan, then both currencies paid to the position's owner.
    fn paid_out(&self, plan: Plan, position: &Position, deadline: U256) -> Call {
        let (currency0, currency1) = position.tokens;
        self.modify(plan.then(actions::TAKE_PAIR, (currency0, currency1, position.owner)), deadline)
    }

    fn modify(&self, plan: Plan, deadline: U256) -> Call {
        let call = IPositionManager::modifyLiquiditiesCall { unlockData: plan.encode(), deadline };
        Call::new(self.position_manager, call.abi_encode())
    }

    fn manager_call(&self, call: impl SolCall) -> (Address, Bytes) {
        (self.position_manager, Bytes::from(call.abi_encode()))
    }

    fn position_info_call(
        &self,
        id: B256,
        lower: i32,
        upper: i32,
        token_id: U256,
    ) -> Result<(Address, Bytes), ConnectorError> {
        let call = IStateView::getPositionInfoCall {
            poolId: id,
            owner: self.position_manager,
            tickLower: int24(lower)?,
            tickUpper: int24(upper)?,
            salt: B256::from(token_id),
        };
        Ok((self.state_view, Bytes::from(call.abi_encode())))
    }

    /// The position's liquidity and its fee growth inside as of its last change, at the end of `block`.
    async fn fee_growth_last(
        &self,
        network: &Network,
        change: &IPoolManager::ModifyLiquidity,
        block: u64,
    ) -> Result<(u128, Pair), ConnectorError> {
        let token_id = U256::from_be_bytes(change.salt.0);
        let call =
            self.position_info_call(change.id, change.tickLower.as_i32(), change.tickUpper.as_i32(), token_id)?;
        let info = decoded::<IStateView::getPositionInfoCall>(&multicall(network, vec![call], Some(block)).await?[0])?;
        Ok((info.liquidity, (info.feeGrowthInside0LastX128, info.feeGrowthInside1LastX128)))
    }

    /// The pool's price when the change at `log_index` of `receipt` ran: after the last swap before it in its
    /// block, or as the block before left it.
    async fn price_before(
        &self,
        network: &Network,
        receipt: &TransactionReceipt,
        id: B256,
        log_index: u64,
        block: u64,
    ) -> Result<alloy::primitives::aliases::U160, ConnectorError> {
        let block_hash = receipt.block_hash.ok_or_else(|| ChainError::Node("a receipt without a block".into()))?;
        let swaps = Filter::new()
            .at_block_hash(block_hash)
            .address(self.pool_manager)
            .event_signature(IPoolManager::Swap::SIGNATURE_HASH)
            .topic1(id);
        let logs = network.provider().get_logs(&swaps).await.map_err(|e| network.rpc_error(e))?;
        let last_swap = logs
            .iter()
            .filter(|log| log.log_index.is_some_and(|index| index < log_index))
            .max_by_key(|log| log.log_index)
            .and_then(|log| IPoolManager::Swap::decode_log(&log.inner).ok());
        if let Some(swap) = last_swap {
            return Ok(swap.sqrtPriceX96);
        }
        let slot0 = (self.state_view, Bytes::from(IStateView::getSlot0Call { poolId: id }.abi_encode()));
        Ok(decoded::<IStateView::getSlot0Call>(&multicall(network, vec![slot0], Some(block - 1)).await?[0])?
            .sqrtPriceX96)
    }
}

/// What a multicall's answer to one StateView call decodes to.
fn decoded<C: SolCall>(answer: &Option<Bytes>) -> Result<C::Return, ConnectorError> {
    answer
        .as_ref()
        .and_then(|data| C::abi_decode_returns(data).ok())
        .ok_or_else(|| ChainError::Node(format!("StateView's {} did not answer", C::SIGNATURE)).into())
}

/// The fees `liquidity` earned while the fee growth inside its range went from `last` to `now` (the growth
/// wraps, as the pool's unchecked arithmetic lets it).
fn fees_earned(liquidity: u128, last: Pair, now: Pair) -> Result<Pair, ConnectorError> {
    let earned = |last: U256, now: U256| {
        mul_div(now.wrapping_sub(last), U256::from(liquidity), Q128).map_err(|e| ConnectorError::Math(e.to_string()))
    };
    Ok((earned(last.0, now.0)?, earned(last.1, now.1)?))
}

fn sum(a: Pair, b: Pair) -> Pair {
    (a.0 + b.0, a.1 + b.1)
}

/// The (lower, upper) ticks of PositionManager's packed position info: 200 bits of pool id, then the upper tick,
/// the lower tick (24 bits each) and 8 bits saying whether it has a subscriber, from the top.
fn packed_ticks(info: U256) -> (i32, i32) {
    let tick_at = |shift: usize| {
        let bits = ((info >> shift) & U256::from(0xff_ffffu32)).to::<u32>();
        ((bits << 8) as i32) >> 8
    };
    (tick_at(8), tick_at(32))
}

/// Amounts as the PositionManager bounds them, in 128 bits.
fn within_u128((amount0, amount1): Pair) -> Result<(u128, u128), ConnectorError> {
    let bound = |amount: U256| {
        u128::try_from(amount).map_err(|_| ConnectorError::invalid(Field::Amount, "is too large for one position"))
    };
    Ok((bound(amount0)?, bound(amount1)?))
}

#[cfg(test)]
mod tests {
    use alloy::primitives::aliases::{I24, U24};
    use alloy::sol_types::SolValue;

    use super::*;
    use crate::dex::Registry;
    use crate::v4::PoolKey;
    use crate::v4::pool::V4PoolState;

    fn v4() -> V4Deployment {
        Registry::builtin().find("uniswap", "mainnet").unwrap().v4.unwrap()
    }

    const USDC: Address = Address::repeat_byte(0xaa);
    const OWNER: Address = Address::repeat_byte(5);

    fn eth_usdc_key() -> PoolKey {
        PoolKey {
            currency0: Address::ZERO,
            currency1: USDC,
            fee: U24::from(500),
            tickSpacing: I24::try_from(10).unwrap(),
            hooks: Address::ZERO,
        }
    }

    fn eth_usdc() -> ClmmPool {
        let key = eth_usdc_key();
        let curve = crate::clmm::curve::tests_support::curve_with(0, 10, &[]);
        ClmmPool::new(std::sync::Arc::new(V4PoolState { id: key.id(), key, protocol_fee: 0, curve, block: 1 }))
    }

    fn position(tokens: (Address, Address)) -> Position {
        Position {
            token_id: U256::from(7),
            owner: OWNER,
            pool: B256::repeat_byte(9).into(),
            tokens,
            lower: -600,
            upper: 600,
            liquidity: 1_000,
        }
    }

    /// A `modifyLiquidities` call's deadline, and its plan's actions and parameters.
    fn plan_of(call: &Call) -> (U256, Vec<u8>, Vec<Bytes>) {
        let modify = IPositionManager::modifyLiquiditiesCall::abi_decode(&call.data).unwrap();
        let (plan_actions, params) = <(Bytes, Vec<Bytes>)>::abi_decode_params(&modify.unlockData).unwrap();
        (modify.deadline, plan_actions.to_vec(), params)
    }

    fn deposit() -> Deposit {
        let pair = |a: u64, b: u64| (U256::from(a), U256::from(b));
        Deposit { liquidity: 123, desired: pair(100, 200), least: pair(90, 180), most: pair(110, 220) }
    }

    #[test]
    fn opening_with_eth_mints_the_liquidity_sends_the_most_it_may_take_and_sweeps_back_the_rest() {
        let v4 = v4();
        let call = v4.open_position(&eth_usdc(), (-600, 600), &deposit(), OWNER, U256::from(99)).unwrap();
        assert_eq!((call.to, call.value), (v4.position_manager, U256::from(110)));
        let (deadline, plan, params) = plan_of(&call);
        use actions::*;
        assert_eq!((deadline, plan), (U256::from(99), vec![MINT_POSITION, CLOSE_CURRENCY, CLOSE_CURRENCY, SWEEP]));
        type Mint = (PoolKey, I24, I24, U256, u128, u128, Address, Bytes);
        let mint = Mint::abi_decode_params(&params[0]).unwrap();
        assert_eq!(mint.0, eth_usdc_key());
        assert_eq!((mint.1.as_i32(), mint.2.as_i32(), mint.3), (-600, 600, U256::from(123)));
        assert_eq!((mint.4, mint.5, mint.6), (110, 220, OWNER), "bounded by the most, minted to the owner");
        assert_eq!(Address::abi_decode(&params[1]).unwrap(), Address::ZERO);
        assert_eq!(Address::abi_decode(&params[2]).unwrap(), USDC);
        assert_eq!(<(Address, Address)>::abi_decode_params(&params[3]).unwrap(), (Address::ZERO, OWNER));
        // A V3 pool is not V4's.
        let v3_pool = ClmmPool::new(std::sync::Arc::new(crate::v3::pool::tests_support::pool_at_tick(0, 10)));
        assert!(v4.open_position(&v3_pool, (-600, 600), &deposit(), OWNER, U256::ZERO).is_err());
    }

    #[test]
    fn adding_between_erc20s_sends_no_eth_and_withdrawals_take_both_currencies_to_the_owner() {
        let v4 = v4();
        let erc20s = position((Address::repeat_byte(1), USDC));
        let call = v4.add_to_position(&erc20s, &deposit(), U256::from(99)).unwrap();
        let (_, plan, params) = plan_of(&call);
        assert_eq!(call.value, U256::ZERO);
        assert_eq!(plan, vec![actions::INCREASE_LIQUIDITY, actions::CLOSE_CURRENCY, actions::CLOSE_CURRENCY]);
        let increase = <(U256, U256, u128, u128, Bytes)>::abi_decode_params(&params[0]).unwrap();
        assert_eq!((increase.0, increase.1, increase.2, increase.3), (U256::from(7), U256::from(123), 110, 220));

        let with_eth = position((Address::ZERO, USDC));
        let least = (U256::from(3), U256::from(4));
        let take_pair = |params: &Bytes| <(Address, Address, Address)>::abi_decode_params(params).unwrap();
        let (deadline, plan, params) =
            plan_of(&v4.remove_from_position(&with_eth, 250, least, U256::from(99)).unwrap());
        assert_eq!((deadline, plan), (U256::from(99), vec![actions::DECREASE_LIQUIDITY, actions::TAKE_PAIR]));
        let decrease = <(U256, U256, u128, u128, Bytes)>::abi_decode_params(&params[0]).unwrap();
        assert_eq!((decrease.1, decrease.2, decrease.3), (U256::from(250), 3, 4));
        assert_eq!(take_pair(&params[1]), (Address::ZERO, USDC, OWNER));

        let (_, plan, params) = plan_of(&v4.collect_fees(&with_eth).unwrap());
        assert_eq!(plan, vec![actions::DECREASE_LIQUIDITY, actions::TAKE_PAIR]);
        let nothing = <(U256, U256, u128, u128, Bytes)>::abi_decode_params(&params[0]).unwrap();
        assert_eq!((nothing.1, nothing.2, nothing.3), (U256::ZERO, 0, 0), "a decrease of nothing pays the fees");

        let (_, plan, params) = plan_of(&v4.close_position(&with_eth, least, U256::from(99)).unwrap());
        assert_eq!(plan, vec![actions::BURN_POSITION, actions::TAKE_PAIR]);
        let burn = <(U256, u128, u128, Bytes)>::abi_decode_params(&params[0]).unwrap();
        assert_eq!((burn.0, burn.1, burn.2), (U256::from(7), 3, 4));
        assert_eq!(take_pair(&params[1]), (Address::ZERO, USDC, OWNER));
    }

    #[test]
    fn the_ticks_are_read_from_the_packed_position_info() {
        // Pool id bits on top, upper tick 887220, lower tick -887220, a subscriber.
        let pack = |lower: i32, upper: i32| {
            let bits = |tick: i32| U256::from(tick as u32 & 0xff_ffff);
            (U256::MAX << 56) | (bits(upper) << 32) | (bits(lower) << 8) | U256::from(1)
        };
        assert_eq!(packed_ticks(pack(-887_220, 887_220)), (-887_220, 887_220));
        assert_eq!(packed_ticks(pack(194_720, 198_080)), (194_720, 198_080));
        assert_eq!(packed_ticks(pack(-10, -1)), (-10, -1));
    }

    #[test]
    fn fees_earned_are_the_growth_on_the_liquidity_and_the_growth_may_wrap() {
        let growth = |whole: u64| U256::from(whole) * Q128;
        let earned = fees_earned(1_000, (growth(2), growth(0)), (growth(5), growth(1))).unwrap();
        assert_eq!(earned, (U256::from(3_000), U256::from(1_000)));
        // Past the top of 256 bits the growth starts again from zero, as the pool's unchecked arithmetic lets it.
        let wrapped = fees_earned(1_000, (U256::MAX - Q128 + U256::from(1), U256::ZERO), (Q128, U256::ZERO)).unwrap();
        assert_eq!(wrapped, (U256::from(2_000), U256::ZERO));
        assert!(within_u128((U256::from(u128::MAX) + U256::from(1), U256::ZERO)).is_err());
    }
}
