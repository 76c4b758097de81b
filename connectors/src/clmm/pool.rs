//! A concentrated-liquidity pool of any family, as the `clmm` routes trade it: its curve, tokens and fee tier,
//! whatever family's state holds them.

use std::fmt::Debug;
use std::sync::Arc;

use alloy::primitives::Address;
use chains::network::Network;

use super::curve::Curve;
use crate::core::capability::{Deployed, Reading, unsupported_reading};
use crate::core::family::Family;
use crate::core::pool_address::PoolAddress;
use crate::core::state::PoolStates;

/// What every family's concentrated-liquidity pool state says of itself.
pub trait ConcentratedPool: Debug + Send + Sync {
    fn family(&self) -> Family;
    fn address(&self) -> PoolAddress;
    /// Its two tokens in address order (V4: the zero address is native ETH).
    fn tokens(&self) -> (Address, Address);
    /// The fee tier it is known by (hundredths of a basis point), as a route's hop names it.
    fn tier(&self) -> u32;
    fn curve(&self) -> &Curve;
    /// The block it was read at.
    fn block(&self) -> u64;
}

/// A concentrated-liquidity pool's state, shared with the cache it came from.
#[derive(Debug, Clone)]
pub struct ClmmPool(Arc<dyn ConcentratedPool>);

impl ClmmPool {
    pub fn new(state: Arc<dyn ConcentratedPool>) -> ClmmPool {
        ClmmPool(state)
    }

    pub fn family(&self) -> Family {
        self.0.family()
    }

    pub fn address(&self) -> PoolAddress {
        self.0.address()
    }

    pub fn tokens(&self) -> (Address, Address) {
        self.0.tokens()
    }

    pub fn has_token(&self, token: Address) -> bool {
        let (token0, token1) = self.tokens();
        token == token0 || token == token1
    }

    pub fn tier(&self) -> u32 {
        self.0.tier()
    }

    pub fn block(&self) -> u64 {
        self.0.block()
    }
}

/// The pool's price, liquidity and ticks.
impl std::ops::Deref for ClmmPool {
    type Target = Curve;

    fn deref(&self) -> &Curve {
        self.0.curve()
    }
}

/// Reading a family's concentrated-liquidity pools, as of the latest block.
pub trait Concentrated: Deployed {
    /// The pool at `address`, from the cache or read now.
    fn clmm_pool<'a>(
        &'a self,
        _states: &'a PoolStates,
        _network: &'a Network,
        _address: PoolAddress,
    ) -> Reading<'a, ClmmPool> {
        unsupported_reading(self.family(), "concentrated-liquidity pools")
    }
}
