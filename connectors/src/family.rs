//! Protocol families, and what each can do for the gateway.
//!
//! A family (Uniswap V2's constant-product pairs, V3's concentrated-liquidity pools) is deployed by a DEX on a
//! network, and its deployment ([`V2Deployment`], [`V3Deployment`]) implements the capability traits below:
//! finding pools ([`Discover`]), quoting ([`Quote`]), swapping ([`Swap`]), pool-token liquidity ([`Liquidity`])
//! and position NFTs ([`Positions`]). Every capability method defaults to [`ConnectorError::Unsupported`], so a
//! new family implements what it has and the rest says so; the server asks [`Dex::protocol`] for a family and
//! calls the traits, without knowing which family it holds.

use std::future::Future;
use std::pin::Pin;

use alloy::primitives::{Address, Bytes, U256};
use alloy::rpc::types::TransactionReceipt;
use chains::network::Network;
use chains::permit2::Spender;
use chains::tx::Call;
use serde::{Deserialize, Serialize};

use crate::dex::Dex;
use crate::error::ConnectorError;
use crate::pool_address::PoolAddress;
use crate::router::{Hop, Leg, Route, SwapLimits};
use crate::state::{ClmmPool, PoolStates};
use crate::v2::V2Deployment;
use crate::v3::V3Deployment;
use crate::v3::pool::{Curve, SwapAmount};
use crate::v4::V4Deployment;

/// A protocol family. Stored quotes keep it with their route, as `V2` or `V3`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Family {
    V2,
    V3,
    V4,
}

impl Family {
    /// The API's trading type for the family's pools.
    pub fn kind(self) -> &'static str {
        match self {
            Family::V2 => "amm",
            Family::V3 | Family::V4 => "clmm",
        }
    }

    /// The family of the API's trading type `amm` or `clmm` for a pool at `address` (a V4 id is a V4 pool).
    pub fn of_kind(kind: &str, address: PoolAddress) -> Option<Family> {
        match (kind, address) {
            ("amm", PoolAddress::Contract(_)) => Some(Family::V2),
            ("clmm", PoolAddress::Contract(_)) => Some(Family::V3),
            ("clmm", PoolAddress::Id(_)) => Some(Family::V4),
            _ => None,
        }
    }

    /// The fee tier a pool of the family charging `fee_pct` is known by, in hundredths of a basis point: V3 pools
    /// by their fee, V2 pairs (one fee for the whole DEX) by none.
    pub fn fee_tier(self, fee_pct: f64) -> u32 {
        match self {
            Family::V2 => 0,
            Family::V3 | Family::V4 => (fee_pct * 10_000.0).round() as u32,
        }
    }

    /// The family as messages name it.
    pub fn name(self) -> &'static str {
        match self {
            Family::V2 => "V2 (amm)",
            Family::V3 => "V3 (clmm)",
            Family::V4 => "V4 (clmm)",
        }
    }
}

/// An answer that needs the chain: the capability traits are object-safe, so their reads are boxed futures.
pub type Reading<'a, T> = Pin<Box<dyn Future<Output = Result<T, ConnectorError>> + Send + 'a>>;

fn unsupported<T>(family: Family, what: &'static str) -> Result<T, ConnectorError> {
    Err(ConnectorError::Unsupported { family, what })
}

fn unsupported_reading<'a, T: Send + 'a>(family: Family, what: &'static str) -> Reading<'a, T> {
    Box::pin(std::future::ready(unsupported(family, what)))
}

/// Amounts of a pool's (token0, token1), or of two tokens in the order a call names them.
pub type Pair = (U256, U256);

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

/// One hop's quote on cached pool state.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HopQuote {
    pub amount_in: U256,
    pub amount_out: U256,
    /// The pool's price before the swap, output per input in raw units (no fee, no impact).
    pub mid_out_per_in: f64,
    pub block: u64,
}

