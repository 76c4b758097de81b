//! The NonfungiblePositionManager, where a V3 family's positions are NFTs: the calldata of each liquidity
//! change (a removal or a close is one `multicall`), reads of a position and of a wallet's positions, and what a
//! receipt's events say moved.

use alloy::network::TransactionBuilder;
use alloy::primitives::aliases::U24;
use alloy::primitives::{Address, Bytes, U256};
use alloy::rpc::types::{TransactionReceipt, TransactionRequest};
use alloy::sol_types::{SolCall, SolEvent};
use chains::multicall::multicall;
use chains::network::Network;
use chains::tx::Call;

use super::{INonfungiblePositionManager as Manager, V3Deployment};
use crate::clmm::pool::ClmmPool;
use crate::clmm::positions::{Deposit, Moved, Position, Positions};
use crate::clmm::ticks::int24;
use crate::core::capability::{Pair, Reading};
use crate::core::error::ConnectorError;

impl Positions for V3Deployment {
    fn position_manager(&self) -> Result<Address, ConnectorError> {
        Ok(self.position_manager)
    }

    fn create_pool(
        &self,
        (token0, token1): (Address, Address),
        fee: u32,
        sqrt_price_x96: alloy::primitives::U160,
    ) -> Result<Call, ConnectorError> {
        let call = Manager::createAndInitializePoolIfNecessaryCall {
            token0,
            token1,
            fee: U24::from(fee),
            sqrtPriceX96: sqrt_price_x96,
        };
        Ok(Call::new(self.position_manager, call.abi_encode()))
    }

    fn open_position(
        &self,
        pool: &ClmmPool,
        (lower, upper): (i32, i32),
        deposit: &Deposit,
        recipient: Address,
        deadline: U256,
    ) -> Result<Call, ConnectorError> {
        let (token0, token1) = pool.tokens();
        let params = Manager::MintParams {
            token0,
            token1,
            fee: U24::from(pool.tier()),
            tickLower: int24(lower)?,
            tickUpper: int24(upper)?,
            amount0Desired: deposit.desired.0,
            amount1Desired: deposit.desired.1,
            amount0Min: deposit.least.0,
            amount1Min: deposit.least.1,
            recipient,
            deadline,
        };
        Ok(Call::new(self.position_manager, Manager::mintCall { params }.abi_encode()))
    }

    fn add_to_position(&self, position: &Position, deposit: &Deposit, deadline: U256) -> Result<Call, ConnectorError> {
        let params = Manager::IncreaseLiquidityParams {
            tokenId: position.token_id,
            amount0Desired: deposit.desired.0,
            amount1Desired: deposit.desired.1,
            amount0Min: deposit.least.0,
            amount1Min: deposit.least.1,
            deadline,
        };
        Ok(Call::new(self.position_manager, Manager::increaseLiquidityCall { params }.abi_encode()))
    }

    fn remove_from_position(
        &self,
        position: &Position,
        liquidity: u128,
        least: Pair,
        deadline: U256,
    ) -> Result<Call, ConnectorError> {
        Ok(self.batch(vec![decrease(position.token_id, liquidity, least, deadline), collect_all(position)]))
    }

    fn collect_fees(&self, position: &Position) -> Result<Call, ConnectorError> {
        Ok(self.batch(vec![collect_all(position)]))
    }

    fn close_position(&self, position: &Position, least: Pair, deadline: U256) -> Result<Call, ConnectorError> {
        let mut calls = Vec::new();
        if position.liquidity > 0 {
            calls.push(decrease(position.token_id, position.liquidity, least, deadline));
        }
        calls.push(collect_all(position));
        calls.push(Manager::burnCall { tokenId: position.token_id }.abi_encode().into());
        Ok(self.batch(calls))
    }

