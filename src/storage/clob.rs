//! Orders and fills of the order-book connectors, and where each book was last brought up to the chain.

use std::collections::HashMap;

use alloy::primitives::{Address, B256, U256};
use connectors::Side;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Storage, StorageError, duplicate_as};

/// Where a book was last synced to: the block, and what each (maker, token) with open orders could pay then
/// (the smaller of balance and allowance to the venue).
#[derive(Debug, Default)]
pub struct BookSync {
    pub block: u64,
    pub backing: HashMap<(Address, Address), U256>,
}

/// An order as the gateway keeps it: what was asked, what the venue last said of it, and the signed order.
#[derive(Debug, Clone)]
pub struct StoredOrder {
    pub id: B256,
    pub connector: String,
    pub network: String,
    pub market: String,
    pub maker: Address,
    pub side: Side,
    pub order_type: String,
    /// Raw quote units per whole base.
    pub price: U256,
    /// Raw base units.
    pub amount: U256,
    pub filled: U256,
    pub fillable: U256,
    pub status: String,
    pub client_order_id: String,
    pub venue_order: String,
    /// 65 bytes, hex.
    pub signature: String,
    pub expiry: i64,
    pub created_at: i64,
}

/// A fill as read from the venue's logs.
#[derive(Debug, Clone)]
pub struct StoredFill {
    pub tx_hash: B256,
    pub log_index: u64,
    pub order_id: B256,
    pub market: String,
    pub taker: Address,
    pub base: U256,
    pub quote: U256,
    pub block: u64,
    pub filled_at: i64,
}

macro_rules! order_columns {
    () => {
        "id, connector, network, market, maker, side, order_type, price, amount, filled, fillable, status, \
         client_order_id, venue_order, signature, expiry, created_at"
    };
}

fn decode_error(e: impl std::fmt::Display) -> StorageError {
    StorageError::Database(sqlx::Error::Decode(e.to_string().into()))
}

fn parsed<T: std::str::FromStr>(row: &AnyRow, column: &str) -> Result<T, StorageError>
where
    T::Err: std::fmt::Display,
{
    row.try_get::<String, _>(column)?.parse().map_err(|e| decode_error(format!("{column}: {e}")))
}

fn order_of(row: &AnyRow) -> Result<StoredOrder, StorageError> {
    Ok(StoredOrder {
        id: parsed(row, "id")?,
        connector: row.try_get("connector")?,
        network: row.try_get("network")?,
        market: row.try_get("market")?,
        maker: parsed(row, "maker")?,
        side: match row.try_get::<String, _>("side")?.as_str() {
            "BUY" => Side::Buy,
            _ => Side::Sell,
        },
        order_type: row.try_get("order_type")?,
        price: parsed(row, "price")?,
        amount: parsed(row, "amount")?,
        filled: parsed(row, "filled")?,
        fillable: parsed(row, "fillable")?,
        status: row.try_get("status")?,
        client_order_id: row.try_get("client_order_id")?,
        venue_order: row.try_get("venue_order")?,
        signature: row.try_get("signature")?,
        expiry: row.try_get("expiry")?,
        created_at: row.try_get("created_at")?,
    })
}

fn fill_of(row: &AnyRow) -> Result<StoredFill, StorageError> {
    Ok(StoredFill {
        tx_hash: parsed(row, "tx_hash")?,
        log_index: row.try_get::<i64, _>("log_index")? as u64,
        order_id: parsed(row, "order_id")?,
        market: row.try_get("market")?,
        taker: parsed(row, "taker")?,
        base: parsed(row, "base")?,
        quote: parsed(row, "quote")?,
        block: row.try_get::<i64, _>("block")? as u64,
        filled_at: row.try_get("filled_at")?,
    })
}

impl Storage {
    pub async fn insert_clob_order(&self, order: &StoredOrder) -> Result<(), StorageError> {
        sqlx::query(concat!(
            "INSERT INTO clob_orders (",
            order_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"
        ))
        .bind(order.id.to_string())
        .bind(&order.connector)
        .bind(&order.network)
        .bind(&order.market)
        .bind(order.maker.to_checksum(None))
        .bind(order.side.as_str())
        .bind(&order.order_type)
        .bind(order.price.to_string())
        .bind(order.amount.to_string())
        .bind(order.filled.to_string())
        .bind(order.fillable.to_string())
        .bind(&order.status)
        .bind(&order.client_order_id)
        .bind(&order.venue_order)
        .bind(&order.signature)
        .bind(order.expiry)
        .bind(order.created_at)
        .execute(&self.pool)
        .await
        .map_err(duplicate_as(format!("order {} or client order id '{}'", order.id, order.client_order_id)))?;
        Ok(())
    }

