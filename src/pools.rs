//! The pools a connector trades through on a network: its config list plus those added through the API.

use alloy::primitives::Address;
use connectors::core::family::TradingType;
use connectors::core::pool_address::PoolAddress;
use connectors::core::route::PoolRef;
use connectors::core::route::sort_tokens;
use connectors::dex::Dex;

use crate::config::{Config, ListedPool};

pub struct PoolBook {
    pub pools: Vec<ListedPool>,
    /// The same pools as the route search takes them (built once per list, not per quote).
    pub routable: Vec<PoolRef>,
}

impl PoolBook {
    /// The config's list for `connector` on `network`, then the pools added through the API; an entry added
    /// through the API for a pool the list has (re-added with other symbols or fee) takes its place.
    pub fn build(config: &Config, added: &[ListedPool], connector: &str, network: &str) -> PoolBook {
        let mut pools: Vec<ListedPool> =
            config.pool_lists.get(connector).into_iter().flatten().filter(|p| p.network == network).cloned().collect();
        for pool in added {
            // Saved under the rehearsal's name, if any (`Config::saved_under`); shown under the network's.
            let pool = ListedPool { network: network.to_string(), ..pool.clone() };
            match pools.iter_mut().find(|p| p.address == pool.address && p.kind == pool.kind) {
                Some(listed) => *listed = pool,
                None => pools.push(pool),
            }
        }
        let routable = pools.iter().filter_map(routable).collect();
        PoolBook { pools, routable }
    }

    /// Pools of `kind` (`amm`, `clmm`, or any when `None`) holding both tokens.
    pub fn for_pair(&self, kind: Option<TradingType>, a: Address, b: Address) -> Vec<&ListedPool> {
        self.pools
            .iter()
            .filter(|p| kind.is_none_or(|k| p.kind == k))
            .filter(|p| {
                (p.base_token_address == a && p.quote_token_address == b)
                    || (p.base_token_address == b && p.quote_token_address == a)
            })
            .collect()
    }

    pub fn by_address(&self, address: PoolAddress) -> Option<&ListedPool> {
        self.pools.iter().find(|p| p.address == address)
    }
}

/// A listed pool as the route search takes it.
fn routable(pool: &ListedPool) -> Option<PoolRef> {
    let family = Dex::family_of(pool.kind, pool.address)?;
    let (token0, token1) = sort_tokens(pool.base_token_address, pool.quote_token_address);
    Some(PoolRef { family, address: pool.address, token0, token1, fee: family.fee_tier(pool.fee_pct) })
}
