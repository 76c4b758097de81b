use sqlx::Row;

use super::{Storage, StorageError, duplicate_as, now_ms};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxStatus {
    /// Signed and recorded, not yet accepted by a node.
    Signed,
    /// Accepted by a node, no receipt yet.
    Sent,
    Confirmed,
    /// Mined and reverted.
    Failed,
    /// Never reached a node; its nonce is free again.
    Dropped,
}

impl TxStatus {
    fn as_str(self) -> &'static str {
        match self {
            TxStatus::Signed => "signed",
            TxStatus::Sent => "sent",
            TxStatus::Confirmed => "confirmed",
            TxStatus::Failed => "failed",
            TxStatus::Dropped => "dropped",
        }
    }

    fn parse(text: &str) -> Result<TxStatus, StorageError> {
        Ok(match text {
            "signed" => TxStatus::Signed,
            "sent" => TxStatus::Sent,
            "confirmed" => TxStatus::Confirmed,
            "failed" => TxStatus::Failed,
            "dropped" => TxStatus::Dropped,
            other => {
                return Err(StorageError::Database(sqlx::Error::Decode(
                    format!("unknown tx status {other}").into(),
                )));
            }
        })
    }
}

/// One signed transaction in the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEntry {
    pub hash: String,
    pub chain_id: i64,
    pub sender: String,
    pub nonce: i64,
    pub raw: String,
    pub status: TxStatus,
    pub label: String,
    pub block_number: Option<i64>,
    pub fee_wei: Option<String>,
}

impl Storage {
    /// Records a signed transaction; called before it is sent, so nothing signed is ever lost.
    pub async fn record_signed(&self, entry: &LedgerEntry) -> Result<(), StorageError> {
        let now = now_ms();
        sqlx::query(
            "INSERT INTO transactions (hash, chain_id, sender, nonce, raw, status, label, block_number, fee_wei, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(&entry.hash)
        .bind(entry.chain_id)
        .bind(&entry.sender)
        .bind(entry.nonce)
        .bind(&entry.raw)
        .bind(entry.status.as_str())
        .bind(&entry.label)
        .bind(entry.block_number)
        .bind(&entry.fee_wei)
        .bind(now)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(duplicate_as(format!("transaction {}", entry.hash)))?;
        Ok(())
    }

    pub async fn set_tx_status(
        &self,
        hash: &str,
        status: TxStatus,
        block_number: Option<i64>,
        fee_wei: Option<&str>,
    ) -> Result<(), StorageError> {
        sqlx::query("UPDATE transactions SET status = $1, block_number = $2, fee_wei = $3, updated_at = $4 WHERE hash = $5")
            .bind(status.as_str())
            .bind(block_number)
            .bind(fee_wei)
            .bind(now_ms())
            .bind(hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn transaction(&self, hash: &str) -> Result<Option<LedgerEntry>, StorageError> {
        let row = sqlx::query(
            "SELECT hash, chain_id, sender, nonce, raw, status, label, block_number, fee_wei FROM transactions WHERE hash = $1",
        )
        .bind(hash)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(LedgerEntry {
                hash: row.try_get("hash")?,
                chain_id: row.try_get("chain_id")?,
                sender: row.try_get("sender")?,
                nonce: row.try_get("nonce")?,
                raw: row.try_get("raw")?,
                status: TxStatus::parse(&row.try_get::<String, _>("status")?)?,
                label: row.try_get("label")?,
                block_number: row.try_get("block_number")?,
                fee_wei: row.try_get("fee_wei")?,
            })
        })
        .transpose()
    }

    /// The highest nonce the ledger holds for a sender that may still occupy its slot (anything not dropped).
    pub async fn highest_used_nonce(
        &self,
        chain_id: i64,
        sender: &str,
    ) -> Result<Option<i64>, StorageError> {
        let row = sqlx::query(
            "SELECT MAX(nonce) AS nonce FROM transactions WHERE chain_id = $1 AND sender = $2 AND status <> 'dropped'",
        )
        .bind(chain_id)
        .bind(sender)
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get("nonce")?)
    }
}