    fn moved<'a>(&'a self, _network: &'a Network, receipt: &'a TransactionReceipt) -> Reading<'a, Moved> {
        Box::pin(std::future::ready(Ok(self.moved_in(receipt))))
    }

    fn position<'a>(&'a self, network: &'a Network, token_id: U256) -> Reading<'a, Option<Position>> {
        Box::pin(async move {
            let calls = vec![
                (self.position_manager, Bytes::from(Manager::positionsCall { tokenId: token_id }.abi_encode())),
                (self.position_manager, Bytes::from(Manager::ownerOfCall { tokenId: token_id }.abi_encode())),
            ];
            let results = multicall(network, calls, None).await?;
            let held = results[0].as_ref().and_then(|d| Manager::positionsCall::abi_decode_returns(d).ok());
            let owner = results[1].as_ref().and_then(|d| Manager::ownerOfCall::abi_decode_returns(d).ok());
            Ok(held.zip(owner).map(|(held, owner)| Position {
                token_id,
                owner,
                pool: self.pool_address(held.token0, held.token1, held.fee.to::<u32>()).into(),
                tokens: (held.token0, held.token1),
                lower: held.tickLower.as_i32(),
                upper: held.tickUpper.as_i32(),
                liquidity: held.liquidity,
            }))
        })
    }

    /// Runs a collect as a call from the owner: what it would pay is what is owed.
    fn owed<'a>(&'a self, network: &'a Network, position: &'a Position) -> Reading<'a, Pair> {
        Box::pin(async move {
            let request = TransactionRequest::default()
                .from(position.owner)
                .to(self.position_manager)
                .with_input(collect_all(position));
            let (called, _) = network.call_latest(&request, false).await.map_err(|e| network.rpc_error(e))?;
            let result = called.map_err(|e| network.rpc_error(e))?;
            let owed = Manager::collectCall::abi_decode_returns(&result)
                .map_err(|e| chains::error::ChainError::Node(format!("the position manager's collect answered {e}")))?;
            Ok((owed.amount0, owed.amount1))
        })
    }

    fn positions_of<'a>(&'a self, network: &'a Network, owner: Address) -> Reading<'a, Vec<U256>> {
        Box::pin(async move {
            let balance = vec![(self.position_manager, Bytes::from(Manager::balanceOfCall { owner }.abi_encode()))];
            let count = multicall(network, balance, None).await?[0]
                .as_ref()
                .and_then(|d| Manager::balanceOfCall::abi_decode_returns(d).ok())
                .unwrap_or_default()
                .to::<u64>();
            let by_index = (0..count)
                .map(|index| {
                    let call = Manager::tokenOfOwnerByIndexCall { owner, index: U256::from(index) };
                    (self.position_manager, Bytes::from(call.abi_encode()))
                })
                .collect();
            Ok(multicall(network, by_index, None)
                .await?
                .iter()
                .filter_map(|result| {
                    result.as_ref().and_then(|d| Manager::tokenOfOwnerByIndexCall::abi_decode_returns(d).ok())
                })
                .collect())
        })
    }
}

impl V3Deployment {
    /// What the manager's events in a receipt say happened to a position.
    fn moved_in(&self, receipt: &TransactionReceipt) -> Moved {
        let mut moved = Moved::default();
        let add = |sum: Pair, amounts: Pair| (sum.0 + amounts.0, sum.1 + amounts.1);
        for log in receipt.inner.logs().iter().filter(|log| log.address() == self.position_manager) {
            if let Ok(event) = Manager::IncreaseLiquidity::decode_log(&log.inner) {
                moved.token_id = event.tokenId;
                moved.added = add(moved.added, (event.amount0, event.amount1));
            } else if let Ok(event) = Manager::DecreaseLiquidity::decode_log(&log.inner) {
                moved.removed = add(moved.removed, (event.amount0, event.amount1));
            } else if let Ok(event) = Manager::Collect::decode_log(&log.inner) {
                moved.collected = add(moved.collected, (event.amount0, event.amount1));
            }
        }
        moved
    }

    /// Several calls in one transaction (the manager's multicall), or the one call alone.
    fn batch(&self, calls: Vec<Bytes>) -> Call {
        let data = match calls.len() {
            1 => calls[0].to_vec(),
            _ => Manager::multicallCall { data: calls }.abi_encode(),
        };
        Call::new(self.position_manager, data)
    }
}

/// Removes `liquidity` from a position; the tokens stay owed to it until collected.
fn decrease(token_id: U256, liquidity: u128, least: Pair, deadline: U256) -> Bytes {
    let params = Manager::DecreaseLiquidityParams {
        tokenId: token_id,
        liquidity,
        amount0Min: least.0,
        amount1Min: least.1,
        deadline,
    };
    Manager::decreaseLiquidityCall { params }.abi_encode().into()
}

/// Pays everything owed to a position (removed liquidity and fees) to its owner.
fn collect_all(position: &Position) -> Bytes {
    let params = Manager::CollectParams {
        tokenId: position.token_id,
        recipient: position.owner,
        amount0Max: u128::MAX,
        amount1Max: u128::MAX,
    };
    Manager::collectCall { params }.abi_encode().into()
}

#[cfg(test)]
mod tests {
    use alloy::primitives::{Log, LogData};

    use super::*;
    use crate::dex::Registry;

    fn uniswap_v3() -> V3Deployment {
        Registry::builtin().find("uniswap", "mainnet").unwrap().v3.unwrap()
    }

    fn position(liquidity: u128) -> Position {
        Position {
            token_id: U256::from(7),
            owner: Address::repeat_byte(5),
            pool: Address::repeat_byte(6).into(),
            tokens: (Address::repeat_byte(1), Address::repeat_byte(2)),
            lower: -600,
            upper: 600,
            liquidity,
        }
    }

