//! The description of a Uniswap-family DEX: per network, where its contracts are and the constants that make
//! its pools what they are. Descriptions are data (`deployments.json`, plus any the user adds), so adding a
//! fork is adding a description, not code.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::{v2::V2Deployment, v3::V3Deployment, v4::V4Deployment};

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

impl DexSpec {
    pub fn parse(json: &str) -> Result<DexSpec, String> {
        let spec: DexSpec = serde_json::from_str(json).map_err(|e| e.to_string())?;
        if spec.name.is_empty() || !spec.name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(format!("name '{}' must be lowercase letters, digits and dashes", spec.name));
        }
        for (network, deployments) in &spec.networks {
            if deployments.amm.is_none() && deployments.clmm.is_none() && deployments.v4.is_none() {
                return Err(format!("network {network} has none of amm, clmm and v4"));
            }
            if let Some(clmm) = &deployments.clmm
                && clmm.fee_tiers.is_empty()
            {
                return Err(format!("network {network}: clmm needs feeTiers"));
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
    pub fn with(mut self, spec: DexSpec) -> Result<Registry, String> {
        if self.specs.iter().any(|s| s.name == spec.name) {
            return Err(format!("a connector named '{}' already exists", spec.name));
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
    pub fn trading_types(&self, connector: &str) -> Vec<&'static str> {
        let Some(spec) = self.specs.iter().find(|s| s.name == connector) else { return vec![] };
        let mut types = vec!["router"];
        if spec.networks.values().any(|d| d.amm.is_some()) {
            types.push("amm");
        }
        if spec.networks.values().any(|d| d.clmm.is_some() || d.v4.is_some()) {
            types.push("clmm");
        }
        types
    }
}
