//! The registry of DEXes, and the one place that names every protocol family. A DEX is described per network by
//! where its contracts are and the constants that make its pools what they are; descriptions are data
//! (`deployments.json`, plus any the user adds), so adding a fork is adding a description, not code. A new family
//! is a folder of its own, implementing the capabilities, named here.

use std::collections::BTreeMap;

use alloy::primitives::{Address, Bytes};
use alloy::sol_types::SolCall;
use chains::network::Network;
use chains::permit2::Spender;
use serde::Deserialize;

use crate::clmm::pool::{ClmmPool, Concentrated};
use crate::clmm::positions::Positions;
use crate::core::capability::{Discover, Liquidity, Quote, Reading, Swap};
use crate::core::discovery::Discovery;
use crate::core::error::{ConnectorError, Field};
use crate::core::family::{Family, TradingType};
use crate::core::pool_address::PoolAddress;
use crate::core::route::{Hop, HopQuote, PoolRef, Route, SwapAmount};
use crate::core::state::PoolStates;
use crate::routing::HopQuoter;
use crate::v2::V2Deployment;
use crate::v3::{IUniswapV3Pool, V3Deployment};
use crate::v4::V4Deployment;

/// One DEX on one network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dex {
    /// Connector name as the API spells it (`uniswap`, `pancakeswap`).
    pub name: String,
    /// Constant-product pools (`amm`), when the DEX has them on this network.
    pub v2: Option<V2Deployment>,
    /// Concentrated-liquidity pools (`clmm`), when the DEX has them on this network.
    pub v3: Option<V3Deployment>,
    /// The singleton PoolManager's pools (`clmm` too), when Uniswap V4 is on this network.
    pub v4: Option<V4Deployment>,
}

/// What a DEX has on one network.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deployments {
    pub amm: Option<V2Deployment>,
    pub clmm: Option<V3Deployment>,
    pub v4: Option<V4Deployment>,
}

/// A DEX's deployments, by network name.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DexSpec {
    pub name: String,
    pub networks: BTreeMap<String, Deployments>,
}

/// Why a DEX description is refused.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("{0}")]
    Json(#[from] serde_json::Error),
    #[error("name '{0}' must be lowercase letters, digits and dashes")]
    Name(String),
    #[error("network {0} has none of amm, clmm and v4")]
    NoPools(String),
    #[error("network {0}: clmm needs feeTiers")]
    NoFeeTiers(String),
    #[error("a connector named '{0}' already exists")]
    Taken(String),
}

impl DexSpec {
    pub fn parse(json: &str) -> Result<DexSpec, SpecError> {
        let spec: DexSpec = serde_json::from_str(json)?;
        if spec.name.is_empty() || !spec.name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(SpecError::Name(spec.name));
        }
        for (network, deployments) in &spec.networks {
            if deployments.amm.is_none() && deployments.clmm.is_none() && deployments.v4.is_none() {
                return Err(SpecError::NoPools(network.clone()));
            }
            if let Some(clmm) = &deployments.clmm
                && clmm.fee_tiers.is_empty()
            {
                return Err(SpecError::NoFeeTiers(network.clone()));
            }
        }
        Ok(spec)
    }
}

/// Every DEX the gateway knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registry {
    specs: Vec<DexSpec>,
}

const BUILTIN: &str = include_str!("../deployments.json");

impl Registry {
    /// Uniswap and PancakeSwap.
    pub fn builtin() -> Registry {
        Registry { specs: serde_json::from_str(BUILTIN).expect("deployments.json is valid") }
    }

    /// Adds a description; its name must be new.
    pub fn with(mut self, spec: DexSpec) -> Result<Registry, SpecError> {
        if self.specs.iter().any(|s| s.name == spec.name) {
            return Err(SpecError::Taken(spec.name));
        }
        self.specs.push(spec);
        Ok(self)
    }

    pub fn find(&self, connector: &str, network: &str) -> Option<Dex> {
        let spec = self.specs.iter().find(|s| s.name == connector)?;
        let deployments = spec.networks.get(network)?;
        Some(Dex {
            name: spec.name.clone(),
            v2: deployments.amm,
            v3: deployments.clmm.clone(),
            v4: deployments.v4.clone(),
        })
    }

    pub fn names(&self) -> Vec<String> {
        self.specs.iter().map(|s| s.name.clone()).collect()
    }

    pub fn contains(&self, connector: &str) -> bool {
        self.specs.iter().any(|s| s.name == connector)
    }

    /// The trading types a connector offers on any network: `router`, plus `amm` and `clmm` where deployed.
    pub fn trading_types(&self, connector: &str) -> Vec<TradingType> {
        let Some(spec) = self.specs.iter().find(|s| s.name == connector) else { return vec![] };
        let mut types = vec![TradingType::Router];
        if spec.networks.values().any(|d| d.amm.is_some()) {
            types.push(TradingType::Amm);
        }
        if spec.networks.values().any(|d| d.clmm.is_some() || d.v4.is_some()) {
            types.push(TradingType::Clmm);
        }
        types
    }
}

/// Everything a family can do.
pub trait Protocol: Discover + Quote + Swap + Liquidity + Positions + Concentrated {}