impl HopQuote {
    /// A swap simulated on a concentrated-liquidity curve read at `block`.
    pub fn on_curve(swapped: crate::v3::pool::SwapResult, curve: &Curve, zero_for_one: bool, block: u64) -> Self {
        HopQuote {
            amount_in: swapped.amount_in,
            amount_out: swapped.amount_out,
            mid_out_per_in: curve.mid_out_per_in(zero_for_one),
            block,
        }
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

/// Liquidity held as positions in a price range (V3's NFTs), each change one transaction.
pub trait Positions: Deployed {
    /// The contract that holds the positions, which the wallet approves for both tokens.
    fn position_manager(&self) -> Result<Address, ConnectorError> {
        unsupported(self.family(), "positions")
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

/// Everything a family can do.
pub trait Protocol: Discover + Quote + Swap + Liquidity + Positions {}

impl<T: Discover + Quote + Swap + Liquidity + Positions> Protocol for T {}

impl Dex {
    /// The DEX's deployment of `family` on this network.
    pub fn protocol(&self, family: Family) -> Result<&dyn Protocol, ConnectorError> {
        let deployed: Option<&dyn Protocol> = match family {
            Family::V2 => self.v2.as_ref().map(|v2: &V2Deployment| v2 as &dyn Protocol),
            Family::V3 => self.v3.as_ref().map(|v3: &V3Deployment| v3 as &dyn Protocol),
            Family::V4 => self.v4.as_ref().map(|v4: &V4Deployment| v4 as &dyn Protocol),
        };
        deployed.ok_or_else(|| ConnectorError::NotDeployed { connector: self.name.clone(), family })
    }

    /// Every family the DEX has on this network, in family order (V2, V3, V4).
    pub fn protocols(&self) -> impl Iterator<Item = &dyn Protocol> {
        let v2 = self.v2.as_ref().map(|v2| v2 as &dyn Protocol);
        let v3 = self.v3.as_ref().map(|v3| v3 as &dyn Protocol);
        let v4 = self.v4.as_ref().map(|v4| v4 as &dyn Protocol);
        v2.into_iter().chain(v3).chain(v4)
    }

    /// The family whose router executes an order along `routes`: for one route of one family, as
    /// [`Dex::router_for`] chooses; else one that takes split and mixed orders through every family they pass.
    pub fn router_for_order(&self, routes: &[&Route]) -> Result<&dyn Protocol, ConnectorError> {
        let mut families: Vec<Family> = routes.iter().flat_map(|route| route.families()).collect();
        families.sort();
        families.dedup();
        match (routes, &families[..]) {
            ([_], [family]) => self.router_for(*family),
            _ => self
                .protocols()
                .find(|protocol| protocol.takes_splits() && families.iter().all(|f| protocol.routes_through(*f)))
                .ok_or_else(|| ConnectorError::invalid("connector", "no router of this connector swaps this order")),
        }
    }

    /// The family whose router executes a `router` swap along a route of `family`: another family's router
    /// that takes such routes too comes first, so one approval serves every route (Uniswap's SwapRouter02).
    pub fn router_for(&self, family: Family) -> Result<&dyn Protocol, ConnectorError> {
        let able = || self.protocols().filter(move |protocol| protocol.routes_through(family));
        able()
            .find(|protocol| protocol.family() != family)
            .or_else(|| able().next())
            .ok_or_else(|| ConnectorError::NotDeployed { connector: self.name.clone(), family })
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dex::Registry;

    #[test]
    fn a_capability_a_family_lacks_says_so_naming_the_family() {
        let uniswap = Registry::builtin().find("uniswap", "mainnet").unwrap();
        let v2 = uniswap.protocol(Family::V2).unwrap();
        assert_eq!(v2.position_manager().unwrap_err().to_string(), "V2 (amm) pools do not offer positions");
        let v3 = uniswap.protocol(Family::V3).unwrap();
        assert!(matches!(
            v3.liquidity_router(),
            Err(ConnectorError::Unsupported { family: Family::V3, what: "pool-token liquidity" })
        ));
        assert!(v2.lookups(Address::ZERO, Address::repeat_byte(1)).len() == 1 && v3.swap_router().is_ok());
    }

    #[test]
    fn a_family_a_dex_does_not_deploy_on_a_network_is_refused_and_its_routes_take_the_family_it_has() {
        let celo = Registry::builtin().find("uniswap", "celo").unwrap();
        assert!(celo.v2.is_none(), "Uniswap has no V2 on Celo");
        assert_eq!(celo.protocol(Family::V2).err().unwrap().to_string(), "uniswap has no amm pools on this network");
        assert_eq!(celo.router_for(Family::V3).unwrap().family(), Family::V3);
        assert_eq!(celo.protocols().map(|protocol| protocol.family()).collect::<Vec<_>>(), vec![Family::V3]);
        let sepolia = Registry::builtin().find("uniswap", "sepolia").unwrap();
        assert_eq!(sepolia.router_for(Family::V2).unwrap().family(), Family::V2, "Router02 alone");
        assert!(sepolia.router_for(Family::V3).is_err());
    }
}
