//! Token lists, `tokens/ethereum/<network>.json`: the tokens a network knows by symbol.

use std::collections::BTreeMap;
use std::path::Path;

use alloy::primitives::Address;
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

pub(super) fn load<'a>(
    dir: &Path,
    networks: impl Iterator<Item = &'a String>,
) -> Result<BTreeMap<String, Vec<ListedToken>>, ConfigError> {
    let mut lists = BTreeMap::new();
    for network in networks {
        let relative = format!("tokens/{CHAIN}/{network}.json");
        let path = dir.join(&relative);
        let tokens = match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str::<Vec<ListedToken>>(&text).map_err(|e| ConfigError::Invalid {
                namespace: relative.clone(),
                path: format!("line {}", e.line()),
                reason: format!("{e} (each entry needs name, symbol, address and decimals)"),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => vec![],
            Err(source) => return Err(ConfigError::Read { path, source }),
        };
        lists.insert(network.clone(), tokens);
    }
    Ok(lists)
}
