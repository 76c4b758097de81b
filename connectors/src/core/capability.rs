//! What a family can do for the gateway, as capability traits that name no family.
//!
//! A family (Uniswap V2's constant-product pairs, V3's and V4's concentrated-liquidity pools) is deployed by a DEX
//! on a network, and its deployment implements the capability traits: finding pools ([`Discover`]), quoting
//! ([`Quote`]), swapping ([`Swap`]) and pool-token liquidity ([`Liquidity`]); positions in a price range are the
//! concentrated-liquidity layer's ([`crate::clmm::positions::Positions`]). Every capability method defaults to
//! [`ConnectorError::Unsupported`], so a new family implements what it has and the rest says so; the server asks
//! the DEX for a family's deployment ([`crate::dex::Dex::protocol`]) and calls the traits, without knowing which
//! family it holds.

use std::future::Future;
use std::pin::Pin;

use alloy::primitives::{Address, Bytes, U256};
use alloy::rpc::types::TransactionReceipt;
use chains::network::Network;
use chains::permit2::Spender;
use chains::tx::Call;

use super::error::ConnectorError;
use super::family::Family;
use super::pool_address::PoolAddress;
use super::route::{Hop, HopQuote, Leg, Route, SwapAmount, SwapLimits};
use super::state::PoolStates;

/// An answer that needs the chain: the capability traits are object-safe, so their reads are boxed futures.
pub type Reading<'a, T> = Pin<Box<dyn Future<Output = Result<T, ConnectorError>> + Send + 'a>>;

pub fn unsupported<T>(family: Family, what: &'static str) -> Result<T, ConnectorError> {
    Err(ConnectorError::Unsupported { family, what })
}

pub fn unsupported_reading<'a, T: Send + 'a>(family: Family, what: &'static str) -> Reading<'a, T> {
    Box::pin(std::future::ready(unsupported(family, what)))
}

/// Amounts of a pool's (token0, token1), or of two tokens in the order a call names them.
pub type Pair = (U256, U256);

/// What every family's deployment says of itself.
pub trait Deployed: Send + Sync {
    fn family(&self) -> Family;
}

/// An on-chain lookup for one pool: the contract asked (a factory, or V4's StateView), the call that names the
/// pool or says it exists, and the fee tier it asks for.
#[derive(Debug, Clone)]
pub struct Lookup {
    pub contract: Address,
    pub call: Bytes,
    /// The fee tier in hundredths of a basis point; 0 where the family has one fee.
    pub fee: u32,
    /// The pool asked about, where it is known before the answer (a V4 pool's id).
    pub pool: Option<PoolAddress>,
}

/// Finding a family's pools: where a pair's pools are (CREATE2, off-chain), which factory calls name them, and
/// whether an address is one.
pub trait Discover: Deployed {
    /// Where the pair's pools would be, one per fee tier (hundredths of a basis point; 0 where there is one fee).
    fn pool_addresses(&self, _token0: Address, _token1: Address) -> Vec<(PoolAddress, u32)> {
        Vec::new()
    }

    /// Whether `address` is this family's pool of the two tokens, at the fee tier it says it has (`None`: it
    /// answers no fee, as a V2 pair does).
    fn is_pool(&self, _address: Address, _token0: Address, _token1: Address, _fee: Option<u32>) -> bool {
        false
    }

    /// What a pool of the family at `tier` charges, in hundredths of a basis point.
    fn fee(&self, tier: u32) -> u32 {
        tier
    }

    /// The factory calls that name the pair's pools (one per fee tier), none when the family has no factory.
    fn lookups(&self, _token0: Address, _token1: Address) -> Vec<Lookup> {
        Vec::new()
    }

    /// The pool a lookup's answer names, or `None` when there is none (or the answer does not decode).
    fn found(&self, _lookup: &Lookup, _answer: &[u8]) -> Option<PoolAddress> {
        None
    }
}

/// Quotes on pool state cached per block.
pub trait Quote: Deployed {
    /// Quotes one hop of a route on the state of its pool at the latest block.
    fn quote_hop<'a>(
        &'a self,
        _states: &'a PoolStates,
        _network: &'a Network,
        _hop: &'a Hop,
        _amount: SwapAmount,
    ) -> Reading<'a, HopQuote> {
        unsupported_reading(self.family(), "quotes")
    }
}

