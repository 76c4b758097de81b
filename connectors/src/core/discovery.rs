//! Pools found on-chain, for pairs no list names: the DEX's factories say which of its pools exist (V2
//! `getPair`, V3 `getPool` for every fee tier), every pair asked in one Multicall3 round trip, and each answer
//! (none included) kept for the block it was read at, so a warm quote asks the node nothing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use alloy::primitives::Address;
use chains::network::Network;

use super::capability::Discover;
use super::error::ConnectorError;
use super::route::{PoolRef, sort_tokens};

/// Network instance, DEX, and the pair's tokens in order.
type PairKey = (u64, String, Address, Address);

/// Pairs remembered at most: past this, those read before the latest block are dropped (clients name tokens,
/// so the set must not grow with what they send).
const CAPACITY: usize = 4096;

/// The pools of one pair, and the block they were read at.
type Remembered = (u64, Arc<Vec<PoolRef>>);

#[derive(Default)]
pub struct Discovery {
    found: Mutex<HashMap<PairKey, Remembered>>,
}

impl Discovery {
    /// The pools the DEX named `dex` has in its families `protocols` for each of `pairs`, as of the latest block.
    pub async fn pools(
        &self,
        network: &Network,
        (dex, protocols): (&str, &[&dyn Discover]),
        pairs: &[(Address, Address)],
    ) -> Result<Vec<PoolRef>, ConnectorError> {
        let latest = network.latest_block().await?;
        let key = |(a, b): (Address, Address)| {
            let (token0, token1) = sort_tokens(a, b);
            (network.instance(), dex.to_string(), token0, token1)
        };
        let mut keys: Vec<PairKey> = pairs.iter().map(|&pair| key(pair)).filter(|key| key.2 != key.3).collect();
        keys.sort();
        keys.dedup();
        let mut found = Vec::new();
        let mut asked: Vec<PairKey> = Vec::new();
        {
            let remembered = self.found.lock().expect("discovery lock");
            for key in keys {
                match remembered.get(&key) {
                    Some((block, pools)) if *block >= latest => found.extend(pools.iter().copied()),
                    _ => asked.push(key),
                }
            }
        }
        if asked.is_empty() {
            return Ok(found);
        }
        let mut calls = Vec::new();
        let mut expected = Vec::new();
        for (_, _, token0, token1) in &asked {
            for &protocol in protocols {
                for lookup in protocol.lookups(*token0, *token1) {
                    calls.push((lookup.contract, lookup.call.clone()));
                    expected.push((protocol, *token0, *token1, lookup));
                }
            }
        }
        let answers = chains::multicall::multicall(network, calls, Some(latest)).await?;
        if answers.len() != expected.len() {
            return Err(ConnectorError::Chain(chains::error::ChainError::Node(format!(
                "Multicall3 answered {} of {} factory calls",
                answers.len(),
                expected.len()
            ))));
        }
        let mut by_pair: HashMap<(Address, Address), Vec<PoolRef>> = HashMap::new();
        for ((protocol, token0, token1, lookup), answer) in expected.into_iter().zip(answers) {
            let address = answer.as_deref().and_then(|data| protocol.found(&lookup, data));
            let pools = by_pair.entry((token0, token1)).or_default();
            if let Some(address) = address {
                pools.push(PoolRef { family: protocol.family(), address, token0, token1, fee: lookup.fee });
            }
        }
        let mut remembered = self.found.lock().expect("discovery lock");
        if remembered.len() + asked.len() > CAPACITY {
            remembered.retain(|_, (block, _)| *block >= latest);
            if remembered.len() + asked.len() > CAPACITY {
                remembered.clear();
            }
        }
        for key in asked {
            let pools = by_pair.remove(&(key.2, key.3)).unwrap_or_default();
            found.extend(pools.iter().copied());
            // A slower request read at an older block does not overwrite a newer answer.
            if remembered.get(&key).is_none_or(|(block, _)| *block < latest) {
                remembered.insert(key, (latest, Arc::new(pools)));
            }
        }
        Ok(found)
    }
}
