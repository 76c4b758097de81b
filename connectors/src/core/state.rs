//! Pool state cached per block: a quote reads the chain only when a new block has arrived since the pool was
//! last read, and concurrent quotes of one stale pool share one read. The cache names no family: each family's
//! state is a type of its own, cached apart.

use alloy::primitives::map::HashMap;
use std::any::{Any, TypeId};
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use chains::network::Network;

use super::error::ConnectorError;
use super::pool_address::PoolAddress;

/// Pool state read at one block.
pub trait AtBlock {
    fn block(&self) -> u64;
}

/// A pool by the network instance it was read through (see `Network::instance`) and its address.
/// A pool's state is kept per network instance and per reorg generation: state read from a block a reorg replaced
/// is never served again.
type PoolKey = (u64, u64, PoolAddress);

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

impl<T> Default for Cache<T> {
    fn default() -> Self {
        Cache { slots: Mutex::default() }
    }
}

impl<T: AtBlock> Cache<T> {
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

/// The pool states of every network, each fresh as of the latest block seen: one cache per kind of state (each
/// family's), and any other per-block memory a layer keeps (pools found on-chain), each made when first asked for.
#[derive(Default)]
pub struct PoolStates {
    caches: RwLock<Vec<(TypeId, Arc<dyn Any + Send + Sync>)>>,
    stats: CacheStats,
}

impl PoolStates {
    pub fn stats(&self) -> &CacheStats {
        &self.stats
    }

    /// The state of the pool at `address` as of the latest block: cached, or read by `load` at that block (which
    /// it is given). What `load` refuses is not kept.
    pub async fn get<T, F, Fut>(
        &self,
        network: &Network,
        address: PoolAddress,
        load: F,
    ) -> Result<Arc<T>, ConnectorError>
    where
        T: AtBlock + Send + Sync + 'static,
        F: FnOnce(u64) -> Fut,
        Fut: Future<Output = Result<T, ConnectorError>>,
    {
        let latest = network.latest_block().await?;
        let cache = self.shared::<Cache<T>>();
        cache.get(&self.stats, (network.instance(), network.reorgs(), address), latest, || load(latest)).await
    }

    /// The one `T` kept here, made when first asked for.
    pub fn shared<T: Default + Send + Sync + 'static>(&self) -> Arc<T> {
        let kind = TypeId::of::<T>();
        let found = |caches: &[(TypeId, Arc<dyn Any + Send + Sync>)]| {
            caches.iter().find(|(of, _)| *of == kind).map(|(_, cache)| cache.clone())
        };
        let held = found(&self.caches.read().expect("pool state caches"));
        let cache = match held {
            Some(cache) => cache,
            None => {
                let mut caches = self.caches.write().expect("pool state caches");
                match found(&caches) {
                    Some(cache) => cache,
                    None => {
                        let cache: Arc<dyn Any + Send + Sync> = Arc::new(T::default());
                        caches.push((kind, cache.clone()));
                        cache
                    }
                }
            }
        };
        cache.downcast::<T>().expect("a cache is filed under its own type")
    }
}
