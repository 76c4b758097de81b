use connectors::core::family::TradingType;
use connectors::core::pool_address::PoolAddressError;
use sqlx::Row;

use super::{Storage, StorageError, now_ms};
use crate::config::ListedPool;

impl Storage {
    /// Lists a pool, or updates its entry (symbols, which token is the base, fee) when it is listed already.
    pub async fn upsert_pool(&self, connector: &str, pool: &ListedPool) -> Result<(), StorageError> {
        sqlx::query(
            "INSERT INTO pools (connector, network, kind, address, base_symbol, quote_symbol, base_address, quote_address, fee_pct, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT (connector, network, kind, address) DO UPDATE SET base_symbol = excluded.base_symbol,
             quote_symbol = excluded.quote_symbol, base_address = excluded.base_address,
             quote_address = excluded.quote_address, fee_pct = excluded.fee_pct",
        )
        .bind(connector)
        .bind(&pool.network)
        .bind(pool.kind.as_str())
        .bind(pool.address.to_string())
        .bind(&pool.base_symbol)
        .bind(&pool.quote_symbol)
        .bind(pool.base_token_address.to_checksum(None))
        .bind(pool.quote_token_address.to_checksum(None))
        .bind(pool.fee_pct.to_string())
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        self.lists.forget(&self.lists.pools, &(connector.to_string(), pool.network.clone()));
        Ok(())
    }

    pub async fn pools(&self, connector: &str, network: &str) -> Result<std::sync::Arc<Vec<ListedPool>>, StorageError> {
        let key = (connector.to_string(), network.to_string());
        if let Some(pools) = super::cached(&self.lists.pools, &key) {
            return Ok(pools);
        }
        // Boxed: a database read's future is kilobytes, and every request awaiting this one would carry it.
        Box::pin(self.read_pools(key)).await
    }

    async fn read_pools(&self, key: (String, String)) -> Result<std::sync::Arc<Vec<ListedPool>>, StorageError> {
        let (connector, network) = (key.0.as_str(), key.1.as_str());
        let since = self.lists.epoch();
        let rows = sqlx::query(
            "SELECT kind, network, address, base_symbol, quote_symbol, base_address, quote_address, fee_pct
             FROM pools WHERE connector = $1 AND network = $2 ORDER BY created_at",
        )
        .bind(connector)
        .bind(network)
        .fetch_all(&self.pool)
        .await?;
        let decode = |e: String| StorageError::Database(sqlx::Error::Decode(e.into()));
        rows.iter()
            .map(|row| {
                let address = |column: &str| -> Result<alloy::primitives::Address, StorageError> {
                    row.try_get::<String, _>(column)?
                        .parse()
                        .map_err(|e: alloy::hex::FromHexError| decode(e.to_string()))
                };
                Ok(ListedPool {
                    kind: {
                        let kind = row.try_get::<String, _>("kind")?;
                        TradingType::parse(&kind).ok_or_else(|| decode(format!("unknown pool type '{kind}'")))?
                    },
                    network: row.try_get("network")?,
                    base_symbol: row.try_get("base_symbol")?,
                    quote_symbol: row.try_get("quote_symbol")?,
                    address: row
                        .try_get::<String, _>("address")?
                        .parse()
                        .map_err(|e: PoolAddressError| decode(e.to_string()))?,
                    base_token_address: address("base_address")?,
                    quote_token_address: address("quote_address")?,
                    fee_pct: row
                        .try_get::<String, _>("fee_pct")?
                        .parse()
                        .map_err(|e: std::num::ParseFloatError| decode(e.to_string()))?,
                })
            })
            .collect::<Result<Vec<_>, StorageError>>()
            .map(|pools| self.lists.keep(&self.lists.pools, key, pools, since))
    }

    pub async fn delete_pool(&self, connector: &str, network: &str, address: &str) -> Result<bool, StorageError> {
        let result = sqlx::query("DELETE FROM pools WHERE connector = $1 AND network = $2 AND address = $3")
            .bind(connector)
            .bind(network)
            .bind(address)
            .execute(&self.pool)
            .await?;
        self.lists.forget(&self.lists.pools, &(connector.to_string(), network.to_string()));
        Ok(result.rows_affected() > 0)
    }
}
