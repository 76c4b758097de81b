//! The NonfungiblePositionManager, where a V3 family's positions are NFTs: the calldata of each liquidity
//! change, reads of a position and of a wallet's positions, and what a receipt's events say moved.

use alloy::network::TransactionBuilder;
use alloy::primitives::aliases::{I24, U24};
use alloy::primitives::{Address, Bytes, U256};
use alloy::providers::Provider;
use alloy::rpc::types::{TransactionReceipt, TransactionRequest};
use alloy::sol_types::{SolCall, SolEvent};
use chains::erc20::multicall;
use chains::network::Network;
use chains::tx::Call;

use super::pool::V3PoolState;
use super::{INonfungiblePositionManager as Manager, V3Deployment};
use crate::error::ConnectorError;

/// A position as the manager holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    pub token_id: U256,
    pub owner: Address,
    pub pool: Address,
    pub lower: i32,
    pub upper: i32,
    pub liquidity: u128,
}

/// What the manager's events in a receipt say happened to a position: (token0, token1) amounts.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Moved {
    pub token_id: U256,
    pub added: (U256, U256),
    pub removed: (U256, U256),
    pub collected: (U256, U256),
}

/// Amounts of (token0, token1).
pub type Pair = (U256, U256);

/// One V3 deployment's position manager.
pub struct PositionManager<'a> {
    v3: &'a V3Deployment,
}

impl<'a> PositionManager<'a> {
    pub fn new(v3: &'a V3Deployment) -> Self {
        PositionManager { v3 }
    }

    /// The contract a wallet approves to take its tokens into positions.
    pub fn address(&self) -> Address {
        self.v3.position_manager
    }

    /// Mints a position on `pool` between two ticks, with the amounts desired and the least accepted.
    pub fn mint(
        &self,
        pool: &V3PoolState,
        (lower, upper): (i32, i32),
        desired: Pair,
        least: Pair,
        recipient: Address,
        deadline: U256,
    ) -> Call {
        let params = Manager::MintParams {
            token0: pool.token0,
            token1: pool.token1,
            fee: U24::from(pool.fee),
            tickLower: int24(lower),
            tickUpper: int24(upper),
            amount0Desired: desired.0,
            amount1Desired: desired.1,
            amount0Min: least.0,
            amount1Min: least.1,
            recipient,
            deadline,
        };
        Call::new(self.address(), Manager::mintCall { params }.abi_encode())
    }

    /// Adds liquidity to a position in its range.
    pub fn increase(&self, token_id: U256, desired: Pair, least: Pair, deadline: U256) -> Call {
        let params = Manager::IncreaseLiquidityParams {
            tokenId: token_id,
            amount0Desired: desired.0,
            amount1Desired: desired.1,
            amount0Min: least.0,
            amount1Min: least.1,
            deadline,
        };
        Call::new(self.address(), Manager::increaseLiquidityCall { params }.abi_encode())
    }

    /// Removes `liquidity` from a position; the tokens stay owed to it until collected.
    pub fn decrease(token_id: U256, liquidity: u128, least: Pair, deadline: U256) -> Bytes {
        let params = Manager::DecreaseLiquidityParams {
            tokenId: token_id,
            liquidity,
            amount0Min: least.0,
            amount1Min: least.1,
            deadline,
        };
        Manager::decreaseLiquidityCall { params }.abi_encode().into()
    }

    /// Pays everything owed to a position (removed liquidity and fees) to `recipient`.
    pub fn collect_all(token_id: U256, recipient: Address) -> Bytes {
        let params =
            Manager::CollectParams { tokenId: token_id, recipient, amount0Max: u128::MAX, amount1Max: u128::MAX };
        Manager::collectCall { params }.abi_encode().into()
    }

    /// Burns an emptied position's NFT.
    pub fn burn(token_id: U256) -> Bytes {
        Manager::burnCall { tokenId: token_id }.abi_encode().into()
    }

    /// Several calls in one transaction (the manager's multicall), or the one call alone.
    pub fn batch(&self, calls: Vec<Bytes>) -> Call {
        let data = match calls.len() {
            1 => calls[0].to_vec(),
            _ => Manager::multicallCall { data: calls }.abi_encode(),
        };
        Call::new(self.address(), data)
    }

    /// The position with this token id, or `None` when it does not exist.
    pub async fn position(&self, network: &Network, token_id: U256) -> Result<Option<Position>, ConnectorError> {
        let calls = vec![
            (self.address(), Bytes::from(Manager::positionsCall { tokenId: token_id }.abi_encode())),
            (self.address(), Bytes::from(Manager::ownerOfCall { tokenId: token_id }.abi_encode())),
        ];
        let results = multicall(network, calls, None).await?;
        let held = results[0].as_ref().and_then(|d| Manager::positionsCall::abi_decode_returns(d).ok());
        let owner = results[1].as_ref().and_then(|d| Manager::ownerOfCall::abi_decode_returns(d).ok());
        Ok(held.zip(owner).map(|(held, owner)| Position {
            token_id,
            owner,
            pool: self.v3.pool_address(held.token0, held.token1, held.fee.to::<u32>()),
            lower: held.tickLower.as_i32(),
            upper: held.tickUpper.as_i32(),
            liquidity: held.liquidity,
        }))
    }

