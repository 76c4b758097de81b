//! The description of a Uniswap-family DEX on one network: where its contracts are and the constants that
//! make its pools what they are. Adding a fork is adding one of these.

use crate::{v2::V2Deployment, v3::V3Deployment};

/// One DEX on one network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dex {
    /// Connector name as the API spells it (`uniswap`, `pancakeswap`).
    pub name: &'static str,
    /// Constant-product pools (`amm`), when the DEX has them on this network.
    pub v2: Option<V2Deployment>,
    /// Concentrated-liquidity pools (`clmm`), when the DEX has them on this network.
    pub v3: Option<V3Deployment>,
}

/// Every DEX description the gateway knows, by connector name and network name.
pub fn find(connector: &str, network: &str) -> Option<Dex> {
    match connector {
        "uniswap" => crate::uniswap::on(network),
        "pancakeswap" => crate::pancakeswap::on(network),
        _ => None,
    }
}