impl<T: Discover + Quote + Swap + Liquidity + Positions + Concentrated> Protocol for T {}

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
                .ok_or_else(|| {
                    ConnectorError::invalid(Field::Connector, "no router of this connector swaps this order")
                }),
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

    /// The family of a pool traded as `kind` at `address`: a V4 pool is known by its id, V2 and V3 pools by their
    /// contract.
    pub fn family_of(kind: TradingType, address: PoolAddress) -> Option<Family> {
        match (kind, address) {
            (TradingType::Amm, PoolAddress::Contract(_)) => Some(Family::V2),
            (TradingType::Clmm, PoolAddress::Contract(_)) => Some(Family::V3),
            (TradingType::Clmm, PoolAddress::Id(_)) => Some(Family::V4),
            _ => None,
        }
    }

    /// The concentrated-liquidity pool at `address` (a V3 pool's contract, or a V4 pool's id), as of the latest
    /// block.
    pub async fn clmm_pool(
        &self,
        states: &PoolStates,
        network: &Network,
        address: PoolAddress,
    ) -> Result<ClmmPool, ConnectorError> {
        let family = Dex::family_of(TradingType::Clmm, address).ok_or(ConnectorError::NotAPool(address))?;
        self.protocol(family)?.clmm_pool(states, network, address).await
    }

    /// The pools this DEX has for each of `pairs` as of the latest block, found through its factories.
    pub async fn discover(
        &self,
        states: &PoolStates,
        network: &Network,
        pairs: &[(Address, Address)],
    ) -> Result<Vec<PoolRef>, ConnectorError> {
        let protocols: Vec<&dyn Discover> = self.protocols().map(|protocol| protocol as &dyn Discover).collect();
        states.shared::<Discovery>().pools(network, (&self.name, &protocols), pairs).await
    }

    /// The contracts a wallet approves for what `kind` names: `amm` (the V2 router, for swaps and liquidity),
    /// `clmm` (every concentrated-liquidity family's position manager and swap router), `clmm/swap` (their swap
    /// routers alone, upstream Gateway's name) or `router` (the routers that execute router routes, the newest
    /// family's first: one where it takes every family's routes). Each pulls through Permit2 where its family does.
    /// `None` for a name that is none of these.
    pub fn spenders(&self, kind: &str) -> Option<Vec<Spender>> {
        let of = |protocol: &dyn Protocol, contract: Result<Address, ConnectorError>| {
            contract.ok().map(|contract| protocol.spender(contract))
        };
        let clmm = || self.protocols().filter(|protocol| protocol.family().trading_type() == TradingType::Clmm);
        let contracts: Vec<Spender> = match (TradingType::parse(kind), kind.strip_suffix("/swap")) {
            (Some(TradingType::Amm), _) => {
                self.protocol(Family::V2).into_iter().filter_map(|v2| of(v2, v2.liquidity_router())).collect()
            }
            (Some(TradingType::Clmm), _) => clmm()
                .flat_map(|protocol| {
                    [protocol.position_manager(), protocol.swap_router()]
                        .into_iter()
                        .filter_map(move |contract| of(protocol, contract))
                })
                .collect(),
            (None, Some(swap)) if TradingType::parse(swap) == Some(TradingType::Clmm) => {
                clmm().filter_map(|protocol| of(protocol, protocol.swap_router())).collect()
            }
            (Some(TradingType::Router), _) => {
                let mut routers = Vec::new();
                for family in self.protocols().map(|protocol| protocol.family()).collect::<Vec<_>>().into_iter().rev() {
                    let router = self.router_for(family).ok().and_then(|protocol| of(protocol, protocol.swap_router()));
                    if let Some(router) = router
                        && !routers.contains(&router)
                    {
                        routers.push(router);
                    }
                }
                routers
            }
            _ => return None,
        };
        Some(contracts)
    }

    /// Quotes on `states` through this DEX's families, for routing.
    pub fn quoter<'a>(&'a self, states: &'a PoolStates, network: &'a Network) -> DexQuoter<'a> {
        DexQuoter { dex: self, states, network }
    }
}

/// A DEX's families quoting on the cached pool state of one network: what routing searches and splits with.
pub struct DexQuoter<'a> {
    dex: &'a Dex,
    states: &'a PoolStates,
    network: &'a Network,
}

impl HopQuoter for DexQuoter<'_> {
    fn quote_hop<'a>(&'a self, hop: &'a Hop, amount: SwapAmount) -> Reading<'a, HopQuote> {
        match self.dex.protocol(hop.family) {
            Ok(protocol) => protocol.quote_hop(self.states, self.network, hop, amount),
            Err(error) => Box::pin(std::future::ready(Err(error))),
        }
    }

    fn buys_forward(&self, routes: &[&Route], family: Family) -> Result<bool, ConnectorError> {
        Ok(self.dex.router_for_order(routes)?.buys_forward(family))
    }
}

/// What an address says of itself as a pool: its two tokens (V2 pairs and V3 pools both answer) and its fee
/// tier (V3 pools only); `None` when it does not answer as a pool.
pub async fn pool_identity(
    network: &Network,
    address: Address,
) -> Result<Option<(Address, Address, Option<u32>)>, ConnectorError> {
    let calls = [
        IUniswapV3Pool::token0Call {}.abi_encode(),
        IUniswapV3Pool::token1Call {}.abi_encode(),
        IUniswapV3Pool::feeCall {}.abi_encode(),
    ]
    .into_iter()
    .map(|data| (address, Bytes::from(data)))
    .collect();
    let results = chains::multicall::multicall(network, calls, None).await?;
    let token = |i: usize| results[i].as_ref().and_then(|d| IUniswapV3Pool::token0Call::abi_decode_returns(d).ok());
    let fee = results[2].as_ref().and_then(|d| IUniswapV3Pool::feeCall::abi_decode_returns(d).ok());
    Ok(token(0).zip(token(1)).map(|(token0, token1)| (token0, token1, fee.map(|fee| fee.to::<u32>()))))
}

#[cfg(test)]
mod tests {
    use super::*;

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
