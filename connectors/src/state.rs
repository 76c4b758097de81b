//! Pool state cached per block: a quote reads the chain only when a new block has arrived since the pool was
//! last read, and concurrent quotes of one stale pool share one read.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use alloy::primitives::{Address, Bytes, U256};
use alloy::sol_types::SolCall;
use chains::multicall::multicall;
use chains::network::Network;

use crate::dex::Dex;
use crate::error::ConnectorError;
use crate::family::Family;
use crate::pool_address::PoolAddress;
use crate::v2::{IUniswapV2Pair, V2Deployment};
use crate::v3::V3Deployment;
use crate::v3::pool::{Curve, V3PoolState};
use crate::v4::V4Deployment;
use crate::v4::pool::V4PoolState;

/// A V2 pair's reserves at one block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V2PairState {
    pub address: Address,
    pub token0: Address,
    pub token1: Address,
    pub reserve0: U256,
    pub reserve1: U256,
    pub block: u64,
}

impl V2PairState {
    pub async fn load(network: &Network, address: Address, block: u64) -> Result<V2PairState, ConnectorError> {
        let calls = [
            IUniswapV2Pair::token0Call {}.abi_encode(),
            IUniswapV2Pair::token1Call {}.abi_encode(),
            IUniswapV2Pair::getReservesCall {}.abi_encode(),
        ]
        .into_iter()
        .map(|data| (address, Bytes::from(data)))
        .collect();
        let results = multicall(network, calls, Some(block)).await?;
        let get = |i: usize| results[i].as_ref().ok_or(ConnectorError::NotAPool(address.into()));
        let not_a_pair = |_| ConnectorError::NotAPool(address.into());
        let reserves = IUniswapV2Pair::getReservesCall::abi_decode_returns(get(2)?).map_err(not_a_pair)?;
        Ok(V2PairState {
            address,
            token0: IUniswapV2Pair::token0Call::abi_decode_returns(get(0)?).map_err(not_a_pair)?,
            token1: IUniswapV2Pair::token1Call::abi_decode_returns(get(1)?).map_err(not_a_pair)?,
            reserve0: U256::from(reserves.reserve0),
            reserve1: U256::from(reserves.reserve1),
            block,
        })
    }

    /// The reserves as (of `token`, of the other token).
    pub fn reserves_for(&self, token: Address) -> Result<(U256, U256), ConnectorError> {
        if token == self.token0 {
            Ok((self.reserve0, self.reserve1))
        } else if token == self.token1 {
            Ok((self.reserve1, self.reserve0))
        } else {
            Err(ConnectorError::invalid("token", format!("{token} is not a token of pair {}", self.address)))
        }
    }
}

trait AtBlock {
    fn block(&self) -> u64;
}

impl AtBlock for V2PairState {
    fn block(&self) -> u64 {
        self.block
    }
}

impl AtBlock for V3PoolState {
    fn block(&self) -> u64 {
        self.block
    }
}

impl AtBlock for V4PoolState {
    fn block(&self) -> u64 {
        self.block
    }
}

/// A pool by the network instance it was read through (see `Network::instance`) and its address.
type PoolKey = (u64, PoolAddress);

/// One pool's cached state: read without waiting while it is fresh; `loading` makes concurrent quotes of a
/// stale pool share one read.
struct Slot<T> {
    state: Mutex<Option<Arc<T>>>,
    loading: tokio::sync::Mutex<()>,
}

impl<T> Default for Slot<T> {
    fn default() -> Self {
        Slot { state: Mutex::new(None), loading: tokio::sync::Mutex::new(()) }
    }
}

impl<T: AtBlock> Slot<T> {
    fn fresh(&self, latest: u64) -> Option<Arc<T>> {
        self.state.lock().expect("pool state").as_ref().filter(|state| state.block() >= latest).cloned()
    }
}

