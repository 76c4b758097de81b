//! Liquidity held as positions in a price range (V3's and V4's NFTs): a position as its manager holds it, what a
//! change moved, a deposit sized at the pool's price, and the capability a family offers them through.

use alloy::primitives::{Address, U256};
use alloy::rpc::types::TransactionReceipt;
use chains::network::Network;
use chains::tx::Call;

use super::pool::ClmmPool;
use crate::core::capability::{Deployed, Pair, Reading, unsupported, unsupported_reading};
use crate::core::error::ConnectorError;
use crate::core::pool_address::PoolAddress;

/// A position in a price range, as its family's manager holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    /// The NFT's token id.
    pub token_id: U256,
    pub owner: Address,
    pub pool: PoolAddress,
    /// The pool's (token0, token1); the zero address is native ETH.
    pub tokens: (Address, Address),
    pub lower: i32,
    pub upper: i32,
    pub liquidity: u128,
}

/// What a transaction did to a position, as the chain says: (token0, token1) amounts.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Moved {
    pub token_id: U256,
    /// Put into the position.
    pub added: Pair,
    /// Taken out of the position's liquidity.
    pub removed: Pair,
    /// Paid out to the owner: what was removed, and the fees earned.
    pub collected: Pair,
}

/// A deposit into a position, sized at the pool's price: the liquidity the amounts desired buy there, and the
/// least and the most of each token it may take within the slippage tolerance. V3's manager takes the amounts
/// desired and mints what they buy at the price it meets (at least `least`); V4's mints exactly `liquidity`,
/// paying at most `most`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deposit {
    pub liquidity: u128,
    pub desired: Pair,
    pub least: Pair,
    pub most: Pair,
}

/// Liquidity held as positions in a price range, each change one transaction.
pub trait Positions: Deployed {
    /// The contract that holds the positions, which the wallet approves for both tokens.
    fn position_manager(&self) -> Result<Address, ConnectorError> {
        unsupported(self.family(), "positions")
    }

    /// Creates the pool of `tokens` (token0, token1) at fee tier `fee` and sets its first price.
    fn create_pool(
        &self,
        _tokens: (Address, Address),
        _fee: u32,
        _sqrt_price_x96: alloy::primitives::U160,
    ) -> Result<Call, ConnectorError> {
        unsupported(self.family(), "creating pools")
    }

    /// Opens a position on `pool` between two ticks with a deposit, for `recipient`.
    fn open_position(
        &self,
        _pool: &ClmmPool,
        _ticks: (i32, i32),
        _deposit: &Deposit,
        _recipient: Address,
        _deadline: U256,
    ) -> Result<Call, ConnectorError> {
        unsupported(self.family(), "positions")
    }

    /// Adds liquidity to a position, in its range.
    fn add_to_position(
        &self,
        _position: &Position,
        _deposit: &Deposit,
        _deadline: U256,
    ) -> Result<Call, ConnectorError> {
        unsupported(self.family(), "positions")
    }

    /// Removes `liquidity` from a position and pays it out, with the fees owed, to its owner.
    fn remove_from_position(
        &self,
        _position: &Position,
        _liquidity: u128,
        _least: Pair,
        _deadline: U256,
    ) -> Result<Call, ConnectorError> {
        unsupported(self.family(), "positions")
    }

    /// Pays a position's fees to its owner.
    fn collect_fees(&self, _position: &Position) -> Result<Call, ConnectorError> {
        unsupported(self.family(), "positions")
    }

    /// Removes all of a position's liquidity (taking at least `least`), pays out everything and ends it.
    fn close_position(&self, _position: &Position, _least: Pair, _deadline: U256) -> Result<Call, ConnectorError> {
        unsupported(self.family(), "positions")
    }

    /// What one of these calls moved, read from its receipt (and where the receipt does not say, from the chain
    /// at its block).
    fn moved<'a>(&'a self, _network: &'a Network, _receipt: &'a TransactionReceipt) -> Reading<'a, Moved> {
        unsupported_reading(self.family(), "positions")
    }

    /// The position with this id, or `None` when there is none.
    fn position<'a>(&'a self, _network: &'a Network, _id: U256) -> Reading<'a, Option<Position>> {
        unsupported_reading(self.family(), "positions")
    }

    /// What collecting would pay the position now: fees earned, and liquidity removed but not collected.
    fn owed<'a>(&'a self, _network: &'a Network, _position: &'a Position) -> Reading<'a, Pair> {
        unsupported_reading(self.family(), "positions")
    }

    /// The ids of every position `owner` holds.
    fn positions_of<'a>(&'a self, _network: &'a Network, _owner: Address) -> Reading<'a, Vec<U256>> {
        unsupported_reading(self.family(), "positions")
    }
}
