//! Token lists (`tokens/ethereum/<network>.json`: the tokens a network knows by symbol) and pool lists
//! (`pools/<connector>.json`: the pools a connector trades through, per network).

use std::collections::BTreeMap;
use std::path::Path;

use alloy::primitives::Address;
use connectors::core::family::TradingType;
use serde::{Deserialize, Serialize};

use super::{CHAIN, ConfigError};

/// One entry of a token list, as Gateway writes them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListedToken {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain_id: Option<u64>,
    pub name: String,
    pub symbol: String,
    pub address: Address,
    pub decimals: u8,
}

/// One entry of a pool list, as Gateway writes them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListedPool {
    /// `amm` or `clmm`.
    #[serde(rename = "type")]
    pub kind: TradingType,
    pub network: String,
    pub base_symbol: String,
    pub quote_symbol: String,
    /// The pool's contract, or a V4 pool's id.
    pub address: connectors::core::pool_address::PoolAddress,
    pub base_token_address: Address,
    pub quote_token_address: Address,
    pub fee_pct: f64,
}

pub(super) fn load_pools(dir: &Path, connectors: &[String]) -> Result<BTreeMap<String, Vec<ListedPool>>, ConfigError> {
    let mut lists = BTreeMap::new();
    for connector in connectors {
        let relative = format!("pools/{connector}.json");
        let pools = read_list::<ListedPool>(
            dir,
            &relative,
            "each entry needs type, network, baseSymbol, quoteSymbol, address, baseTokenAddress, quoteTokenAddress and feePct",
        )?;
        if let Some(bad) = pools.iter().find(|p| !p.kind.is_pool_type()) {
            return Err(ConfigError::Invalid {
                namespace: relative,
                path: bad.address.to_string(),
                reason: format!("type must be amm or clmm, not '{}'", bad.kind),
            });
        }
        lists.insert(connector.to_string(), pools);
    }
    Ok(lists)
}

fn read_list<T: for<'de> Deserialize<'de>>(dir: &Path, relative: &str, shape: &str) -> Result<Vec<T>, ConfigError> {
    let path = dir.join(relative);
    match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str::<Vec<T>>(&text).map_err(|e| ConfigError::Invalid {
            namespace: relative.to_string(),
            path: format!("line {}", e.line()),
            reason: format!("{e} ({shape})"),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(vec![]),
        Err(source) => Err(ConfigError::Read { path, source }),
    }
}

pub(super) fn load<'a>(
    dir: &Path,
    networks: impl Iterator<Item = &'a String>,
) -> Result<BTreeMap<String, Vec<ListedToken>>, ConfigError> {
    let mut lists = BTreeMap::new();
    for network in networks {
        let relative = format!("tokens/{CHAIN}/{network}.json");
        lists
            .insert(network.clone(), read_list(dir, &relative, "each entry needs name, symbol, address and decimals")?);
    }
    Ok(lists)
}
