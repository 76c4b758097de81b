//! The transaction ledger over the database, as the chain layer's [`Ledger`] needs it.

use alloy::primitives::{Address, B256, Bytes, U256};
use chains::ledger::{Ledger, LedgerTx, SenderLock, TxStatus};
use sqlx::Row;
use sqlx::pool::PoolConnection;

use super::{Backend, Storage, now_ms};

fn status_text(status: TxStatus) -> &'static str {
    match status {
        TxStatus::Signed => "signed",
        TxStatus::Sent => "sent",
        TxStatus::Confirmed => "confirmed",
        TxStatus::Failed => "failed",
        TxStatus::Dropped => "dropped",
    }
}

fn parse_status(text: &str) -> Result<TxStatus, String> {
    Ok(match text {
        "signed" => TxStatus::Signed,
        "sent" => TxStatus::Sent,
        "confirmed" => TxStatus::Confirmed,
        "failed" => TxStatus::Failed,
        "dropped" => TxStatus::Dropped,
        other => {
            return Err(format!("unknown transaction status '{other}' in the ledger"));
        }
    })
}

const COLUMNS: &str = "hash, chain_id, sender, nonce, raw, status, label, block_number, fee_wei";

fn from_row(row: &sqlx::any::AnyRow) -> Result<LedgerTx, String> {
    let text = |column: &str| row.try_get::<String, _>(column).map_err(|e| e.to_string());
    let number = |column: &str| row.try_get::<Option<i64>, _>(column).map_err(|e| e.to_string());
    let parse_err = |column: &'static str| move |e: String| format!("ledger column {column}: {e}");
    Ok(LedgerTx {
        hash: text("hash")?.parse().map_err(|e: alloy::hex::FromHexError| parse_err("hash")(e.to_string()))?,
        chain_id: number("chain_id")?.unwrap_or_default() as u64,
        sender: text("sender")?.parse().map_err(|e: alloy::hex::FromHexError| parse_err("sender")(e.to_string()))?,
        nonce: number("nonce")?.unwrap_or_default() as u64,
        raw: text("raw")?.parse::<Bytes>().map_err(|e| parse_err("raw")(e.to_string()))?,
        status: parse_status(&text("status")?)?,
        label: text("label")?,
        block_number: number("block_number")?.map(|n| n as u64),
        fee_wei: row
            .try_get::<Option<String>, _>("fee_wei")
            .map_err(|e| e.to_string())?
            .map(|fee| fee.parse::<U256>().map_err(|e| parse_err("fee_wei")(e.to_string())))
            .transpose()?,
    })
}

/// PostgreSQL: a session advisory lock on a connection held for the duration. SQLite: nothing, the
/// process-wide lock in the chain layer is enough (one gateway per SQLite file).
pub struct SenderGuard {
    held: Option<(PoolConnection<sqlx::Any>, i64)>,
}

impl SenderLock for SenderGuard {
    async fn release(mut self) {
        if let Some((mut conn, key)) = self.held.take()
            && let Err(e) = sqlx::query("SELECT pg_advisory_unlock($1)").bind(key).execute(&mut *conn).await
        {
            tracing::warn!(error = %e, "could not release a sender lock; closing its connection instead");
            conn.close_on_drop();
        }
    }
}

impl Drop for SenderGuard {
    fn drop(&mut self) {
        // Dropped without release (a cancelled request): closing the session frees the lock.
        if let Some((mut conn, _)) = self.held.take() {
            conn.close_on_drop();
        }
    }
}

fn lock_key(chain_id: u64, sender: Address) -> i64 {
    let hash = alloy::primitives::keccak256([&chain_id.to_be_bytes()[..], sender.as_slice()].concat());
    i64::from_be_bytes(hash[..8].try_into().expect("8 bytes"))
}

impl Ledger for Storage {
    type Lock = SenderGuard;

    async fn lock_sender(&self, chain_id: u64, sender: Address) -> Result<SenderGuard, String> {
        if self.backend != Backend::Postgres {
            return Ok(SenderGuard { held: None });
        }
        let key = lock_key(chain_id, sender);
        let mut conn = self.pool.acquire().await.map_err(|e| e.to_string())?;
        sqlx::query("SELECT pg_advisory_lock($1)").bind(key).execute(&mut *conn).await.map_err(|e| e.to_string())?;
        Ok(SenderGuard { held: Some((conn, key)) })
    }

    async fn record(&self, tx: &LedgerTx) -> Result<(), String> {
        let now = now_ms();
        sqlx::query(
            "INSERT INTO transactions (hash, chain_id, sender, nonce, raw, status, label, block_number, fee_wei, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(tx.hash.to_string())
        .bind(tx.chain_id as i64)
        .bind(tx.sender.to_string())
        .bind(tx.nonce as i64)
        .bind(tx.raw.to_string())
        .bind(status_text(tx.status))
        .bind(&tx.label)
        .bind(tx.block_number.map(|n| n as i64))
        .bind(tx.fee_wei.map(|fee| fee.to_string()))
        .bind(now)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(|e| e.to_string())?;
        Ok(())
    }

    async fn set_status(
        &self,
        hash: B256,
        status: TxStatus,
        block: Option<u64>,
        fee_wei: Option<U256>,
    ) -> Result<(), String> {
        sqlx::query(
            "UPDATE transactions SET status = $1, block_number = COALESCE($2, block_number),
             fee_wei = COALESCE($3, fee_wei), updated_at = $4 WHERE hash = $5",
        )
        .bind(status_text(status))
        .bind(block.map(|n| n as i64))
        .bind(fee_wei.map(|fee| fee.to_string()))
        .bind(now_ms())
        .bind(hash.to_string())
        .execute(&self.pool)
        .await
        .map_err(|e| e.to_string())?;
        Ok(())
    }

    async fn find(&self, hash: B256) -> Result<Option<LedgerTx>, String> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM transactions WHERE hash = $1")))
            .bind(hash.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| e.to_string())?;
        row.as_ref().map(from_row).transpose()
    }

    async fn highest_nonce(&self, chain_id: u64, sender: Address) -> Result<Option<u64>, String> {
        let row = sqlx::query(
            "SELECT MAX(nonce) AS nonce FROM transactions WHERE chain_id = $1 AND sender = $2 AND status <> 'dropped'",
        )
        .bind(chain_id as i64)
        .bind(sender.to_string())
        .fetch_one(&self.pool)
        .await
        .map_err(|e| e.to_string())?;
        Ok(row.try_get::<Option<i64>, _>("nonce").map_err(|e| e.to_string())?.map(|n| n as u64))
    }

    async fn unsettled_from(&self, chain_id: u64, sender: Address, nonce: u64) -> Result<Vec<LedgerTx>, String> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM transactions WHERE chain_id = $1 AND sender = $2 AND nonce >= $3
             AND status IN ('signed', 'sent') ORDER BY nonce"
        )))
        .bind(chain_id as i64)
        .bind(sender.to_string())
        .bind(nonce as i64)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| e.to_string())?;
        rows.iter().map(from_row).collect()
    }
}