fn count(hit: bool) {
    static COUNTERS: std::sync::LazyLock<[metrics::Counter; 2]> = std::sync::LazyLock::new(|| {
        [
            metrics::counter!("gateway_quote_cache_total", "result" => "miss"),
            metrics::counter!("gateway_quote_cache_total", "result" => "hit"),
        ]
    });
    COUNTERS[usize::from(hit)].increment(1);
}

struct Cache<T> {
    slots: Mutex<HashMap<PoolKey, Arc<Slot<T>>>>,
}

/// Pools cached per kind, at most: past this the slots are dropped and read again as they are asked for (clients
/// name pools, so the set must not grow with what they send).
const CAPACITY: usize = 8192;

impl<T: AtBlock> Cache<T> {
    fn new() -> Self {
        Cache { slots: Mutex::default() }
    }

    async fn get<F, Fut>(
        &self,
        stats: &CacheStats,
        key: PoolKey,
        latest: u64,
        load: F,
    ) -> Result<Arc<T>, ConnectorError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, ConnectorError>>,
    {
        let slot = {
            let mut slots = self.slots.lock().expect("cache lock");
            if slots.len() >= CAPACITY && !slots.contains_key(&key) {
                slots.retain(|_, slot| Arc::strong_count(slot) > 1);
            }
            slots.entry(key).or_default().clone()
        };
        if let Some(state) = slot.fresh(latest) {
            stats.hits.fetch_add(1, Ordering::Relaxed);
            count(true);
            return Ok(state);
        }
        let _loading = slot.loading.lock().await;
        // Another quote may have read it while this one waited.
        if let Some(state) = slot.fresh(latest) {
            stats.hits.fetch_add(1, Ordering::Relaxed);
            count(true);
            return Ok(state);
        }
        stats.misses.fetch_add(1, Ordering::Relaxed);
        count(false);
        let state = match load().await {
            Ok(state) => Arc::new(state),
            Err(error) => {
                // Nothing is kept for what is not a pool (or could not be read).
                let mut slots = self.slots.lock().expect("cache lock");
                if slot.state.lock().expect("pool state").is_none()
                    && slots.get(&key).is_some_and(|held| Arc::ptr_eq(held, &slot))
                {
                    slots.remove(&key);
                }
                return Err(error);
            }
        };
        *slot.state.lock().expect("pool state") = Some(state.clone());
        Ok(state)
    }
}

#[derive(Debug, Default)]
pub struct CacheStats {
    hits: AtomicU64,
    misses: AtomicU64,
}

impl CacheStats {
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    pub fn misses(&self) -> u64 {
        self.misses.load(Ordering::Relaxed)
    }
}

/// The pool states of every network, each fresh as of the latest block seen.
pub struct PoolStates {
    v2: Cache<V2PairState>,
    v3: Cache<V3PoolState>,
    v4: Cache<V4PoolState>,
    stats: CacheStats,
    discovery: crate::discovery::Discovery,
}

impl Default for PoolStates {
    fn default() -> Self {
        PoolStates {
            v2: Cache::new(),
            v3: Cache::new(),
            v4: Cache::new(),
            stats: CacheStats::default(),
            discovery: Default::default(),
        }
    }
}

impl PoolStates {
    /// Pools found through the factories, per pair and block.
    pub fn discovery(&self) -> &crate::discovery::Discovery {
        &self.discovery
    }

    pub fn stats(&self) -> &CacheStats {
        &self.stats
    }

    /// A pair of `v2`'s factory: a contract that answers like a pair but is not at the address the factory
    /// gives its tokens is not one (it could set the price a swap is bounded by).
    pub async fn v2_pair(
        &self,
        network: &Network,
        v2: &V2Deployment,
        address: Address,
    ) -> Result<Arc<V2PairState>, ConnectorError> {
        let latest = network.latest_block().await?;
        let load = || async move {
            let pair = V2PairState::load(network, address, latest).await?;
            match v2.pair_address(pair.token0, pair.token1) == address {
                true => Ok(pair),
                false => Err(ConnectorError::NotAPool(address.into())),
            }
        };
        self.v2.get(&self.stats, (network.instance(), address.into()), latest, load).await
    }