    /// Orders of a connector on a network, optionally of one market, maker or status, oldest first.
    pub async fn clob_orders(
        &self,
        connector: &str,
        network: &str,
        market: Option<&str>,
        maker: Option<Address>,
        status: Option<&str>,
    ) -> Result<Vec<StoredOrder>, StorageError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            order_columns!(),
            " FROM clob_orders WHERE connector = $1 AND network = $2
             AND ($3 = '' OR market = $3) AND ($4 = '' OR maker = $4) AND ($5 = '' OR status = $5)
             ORDER BY created_at, id"
        ))
        .bind(connector)
        .bind(network)
        .bind(market.unwrap_or_default())
        .bind(maker.map(|m| m.to_checksum(None)).unwrap_or_default())
        .bind(status.unwrap_or_default())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(order_of).collect()
    }

    /// One order by its id or its client order id.
    pub async fn clob_order(
        &self,
        connector: &str,
        network: &str,
        id: &str,
    ) -> Result<Option<StoredOrder>, StorageError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            order_columns!(),
            " FROM clob_orders WHERE connector = $1 AND network = $2 AND (LOWER(id) = LOWER($3) OR client_order_id = $3)"
        ))
        .bind(connector)
        .bind(network)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(order_of).transpose()
    }

    /// Stores an order's state as read at `block`, unless a later read is already stored (instances sharing
    /// the database may read at different blocks).
    pub async fn update_clob_order_state(
        &self,
        id: B256,
        status: &str,
        filled: U256,
        fillable: U256,
        block: u64,
    ) -> Result<(), StorageError> {
        sqlx::query(
            "UPDATE clob_orders SET status = $1, filled = $2, fillable = $3, state_block = $4
             WHERE id = $5 AND state_block <= $4",
        )
        .bind(status)
        .bind(filled.to_string())
        .bind(fillable.to_string())
        .bind(block as i64)
        .bind(id.to_string())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The orders a sync reads: the open ones, and those whose state was read at `since` or later (a reorg may
    /// still undo what closed them).
    pub async fn clob_orders_to_check(
        &self,
        connector: &str,
        network: &str,
        since: u64,
    ) -> Result<Vec<StoredOrder>, StorageError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            order_columns!(),
            " FROM clob_orders WHERE connector = $1 AND network = $2 AND (status = 'OPEN' OR state_block >= $3)
             ORDER BY created_at, id"
        ))
        .bind(connector)
        .bind(network)
        .bind(since as i64)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(order_of).collect()
    }

    /// Records the fills of blocks `from..=to`, replacing what was stored for them (a reorg may have changed
    /// them), and moves the scan cursor up to `to`.
    pub async fn record_clob_fills(
        &self,
        connector: &str,
        network: &str,
        fills: &[StoredFill],
        from: u64,
        to: u64,
    ) -> Result<(), StorageError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM clob_fills WHERE connector = $1 AND network = $2 AND block >= $3 AND block <= $4")
            .bind(connector)
            .bind(network)
            .bind(from as i64)
            .bind(to as i64)
            .execute(&mut *tx)
            .await?;
        for fill in fills {
            sqlx::query(
                "INSERT INTO clob_fills (tx_hash, log_index, order_id, connector, network, market, taker, base, quote, block, filled_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (tx_hash, log_index) DO NOTHING",
            )
            .bind(fill.tx_hash.to_string())
            .bind(fill.log_index as i64)
            .bind(fill.order_id.to_string())
            .bind(connector)
            .bind(network)
            .bind(&fill.market)
            .bind(fill.taker.to_checksum(None))
            .bind(fill.base.to_string())
            .bind(fill.quote.to_string())
            .bind(fill.block as i64)
            .bind(fill.filled_at)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(
            "INSERT INTO clob_scans (connector, network, last_block) VALUES ($1, $2, $3)
             ON CONFLICT (connector, network) DO UPDATE SET last_block = CASE
                 WHEN excluded.last_block > clob_scans.last_block THEN excluded.last_block ELSE clob_scans.last_block END",
        )
        .bind(connector)
        .bind(network)
        .bind(to as i64)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The last block whose fills were read, if any.
    pub async fn clob_scanned_to(&self, connector: &str, network: &str) -> Result<Option<u64>, StorageError> {
        let row = sqlx::query("SELECT last_block FROM clob_scans WHERE connector = $1 AND network = $2")
            .bind(connector)
            .bind(network)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|row| row.try_get::<i64, _>("last_block")).transpose()?.map(|block| block as u64))
    }

    /// Fills of a market since `since_ms` (unix milliseconds), oldest first.
    pub async fn clob_fills(
        &self,
        connector: &str,
        network: &str,
        market: &str,
        since_ms: i64,
    ) -> Result<Vec<StoredFill>, StorageError> {
        let rows = sqlx::query(
            "SELECT tx_hash, log_index, order_id, market, taker, base, quote, block, filled_at FROM clob_fills
             WHERE connector = $1 AND network = $2 AND market = $3 AND filled_at >= $4 ORDER BY block, log_index",
        )
        .bind(connector)
        .bind(network)
        .bind(market)
        .bind(since_ms)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(fill_of).collect()
    }

    /// The latest fill of a market, if any.
    pub async fn clob_last_fill(
        &self,
        connector: &str,
        network: &str,
        market: &str,
    ) -> Result<Option<StoredFill>, StorageError> {
        let row = sqlx::query(
            "SELECT tx_hash, log_index, order_id, market, taker, base, quote, block, filled_at FROM clob_fills
             WHERE connector = $1 AND network = $2 AND market = $3 ORDER BY block DESC, log_index DESC LIMIT 1",
        )
        .bind(connector)
        .bind(network)
        .bind(market)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(fill_of).transpose()
    }

    /// Fills of the orders named, oldest first, in one query.
    pub async fn clob_fills_of(&self, order_ids: &[B256]) -> Result<Vec<StoredFill>, StorageError> {
        if order_ids.is_empty() {
            return Ok(vec![]);
        }
        let placeholders: Vec<String> = (1..=order_ids.len()).map(|i| format!("${i}")).collect();
        // The placeholders are ours ($1..$n); the ids are bound.
        let sql = format!(
            "SELECT tx_hash, log_index, order_id, market, taker, base, quote, block, filled_at FROM clob_fills
             WHERE order_id IN ({}) ORDER BY block, log_index",
            placeholders.join(", ")
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for id in order_ids {
            query = query.bind(id.to_string());
        }
        let rows = query.fetch_all(&self.pool).await?;
        rows.iter().map(fill_of).collect()
    }
}