    /// What a collect would pay the position now (uncollected fees, and liquidity removed but not collected), by
    /// running it as a call from the owner.
    pub async fn owed(&self, network: &Network, position: &Position) -> Result<Pair, ConnectorError> {
        let request = TransactionRequest::default()
            .from(position.owner)
            .to(self.address())
            .with_input(Self::collect_all(position.token_id, position.owner));
        let result = network.provider().call(request).await.map_err(|e| network.rpc_error(e))?;
        let owed = Manager::collectCall::abi_decode_returns(&result)
            .map_err(|e| chains::error::ChainError::Node(format!("the position manager's collect answered {e}")))?;
        Ok((owed.amount0, owed.amount1))
    }

    /// The token ids of every position `owner` holds.
    pub async fn token_ids(&self, network: &Network, owner: Address) -> Result<Vec<U256>, ConnectorError> {
        let balance = vec![(self.address(), Bytes::from(Manager::balanceOfCall { owner }.abi_encode()))];
        let count = multicall(network, balance, None).await?[0]
            .as_ref()
            .and_then(|d| Manager::balanceOfCall::abi_decode_returns(d).ok())
            .unwrap_or_default()
            .to::<u64>();
        let by_index = (0..count)
            .map(|index| {
                let call = Manager::tokenOfOwnerByIndexCall { owner, index: U256::from(index) };
                (self.address(), Bytes::from(call.abi_encode()))
            })
            .collect();
        Ok(multicall(network, by_index, None)
            .await?
            .iter()
            .filter_map(|result| {
                result.as_ref().and_then(|d| Manager::tokenOfOwnerByIndexCall::abi_decode_returns(d).ok())
            })
            .collect())
    }

    /// Adds up the manager's events in a receipt.
    pub fn moved(&self, receipt: &TransactionReceipt) -> Moved {
        let mut moved = Moved::default();
        let add = |sum: (U256, U256), amounts: (U256, U256)| (sum.0 + amounts.0, sum.1 + amounts.1);
        for log in receipt.inner.logs().iter().filter(|log| log.address() == self.address()) {
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
}

fn int24(tick: i32) -> I24 {
    I24::try_from(tick).expect("ticks fit in 24 bits")
}

#[cfg(test)]
mod tests {
    use alloy::primitives::{Log, LogData};

    use super::*;
    use crate::dex::Registry;

    fn manager_of(v3: &V3Deployment) -> PositionManager<'_> {
        PositionManager::new(v3)
    }

    #[test]
    fn closing_decreases_collects_and_burns_in_one_multicall_to_the_manager() {
        let v3 = Registry::builtin().find("uniswap", "mainnet").unwrap().v3.unwrap();
        let manager = manager_of(&v3);
        let id = U256::from(7);
        let owner = Address::repeat_byte(5);
        let least = (U256::from(10), U256::from(20));
        let calls = vec![
            PositionManager::decrease(id, 1_000, least, U256::from(99)),
            PositionManager::collect_all(id, owner),
            PositionManager::burn(id),
        ];
        let call = manager.batch(calls.clone());
        assert_eq!(call.to, v3.position_manager);
        let inner = Manager::multicallCall::abi_decode(&call.data).unwrap().data;
        assert_eq!(inner, calls);
        let decrease = Manager::decreaseLiquidityCall::abi_decode(&inner[0]).unwrap().params;
        assert_eq!((decrease.tokenId, decrease.liquidity, decrease.amount1Min), (id, 1_000, U256::from(20)));
        let collect = Manager::collectCall::abi_decode(&inner[1]).unwrap().params;
        assert_eq!((collect.recipient, collect.amount0Max, collect.amount1Max), (owner, u128::MAX, u128::MAX));
        // One call goes alone, not in a multicall.
        assert_eq!(manager.batch(vec![calls[1].clone()]).data, calls[1]);
    }

    #[test]
    fn a_receipts_events_from_the_manager_add_up_and_others_are_ignored() {
        let v3 = Registry::builtin().find("uniswap", "mainnet").unwrap().v3.unwrap();
        let manager = manager_of(&v3);
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
            log_of(manager.address(), increase.encode_log_data()),
            log_of(manager.address(), collect(3).encode_log_data()),
            log_of(manager.address(), collect(4).encode_log_data()),
            log_of(Address::repeat_byte(1), collect(1_000).encode_log_data()),
        ];
        let receipt: TransactionReceipt = serde_json::from_value(serde_json::json!({
            "transactionHash": alloy::primitives::B256::ZERO, "transactionIndex": "0x0", "blockHash": alloy::primitives::B256::ZERO,
            "blockNumber": "0x1", "from": Address::ZERO, "to": Address::ZERO, "cumulativeGasUsed": "0x0", "gasUsed": "0x0",
            "effectiveGasPrice": "0x0", "contractAddress": null, "logs": logs, "logsBloom": alloy::primitives::Bloom::ZERO,
            "type": "0x2", "status": "0x1"
        }))
        .unwrap();
        let moved = manager.moved(&receipt);
        assert_eq!(
            moved,
            Moved {
                token_id: id,
                added: (U256::from(100), U256::from(200)),
                removed: (U256::ZERO, U256::ZERO),
                collected: (U256::from(7), U256::from(2)),
            }
        );
    }
}