    /// A pool of `v3`'s factory, checked the same way: its tokens and fee must give its address.
    pub async fn v3_pool(
        &self,
        network: &Network,
        v3: &V3Deployment,
        address: Address,
    ) -> Result<Arc<V3PoolState>, ConnectorError> {
        let latest = network.latest_block().await?;
        let load = || async move {
            let pool = V3PoolState::load(network, address, latest).await?;
            match v3.pool_address(pool.token0, pool.token1, pool.fee) == address {
                true => Ok(pool),
                false => Err(ConnectorError::NotAPool(address.into())),
            }
        };
        self.v3.get(&self.stats, (network.instance(), address.into()), latest, load).await
    }

    /// A pool of `v4`'s PoolManager: the lens checks its key gives its id.
    pub async fn v4_pool(
        &self,
        network: &Network,
        v4: &V4Deployment,
        id: alloy::primitives::B256,
    ) -> Result<Arc<V4PoolState>, ConnectorError> {
        let latest = network.latest_block().await?;
        let load = || V4PoolState::load(network, v4, id, latest);
        self.v4.get(&self.stats, (network.instance(), id.into()), latest, load).await
    }

    /// The concentrated-liquidity pool at `address`: a V3 pool's contract, or a V4 pool's id.
    pub async fn clmm_pool(
        &self,
        network: &Network,
        dex: &Dex,
        address: PoolAddress,
    ) -> Result<ClmmPool, ConnectorError> {
        let not_deployed = |family| ConnectorError::NotDeployed { connector: dex.name.clone(), family };
        match address {
            PoolAddress::Contract(contract) => {
                let v3 = dex.v3.as_ref().ok_or_else(|| not_deployed(Family::V3))?;
                Ok(ClmmPool::V3(self.v3_pool(network, v3, contract).await?))
            }
            PoolAddress::Id(id) => {
                let v4 = dex.v4.as_ref().ok_or_else(|| not_deployed(Family::V4))?;
                Ok(ClmmPool::V4(self.v4_pool(network, v4, id).await?))
            }
        }
    }
}

/// A concentrated-liquidity pool of either family, as the `clmm` routes trade it.
#[derive(Debug, Clone)]
pub enum ClmmPool {
    V3(Arc<V3PoolState>),
    V4(Arc<V4PoolState>),
}

/// The pool's price, liquidity and ticks.
impl std::ops::Deref for ClmmPool {
    type Target = Curve;

    fn deref(&self) -> &Curve {
        match self {
            ClmmPool::V3(pool) => &pool.curve,
            ClmmPool::V4(pool) => &pool.curve,
        }
    }
}

impl ClmmPool {
    pub fn family(&self) -> Family {
        match self {
            ClmmPool::V3(_) => Family::V3,
            ClmmPool::V4(_) => Family::V4,
        }
    }

    pub fn address(&self) -> PoolAddress {
        match self {
            ClmmPool::V3(pool) => pool.address.into(),
            ClmmPool::V4(pool) => pool.id.into(),
        }
    }

    /// Its two tokens in address order (V4: the zero address is native ETH).
    pub fn tokens(&self) -> (Address, Address) {
        match self {
            ClmmPool::V3(pool) => (pool.token0, pool.token1),
            ClmmPool::V4(pool) => (pool.key.currency0, pool.key.currency1),
        }
    }

    pub fn has_token(&self, token: Address) -> bool {
        let (token0, token1) = self.tokens();
        token == token0 || token == token1
    }

    /// The fee tier it is known by (hundredths of a basis point), as a route's hop names it.
    pub fn tier(&self) -> u32 {
        match self {
            ClmmPool::V3(pool) => pool.fee,
            ClmmPool::V4(pool) => pool.key.fee.to::<u32>(),
        }
    }

    pub fn block(&self) -> u64 {
        match self {
            ClmmPool::V3(pool) => pool.block,
            ClmmPool::V4(pool) => pool.block,
        }
    }
}