    #[test]
    fn closing_decreases_collects_and_burns_in_one_multicall_to_the_manager() {
        let v3 = uniswap_v3();
        let least = (U256::from(10), U256::from(20));
        let call = v3.close_position(&position(1_000), least, U256::from(99)).unwrap();
        assert_eq!(call.to, v3.position_manager);
        let inner = Manager::multicallCall::abi_decode(&call.data).unwrap().data;
        assert_eq!(inner.len(), 3);
        let decrease = Manager::decreaseLiquidityCall::abi_decode(&inner[0]).unwrap().params;
        assert_eq!(
            (decrease.tokenId, decrease.liquidity, decrease.amount1Min, decrease.deadline),
            (U256::from(7), 1_000, U256::from(20), U256::from(99))
        );
        let collect = Manager::collectCall::abi_decode(&inner[1]).unwrap().params;
        assert_eq!(
            (collect.recipient, collect.amount0Max, collect.amount1Max),
            (Address::repeat_byte(5), u128::MAX, u128::MAX)
        );
        assert_eq!(Manager::burnCall::abi_decode(&inner[2]).unwrap().tokenId, U256::from(7));
        // An empty position has nothing to decrease: collect and burn.
        let inner =
            Manager::multicallCall::abi_decode(&v3.close_position(&position(0), least, U256::from(99)).unwrap().data)
                .unwrap()
                .data;
        assert!(Manager::collectCall::abi_decode(&inner[0]).is_ok() && inner.len() == 2);
        // Collecting fees is one call, not in a multicall.
        let collect = v3.collect_fees(&position(1_000)).unwrap();
        assert_eq!(Manager::collectCall::abi_decode(&collect.data).unwrap().params.tokenId, U256::from(7));
    }

    #[test]
    fn removing_decreases_then_collects_and_opening_mints_the_range() {
        let v3 = uniswap_v3();
        let call =
            v3.remove_from_position(&position(1_000), 250, (U256::from(1), U256::from(2)), U256::from(99)).unwrap();
        let inner = Manager::multicallCall::abi_decode(&call.data).unwrap().data;
        let decrease = Manager::decreaseLiquidityCall::abi_decode(&inner[0]).unwrap().params;
        assert_eq!((decrease.liquidity, decrease.amount0Min), (250, U256::from(1)));
        assert!(Manager::collectCall::abi_decode(&inner[1]).is_ok());
        let call = v3
            .add_to_position(
                &position(1_000),
                &deposit((U256::from(5), U256::from(6)), (U256::from(4), U256::from(5))),
                U256::from(99),
            )
            .unwrap();
        let increase = Manager::increaseLiquidityCall::abi_decode(&call.data).unwrap().params;
        assert_eq!(
            (increase.tokenId, increase.amount1Desired, increase.amount0Min),
            (U256::from(7), U256::from(6), U256::from(4))
        );
        let (desired, least) = ((U256::from(8), U256::from(9)), (U256::from(7), U256::from(8)));
        let call = v3
            .open_position(&pool(), (-600, 600), &deposit(desired, least), Address::repeat_byte(5), U256::from(99))
            .unwrap();
        let mint = Manager::mintCall::abi_decode(&call.data).unwrap().params;
        assert_eq!((mint.token0, mint.token1, mint.fee), (pool().tokens().0, pool().tokens().1, U24::from(500)));
        assert_eq!((mint.tickLower.as_i32(), mint.tickUpper.as_i32()), (-600, 600));
        assert_eq!(
            (mint.amount1Desired, mint.amount0Min, mint.recipient),
            (U256::from(9), U256::from(7), Address::repeat_byte(5))
        );
        let beyond_24_bits =
            v3.open_position(&pool(), (-9_000_000, 600), &deposit(desired, least), Address::ZERO, U256::ZERO);
        assert!(beyond_24_bits.is_err());
    }

    /// A deposit of `desired` taking at least `least`, which is all V3's manager is given.
    fn deposit(desired: Pair, least: Pair) -> Deposit {
        Deposit { liquidity: 0, desired, least, most: desired }
    }

    fn pool() -> ClmmPool {
        ClmmPool::new(std::sync::Arc::new(super::super::pool::tests_support::pool_at_tick(0, 10)))
    }

    #[test]
    fn a_receipts_events_from_the_manager_add_up_and_others_are_ignored() {
        let v3 = uniswap_v3();
        let id = U256::from(42);
        let log_of = |address: Address, data: LogData| alloy::rpc::types::Log {
            inner: Log { address, data },
            ..Default::default()
        };
        let increase = Manager::IncreaseLiquidity {
            tokenId: id,
            liquidity: 5,
            amount0: U256::from(100),
            amount1: U256::from(200),
        };
        let collect = |amount0: u64| Manager::Collect {
            tokenId: id,
            recipient: Address::ZERO,
            amount0: U256::from(amount0),
            amount1: U256::from(1),
        };
        let logs = vec![
            log_of(v3.position_manager, increase.encode_log_data()),
            log_of(v3.position_manager, collect(3).encode_log_data()),
            log_of(v3.position_manager, collect(4).encode_log_data()),
            log_of(Address::repeat_byte(1), collect(1_000).encode_log_data()),
        ];
        let receipt = crate::core::capability::tests_support::receipt_with(logs);
        assert_eq!(
            v3.moved_in(&receipt),
            Moved {
                token_id: id,
                added: (U256::from(100), U256::from(200)),
                removed: (U256::ZERO, U256::ZERO),
                collected: (U256::from(7), U256::from(2)),
            }
        );
    }
}