/// Swaps through the family's router.
pub trait Swap: Deployed {
    /// The contract the family's swaps go through, which the wallet approves.
    fn swap_router(&self) -> Result<Address, ConnectorError> {
        unsupported(self.family(), "swaps")
    }

    /// The contract the router pulls tokens through (Permit2), which the wallet approves for the router in turn;
    /// `None` where the router pulls them itself.
    fn permit2(&self) -> Option<Address> {
        None
    }

    /// One of the family's contracts as a spender of the wallet's tokens: through Permit2 where it pulls
    /// through Permit2.
    fn spender(&self, contract: Address) -> Spender {
        match self.permit2() {
            Some(permit2) => Spender::through_permit2(contract, permit2),
            None => Spender::direct(contract),
        }
    }

    /// Whether the router swaps along routes of `family` (Uniswap's SwapRouter02 takes V2 pairs too).
    fn routes_through(&self, _family: Family) -> bool {
        false
    }

    /// Whether the router's exact-out swaps through `family`'s pools pay in the input it computes for the amount
    /// asked and swap that forward, so they deliver what that input buys: a little more than asked.
    fn buys_forward(&self, _family: Family) -> bool {
        false
    }

    /// The router call that swaps along `route` within `limits`.
    fn swap_call(&self, _route: &Route, _limits: &SwapLimits) -> Result<Call, ConnectorError> {
        unsupported(self.family(), "swaps")
    }

    /// Whether the router swaps an order split across routes, or along a route that changes family, in one
    /// transaction (bounded for the whole order).
    fn takes_splits(&self) -> bool {
        false
    }

    /// What the wallet paid and received of the native currency in a swap's receipt, where the router moves it
    /// without a Transfer event: (paid, received).
    fn native_moved(&self, _receipt: &TransactionReceipt, _legs: &[Leg]) -> Pair {
        (U256::ZERO, U256::ZERO)
    }

    /// The one call that swaps every leg of an order, within `limits` for the whole order.
    fn split_call(&self, _legs: &[Leg], _limits: &SwapLimits) -> Result<Call, ConnectorError> {
        unsupported(self.family(), "orders split across routes")
    }
}

/// Liquidity held as the pool's own fungible token (V2 pairs).
pub trait Liquidity: Deployed {
    /// The contract liquidity goes in and out through, which the wallet approves.
    fn liquidity_router(&self) -> Result<Address, ConnectorError> {
        unsupported(self.family(), "pool-token liquidity")
    }

    /// `owner`'s pool tokens of `pool` and the pool's total supply, at `block`.
    fn pool_tokens<'a>(
        &'a self,
        _network: &'a Network,
        _pool: Address,
        _owner: Address,
        _block: u64,
    ) -> Reading<'a, (U256, U256)> {
        unsupported_reading(self.family(), "pool-token liquidity")
    }

    /// Adds `desired` of `tokens` at the pool's ratio, taking at least `least`, pool tokens minted to `to`.
    fn add_liquidity(
        &self,
        _tokens: (Address, Address),
        _desired: Pair,
        _least: Pair,
        _to: Address,
        _deadline: U256,
    ) -> Result<Call, ConnectorError> {
        unsupported(self.family(), "pool-token liquidity")
    }

    /// Redeems `liquidity` pool tokens for at least `least` of `tokens`, paid to `to`.
    fn remove_liquidity(
        &self,
        _tokens: (Address, Address),
        _liquidity: U256,
        _least: Pair,
        _to: Address,
        _deadline: U256,
    ) -> Result<Call, ConnectorError> {
        unsupported(self.family(), "pool-token liquidity")
    }
}

/// Receipts built in memory, for tests of what is read from them.
#[cfg(test)]
pub(crate) mod tests_support {
    use alloy::primitives::{Address, B256, Bloom};
    use alloy::rpc::types::{Log, TransactionReceipt};

    /// A mined, successful receipt holding `logs`.
    pub fn receipt_with(logs: Vec<Log>) -> TransactionReceipt {
        serde_json::from_value(serde_json::json!({
            "transactionHash": B256::ZERO, "transactionIndex": "0x0", "blockHash": B256::ZERO,
            "blockNumber": "0x1", "from": Address::ZERO, "to": Address::ZERO, "cumulativeGasUsed": "0x0", "gasUsed": "0x0",
            "effectiveGasPrice": "0x0", "contractAddress": null, "logs": logs, "logsBloom": Bloom::ZERO,
            "type": "0x2", "status": "0x1"
        }))
        .expect("a receipt")
    }
}
