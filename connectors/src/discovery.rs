//! Pools found on-chain, for pairs no list names: the DEX's factories say which of its pools exist (V2
//! `getPair`, V3 `getPool` for every fee tier), every pair asked in one Multicall3 round trip, and each answer
//! (none included) kept for the block it was read at, so a warm quote asks the node nothing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use alloy::primitives::{Address, Bytes};
use alloy::sol_types::SolCall;
use chains::network::Network;

use crate::dex::Dex;
use crate::error::ConnectorError;
use crate::v2::{IUniswapV2Factory, sort_tokens};
use crate::v3::{IUniswapV3Factory, IUniswapV3Pool};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolKind {
    /// A V2 pair.
    Amm,
    /// A V3 pool.
    Clmm,
}

/// A pool a factory names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FoundPool {
    pub kind: PoolKind,
    pub address: Address,
    pub token0: Address,
    pub token1: Address,
    /// V3 fee in hundredths of a basis point; 0 for a V2 pair.
    pub fee: u32,
}

/// Network instance, DEX, and the pair's tokens in order.
type PairKey = (u64, String, Address, Address);

/// Pairs remembered at most: past this, those read before the latest block are dropped (clients name tokens,
/// so the set must not grow with what they send).
const CAPACITY: usize = 4096;

/// The pools of one pair, and the block they were read at.
type Remembered = (u64, Arc<Vec<FoundPool>>);

#[derive(Default)]
pub struct Discovery {
    found: Mutex<HashMap<PairKey, Remembered>>,
}

impl Discovery {
    /// The pools `dex` has for each of `pairs` as of the latest block.
    pub async fn pools(
        &self,
        network: &Network,
        dex: &Dex,
        pairs: &[(Address, Address)],
    ) -> Result<Vec<FoundPool>, ConnectorError> {
        let latest = network.latest_block().await?;
        let key = |(a, b): (Address, Address)| {
            let (token0, token1) = sort_tokens(a, b);
            (network.instance(), dex.name.clone(), token0, token1)
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
            let (token0, token1) = (*token0, *token1);
            if let Some(v2) = &dex.v2 {
                let call = IUniswapV2Factory::getPairCall { tokenA: token0, tokenB: token1 };
                calls.push((v2.factory, Bytes::from(call.abi_encode())));
                expected.push((PoolKind::Amm, token0, token1, 0));
            }
            for tier in dex.v3.iter().flat_map(|v3| v3.fee_tiers.iter().map(move |tier| (v3, tier))) {
                let (v3, tier) = tier;
                let fee = alloy::primitives::aliases::U24::from(tier.fee);
                let call = IUniswapV3Factory::getPoolCall { tokenA: token0, tokenB: token1, fee };
                calls.push((v3.factory, Bytes::from(call.abi_encode())));
                expected.push((PoolKind::Clmm, token0, token1, tier.fee));
            }
        }
        let answers = chains::erc20::multicall(network, calls, Some(latest)).await?;
        if answers.len() != expected.len() {
            return Err(ConnectorError::Chain(chains::error::ChainError::Node(format!(
                "Multicall3 answered {} of {} factory calls",
                answers.len(),
                expected.len()
            ))));
        }
        let mut by_pair: HashMap<(Address, Address), Vec<FoundPool>> = HashMap::new();
        for ((kind, token0, token1, fee), answer) in expected.into_iter().zip(answers) {
            let address = answer.as_deref().and_then(|data| match kind {
                PoolKind::Amm => IUniswapV2Factory::getPairCall::abi_decode_returns(data).ok(),
                PoolKind::Clmm => IUniswapV3Factory::getPoolCall::abi_decode_returns(data).ok(),
            });
            let pools = by_pair.entry((token0, token1)).or_default();
            if let Some(address) = address.filter(|address| !address.is_zero()) {
                pools.push(FoundPool { kind, address, token0, token1, fee });
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
    let results = chains::erc20::multicall(network, calls, None).await?;
    let token = |i: usize| results[i].as_ref().and_then(|d| IUniswapV3Pool::token0Call::abi_decode_returns(d).ok());
    let fee = results[2].as_ref().and_then(|d| IUniswapV3Pool::feeCall::abi_decode_returns(d).ok());
    Ok(token(0).zip(token(1)).map(|(token0, token1)| (token0, token1, fee.map(|fee| fee.to::<u32>()))))
}
